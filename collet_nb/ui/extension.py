"""The loaded extension of one IPython shell: the hub, the channel of this notebook, the
magics, the comm target and the kernel hooks. Loading is idempotent and starts no process.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collet_nb.adapters.config import load_settings, setting_sources
from collet_nb.adapters.log_redaction import SecretLogFilter, install_log_redaction
from collet_nb.adapters.procs import ProcessRegistry
from collet_nb.adapters.watchdog import Watchdog
from collet_nb.core.kinds import ChannelId
from collet_nb.core.redact import Redactor
from collet_nb.core.settings import Settings
from collet_nb.runtime.resume import interrupted_notice
from collet_nb.ui.lifecycle import KernelHooks
from collet_nb.ui.mainloop import set_main_loop
from collet_nb.ui.traits import traitlet_overrides

if TYPE_CHECKING:
    from collet_nb.runtime.commands import CommandRunner
    from collet_nb.runtime.hub import SessionHub
    from collet_nb.runtime.runner import SessionRunner
    from collet_nb.ui.autoawait import AwaitTransformer
    from collet_nb.ui.bridge import SidebarTarget
    from collet_nb.ui.cell_images import CellImages
    from collet_nb.ui.feed import EventFeed
    from collet_nb.ui.magic import ColletMagics
    from collet_nb.ui.notebook_tools import NotebookTools
    from collet_nb.ui.output import MessageOutput

log = logging.getLogger(__name__)

RunnerListener = Callable[[ChannelId, "SessionRunner"], None]

# What the first %collet needs, imported while the person still reads (≈250 ms on 2 cores:
# widgets, the runtime, the HTTP client), so the first message starts as fast as later ones.
WARM_AFTER = 1.0  # seconds after %load_ext
WARM_MODULES = (
    "collet_nb.runtime.hub",
    "collet_nb.runtime.commands",
    "collet_nb.ui.output",
    "collet_nb.ui.feed",
    "collet_nb.adapters.providers.http_provider",
    "httpx2",
)


def warm_up() -> None:
    """Import what the first message needs (on the kernel's loop: some of it registers comm
    targets, which belongs on the main thread)."""
    import importlib

    try:
        for name in WARM_MODULES:
            importlib.import_module(name)
        from collet_nb.adapters.providers.http_provider import ssl_context

        ssl_context(True)  # the CA bundle, read once
    except Exception:  # a part missing or broken is said when it is used, not here
        log.debug("collet: warm-up failed", exc_info=True)


# The loaded extension (at most one per process: one kernel, one shell).
_ACTIVE: dict[str, ColletExtension] = {}


def notebook_channel(shell: Any) -> ChannelId:
    """This notebook's channel: the server's session name (the notebook path), else kernel id."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        kernel = getattr(shell, "kernel", None)
        name = getattr(kernel, "ident", None) or f"pid-{os.getpid()}"
        try:
            from ipykernel.connect import get_connection_file

            name = Path(get_connection_file()).stem.removeprefix("kernel-")
        except Exception:  # not in a kernel (a plain IPython shell, a test)
            pass
    return ChannelId.new("jupyter", str(name))


