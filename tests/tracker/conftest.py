"""Helpers for the event transfer tests: real DHIS2 sample bodies, clients, served pairs.

`FakeTime` (and the `fake_time` fixture) and `Served` are tests/conftest.py's, re-exported for
the tests that import them from here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Simulator
from tests.conftest import FakeTime as FakeTime  # re-exported
from tests.conftest import Served, served_profile
from tests.samples import load_sample

BASE = "https://dhis.example.org/dhis"
API = f"{BASE}/api"


load = load_sample  # the short name these tests use


def info(version: str) -> dict[str, Any]:
    return {"version": version, "serverDate": "2024-07-15T10:00:00.000", "serverTimeZoneId": "UTC"}


@pytest.fixture
def client() -> Iterator[Client]:
    c = Client(
        BASE, BasicAuth("admin", "district"), retry=RetryPolicy(max_attempts=2, backoff_base=0)
    )
    yield c
    c.close()


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
    with served_profile(
        src,
        dst,
        name=f"Demo {src_version}→{dst_version}",
        source_name=f"Source {src_version}",
        destination_name=f"Destination {dst_version}",
    ) as served:
        yield served


@pytest.fixture
def fast_polling(settings) -> None:
    """Tracker jobs of the simulator finish in 50 ms: poll them often; small batches so the
    demo's few hundred events make several."""
    settings.TRACKER_JOB_POLL_INTERVAL = 0.02
    settings.TRACKER_BATCH_SIZE = 40
