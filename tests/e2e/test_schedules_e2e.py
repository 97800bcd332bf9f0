"""Schedules end to end: a real `qcluster` process fires our schedule, its worker runs a transfer
between two served simulators; with the destination failing, the schedule pauses itself.

The first test waits for django-q2's own scheduler loop (it looks for due schedules every
30 seconds). The second drives that same `scheduler()` function from the test, so two failures
do not take two more minutes; the runner and the runs still execute in the cluster's worker.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule as QSchedule

from connections.models import ConnectionProfile
from jobs import schedules
from jobs.models import Run, RunLogEntry, Schedule
from simulator.datasets import DEMO
from tests.conftest import saved_instance, transfer_schedule
from tests.e2e.conftest import e2e_simulator, qcluster_log, wait_for
from transfers.models import Transfer

pytestmark = pytest.mark.e2e


def worker_log() -> str:
    return qcluster_log(4000)


def weekly_transfer(source_url: str, destination_url: str) -> Transfer:
    """IDSR Weekly for one district: the same metadata on both demo instances."""
    profile = ConnectionProfile.objects.create(
        name="Demo",
        source=saved_instance("Source", source_url),
        destination=saved_instance("Dest", destination_url),
    )
    return Transfer.objects.create(
        name="Weekly IDSR",
        profile=profile,
        data_set=DEMO["dataSets"]["IDSR Weekly"],
        relative_period="LAST_4_WEEKS",
        org_units=[DEMO["organisationUnits"]["Benti"]],
        include_descendants=True,
    )


def every_minute(transfer: Transfer, **fields) -> Schedule:
    return transfer_schedule(
        transfer,
        "Every minute",
        "* * * * *",
        "Africa/Nairobi",
        notify_emails="ops@example.org",
        **fields,
    )


def make_due(schedule: Schedule) -> None:
    QSchedule.objects.filter(pk=schedule.q_schedule_id).update(
        next_run=timezone.now() - timedelta(seconds=1), repeats=1
    )


def finished_runs(schedule: Schedule) -> list[Run]:
    return list(schedule.runs.filter(status__in=Run.FINISHED).order_by("pk"))


def test_a_due_schedule_runs_a_transfer_in_the_real_cluster(qcluster) -> None:
    with (
        e2e_simulator("demo-source").serve() as source,
        e2e_simulator("demo-destination").serve() as destination,
    ):
        transfer = weekly_transfer(source.url, destination.url)
        schedule = every_minute(transfer)
        make_due(schedule)  # due now rather than at the next minute: one scheduler pass

        assert wait_for(lambda: finished_runs(schedule), timeout=85, interval=0.5), worker_log()
        run = finished_runs(schedule)[0]
        assert run.status == Run.Status.SUCCEEDED, f"{run.error}\n{worker_log()}"
        assert run.trigger == Run.Trigger.SCHEDULE and run.target == f"transfer:{transfer.pk}"
        assert run.params["transfer_id"] == transfer.pk and run.params["dry_run"] is False
        assert run.task_id
        assert destination.sim.data_values(), "nothing arrived at the destination"

    schedule.refresh_from_db()
    assert schedule.consecutive_failures == 0 and schedule.status == Schedule.Status.ACTIVE
    assert schedule.last_run_id >= run.pk
    q = QSchedule.objects.get(pk=schedule.q_schedule_id)
    assert q.repeats == 1 and q.next_run > run.created_at  # re-armed for the next minute


def test_a_failing_destination_pauses_the_schedule_and_emails(qcluster, monkeypatch) -> None:
    from django_q.conf import Conf
    from django_q.scheduler import scheduler

    monkeypatch.setattr(Conf, "SYNC", False)  # queue to the cluster, as its scheduler does
    with (
        e2e_simulator("demo-source").serve() as source,
        e2e_simulator("demo-destination").serve() as destination,
    ):
        destination.sim.set_faults(error_rate=1.0, methods={"*"})
        schedule = every_minute(weekly_transfer(source.url, destination.url))
        schedule.max_consecutive_failures = 2
        schedules.save_schedule(schedule)

        for attempt in (1, 2):
            make_due(schedule)
            scheduler()
            assert wait_for(lambda n=attempt: len(finished_runs(schedule)) >= n, timeout=60), (
                worker_log()
            )

        schedule.refresh_from_db()
        assert wait_for(
            lambda: (
                Schedule.objects.get(pk=schedule.pk).status == Schedule.Status.PAUSED_BY_FAILURES
            ),
            timeout=10,
        ), worker_log()
    schedule.refresh_from_db()
    runs = finished_runs(schedule)
    assert [r.status for r in runs] == [Run.Status.FAILED, Run.Status.FAILED]
    assert schedule.consecutive_failures == 2 and schedule.next_run is None
    assert not QSchedule.objects.filter(func=schedules.RUNNER).exists()
    notices = RunLogEntry.objects.filter(run__schedule=schedule, message__startswith="E-mailed")
    assert [(e.run_id, e.message) for e in notices] == [
        (runs[0].pk, "E-mailed the failed notice to ops@example.org."),
        (runs[1].pk, "E-mailed the paused notice to ops@example.org."),
    ]
