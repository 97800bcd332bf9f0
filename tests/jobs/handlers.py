"""The outer boundary of job tests: two DHIS2 simulators behind respx, and the jobs that use them.

Job, run and schedule tests go through the real job kinds (`transfer`, `connection_check`) and
fake only DHIS2: every request of the real `dhis2` client is answered in process by a stateful
simulator (`simulator.SimTransport`) through respx, so nothing touches the network and no test
swaps a kind or a job type for a scripted one. How a run ends is decided the way it is decided
in production, by what DHIS2 answers:

* succeeded: a transfer of a facility the destination knows, every value mapped;
* warning: the destination rejects some values (a facility it does not have, DHIS2 E7612);
* failed: the destination answers 502/503 to every import (`Dhis2.fail_imports()`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import httpx
import pytest
import respx

from connections.models import ConnectionProfile, Instance
from simulator import Faults, Simulator, datasets
from simulator.management.commands.setup_demo import demo_mapping_rows
from tests.conftest import saved_instance
from transfers.models import Transfer, TransferMapping

TODAY = "2024-07-15"  # the simulators' clock: their data lies in the finished months before it
PERIOD = "202405"
RCH = datasets.DEMO["dataSets"]["RCH Monthly"]
KNOWN_FACILITY = next(
    uid
    for name, uid in datasets.DEMO["organisationUnits"].items()
    if uid not in datasets.DEMO_MISSING["organisationUnits"] and name.endswith("Health Centre")
)
MISSING_FACILITY = datasets.DEMO_MISSING["organisationUnits"][0]
SOURCE_URL = "http://source.dhis2.test"
DESTINATION_URL = "http://national.dhis2.test/dhis"

Outcome = Literal["succeeded", "warning", "failed"]


@dataclass
class Dhis2:
    """The two DHIS2 servers a job talks to, and the saved objects that point at them."""

    source: Simulator
    destination: Simulator
    source_instance: Instance
    destination_instance: Instance
    transfer: Transfer
    router: respx.MockRouter
    #: Called with every request before the simulator answers it: what happens elsewhere
    #: while DHIS2 is working (a user's cancel, the stall reaper).
    hooks: list[Callable[[httpx.Request], None]] = field(default_factory=list)

    def answer(self, sim: Simulator) -> Callable[[httpx.Request], httpx.Response]:
        transport = sim.transport()

        def handle(request: httpx.Request) -> httpx.Response:
            for hook in list(self.hooks):
                hook(request)
            return transport.handle_request(request)

        return handle

    def wrong_password(self, instance: Instance) -> None:
        """The credential stored for `instance` no longer works (DHIS2 answers 401)."""
        instance.set_password("not-the-password")
        instance.save()

    def will_end(self, outcome: Outcome) -> None:
        """Make the next transfer runs end with `outcome`, through what DHIS2 answers."""
        self.destination.set_faults(Faults())
        units = [KNOWN_FACILITY, MISSING_FACILITY] if outcome == "warning" else [KNOWN_FACILITY]
        Transfer.objects.filter(pk=self.transfer.pk).update(org_units=units)
        if outcome == "failed":
            self.fail_imports()

    def fail_imports(self) -> None:
        """The destination answers 502 or 503 to every import, retries included."""
        self.destination.set_faults(Faults(error_rate=1.0, methods={"POST"}))

    def imports(self) -> int:
        """How many data value imports reached the destination."""
        return sum(
            1
            for call in self.router.calls
            if call.request.method == "POST" and "dataValueSets" in call.request.url.path
        )


@pytest.fixture(name="dhis2")
def dhis2_fixture(db) -> Iterator[Dhis2]:
    """Import this into a test module to get the `dhis2` fixture."""
    source = Simulator(dataset="demo-source", dataset_options={"today": TODAY})
    destination = Simulator(
        dataset="demo-destination", dataset_options={"today": TODAY}, context_path="/dhis"
    )
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        source_instance = saved_instance("Source HMIS", SOURCE_URL)
        destination_instance = saved_instance("National HMIS", DESTINATION_URL)
        profile = ConnectionProfile.objects.create(
            name="Source to national", source=source_instance, destination=destination_instance
        )
        transfer = Transfer.objects.create(
            name="Monthly RCH",
            profile=profile,
            data_set=RCH,
            periods=[PERIOD],
            org_units=[KNOWN_FACILITY],
            # The destination lacks one data element of the set: its values are skipped (not
            # a problem); whatever else the destination rejects is reported, and the run ends
            # with warnings.
            unmapped=Transfer.Unmapped.SKIP,
            continue_on_preflight_problems=True,
        )
        TransferMapping.objects.bulk_create(
            TransferMapping(transfer=transfer, **row) for row in demo_mapping_rows(RCH)
        )
        servers = Dhis2(
            source, destination, source_instance, destination_instance, transfer, router
        )
        router.route(host="source.dhis2.test").mock(side_effect=servers.answer(source))
        router.route(host="national.dhis2.test").mock(side_effect=servers.answer(destination))
        yield servers
