"""A source that cannot be read fails every operation fast, readably, and writes nothing.

Three ways a source DHIS2 is unusable, against simulators served on loopback: nothing listens
at its address, it answers the API with a 302 to its login form (what DHIS2 does for a request
without a valid session, `simulator.auth.redirect_to_login`), or it refuses the credentials
(401). For each, every operation that reads a source (aggregate transfer, event transfer,
metadata assessment, completeness assessment) is started through its one start function and
executed as the worker would; the run must fail within seconds with a message that says what
to fix, and the destination must not have received a single write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from completeness.services import AssessmentInput, start_completeness_assessment
from completeness.services import create_assessment as create_completeness_assessment
from connections.models import Instance
from jobs.models import Run
from metadata_sync.services import create_assessment, start_metadata_assessment
from simulator import datasets
from simulator.auth import redirect_to_login
from tests.conftest import Served, served_profile
from tests.e2e.conftest import e2e_simulator
from tracker.services import save_event_transfer, start_event_transfer
from transfers.models import Transfer
from transfers.services import start_transfer

pytestmark = pytest.mark.e2e

RCH = datasets.DEMO["dataSets"]["RCH Monthly"]
ROOT = datasets.DEMO["organisationUnits"]["Demoland"]
PROGRAM = datasets.DEMO["programs"]["Malaria case register"]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def setup(db) -> Iterator[Served]:
    with served_profile(e2e_simulator("demo-source"), e2e_simulator("demo-destination")) as served:
        yield served


# --- how the source breaks --------------------------------------------------------------------


def unreachable(setup: Served) -> None:
    Instance.objects.filter(pk=setup.profile.source_id).update(base_url="http://127.0.0.1:9")


def login_page(setup: Served) -> None:
    original = setup.source.handle

    def handle(request):
        if "/api" in request.path:
            return redirect_to_login(request)
        return original(request)

    setup.source.handle = handle


def wrong_password(setup: Served) -> None:
    source = Instance.objects.get(pk=setup.profile.source_id)
    source.set_password("not-the-password")
    source.save()


#: failure -> words the message must contain (any of them), so a user knows what to fix.
FAILURES: dict[str, tuple[Callable[[Served], None], tuple[str, ...]]] = {
    "unreachable": (unreachable, ("127.0.0.1:9",)),
    "login_page": (login_page, ("login",)),
    "wrong_password": (wrong_password, ("password", "credentials", "username")),
}


# --- the operations, each started through its one start function ----------------------------


def aggregate(setup: Served) -> Callable[[], Run]:
    transfer = Transfer.objects.create(
        name="RCH", profile=setup.profile, data_set=RCH, periods=["202406"], org_units=[ROOT]
    )
    return lambda: start_transfer(transfer, user=None, trigger="cli")


def events(setup: Served) -> Callable[[], Run]:
    transfer = save_event_transfer(
        None,
        data={"name": "Malaria", "profile": setup.profile, "program": PROGRAM, "org_units": [ROOT]},
    )
    return lambda: start_event_transfer(transfer, user=None, trigger="cli")


def metadata(setup: Served) -> Callable[[], Run]:
    assessment = create_assessment(setup.profile, types=["dataElements"], user=None)
    return lambda: start_metadata_assessment(assessment, user=None, trigger="cli")


def completeness(setup: Served) -> Callable[[], Run]:
    data = AssessmentInput(
        instance=setup.profile.source, data_set=RCH, org_units=[ROOT], periods=["202406"]
    )
    assessment = create_completeness_assessment(data, user=None)
    return lambda: start_completeness_assessment(assessment, user=None, trigger="cli")


OPERATIONS = {
    "aggregate": aggregate,
    "events": events,
    "metadata": metadata,
    "completeness": completeness,
}


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_unusable_source_fails_fast_readably_and_writes_nothing(
    setup: Served, operation: str, failure: str, django_capture_on_commit_callbacks
) -> None:
    start = OPERATIONS[operation](setup)  # configured while the source still worked
    breaks, words = FAILURES[failure]
    breaks(setup)
    began = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        run = start()
    seconds = time.monotonic() - began
    run.refresh_from_db()

    assert run.status == Run.Status.FAILED, (run.status, run.error)
    assert seconds < 20, f"took {seconds:.1f} s"
    message = run.error
    assert any(w in message.lower() for w in words), message
    assert "Traceback" not in message and "Exception" not in message
    assert "district" not in message  # never the secret
    assert not [e for e in setup.destination.request_log if e.method in WRITES]
    assert setup.destination.data_values() == [] and setup.destination.events() == []
