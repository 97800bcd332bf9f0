"""launch -> a real qcluster process -> succeeded, against a served DHIS2 simulator."""

from __future__ import annotations

import pytest

from jobs.models import Run
from jobs.services import launch
from tests.conftest import instance_with_secret
from tests.e2e.conftest import e2e_simulator, finished

pytestmark = pytest.mark.e2e


def test_connection_check_runs_in_a_real_worker(qcluster) -> None:
    sim = e2e_simulator("empty")
    with sim.serve() as server:
        instance = instance_with_secret(
            "Simulated", server.url, username="admin", password="district"
        )
        run = launch("connection_check", {"instance_ids": [instance.pk]}, user=None, trigger="cli")

        run = finished(run.pk, timeout=90)
        assert run.status == Run.Status.SUCCEEDED, run.error
        assert run.task_id
        instance.refresh_from_db()
        assert instance.version == "2.40.4.1"
        assert any("2.40.4.1" in e.message for e in run.log_entries.all())
