"""The one exception tree of collet_nb.

Every error a user can cause or meet is a ``ColletError``; the notebook shows its message
alone (no traceback), so each message says what failed, why, and what to do. Errors carry
their facts as attributes so tests assert on fields, not on text::

    ColletError
    ├── ConfigError             bad setting, flag, slash command or config file
    ├── UsageError              not possible in the session's state now (nothing to retry)
    ├── ProviderError           the model could not be reached or answered badly
    │   ├── ProviderHTTPError       an HTTP status the provider returned (status, body)
    │   └── ProviderStreamError     the stream broke or carried an error event
    ├── ToolError               a tool could not run (reported to the model, not raised to users)
    │   └── ScopeError              a path outside the workspace scope
    ├── McpServerError          an MCP server failed to start, died or timed out
    ├── GuardStop               the iteration limit or circuit breaker stopped a turn
    ├── TurnTimeout             a turn ran past COLLET_TASK_TIMEOUT
    └── IllegalTransition       a lifecycle was asked for a move its table forbids (a bug)
"""

from __future__ import annotations


class ColletError(Exception):
    """Base of every error collet_nb raises on purpose."""


class ConfigError(ColletError):
    """A setting, flag, slash command or configuration file is wrong.

    Attributes:
        key: the setting, flag or file concerned, when there is one.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class UsageError(ColletError):
    """A well-formed request the session cannot do in its current state: nothing to retry, no
    plan or tool call waiting, a message no longer queued, a turn still running. Unlike a
    ConfigError, fixing the input does not help; doing it later (or something else first) does.
    """


class ProviderError(ColletError):
    """The model provider could not be reached or gave an unusable answer.

    Attributes:
        provider: provider name (``openai``, ``anthropic``, ``demo``).
        retryable: whether trying again later may succeed.
    """

    def __init__(self, message: str, *, provider: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable


class ProviderHTTPError(ProviderError):
    """The provider answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int,
        body: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, retryable=retryable)
        self.status = status
        self.body = body
        self.retry_after = retry_after


class ProviderStreamError(ProviderError):
    """The response stream broke off or carried an error event."""

    def __init__(self, message: str, *, provider: str = "", retryable: bool = True) -> None:
        super().__init__(message, provider=provider, retryable=retryable)


class ToolError(ColletError):
    """A tool could not do what the model asked; the message goes back to the model.

    Attributes:
        tool: the tool's name.
    """

    def __init__(self, message: str, *, tool: str = "") -> None:
        super().__init__(message)
        self.tool = tool


class ScopeError(ToolError):
    """A path resolves outside the workspace scope.

    Attributes:
        path: the path as the model gave it.
        scope: the scope in force (``project``, ``workspace``, ``full``).
    """

    def __init__(self, message: str, *, tool: str = "", path: str = "", scope: str = "") -> None:
        super().__init__(message, tool=tool)
        self.path = path
        self.scope = scope


class McpServerError(ColletError):
    """An MCP server failed to start, died, or did not answer in time.

    Attributes:
        server: the server's name in mcp.json.
    """

    def __init__(self, message: str, *, server: str = "") -> None:
        super().__init__(message)
        self.server = server


class GuardStop(ColletError):
    """The guard stopped a turn.

    Attributes:
        limit: ``max_iterations``, ``circuit_breaker`` or ``token_budget`` (a policy's).
    """

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class TurnTimeout(ColletError):
    """A turn ran longer than the task timeout.

    Attributes:
        seconds: the timeout that was exceeded.
    """

    def __init__(self, message: str, *, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


class IllegalTransition(ColletError):
    """A state machine was asked for a move its table does not allow.

    Attributes:
        machine: which lifecycle (``message``, ``session``, ``plan`` …).
        source: the current state.
        target: the state asked for.
    """

    def __init__(self, *, machine: str, source: str, target: str) -> None:
        super().__init__(f"illegal {machine} transition: {source} -> {target}")
        self.machine = machine
        self.source = source
        self.target = target
