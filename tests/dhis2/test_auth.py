"""Credentials: the headers they produce, and that their secret never shows."""

from __future__ import annotations

import base64

import httpx
import pytest
import respx

from dhis2.auth import BasicAuth, TokenAuth, redact
from dhis2.client import Client

from .conftest import API, BASE, PASSWORD, TOKEN


def test_basic_header() -> None:
    headers: dict[str, str] = {}
    BasicAuth("admin", "district").apply(headers)
    assert headers == {"Authorization": "Basic " + base64.b64encode(b"admin:district").decode()}


def test_token_header() -> None:
    headers: dict[str, str] = {}
    TokenAuth(TOKEN).apply(headers)
    assert headers == {"Authorization": f"ApiToken {TOKEN}"}


@pytest.mark.parametrize("auth", [BasicAuth("admin", PASSWORD), TokenAuth(TOKEN)])
def test_repr_and_str_hide_the_secret(auth: BasicAuth | TokenAuth) -> None:
    for text in (repr(auth), str(auth), f"{auth}", repr([auth])):
        assert PASSWORD not in text
        assert TOKEN not in text
        assert TOKEN[6:] not in text
        assert "***" in text


def test_basic_repr_shows_username() -> None:
    assert "admin" in repr(BasicAuth("admin", PASSWORD))


@pytest.mark.parametrize("bad", ["", "   ", "d2pat_abc def", "d2pat_abc\n"])
def test_token_validation(bad: str) -> None:
    with pytest.raises(ValueError):
        TokenAuth(bad)


def test_basic_validation() -> None:
    with pytest.raises(ValueError, match="user name is empty"):
        BasicAuth("", "x")
    with pytest.raises(ValueError, match="':'"):
        BasicAuth("a:b", "x")


def test_secrets_cover_raw_and_encoded_forms() -> None:
    auth = BasicAuth("admin", PASSWORD)
    encoded = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    assert set(auth.secrets()) == {PASSWORD, encoded}
    assert redact(f"x {PASSWORD} y {encoded}", auth.secrets()) == "x *** y ***"


def test_client_sends_basic_auth_and_api_headers() -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/me").respond(json={"id": "xE7jOejl9FI"})
        with Client(BASE, BasicAuth("admin", "district")) as client:
            assert client.me() == {"id": "xE7jOejl9FI"}
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Basic YWRtaW46ZGlzdHJpY3Q="
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-Requested-With"] == "XMLHttpRequest"
    assert request.headers["User-Agent"].startswith("dhis2sync/")
    assert request.headers["User-Agent"].endswith("(+httpx)")
    assert "fields" not in request.url.params


def test_client_sends_api_token() -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/me", params__contains={"fields": "id,username"}).respond(json={})
        with Client(BASE, TokenAuth(TOKEN), user_agent="custom/1") as client:
            client.me(fields=["id", "username"])
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"ApiToken {TOKEN}"
    assert request.headers["User-Agent"] == "custom/1"


def test_client_without_auth_sends_no_authorization() -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/system/ping").respond(text="pong")
        with Client(BASE, None) as client:
            assert client.ping() is True
    assert "Authorization" not in route.calls.last.request.headers


def test_client_repr_hides_secret() -> None:
    with Client(BASE, BasicAuth("admin", PASSWORD)) as client:
        assert PASSWORD not in repr(client)
        assert BASE in repr(client)
    with Client(BASE, TokenAuth(TOKEN)) as client:
        assert TOKEN not in repr(client)


def test_mock_transport_is_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"version": "2.40.4.1"})

    with Client(BASE, TokenAuth(TOKEN), transport=httpx.MockTransport(handler)) as client:
        assert client.system_info() == {"version": "2.40.4.1"}
    assert str(seen[0].url) == f"{API}/system/info"
