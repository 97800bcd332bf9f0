"""A demo simulator pair behind respx (in process, no socket) and helpers to run jobs.

The instances point at made-up hosts; respx hands every request for them to the simulator's
in-process transport, so the whole path (service, run, task, `client_for`, client, HTTP) is ours
and only DHIS2 is simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import respx

from connections.models import ConnectionProfile, Instance
from jobs.models import Run
from metadata_sync.models import MetadataAssessment
from metadata_sync.services import create_assessment, start_metadata_assessment
from simulator import Simulator
from tests.conftest import saved_instance

TODAY = "2024-07-15"
SOURCE_HOST, DESTINATION_HOST = "source.sim.test", "destination.sim.test"


@dataclass
class SimPair:
    source: Simulator
    destination: Simulator
    profile: ConnectionProfile


def _instance(name: str, host: str) -> Instance:
    return saved_instance(name, f"http://{host}")


@pytest.fixture
def sim_pair(db) -> Iterator[SimPair]:
    source = Simulator("2.40.4.1", "demo-source", dataset_options={"today": TODAY})
    destination = Simulator("2.40.4.1", "demo-destination", dataset_options={"today": TODAY})
    profile = ConnectionProfile.objects.create(
        name="Demo sync",
        source=_instance("Demo source", SOURCE_HOST),
        destination=_instance("Demo destination", DESTINATION_HOST),
    )
    src_transport, dst_transport = source.transport(), destination.transport()
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host=SOURCE_HOST).mock(side_effect=src_transport.handle_request)
        router.route(host=DESTINATION_HOST).mock(side_effect=dst_transport.handle_request)
        yield SimPair(source, destination, profile)


@pytest.fixture
def run_now(django_capture_on_commit_callbacks) -> Callable[[Callable[[], Run]], Run]:
    """Start a run and execute its task (django-q2 sync mode) as the commit would."""

    def go(start: Callable[[], Run]) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            run = start()
        run.refresh_from_db()
        return run

    return go


@pytest.fixture
def assessed(sim_pair: SimPair, run_now, alice) -> MetadataAssessment:
    """A finished assessment of every type of the demo pair."""
    from metadata_sync.schema import ORDER

    assessment = create_assessment(sim_pair.profile, types=list(ORDER), user=alice)
    run = run_now(lambda: start_metadata_assessment(assessment, user=alice, trigger="cli"))
    assert run.status == Run.Status.SUCCEEDED, (
        run.error,
        list(run.log_entries.values_list("message", flat=True)),
    )
    assessment.refresh_from_db()
    return assessment
