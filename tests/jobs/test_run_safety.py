"""Runs that cannot be claimed twice, cannot outlive the stall check, and refuse bad params.

The real `connection_check` kind runs; only DHIS2 is simulated (`tests.jobs.handlers`).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from jobs import services
from jobs.context import RunAborted, RunContext
from jobs.models import Run
from jobs.tasks import execute_run
from tests.jobs.handlers import Dhis2


def test_params_must_be_an_object(db) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        services.launch("connection_check", [1, 2], user=None, trigger="cli")  # type: ignore[arg-type]
    assert not Run.objects.exists()


def test_a_run_with_unusable_params_fails_instead_of_hanging(dhis2: Dhis2) -> None:
    run = Run.objects.create(kind="connection_check", trigger="cli", params=[1, 2])
    assert execute_run(run.pk) == Run.Status.FAILED
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error and run.finished_at
    assert dhis2.router.calls.call_count == 0


def test_a_reaped_run_stops_and_its_outcome_is_announced_once(
    dhis2: Dhis2, settings, django_capture_on_commit_callbacks
) -> None:
    settings.RUN_STALL_SECONDS = 60

    def stall_check_runs(request: httpx.Request) -> None:
        """The housekeeping reaper runs while the worker waits for DHIS2 (as if it had been
        silent for too long): it fails the run."""
        if request.url.path.endswith("/api/me"):
            later = timezone.now() + timedelta(seconds=120)
            assert services.fail_stalled_runs(now=later) == 1

    dhis2.hooks.append(stall_check_runs)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.launch(
            "connection_check",
            {"instance_ids": [dhis2.source_instance.pk, dhis2.destination_instance.pk]},
            user=None,
            trigger="cli",
        )
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "worker stopped responding" in run.error
    assert run.progress == 0  # nothing was written after the reaper
    assert run.stats == {}  # the worker stopped at its next progress report
    # The run ended once, by the reaper's verdict: the worker's own ending found it finished.
    assert [e.message for e in run.log_entries.filter(level="error")] == [run.error]


def test_heartbeat_of_a_run_no_longer_running_raises(db) -> None:
    run = Run.objects.create(
        kind="connection_check", trigger="cli", status="running", started_at=timezone.now()
    )
    ctx = RunContext(run)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)
    with pytest.raises(RunAborted):
        ctx.heartbeat(force=True)


def test_one_active_run_per_target_even_without_the_check(db) -> None:
    def start(trigger: str, target: str) -> Run:
        return services.launch(
            "transfer", {}, user=None, trigger=trigger, target=target, enqueue=False
        )

    first = start("web", "transfer:1")
    with pytest.raises(services.TargetBusy) as busy:
        start("schedule", "transfer:1")
    assert busy.value.run == first
    # Finished runs do not count, and other targets are free.
    Run.objects.filter(pk=first.pk).update(status=Run.Status.SUCCEEDED)
    start("web", "transfer:1")
    start("web", "transfer:2")
    assert Run.objects.filter(target="transfer:1").count() == 2


def test_migrate_keeps_the_stall_check_running_every_minute(db) -> None:
    """A killed worker's run must be failed within RUN_STALL_SECONDS plus a minute, so the
    reaper (created by `migrate`, not by this test) runs every minute."""
    from django_q.models import Schedule as QSchedule

    reaper = QSchedule.objects.get(func="jobs.tasks.fail_stalled_runs")
    assert (reaper.schedule_type, reaper.minutes, reaper.repeats) == (QSchedule.MINUTES, 1, -1)
