"""Event transfers end to end: launch → a real qcluster worker → task → engine → two DHIS2
simulators served on loopback, at a new-tracker version (2.41) and a legacy one (2.38).

Asserts on what the destination DHIS2 stored: every event once, a rerun creates nothing, and a
run that failed midway resumes without sending the accepted batches again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from jobs.models import Run
from simulator import Faults
from simulator.datasets import DEMO, DEMO_MISSING
from tests.e2e.conftest import finished
from tests.tracker.conftest import Served, served_pair
from tracker.models import EventBatchCheckpoint, EventTransfer
from tracker.services import save_event_transfer, start_event_transfer

pytestmark = pytest.mark.e2e

PROGRAM = DEMO["programs"]["Malaria case register"]
MISSING_OU = DEMO_MISSING["organisationUnits"][0]


@pytest.fixture(params=["2.41.0", "2.38.7"], ids=["2.41", "2.38"])
def served(request: pytest.FixtureRequest, qcluster) -> Iterator[Served]:
    with served_pair(request.param, request.param) as pair:
        yield pair


def launch(transfer: EventTransfer, **kwargs) -> Run:
    return finished(start_event_transfer(transfer, user=None, trigger="cli", **kwargs).pk)


def stored(pair: Served) -> list[str]:
    return [e["event"] for e in pair.destination.events(PROGRAM) if not e.get("deleted")]


def live_source_events(pair: Served, org_units: set[str] | None = None) -> set[str]:
    return {
        e["event"]
        for e in pair.source.events(PROGRAM)
        if not e.get("deleted") and (org_units is None or e["orgUnit"] in org_units)
    }


def test_every_event_arrives_once_and_a_rerun_creates_nothing(served: Served) -> None:
    transfer = save_event_transfer(
        None,
        data={"name": "Malaria", "profile": served.profile, "program": PROGRAM,
              "org_units": [DEMO["organisationUnits"]["Demoland"]]},
    )  # fmt: skip
    first = launch(transfer)
    # Warning: the destination lacks one facility, whose events are refused with a reason.
    assert first.status == Run.Status.WARNING, first.error
    expected = live_source_events(served) - {
        e["event"] for e in served.source.events(PROGRAM) if e["orgUnit"] == MISSING_OU
    }
    assert sorted(stored(served)) == sorted(expected)  # each exactly once
    assert first.stats["errors"] == len(live_source_events(served)) - len(expected) > 0
    assert first.event_errors.count() == first.stats["errors"]

    again = launch(transfer)
    assert again.status == Run.Status.WARNING, again.error
    assert sorted(stored(served)) == sorted(expected)
    assert again.stats["created"] == 0 and again.stats["updated"] == len(expected)


@override_settings(TRACKER_BATCH_SIZE=200)  # the demo's few hundred events in several batches
def test_a_run_that_failed_midway_resumes_without_duplicates(served: Served) -> None:
    units = served.source.state.objects["organisationUnits"]
    deepest = max(o["level"] for o in units.values())
    facilities = sorted(u for u, o in units.items() if o["level"] == deepest and u != MISSING_OU)
    transfer = save_event_transfer(
        None,
        data={"name": "Facilities", "profile": served.profile, "program": PROGRAM,
              "org_units": facilities, "ou_mode": "SELECTED"},
    )  # fmt: skip
    expected = live_source_events(served, set(facilities))
    assert len(expected) > 200, "two batches of the worker's 200 events"

    # After the first accepted import POST, the proxy in front of the destination fails all
    # further POSTs (503) until the client's retries give up.
    original = served.destination.handle
    imports = [0]

    def handle(request):
        if request.method == "POST" and not request.path.startswith("/__sim__"):
            imports[0] += 1
            if imports[0] == 2:
                served.destination.set_faults(Faults(error_rate=1.0, methods={"POST"}))
        return original(request)

    served.destination.handle = handle  # type: ignore[method-assign]
    try:
        failed = launch(transfer)
    finally:
        served.destination.handle = original  # type: ignore[method-assign]
        served.destination.set_faults(Faults())
    assert failed.status == Run.Status.FAILED
    assert "503" in failed.error or "unavailable" in failed.error.lower()
    assert EventBatchCheckpoint.objects.filter(run=failed).count() == 1
    first_batch = len(stored(served))
    assert 0 < first_batch < len(expected)

    resumed = launch(transfer, resume_of=failed)
    assert resumed.status == Run.Status.SUCCEEDED, resumed.error
    assert resumed.stats["skipped_batches"] == 1
    assert resumed.stats["created"] == len(expected) - first_batch
    assert sorted(stored(served)) == sorted(expected)
