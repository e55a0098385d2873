"""How a provider's HTTP failure is judged: retryable or not, the wait it asks for, and the
message the user reads (never containing the API key)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from collet_nb.core.redact import Redactor
from collet_nb.errors import ProviderHTTPError

# 408 timeout, 409 conflict (Anthropic uses it for transient lock contention), 429 rate limit,
# every 5xx (529 is Anthropic's "overloaded").
RETRYABLE_STATUSES = frozenset({408, 409, 429})

_MESSAGE_LIMIT = 300
_BODY_LIMIT = 4000


def is_retryable_status(status: int) -> bool:
    """Whether trying again later may succeed for this HTTP status."""
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait in seconds a response asks for, or ``None``.

    Reads OpenAI's ``retry-after-ms`` first, then ``Retry-After`` as seconds (fractions are
    accepted: some proxies send them) or as an HTTP date.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def key_redactor(api_key: str | None) -> Redactor:
    """Masks ``api_key`` wherever it appears, however short it is (servers sometimes echo the
    key back)."""
    return Redactor(secrets=(api_key,) if api_key else ())


def server_message(body: str) -> str:
    """The human part of an error body: ``error.message`` of OpenAI/Anthropic/vLLM/Ollama
    shapes, else the start of the raw text."""
    text = body.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    message: object = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            message = error.get("message") or error.get("type")
        elif isinstance(error, str):
            message = error
        if not message:
            message = data.get("message") or data.get("detail")
    found = message if isinstance(message, str) and message.strip() else text
    found = " ".join(found.split())
    if len(found) > _MESSAGE_LIMIT:
        found = found[: _MESSAGE_LIMIT - 1] + "…"
    return found or "(empty body)"


def http_error(
    *,
    provider: str,
    status: int,
    body: str,
    headers: Mapping[str, str],
    url: str,
    model: str,
    api_key: str | None,
    key_env: str,
    retry_after_max: float,
    note: str = "",
) -> ProviderHTTPError:
    """Build the error for a non-2xx response.

    Args:
        provider: the provider's name.
        status: the HTTP status.
        body: the response body as text.
        headers: the response headers.
        url: the URL that was posted to.
        model: the model asked for.
        api_key: the key that was sent (only to mask it).
        key_env: the provider's own key variable (``OPENAI_API_KEY`` …).
        retry_after_max: longest ``Retry-After`` honoured; a longer one is not retried.
        note: added in brackets when the error may be retried (which attempt this was).
    """
    mask = key_redactor(api_key).text
    said = mask(server_message(body))
    retry_after = parse_retry_after(headers)
    retryable = is_retryable_status(status)
    message = f"{provider} returned HTTP {status} for {url}: {said}"
    if status in (401, 403):
        sent = "the API key was refused" if api_key else "no API key was sent"
        message += f". {sent[0].upper()}{sent[1:]}: set COLLET_API_KEY (or {key_env})."
    elif status == 404:
        tip = " (OpenAI-compatible servers usually end in /v1)" if provider == "openai" else ""
        message += f". Check COLLET_BASE_URL{tip} and COLLET_MODEL (now {model!r})."
    elif retry_after is not None and retry_after > retry_after_max:
        retryable = False
        message += f". The provider asks to wait {retry_after:.0f} s; try again later."
    if retryable and note:
        message += f" ({note})"
    return ProviderHTTPError(
        message,
        provider=provider,
        status=status,
        body=mask(body)[:_BODY_LIMIT],
        retryable=retryable,
        retry_after=retry_after,
    )
