"""Shared helpers for the DHIS2 client tests: sample bodies and a client with instant retries."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dhis2.auth import BasicAuth, TokenAuth
from dhis2.client import Client, RetryEvent, RetryPolicy

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dhis2"
BASE = "https://dhis.example.org/dhis"
API = f"{BASE}/api"
PASSWORD = "S3cret-Pa55word!"
TOKEN = "d2pat_Xy7kQz9PqLmN3vB8wR2tY6uI0oA5sD1f4242424242"


def load(name: str) -> Any:
    """Parsed JSON of a sample body in tests/fixtures/dhis2."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def load_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


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
