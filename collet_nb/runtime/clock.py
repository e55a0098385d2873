"""The system clock behind the core's Clock port."""

from __future__ import annotations

import time


class SystemClock:
    """Monotonic and wall time from the ``time`` module."""

    def monotonic(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    def wall(self) -> float:
        """Seconds since the epoch."""
        return time.time()
