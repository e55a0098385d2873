"""The HTTP side every wire protocol shares: one client, status checks before reading, SSE
decoding, and a bounded, visible retry loop (a ``RetryChunk`` before each wait, a
``RestartChunk`` when a shown reply is retried)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import json
import logging
import random
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypedDict

from collet_nb.adapters.providers.failure import (
    AttemptFailed,
    Failure,
    clause,
    http_failure,
    key_redactor,
    sentences,
    summarize_body,
)
from collet_nb.adapters.providers.sse import MAX_EVENT_BYTES, SSEDecoder
from collet_nb.adapters.providers.wire import StreamDecoder, Wire
from collet_nb.core.ports import (
    ModelRequest,
    ProviderChunk,
    RestartChunk,
    RetryChunk,
    UsageChunk,
)
from collet_nb.errors import ConfigError, ProviderError, ProviderStreamError

if TYPE_CHECKING:
    import ssl

    import httpx2

logger = logging.getLogger(__name__)

USER_AGENT = "collet_nb/0.1"
ERROR_BODY_BYTES = 64 * 1024  # the most of an error body read (an HTML page can be huge)


def without_images(request: ModelRequest) -> ModelRequest:
    """``request`` with each image replaced by its one-line description (the same request
    when it holds no image)."""
    if not any(m.images for m in request.messages):
        return request
    messages = tuple(
        dataclasses.replace(m, content=m.text_with_images(), images=()) if m.images else m
        for m in request.messages
    )
    return dataclasses.replace(request, messages=messages)


@lru_cache(maxsize=2)
def ssl_context(trust_env: bool) -> ssl.SSLContext:
    """The TLS context every provider shares: building one reads the CA bundle (≈60 ms on
    2 cores), which a new session (``/new``, ``/model``) need not pay again."""
    import httpx2

    return httpx2.create_ssl_context(trust_env=trust_env)


def normalize_base_url(base_url: str) -> str:
    """``base_url`` without surrounding blanks or trailing slashes.

    Raises:
        ConfigError: it is not an http(s) URL.
    """
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"base URL {url!r} must start with http:// or https://; fix COLLET_BASE_URL.",
            key="base_url",
        )
    return url


def backoff(retry: int, *, initial: float, maximum: float, jitter: float) -> float:
    """The wait before retry number ``retry`` (1 for the first): stamina's formula, which this
    module used before its loop became explicit — ``initial`` doubled each retry, plus up to
    ``jitter`` random seconds, capped at ``maximum``."""
    spread = random.uniform(0, jitter) if jitter else 0.0
    try:
        return min(maximum, initial * 2.0 ** (retry - 1) + spread)
    except OverflowError:
        return maximum


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _connect_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words: the OS error under httpx2's wrapping."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, socket.gaierror):
            return "host not found"
        if isinstance(error, ConnectionRefusedError) or (
            isinstance(error, OSError) and error.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(error, BaseExceptionGroup):
            stack.extend(error.exceptions)
        stack.extend(e for e in (error.__cause__, error.__context__) if e is not None)
    return ""


class ProviderOptions(TypedDict, total=False):
    """``HttpProvider``'s keyword arguments besides the wire, base URL and model (what
    ``make_provider`` passes on)."""

    api_key: str | None
    connect_timeout: float
    idle_timeout: float
    retry_budget: float
    max_retries: int
    connect_retries: int
    retry_wait_initial: float
    retry_wait_max: float
    retry_wait_jitter: float
    max_event_bytes: int | None
    trust_env: bool
    extra_headers: Mapping[str, str] | None
    images: str


class _Reader:
    """Reads a response's body in a task of its own while the consumer handles what came: each
    step of ``async for`` gives all the bytes received since the last one (at once when some
    wait; else it waits for the next read). Errors of the read (a stall, a cut connection)
    come out of the step after the bytes that came before them; leaving the block stops
    the read."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self._parts: list[bytes] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._done = False

    async def __aenter__(self) -> _Reader:
        self._task = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(self) -> None:
        try:
            async for data in self._response.aiter_bytes():
                self._parts.append(data)
                self._arrived.set()
        except Exception as exc:  # handed to the consumer, which judges it
            self._error = exc
        finally:
            self._done = True
            self._arrived.set()

    def __aiter__(self) -> _Reader:
        return self

    async def __anext__(self) -> bytes:
        while not self._parts:
            if self._done:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                raise StopAsyncIteration
            self._arrived.clear()
            await self._arrived.wait()
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        return data


