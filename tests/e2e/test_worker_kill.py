"""The worker is SIGKILLed in the middle of an aggregate transfer and of an event transfer.

What a user lives through when the worker machine runs out of memory: every process of the
`qcluster` dies at once, nothing gets to write "failed". A new worker starts (as systemd or
compose restart it); its every-minute stall check must fail both runs ("worker stopped
responding") within RUN_STALL_SECONDS plus a minute (plus django-q2's scheduler granularity),
and resuming them must complete without resending what the destination had accepted and
without duplicating a value or an event. The destination's own state and the bodies it received
are the evidence.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from django.conf import settings
from django_q.conf import Conf

from connections.models import ConnectionProfile
from dhis2.periods import relative_periods
from jobs.models import Run
from simulator import Faults, Simulator
from tests.conftest import saved_instance
from tests.e2e.conftest import E2E_TODAY, wait_for
from tests.e2e.worker import Worker
from tracker.engine import Tuning as EventTuning
from tracker.models import EventBatchCheckpoint
from tracker.services import save_event_transfer, start_event_transfer
from transfers.engine import Tuning
from transfers.models import ChunkCheckpoint, Transfer
from transfers.services import start_transfer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STALL_SECONDS = 20
#: The stall check is a django-q2 schedule every minute; django-q2's scheduler itself looks
#: for due schedules about every 30 s, so a check can start up to that much late.
SCHEDULER_SLACK = 35
CHUNK = 500
#: 64 facilities x 10 data elements x 4 option combos x 6 months = 15,360 values.
AGGREGATE_SHAPE = {"depth": 3, "width": 4, "data_elements": 10, "periods": 6}
EVENT_SHAPE = {"depth": 2, "width": 10, "data_elements": 3, "with_values": False}
EVENTS = 4_000
BATCH = settings.TRACKER_BATCH_SIZE  # the worker's default batch


def _bench(version: str, **options) -> Simulator:
    return Simulator(
        version, "bench", dataset_options={"today": E2E_TODAY, **options}, tracker_job_delay=0.05
    )


class Recorder:
    """Wraps a simulator's `handle` to keep what each answered import POST carried."""

    def __init__(self, sim: Simulator, path: str, items: str, key) -> None:
        self.phase = "first"
        self.accepted: dict[str, list] = {"first": [], "resume": []}
        original = sim.handle

        def handle(request):
            response = original(request)
            if request.method == "POST" and request.path.endswith(path) and response.status < 300:
                body = json.loads(request.body or b"{}")
                self.accepted[self.phase].extend(key(i) for i in body.get(items, []))
            return response

        sim.handle = handle  # type: ignore[method-assign]


def value_id(v: dict) -> tuple:
    keys = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")
    return tuple(v.get(k) for k in keys)


@pytest.fixture
def worker_env(transactional_db, monkeypatch) -> Iterator[list[Worker]]:
    """Workers started by the test (stopped at the end); runs go to them, not inline."""
    monkeypatch.setattr(Conf, "SYNC", False)
    workers: list[Worker] = []
    yield workers
    for w in workers:
        w.stop()


