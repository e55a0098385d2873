"""LLM providers over HTTP: OpenAI-compatible chat completions and Anthropic Messages.
Importing this package loads neither httpx2 nor stamina; a provider loads them when built."""

from __future__ import annotations

from collet_nb.adapters.providers.factory import PROVIDER_KINDS, make_provider
from collet_nb.adapters.providers.http_provider import HttpProvider

__all__ = ["PROVIDER_KINDS", "HttpProvider", "make_provider"]
