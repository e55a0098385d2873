from email.utils import formatdate

import pytest

from collet_nb.adapters.providers.failure import (
    http_error,
    is_retryable_status,
    parse_retry_after,
    server_message,
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


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": {"message": "bad model", "type": "invalid_request_error"}}', "bad model"),
        ('{"type": "error", "error": {"type": "x", "message": "too long"}}', "too long"),
        ('{"error": "model not found"}', "model not found"),
        ('{"object": "error", "message": "vllm says no", "code": 400}', "vllm says no"),
        ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        ("", "(empty body)"),
    ],
)
def test_the_server_message_is_found_in_every_usual_shape(body, expected):
    assert server_message(body) == expected


def make(status, body="{}", headers=None, api_key="sk-secret-123", retry_after_max=60.0):
    return http_error(
        provider="openai",
        status=status,
        body=body,
        headers=headers or {},
        url="http://h/v1/chat/completions",
        model="m",
        api_key=api_key,
        key_env="OPENAI_API_KEY",
        retry_after_max=retry_after_max,
        note="attempt 1 of 8",
    )


def test_an_echoed_key_is_masked_in_message_and_body():
    error = make(401, '{"error": {"message": "Incorrect API key provided: sk-secret-123"}}')
    assert "sk-secret-123" not in str(error)
    assert "sk-secret-123" not in error.body
    assert "COLLET_API_KEY" in str(error)
    assert "OPENAI_API_KEY" in str(error)


def test_a_retry_after_longer_than_the_cap_is_not_retried():
    error = make(429, headers={"Retry-After": "3600"})
    assert error.retryable is False
    assert error.retry_after == 3600.0


def test_a_retryable_error_says_which_attempt_it_was():
    error = make(503)
    assert error.retryable is True
    assert "attempt 1 of 8" in str(error)
