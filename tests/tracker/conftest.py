"""Helpers for the event transfer tests: real DHIS2 sample bodies, a fake clock, clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connections.models import ConnectionProfile, Instance
from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Simulator

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


# --- Saved event transfers against simulators served on loopback --------------------------
@dataclass
class Served:
    source: Simulator
    destination: Simulator
    profile: ConnectionProfile


def demo_instance(name: str, url: str) -> Instance:
    instance = Instance(name=name, base_url=url, username="admin", timeout_seconds=10)
    instance.set_password("district")
    instance.save()
    return instance


@contextmanager
def served_pair(src_version: str, dst_version: str) -> Iterator[Served]:
    """The demo source and destination at these versions, served, with a saved profile."""
    src = Simulator(src_version, "demo-source", dataset_options={"today": "2024-07-15"})
    dst = Simulator(
        dst_version,
        "demo-destination",
        dataset_options={"today": "2024-07-15"},
        tracker_job_delay=0.05,
    )
    with src.serve() as s, dst.serve() as d:
        profile = ConnectionProfile.objects.create(
            name=f"Demo {src_version}→{dst_version}",
            source=demo_instance(f"Source {src_version}", s.url),
            destination=demo_instance(f"Destination {dst_version}", d.url),
        )
        try:
            yield Served(src, dst, profile)
        finally:
            src.jobs.cancel_all()
            dst.jobs.cancel_all()


@pytest.fixture
def fast_polling(settings) -> None:
    """Tracker jobs of the simulator finish in 50 ms: poll them often; small batches so the
    demo's few hundred events make several."""
    settings.TRACKER_JOB_POLL_INTERVAL = 0.02
    settings.TRACKER_BATCH_SIZE = 40
