"""The small MCP server of lesson 05 (05_mcp_and_skills.ipynb): three deterministic tools over
stdio, no network, built with the official MCP Python SDK.

Run by collet_nb from ``.collet/mcp.json`` as ``python demo_mcp_server.py``; it serves on
stdin/stdout and exits when stdin closes. Try it alone with ``mcp dev`` or any MCP client.
"""

from __future__ import annotations

import random

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("collet-lesson", log_level="WARNING")

GLOSSARY = {
    "session": (
        "the agent conversation of one notebook: its messages, tools and approvals; it is "
        "journaled, so it survives a kernel restart (/resume)."
    ),
    "queue": (
        "messages sent while the agent is busy wait in order and run one at a time; each ends "
        "answered, failed or cancelled, none is dropped."
    ),
    "plan": "the architect agent's numbered answer; the code agent carries it out once approved.",
    "approval": (
        "your OK before a tool call runs; in auto mode reads run at once while writes, bash "
        "and MCP tools ask."
    ),
    "skill": (
        "a folder with a SKILL.md that teaches the agent a task; only its name and "
        "description sit in the prompt until the agent loads it."
    ),
    "mcp server": (
        "a program that offers tools over the Model Context Protocol; collet starts the "
        "servers of .collet/mcp.json at the first turn."
    ),
    "workspace": (
        "the folders the file tools may touch: by default the project, the kernel's working folder."
    ),
    "checkpoint": "the files as they were before a turn changed them; /rewind puts them back.",
}


@server.tool(
    description=(
        "Look up a term of collet_nb (session, queue, plan, approval, skill, MCP server, "
        "workspace, checkpoint) in the glossary and return its definition."
    ),
    annotations=ToolAnnotations(read_only_hint=True),
)
def lookup_glossary(term: str) -> str:
    """The glossary's definition of ``term`` (case and surrounding spaces do not matter)."""
    key = " ".join(term.lower().split())
    if key not in GLOSSARY:
        known = ", ".join(sorted(GLOSSARY))
        raise ToolError(f"{term!r} is not in the glossary; the terms are: {known}")
    return f"{key}: {GLOSSARY[key]}"


@server.tool(description="Count the words and characters of a text.")
def word_count(text: str) -> str:
    """How many words (runs of non-space characters) and characters ``text`` has."""
    return f"{len(text.split())} words, {len(text)} characters"


@server.tool(
    description=(
        "Roll dice with a seed: the same sides, count and seed always give the same numbers."
    )
)
def roll_dice(sides: int = 6, count: int = 1, seed: int = 0) -> str:
    """Roll ``count`` dice of ``sides`` sides, repeatably (a seeded generator, not the OS's)."""
    if not 2 <= sides <= 1000 or not 1 <= count <= 100:
        raise ToolError("sides must be 2–1000 and count 1–100")
    rng = random.Random(seed)
    rolls = [rng.randint(1, sides) for _ in range(count)]
    return f"{count}d{sides} with seed {seed}: {', '.join(map(str, rolls))} (total {sum(rolls)})"


if __name__ == "__main__":
    server.run("stdio")
