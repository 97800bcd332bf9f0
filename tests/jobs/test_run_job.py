"""`manage.py run_job` goes through the same overlap guard as every other way to start a job.

The transfer runs for real against two in-process DHIS2 simulators (`tests.jobs.handlers`).
"""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Run
from tests.jobs.handlers import Dhis2
from transfers.services import TransferBusy, start_transfer


def run_job(kind: str, params: dict) -> None:
    call_command("run_job", "--kind", kind, "--params", json.dumps(params))


def test_a_second_run_of_a_transfer_that_is_running_is_refused(
    dhis2: Dhis2, django_capture_on_commit_callbacks
) -> None:
    transfer = dhis2.transfer
    with django_capture_on_commit_callbacks(execute=False):  # queued from a page, not yet run
        active = start_transfer(transfer, user=None, trigger=Run.Trigger.WEB)
    with pytest.raises(CommandError) as refused:
        run_job("transfer", {"transfer_id": transfer.pk})
    message = str(refused.value)
    assert f"already queued as run #{active.pk}" in message
    assert "Monthly RCH" in message and "never overlap" in message
    assert list(Run.objects.values_list("pk", flat=True)) == [active.pk]
    assert dhis2.imports() == 0  # nothing was written to the destination


def test_a_run_started_here_blocks_other_faces_while_it_is_active(dhis2: Dhis2, capsys) -> None:
    run_job("transfer", {"transfer_id": dhis2.transfer.pk})
    run = Run.objects.get()
    assert run.trigger == Run.Trigger.CLI and run.status == Run.Status.SUCCEEDED
    assert run.target == f"transfer:{dhis2.transfer.pk}"
    assert run.title == "Transfer: Monthly RCH"
    assert f"Run #{run.pk}: succeeded" in capsys.readouterr().out
    assert dhis2.imports() == 1

    # While such a run is active, a click on the page is refused too.
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    with pytest.raises(TransferBusy):
        start_transfer(dhis2.transfer, user=None, trigger=Run.Trigger.WEB)


def test_a_missing_transfer_is_named(db) -> None:
    with pytest.raises(CommandError, match="There is no aggregate data transfer with id 999"):
        run_job("transfer", {"transfer_id": 999})
    assert not Run.objects.exists()


def test_a_connection_check_of_one_instance_does_not_overlap_its_schedule(dhis2: Dhis2) -> None:
    instance = dhis2.source_instance
    busy = Run.objects.create(
        kind="connection_check",
        trigger=Run.Trigger.SCHEDULE,
        status=Run.Status.RUNNING,
        target=f"connection_check:{instance.pk}",  # what a schedule of this instance uses
    )
    with pytest.raises(CommandError, match=f"already running as run #{busy.pk}"):
        run_job("connection_check", {"instance_ids": [instance.pk]})

    run_job("connection_check", {"instance_ids": [dhis2.destination_instance.pk]})
    checked = Run.objects.exclude(pk=busy.pk).get()
    assert checked.status == Run.Status.SUCCEEDED
    assert checked.target == f"connection_check:{dhis2.destination_instance.pk}"


def test_an_option_the_operation_does_not_take_is_named_and_starts_nothing(dhis2: Dhis2) -> None:
    with pytest.raises(CommandError) as refused:
        run_job("transfer", {"transfer_id": dhis2.transfer.pk, "colour": "blue"})
    assert str(refused.value) == "--params has an option transfer does not take: 'colour'."
    assert not Run.objects.exists()
