"""Credentials never show in logs, reprs, error messages or retry events."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable

import httpx
import pytest
import respx

from dhis2.auth import BasicAuth, TokenAuth
from dhis2.client import Client, RetryEvent, RetryPolicy
from dhis2.errors import Dhis2Error

from .conftest import API, BASE, PASSWORD, TOKEN

BASIC_B64 = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
SECRETS = (PASSWORD, TOKEN, BASIC_B64, f"ApiToken {TOKEN}", f"Basic {BASIC_B64}")


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret leaked in: {text[:300]}"


def _scenarios(echo: str) -> list[tuple[str, list[httpx.Response | Exception]]]:
    """(path, side effects) pairs that end in each error family; bodies echo the secret."""
    return [
        (
            "/a",
            [
                httpx.Response(503),
                httpx.ConnectError("[Errno 104] Connection reset by peer"),
                httpx.Response(502, html=f"<html><title>502 {echo}</title></html>"),
            ],
        ),
        ("/b", [httpx.Response(401, json={"httpStatusCode": 401, "message": f"Bad {echo}"})]),
        (
            "/c",
            [
                httpx.Response(
                    302, headers={"Location": "/dhis/dhis-web-commons/security/login.action"}
                )
            ],
        ),
        ("/d", [httpx.Response(500, json={"httpStatusCode": 500, "message": f"NPE for {echo}"})]),
        (
            "/e",
            [
                httpx.Response(
                    409, json={"httpStatusCode": 409, "message": echo, "errorCode": "E2012"}
                )
            ],
        ),
        ("/f", [httpx.Response(200, html=f"<html><title>Login {echo}</title></html>")]),
        ("/g", [httpx.Response(400, text=f"bad request with header {echo}")]),
        ("/h", [httpx.ReadTimeout("timed out")] * 3),
        ("/i", [httpx.ConnectError(f"[SSL: CERTIFICATE_VERIFY_FAILED] {echo}")]),
        ("/j", [httpx.Response(429, headers={"Retry-After": "1"})] * 3),
    ]


@pytest.mark.parametrize(
    ("auth", "echo"),
    [
        (BasicAuth("admin", PASSWORD), PASSWORD),
        (BasicAuth("admin", PASSWORD), f"Basic {BASIC_B64}"),
        (TokenAuth(TOKEN), f"ApiToken {TOKEN}"),
    ],
    ids=["basic-password", "basic-header", "token-header"],
)
def test_no_secret_anywhere(
    auth: BasicAuth | TokenAuth, echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[RetryEvent] = []
    errors: list[Dhis2Error] = []
    client = Client(
        f"{BASE}/api/",
        auth,
        retry=RetryPolicy(max_attempts=3, backoff_base=0),
        on_retry=events.append,
    )
    with respx.mock(base_url=API) as mock:
        for path, effects in _scenarios(echo):
            mock.get(path).side_effect = effects
            try:
                client.get_json(path, params={"fields": "id"})
            except Dhis2Error as exc:
                errors.append(exc)
                logging.getLogger("test").exception("transfer failed")  # as an app would log it
            else:
                pytest.fail(f"{path} should have failed")

    assert len(errors) == 10
    assert events, "scenarios with retries should have produced events"
    sent = [call.request.headers["Authorization"] for call in mock.calls]
    assert all(any(s in h for s in SECRETS) for h in sent)  # the secret *was* sent

    texts = [caplog.text, repr(client), str(client.auth), repr(client.auth)]
    for error in errors:
        texts += [str(error), repr(error), error.url, str(error.args), error.message]
        texts.append(str(error.web_message))
        texts.append("".join(traceback.format_exception(error)))
    for event in events:
        texts += [str(event), repr(event), event.reason, event.url]
    for text in texts:
        _assert_clean(text)


def test_echoed_secret_is_replaced_not_dropped(make_client: Callable[..., Client]) -> None:
    client = make_client()
    with respx.mock(base_url=API) as mock:
        mock.get("/me").respond(401, json={"httpStatusCode": 401, "message": f"bad {PASSWORD}"})
        with pytest.raises(Dhis2Error) as info:
            client.me()
    assert "bad ***" in str(info.value)


def test_retry_event_reason_is_scrubbed(retry_events: list[RetryEvent]) -> None:
    client = Client(
        BASE,
        TokenAuth(TOKEN),
        retry=RetryPolicy(max_attempts=2, backoff_base=0),
        on_retry=retry_events.append,
    )
    with respx.mock(base_url=API) as mock:
        mock.get("/me").side_effect = [httpx.Response(503), httpx.Response(200, json={})]
        client.me()
    assert retry_events[0].reason == "HTTP 503 Service Unavailable"
    _assert_clean(str(retry_events[0]))
