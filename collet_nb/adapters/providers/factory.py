"""Builds the provider a configuration names (``openai`` or ``anthropic``)."""

from __future__ import annotations

from typing import Unpack

from collet_nb.adapters.providers.anthropic import ANTHROPIC_BASE_URL, AnthropicWire
from collet_nb.adapters.providers.http_provider import HttpProvider, ProviderOptions
from collet_nb.adapters.providers.openai import OPENAI_BASE_URL, OpenAIWire, max_tokens_field_for
from collet_nb.adapters.providers.wire import Wire
from collet_nb.errors import ConfigError

PROVIDER_KINDS = ("openai", "anthropic")


def make_provider(
    kind: str,
    *,
    base_url: str | None = None,
    model: str,
    **options: Unpack[ProviderOptions],
) -> HttpProvider:
    """A provider speaking ``kind``'s protocol; the caller closes it with ``aclose()``.

    Args:
        kind: ``openai`` (any OpenAI-compatible server) or ``anthropic``.
        base_url: the API root; ``None`` or empty means the vendor's own.
        model: the model used when a request names none.
        options: the rest of ``HttpProvider``'s arguments (the key, timeouts, retries).

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
    return HttpProvider(wire, base_url=url, model=model, **options)
