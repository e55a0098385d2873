"""Running the kernel's loop re-entrantly from a synchronous cell (``/wait``, ``/mcp restart``).

nest-asyncio makes ``run_until_complete`` work inside a running loop, but the loop iteration
that was already under way when it was first applied is the stock ``_run_once``: it counted its
ready handles before running the cell, and pops that many afterwards. A nested run consumes
some of them, and the stock iteration then pops from an empty deque and kills the kernel
(seen with an HTTP provider: its sockets keep several handles ready). So after each nested
run, harmless no-op handles make up for the ones the nested run took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _noop() -> None:
    """Stands in for a ready handle a nested run consumed."""


def run_nested(awaitable: Coroutine[Any, Any, T]) -> T:
    """Run ``awaitable`` to completion on the current event loop, even while it is running.

    Raises:
        Whatever ``awaitable`` raises (including ``TimeoutError`` and ``KeyboardInterrupt``).
    """
    loop = asyncio.get_event_loop()
    if not loop.is_running():
        return loop.run_until_complete(awaitable)
    import nest_asyncio  # only now, never at load (DESIGN.md)

    nest_asyncio.apply(loop)
    ready = getattr(loop, "_ready", None)
    owed = len(ready) if ready is not None else 0
    try:
        return loop.run_until_complete(awaitable)
    finally:
        if ready is not None:
            for _ in range(owed - len(ready)):
                loop.call_soon(_noop)
