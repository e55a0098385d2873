"""Kernel ends: close every session and stop every child process, however the kernel ends.

IPython has no shutdown event, so (as measured in JUPYTER-FACTS.md) four things cover the
nine ways a kernel can end: a wrapper around ``kernel.do_shutdown`` (Control thread: shutdown,
restart, server stop), ``atexit``, a SIGTERM handler, and the watchdog process (SIGKILL, OOM).
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from collet_nb.adapters.procs import ProcessRegistry
from collet_nb.adapters.watchdog import Watchdog

log = logging.getLogger("collet_nb")

# Bound on closing sessions from the Control thread: a cell blocking the main loop must not
# hold the kernel's shutdown for ever; the process groups are killed regardless.
CLOSE_TIMEOUT = 3.0


class KernelHooks:
    """Installs (and removes) the shutdown paths for one kernel.

    Args:
        kernel: the ipykernel Kernel (its ``do_shutdown`` is wrapped), or None outside one.
        loop: the kernel's main asyncio loop (sessions are closed there).
        close: closes every session (a coroutine function run on ``loop``).
        processes: the registry of child process groups to kill.
        watchdog: the watchdog to close once the children are gone.
    """

    def __init__(
        self,
        *,
        kernel: Any,
        loop: asyncio.AbstractEventLoop,
        close: Callable[[], Awaitable[None]],
        processes: ProcessRegistry,
        watchdog: Watchdog,
    ) -> None:
        self.kernel = kernel
        self.loop = loop
        self.close = close
        self.processes = processes
        self.watchdog = watchdog
        self.done = False
        self._original_shutdown: Any = None
        self._previous_sigterm: Any = None

    def install(self) -> None:
        """Wrap do_shutdown, register atexit and (on the main thread) a SIGTERM handler."""
        if self.kernel is not None and hasattr(self.kernel, "do_shutdown"):
            original = self.kernel.do_shutdown
            self._original_shutdown = original
            if inspect.iscoroutinefunction(original):

                async def do_shutdown(restart: bool) -> Any:
                    self.shutdown_from_other_thread()
                    return await original(restart)

            else:

                def do_shutdown(restart: bool) -> Any:  # type: ignore[misc]  # ipykernel 6
                    self.shutdown_from_other_thread()
                    return original(restart)

            self.kernel.do_shutdown = do_shutdown
        atexit.register(self.stop_children)
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    def uninstall(self) -> None:
        """Undo :meth:`install` (for unload and reload)."""
        if self._original_shutdown is not None:
            self.kernel.do_shutdown = self._original_shutdown
            self._original_shutdown = None
        atexit.unregister(self.stop_children)
        if (
            self._previous_sigterm is not None
            and threading.current_thread() is threading.main_thread()
        ):
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def shutdown_from_other_thread(self) -> None:
        """Close the sessions on the main loop (bounded), then stop every child."""
        if self.done:
            return
        if self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._close(), self.loop)
            try:
                future.result(CLOSE_TIMEOUT)
            except Exception:  # a timeout or a failing close must not stop the kill below
                log.warning("collet: closing sessions at shutdown did not finish in time")
        self.stop_children()

    async def _close(self) -> None:
        await self.close()

    def stop_children(self) -> None:
        """Kill every registered process group and close the watchdog (idempotent)."""
        if self.done:
            return
        self.done = True
        self.processes.kill_all(grace=1.0)
        self.watchdog.close()

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.stop_children()
        previous = self._previous_sigterm
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
