"""Mapping of HTTP answers and network failures to typed errors with actionable messages."""

from __future__ import annotations

import pickle
import ssl
from collections.abc import Callable

import httpx
import pytest
import respx

from dhis2.client import Client
from dhis2.errors import (
    AuthenticationFailed,
    BadRequest,
    Conflict,
    Dhis2Error,
    Dhis2Timeout,
    NotDhis2,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
    TlsError,
    Unreachable,
    is_login_redirect,
    web_message_text,
)

from .conftest import API, load, web_message

LOGIN_HTML = """<!DOCTYPE html>
<html><head><title>DHIS 2</title></head>
<body><form id="loginForm" action="../../dhis-web-commons-security/login.action" method="post">
<input type="text" id="j_username" name="j_username"></form></body></html>"""

BASE_URL_ADVICE = "check the base URL (include the context path like /dhis)"


def _raises(client: Client, response: httpx.Response, error: type[Dhis2Error]) -> Dhis2Error:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/dataSets").mock(return_value=response)
        with pytest.raises(error) as info:
            client.get_json("dataSets", params={"fields": "id"})
    assert route.call_count == 1
    assert type(info.value) is error
    return info.value


def test_401_is_authentication_failed(client: Client) -> None:
    body = web_message(401, message="Account locked")
    err = _raises(client, httpx.Response(401, json=body), AuthenticationFailed)
    assert err.status_code == 401
    assert err.web_message == body
    assert "Account locked" in str(err)
    assert "user name and password or the personal access token" in str(err)
    assert err.url == f"{API}/dataSets?fields=id"


def test_401_from_a_proxy_with_html_is_authentication_failed(client: Client) -> None:
    err = _raises(
        client,
        httpx.Response(401, html="<html><title>401 Authorization Required</title>"),
        AuthenticationFailed,
    )
    assert err.web_message is None
    assert "401 Authorization Required" in str(err)


@pytest.mark.parametrize(
    "location",
    [
        "https://dhis.example.org/dhis/dhis-web-commons/security/login.action",
        "/dhis/dhis-web-commons/security/login.action",
        "https://dhis.example.org/dhis/dhis-web-login/",
        "https://dhis.example.org/dhis/login/",
        "https://dhis.example.org/login",
    ],
)
def test_redirect_to_login_page_is_authentication_failed(client: Client, location: str) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(f"{API}/me").respond(302, headers={"Location": location})
        login = mock.route(path__regex=r".*login.*").respond(200, html=LOGIN_HTML)
        with pytest.raises(AuthenticationFailed) as info:
            client.me()
    assert route.call_count == 1
    assert login.call_count == 0  # the redirect was not followed
    assert info.value.status_code == 302
    assert "login page" in str(info.value)


def test_other_redirect_is_not_followed_and_explained(client: Client) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/me").respond(301, headers={"Location": "https://other.example.org/dhis/api/me"})
        with pytest.raises(NotDhis2) as info:
            client.me()
    assert "redirected" in str(info.value)
    assert "https://other.example.org/dhis/api/me" in str(info.value)
    assert BASE_URL_ADVICE in str(info.value)


def test_is_login_redirect() -> None:
    assert is_login_redirect("http://h/dhis-web-commons/security/login.action")
    assert is_login_redirect("/login/")
    assert not is_login_redirect("https://h/dhis/api/me")
    assert not is_login_redirect("https://h/dhis/api/loginConfig")
    assert not is_login_redirect(None)


def test_403_is_permission_denied(client: Client) -> None:
    body = load("webmessage-403-forbidden.docs-2.40.json")
    err = _raises(client, httpx.Response(403, json=body), PermissionDenied)
    assert err.web_message == body
    assert "You don't have the proper permissions to read objects of this type." in str(err)
    assert "missing authority" in str(err)
    assert "authorities" in str(err)


def test_404_is_not_found_with_error_code(client: Client) -> None:
    body = web_message(404, message="DataSet with id xyz could not be found.", errorCode="E1005")
    err = _raises(client, httpx.Response(404, json=body), NotFound)
    assert err.error_code == "E1005"
    assert "DataSet with id xyz could not be found." in str(err)
    assert "(error code E1005)" in str(err)


def test_409_is_conflict_with_message_and_error_code(client: Client) -> None:
    body = web_message(
        409,
        message="User is not allowed to view org unit: `ImspTQPwCqd`",
        errorCode="E2012",
    )
    err = _raises(client, httpx.Response(409, json=body), Conflict)
    assert err.web_message == body
    assert err.error_code == "E2012"
    assert "User is not allowed to view org unit: `ImspTQPwCqd`" in str(err)
    assert "E2012" in str(err)
    assert err.retryable is False


def test_409_import_answer_raised_when_not_expected(client: Client) -> None:
    body = load("dataValueSets-import-webmessage-409-warning.android-fixture.json")
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").respond(409, json=body)
        with pytest.raises(Conflict) as info:
            client.post_json("dataValueSets", {"dataValues": []}, ok_statuses=())
    assert info.value.web_message == body
    assert "First conflict: Data value is not a positive integer" in str(info.value)


