"""Retry behaviour: what is retried, what is not, waits, events and the final error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from dhis2.client import Client, RetryEvent, RetryPolicy
from dhis2.errors import (
    AuthenticationFailed,
    BadRequest,
    Conflict,
    Dhis2Error,
    Dhis2Timeout,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    Unreachable,
)
from dhis2.retry import Decision, Failure, parse_retry_after

from .conftest import API, BASE, load

INFO = {"version": "2.40.4.1"}


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS lookup failed"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), "connection reset"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "server closed the connection without a valid answer",
        ),
        (httpx.ReadTimeout("timed out"), "read timeout"),
        (httpx.ConnectTimeout("timed out"), "connect timeout"),
    ],
)
def test_network_failures_are_retried(
    client: Client,
    retry_events: list[RetryEvent],
    failure: Exception,
    reason: str,
) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/system/info")
        route.side_effect = [failure, httpx.Response(200, json=INFO)]
        assert client.system_info() == INFO
    assert route.call_count == 2
    assert len(retry_events) == 1
    event = retry_events[0]
    assert (event.attempt, event.max_attempts, event.method) == (1, 3, "GET")
    assert event.url == f"{API}/system/info"
    assert event.reason == reason
    assert event.wait_seconds == 0


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (502, "HTTP 502 Bad Gateway"),
        (503, "HTTP 503 Service Unavailable"),
        (504, "HTTP 504 Gateway Timeout"),
        (429, "HTTP 429 Too Many Requests"),
    ],
)
def test_transient_statuses_are_retried(
    client: Client, retry_events: list[RetryEvent], status: int, reason: str
) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/system/info")
        route.side_effect = [
            httpx.Response(status, text=html, headers={"Content-Type": "text/html"}),
            httpx.Response(status),
            httpx.Response(200, json=INFO),
        ]
        assert client.system_info() == INFO
    assert route.call_count == 3
    assert [e.reason for e in retry_events] == [reason, reason]
    assert [e.attempt for e in retry_events] == [1, 2]


def test_post_is_retried_with_the_same_body(client: Client) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.post("/dataValueSets")
        route.side_effect = [httpx.Response(503), httpx.Response(200, json={"status": "OK"})]
        client.post_json("dataValueSets", {"dataValues": [{"value": "1"}]})
    assert route.call_count == 2
    assert route.calls[0].request.content == route.calls[1].request.content
    assert b'"value":"1"' in route.calls[1].request.content.replace(b" ", b"")


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequest),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Conflict),
        (500, ServerError),
        (501, ServerError),
    ],
)
def test_deterministic_statuses_are_not_retried(
    client: Client, retry_events: list[RetryEvent], status: int, error_class: type[Dhis2Error]
) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/dataSets/BfMAe6Itzgt").respond(
            status, json={"httpStatusCode": status, "status": "ERROR", "message": "nope"}
        )
        with pytest.raises(error_class) as info:
            client.get_json("dataSets/BfMAe6Itzgt")
    assert route.call_count == 1
    assert retry_events == []
    assert info.value.status_code == status
    assert info.value.retryable is False


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.Response(503), ServerError),
        (httpx.Response(502), ServerError),
        (httpx.Response(504), ServerError),
        (httpx.Response(429), RateLimited),
        (httpx.ConnectError("[Errno 111] Connection refused"), Unreachable),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), Unreachable),
        (httpx.ReadTimeout("timed out"), Dhis2Timeout),
    ],
)
def test_exhausted_attempts_raise_the_typed_error_of_the_last_failure(
    client: Client,
    retry_events: list[RetryEvent],
    failure: httpx.Response | Exception,
    error_class: type[Dhis2Error],
) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/system/info")
        route.side_effect = [failure, failure, failure]
        with pytest.raises(error_class) as info:
            client.system_info()
    assert route.call_count == 3
    assert len(retry_events) == 2
    assert info.value.retryable is True
    assert info.value.url.startswith(f"{API}/system/info")


def test_last_failure_decides_the_error(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").side_effect = [
            httpx.ConnectError("[Errno 111] Connection refused"),
            httpx.Response(502),
            httpx.Response(503),
        ]
        with pytest.raises(ServerError) as info:
            client.system_info()
    assert info.value.status_code == 503


def _slept(retry: RetryPolicy, answers: list[httpx.Response], **kwargs: Any) -> list[float]:
    """What a client with `retry` waited while GET system/info got `answers` in turn (the
    waits are recorded, not taken)."""
    slept: list[float] = []
    client = Client(BASE, None, retry=retry, sleep=slept.append, **kwargs)
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/system/info").side_effect = answers
        client.system_info()
    return slept


def test_retry_after_seconds_is_honoured(retry_events: list[RetryEvent]) -> None:
    slept = _slept(
        RetryPolicy(max_attempts=2, backoff_base=1.0, backoff_max=30.0),
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=INFO)],
        on_retry=retry_events.append,
    )
    assert slept == [7.0]
    assert retry_events[0].wait_seconds == 7.0
    assert retry_events[0].reason == "HTTP 429 Too Many Requests"


@pytest.mark.parametrize(
    ("retry", "answers", "waits"),
    [
        pytest.param(
            RetryPolicy(max_attempts=2, backoff_base=1.0, backoff_max=30.0, retry_after_max=60),
            [httpx.Response(429, headers={"Retry-After": "86400"}), httpx.Response(200, json=INFO)],
            [60.0],
            id="absurd-retry-after-is-capped",
        ),
        pytest.param(
            RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=1.5, jitter=False),
            [httpx.Response(503)] * 3 + [httpx.Response(200, json=INFO)],
            [0.5, 1.0, 1.5],
            id="backoff-between-attempts-without-retry-after",
        ),
        pytest.param(
            RetryPolicy(max_attempts=3, backoff_base=0),
            [
                httpx.Response(429, headers={"Retry-After": "30"}),
                httpx.Response(503),
                httpx.Response(200, json=INFO),
            ],
            [],
            id="backoff-base-zero-never-sleeps",
        ),
        pytest.param(
            RetryPolicy(max_attempts=2, backoff_base=1.0),
            [httpx.Response(503, headers={"Retry-After": "9"}), httpx.Response(200, json=INFO)],
            [9.0],
            id="retry-after-is-honoured-on-503-too",
        ),
    ],
)
def test_waits_between_attempts(
    retry: RetryPolicy, answers: list[httpx.Response], waits: list[float]
) -> None:
    assert _slept(retry, answers) == waits


def test_retry_policy_backoff_math() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=30.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 16, 30]
    jittered = RetryPolicy(backoff_base=1.0, backoff_max=30.0, jitter=True)
    assert jittered.backoff(3, rand=lambda: 0.25) == 1.0
    assert jittered.backoff(10, rand=lambda: 0.5) == 15.0
    assert RetryPolicy(backoff_base=0).backoff(5) == 0
    assert policy.wait_for(1, retry_after=12.0) == 12.0


def test_full_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(backoff_base=2.0, backoff_max=10.0)
    waits = [policy.backoff(3) for _ in range(200)]
    assert all(0 <= w <= 8.0 for w in waits)
    assert len(set(waits)) > 1


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(backoff_base=-1)


def test_parse_retry_after() -> None:
    now = datetime(2024, 7, 26, 18, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Fri, 26 Jul 2024 18:00:45 GMT", now=now) == 45.0
    assert parse_retry_after("Fri, 26 Jul 2024 17:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_retry_on_empty_returns_504_at_once(client: Client, retry_events: list[RetryEvent]) -> None:
    """The transfer engine splits a chunk on 504 instead of resending it."""
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.post("/dataValueSets").respond(
            504, text="<html><title>504 Gateway Time-out</title></html>"
        )
        with pytest.raises(ServerError) as info:
            client.post_json("dataValueSets", {"dataValues": []}, retry_on=())
    assert route.call_count == 1
    assert retry_events == []
    assert info.value.status_code == 504
    assert "smaller batches" in str(info.value)


def test_retry_on_can_add_a_status(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info")
        route.side_effect = [httpx.Response(500), httpx.Response(200, json=INFO)]
        assert client.request("GET", "system/info", retry_on={500}).body == INFO
    assert route.call_count == 2


def test_attempts_one_disables_network_retries(
    client: Client, retry_events: list[RetryEvent]
) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info")
        route.side_effect = httpx.ConnectError("[Errno 111] Connection refused")
        with pytest.raises(Unreachable):
            client.request("GET", "system/info", attempts=1)
    assert route.call_count == 1
    assert retry_events == []


def test_ok_status_is_not_retried_and_returned(client: Client) -> None:
    body = {"httpStatusCode": 409, "status": "WARNING", "response": {"status": "WARNING"}}
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").respond(409, json=body)
        response = client.post_json("dataValueSets", {"dataValues": []})
    assert route.call_count == 1
    assert response.status_code == 409
    assert response.body == body


def test_retry_is_logged_at_warning(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dhis2.client")
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").side_effect = [httpx.Response(503), httpx.Response(200, json={})]
        client.system_info()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "dhis2.client"
    assert "HTTP 503 Service Unavailable" in warnings[0].getMessage()
    assert "attempt 1 of 3" in warnings[0].getMessage()


def test_on_retry_exception_stops_the_request(make_client: Callable[..., Client]) -> None:
    class Cancelled(Exception):
        pass

    def cancel(event: RetryEvent) -> None:
        raise Cancelled(event.reason)

    client = make_client(on_retry=cancel)
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info").respond(503)
        with pytest.raises(Cancelled):
            client.system_info()
    assert route.call_count == 1


# ---- the per-call failure hook -------------------------------------------------------------


def test_exhausted_error_says_how_many_attempts_were_made(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").respond(503)
        with pytest.raises(ServerError) as info:
            client.system_info()
    assert info.value.attempts == 3


def test_hook_sees_every_failure_with_the_wait_it_will_get(
    make_client: Callable[..., Client], retry_events: list[RetryEvent]
) -> None:
    slept: list[float] = []
    client = make_client(
        retry=RetryPolicy(max_attempts=3, backoff_base=1.0, jitter=False), sleep=slept.append
    )
    seen: list[Failure] = []

    def hook(failure: Failure) -> Decision | None:
        seen.append(failure)
        return None  # the client's default

    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").side_effect = [
            httpx.Response(429, headers={"Retry-After": "20"}),
            httpx.Response(503),
            httpx.Response(200, json=INFO),
        ]
        assert client.request("GET", "system/info", on_failure=hook).body == INFO
    # Retry-After 20 on the first failure; exponential 1 * 2**(2-1) = 2 on the second.
    assert [(f.attempt, f.max_attempts, f.wait_seconds, f.retry_after) for f in seen] == [
        (1, 3, 20.0, 20.0),
        (2, 3, 2.0, None),
    ]
    assert [f.reason for f in seen] == [
        "HTTP 429 Too Many Requests",
        "HTTP 503 Service Unavailable",
    ]
    assert [type(f.error) for f in seen] == [RateLimited, ServerError]
    assert all(f.default is Decision.RETRY and not f.last for f in seen)
    assert slept == [20.0, 2.0]
    assert [e.wait_seconds for e in retry_events] == [20.0, 2.0]


def test_hook_can_fail_a_retryable_status_at_once(
    client: Client, retry_events: list[RetryEvent]
) -> None:
    seen: list[Failure] = []

    def hook(failure: Failure) -> Decision:
        seen.append(failure)
        return Decision.FAIL

    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").respond(504)
        with pytest.raises(ServerError) as info:
            client.request("POST", "dataValueSets", json={}, on_failure=hook)
    assert route.call_count == 1 and retry_events == []
    assert info.value.status_code == 504 and info.value.attempts == 1
    assert len(seen) == 1 and seen[0].default is Decision.RETRY


def test_hook_can_fail_a_network_error_at_once(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets")
        route.side_effect = httpx.ReadTimeout("timed out")
        with pytest.raises(Dhis2Timeout):
            client.request("POST", "dataValueSets", json={}, on_failure=lambda f: Decision.FAIL)
    assert route.call_count == 1


def test_hook_can_retry_a_500_within_the_attempt_limit(
    client: Client, retry_events: list[RetryEvent]
) -> None:
    body = load("webmessage-500.android-fixture.json")
    seen: list[Failure] = []

    def hook(failure: Failure) -> Decision:
        seen.append(failure)
        return Decision.RETRY

    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").respond(500, json=body)
        with pytest.raises(ServerError) as info:
            client.request("POST", "dataValueSets", json={}, on_failure=hook)
    assert route.call_count == 3  # max_attempts of the policy, not more
    assert [f.default for f in seen] == [Decision.FAIL] * 3  # a 500 is not retried by default
    assert [f.last for f in seen] == [False, False, True]
    assert len(retry_events) == 2
    assert info.value.attempts == 3 and info.value.web_message == body


def test_a_500_stays_unretried_without_a_hook(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").respond(
            500, json=load("webmessage-500.android-fixture.json")
        )
        with pytest.raises(ServerError):
            client.post_json("dataValueSets", {"dataValues": []})
    assert route.call_count == 1


def test_what_the_hook_raises_propagates(client: Client) -> None:
    class Cancelled(Exception):
        pass

    def hook(failure: Failure) -> Decision:
        raise Cancelled(failure.reason)

    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info").respond(503)
        with pytest.raises(Cancelled, match="HTTP 503"):
            client.request("GET", "system/info", on_failure=hook)
    assert route.call_count == 1
