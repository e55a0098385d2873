from email.utils import formatdate

import pytest

from collet_nb.adapters.providers.failure import (
    http_failure,
    is_retryable_status,
    parse_retry_after,
    sentences,
    summarize_body,
)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (409, True),
        (429, True),
        (500, True),
        (503, True),
        (529, True),
        (400, False),
        (401, False),
        (404, False),
        (422, False),
    ],
)
def test_only_transient_statuses_are_retryable(status, retryable):
    assert is_retryable_status(status) is retryable


def test_retry_after_in_seconds():
    assert parse_retry_after({"Retry-After": "7"}) == 7.0


def test_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now=now) == 30.0


def test_retry_after_ms_wins_over_retry_after():
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25


def test_unreadable_or_absent_retry_after_is_none():
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_a_past_date_means_no_wait():
    assert parse_retry_after({"Retry-After": "Mon, 01 Jan 2001 00:00:00 GMT"}) == 0.0


NGINX_502 = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center>"
    "<h1>502 Bad Gateway</h1></center><hr><center>nginx/1.25.3</center></body></html>"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": {"message": "bad model", "type": "invalid_request_error"}}', "bad model"),
        ('{"type": "error", "error": {"type": "x", "message": "too long"}}', "too long"),
        ('{"error": "model not found"}', "model not found"),
        ('{"object": "error", "message": "vllm says no", "code": 400}', "vllm says no"),
        ('{"detail": "Not Found"}', "Not Found"),
        (
            '{"detail": [{"loc": ["body", "model"], "msg": "field required", "type": "x"}]}',
            "body.model: field required",
        ),
        ('{"title": "Bad Request", "status": 400}', "Bad Request"),
        (NGINX_502, 'an HTML page ("502 Bad Gateway")'),
        (
            "<html><body><h2>Access &amp; denied</h2><p>go away</p></body></html>",
            'an HTML page ("Access & denied")',
        ),
        ("<html><body><p>nothing to name</p></body></html>", "an HTML page"),
        (
            "upstream connect error\nor disconnect/reset before headers",
            "upstream connect error or disconnect/reset before headers",
        ),
        ("", "an empty body"),
    ],
)
def test_a_body_is_summarised_to_what_it_says(body, expected):
    assert summarize_body(body) == expected


def test_a_long_body_is_cut_at_a_word_near_200_characters():
    said = summarize_body("word " * 400)
    assert len(said) <= 200
    assert said.endswith("word…")


def test_html_is_recognised_by_its_content_type_too():
    assert summarize_body("<p>hi</p>", "text/html; charset=utf-8") == "an HTML page"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("a thing failed.", "do this."), "a thing failed. Do this."),
        (("it broke: keys..", "set X"), "it broke: keys. Set X."),
        (("really?", "yes"), "really? Yes."),
        (("cut…", ""), "cut…"),
        (("spaced  out ;", " next :"), "spaced out. Next."),
    ],
)
def test_sentences_end_once_and_start_with_a_capital(parts, expected):
    assert sentences(*parts) == expected


def make(status, body="{}", headers=None, api_key="sk-secret-123"):
    return http_failure(
        provider="openai",
        status=status,
        body=body,
        headers=headers or {},
        url="http://h/v1/chat/completions",
        model="m",
        api_key=api_key,
        key_env="OPENAI_API_KEY",
    )


def test_an_echoed_key_is_masked_in_message_and_body():
    body = (
        '{"error": {"message": "Incorrect API key provided: sk-secret-123. You can find your '
        'API key at https://platform.openai.com/account/api-keys."}}'
    )
    error = make(401, body).error()
    assert "sk-secret-123" not in str(error)
    assert "sk-secret-123" not in error.body
    assert "COLLET_API_KEY" in str(error)
    assert "OPENAI_API_KEY" in str(error)
    assert "api-keys. The API key was refused" in str(error)  # was "api-keys.. The API key"


def test_a_retryable_status_keeps_the_wait_it_asks_for():
    failure = make(429, headers={"Retry-After": "7"})
    assert failure.retryable is True
    assert failure.retry_after == 7.0
    assert failure.reason == "rate limited (HTTP 429)"


def test_an_html_page_whose_title_repeats_the_status_is_not_quoted():
    error = make(502, NGINX_502, headers={"content-type": "text/html"}).error()
    assert str(error) == (
        "openai returned HTTP 502 Bad Gateway for http://h/v1/chat/completions: an HTML page."
    )
