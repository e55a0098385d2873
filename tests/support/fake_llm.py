"""A scripted LLM server on a real loopback socket speaking OpenAI chat completions and
Anthropic Messages (real SSE, or whole JSON), with faults and backend quirks on demand."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

Protocol = Literal["openai", "anthropic"]

QUIRKS = frozenset(
    {
        "ollama_index0",  # every tool call at index 0, distinct ids, arguments in one piece
        "usage_without_choices",  # vLLM: the last usage chunk has no "choices" key at all
        "missing_index",  # tool-call deltas without "index"
        "no_ids",  # tool calls without ids
        "reasoning",  # reasoning under "reasoning" (Ollama, OpenRouter), not "reasoning_content"
        "reasoning_both",  # vLLM: the same reasoning under both names
        "split_utf8",  # every multi-byte character split across two HTTP chunks
        "burst",  # every event in one HTTP chunk (a buffering proxy, a server faster than us)
        "malformed",  # junk lines, comments, unknown fields, "data:" without a space, bad JSON
        "crlf",  # CRLF line endings
        "no_done",  # OpenAI: no "data: [DONE]" (the stream just ends after finish_reason)
        "ignore_stream",  # answer with one JSON body even when a stream was asked for
    }
)


@dataclass(frozen=True, kw_only=True)
class FakeToolCall:
    """A tool call the fake model makes; ``arguments`` as a dict, or raw text (may be bad)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def argument_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)


@dataclass(frozen=True, kw_only=True)
class Fail:
    """Answer with an HTTP error status (body shaped like the protocol's, unless given)."""

    status: int = 500
    message: str = ""
    body: str | None = None
    retry_after: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Drop:
    """Close the connection without answering at all."""


@dataclass(frozen=True, kw_only=True)
class Cut:
    """Send ``after_events`` SSE events, then close the connection mid-body."""

    after_events: int = 0


@dataclass(frozen=True, kw_only=True)
class ErrorEvent:
    """Send ``after_events`` events, then the protocol's in-stream error, then end the body."""

    after_events: int = 0
    kind: str = "overloaded_error"
    message: str = "Overloaded"
    code: int | None = None


@dataclass(frozen=True, kw_only=True)
class Stall:
    """Send ``after_events`` events, then go silent for ``seconds`` before going on."""

    after_events: int = 0
    seconds: float = 30.0


Fault = Fail | Drop | Cut | ErrorEvent | Stall


@dataclass(frozen=True, kw_only=True)
class RecordedRequest:
    """A request the server received.

    Attributes:
        method: ``GET`` or ``POST``.
        path: the request path.
        headers: the headers, names lower-cased.
        body: the parsed JSON body (``None`` when absent or not JSON).
        protocol: which protocol the path belongs to, if any.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    protocol: Protocol | None

    @property
    def conversation(self) -> list[tuple[str, str]]:
        """(role, text) of every message, protocol-neutral: an Anthropic user message made
        of tool results, like an OpenAI ``tool`` message, has role ``tool``."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return [_neutral(m) for m in messages or () if isinstance(m, dict)]

    @property
    def images(self) -> list[tuple[str, str, str]]:
        """Every image part sent, in order, protocol-neutral: (role of its message, MIME type,
        base64 data). An OpenAI ``image_url`` data URL and an Anthropic ``image`` block (in a
        user message or inside a ``tool_result``) both count."""
        found: list[tuple[str, str, str]] = []
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        for message in messages or ():
            role, content = message.get("role", ""), message.get("content")
            for block in content if isinstance(content, list) else ():
                inner = block.get("content") if block.get("type") == "tool_result" else [block]
                for part in inner if isinstance(inner, list) else ():
                    if part.get("type") == "image_url":
                        head, _, data = part["image_url"]["url"].partition(";base64,")
                        found.append((role, head.removeprefix("data:"), data))
                    elif part.get("type") == "image":
                        source = part["source"]
                        found.append((role, source["media_type"], source["data"]))
        return found

    @property
    def last_role(self) -> str:
        """The role of the last message (``""`` when there is none)."""
        return self.conversation[-1][0] if self.conversation else ""

    @property
    def last_text(self) -> str:
        """The text of the last message."""
        return self.conversation[-1][1] if self.conversation else ""


