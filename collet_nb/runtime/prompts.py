"""System prompts of the three agents (code, architect, ask)."""

from __future__ import annotations

from collet_nb.core.kinds import AgentKind

_BASE = (
    "You are collet, a coding agent working inside a Jupyter notebook. The project directory "
    "is {project_dir}. Use the tools to read, search and change files; keep answers short and "
    "concrete, in Markdown."
)

_ROLES = {
    AgentKind.CODE: "Do the task end to end, then say briefly what you changed.",
    AgentKind.ARCHITECT: (
        "You are the architect: investigate with read-only tools and answer with a numbered "
        "plan. Do not edit files or run commands that change anything."
    ),
    AgentKind.ASK: "Answer the question directly; you have no tools.",
}


def system_prompt(agent: AgentKind, *, project_dir: str, extra: str = "") -> str:
    """The system prompt for ``agent`` working on ``project_dir``, with the tools' own
    sections (``extra``: the skills) after the role; the ask agent, having no tools, gets none.
    """
    prompt = _BASE.format(project_dir=project_dir) + "\n\n" + _ROLES[agent]
    if extra and agent is not AgentKind.ASK:
        prompt += "\n\n" + extra
    return prompt
