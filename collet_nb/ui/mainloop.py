"""Button clicks and sidebar requests run on the kernel's main thread, whatever thread their
comm message arrived on.

ipykernel 7 can handle a comm's messages on a subshell thread (JupyterLab 4.6 sends comms over
subshells when the kernel offers them). The session runner lives on the main asyncio loop: a
future resolved or a task created from another thread does not wake that loop, so a turn
approved from there would stall until the next cell. Handlers are therefore handed to the
main loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")

_MAIN: dict[str, asyncio.AbstractEventLoop] = {}


def set_main_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Remember the kernel's main loop (None forgets it: handlers then run where called)."""
    if loop is None:
        _MAIN.pop("loop", None)
    else:
        _MAIN["loop"] = loop


def on_main_thread(handler: Callable[P, object]) -> Callable[P, None]:
    """``handler``, made to run on the main thread's loop when called from another thread."""

    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        loop = _MAIN.get("loop")
        if loop is None or threading.current_thread() is threading.main_thread():
            handler(*args, **kwargs)
        else:
            loop.call_soon_threadsafe(lambda: handler(*args, **kwargs))

    return run
