"""How a provider's failure is judged and told: retryable or not, the wait it asks for, a short
reason for the retry notice, and a message that reads well (bodies summarised, never pasted
whole; punctuation clean; the API key never in it).

A failed attempt becomes a :class:`Failure`; the retry loop (``http_provider``) decides whether
to try again and, when it stops, turns the failure into the ``ProviderError`` users read.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus

from collet_nb.core.redact import Redactor
from collet_nb.errors import ProviderError, ProviderHTTPError

# 408 timeout, 409 conflict (Anthropic uses it for transient lock contention), 429 rate limit,
# every 5xx (529 is Anthropic's "overloaded").
RETRYABLE_STATUSES = frozenset({408, 409, 429})

SUMMARY_LIMIT = 200  # characters of a server's message quoted in ours
_BODY_LIMIT = 4000  # characters of the body kept on ProviderHTTPError.body
_PHRASES = {529: "Overloaded"}  # statuses HTTPStatus does not know
_SHORT = {
    408: "request timeout",
    409: "conflict",
    429: "rate limited",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
    529: "overloaded",
}
_ENDS = (".", "!", "?", "…")


@dataclass(frozen=True, kw_only=True)
class Failure:
    """One failed attempt, before the retry loop decides what becomes of it.

    Attributes:
        what: what happened, one clause without a final period (``openai returned HTTP 503
            Service Unavailable for …: overloaded``).
        reason: a few words for the retry notice (``rate limited (HTTP 429)``).
        hint: what to do, one clause; "" when only "try again later" applies.
        retryable: whether trying again may succeed.
        retry_after: the wait the server asked for, in seconds.
        connect: the server could not be reached at all (one quick retry only).
        about_images: the server refused something about images (a text-only model).
        build: makes the exception users get, from the final message.
    """

    what: str
    reason: str
    hint: str = ""
    retryable: bool
    retry_after: float | None = None
    connect: bool = False
    about_images: bool = False
    build: Callable[[str], ProviderError]

    def error(self, tries: str = "", hint: str | None = None) -> ProviderError:
        """The exception for this failure: ``What. Gave up after {tries}: hint.``

        Args:
            tries: how many attempts took how long (``3 attempts in 4.2 s``), when several.
            hint: what to do, instead of the failure's own.
        """
        hint = self.hint if hint is None else hint
        if tries:
            hint = f"gave up after {tries}: {hint}" if hint else f"gave up after {tries}"
        return self.build(sentences(self.what, hint))


class AttemptFailed(Exception):
    """Raised by one attempt, caught by the retry loop; never leaves the provider."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.what)
        self.failure = failure


def clause(text: str) -> str:
    """``text`` on one line, without trailing blanks or sentence-ending ``.;,:`` (so more can
    follow it without doubled punctuation)."""
    return " ".join(text.split()).rstrip(" .;,:")


def sentences(*parts: str) -> str:
    """Non-empty ``parts`` as sentences: each ends once (``.`` unless it already ends with
    ``!?…``), each after the first starts with a capital."""
    out: list[str] = []
    for part in parts:
        text = clause(part) if not part.rstrip().endswith(("!", "?", "…")) else part.strip()
        if not text:
            continue
        if out:
            text = text[0].upper() + text[1:]
        out.append(text if text.endswith(_ENDS) else text + ".")
    return " ".join(out)


def is_retryable_status(status: int) -> bool:
    """Whether trying again later may succeed for this HTTP status."""
    return status in RETRYABLE_STATUSES or status >= 500


def status_phrase(status: int) -> str:
    """``Too Many Requests`` for 429, ``Overloaded`` for 529, "" for an unknown status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _PHRASES.get(status, "")


def status_reason(status: int) -> str:
    """A few words for the retry notice: ``rate limited (HTTP 429)``."""
    words = _SHORT.get(status) or ("server error" if status >= 500 else status_phrase(status))
    return f"{(words or 'error').lower()} (HTTP {status})"


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


def shorten(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """``text`` on one line, cut at a word before ``limit`` characters (with ``…``)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" .;,:") + "…"


_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"<h[1-3][^>]*>(.*?)</h[1-3]\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def looks_like_html(body: str, content_type: str = "") -> bool:
    """Whether a body is an HTML page (by its content type, or by how it starts)."""
    if "html" in content_type.lower():
        return True
    start = body.lstrip()[:64].lower()
    return start.startswith(("<!doctype html", "<html", "<head", "<body"))


def html_title(body: str) -> str:
    """An HTML page's ``<title>``, else its first heading, as plain text ("" when neither)."""
    for pattern in (_TITLE, _HEADING):
        found = pattern.search(body)
        if found:
            text = " ".join(html.unescape(_TAG.sub(" ", found.group(1))).split())
            if text:
                return shorten(text)
    return ""


