"""Event transfer runs through the real run path (start function → launch → execute_run →
task → engine → HTTP) against the demo simulators served on loopback, at a new-tracker
destination (2.41) and a legacy one (2.38)."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client as PageClient

from jobs.models import Run
from simulator import Faults
from simulator.datasets import DEMO, DEMO_MISSING
from tests.tracker.conftest import Served, served_pair
from tracker.models import EventBatchCheckpoint, EventTransfer, EventTransferError
from tracker.services import save_event_transfer, start_event_transfer

PROGRAM = DEMO["programs"]["Malaria case register"]
ROOT = DEMO["organisationUnits"]["Demoland"]
MISSING_OU = DEMO_MISSING["organisationUnits"][0]

pytestmark = pytest.mark.usefixtures("fast_polling")


@pytest.fixture(params=[("2.41.0", "2.41.0"), ("2.38.7", "2.38.7")], ids=["2.41", "2.38"])
def served(request: pytest.FixtureRequest, db) -> Served:
    with served_pair(*request.param) as pair:
        yield pair


def make(pair: Served, **fields) -> EventTransfer:
    data = {"name": "Malaria events", "profile": pair.profile, "program": PROGRAM,
            "org_units": [ROOT], **fields}  # fmt: skip
    return save_event_transfer(None, data=data)


def run(transfer: EventTransfer, capture, **kwargs) -> Run:
    with capture(execute=True):
        launched = start_event_transfer(transfer, user=None, trigger="cli", **kwargs)
    launched.refresh_from_db()
    return launched


def stored(pair: Served) -> dict[str, dict]:
    return {e["event"]: e for e in pair.destination.events(PROGRAM) if not e.get("deleted")}


def expected(pair: Served) -> set[str]:
    """Every live source event except those of the facility the destination lacks."""
    return {
        e["event"]
        for e in pair.source.events(PROGRAM)
        if not e.get("deleted") and e["orgUnit"] != MISSING_OU
    }


def in_south(pair: Served) -> set[str]:
    south = DEMO["organisationUnits"]["Southern Region"]
    units = pair.source.state.objects["organisationUnits"]
    return {
        e["event"]
        for e in pair.source.events(PROGRAM)
        if south in units[e["orgUnit"]]["path"] and not e.get("deleted")
    }


def test_a_run_lands_every_event_once_and_reports_the_refused_ones(
    served: Served, django_capture_on_commit_callbacks
) -> None:
    transfer = make(served)
    first = run(transfer, django_capture_on_commit_callbacks)
    refused = {e["event"] for e in served.source.events(PROGRAM) if e["orgUnit"] == MISSING_OU}
    assert refused, "the demo has events at the facility the destination lacks"
    assert first.status == Run.Status.WARNING, first.error
    assert set(stored(served)) == expected(served)
    s = first.stats
    assert s["fetched"] == len(served.source.events(PROGRAM))
    assert s["created"] == len(expected(served)) and s["errors"] == len(refused)
    assert s["batches"] >= 2 and {"sent", "updated", "ignored", "jobs_polled"} <= set(s)
    errors = EventTransferError.objects.filter(run=first)
    assert {e.event for e in errors} == refused
    assert all(e.message and e.org_unit == MISSING_OU for e in errors)
    if first.stats["destination_api"] == "tracker":  # legacy summaries may carry no code
        assert {e.error_code for e in errors} == {"E1011"}  # org unit not found
    transfer.refresh_from_db()
    assert transfer.last_run_id == first.pk

    again = run(transfer, django_capture_on_commit_callbacks)
    assert again.status == Run.Status.WARNING
    assert set(stored(served)) == expected(served)  # nothing twice
    assert again.stats["created"] == 0
    assert again.stats["updated"] == len(expected(served))


def test_incremental_moves_the_watermark_only_when_everything_was_accepted(
    served: Served, django_capture_on_commit_callbacks
) -> None:
    south = DEMO["organisationUnits"]["Southern Region"]
    transfer = make(served, org_units=[south], incremental=True)
    first = run(transfer, django_capture_on_commit_callbacks)
    assert first.status == Run.Status.SUCCEEDED, first.error
    transfer.refresh_from_db()
    assert transfer.watermark is not None
    second = run(transfer, django_capture_on_commit_callbacks)
    assert second.status == Run.Status.SUCCEEDED
    assert 0 <= second.stats["fetched"] < first.stats["fetched"]

    whole = make(served, name="Everything", incremental=True)  # includes refused events
    assert run(whole, django_capture_on_commit_callbacks).status == Run.Status.WARNING
    whole.refresh_from_db()
    assert whole.watermark is None


def test_dry_run_writes_nothing(served: Served, django_capture_on_commit_callbacks) -> None:
    transfer = make(served, org_units=[DEMO["organisationUnits"]["Southern Region"]])
    dry = run(transfer, django_capture_on_commit_callbacks, dry_run=True)
    assert dry.status == Run.Status.SUCCEEDED, dry.error
    assert dry.stats["sent"] > 0 and stored(served) == {}
    assert not EventBatchCheckpoint.objects.filter(run=dry).exists()


def test_a_failed_run_resumes_without_resending_accepted_batches(
    served: Served, django_capture_on_commit_callbacks
) -> None:
    transfer = make(served, org_units=[DEMO["organisationUnits"]["Southern Region"]])
    # The destination stops answering POSTs after two batches (a proxy in front failing).
    posts = []

    original = served.destination.handle

    def handle(request):
        if request.method == "POST" and len(posts) >= 2:
            served.destination.set_faults(Faults(error_rate=1.0, methods={"POST"}))
        posts.append(request.method == "POST")
        return original(request)

    served.destination.handle = handle  # type: ignore[method-assign]
    failed = run(transfer, django_capture_on_commit_callbacks)
    served.destination.handle = original  # type: ignore[method-assign]
    served.destination.set_faults(Faults())
    assert failed.status == Run.Status.FAILED
    done = EventBatchCheckpoint.objects.filter(run=failed).count()
    assert done >= 1
    before = len(stored(served))

    resumed = run(transfer, django_capture_on_commit_callbacks, resume_of=failed)
    assert resumed.status == Run.Status.SUCCEEDED, resumed.error
    assert resumed.params["resume_of"] == failed.pk
    assert resumed.stats["skipped_batches"] == done
    assert resumed.stats["created"] == resumed.stats["fetched"] - before
    assert before > 0 and set(stored(served)) == in_south(served)


def test_the_run_page_lists_the_refused_events_and_their_csv(
    served: Served, django_capture_on_commit_callbacks, bob: User
) -> None:
    done = run(make(served), django_capture_on_commit_callbacks)
    page = PageClient()
    page.force_login(bob)
    html = page.get(f"/runs/{done.pk}/").content.decode()
    assert "Events the destination refused" in html
    first_error = EventTransferError.objects.filter(run=done).first()
    assert first_error.event in html
    body = page.get(f"/tracker/runs/{done.pk}/errors.csv")
    assert body.status_code == 200
    rows = list(csv.reader(io.StringIO(body.content.decode())))
    assert rows[0] == ["error_code", "message", "event", "org_unit", "object"]
    assert len(rows) - 1 == done.stats["errors"]