def test_409_html_body_with_ok_status_still_raises_conflict(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").respond(409, html="<html>conflict</html>")
        with pytest.raises(Conflict):
            client.post_json("dataValueSets", {"dataValues": []})


def test_500_is_server_error_not_retryable(client: Client) -> None:
    body = load("webmessage-500.android-fixture.json")
    err = _raises(client, httpx.Response(500, json=body), ServerError)
    assert err.retryable is False
    assert "A wild internal server error appeared!" in str(err)
    assert "server log" in str(err)


@pytest.mark.parametrize("status", [400, 405, 406, 415])
def test_other_4xx_is_bad_request(client: Client, status: int) -> None:
    err = _raises(client, httpx.Response(status, json={"message": "Bad thing"}), BadRequest)
    assert err.status_code == status
    assert "Bad thing" in str(err)


def test_413_is_payload_too_large(client: Client) -> None:
    err = _raises(
        client,
        httpx.Response(413, html="<html><title>413 Request Entity Too Large</title>"),
        PayloadTooLarge,
    )
    assert isinstance(err, BadRequest)
    assert "smaller batches" in str(err)


def test_html_login_page_with_200_is_not_dhis2(client: Client) -> None:
    err = _raises(client, httpx.Response(200, html=LOGIN_HTML), NotDhis2)
    assert "HTML page" in str(err)
    assert "does not point at a DHIS2 Web API" in str(err)
    assert BASE_URL_ADVICE in str(err)


def test_invalid_json_with_200_is_not_dhis2(client: Client) -> None:
    response = httpx.Response(200, text="{not json", headers={"Content-Type": "application/json"})
    err = _raises(client, response, NotDhis2)
    assert "not JSON" in str(err)
    assert BASE_URL_ADVICE in str(err)


def test_html_502_from_proxy_does_not_crash(client: Client) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx/1.25</body></html>"
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").respond(502, html=html)
        with pytest.raises(ServerError) as info:
            client.system_info()
    assert info.value.status_code == 502
    assert info.value.web_message is None
    assert "HTTP 502 Bad Gateway" in str(info.value)


def test_tls_error_from_message(client: Client) -> None:
    failure = httpx.ConnectError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
        "(_ssl.c:1006)"
    )
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info").mock(side_effect=failure)
        with pytest.raises(TlsError) as info:
            client.system_info()
    assert route.call_count == 1  # not retried: a bad certificate does not heal
    assert info.value.retryable is False
    assert info.value.status_code is None
    assert "certificate" in str(info.value)
    assert "turn off TLS verification" in str(info.value)


def test_tls_error_from_exception_chain(make_client: Callable[..., Client]) -> None:
    """httpcore raises ConnectError *from* the ssl error; the message alone says nothing."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed: Hostname mismatch")
        except ssl.SSLError as exc:
            raise httpx.ConnectError("handshake failed", request=request) from exc

    client = make_client(transport=httpx.MockTransport(handler))
    with pytest.raises(TlsError) as info:
        client.system_info()
    assert len(calls) == 1
    assert "Hostname mismatch" in str(info.value)


def test_unreachable_messages(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").mock(
            side_effect=httpx.ConnectError("[Errno -2] Name or service not known")
        )
        with pytest.raises(Unreachable) as info:
            client.system_info()
    assert info.value.retryable is True
    assert "DNS lookup failed" in str(info.value)
    assert "host name" in str(info.value)


def test_timeout_message(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").mock(side_effect=httpx.ReadTimeout("timed out"))
        with pytest.raises(Dhis2Timeout) as info:
            client.system_info()
    assert "did not answer within 60 s" in str(info.value)
    assert "smaller batches" in str(info.value)


def test_error_url_never_has_credentials() -> None:
    err = Dhis2Error("x", url="https://admin:district@host.org/dhis/api/me")
    assert err.url == "https://host.org/dhis/api/me"


def test_errors_survive_pickling() -> None:
    body = {"httpStatusCode": 409, "message": "m", "errorCode": "E2012"}
    err = Conflict("DHIS2 refused", url="https://h/api/x", status_code=409, web_message=body)
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - round trip of our own object
    assert type(copy) is Conflict
    assert (copy.message, copy.url, copy.status_code, copy.web_message, copy.retryable) == (
        "DHIS2 refused",
        "https://h/api/x",
        409,
        body,
        False,
    )


def test_web_message_text() -> None:
    assert web_message_text({"message": "Boom", "errorCode": "E1"}) == "Boom (error code E1)"
    assert web_message_text("nope") is None
    assert web_message_text({}) is None


def test_empty_and_text_bodies(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.delete("/completeDataSetRegistrations").respond(204)
        mock.get("/system/ping").respond(200, text="pong")
        deleted = client.delete(
            "completeDataSetRegistrations", params={"ds": "BfMAe6Itzgt", "pe": "202401"}
        )
        text = client.request("GET", "system/ping", expect_json=False)
    assert (deleted.status_code, deleted.body) == (204, None)
    assert text.body == "pong"


def test_ping_false_when_down(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/ping").mock(side_effect=httpx.ConnectError("refused"))
        assert client.ping() is False
    assert route.call_count == 1


def test_ping_false_when_not_pong(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/system/ping").respond(200, html=LOGIN_HTML)
        assert client.ping() is False


def test_timeouts_reach_httpx(make_client: Callable[..., Client]) -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={})

    client = make_client(
        transport=httpx.MockTransport(handler), timeout=45.0, connect_timeout=7.0, verify=False
    )
    client.get_json("system/info")
    client.request("POST", "dataValueSets", json={"dataValues": []}, timeout=600)
    assert seen[0] == {"connect": 7.0, "read": 45.0, "write": 45.0, "pool": 45.0}
    assert seen[1] == {"connect": 7.0, "read": 600, "write": 600, "pool": 600}