def test_killed_worker_runs_fail_in_time_and_resume_without_resending(
    worker_env: list[Worker],
) -> None:
    agg_src = _bench("2.40.4.1", **AGGREGATE_SHAPE)
    agg_dst = _bench("2.40.4.1", **AGGREGATE_SHAPE, with_values=False)
    ev_src = _bench("2.41.0", **EVENT_SHAPE, events=EVENTS)
    ev_dst = _bench("2.41.0", **EVENT_SHAPE, program=True)
    # Slow destinations, so the kill lands in the middle of both runs.
    agg_dst.set_faults(Faults(latency_ms=500, methods={"POST"}))
    ev_dst.set_faults(Faults(latency_ms=1000, methods={"POST"}))
    values = Recorder(agg_dst, "/dataValueSets", "dataValues", value_id)
    events = Recorder(ev_dst, "/tracker", "events", lambda e: e["event"])
    with (
        agg_src.serve() as a_s,
        agg_dst.serve() as a_d,
        ev_src.serve() as e_s,
        ev_dst.serve() as e_d,
    ):
        data_set = agg_src.metadata("dataSets")[0]["id"]
        root = next(o["id"] for o in agg_src.metadata("organisationUnits") if o["level"] == 1)
        transfer = Transfer.objects.create(
            name="Killed aggregate",
            profile=ConnectionProfile.objects.create(
                name="agg",
                source=saved_instance("agg src", a_s.url, timeout=30),
                destination=saved_instance("agg dst", a_d.url, timeout=30),
            ),
            data_set=data_set,
            periods=[
                p.id
                for p in relative_periods(
                    "Monthly", "LAST_N", today=date.fromisoformat(E2E_TODAY), n=6
                )
            ],
            org_units=[root],
            chunk_size=CHUNK,
            async_import=Transfer.AsyncImport.NEVER,
        )  # fmt: skip
        program = ev_src.metadata("programs")[0]["id"]
        ev_root = next(o["id"] for o in ev_src.metadata("organisationUnits") if o["level"] == 1)
        event_transfer = save_event_transfer(
            None, data={"name": "Killed events", "program": program, "org_units": [ev_root],
                        "profile": ConnectionProfile.objects.create(
                            name="ev", source=saved_instance("ev src", e_s.url, timeout=30),
                            destination=saved_instance("ev dst", e_d.url, timeout=30))},
        )  # fmt: skip

        env = {"RUN_STALL_SECONDS": str(STALL_SECONDS)}
        first = Worker("kill-a", **env).start()
        worker_env.append(first)
        agg_run = start_transfer(transfer, user=None, trigger="cli")
        ev_run = start_event_transfer(event_transfer, user=None, trigger="cli")

        def both_midway() -> bool:
            return (
                ChunkCheckpoint.objects.filter(run=agg_run).count() >= 3
                and EventBatchCheckpoint.objects.filter(run=ev_run).count() >= 2
            )

        assert wait_for(both_midway, timeout=120, interval=0.1), first.log()
        first.kill()
        killed_at = time.monotonic()
        for run in (agg_run, ev_run):
            run.refresh_from_db()
            assert run.status == Run.Status.RUNNING  # killed midway, not finished

        second = Worker("kill-b", **env).start()  # the restart systemd or compose would do
        worker_env.append(second)

        def both_failed() -> bool:
            return all(
                Run.objects.get(pk=r.pk).status == Run.Status.FAILED for r in (agg_run, ev_run)
            )

        limit = STALL_SECONDS + 60 + SCHEDULER_SLACK
        assert wait_for(both_failed, timeout=limit, interval=0.5), second.log()
        failed_after = time.monotonic() - killed_at
        for run in (agg_run, ev_run):
            run.refresh_from_db()
            assert "worker stopped responding" in run.error, run.error
        agg_done = ChunkCheckpoint.objects.filter(run=agg_run).count()
        ev_done = EventBatchCheckpoint.objects.filter(run=ev_run).count()
        assert 0 < agg_done < len(agg_src.data_values(data_set=data_set)) // CHUNK
        assert 0 < ev_done < EVENTS // BATCH

        values.phase = events.phase = "resume"
        agg_resumed = start_transfer(transfer, user=None, trigger="cli", resume_of=agg_run)
        ev_resumed = start_event_transfer(
            event_transfer, user=None, trigger="cli", resume_of=ev_run
        )
        assert wait_for(
            lambda: all(
                Run.objects.get(pk=r.pk).status in Run.FINISHED for r in (agg_resumed, ev_resumed)
            ),
            timeout=180,
            interval=0.5,
        ), second.log()
        agg_resumed.refresh_from_db()
        ev_resumed.refresh_from_db()
        assert agg_resumed.status == Run.Status.SUCCEEDED, agg_resumed.error
        assert ev_resumed.status == Run.Status.SUCCEEDED, ev_resumed.error

        # The destinations hold exactly the sources' data: every value and event once.
        stored = Counter((*value_id(v), v["value"]) for v in agg_dst.data_values(data_set=data_set))
        expected = Counter(
            (*value_id(v), v["value"]) for v in agg_src.data_values(data_set=data_set)
        )
        assert stored == expected
        stored_events = Counter(e["event"] for e in ev_dst.events(program) if not e.get("deleted"))
        assert stored_events == Counter(e["event"] for e in ev_src.events(program))

        # Nothing checkpointed was sent again: only the chunks or the batch that were in flight
        # when the worker died (answered by DHIS2, never checkpointed) may be in both phases;
        # aggregate imports post up to `Tuning.import_concurrency` chunks at once, event
        # transfers keep up to `Tuning.max_in_flight` batches going.
        assert agg_resumed.stats["skipped_chunks"] == agg_done
        assert ev_resumed.stats["skipped_batches"] == ev_done
        resent_values = set(values.accepted["first"]) & set(values.accepted["resume"])
        resent_events = set(events.accepted["first"]) & set(events.accepted["resume"])
        in_flight = CHUNK * Tuning().import_concurrency
        assert len(resent_values) <= in_flight
        assert len(resent_events) <= BATCH * EventTuning().max_in_flight
        done_values = sum(
            ChunkCheckpoint.objects.filter(run=agg_run).values_list("values", flat=True)
        )
        done_events = sum(
            EventBatchCheckpoint.objects.filter(run=ev_run).values_list("events", flat=True)
        )
        assert len(values.accepted["resume"]) == len(expected) - done_values
        assert len(events.accepted["resume"]) == EVENTS - done_events
        # ... and the events the destination received twice were updated, not created twice.
        assert ev_resumed.stats["created"] + len(resent_events) == EVENTS - done_events
        print(
            f"\nkilled after {agg_done} chunks / {ev_done} batches; both failed "
            f"{failed_after:.0f} s after the kill (stall {STALL_SECONDS} s); resumed: "
            f"{len(values.accepted['resume'])} values, {len(events.accepted['resume'])} events "
            f"sent, {len(resent_values)} values / {len(resent_events)} events sent twice"
        )
