"""Saved instances whose DHIS2 is an in-process simulator answered through respx: the real
`client_for` and `dhis2.Client` run, nothing touches the network. Used by the page tests that
show names looked up on the instances (`connections.names`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import respx
from django.core.cache import cache

from connections.models import ConnectionProfile
from simulator import Simulator
from tests.conftest import saved_instance

SOURCE_HOST = "source.dhis2.test"
DEST_HOST = "national.dhis2.test"


@dataclass
class SimulatedProfile:
    source: Simulator
    destination: Simulator
    profile: ConnectionProfile
    router: respx.MockRouter

    def names(self, side: str, kind: str) -> dict[str, str]:
        """{uid: name} of one metadata kind as the simulator holds it (the expected names)."""
        sim = self.source if side == "source" else self.destination
        return {o["id"]: o["name"] for o in sim.metadata(kind)}


@contextmanager
def simulated_profile(version: str = "2.40.4.1") -> Iterator[SimulatedProfile]:
    """A profile from a demo-source simulator to a demo-destination one (they share most
    UIDs; one org unit, some data elements and option combos exist only on the source)."""
    source = Simulator(version, "demo-source")
    destination = Simulator(version, "demo-destination")
    profile = ConnectionProfile.objects.create(
        name="Demo to national",
        source=saved_instance("District HMIS", f"http://{SOURCE_HOST}", timeout=5),
        destination=saved_instance("National HMIS", f"http://{DEST_HOST}", timeout=5),
    )
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host=SOURCE_HOST).mock(side_effect=source.transport().handle_request)
        router.route(host=DEST_HOST).mock(side_effect=destination.transport().handle_request)
        yield SimulatedProfile(source, destination, profile, router)


@pytest.fixture
def fresh_cache() -> None:
    """Empty Django's cache: pages cache the names they look up on the instances, and one
    test's names must not answer another's (`pytestmark = usefixtures("fresh_cache")`)."""
    cache.clear()


@pytest.fixture(name="sim")
def sim_fixture(db: None) -> Iterator[SimulatedProfile]:
    """The simulated profile of `simulated_profile()`, for a test module that imports this."""
    with simulated_profile() as s:
        yield s
