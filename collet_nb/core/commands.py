"""Slash commands: the table of names, aliases and arguments, and a parser that says what is
valid when the input is not. Running them is the runtime's job.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from collet_nb.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class CommandSpec:
    """One slash command.

    Attributes:
        name: the canonical name (without ``/``).
        usage: the argument synopsis shown in errors and ``/help``.
        summary: one line for ``/help``.
        aliases: other names that mean the same.
        choices: the allowed values of the first argument, when fixed.
        max_args: how many words may follow (-1 = free text).
        min_args: how many words must follow.
    """

    name: str
    usage: str
    summary: str
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    max_args: int = 0
    min_args: int = 0


FREE = -1

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(name="help", usage="", summary="list the commands"),
    CommandSpec(name="status", usage="", summary="the session's state, model, tokens, queue"),
    CommandSpec(name="policy", usage="", summary="what the policy fixes, and which file set what"),
    CommandSpec(name="cancel", usage="", summary="stop the running turn, cancel the queue",
                aliases=("stop",)),
    CommandSpec(name="approve", usage="[note]", summary="approve the pending plan",
                aliases=("y", "yes", "proceed"), max_args=FREE),
    CommandSpec(name="reject", usage="[reason]", summary="reject the pending plan",
                aliases=("no", "cancel-plan"), max_args=FREE),
    CommandSpec(name="allow", usage="[session]", summary="allow the oldest pending tool call",
                choices=("session",), max_args=1),
    CommandSpec(name="deny", usage="[reason]", summary="deny the oldest pending tool call",
                max_args=FREE),
    CommandSpec(name="answer", usage="[ID] [{JSON}]",
                summary="answer what an MCP server asks (the oldest; defaults fill the rest)",
                max_args=FREE),
    CommandSpec(name="decline", usage="[ID]", summary="decline what an MCP server asks",
                max_args=1),
    CommandSpec(name="queue", usage="", summary="the messages waiting for their turn"),
    CommandSpec(name="remove", usage="ID", summary="take one message out of the queue",
                max_args=1, min_args=1),
    CommandSpec(name="wait", usage="[SECONDS]", summary="block until idle or a decision is needed",
                max_args=1),
    CommandSpec(name="retry", usage="", summary="send the last failed message again"),
    CommandSpec(name="stream", usage="compact|full", summary="how much is shown live",
                choices=("compact", "full"), max_args=1, min_args=1),
    CommandSpec(name="workspace", usage="project|workspace|full", summary="where file tools reach",
                choices=("project", "workspace", "full"), max_args=1, min_args=1),
    CommandSpec(name="approval", usage="yolo|auto|manual", summary="which tool calls ask first",
                choices=("yolo", "auto", "manual"), max_args=1, min_args=1),
    CommandSpec(name="agent", usage="code|architect|ask", summary="the agent of later messages",
                choices=("code", "architect", "ask"), max_args=1, min_args=1),
    CommandSpec(name="model", usage="NAME", summary="switch the model", max_args=1, min_args=1),
    CommandSpec(name="new", usage="[PATH]", summary="start a fresh session (optionally elsewhere)",
                max_args=1),
    CommandSpec(name="sessions", usage="", summary="the sessions in the journal"),
    CommandSpec(name="resume", usage="[ID]", summary="reopen a session from its journal",
                max_args=1),
    CommandSpec(name="compact", usage="", summary="fold older conversation into a summary now"),
    CommandSpec(name="cost", usage="", summary="tokens used by this session"),
    CommandSpec(name="clear", usage="", summary="forget the conversation (messages stay listed)"),
    CommandSpec(name="mcp", usage="[list|restart NAME|resources NAME|prompts NAME]",
                summary="MCP servers; a server's resources or prompts",
                choices=("list", "restart", "resources", "prompts"), max_args=2),
    CommandSpec(name="prompt", usage="SERVER NAME [key=value …]",
                summary="send an MCP server's prompt as a message", min_args=2, max_args=64),
    CommandSpec(name="skills", usage="", summary="the skills found"),
    CommandSpec(name="tools", usage="[QUERY]", summary="the tools, ranked for QUERY",
                max_args=FREE),
    CommandSpec(name="checkpoints", usage="", summary="files the agent changed, restorable"),
    CommandSpec(name="rewind", usage="[ID]", summary="restore files to a checkpoint", max_args=1),
    CommandSpec(name="save-plan", usage="[PATH|--cell]",
                summary="write the plan to a file (or a new cell below)",
                max_args=FREE),
    CommandSpec(name="panel", usage="", summary="show the session panel"),
)  # fmt: skip

_BY_NAME: dict[str, CommandSpec] = {
    alias: spec for spec in COMMANDS for alias in (spec.name, *spec.aliases)
}


@dataclass(frozen=True, kw_only=True)
class Command:
    """A parsed slash command.

    Attributes:
        name: the canonical name.
        args: the words after it (for free-text commands, one element holding the text).
    """

    name: str
    args: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The arguments as one string."""
        return " ".join(self.args)


