"""Every provider error path we can produce, on both wires, reads well: one or two lines, no
doubled punctuation, no raw HTML, never the API key, and it says what to do. (Invalid JSON
tool arguments are told to the model, not raised: test_streaming checks that message.)"""

import re

import pytest

from tests.adapters.providers.conftest import check_readable, free_port_url
from tests.support.fake_llm import Cut, ErrorEvent, Fail, FakeLLM, Rule, Stall

KEY = "sk-test-SECRET-4242"
KINDS = ["openai", "anthropic"]
NGINX_502 = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center>"
    "<h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n</body>\n</html>\n"
)
PLAIN_404 = (
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Error 404 (Not Found)!!1"
    "</title><style>body{margin:0}</style></head><body><p><b>404.</b> <ins>That's an error."
    "</ins><p>The requested URL <code>/v1/chat/completions</code> was not found on this "
    "server. <ins>That's all we know.</ins></body></html>"
)
LOGIN_PAGE = "<html><head><title>Sign in – Corp Proxy</title></head><body>…</body></html>"
HTML = {"content-type": "text/html; charset=utf-8"}


def said(message: str) -> str:
    """A message from the server, ending with a period as real ones do, echoing the key."""
    return f"{message} (key {KEY})."


def http(status: int, message: str = "", **fault: object) -> list[Rule]:
    faults = [Fail(status=status, message=said(message or f"status {status}"), **fault)] * 5
    return [Rule(text="never", faults=faults)]


# name: (rules, provider options); None rules: no server at all (see ``base_url``).
PATHS: dict[str, tuple[list[Rule] | None, dict[str, object]]] = {
    "400": (http(400, "max_tokens: 99999 > 8192, the maximum for this model"), {}),
    "401": (
        http(
            401,
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys",
        ),
        {},
    ),
    "403": (http(403, "Your organization does not have access to this model"), {}),
    "404 HTML": (
        [Rule(text="x", faults=[Fail(status=404, body=PLAIN_404, headers=HTML)])],
        {},
    ),
    "404 JSON": (http(404, "The model `gpt-9` does not exist or you do not have access to it"), {}),
    "408": (http(408, "Request timed out"), {}),
    "409": (http(409, "Conflict, please retry"), {}),
    "413": (http(413, "Request too large"), {}),
    "422": (
        [
            Rule(
                text="x",
                faults=[
                    Fail(
                        status=422,
                        body='{"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}',
                    )
                ],
            )
        ],
        {},
    ),
    "429": (http(429, "Rate limit reached for requests", retry_after="0"), {}),
    "429 long wait": (http(429, "Rate limit reached", retry_after="120"), {}),
    "500": (http(500, "The server had an error while processing your request"), {}),
    "502 HTML": (
        [Rule(text="x", faults=[Fail(status=502, body=NGINX_502, headers=HTML)] * 5)],
        {},
    ),
    "503": (http(503, "Service Unavailable"), {}),
    "529": (http(529, "Overloaded"), {}),
    "HTML 200": ([Rule(text="x", faults=[Fail(status=200, body=LOGIN_PAGE, headers=HTML)])], {}),
    "not JSON 200": (
        [Rule(text="x", faults=[Fail(status=200, body="not json at all")])],
        {},
    ),
    "connection refused": (None, {}),
    "DNS failure": (None, {}),
    "stall": (
        [Rule(text="hello " * 20, faults=[Stall(after_events=3, seconds=30)] * 5)],
        {"idle_timeout": 0.2, "retry_budget": 0.2},
    ),
    "stall before answering": (
        [Rule(text="hello", delay=30)],
        {"idle_timeout": 0.2, "retry_budget": 0.2},
    ),
    "broken stream": ([Rule(text="hello " * 20, faults=[Cut(after_events=3)] * 5)], {}),
    "SSE error event": ([Rule(text="hello " * 20, faults=[ErrorEvent(after_events=3)] * 5)], {}),
    "SSE fatal error event": (
        [
            Rule(
                text="hello " * 20,
                faults=[
                    ErrorEvent(
                        after_events=3,
                        kind="invalid_request_error",
                        message=said("prompt is too long: 210000 tokens > 200000 maximum"),
                        code=400,
                    )
                ],
            )
        ],
        {},
    ),
    "event too large": ([Rule(text="x" * 3000, chunk_size=3000)], {"max_event_bytes": 1024}),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", list(PATHS))
def test_every_error_path_reads_well(talk, kind, path):
    rules, options = PATHS[path]
    settings = {"api_key": KEY, "max_retries": 1, **options}
    if rules is None:
        url = free_port_url() if path == "connection refused" else "http://no-such.invalid/v1"
        result = talk(kind, url, **settings)
    else:
        with FakeLLM(rules) as llm:
            result = talk(kind, llm.base_url, **settings)
    assert result.error is not None, path
    check_readable(str(result.error), secrets=(KEY,))
    for retry in result.retries:
        assert KEY not in retry.detail
        check_readable(retry.detail + " Try again.", secrets=(KEY,))  # as a notice would add
        assert len(retry.reason) <= 40
        assert not re.search(r"[<>]", retry.reason)
