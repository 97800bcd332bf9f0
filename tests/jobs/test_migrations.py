"""The migration that allows one active run per job settles runs that overlapped before it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_overlapping_active_runs_are_settled_before_the_constraint() -> None:
    executor = MigrationExecutor(connection)
    before = [("jobs", "0002_schedule")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Run = old.get_model("jobs", "Run")
    older = Run.objects.create(kind="transfer", trigger="web", status="queued", target="transfer:1")
    newer = Run.objects.create(
        kind="transfer", trigger="web", status="running", target="transfer:1"
    )
    other = Run.objects.create(
        kind="transfer", trigger="web", status="running", target="transfer:2"
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from jobs.models import Run as CurrentRun

    assert CurrentRun.objects.get(pk=older.pk).status == "failed"
    assert "upgrading" in CurrentRun.objects.get(pk=older.pk).error
    assert CurrentRun.objects.get(pk=newer.pk).status == "running"
    assert CurrentRun.objects.get(pk=other.pk).status == "running"
