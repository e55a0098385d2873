"""LLM providers over HTTP: OpenAI-compatible chat completions and Anthropic Messages.
Importing this package does not load httpx2; a provider loads it when built."""

from __future__ import annotations

from collet_nb.adapters.providers.factory import PROVIDER_KINDS, make_provider
from collet_nb.adapters.providers.http_provider import HttpProvider

__all__ = ["PROVIDER_KINDS", "HttpProvider", "make_provider"]
