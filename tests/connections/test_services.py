"""Connection test and client_for, against respx-mocked DHIS2 answers taken from real samples."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
import respx
from cryptography.fernet import Fernet

from connections import services
from connections.models import Instance
from connections.services import client_for
from tests.conftest import DEST_TOKEN, SOURCE_PASSWORD
from tests.samples import load_sample

ME = {"id": "xE7jOejl9FI", "username": "admin", "name": "John Traore"}


sample = load_sample  # the short name these tests use


@respx.mock
def test_basic_auth_connection_stores_version(source_instance: Instance) -> None:
    info = respx.get("https://source.example.org/dhis/api/system/info").mock(
        return_value=httpx.Response(200, json=sample("system-info-2.40.4.1.json"))
    )
    respx.get("https://source.example.org/dhis/api/me").mock(
        return_value=httpx.Response(200, json=ME)
    )

    result = services.test_connection(source_instance)

    assert result.ok, result.message
    assert result.version == "2.40.4.1"
    assert "2.40.4.1" in result.message and "admin" in result.message
    sent = info.calls.last.request.headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"admin:{SOURCE_PASSWORD}".encode()).decode()
    source_instance.refresh_from_db()
    assert source_instance.version == "2.40.4.1"
    assert source_instance.last_check_ok is True
    assert source_instance.version_checked_at is not None


@respx.mock
def test_token_auth_sends_apitoken_header(destination_instance: Instance) -> None:
    info = respx.get("https://national.example.org/api/system/info").mock(
        return_value=httpx.Response(200, json=sample("system-info-2.41.0.1.json"))
    )
    respx.get("https://national.example.org/api/me").mock(return_value=httpx.Response(200, json=ME))
    result = services.test_connection(destination_instance)
    assert result.ok and result.version == "2.41.0.1"
    assert info.calls.last.request.headers["Authorization"] == f"ApiToken {DEST_TOKEN}"


@respx.mock
def test_wrong_credentials_are_reported_and_kept_on_the_instance(source_instance: Instance) -> None:
    respx.get("https://source.example.org/dhis/api/system/info").mock(
        return_value=httpx.Response(
            401,
            json={"httpStatus": "Unauthorized", "httpStatusCode": 401, "status": "ERROR",
                  "message": "Unauthorized"},
        )
    )  # fmt: skip
    result = services.test_connection(source_instance)
    assert not result.ok
    assert result.version is None
    assert "password" in result.message.lower() or "credential" in result.message.lower()
    source_instance.refresh_from_db()
    assert source_instance.last_check_ok is False
    assert source_instance.last_check_message == result.message


@respx.mock
def test_unreachable_host_gives_readable_message(source_instance: Instance) -> None:
    respx.get("https://source.example.org/dhis/api/system/info").mock(
        side_effect=httpx.ConnectError("Name or service not known")
    )
    result = services.test_connection(source_instance)
    assert not result.ok
    assert "source.example.org" in result.message


def test_undecryptable_secret_is_a_message_not_a_crash(settings, source_instance: Instance) -> None:
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    result = services.test_connection(source_instance)
    assert not result.ok
    assert "ENCRYPTION_KEYS" in result.message


@respx.mock
def test_secrets_never_logged(source_instance: Instance, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    respx.get("https://source.example.org/dhis/api/system/info").mock(
        side_effect=[httpx.Response(503, text="<html>busy</html>")] * 5
    )
    result = services.test_connection(source_instance)
    assert not result.ok
    assert SOURCE_PASSWORD not in caplog.text
    assert SOURCE_PASSWORD not in result.message
    client = client_for(source_instance)
    assert SOURCE_PASSWORD not in repr(client)