def _json_message(data: object) -> str:
    """The human part of a JSON error body: ``error.message`` (OpenAI, Anthropic, vLLM,
    Ollama), ``message``, ``detail`` (FastAPI, RFC 7807) or ``title``; "" when none."""
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    if isinstance(error, dict):
        found = error.get("message") or error.get("type")
        if isinstance(found, str) and found.strip():
            return found
    elif isinstance(error, str) and error.strip():
        return error
    for key in ("message", "detail", "title"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if key == "detail" and isinstance(value, list):  # FastAPI's validation errors
            items = [
                f"{'.'.join(map(str, item.get('loc', ())))}: {item.get('msg', '')}".lstrip(": ")
                for item in value
                if isinstance(item, dict)
            ]
            if items:
                return "; ".join(items)
    return ""


def summarize_body(body: str, content_type: str = "") -> str:
    """What a reply body says, on one line of at most ``SUMMARY_LIMIT`` characters: an HTML
    page as ``an HTML page ("its title")``, a JSON error as its message, anything else as
    its start; ``an empty body`` when there is nothing."""
    text = body.strip()
    if not text:
        return "an empty body"
    if looks_like_html(text, content_type):
        title = html_title(text)
        return f'an HTML page ("{title}")' if title else "an HTML page"
    try:
        message = _json_message(json.loads(text))
    except ValueError:
        message = ""
    return shorten(message or text)


# How text-only models refuse image parts: vLLM, LM Studio and OpenAI answer 400, llama.cpp's
# server and Ollama 500, each saying "image", "vision", "multimodal" or (llama.cpp) "mmproj".
_IMAGE_REFUSALS = frozenset({400, 415, 422, 500, 501})
_IMAGE_WORDS = re.compile(r"image|vision|multimodal|multi-modal|mmproj", re.IGNORECASE)


def http_failure(
    *,
    provider: str,
    status: int,
    body: str,
    headers: Mapping[str, str],
    url: str,
    model: str,
    api_key: str | None,
    key_env: str,
) -> Failure:
    """Judge a non-2xx response.

    Args:
        provider: the provider's name.
        status: the HTTP status.
        body: the response body as text (its start, for a long one).
        headers: the response headers.
        url: the URL that was posted to.
        model: the model asked for.
        api_key: the key that was sent (only to mask it).
        key_env: the provider's own key variable (``OPENAI_API_KEY`` …).
    """
    mask = key_redactor(api_key).text
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    said = clause(mask(summarize_body(body, content_type)))
    phrase = status_phrase(status)
    title = f"HTTP {status} {phrase}".rstrip()
    if said.lower() in (
        f'an html page ("{title[5:]}")'.lower(),
        f'an html page ("{phrase}")'.lower(),
    ):
        said = "an HTML page"  # its title only repeats the status
    what = f"{provider} returned {title} for {url}: {said}"
    key_hint = f"COLLET_API_KEY (or {key_env})"
    hint = ""
    if status == 401:
        hint = (
            f"the API key was refused: check {key_hint}"
            if api_key
            else f"no API key was sent: set {key_hint}"
        )
    elif status == 403:
        hint = (
            f"the API key may lack access to {model!r}: check {key_hint} and COLLET_MODEL"
            if api_key
            else f"no API key was sent: set {key_hint}"
        )
    elif status == 404:
        tip = " (OpenAI-compatible servers usually end in /v1)" if provider == "openai" else ""
        hint = f"check COLLET_BASE_URL{tip} and COLLET_MODEL (now {model!r})"
    elif status == 413:
        hint = "the request is too large for the server: shorten the conversation with /compact"
    elif status in (400, 422):
        hint = (
            "the server refused the request as sent: if it names the context or max_tokens, "
            f"run /compact or choose another model with /model (now {model!r})"
        )
    elif not is_retryable_status(status):
        hint = f"check COLLET_BASE_URL and COLLET_MODEL (now {model!r})"
    retry_after = parse_retry_after(headers)
    retryable = is_retryable_status(status)
    masked_body = mask(body)[:_BODY_LIMIT]

    def build(message: str) -> ProviderError:
        return ProviderHTTPError(
            message,
            provider=provider,
            status=status,
            body=masked_body,
            retryable=retryable,
            retry_after=retry_after,
        )

    return Failure(
        what=what,
        reason=status_reason(status),
        hint=hint,
        retryable=retryable,
        retry_after=retry_after,
        about_images=status in _IMAGE_REFUSALS and bool(_IMAGE_WORDS.search(body)),
        build=build,
    )
