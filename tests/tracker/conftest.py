"""Helpers for the event transfer tests: real DHIS2 sample bodies, a fake clock, clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dhis2"
BASE = "https://dhis.example.org/dhis"
API = f"{BASE}/api"


def load(name: str) -> Any:
    """A real DHIS2 body from tests/fixtures/dhis2 (origins in its README)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def info(version: str) -> dict[str, Any]:
    return {"version": version, "serverDate": "2024-07-15T10:00:00.000", "serverTimeZoneId": "UTC"}


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client() -> Iterator[Client]:
    c = Client(
        BASE, BasicAuth("admin", "district"), retry=RetryPolicy(max_attempts=2, backoff_base=0)
    )
    yield c
    c.close()
