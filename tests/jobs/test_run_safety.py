"""Runs that cannot be claimed twice, cannot outlive the stall check, and refuse bad params."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jobs import services
from jobs.context import RunAborted, RunContext
from jobs.kinds import KINDS, JobKind
from jobs.models import Run
from jobs.signals import run_finished
from jobs.tasks import execute_run


@pytest.fixture(autouse=True)
def kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "test_ok", JobKind("test_ok", "ok", "tests.jobs.handlers.ok"))
    monkeypatch.setitem(
        KINDS, "test_reaped", JobKind("test_reaped", "reaped", "tests.jobs.test_run_safety.reaped")
    )


def reaped(ctx: RunContext) -> None:
    """A handler whose run the stall check fails while it is still working."""
    Run.objects.filter(pk=ctx.run_id).update(
        status=Run.Status.FAILED, error="worker stopped responding"
    )
    ctx.progress(50, "still going", force=True)
    raise AssertionError("progress() should have stopped the handler")


def test_params_must_be_an_object(db) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        services.launch("test_ok", [1, 2], user=None, trigger="cli")  # type: ignore[arg-type]
    assert not Run.objects.exists()


def test_a_run_with_unusable_params_fails_instead_of_hanging(db) -> None:
    run = Run.objects.create(kind="test_ok", trigger="cli", params=[1, 2])
    assert execute_run(run.pk) == Run.Status.FAILED
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error and run.finished_at


def test_a_reaped_run_stops_and_its_outcome_is_announced_once(
    db, django_capture_on_commit_callbacks
) -> None:
    announced = []

    def receiver(sender, run, **kwargs) -> None:
        announced.append(run.status)

    run_finished.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.launch("test_reaped", {}, user=None, trigger="cli")
    finally:
        run_finished.disconnect(receiver)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error == "worker stopped responding"
    assert run.progress == 0  # nothing was written after the reaper
    assert announced == []  # the reaper announces its own verdict; the worker adds nothing


def test_heartbeat_of_a_run_no_longer_running_raises(db) -> None:
    run = Run.objects.create(
        kind="test_ok", trigger="cli", status="running", started_at=timezone.now()
    )
    ctx = RunContext(run)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)
    with pytest.raises(RunAborted):
        ctx.heartbeat(force=True)


def test_one_active_run_per_target_even_without_the_check(db) -> None:
    first = services.launch(
        "test_ok", {}, user=None, trigger="web", target="transfer:1", enqueue=False
    )
    with pytest.raises(services.TargetBusy) as busy:
        services.launch(
            "test_ok", {}, user=None, trigger="schedule", target="transfer:1", enqueue=False
        )
    assert busy.value.run == first
    # Finished runs do not count, and other targets are free.
    Run.objects.filter(pk=first.pk).update(status=Run.Status.SUCCEEDED)
    services.launch("test_ok", {}, user=None, trigger="web", target="transfer:1", enqueue=False)
    services.launch("test_ok", {}, user=None, trigger="web", target="transfer:2", enqueue=False)
    assert Run.objects.filter(target="transfer:1").count() == 2
