"""Shared helpers for the DHIS2 client tests: sample bodies and a client with instant retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import pytest

from dhis2.auth import BasicAuth, TokenAuth
from dhis2.client import Client, RetryEvent, RetryPolicy
from tests.samples import load_sample

BASE = "https://dhis.example.org/dhis"
API = f"{BASE}/api"
PASSWORD = "S3cret-Pa55word!"
TOKEN = "d2pat_Xy7kQz9PqLmN3vB8wR2tY6uI0oA5sD1f4242424242"


load = load_sample  # the short name these tests use


def web_message(code: int, status: str = "ERROR", **fields: Any) -> dict[str, Any]:
    """The WebMessage envelope DHIS2 answers errors and imports in. `httpStatus` is always the
    reason phrase of `httpStatusCode`, so the tests state only the code; `fields` are the rest
    (message, errorCode, response) exactly as DHIS2 spells them."""
    return {
        "httpStatus": HTTPStatus(code).phrase,
        "httpStatusCode": code,
        "status": status,
        **fields,
    }


def import_count(imported: int = 0, updated: int = 0, ignored: int = 0, deleted: int = 0) -> dict:
    """An `importCount` of a data or event import summary."""
    return {"imported": imported, "updated": updated, "ignored": ignored, "deleted": deleted}


def stats(created: int = 0, updated: int = 0, deleted: int = 0, ignored: int = 0) -> dict:
    """The `stats` of a metadata or tracker report: DHIS2's `total` is the sum of the four."""
    total = created + updated + deleted + ignored
    return {
        "created": created,
        "updated": updated,
        "deleted": deleted,
        "ignored": ignored,
        "total": total,
    }


@pytest.fixture
def basic_auth() -> BasicAuth:
    return BasicAuth("admin", PASSWORD)


@pytest.fixture
def token_auth() -> TokenAuth:
    return TokenAuth(TOKEN)


@pytest.fixture
def retry_events() -> list[RetryEvent]:
    return []


@pytest.fixture
def make_client(
    basic_auth: BasicAuth, retry_events: list[RetryEvent]
) -> Iterator[Callable[..., Client]]:
    """Factory: a client on BASE with instant retries that records its RetryEvents."""
    clients: list[Client] = []

    def factory(**kwargs: Any) -> Client:
        kwargs.setdefault("retry", RetryPolicy(max_attempts=3, backoff_base=0))
        kwargs.setdefault("on_retry", retry_events.append)
        auth = kwargs.pop("auth", basic_auth)
        client = Client(kwargs.pop("base_url", BASE), auth, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client()
