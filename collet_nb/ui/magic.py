"""``%collet`` / ``%%collet``: parse, then dispatch to the session; the cell returns at once.

What must block the cell (``/wait``, ``--wait``, ``/mcp restart``) is a *job*: a coroutine
factory. At the top level of a cell the job is awaited on the kernel's loop (see
``autoawait``); elsewhere it runs only if no loop is running (a plain IPython shell), since a
nested loop would run the kernel's next queued request inside this one.

A ColletError is shown as its message alone (one line); anything else keeps its traceback.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from collet_nb.core.commands import (
    CellFlags,
    Command,
    parse_cell_flags,
    parse_command,
    parse_line,
)
from collet_nb.core.session import SessionState
from collet_nb.core.surrogates import check_well_formed
from collet_nb.errors import ColletError, ConfigError
from collet_nb.ui.finishes import Finishes

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner
    from collet_nb.ui.extension import ColletExtension

# A second kernel interrupt within this many seconds of the first, during /wait, also cancels
# the running turn.
DOUBLE_INTERRUPT_SECONDS = 3.0

USAGE = (
    "usage: `%collet [--agent A] [--model M] [--wait] TEXT`, `%collet /COMMAND` (see "
    "`%collet /help`), or a cell starting with "
    "`%%collet [--agent code|architect|ask] [--model NAME] [--wait] [--rerun]`"
)


@dataclass(frozen=True, kw_only=True)
class Job:
    """What must block the cell, run on the kernel's loop.

    Attributes:
        what: what it does, for the line that says it could not be done.
        run: makes the coroutine that does it.
    """

    what: str
    run: Callable[[], Coroutine[Any, Any, None]]


CANNOT_BLOCK = (
    "{what} needs the cell to wait, which it cannot do here (inside a function, under a cell "
    "magic such as %%capture, or with %autoawait off); put that %collet line on a line of "
    "its own in a cell"
)


@magics_class
class ColletMagics(Magics):
    """The ``collet`` line and cell magic."""

    def __init__(self, shell: Any, *, extension: ColletExtension) -> None:
        super().__init__(shell)
        self.extension = extension
        self.finishes = Finishes()
        self._jobs: list[Job] | None = None  # set while an awaited call runs the magic

    @line_cell_magic
    def collet(self, line: str, cell: str | None = None) -> None:
        """Send a message to this notebook's agent session, or run a slash command."""
        job = self._start(line, cell)
        self.extension.flush_views()  # what it changed reaches the outputs within this cell
        if job is None:
            return
        if self._jobs is not None:
            self._jobs.append(job)  # the awaited call runs it
        else:
            self._block(job)

    def awaitable(self, call: Callable[[], object]) -> Coroutine[Any, Any, None]:
        """Run the magic ``call`` now, keeping its jobs; return the coroutine that runs them."""
        jobs: list[Job] = []
        self._jobs = jobs
        try:
            call()
        finally:
            self._jobs = None
        return self._run_awaited(jobs)

    async def _run_awaited(self, jobs: list[Job]) -> None:
        for job in jobs:
            try:
                await job.run()
            except asyncio.CancelledError:
                # ipykernel answers a kernel interrupt during an awaited cell by cancelling
                # the cell's task (its SIGINT handler); nothing else cancels it. That is the
                # person's interrupt: end the wait, keep the cell's reply ok, as before.
                task = asyncio.current_task()
                if task is None or not task.cancelling():
                    raise
                task.uncancel()
                self._interrupted()
                return

    def _block(self, job: Job) -> None:
        """Run ``job`` where IPython could not await it: only when no loop runs."""
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_running():
            _say(self, CANNOT_BLOCK.format(what=job.what))
            return
        try:
            loop.run_until_complete(job.run())
        except KeyboardInterrupt:
            self._interrupted()

    def _start(self, line: str, cell: str | None) -> Job | None:
        """Parse and dispatch; return what must still block the cell, if anything."""
        try:
            check_well_formed(line + (cell or ""), what="this %collet input")
            return self._dispatch(line, cell)
        except ColletError as exc:
            _say(self, str(exc))
            return None

    def _dispatch(self, line: str, cell: str | None) -> Job | None:
        if cell is None:
            text = line.strip()
            if not text:
                raise ConfigError(USAGE)
            if text.startswith("/"):
                return self._command(parse_command(text))
            flags, text = parse_line(text) if text.startswith("--") else (CellFlags(), text)
            return self._send(text, flags)
        flags = parse_cell_flags(line)
        if not cell.strip():
            raise ConfigError("the cell is empty; write the message below `%%collet`")
        return self._send(cell.strip(), flags, cell=True)

    def _send(self, text: str, flags: CellFlags, *, cell: bool = False) -> Job | None:
        """Send ``text``; a ``%%collet`` cell (``cell``) replays its saved answer when run again."""
        from collet_nb.ui.mentions import expand_mentions, mention_images, session_workspace

        runner = self.extension.runner()
        self.finishes.follow(runner)
        notebook = self.extension.notebook_tools
        images = mention_images(text, notebook=notebook)
        text = expand_mentions(text, notebook=notebook, workspace=session_workspace(runner.session))
        msg = runner.send(
            text,
            agent=flags.agent,
            model=flags.model,
            cell=cell,
            rerun=flags.rerun,
            images=images,
        )
        self._show(runner, msg.id)
        if flags.wait:
            return Job(
                what="the message was sent, but --wait", run=lambda: self._wait(runner, None)
            )
        return None

    def _show(self, runner: SessionRunner, message_id: str) -> None:
        from collet_nb.ui.output import MessageOutput

        output = MessageOutput(runner, self.extension.feed(runner), message_id)
        output.show()
        self.extension.outputs.append(output)

    def _command(self, command: Command) -> Job | None:
        runner = self.extension.runner()
        self.finishes.follow(runner)
        if command.name == "wait":
            seconds = _seconds(command)
            return Job(what="/wait", run=lambda: self._wait(runner, seconds))
        if command.name == "panel":
            from collet_nb.ui.view import ConversationView

            notice = self.extension.hub.interrupted_notice(self.extension.channel)
            if notice:
                print(f"collet: {notice}")
            display(ConversationView(runner, self.extension.feed(runner)))
            return None
        if command.name == "save-plan" and command.text == "--cell":
            self._plan_cell(runner)
            return None
        outcome = self.extension.commands.run(command)
        if outcome.text:
            print(self.extension.redactor().text(outcome.text))
        if outcome.message is not None:
            self._show(self.extension.runner(), outcome.message.id)
        later = outcome.later
        if later is None:
            return None
        before = len(runner.session.messages)

        async def finish() -> None:
            try:
                text = await later()
            except ColletError as exc:
                _say(self, str(exc))
            else:
                print(self.extension.redactor().text(text))
                # A message the command sent once done (/prompt) shows here, as one sent now.
                for msg in list(runner.session.messages)[before:]:
                    self._show(runner, msg.id)

        return Job(what=f"/{command.name} {command.text}".strip(), run=finish)

    def _plan_cell(self, runner: SessionRunner) -> None:
        """``/save-plan --cell``: the pending plan as a new cell below this one (a ``%%markdown``
        cell, since a kernel can only propose code cells: running it shows the plan)."""
        plan = runner.session.pending_plan
        if plan is None:
            raise ConfigError("no plan to save; send a message with `--agent architect` first")
        self.extension.shell.set_next_input("%%markdown\n" + plan.plan, replace=False)
        print("the plan is in a new cell below (run it to show it as Markdown)")

    async def _wait(self, runner: SessionRunner, seconds: float | None) -> None:
        """Block this cell until the session is idle or needs a decision (or ``seconds``), or
        until the agent needs the kernel to run a cell (``notebook_run``), which would queue
        behind this one."""
        from collet_nb.ui.notebook_run import settle_or_yield, yield_line

        watch = self.extension.notebook_tools.watch
        try:
            state = await settle_or_yield(runner.wait_idle(seconds), watch)
        except TimeoutError:
            print(f"still {runner.session.state.value} after {seconds:g} s")
            return
        finally:
            # The outputs' transcripts are brought up to date while this cell still runs: a
            # headless runner (nbclient) keeps only what a running cell publishes.
            self.extension.flush_views()
        for message_id in self.finishes.take(runner):
            m = runner.session.messages.get(message_id)
            print(f"{m.id} {m.state.value}" + (f": {m.error}" if m.error else ""))
        print(yield_line(watch) if state is None else _state_line(runner, state))

    def _interrupted(self) -> None:
        """A kernel interrupt ended a wait; a second one soon after also cancels the turn."""
        now = time.monotonic()
        if now - self.extension.last_interrupt < DOUBLE_INTERRUPT_SECONDS:
            ids = self.extension.runner().cancel()
            print(f"wait interrupted twice: cancelled {', '.join(ids) or 'nothing'}")
        else:
            print(
                "wait interrupted; the agent goes on (interrupt again within "
                f"{DOUBLE_INTERRUPT_SECONDS:g} s to cancel the turn)"
            )
        self.extension.last_interrupt = now


def _say(magics: ColletMagics, text: str) -> None:
    """One ``collet:`` line on stderr, secrets masked."""
    print(f"collet: {magics.extension.redactor().text(text)}", file=sys.stderr)


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
    asking = runner.elicitations.waiting()
    if asking and state is not SessionState.AWAITING_APPROVAL:  # an MCP server asks
        from collet_nb.runtime.elicitations import asking_text

        return "awaiting your answer: " + "\n".join(asking_text(p) for p in asking)
    if state is SessionState.AWAITING_APPROVAL:
        calls = runner.status()["pending_tools"]
        names = "; ".join(f"{c['name']} — {c['summary']}" for c in calls)
        return f"awaiting approval: {names} — `%collet /allow`, `/allow session` or `/deny`"
    if state is SessionState.AWAITING_PLAN:
        plan = runner.status()["pending_plan"] or ""
        return f"awaiting plan approval — `%collet /approve` or `/reject`:\n{plan}"
    return "idle"
