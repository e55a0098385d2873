"""Mentions in a user's message: ``@name`` of a variable, ``@path/to/file.ext`` of a file within
the workspace scope, ``@cell:N`` of a cell this kernel ran. (``@server:uri`` of an MCP resource
is read when the message's turn starts, by the MCP manager: see ``collet_nb/core/mentions.py``.)

Each known mention's content is attached after the message, below a separator, so the text as
typed stays first and readable; unknown mentions, e-mail addresses and anything inside Markdown
code stay plain text. Attachments are capped like the tools' own answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collet_nb.adapters.tools.files import file_read
from collet_nb.adapters.tools.output import Limits
from collet_nb.adapters.tools.scope import Workspace
from collet_nb.core.mentions import CODE, RESOURCE, SEPARATOR
from collet_nb.errors import ScopeError, ToolError

if TYPE_CHECKING:
    from collet_nb.core.images import Image
    from collet_nb.core.session import AgentSession
    from collet_nb.ui.notebook_tools import NotebookTools

__all__ = ["SEPARATOR", "Mention", "MentionLimits", "expand_mentions", "find_mentions"]

# An @ that starts a word: not inside an e-mail address or a path, not a doubled @.
_MENTION = re.compile(r"(?<![\w@.\\/`~-])@(cell:\d+|[\w.~/-]+)")
_CODE = CODE
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_TRAILING = ".,;:!?-"


@dataclass(frozen=True, kw_only=True)
class Mention:
    """One ``@…`` in a message.

    Attributes:
        token: what follows the ``@``, sentence punctuation removed.
        start: index of the ``@`` in the text.
        end: index just past the token.
    """

    token: str
    start: int
    end: int


@dataclass(frozen=True, kw_only=True)
class MentionLimits:
    """Caps on what mentions attach.

    Attributes:
        file_lines: lines of a file attached (the rest is left to ``file_read``).
        file_chars: characters of one file's attachment.
        total_chars: characters of all attachments of a message.
    """

    file_lines: int = 400
    file_chars: int = 20_000
    total_chars: int = 40_000


def find_mentions(text: str) -> list[Mention]:
    """The mentions of ``text`` in order, outside Markdown code, each token once."""
    code = [match.span() for match in _CODE.finditer(text)]
    resources = {match.start() for match in RESOURCE.finditer(text)}  # the MCP manager's
    found: list[Mention] = []
    seen: set[str] = set()
    for match in _MENTION.finditer(text):
        if match.start() in resources or any(start <= match.start() < end for start, end in code):
            continue
        token = match.group(1).rstrip(_TRAILING)
        if token and token not in seen:
            seen.add(token)
            found.append(
                Mention(token=token, start=match.start(), end=match.start() + 1 + len(token))
            )
    return found


def session_workspace(session: AgentSession) -> Workspace:
    """The project directory and scope in force for ``session`` (files are judged by them)."""
    return Workspace(project_dir=Path(session.project_dir), scope=session.workspace_scope)


def expand_mentions(
    text: str,
    *,
    notebook: NotebookTools,
    workspace: Workspace,
    limits: MentionLimits | None = None,
) -> str:
    """``text`` with what its known mentions name attached after a separator.

    Args:
        text: the message as the user typed it.
        notebook: where variables and cells are looked up.
        workspace: the project directory and scope files must lie within.
        limits: caps on the attachments.

    Returns:
        ``text`` unchanged when it mentions nothing known; else ``text``, the separator and one
        block per mention.
    """
    limits = limits or MentionLimits()
    blocks: list[str] = []
    used = 0
    for mention in find_mentions(text):
        block = _attachment(mention.token, notebook=notebook, workspace=workspace, limits=limits)
        if block is None:
            continue  # unknown: it stays plain text
        if used + len(block) > limits.total_chars:
            block = (
                f"@{mention.token}: not attached (the attachments reached "
                f"{limits.total_chars:,} characters)"
            )
        blocks.append(block)
        used += len(block)
    if not blocks:
        return text
    return text.rstrip() + SEPARATOR + "\n\n" + "\n\n".join(blocks)


def mention_images(text: str, *, notebook: NotebookTools) -> tuple[Image, ...]:
    """The images (plots) of the cells ``text`` mentions as ``@cell:N``, in mention order,
    each cell once: they go with the message to a model that takes images."""
    images: list[Image] = []
    seen: set[int] = set()
    for mention in find_mentions(text):
        if mention.token.startswith("cell:"):
            number = int(mention.token.removeprefix("cell:"))
            if number not in seen:
                seen.add(number)
                images.extend(notebook.cell_images(number))
    return tuple(images)


def _attachment(
    token: str, *, notebook: NotebookTools, workspace: Workspace, limits: MentionLimits
) -> str | None:
    if token.startswith("cell:"):
        number = int(token.removeprefix("cell:"))
        cell = notebook.cell(number)
        return None if cell is None else f"@{token} (cell):\n{cell}"
    if _IDENTIFIER.fullmatch(token):
        summary = notebook.summary(token)
        if summary is not None:
            return f"@{token} (variable): {summary}"
    return _file(token, workspace=workspace, limits=limits)


def _file(token: str, *, workspace: Workspace, limits: MentionLimits) -> str | None:
    try:
        target = workspace.resolve(token, tool="mention")
    except ScopeError:
        # The user named it, so say why it is missing, but only if it is a file at all.
        outside = Path(workspace.project_dir) / Path(token).expanduser()
        if outside.is_file():
            return f"@{token}: not attached (outside the {workspace.scope.value} scope)"
        return None
    except ToolError:
        return None
    if not target.is_file():
        return None
    shown = workspace.display(target)
    try:
        body = file_read(workspace, token, limit=limits.file_lines, limits=Limits(line_chars=500))
    except (ToolError, OSError) as exc:
        return f"@{token} (file {shown}): not attached: {exc}"
    if len(body) > limits.file_chars:
        body = (
            f"{body[: limits.file_chars]}\n[… cut at {limits.file_chars:,} characters; read on "
            "with file_read]"
        )
    return f"@{token} (file {shown}):\n{body}"
