"""In-process simulator clients for the completeness tests (no socket, no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import respx

from connections.models import Instance
from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Simulator
from tests.conftest import saved_instance

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


# --- The platform side: a saved instance whose DHIS2 is an in-process simulator (respx). ----

SIM_URL = "http://hmis.dhis2.test"


@pytest.fixture
def sim() -> Simulator:
    """The DHIS2 the saved `instance` points at (demo data, clock on TODAY)."""
    return Simulator("2.40.4.1", "demo-source", dataset_options={"today": TODAY})


@pytest.fixture
def instance(db, sim: Simulator) -> Iterator[Instance]:
    """A saved instance; every request to it is answered by `sim` through respx, so the real
    `client_for` and `dhis2.Client` run and nothing touches the network."""
    saved = saved_instance("District HMIS", SIM_URL)
    transport = sim.transport()
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host="hmis.dhis2.test").mock(side_effect=transport.handle_request)
        yield saved