def _neutral(message: Mapping[str, Any]) -> tuple[str, str]:
    role = str(message.get("role", ""))
    content = message.get("content")
    if isinstance(content, str) or content is None:
        return role, content or ""
    texts: list[str] = []
    only_results = bool(content)
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            inner = block.get("content", "")
            if isinstance(inner, list):
                inner = "".join(str(b.get("text", "")) for b in inner if isinstance(b, dict))
            texts.append(str(inner))
        else:
            only_results = False
            texts.append(str(block.get("text", "")))
    return ("tool" if only_results else role), "\n".join(texts)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """When a request matches, how the fake model answers.

    Matching (all given conditions must hold): ``role`` and ``contains`` test the last
    message (role ``tool`` also means an Anthropic tool-result message), ``any_contains``
    any message, ``protocol`` the endpoint, ``match`` any predicate on the request.

    Reply: ``reasoning`` then ``text`` then ``tool_calls``, streamed in pieces of
    ``chunk_size`` characters, after ``delay`` seconds, ``gap`` seconds between events;
    ``usage`` is (prompt, completion) tokens. ``faults[i]`` spoils the i-th request this rule
    answers; ``quirks`` (see ``QUIRKS``) imitate real backends; ``times`` caps how many
    requests the rule answers.
    """

    role: str | None = None
    contains: str | None = None
    any_contains: str | None = None
    protocol: Protocol | None = None
    match: Callable[[RecordedRequest], bool] | None = None
    text: str = ""
    reasoning: str = ""
    tool_calls: Sequence[FakeToolCall] = ()
    usage: tuple[int, int] = (12, 7)
    delay: float = 0.0
    gap: float = 0.0
    chunk_size: int = 4
    faults: Sequence[Fault | None] = ()
    quirks: Collection[str] = ()
    times: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.quirks) - QUIRKS
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}; known: {sorted(QUIRKS)}")

    def matches(self, request: RecordedRequest) -> bool:
        """Whether this rule answers ``request``."""
        return (
            (self.protocol is None or request.protocol == self.protocol)
            and (self.role is None or request.last_role == self.role)
            and (self.contains is None or self.contains in request.last_text)
            and (
                self.any_contains is None
                or any(self.any_contains in text for _, text in request.conversation)
            )
            and (self.match is None or self.match(request))
        )


