"""In-process simulator clients for the completeness tests (no socket, no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Simulator

TODAY = "2024-07-15"


@pytest.fixture
def make_client() -> Iterator[Callable[..., tuple[Simulator, Client]]]:
    clients: list[Client] = []

    def factory(version: str = "2.40.4.1") -> tuple[Simulator, Client]:
        sim = Simulator(version, "demo-source", dataset_options={"today": TODAY})
        client = Client(
            "http://sim.local",
            BasicAuth("admin", "district"),
            transport=sim.transport(),
            retry=RetryPolicy(max_attempts=1),
            sleep=lambda s: None,
        )
        clients.append(client)
        return sim, client

    yield factory
    for client in clients:
        client.close()
