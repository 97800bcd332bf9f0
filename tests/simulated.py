"""Saved instances whose DHIS2 is an in-process simulator answered through respx: the real
`client_for` and `dhis2.Client` run, nothing touches the network. Used by the page tests that
show names looked up on the instances (`connections.names`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import respx

from connections.models import ConnectionProfile, Instance
from simulator import Simulator

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


def _instance(name: str, host: str) -> Instance:
    instance = Instance(name=name, base_url=f"http://{host}", username="admin", timeout_seconds=5)
    instance.set_password("district")
    instance.save()
    return instance


@contextmanager
def simulated_profile(version: str = "2.40.4.1") -> Iterator[SimulatedProfile]:
    """A profile from a demo-source simulator to a demo-destination one (they share most
    UIDs; one org unit, some data elements and option combos exist only on the source)."""
    source = Simulator(version, "demo-source")
    destination = Simulator(version, "demo-destination")
    profile = ConnectionProfile.objects.create(
        name="Demo to national",
        source=_instance("District HMIS", SOURCE_HOST),
        destination=_instance("National HMIS", DEST_HOST),
    )
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host=SOURCE_HOST).mock(side_effect=source.transport().handle_request)
        router.route(host=DEST_HOST).mock(side_effect=destination.transport().handle_request)
        yield SimulatedProfile(source, destination, profile, router)
