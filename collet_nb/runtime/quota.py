"""A session's provider under the hard limits of its policy: before each model request (the
agent's and an MCP server's sampling alike) the model must be on the policy's lists and no
per-session cap or daily budget may be used up; the usage each reply reports is counted for the
session and, when a daily budget is in force, added to the user's ledger.

The hub wraps a provider only when its policy limits requests (``Policy.limits_requests``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from collet_nb.adapters.ledger import UsageLedger
from collet_nb.core.chat import Usage
from collet_nb.core.policy import Policy
from collet_nb.core.ports import ModelRequest, Provider, ProviderChunk, UsageChunk
from collet_nb.errors import ConfigError, GuardStop

log = logging.getLogger("collet_nb")


class QuotaProvider:
    """Wraps ``inner`` with ``policy``'s model lists, caps and daily budgets.

    Args:
        inner: the session's provider.
        policy: the session's policy.
        session_id: recorded with each ledger line.
        ledger: the user's usage ledger (None: no daily budget, nothing recorded).
        price: USD of one request's usage of a model (None: nothing is priced).

    Attributes:
        tokens: tokens this session used through this provider.
        usd: USD it spent on requests with a known price.
    """

    def __init__(
        self,
        inner: Provider,
        *,
        policy: Policy,
        session_id: str,
        ledger: UsageLedger | None = None,
        price: Callable[[Usage, str], float | None] | None = None,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.session_id = session_id
        self.ledger = ledger
        self.price = price
        self.tokens = 0
        self.usd = 0.0

    @property
    def name(self) -> str:
        """The wrapped provider's name."""
        return self.inner.name

    def today(self) -> tuple[int, float]:
        """This user's tokens and USD today (zeros without a ledger).

        Raises:
            ConfigError: when the ledger cannot be read.
        """
        return self.ledger.totals() if self.ledger is not None else (0, 0.0)

    def check(self, model: str) -> None:
        """Refuse a request for ``model`` the policy does not allow now.

        Raises:
            ConfigError: the model is not on the policy's list.
            GuardStop: a per-session cap or a daily budget is used up.
        """
        if self.inner.name != "demo":
            refusal = self.policy.refuses("models", model)
            if refusal is not None:
                raise ConfigError(refusal, key="model")
        stop = self.policy.stops(session=(self.tokens, self.usd), today=self.today())
        if stop is not None:
            raise GuardStop(stop.message, limit=stop.limit)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderChunk]:
        """The inner provider's reply, after ``check``; its usage is counted as it comes.

        Raises:
            ConfigError, GuardStop: see ``check``.
            ProviderError: as the inner provider raises it.
        """
        self.check(request.model)
        async for chunk in self.inner.stream(request):
            if isinstance(chunk, UsageChunk):
                self._count(chunk.usage, request.model)
            yield chunk

    def _count(self, usage: Usage, model: str) -> None:
        usd = self.price(usage, model) if self.price is not None else None
        self.tokens += usage.prompt_tokens + usage.completion_tokens
        self.usd += usd or 0.0
        if self.ledger is not None:
            self.ledger.add(
                session_id=self.session_id,
                model=model,
                prompt=usage.prompt_tokens,
                completion=usage.completion_tokens,
                usd=usd,
            )

    async def aclose(self) -> None:
        """Close the inner provider (its connections), when it has anything to close."""
        close = getattr(self.inner, "aclose", None)
        if callable(close):
            await close()