class HttpProvider:
    """A model behind an HTTP API, speaking ``wire``; implements the ``Provider`` port.

    Holds one ``httpx2.AsyncClient``: close it with :meth:`aclose` (or ``async with``).

    Retries: a retryable failure (connection, 408/409/429/5xx, a stall, a broken stream, a
    retryable error event) is tried again after a wait: the ``Retry-After`` the server asked
    for, else an exponential backoff with jitter. No retry starts whose wait would end past
    ``retry_budget`` seconds since the request started (or since it last received something,
    for a long reply cut late); so one request fails within about ``retry_budget`` plus the
    timeouts of its last attempt. A server that cannot be reached at all gets
    ``connect_retries`` quick retries only.

    Args:
        wire: the protocol (see ``OpenAIWire``, ``AnthropicWire``).
        base_url: the API root, e.g. ``https://api.openai.com/v1``.
        api_key: sent only in the protocol's auth header; never shown.
        model: used when a request names no model.
        connect_timeout: seconds to establish a connection.
        idle_timeout: the longest silence allowed while waiting for the reply's first byte
            or between two reads of it (``COLLET_REQUEST_TIMEOUT``).
        retry_budget: seconds one request may spend failing and waiting before it gives up
            (``COLLET_RETRY_BUDGET``).
        max_retries: retries per request after the first attempt (``COLLET_MAX_RETRIES``).
        connect_retries: retries when the server cannot be reached (refused, unknown host).
        retry_wait_initial: first backoff, in seconds; it doubles each retry.
        retry_wait_max: cap on one backoff.
        retry_wait_jitter: up to this many random seconds added to each backoff.
        max_event_bytes: the largest SSE event accepted (``None``: no cap).
        trust_env: honour proxy and certificate environment variables.
        extra_headers: more headers for every request (e.g. OpenRouter's ``HTTP-Referer``).
        images: ``auto`` sends images as image parts until the model refuses one (then, for
            this provider's life, their descriptions), ``on`` always sends them, ``off`` never
            (``COLLET_IMAGES``).
    """

    def __init__(
        self,
        wire: Wire,
        *,
        base_url: str,
        api_key: str | None = None,
        model: str = "",
        connect_timeout: float = 10.0,
        idle_timeout: float = 30.0,
        retry_budget: float = 30.0,
        max_retries: int = 4,
        connect_retries: int = 1,
        retry_wait_initial: float = 0.5,
        retry_wait_max: float = 10.0,
        retry_wait_jitter: float = 1.0,
        max_event_bytes: int | None = MAX_EVENT_BYTES,
        trust_env: bool = True,
        extra_headers: Mapping[str, str] | None = None,
        images: str = "auto",
    ) -> None:
        import httpx2

        if max_retries < 0 or connect_retries < 0:
            raise ConfigError("max_retries must be 0 or more", key="max_retries")
        for name, value in (
            ("idle_timeout", idle_timeout),
            ("retry_budget", retry_budget),
            ("connect_timeout", connect_timeout),
        ):
            if not value > 0:  # NaN fails this too
                raise ConfigError(f"{name} must be a positive number of seconds", key=name)
        if images not in ("auto", "on", "off"):
            raise ConfigError("images must be auto, on or off", key="images")
        self.images = images
        # Whether image parts go to the model; ``auto`` turns it off at the first refusal.
        self.takes_images = images != "off"
        self._wire = wire
        self.base_url = normalize_base_url(base_url)
        # Stripped: a pasted key with a newline would make an invalid header.
        self._api_key = (api_key or "").strip() or None
        self._redactor = key_redactor(self._api_key)
        self.model = model
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.retry_budget = retry_budget
        self.max_retries = max_retries
        self.connect_retries = connect_retries
        self._retry_wait_initial = retry_wait_initial
        self._retry_wait_max = retry_wait_max
        self._retry_wait_jitter = retry_wait_jitter
        self._max_event_bytes = max_event_bytes
        self._url = wire.url(self.base_url)
        self._headers = {**dict(extra_headers or {}), **wire.headers(self._api_key)}
        self._client: httpx2.AsyncClient = httpx2.AsyncClient(
            # httpx2's read timeout bounds each wait for bytes: the first one (the status
            # line) and every one after it, so it is exactly the idle timeout.
            timeout=httpx2.Timeout(idle_timeout, connect=connect_timeout),
            headers={"user-agent": USER_AGENT},
            trust_env=trust_env,
            verify=ssl_context(trust_env),
        )

    @property
    def name(self) -> str:
        """The provider's name (``openai`` or ``anthropic``)."""
        return self._wire.name

    def __repr__(self) -> str:
        key = "'***'" if self._api_key else "None"
        return (
            f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r}, "
            f"model={self.model!r}, api_key={key})"
        )

    async def aclose(self) -> None:
        """Close the HTTP client and its connections."""
        await self._client.aclose()

    async def __aenter__(self) -> HttpProvider:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderChunk]:
        """Stream the reply to ``request``, retrying what may succeed on a second try.

        Before each wait comes a ``RetryChunk`` (why, how long, which attempt). A retry
        after chunks were shown first yields a ``RestartChunk``: everything yielded before it
        (text, reasoning, tool calls) is void and the reply starts over.

        Raises:
            ProviderHTTPError: an HTTP error status, at once or after the last retry.
            ProviderStreamError: the stream stalled, broke or carried an error event.
            ProviderError: the server could not be reached or sent no API reply.
        """
        # An explicit loop, not stamina's retry context (used before): stamina sleeps inside
        # its iterator, so nothing could be yielded between a failure and its wait; here the
        # RetryChunk goes out first and the wait is a plain, at-once-cancellable sleep.
        started = progress = time.monotonic()
        attempt = 1
        shown = False
        while True:
            sent = request if self.takes_images else without_images(request)
            try:
                async with contextlib.aclosing(self._attempt(sent)) as chunks:
                    async for chunk in chunks:
                        progress = time.monotonic()
                        if not isinstance(chunk, UsageChunk):
                            shown = True
                        yield chunk
                return
            except AttemptFailed as exc:
                failure, cause = exc.failure, exc.__cause__
            sent_images = any(m.images for m in sent.messages)
            if failure.about_images and self.images == "auto" and sent_images:
                # A text-only model: from now on it reads what each image is instead.
                self.takes_images = False
                logger.warning("%s: %s; sending images as descriptions", self.name, failure.what)
                yield RetryChunk(
                    reason="the model takes no images",
                    detail=f"{self.model or request.model} refused an image: sending what each "
                    "image is instead (set COLLET_IMAGES=off to skip this request)",
                    wait_s=0.0,
                    until=time.time(),
                    attempt=attempt,
                    attempts=self.max_retries + 1,
                )
                if shown:
                    yield RestartChunk(reason=failure.what)
                    shown = False
                continue
            wait, attempts, hint = self._plan(failure, attempt, progress)
            if wait is None:
                tries = ""
                if attempt > 1:
                    tries = f"{attempt} attempts in {_seconds(time.monotonic() - started)}"
                raise failure.error(tries, hint) from cause
            attempt += 1
            logger.info(
                "%s: %s; retrying in %.1f s (attempt %d of %d)",
                self.name,
                failure.what,
                wait,
                attempt,
                attempts,
            )
            yield RetryChunk(
                reason=failure.reason,
                detail=sentences(failure.what),
                wait_s=round(wait, 3),
                until=time.time() + wait,
                attempt=attempt,
                attempts=attempts,
            )
            await asyncio.sleep(wait)
            if shown:
                yield RestartChunk(reason=failure.what)
                shown = False

    def _plan(
        self, failure: Failure, attempt: int, progress: float
    ) -> tuple[float | None, int, str | None]:
        """The wait before the next attempt (None: give up), the most attempts, and the hint
        of the final error when giving up (None: the failure's own)."""
        retries = self.max_retries
        if failure.connect:
            retries = min(retries, self.connect_retries)
        attempts = retries + 1
        if not failure.retryable:
            return None, attempts, None
        if attempt > retries:
            hint = f"try again later, or raise COLLET_MAX_RETRIES (now {self.max_retries})"
            return None, attempts, failure.hint or hint
        asked = failure.retry_after
        wait = asked
        if wait is None:
            wait = backoff(
                attempt,
                initial=self._retry_wait_initial,
                maximum=self._retry_wait_max,
                jitter=self._retry_wait_jitter,
            )
        left = self.retry_budget - (time.monotonic() - progress)
        if wait <= left:
            return wait, attempts, None
        budget = f"COLLET_RETRY_BUDGET (now {self.retry_budget:g} s)"
        if asked is not None:
            why = f"the provider asks to wait {_seconds(asked)}, more than the retry budget allows"
            return None, attempts, f"{why}: try again later, or raise {budget}"
        return None, attempts, failure.hint or f"try again later, or raise {budget} to retry longer"

    async def _attempt(self, request: ModelRequest) -> AsyncGenerator[ProviderChunk, None]:
        """One try.

        Raises:
            AttemptFailed: whatever went wrong, judged.
        """
        import httpx2

        model = request.model or self.model
        body = self._wire.body(request, model)
        decoder = self._wire.decoder()
        answered = False
        try:
            async with self._client.stream(
                "POST", self._url, json=body, headers=self._headers
            ) as response:
                answered = True
                if not 200 <= response.status_code < 300:
                    raise AttemptFailed(
                        http_failure(
                            provider=self.name,
                            status=response.status_code,
                            body=await self._start_of(response),
                            headers=response.headers,
                            url=self._url,
                            model=model,
                            api_key=self._api_key,
                            key_env=self._wire.key_env,
                        )
                    )
                async for chunk in self._read(response, decoder):
                    yield chunk
        except ProviderError as exc:  # a decoder's verdict: an error event, a cut reply
            raise AttemptFailed(self._stream_failure(exc)) from exc
        except httpx2.SSEError as exc:  # an event past the size cap
            raise AttemptFailed(self._oversized(exc)) from exc
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            raise AttemptFailed(self._unreachable(exc)) from exc
        except httpx2.TimeoutException as exc:
            raise AttemptFailed(self._stalled(answered)) from exc
        except httpx2.TransportError as exc:
            why = self._redactor.text(clause(str(exc)) or type(exc).__name__)
            raise AttemptFailed(
                self._failure(
                    f"the connection to {self.name} at {self.base_url} broke: {why}",
                    reason="the connection broke",
                    retryable=True,
                )
            ) from exc

    async def _read(
        self, response: httpx2.Response, decoder: StreamDecoder
    ) -> AsyncIterator[ProviderChunk]:
        content_type = response.headers.get("content-type", "").lower()
        if "text/html" in content_type:
            page = summarize_body(await self._start_of(response), content_type)
            raise AttemptFailed(
                self._failure(
                    f"{self.name} at {self._url} answered with {page}, not an API reply",
                    reason="not an API reply",
                    hint="check COLLET_BASE_URL",
                )
            )
        if "json" in content_type and "event-stream" not in content_type:
            for chunk in decoder.whole(self._json(await response.aread())):
                yield chunk
            return
        sse = SSEDecoder(self._max_event_bytes)
        async with _Reader(response) as reader:
            # Everything that arrived while the chunks before were being handled goes on as
            # one batch: a fast server's hundreds of events make one chunk of text, so parsing,
            # the loop and the views pay per batch, not per SSE event; a paced server's events
            # still go on one by one, as each arrives.
            async for data in reader:
                for chunk in decoder.feed_many(sse.events(data)):
                    yield chunk
                if decoder.ended:
                    break
            else:
                for chunk in decoder.feed_many(sse.rest()):
                    yield chunk
        for chunk in decoder.close():
            yield chunk

    @staticmethod
    async def _start_of(response: httpx2.Response) -> str:
        """The first ``ERROR_BODY_BYTES`` of the body, as text."""
        parts: list[bytes] = []
        size = 0
        async for data in response.aiter_bytes():
            parts.append(data)
            size += len(data)
            if size >= ERROR_BODY_BYTES:
                break
        return b"".join(parts)[:ERROR_BODY_BYTES].decode("utf-8", errors="replace")

    def _json(self, raw: bytes) -> Mapping[str, Any]:
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, Mapping):
            raise AttemptFailed(
                self._failure(
                    f"{self.name} at {self._url} sent a reply that is not a JSON object",
                    reason="not an API reply",
                    hint="check COLLET_BASE_URL",
                )
            )
        return payload

    def _failure(
        self,
        what: str,
        *,
        reason: str,
        hint: str = "",
        retryable: bool = False,
        connect: bool = False,
        kind: Callable[..., ProviderError] = ProviderError,
    ) -> Failure:
        def build(message: str) -> ProviderError:
            return kind(message, provider=self.name, retryable=retryable)

        return Failure(
            what=what, reason=reason, hint=hint, retryable=retryable, connect=connect, build=build
        )

    def _stream_failure(self, exc: ProviderError) -> Failure:
        text = self._redactor.text(clause(str(exc)))
        words = text.lower()
        if "overload" in words:
            reason = "overloaded"
        elif "rate" in words and "limit" in words:
            reason = "rate limited"
        elif "ended before" in words:
            reason = "the reply was cut short"
        else:
            reason = "an error in the reply"
        hint = ""
        if not exc.retryable:
            hint = (
                "the provider stopped the reply: if it names the context or max_tokens, "
                "run /compact or choose another model with /model"
            )
        kind = ProviderStreamError if isinstance(exc, ProviderStreamError) else ProviderError
        return self._failure(text, reason=reason, hint=hint, retryable=exc.retryable, kind=kind)

    def _oversized(self, exc: Exception) -> Failure:
        limit = self._max_event_bytes or 0
        size = f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit / 2**10:g} KiB"
        return self._failure(
            f"{self.name} at {self.base_url} sent a stream event larger than {size}",
            reason="an event too large",
            hint="ask for a smaller step (a file written in parts, say)",
            kind=ProviderStreamError,
        )

    def _unreachable(self, exc: Exception) -> Failure:
        import httpx2

        if isinstance(exc, httpx2.ConnectTimeout):
            why = f"no answer within {self.connect_timeout:g} s"
        else:
            why = _connect_reason(exc) or self._redactor.text(clause(str(exc)))
        return self._failure(
            f"could not connect to {self.name} at {self.base_url} ({why or 'connect failed'})",
            reason=why or "could not connect",
            hint="check COLLET_BASE_URL and that the server is running",
            retryable=True,
            connect=True,
        )

    def _stalled(self, answered: bool) -> Failure:
        when = "while streaming its reply" if answered else "before answering"
        return self._failure(
            f"{self.name} at {self.base_url} sent nothing for {self.idle_timeout:g} s {when}",
            reason=f"no data for {self.idle_timeout:g} s",
            hint=(
                "the server may be overloaded: try again later; a slow model may need a "
                f"longer COLLET_REQUEST_TIMEOUT (now {self.idle_timeout:g} s)"
            ),
            retryable=True,
            kind=ProviderStreamError,
        )
