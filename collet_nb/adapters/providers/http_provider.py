"""The HTTP side every wire protocol shares: one client, status checks before reading, SSE
decoding, retries with backoff (stamina), and a visible restart when a shown reply is retried."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any

from collet_nb.adapters.providers.failure import http_error, key_redactor
from collet_nb.adapters.providers.sse import SSEDecoder
from collet_nb.adapters.providers.wire import StreamDecoder, Wire
from collet_nb.core.ports import ModelRequest, ProviderChunk, RestartChunk, UsageChunk
from collet_nb.errors import ConfigError, ProviderError, ProviderHTTPError, ProviderStreamError

if TYPE_CHECKING:
    import ssl

    import httpx2

logger = logging.getLogger(__name__)

USER_AGENT = "collet_nb/0.1"


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


class HttpProvider:
    """A model behind an HTTP API, speaking ``wire``; implements the ``Provider`` port.

    Holds one ``httpx2.AsyncClient``: close it with :meth:`aclose` (or ``async with``).

    Args:
        wire: the protocol (see ``OpenAIWire``, ``AnthropicWire``).
        base_url: the API root, e.g. ``https://api.openai.com/v1``.
        api_key: sent only in the protocol's auth header; never shown.
        model: used when a request names no model.
        connect_timeout: seconds to establish a connection.
        read_timeout: longest silence allowed while waiting for the reply or between chunks.
        max_attempts: tries per request, the first included.
        retry_wait_initial: first backoff, in seconds; it doubles each retry.
        retry_wait_max: cap on one backoff.
        retry_wait_jitter: up to this many random seconds added to each backoff.
        retry_after_max: the longest ``Retry-After`` honoured; a longer one fails at once.
        trust_env: honour proxy and certificate environment variables.
        extra_headers: more headers for every request (e.g. OpenRouter's ``HTTP-Referer``).
    """

    def __init__(
        self,
        wire: Wire,
        *,
        base_url: str,
        api_key: str | None = None,
        model: str = "",
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_attempts: int = 8,
        retry_wait_initial: float = 0.5,
        retry_wait_max: float = 30.0,
        retry_wait_jitter: float = 1.0,
        retry_after_max: float = 60.0,
        trust_env: bool = True,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        import httpx2

        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1", key="max_attempts")
        self._wire = wire
        self.base_url = normalize_base_url(base_url)
        # Stripped: a pasted key with a newline would make an invalid header.
        self._api_key = (api_key or "").strip() or None
        self._redactor = key_redactor(self._api_key)
        self.model = model
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self._retry_wait_initial = retry_wait_initial
        self._retry_wait_max = retry_wait_max
        self._retry_wait_jitter = retry_wait_jitter
        self._retry_after_max = retry_after_max
        self._url = wire.url(self.base_url)
        self._headers = {**dict(extra_headers or {}), **wire.headers(self._api_key)}
        self._client: httpx2.AsyncClient = httpx2.AsyncClient(
            timeout=httpx2.Timeout(read_timeout, connect=connect_timeout),
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

        A retry after chunks were shown first yields a ``RestartChunk``: everything yielded
        before it (text, reasoning, tool calls) is void and the reply starts over.

        Raises:
            ProviderHTTPError: an HTTP error status, at once or after the last retry.
            ProviderStreamError: the stream broke or carried an error event.
            ProviderError: the server could not be reached.
        """
        import stamina

        shown = False
        last_error: ProviderError | None = None
        async for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=self.max_attempts,
            # Only the attempt count bounds retries: a long reply cut late still deserves one.
            timeout=None,
            wait_initial=self._retry_wait_initial,
            wait_max=self._retry_wait_max,
            wait_jitter=self._retry_wait_jitter,
        ):
            # Yielding inside the attempt is safe: stamina re-raises whatever the hook refuses,
            # GeneratorExit and CancelledError included, so closing or cancelling never retries.
            with attempt:
                if shown:
                    reason = str(last_error) if last_error else "the reply was interrupted"
                    yield RestartChunk(reason=reason)
                    shown = False
                try:
                    async for chunk in self._attempt(request, attempt.num):
                        if not isinstance(chunk, UsageChunk):
                            shown = True
                        yield chunk
                except ProviderError as exc:
                    last_error = exc
                    raise

    def _backoff(self, exc: Exception) -> bool | float:
        # stamina's hook: False stops, True uses exponential backoff, a float waits that long.
        if not isinstance(exc, ProviderError) or not exc.retryable:
            return False
        if isinstance(exc, ProviderHTTPError) and exc.retry_after is not None:
            return float(exc.retry_after)
        return True

    async def _attempt(self, request: ModelRequest, number: int) -> AsyncIterator[ProviderChunk]:
        import httpx2

        model = request.model or self.model
        body = self._wire.body(request, model)
        decoder = self._wire.decoder()
        try:
            async with self._client.stream(
                "POST", self._url, json=body, headers=self._headers
            ) as response:
                if not 200 <= response.status_code < 300:
                    raw = await response.aread()
                    error = http_error(
                        provider=self.name,
                        status=response.status_code,
                        body=raw.decode("utf-8", errors="replace"),
                        headers=response.headers,
                        url=self._url,
                        model=model,
                        api_key=self._api_key,
                        key_env=self._wire.key_env,
                        retry_after_max=self._retry_after_max,
                        note=self._attempts_note(number),
                    )
                    raise error
                async for chunk in self._read(response, decoder):
                    yield chunk
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            raise self._unreachable(exc, number) from exc
        except httpx2.TimeoutException as exc:
            raise ProviderStreamError(
                f"{self.name} at {self.base_url} sent nothing for {self.read_timeout:g} s "
                f"({self._attempts_note(number)}). The server may be overloaded; "
                "a slow local model may need a longer read timeout.",
                provider=self.name,
            ) from exc
        except httpx2.TransportError as exc:
            raise ProviderStreamError(
                f"the connection to {self.name} at {self.base_url} broke: "
                f"{self._redactor.text(str(exc) or type(exc).__name__)} "
                f"({self._attempts_note(number)})",
                provider=self.name,
            ) from exc

    async def _read(
        self, response: httpx2.Response, decoder: StreamDecoder
    ) -> AsyncIterator[ProviderChunk]:
        content_type = response.headers.get("content-type", "").lower()
        if "text/html" in content_type:
            raise ProviderError(
                f"{self.name} at {self._url} answered with an HTML page, not an API reply. "
                "Check COLLET_BASE_URL.",
                provider=self.name,
            )
        if "json" in content_type and "event-stream" not in content_type:
            for chunk in decoder.whole(self._json(await response.aread())):
                yield chunk
            return
        sse = SSEDecoder()
        async for data in response.aiter_bytes():
            for event in sse.feed(data):
                for chunk in decoder.feed(event):
                    yield chunk
            if decoder.ended:
                break
        else:
            for event in sse.flush():
                for chunk in decoder.feed(event):
                    yield chunk
        for chunk in decoder.close():
            yield chunk

    def _json(self, raw: bytes) -> Mapping[str, Any]:
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, Mapping):
            raise ProviderError(
                f"{self.name} at {self._url} sent a reply that is not a JSON object.",
                provider=self.name,
            )
        return payload

    def _unreachable(self, exc: Exception, number: int) -> ProviderError:
        why = self._redactor.text(str(exc) or type(exc).__name__)
        return ProviderError(
            f"could not connect to {self.name} at {self.base_url} ({why}; "
            f"{self._attempts_note(number)}). Check COLLET_BASE_URL and that the server "
            "is running.",
            provider=self.name,
            retryable=True,
        )

    def _attempts_note(self, number: int) -> str:
        return f"attempt {number} of {self.max_attempts}"
