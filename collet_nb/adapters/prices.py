"""What a model request costs in USD, from genai-prices' price table (a maintained table of
every major provider's prices; it ships inside the package, so nothing is fetched: a newer
table comes with ``pip install -U genai-prices``).

A price is only given where the table knows the endpoint or, for a hosted endpoint it does
not list (a gateway such as OpenRouter or a company proxy), the model by name. A model served
from this machine or a private network (Ollama, vLLM, a local LiteLLM) is never priced by
its name alone: ``llama3`` served locally costs nothing, whatever a cloud host charges for it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlparse

from collet_nb.core.chat import Usage

log = logging.getLogger(__name__)

Pricer = Callable[[Usage, str], float | None]

# Providers whose requests cost nothing (the offline demo model, test stand-ins).
FREE = ("demo", "function")


def table_version() -> str:
    """The genai-prices release whose table prices are read from ("" when it is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-prices")
    except PackageNotFoundError:
        return ""


def is_local(base_url: str) -> bool:
    """Whether ``base_url`` points at this machine or a private network."""
    host = urlparse(base_url).hostname or ""
    if host == "localhost" or host.endswith((".local", ".internal", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def make_pricer(provider: str, base_url: str) -> Pricer | None:
    """The price of one request to ``provider`` at ``base_url`` (None: no price for it)."""
    if provider in FREE:
        return None
    local = is_local(base_url)

    def price(usage: Usage, model: str) -> float | None:
        return _price(base_url, local, model, usage.prompt_tokens, usage.completion_tokens)

    return price


_BY_NAME = ""  # a resolved endpoint of "": the model found by its name alone


@lru_cache(maxsize=256)
def _resolve(base_url: str, local: bool, model: str) -> str | None:
    """How genai-prices finds ``model`` here: the endpoint's URL, ``_BY_NAME`` (hosted
    endpoints only), or None when it does not."""
    try:
        from genai_prices import Usage as PriceUsage
        from genai_prices import calc_price
    except ImportError:
        return None
    probe = PriceUsage(input_tokens=1, output_tokens=1)
    attempts = [base_url] if base_url else []
    if not local:
        attempts.append(_BY_NAME)
    for url in attempts:
        try:
            calc_price(probe, model_ref=model, provider_api_url=url or None)
        except LookupError:
            continue
        except Exception:  # a table that cannot be read must not break a turn
            log.debug("collet: genai-prices failed for %s", model, exc_info=True)
            return None
        return url
    return None


def _price(base_url: str, local: bool, model: str, prompt: int, completion: int) -> float | None:
    url = _resolve(base_url, local, model)
    if url is None:
        return None
    from genai_prices import Usage as PriceUsage
    from genai_prices import calc_price

    usage = PriceUsage(input_tokens=prompt, output_tokens=completion)
    return float(calc_price(usage, model_ref=model, provider_api_url=url or None).total_price)