def _pieces(text: str, size: int) -> list[str]:
    size = max(size, 1)
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Script:
    """The SSE events and whole-JSON reply of one rule for one request."""

    def __init__(self, rule: Rule, request: RecordedRequest, ids: Callable[[str], str]) -> None:
        self.rule = rule
        self.quirks = set(rule.quirks)
        body = request.body if isinstance(request.body, dict) else {}
        self.model = str(body.get("model", "fake-model"))
        self.stream = bool(body.get("stream", False))
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        prefix = "toolu_" if request.protocol == "anthropic" else "call_"
        self.call_ids = [call.id or ids(prefix) for call in rule.tool_calls]

    # -- OpenAI --------------------------------------------------------------------------

    def openai_events(self) -> list[str]:
        rule = self.rule
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": self.model}

        def chunk(delta: Mapping[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": dict(delta), "finish_reason": finish}
            return self._data({**base, "choices": [choice]})

        events = [chunk({"role": "assistant", "content": ""})]
        for piece in _pieces(rule.reasoning, rule.chunk_size):
            if "reasoning_both" in self.quirks:
                events.append(chunk({"reasoning_content": piece, "reasoning": piece}))
            elif "reasoning" in self.quirks:
                events.append(chunk({"reasoning": piece}))
            else:
                events.append(chunk({"reasoning_content": piece}))
        events.extend(chunk({"content": piece}) for piece in _pieces(rule.text, rule.chunk_size))
        for n, call in enumerate(rule.tool_calls):
            events.extend(chunk({"tool_calls": [d]}) for d in self._openai_call_deltas(n, call))
        events.append(chunk({}, "tool_calls" if rule.tool_calls else "stop"))
        if self.include_usage:
            usage = {
                "prompt_tokens": rule.usage[0],
                "completion_tokens": rule.usage[1],
                "total_tokens": sum(rule.usage),
            }
            last: dict[str, Any] = {**base, "usage": usage}
            if "usage_without_choices" not in self.quirks:
                last["choices"] = []
            events.append(self._data(last))
        if "no_done" not in self.quirks:
            events.append(self._line("data: [DONE]") + self._line(""))
        return events

    def _openai_call_deltas(self, n: int, call: FakeToolCall) -> list[dict[str, Any]]:
        arguments = call.argument_text()
        head: dict[str, Any] = {"type": "function", "function": {"name": call.name}}
        if "no_ids" not in self.quirks:
            head["id"] = self.call_ids[n]
        if "ollama_index0" in self.quirks:
            head["function"]["arguments"] = arguments
            deltas = [head]
            index = 0
        else:
            head["function"]["arguments"] = ""
            deltas = [head] + [
                {"function": {"arguments": piece}}
                for piece in _pieces(arguments, self.rule.chunk_size)
            ]
            index = n
        if "missing_index" not in self.quirks:
            for delta in deltas:
                delta["index"] = index
        return deltas

    def openai_whole(self) -> dict[str, Any]:
        rule = self.rule
        message: dict[str, Any] = {"role": "assistant", "content": rule.text or None}
        if rule.reasoning:
            message["reasoning_content"] = rule.reasoning
        if rule.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self.call_ids[n],
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.argument_text()},
                }
                for n, call in enumerate(rule.tool_calls)
            ]
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if rule.tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": rule.usage[0], "completion_tokens": rule.usage[1]},
        }

    # -- Anthropic -----------------------------------------------------------------------

    def anthropic_events(self) -> list[str]:
        rule = self.rule
        start_message: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": rule.usage[0], "output_tokens": 1},
        }
        events = [
            self._event("message_start", {"message": start_message}),
            self._event("ping", {}),
        ]
        index = 0

        def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
            nonlocal index
            events.append(
                self._event("content_block_start", {"index": index, "content_block": start})
            )
            events.extend(
                self._event("content_block_delta", {"index": index, "delta": d}) for d in deltas
            )
            events.append(self._event("content_block_stop", {"index": index}))
            index += 1

        size = rule.chunk_size
        if rule.reasoning:
            thinking = [
                {"type": "thinking_delta", "thinking": p} for p in _pieces(rule.reasoning, size)
            ]
            thinking.append({"type": "signature_delta", "signature": "c2lnbmF0dXJl"})
            block({"type": "thinking", "thinking": ""}, thinking)
        if rule.text:
            block(
                {"type": "text", "text": ""},
                [{"type": "text_delta", "text": p} for p in _pieces(rule.text, size)],
            )
        for n, call in enumerate(rule.tool_calls):
            pieces = ["", *_pieces(call.argument_text(), size)]  # the API starts with ""
            block(
                {"type": "tool_use", "id": self.call_ids[n], "name": call.name, "input": {}},
                [{"type": "input_json_delta", "partial_json": p} for p in pieces],
            )
        stop = "tool_use" if rule.tool_calls else "end_turn"
        events.append(
            self._event(
                "message_delta",
                {
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": rule.usage[1]},
                },
            )
        )
        events.append(self._event("message_stop", {}))
        return events

    def anthropic_whole(self) -> dict[str, Any]:
        rule = self.rule
        content: list[dict[str, Any]] = []
        if rule.reasoning:
            content.append({"type": "thinking", "thinking": rule.reasoning, "signature": "c2ln"})
        if rule.text:
            content.append({"type": "text", "text": rule.text})
        for n, call in enumerate(rule.tool_calls):
            arguments: Any = call.arguments if not isinstance(call.arguments, str) else {}
            content.append(
                {"type": "tool_use", "id": self.call_ids[n], "name": call.name, "input": arguments}
            )
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": "tool_use" if rule.tool_calls else "end_turn",
            "usage": {"input_tokens": rule.usage[0], "output_tokens": rule.usage[1]},
        }

    # -- framing -------------------------------------------------------------------------

    def _line(self, line: str) -> str:
        return line + ("\r\n" if "crlf" in self.quirks else "\n")

    def _data(self, payload: Mapping[str, Any]) -> str:
        prefix = "data:" if "malformed" in self.quirks else "data: "
        return self._line(prefix + json.dumps(payload, ensure_ascii=False)) + self._line("")

    def _event(self, name: str, payload: Mapping[str, Any]) -> str:
        return self._line(f"event: {name}") + self._data({"type": name, **payload})

    def junk(self) -> str:
        """Lines a robust client must skip (sent when the ``malformed`` quirk is on)."""
        return "".join(
            self._line(line)
            for line in (
                ": keep-alive comment",
                "id: 7",
                "retry: 1000",
                "x-unknown-field: ignored",
                "this line has no colon",
                "",
                "data: {this is not json",
                "",
                "data:",
                "",
            )
        )

    def error_event(self, protocol: Protocol, fault: ErrorEvent) -> str:
        if protocol == "anthropic":
            return self._event("error", {"error": {"type": fault.kind, "message": fault.message}})
        error = {"message": fault.message, "type": fault.kind, "code": fault.code}
        return self._data({"error": error})


