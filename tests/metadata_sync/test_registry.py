"""The two metadata operations are registry entries: found by the runner, one schedulable."""

from __future__ import annotations

from jobs.models import Run
from jobs.registry import get_operation, job_type_choices
from metadata_sync.models import MetadataAssessment


def test_assessment_is_schedulable_and_apply_is_not() -> None:
    keys = {key for key, _ in job_type_choices()}
    assert "metadata_assessment" in keys and "metadata_apply" not in keys


def test_a_schedule_style_start_runs_the_assessment_again(
    assessed: MetadataAssessment, run_now
) -> None:
    first_run = assessed.run_id
    op = get_operation("metadata_assessment")
    assert op.get_object(assessed.pk) == assessed
    run = run_now(lambda: op.start_run(assessed, user=None, trigger="schedule"))
    assert run.status == Run.Status.SUCCEEDED and run.target == f"metadata_assessment:{assessed.pk}"
    assessed.refresh_from_db()
    assert assessed.run_id == run.pk != first_run and assessed.status == "done"
    # the items were replaced, not doubled
    assert assessed.items.count() == run.stats["objects compared"]
