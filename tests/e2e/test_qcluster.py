"""launch -> a real qcluster process -> succeeded, against a served DHIS2 simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from connections.models import Instance
from jobs.models import Run
from jobs.services import launch
from tests.e2e.conftest import ROOT, e2e_simulator, wait_for

pytestmark = pytest.mark.e2e


def test_connection_check_runs_in_a_real_worker(qcluster) -> None:
    sim = e2e_simulator("empty")
    with sim.serve() as server:
        instance = Instance(name="Simulated", base_url=server.url, username="admin")
        instance.set_password("district")
        instance.save()
        run = launch("connection_check", {"instance_ids": [instance.pk]}, user=None, trigger="cli")

        finished = wait_for(lambda: Run.objects.get(pk=run.pk).status in Run.FINISHED, timeout=90)
        run.refresh_from_db()
        log = (Path(ROOT) / ".local" / "qcluster-e2e.log").read_text()
        assert finished, f"run still {run.status}; worker log:\n{log[-3000:]}"
        assert run.status == Run.Status.SUCCEEDED, run.error
        assert run.task_id
        instance.refresh_from_db()
        assert instance.version == "2.40.4.1"
        assert any("2.40.4.1" in e.message for e in run.log_entries.all())