def error_body(protocol: Protocol | None, status: int, message: str) -> str:
    """An error body shaped like the protocol's."""
    if protocol == "anthropic":
        kind = "overloaded_error" if status == 529 else "api_error"
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}})
    return json.dumps({"error": {"message": message, "type": "fake_error", "code": status}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeLLM

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-reply is a scripted event here, not a server bug.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30  # an idle keep-alive connection ends eventually even if never closed

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record(self._recorded(None))
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            models = [{"id": name, "object": "model"} for name in owner.models]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._send_json(404, json.loads(error_body(None, 404, f"no route {self.path}")))

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0].rstrip("/")
        protocol: Protocol | None = None
        if path in ("/v1/chat/completions", "/chat/completions"):
            protocol = "openai"
        elif path in ("/v1/messages", "/messages"):
            protocol = "anthropic"
        request = self._recorded(body, protocol)
        owner = self.server.owner
        owner._record(request)
        if protocol is None:
            self._send_json(404, json.loads(error_body(None, 404, f"no route {self.path}")))
            return
        chosen = owner._choose(request)
        if chosen is None:
            message = (
                f"fake_llm: no rule matches the request (last message: "
                f"{request.last_role} {request.last_text[:80]!r})"
            )
            self._send_raw(400, error_body(protocol, 400, message).encode(), {})
            return
        rule, fault = chosen
        try:
            self._answer(protocol, request, rule, fault)
        except (ConnectionError, OSError):
            self.close_connection = True

    def _recorded(self, body: Any, protocol: Protocol | None = None) -> RecordedRequest:
        headers = {key.lower(): value for key, value in self.headers.items()}
        return RecordedRequest(
            method=self.command, path=self.path, headers=headers, body=body, protocol=protocol
        )

    def _answer(
        self, protocol: Protocol, request: RecordedRequest, rule: Rule, fault: Fault | None
    ) -> None:
        owner = self.server.owner
        if rule.delay and not owner._pause(rule.delay):
            self._drop()
            return
        if isinstance(fault, Drop):
            self._drop()
            return
        if isinstance(fault, Fail):
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            message = fault.message or f"fake failure {fault.status}"
            body = (
                fault.body
                if fault.body is not None
                else error_body(protocol, fault.status, message)
            )
            self._send_raw(fault.status, body.encode(), headers)
            return
        script = _Script(rule, request, owner._new_id)
        if not script.stream or "ignore_stream" in script.quirks:
            if isinstance(fault, Cut):
                self._drop()
                return
            whole = script.openai_whole() if protocol == "openai" else script.anthropic_whole()
            self._send_json(200, whole)
            return
        events = script.openai_events() if protocol == "openai" else script.anthropic_events()
        if "malformed" in script.quirks and events:
            events.insert(1, script.junk())
            events.insert(len(events) // 2, script.junk())
        self._stream(protocol, script, events, rule, fault)

    def _stream(
        self,
        protocol: Protocol,
        script: _Script,
        events: list[str],
        rule: Rule,
        fault: Fault | None,
    ) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        if "burst" in script.quirks and fault is None:
            events = ["".join(events)]
        for number, event in enumerate(events):
            if isinstance(fault, Cut) and number == fault.after_events:
                self._drop()
                return
            if isinstance(fault, ErrorEvent) and number == fault.after_events:
                self._chunk(script.error_event(protocol, fault).encode(), split=False)
                break
            pause = rule.gap if number else 0.0
            if isinstance(fault, Stall) and number == fault.after_events:
                pause += fault.seconds
            if pause and not owner._pause(pause):
                self._drop()
                return
            self._chunk(event.encode(), split="split_utf8" in script.quirks)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes, *, split: bool) -> None:
        parts = [data]
        if split:
            # Cut after the first byte of every multi-byte character.
            parts, start = [], 0
            for i, byte in enumerate(data):
                if byte >= 0xC0 and i + 1 > start:
                    parts.append(data[start : i + 1])
                    start = i + 1
            parts.append(data[start:])
        for part in parts:
            if part:
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.flush()

    def _send_json(self, status: int, payload: Any) -> None:
        self._send_raw(status, json.dumps(payload).encode(), {})

    def _send_raw(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        if "content-type" not in {key.lower() for key in headers}:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)


class FakeLLM:
    """The server; use as a context manager (or call :meth:`start` and :meth:`close`).

    Usage::

        with FakeLLM([
            Rule(contains="weather", tool_calls=[FakeToolCall(name="f", arguments={"at": "X"})]),
            Rule(role="tool", text="It is sunny."),
            Rule(text="Hello!", faults=[Fail(status=429, retry_after="0"), Cut(after_events=3)]),
        ]) as llm:
            provider = make_provider("openai", base_url=llm.base_url, api_key="k", model="m")
            ...
            assert llm.requests[0].body["stream"] is True

    Rules are tried in order; the first that matches the request (and has ``times`` left)
    answers. The i-th request a rule answers suffers ``faults[i]`` (``None`` = healthy), so
    ``faults=[Fail(status=500), Fail(status=500)]`` means "fail twice, then succeed".
    ``base_url`` ends in ``/v1``: OpenAI clients post to ``{base_url}/chat/completions``, and
    Anthropic clients that strip ``/v1`` (ours does) or use ``root_url`` reach ``/v1/messages``.
    Stdlib only; every wait in the server is bounded and wakes up when the server closes.

    Args:
        rules: tried in order for every chat request.
        models: names listed by ``GET /v1/models``.

    Attributes:
        base_url: ``http://127.0.0.1:<port>/v1``.
        root_url: ``http://127.0.0.1:<port>``.
    """

    def __init__(
        self, rules: Sequence[Rule] = (), *, models: Sequence[str] = ("fake-model",)
    ) -> None:
        self.rules: list[Rule] = list(rules)
        self.models = list(models)
        self._hits: dict[int, int] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._ids = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.root_url = ""
        self.base_url = ""

    def start(self) -> FakeLLM:
        """Listen on a free loopback port and serve in a daemon thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        port = server.server_address[1]
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/v1"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; wakes every paused reply and closes every open connection."""
        self._stopping.set()
        if self._server is None:
            return
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, rule: Rule) -> None:
        """Append a rule while serving."""
        with self._lock:
            self.rules.append(rule)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The requests to a chat endpoint (either protocol)."""
        return [r for r in self.requests if r.protocol is not None]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` requests arrived (or raise ``TimeoutError``)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"{len(self._requests)} of {count} requests after {timeout} s")
            return list(self._requests)

    # -- used by the handler ---------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    def _choose(self, request: RecordedRequest) -> tuple[Rule, Fault | None] | None:
        with self._lock:
            for position, rule in enumerate(self.rules):
                used = self._hits.get(position, 0)
                if rule.times is not None and used >= rule.times:
                    continue
                if rule.matches(request):
                    self._hits[position] = used + 1
                    fault = rule.faults[used] if used < len(rule.faults) else None
                    return rule, fault
        return None

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}fake{self._ids}"

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the server is closing meanwhile."""
        return not self._stopping.wait(seconds)

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)
