"""``%collet`` / ``%%collet``: parse, then dispatch to the session; the cell returns at once.

A ColletError is shown as its message alone (one line); anything else keeps its traceback.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from collet_nb.core.commands import CellFlags, Command, parse_cell_flags, parse_command
from collet_nb.core.session import SessionState
from collet_nb.core.surrogates import check_well_formed
from collet_nb.errors import ColletError, ConfigError
from collet_nb.runtime.nested import run_nested
from collet_nb.ui.finishes import Finishes

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner
    from collet_nb.ui.extension import ColletExtension

# A second kernel interrupt within this many seconds of the first, during /wait, also cancels
# the running turn.
DOUBLE_INTERRUPT_SECONDS = 3.0

USAGE = (
    "usage: `%collet TEXT`, `%collet /COMMAND` (see `%collet /help`), or a cell starting with "
    "`%%collet [--agent code|architect|ask] [--model NAME] [--wait] [--rerun]`"
)


@magics_class
class ColletMagics(Magics):
    """The ``collet`` line and cell magic."""

    def __init__(self, shell: Any, *, extension: ColletExtension) -> None:
        super().__init__(shell)
        self.extension = extension
        self.finishes = Finishes()

    @line_cell_magic
    def collet(self, line: str, cell: str | None = None) -> None:
        """Send a message to this notebook's agent session, or run a slash command."""
        try:
            check_well_formed(line + (cell or ""), what="this %collet input")
            self._dispatch(line, cell)
        except ColletError as exc:
            print(f"collet: {self.extension.redactor().text(str(exc))}", file=sys.stderr)

    def _dispatch(self, line: str, cell: str | None) -> None:
        if cell is None:
            text = line.strip()
            if not text:
                raise ConfigError(USAGE)
            if text.startswith("/"):
                self._command(parse_command(text))
            else:
                self._send(text, CellFlags())
            return
        flags = parse_cell_flags(line)
        if not cell.strip():
            raise ConfigError("the cell is empty; write the message below `%%collet`")
        self._send(cell.strip(), flags, cell=True)

    def _send(self, text: str, flags: CellFlags, *, cell: bool = False) -> None:
        """Send ``text``; a ``%%collet`` cell (``cell``) replays its saved answer when run again."""
        from collet_nb.ui.mentions import expand_mentions, session_workspace

        runner = self.extension.runner()
        self.finishes.follow(runner)
        text = expand_mentions(
            text,
            notebook=self.extension.notebook_tools,
            workspace=session_workspace(runner.session),
        )
        msg = runner.send(text, agent=flags.agent, model=flags.model, cell=cell, rerun=flags.rerun)
        self._show(runner, msg.id)
        if flags.wait:
            self._wait(runner, None)

    def _show(self, runner: SessionRunner, message_id: str) -> None:
        from collet_nb.ui.widgets import MessageView

        display(MessageView(runner, message_id))

    def _command(self, command: Command) -> None:
        runner = self.extension.runner()
        self.finishes.follow(runner)
        if command.name == "wait":
            self._wait(runner, _seconds(command))
            return
        if command.name == "panel":
            from collet_nb.ui.widgets import SessionPanel

            notice = self.extension.hub.interrupted_notice(self.extension.channel)
            if notice:
                print(f"collet: {notice}")
            display(SessionPanel(runner))
            return
        if command.name == "save-plan" and command.text == "--cell":
            self._plan_cell(runner)
            return
        outcome = self.extension.commands.run(command)
        print(self.extension.redactor().text(outcome.text))
        if outcome.message is not None:
            self._show(self.extension.runner(), outcome.message.id)

    def _plan_cell(self, runner: SessionRunner) -> None:
        """``/save-plan --cell``: the pending plan as a new cell below this one (a ``%%markdown``
        cell, since a kernel can only propose code cells: running it shows the plan)."""
        plan = runner.session.pending_plan
        if plan is None:
            raise ConfigError("no plan to save; send a message with `--agent architect` first")
        self.extension.shell.set_next_input("%%markdown\n" + plan.plan, replace=False)
        print("the plan is in a new cell below (run it to show it as Markdown)")

    def _wait(self, runner: SessionRunner, seconds: float | None) -> None:
        """Block this cell until the session is idle or needs a decision (or ``seconds``)."""
        try:
            state = run_nested(runner.wait_idle(seconds))
        except TimeoutError:
            print(f"still {runner.session.state.value} after {seconds:g} s")
            return
        except KeyboardInterrupt:
            now = time.monotonic()
            if now - self.extension.last_interrupt < DOUBLE_INTERRUPT_SECONDS:
                ids = runner.cancel()
                print(f"wait interrupted twice: cancelled {', '.join(ids) or 'nothing'}")
            else:
                print(
                    "wait interrupted; the agent goes on (interrupt again within "
                    f"{DOUBLE_INTERRUPT_SECONDS:g} s to cancel the turn)"
                )
            self.extension.last_interrupt = now
            return
        for message_id in self.finishes.take(runner):
            m = runner.session.messages.get(message_id)
            print(f"{m.id} {m.state.value}" + (f": {m.error}" if m.error else ""))
        print(_state_line(runner, state))


def _seconds(command: Command) -> float | None:
    if not command.args:
        return None
    try:
        value = float(command.args[0])
    except ValueError:
        raise ConfigError(f"/wait takes a number of seconds, not {command.args[0]!r}") from None
    if not 0 < value < float("inf"):  # NaN too: a NaN timer would corrupt the loop's timers
        raise ConfigError("/wait takes a positive number of seconds (none: until idle)")
    return value


def _state_line(runner: SessionRunner, state: SessionState) -> str:
    if state is SessionState.AWAITING_APPROVAL:
        calls = runner.status()["pending_tools"]
        names = ", ".join(f"{c['name']} {c['arguments']}" for c in calls)
        return f"awaiting approval: {names} — `%collet /allow`, `/allow session` or `/deny`"
    if state is SessionState.AWAITING_PLAN:
        plan = runner.status()["pending_plan"] or ""
        return f"awaiting plan approval — `%collet /approve` or `/reject`:\n{plan}"
    return "idle"
