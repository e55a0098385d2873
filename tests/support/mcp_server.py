"""An in-repo MCP server for the manager's tests, over stdio or Streamable HTTP on loopback.

Run ``python tests/support/mcp_server.py stdio`` or ``... http PORT``. Options: ``--fail-start``
(write to stderr, exit 2 before serving), ``--hang-start`` (never answer), ``--stderr TEXT``
(write a line to stderr at start), ``--handshake-only`` (over HTTP: refuse ``server/discover``,
so clients fall back to the 2025-11-25 handshake, with a stateful session a restart loses),
``--tools-only`` (declare neither resources nor prompts among its capabilities). The
tools cover every path of the client: text, numbers, a read-only annotation, an image, an error
result, a crash mid-call, a call that never returns. With ``--extras`` four more (kept out by
default: more than ten tools would put them all behind ``tool_search`` in the sessions that use
this server): one that adds a tool at runtime (and says so), one that logs, one that reports
progress, one that asks for the client's roots; and a resource (``collet://notes/readme``) and
a prompt (``review``: ``code`` required, ``focus`` optional; its second message is an image).
With ``--people`` only what asks the client's side (and ``echo``): ``ask`` (an elicitation form
with a required name and defaults), ``ask_link`` (a URL-mode elicitation), ``summarize`` (a
sampling request), ``add_note`` / ``add_prompt`` (add a resource / a prompt and say the list
changed), the readme resource and a one-pixel image resource (``collet://notes/pixel``).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import warnings
from typing import Annotated, Any, Literal

import anyio
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, Image, ListRoots, MCPServer, Resolve, UserMessage
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Sample
from mcp.server.mcpserver.resources.types import TextResource
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import (
    METHOD_NOT_FOUND,
    CreateMessageResult,
    ListRootsResult,
    SamplingMessage,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, Field

# ctx.log and session.send_tool_list_changed are deprecated at 2026-07-28, but still how
# handshake-era (2025-11-25) clients are told.
warnings.simplefilter("ignore", MCPDeprecationWarning)

HANDSHAKE_ONLY: set[str] = set()  # holds "yes" with --handshake-only


async def _handshake_only(ctx: Any, call_next: Any) -> Any:
    if HANDSHAKE_ONLY and ctx.method == "server/discover":
        raise MCPError(code=METHOD_NOT_FOUND, message="Method not found")
    return await call_next(ctx)


server = MCPServer("collet-test", log_level="WARNING", middleware=[_handshake_only])

# A 1×1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@server.tool(description="Return the text unchanged.")
def echo(text: str) -> str:
    return text


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(
    description="Tell this server's process id.", annotations=ToolAnnotations(read_only_hint=True)
)
def pid() -> str:
    return str(os.getpid())


@server.tool(description="Tell an environment variable of the server (empty if unset).")
def env(name: str) -> str:
    return os.environ.get(name, "")


@server.tool(description="Tell the server's working directory.")
def cwd() -> str:
    return os.getcwd()


@server.tool(description="Tell a request header (HTTP only; empty if absent).")
def header(name: str, ctx: Context) -> str:
    headers = ctx.headers or {}
    return headers.get(name.lower(), "")


@server.tool(description="Return a one-pixel PNG and a caption.", structured_output=False)
def picture() -> list[object]:
    return ["a pixel", Image(data=PNG, format="png")]


@server.tool(description="Always fail with a tool error.")
def fail(reason: str) -> str:
    raise ToolError(f"failed on purpose: {reason}")


@server.tool(description="Exit the server process in the middle of the call.")
def crash() -> str:
    sys.stderr.write("crashing on request\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(description="Never return.")
async def hang() -> str:
    import anyio

    await anyio.sleep_forever()
    return "unreachable"


async def grow(name: str, text: str, ctx: Context) -> str:
    def added() -> str:
        return text

    """Add a tool named `name` that answers `text`, and tell the client."""
    server.add_tool(added, name=name, description=f"A tool added at runtime: answers {text!r}.")
    if (ctx.protocol_version or "") >= "2026-07-28":
        await ctx.notify_tools_changed()  # to subscriptions/listen streams
    else:
        await ctx.session.send_tool_list_changed()
    return f"added {name}"


async def chatter(level: str, text: str, ctx: Context) -> str:
    """Send a log notification at `level` with `text`."""
    await ctx.log(level, text, logger_name="chatter")  # type: ignore[arg-type]
    return f"logged at {level}"


async def slow(steps: int, delay: float, ctx: Context) -> str:
    """Report progress `steps` times, `delay` seconds apart."""
    for step in range(1, steps + 1):
        await anyio.sleep(delay)
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
    return f"done {steps}"


def _ask_roots() -> ListRoots:
    return ListRoots()


def roots(found: Annotated[ListRootsResult, Resolve(_ask_roots)]) -> str:
    """Tell the client's roots, one URI a line."""
    return "\n".join(str(root.uri) for root in found.roots) or "(no roots)"