class ColletExtension:
    """Everything ``%load_ext collet_nb`` sets up for one shell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.overrides = traitlet_overrides(shell.config)
        self.processes = ProcessRegistry()
        self.watchdog = Watchdog()
        self.processes.add_listener(self.watchdog.listener)
        self.project_dir = Path.cwd()
        self.channel = notebook_channel(shell)
        self.hooks: KernelHooks | None = None
        self._runner_listeners: list[RunnerListener] = []
        self.last_interrupt = 0.0
        self.magics: ColletMagics | None = None
        self.feeds: dict[str, EventFeed] = {}  # by session id: what the views read
        self.outputs: list[MessageOutput] = []  # those whose saved form may still change
        self.transformer: AwaitTransformer | None = None
        self.sidebars: SidebarTarget | None = None  # the comm target (in a kernel only)
        self.cell_images: CellImages | None = None  # what each cell showed (@cell:N)
        self._undo_log_redaction: Any = None

    # The sessions' machinery is built at the first %collet (or sidebar), not at load: it is
    # most of collet_nb's import time, and loading must stay well under 100 ms.

    @cached_property
    def hub(self) -> SessionHub:
        """The sessions of this kernel (built on first use)."""
        from collet_nb.runtime.hub import SessionHub

        hub = SessionHub(
            settings=self.settings,
            project_dir=self.project_dir,
            processes=self.processes,
            sources=lambda project: setting_sources(project_dir=project, overrides=self.overrides),
        )
        # Notebook tools (kernel_vars, notebook_cells, propose_cell) join every session.
        self.notebook_tools.install()
        hub.on_runner(self.notebook_tools.attach)
        hub.on_runner(self._follow)
        for listener in self._runner_listeners:
            hub.on_runner(listener)
        return hub

    @cached_property
    def commands(self) -> CommandRunner:
        """The slash commands of this notebook's channel."""
        from collet_nb.runtime.commands import CommandRunner

        return CommandRunner(self.hub, self.channel)

    @cached_property
    def notebook_tools(self) -> NotebookTools:
        """The tools over this shell's variables and cells (one per shell)."""
        from collet_nb.ui.notebook_tools import NotebookTools

        return NotebookTools(self.shell, images=self.cell_images)

    def _follow(self, _channel: ChannelId, runner: SessionRunner) -> None:
        """Log a new runner's events for its views (every runner, from its first event)."""
        from collet_nb.ui.feed import EventFeed

        sid = runner.session.session_id
        if sid not in self.feeds:
            self.feeds[sid] = feed = EventFeed()
            runner.subscribe(feed.add)

    def flush_views(self) -> None:
        """Send every view and output what is pending now, not at the window's end."""
        for feed in self.feeds.values():
            feed.flush()
        from collet_nb.ui.output import latest_parent

        parent = latest_parent(getattr(self.shell, "kernel", None))
        parent_id = str(parent.get("header", {}).get("msg_id") or "") if parent else None
        # Outputs updated between two cells sent it to the previous one: again, to this one.
        self.outputs = [o for o in self.outputs if o.resend(parent_id)]

    def feed(self, runner: SessionRunner) -> EventFeed:
        """The event log of ``runner``'s session."""
        self._follow(self.channel, runner)
        return self.feeds[runner.session.session_id]

    def on_runner(self, listener: RunnerListener) -> None:
        """Be told whenever a channel gets a runner (now, or once the hub exists)."""
        if "hub" in self.__dict__:
            self.hub.on_runner(listener)
        else:
            self._runner_listeners.append(listener)

    def _built(self) -> SessionHub | None:
        """The hub, if anything built it (closing must not build one)."""
        hub: SessionHub | None = self.__dict__.get("hub")
        return hub

    async def aclose(self) -> None:
        """Close every session (nothing to do when none was ever opened)."""
        hub = self._built()
        if hub is not None:
            await hub.aclose()

    def settings(self, project_dir: Path) -> Settings:
        """The effective settings for ``project_dir`` (files < traitlets < environment)."""
        return load_settings(project_dir=project_dir, overrides=self.overrides)

    def redactor(self) -> Redactor:
        """Masks the API keys of every open session and the environment's secret values."""
        hub = self._built()
        keys = [runner.settings.api_key for runner in hub.runners.values()] if hub else []
        return Redactor.build(keys=keys, env=os.environ)

    def runner(self) -> SessionRunner:
        """This notebook's session runner (opened on first use)."""
        return self.hub.runner(self.channel)

    def install(self) -> None:
        """Register the magics, the comm target and the kernel hooks."""
        # Retry and library warnings must never land in some cell's output (they would with
        # Python's last-resort handler); the events and status() carry what users need.
        for name in ("collet_nb", "httpx2"):
            logging.getLogger(name).addHandler(logging.NullHandler())
        self._undo_log_redaction = install_log_redaction(SecretLogFilter(self.redactor))
        from collet_nb.ui.autoawait import AwaitTransformer
        from collet_nb.ui.magic import ColletMagics

        self.magics = ColletMagics(self.shell, extension=self)
        self.shell.register_magics(self.magics)
        self.transformer = AwaitTransformer(self.shell)
        self.transformer.install()
        # From load on, not from the first %collet: a plot shown before it can be mentioned.
        from collet_nb.ui.cell_images import CellImages

        self.cell_images = CellImages(self.shell)
        self.cell_images.install()
        kernel = getattr(self.shell, "kernel", None)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
        set_main_loop(loop)  # clicks and sidebar requests from subshell threads run here
        self.hooks = KernelHooks(
            kernel=kernel,
            loop=loop,
            close=self.aclose,
            processes=self.processes,
            watchdog=self.watchdog,
        )
        self.hooks.install()
        if kernel is not None and loop.is_running():
            loop.call_later(WARM_AFTER, warm_up)
        if kernel is not None:
            from collet_nb.ui.bridge import SidebarTarget

            self.sidebars = SidebarTarget(self)
            self.sidebars.register()

    def uninstall(self) -> None:
        """Undo :meth:`install` and close every session and child process."""
        magics = self.shell.magics_manager.magics
        for kind in ("line", "cell"):
            magics[kind].pop("collet", None)
        if self.transformer is not None:
            self.transformer.uninstall()
            self.transformer = None
        if self.sidebars is not None:
            self.sidebars.unregister()
            self.sidebars = None
        if "notebook_tools" in self.__dict__:
            self.notebook_tools.uninstall()
        if self.cell_images is not None:
            self.cell_images.uninstall()
            self.cell_images = None
        if self._undo_log_redaction is not None:
            self._undo_log_redaction()
            self._undo_log_redaction = None
        if self.hooks is not None:
            self._close_now()
            self.hooks.uninstall()

    def _close_now(self) -> None:
        loop = self.hooks.loop if self.hooks else None
        if loop is not None and loop.is_running():
            # Called from a cell on the running loop: close in the background, kill now.
            task = loop.create_task(self.aclose())
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        if self.hooks is not None:
            self.hooks.stop_children()


def load(shell: Any) -> ColletExtension:
    """Install the extension in ``shell`` once; a second load returns the same one."""
    current = _ACTIVE.get("shell")
    if current is not None and current.shell is shell:
        return current
    if current is not None:
        unload(current.shell)
    extension = ColletExtension(shell)
    extension.install()
    _ACTIVE["shell"] = extension
    home = Path(extension.settings(extension.project_dir).home)
    notice = interrupted_notice(home, extension.channel, live_id=None)
    if notice:
        print(f"collet: {notice}")  # runs in the %load_ext cell: this is its output
    return extension


def unload(shell: Any) -> None:
    """Remove the extension from ``shell`` (no error if it was not loaded)."""
    current = _ACTIVE.get("shell")
    if current is not None and current.shell is shell:
        del _ACTIVE["shell"]
        current.uninstall()


def active() -> ColletExtension | None:
    """The loaded extension, if any."""
    return _ACTIVE.get("shell")
