"""The guard of a turn: an iteration limit and a circuit breaker.

An iteration is one model request. The breaker trips after N consecutive failed tool calls;
any successful call resets the count.
"""

from __future__ import annotations

from collet_nb.errors import GuardStop


class Guard:
    """Counts iterations and consecutive tool failures for one turn.

    Args:
        max_iterations: model requests allowed for the message (COLLET_MAX_ITERATIONS).
        breaker_threshold: consecutive tool failures that stop the turn (COLLET_CIRCUIT_BREAKER);
            0 disables the breaker.
    """

    def __init__(self, *, max_iterations: int, breaker_threshold: int) -> None:
        if max_iterations < 1:
            raise ValueError("max_iterations must be at least 1")
        self.max_iterations = max_iterations
        self.breaker_threshold = breaker_threshold
        self.iterations = 0
        self.consecutive_failures = 0

    def next_iteration(self) -> int:
        """Count one more model request and return its number.

        Raises:
            GuardStop: when the limit is already used up (``limit='max_iterations'``).
        """
        if self.iterations >= self.max_iterations:
            raise GuardStop(
                f"stopped after {self.iterations} iterations (the limit); send `/retry` to go on, "
                "or raise COLLET_MAX_ITERATIONS",
                limit="max_iterations",
            )
        self.iterations += 1
        return self.iterations

    def record_tool(self, *, success: bool) -> None:
        """Count a tool call's outcome.

        Raises:
            GuardStop: when this failure makes ``breaker_threshold`` in a row
                (``limit='circuit_breaker'``).
        """
        if success:
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        if self.breaker_threshold and self.consecutive_failures >= self.breaker_threshold:
            raise GuardStop(
                f"stopped after {self.consecutive_failures} tool failures in a row (circuit "
                "breaker); look at the last tool results, then `/retry` or raise "
                "COLLET_CIRCUIT_BREAKER",
                limit="circuit_breaker",
            )