EXTRAS = (grow, chatter, slow, roots)

README = "collet test server: notes kept for the tests."


def readme() -> str:
    return README


def review(code: str, focus: str = "bugs") -> list[UserMessage]:
    """Ask for a review of `code`, looking for `focus`."""
    return [
        UserMessage(f"Review this code for {focus}:\n{code}"),
        UserMessage(Image(data=PNG, format="png")),
    ]


class Profile(BaseModel):
    """What ``ask`` asks: a name (required), and three fields with defaults."""

    name: str = Field(title="Name", description="Your name")
    age: int = Field(default=30, ge=0, le=150, title="Age", description="Your age in years")
    colour: Literal["red", "green", "blue"] = Field(default="green", title="Colour")
    subscribe: bool = Field(default=False, title="Subscribe", description="Send news?")


def _ask_profile() -> Elicit[Profile]:
    return Elicit("Who is asking? Tell the test server about yourself.", Profile)


def ask(answer: Annotated[ElicitationResult[Profile], Resolve(_ask_profile)]) -> str:
    """Ask the person for their profile, and say what came back."""
    if answer.action == "accept":
        return "accepted " + answer.data.model_dump_json()
    return answer.action


async def ask_link(ctx: Context) -> str:
    """Ask the person to open a link (URL-mode elicitation), and say what came back."""
    done = await ctx.elicit_url("Open the page to sign in.", "https://example.org/sign-in", "l1")
    return f"link {done.action}"


def _summary_of(text: str) -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=f"Summarize: {text}"))],
        max_tokens=40,
        system_prompt="You write one-line summaries.",
    )


def summarize(text: str, reply: Annotated[CreateMessageResult, Resolve(_summary_of)]) -> str:
    """Have the client's model summarize ``text``, and say what it wrote."""
    content = reply.content
    said = content.text if isinstance(content, TextContent) else str(content)
    return f"summary by {reply.model}: {said}"


async def add_note(name: str, text: str, ctx: Context) -> str:
    """Add a text resource ``collet://notes/NAME``, and tell the client its resources changed."""
    server.add_resource(
        TextResource(uri=f"collet://notes/{name}", name=name, text=text, mime_type="text/plain")
    )
    if (ctx.protocol_version or "") >= "2026-07-28":
        await ctx.notify_resources_changed()
    else:
        await ctx.session.send_resource_list_changed()
    return f"added collet://notes/{name}"


async def add_prompt(name: str, ctx: Context) -> str:
    """Add a prompt NAME, and tell the client its prompts changed."""

    def said() -> str:
        return f"the {name} prompt"

    server.prompt(name=name, description=f"A prompt added at runtime: {name}.")(said)
    if (ctx.protocol_version or "") >= "2026-07-28":
        await ctx.notify_prompts_changed()
    else:
        await ctx.session.send_prompt_list_changed()
    return f"added prompt {name}"


def pixel() -> bytes:
    return PNG


def add_people() -> None:
    for name in list(server._tool_manager._tools):
        if name != "echo":
            server.remove_tool(name)
    for tool in (ask, ask_link, summarize, add_note, add_prompt):
        server.add_tool(tool)
    server.resource("collet://notes/readme", name="readme", mime_type="text/plain")(readme)
    server.resource("collet://notes/pixel", name="pixel", mime_type="image/png")(pixel)


def add_extras() -> None:
    for tool in EXTRAS:
        server.add_tool(tool)
    server.resource("collet://notes/readme", name="readme", mime_type="text/plain")(readme)
    server.prompt(name="review", description="Ask for a code review.")(review)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--fail-start", action="store_true")
    parser.add_argument("--hang-start", action="store_true")
    parser.add_argument("--stderr", default="")
    parser.add_argument("--handshake-only", action="store_true")
    parser.add_argument("--extras", action="store_true")
    parser.add_argument("--tools-only", action="store_true")
    parser.add_argument("--people", action="store_true")
    args = parser.parse_args()
    if args.extras:
        add_extras()
    if args.people:
        add_people()
    if args.tools_only:
        # Capabilities follow the methods served: without these, it offers neither.
        handlers = server._lowlevel_server._request_handlers
        for method in ("resources/list", "resources/read", "resources/templates/list"):
            handlers.pop(method, None)
        handlers.pop("prompts/list", None)
        handlers.pop("prompts/get", None)
    if args.handshake_only:
        HANDSHAKE_ONLY.add("yes")
    if args.stderr:
        sys.stderr.write(args.stderr + "\n")
        sys.stderr.flush()
    if args.fail_start:
        sys.stderr.write("collet-test: cannot start: TEST_TOKEN is not set\n")
        sys.exit(2)
    if args.hang_start:
        threading.Event().wait()
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