def parse_command(line: str) -> Command:
    """Parse ``/name args…``.

    Raises:
        ConfigError: for an unknown command or bad arguments, naming the valid choices.
    """
    line = line.strip()
    if not line.startswith("/"):
        raise ConfigError(f"a command starts with '/', not {line[:20]!r}; try /help")
    head, _, rest = line[1:].partition(" ")
    spec = _BY_NAME.get(head.lower())
    if spec is None:
        names = " ".join(f"/{c.name}" for c in COMMANDS)
        raise ConfigError(f"unknown command /{head}; the commands are: {names}", key=head)
    rest = rest.strip()
    if spec.max_args == FREE:
        return Command(name=spec.name, args=(rest,) if rest else ())
    try:
        args = tuple(shlex.split(rest))
    except ValueError as exc:
        raise ConfigError(f"/{spec.name}: {exc}; usage: /{spec.name} {spec.usage}") from None
    if not spec.min_args <= len(args) <= spec.max_args:
        raise ConfigError(
            f"/{spec.name} takes {spec.usage or 'no arguments'}; got {rest!r}", key=spec.name
        )
    if spec.choices and args and args[0].lower() not in spec.choices:
        raise ConfigError(f"/{spec.name} takes {spec.usage}, not {args[0]!r}", key=spec.name)
    if spec.choices and args:
        args = (args[0].lower(), *args[1:])
    return Command(name=spec.name, args=args)


def help_text() -> str:
    """The ``/help`` table, one command a line."""
    rows = []
    for spec in COMMANDS:
        names = " ".join(f"/{n}" for n in (spec.name, *spec.aliases))
        rows.append(f"{(names + ' ' + spec.usage).strip():<42} {spec.summary}")
    return "\n".join(rows)


@dataclass(frozen=True, kw_only=True)
class CellFlags:
    """The flags of a ``%%collet`` line.

    Attributes:
        agent: ``--agent code|architect|ask``.
        model: ``--model NAME``.
        wait: ``--wait``: block the cell until the session is idle or needs a decision.
        rerun: ``--rerun``: ask the model again even if this cell's answer was saved.
    """

    agent: str | None = None
    model: str | None = None
    wait: bool = False
    rerun: bool = False


CELL_USAGE = "%%collet [--agent code|architect|ask] [--model NAME] [--wait] [--rerun]"


LINE_USAGE = "%collet [--agent code|architect|ask] [--model NAME] [--wait] TEXT"
_LINE_SWITCHES = ("--wait",)
_LINE_VALUED = ("--agent", "--model")


def _first_word(text: str) -> tuple[str, str]:
    """The first word of ``text`` (a quoted one without its quotes) and the rest."""
    end = text.find(text[0], 1) if text[:1] in ("'", '"') else -1
    if end > 0:
        return text[1:end], text[end + 1 :].lstrip()
    parts = text.split(maxsplit=1)
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")


def parse_line(line: str) -> tuple[CellFlags, str]:
    """Split a ``%collet`` line into its leading flags and the message, which keeps its words
    as typed (quotes included). ``--`` ends the flags (a message that starts with ``--``).

    Raises:
        ConfigError: an unknown flag, a flag without its value, or no message after them.
    """
    taken: list[str] = []
    rest = line.strip()
    while rest.startswith("--"):
        word, rest = _first_word(rest)
        if word == "--":
            break
        name, eq, _value = word.partition("=")
        if name in _LINE_VALUED and not eq:
            value, rest = _first_word(rest)
            if not value or value.startswith("--"):
                raise ConfigError(f"{name} needs a value; usage: {LINE_USAGE}", key=name)
            taken += [word, value]
        elif name in _LINE_VALUED or (name in _LINE_SWITCHES and not eq):
            taken.append(word)
        else:
            hint = " (it is for %%collet cells)" if name == "--rerun" else ""
            raise ConfigError(f"unknown flag {word!r}{hint}; usage: {LINE_USAGE}", key=word)
    if not rest:
        raise ConfigError(f"no message after the flags; usage: {LINE_USAGE}")
    return parse_cell_flags(shlex.join(taken)), rest


def parse_cell_flags(line: str) -> CellFlags:
    """Parse the flags after ``%%collet``.

    Raises:
        ConfigError: for an unknown flag or a missing/invalid value, with the usage line.
    """
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise ConfigError(f"{exc}; usage: {CELL_USAGE}") from None
    values: dict[str, str | None] = {"agent": None, "model": None}
    switches = {"--wait": False, "--rerun": False}
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, inline = word.partition("=")
        if name in switches and not eq:
            switches[name] = True
        elif name in ("--agent", "--model"):
            value = inline if eq else (words[i + 1] if i + 1 < len(words) else "")
            if not eq:
                i += 1
            if not value or value.startswith("--"):
                raise ConfigError(f"{name} needs a value; usage: {CELL_USAGE}", key=name)
            values[name[2:]] = value
        else:
            raise ConfigError(f"unknown flag {word!r}; usage: {CELL_USAGE}", key=word)
        i += 1
    agent = values["agent"]
    if agent is not None and agent.lower() not in ("code", "architect", "ask"):
        raise ConfigError(f"--agent takes code|architect|ask, not {agent!r}", key="--agent")
    return CellFlags(
        agent=agent.lower() if agent else None,
        model=values["model"],
        wait=switches["--wait"],
        rerun=switches["--rerun"],
    )
