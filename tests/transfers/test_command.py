"""`manage.py transfer <name-or-id>` runs a saved transfer in the foreground through the same
start function as every other face; the destination is an in-process DHIS2 simulator."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Run
from tests.jobs.handlers import KNOWN_FACILITY, PERIOD, RCH, Dhis2, dhis2_fixture  # noqa: F401
from transfers.services import start_transfer


def expected_on_destination(dhis2: Dhis2) -> dict[tuple, str]:
    """The source's values of the transfer's scope under the destination's identifiers, from
    the simulator's state and the transfer's mapping rows: a row for the exact option combo
    wins, a row with a blank combo maps the element and keeps the combo, and values with no
    row are skipped (the transfer's `unmapped` is "skip")."""
    rows = {
        (m.source_data_element, m.source_category_option_combo): (
            m.target_data_element,
            m.target_category_option_combo,
        )
        for m in dhis2.transfer.mappings.all()
    }
    out = {}
    for v in dhis2.source.data_values(data_set=RCH):
        if v["period"] != PERIOD or v["orgUnit"] != KNOWN_FACILITY:
            continue
        de, coc = v["dataElement"], v["categoryOptionCombo"]
        if (de, coc) in rows:
            out[rows[(de, coc)]] = v["value"]
        elif (de, "") in rows:
            out[(rows[(de, "")][0], coc)] = v["value"]
    return out


def test_the_command_runs_the_transfer_and_the_destination_holds_its_values(
    dhis2: Dhis2, capsys
) -> None:
    call_command("transfer", "Monthly RCH")
    run = Run.objects.get()
    assert (run.trigger, run.status, run.title) == ("cli", "succeeded", "Transfer: Monthly RCH")
    assert run.target == f"transfer:{dhis2.transfer.pk}"
    stored = {
        (v["dataElement"], v["categoryOptionCombo"]): v["value"]
        for v in dhis2.destination.data_values()
        if v["orgUnit"] == KNOWN_FACILITY and v["period"] == PERIOD
    }
    assert stored == expected_on_destination(dhis2) and stored
    assert f"Run #{run.pk}: succeeded" in capsys.readouterr().out


def test_the_command_finds_a_transfer_by_id_and_a_dry_run_writes_nothing(dhis2: Dhis2) -> None:
    before = dhis2.destination.data_values()
    call_command("transfer", str(dhis2.transfer.pk), "--dry-run")
    run = Run.objects.get()
    assert run.params["dry_run"] is True and run.title == "Dry run: Monthly RCH"
    assert dhis2.destination.data_values() == before


def test_the_command_refuses_while_the_transfer_runs_elsewhere(
    dhis2: Dhis2, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        active = start_transfer(dhis2.transfer, user=None, trigger=Run.Trigger.WEB)
    with pytest.raises(CommandError, match=f"already queued as run #{active.pk}"):
        call_command("transfer", "Monthly RCH")
    assert dhis2.imports() == 0


def test_an_unknown_transfer_is_named_with_the_ones_there_are(dhis2: Dhis2) -> None:
    with pytest.raises(CommandError, match=r"No transfer named or numbered 'Nightly'.*Monthly RCH"):
        call_command("transfer", "Nightly")
