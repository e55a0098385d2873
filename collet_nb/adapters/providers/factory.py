"""Builds the provider a configuration names (``openai`` or ``anthropic``)."""

from __future__ import annotations

from collections.abc import Mapping

from collet_nb.adapters.providers.anthropic import ANTHROPIC_BASE_URL, AnthropicWire
from collet_nb.adapters.providers.http_provider import HttpProvider
from collet_nb.adapters.providers.openai import OPENAI_BASE_URL, OpenAIWire, max_tokens_field_for
from collet_nb.adapters.providers.wire import Wire
from collet_nb.errors import ConfigError

PROVIDER_KINDS = ("openai", "anthropic")


def make_provider(
    kind: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    model: str,
    connect_timeout: float = 10.0,
    read_timeout: float = 300.0,
    max_attempts: int = 8,
    retry_wait_initial: float = 0.5,
    retry_wait_max: float = 30.0,
    retry_wait_jitter: float = 1.0,
    retry_after_max: float = 60.0,
    trust_env: bool = True,
    extra_headers: Mapping[str, str] | None = None,
) -> HttpProvider:
    """A provider speaking ``kind``'s protocol; the caller closes it with ``aclose()``.

    Args:
        kind: ``openai`` (any OpenAI-compatible server) or ``anthropic``.
        base_url: the API root; ``None`` or empty means the vendor's own.
        api_key: the key; ``None`` or empty sends none (local servers).
        model: the model used when a request names none.
        connect_timeout: seconds to establish a connection.
        read_timeout: longest silence allowed before or between chunks.
        max_attempts: tries per request, the first included.
        retry_wait_initial: first backoff in seconds (doubles each retry).
        retry_wait_max: cap on one backoff.
        retry_wait_jitter: random seconds added to each backoff, at most.
        retry_after_max: the longest ``Retry-After`` honoured; a longer one fails at once.
        trust_env: honour proxy and certificate environment variables.
        extra_headers: more headers for every request.

    Raises:
        ConfigError: an unknown kind or a base URL that is not http(s).
    """
    name = kind.strip().lower()
    wire: Wire
    if name == "openai":
        url = base_url or OPENAI_BASE_URL
        wire = OpenAIWire(max_tokens_field=max_tokens_field_for(url))
    elif name == "anthropic":
        url = base_url or ANTHROPIC_BASE_URL
        wire = AnthropicWire()
    else:
        raise ConfigError(
            f"unknown provider {kind!r}: choose one of {', '.join(PROVIDER_KINDS)} "
            "(set COLLET_PROVIDER).",
            key="provider",
        )
    return HttpProvider(
        wire,
        base_url=url,
        api_key=api_key,
        model=model,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        retry_wait_initial=retry_wait_initial,
        retry_wait_max=retry_wait_max,
        retry_wait_jitter=retry_wait_jitter,
        retry_after_max=retry_after_max,
        trust_env=trust_env,
        extra_headers=extra_headers,
    )
