"""Transfers end to end: launch -> run -> engine -> two DHIS2 simulators served on loopback.

These go through every layer a user's click goes through (service, job, task, engine, client,
HTTP) and assert on what the destination DHIS2 actually stored.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connections.models import ConnectionProfile, Instance
from jobs.models import Run
from simulator import Faults, Simulator, datasets
from simulator.management.commands.setup_demo import demo_mapping_rows
from tests.conftest import Served, served_profile
from tests.e2e.conftest import e2e_simulator
from transfers import tasks as transfer_tasks
from transfers.models import ChunkCheckpoint, Transfer, TransferConflict, TransferMapping
from transfers.services import start_transfer

pytestmark = pytest.mark.e2e

RCH = datasets.DEMO["dataSets"]["RCH Monthly"]
IDSR = datasets.DEMO["dataSets"]["IDSR Weekly"]
ROOT = datasets.DEMO["organisationUnits"]["Demoland"]
SOUTH = datasets.DEMO["organisationUnits"]["Southern Region"]
MISSING_DE = datasets.DEMO_MISSING["dataElements"][0]
MISSING_OU = datasets.DEMO_MISSING["organisationUnits"][0]


Pair = Served


@pytest.fixture
def pair(db) -> Iterator[Pair]:
    with served_profile(e2e_simulator("demo-source"), e2e_simulator("demo-destination")) as p:
        yield p


def run(transfer: Transfer, capture, **kwargs) -> Run:
    with capture(execute=True):
        launched = start_transfer(transfer, user=None, trigger="cli", **kwargs)
    launched.refresh_from_db()
    return launched


def identities(values: list[dict]) -> set[tuple]:
    keys = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")
    return {(*(v[k] for k in keys), v["value"]) for v in values}


def expected_rch(source: Simulator, periods: list[str]) -> set[tuple]:
    """What the demo RCH transfer must land: every source value, mapped, minus what the
    destination lacks (one data element, one facility)."""
    de_map = datasets.DEMO_MAPPING["dataElements"]
    coc_map = datasets.DEMO_MAPPING["categoryOptionCombos"]
    out = set()
    for v in source.data_values(data_set=RCH):
        if (
            v["period"] not in periods
            or v["dataElement"] == MISSING_DE
            or v["orgUnit"] == MISSING_OU
        ):
            continue
        de = v["dataElement"]
        coc = v["categoryOptionCombo"]
        out.add(
            (
                de_map.get(de, de),
                v["period"],
                v["orgUnit"],
                coc_map.get(coc, coc),
                v["attributeOptionCombo"],
                v["value"],
            )
        )
    return out


def demo_transfer(profile: ConnectionProfile, **fields) -> Transfer:
    transfer = Transfer.objects.create(
        name="RCH",
        profile=profile,
        data_set=RCH,
        relative_period="LAST_3_MONTHS",
        org_units=[ROOT],
        continue_on_preflight_problems=True,
        **fields,
    )
    TransferMapping.objects.bulk_create(
        TransferMapping(transfer=transfer, **r) for r in demo_mapping_rows(RCH)
    )
    return transfer


def test_demo_transfer_lands_exactly_the_mapped_values_and_a_rerun_changes_nothing(
    pair: Pair, django_capture_on_commit_callbacks
) -> None:
    transfer = demo_transfer(pair.profile, mark_complete=True)
    first = run(transfer, django_capture_on_commit_callbacks)
    periods = first.params["resolved_periods"]
    assert periods == ["202404", "202405", "202406"]  # LAST_3_MONTHS on the source's 2024-07-15

    stored = identities(pair.destination.data_values(data_set=RCH))
    assert stored == expected_rch(pair.source, periods)
    # What could not land is reported, with DHIS2's codes, and the run says so.
    assert first.status == Run.Status.WARNING, first.error
    codes = set(TransferConflict.objects.filter(run=first).values_list("error_code", flat=True))
    assert {"E7610", "E7612"} <= codes  # unknown data element, unknown org unit
    assert first.stats["imported"] == len(stored)
    assert first.stats["completed_registrations"] > 0
    assert pair.destination.completions(RCH)

    second = run(transfer, django_capture_on_commit_callbacks)
    assert identities(pair.destination.data_values(data_set=RCH)) == stored
    assert second.stats["imported"] == 0
    assert second.stats["updated"] == first.stats["imported"]
    assert second.stats["conflicts"] == first.stats["conflicts"]
    transfer.refresh_from_db()
    assert transfer.watermark is None  # runs with conflicts never move the watermark


def test_dry_run_writes_nothing(pair: Pair, django_capture_on_commit_callbacks) -> None:
    transfer = demo_transfer(pair.profile, mark_complete=True)
    dry = run(transfer, django_capture_on_commit_callbacks, dry_run=True)
    assert dry.status == Run.Status.WARNING
    assert dry.stats["imported"] > 0  # what would be imported
    assert pair.destination.data_values(data_set=RCH) == []
    assert pair.destination.completions(RCH) == []
    posts = pair.destination.requests("POST")
    assert posts and all("true" in str(e.params.get("dryRun")) for e in posts)


def test_retries_and_splits_under_faults_lose_nothing(
    pair: Pair, django_capture_on_commit_callbacks, settings
) -> None:
    # Chunks import three at a time, so the seeded fault draws come in a different order each
    # run: at 20 % a request fails five times in a row about once in 3,000. Ten attempts make
    # that one in ten million, so the test checks that nothing is lost, not luck.
    settings.DHIS2_MAX_ATTEMPTS = 10
    transfer = demo_transfer(pair.profile, chunk_size=600)
    pair.destination.set_faults(Faults(error_rate=0.2, max_payload_bytes=40_000, seed=7))
    faulty = run(transfer, django_capture_on_commit_callbacks)
    pair.destination.set_faults(Faults())
    periods = faulty.params["resolved_periods"]
    assert identities(pair.destination.data_values(data_set=RCH)) == expected_rch(
        pair.source, periods
    )
    assert faulty.stats["retries"] > 0
    assert faulty.stats["splits"] > 0
    assert faulty.status == Run.Status.WARNING  # only the two known gaps, no lost chunk
    log = " ".join(e.message for e in faulty.log_entries.all())
    assert "Retrying" in log


def in_south(sim: Simulator) -> set[str]:
    return {o["id"] for o in sim.metadata("organisationUnits") if SOUTH in o["path"]}


def idsr_periods(pair: Pair, last: int = 0) -> list[str]:
    periods = sorted({v["period"] for v in pair.source.data_values(data_set=IDSR)})
    return periods[-last:] if last else periods


def idsr_transfer(pair: Pair, periods: list[str], **fields) -> Transfer:
    """The weekly IDSR data set of the Southern Region: nothing in it is missing on the
    destination, so a run without faults ends `succeeded`."""
    return Transfer.objects.create(
        name="IDSR",
        profile=pair.profile,
        data_set=IDSR,
        periods=periods,
        org_units=[SOUTH],
        **fields,
    )


def after_each_accepted_chunk(monkeypatch, then) -> None:
    """Call `then(observer, count)` right after each checkpoint, as a worker would live it."""
    original = transfer_tasks.RunObserver.chunk_accepted
    count = [0]

    def wrapped(self, key, summary) -> None:
        original(self, key, summary)
        count[0] += 1
        then(self, count[0])

    monkeypatch.setattr(transfer_tasks.RunObserver, "chunk_accepted", wrapped)


def test_a_run_killed_midway_resumes_without_resending_accepted_chunks(
    pair: Pair, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    transfer = idsr_transfer(pair, idsr_periods(pair), chunk_size=15)

    def dies_after_three(observer, count: int) -> None:
        if count == 3:
            raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        after_each_accepted_chunk(patch, dies_after_three)
        killed = run(transfer, django_capture_on_commit_callbacks)
    assert killed.status == Run.Status.FAILED
    assert ChunkCheckpoint.objects.filter(run=killed).count() == 3
    posts_before = len(pair.destination.requests("POST", "dataValueSets"))

    resumed = run(transfer, django_capture_on_commit_callbacks, resume_of=killed)
    assert resumed.status == Run.Status.SUCCEEDED, resumed.error
    south = in_south(pair.source)
    expected = [v for v in pair.source.data_values(data_set=IDSR) if v["orgUnit"] in south]
    assert identities(pair.destination.data_values(data_set=IDSR)) == identities(expected)
    resent = pair.destination.requests("POST", "dataValueSets")[posts_before:]
    assert resumed.stats["skipped_chunks"] == 3
    assert len(resent) == resumed.stats["chunks"] - 3
    assert resumed.params["resume_of"] == killed.pk


def test_incremental_sends_only_what_changed_since_the_last_success(
    pair: Pair, django_capture_on_commit_callbacks
) -> None:
    periods = idsr_periods(pair, last=4)
    transfer = idsr_transfer(pair, periods, incremental=True)
    first = run(transfer, django_capture_on_commit_callbacks)
    assert first.status == Run.Status.SUCCEEDED, first.error
    transfer.refresh_from_db()
    assert transfer.watermark is not None
    sent_first = first.stats["sent"]
    assert sent_first > 10

    changed = [
        v
        for v in pair.source.data_values(data_set=IDSR)
        if v["period"] in periods and v["orgUnit"] in in_south(pair.source)
    ][:3]
    body = {
        "dataValues": [
            {
                **{
                    k: v[k]
                    for k in (
                        "dataElement",
                        "period",
                        "orgUnit",
                        "categoryOptionCombo",
                        "attributeOptionCombo",
                    )
                },
                "value": str(int(v["value"]) + 1000),
            }
            for v in changed
        ]
    }
    with httpx.Client(base_url=pair.source_url, auth=("admin", "district")) as http:
        assert http.post("/api/dataValueSets", json=body).status_code == 200

    second = run(transfer, django_capture_on_commit_callbacks)
    assert second.status == Run.Status.SUCCEEDED, second.error
    assert second.stats["fetched"] == 3 and second.stats["sent"] == 3
    stored = {
        (v["dataElement"], v["period"], v["orgUnit"]): v["value"]
        for v in pair.destination.data_values(data_set=IDSR)
    }
    for v in changed:
        assert stored[(v["dataElement"], v["period"], v["orgUnit"])] == str(int(v["value"]) + 1000)


def test_locked_period_is_a_conflict_with_its_code_and_the_run_is_a_warning(
    pair: Pair, django_capture_on_commit_callbacks
) -> None:
    periods = idsr_periods(pair, last=2)
    pair.destination.lock_period(IDSR, periods[0])
    transfer = idsr_transfer(pair, periods)
    result = run(transfer, django_capture_on_commit_callbacks)
    assert result.status == Run.Status.WARNING
    conflicts = TransferConflict.objects.filter(run=result)
    assert conflicts.exists()
    assert {c.period for c in conflicts} == {periods[0]}
    assert all(c.error_code.startswith("E76") for c in conflicts)
    stored_periods = {v["period"] for v in pair.destination.data_values(data_set=IDSR)}
    assert stored_periods == {periods[1]}


def test_unreachable_destination_fails_with_a_readable_message(
    pair: Pair, django_capture_on_commit_callbacks
) -> None:
    Instance.objects.filter(pk=pair.profile.destination_id).update(base_url="http://127.0.0.1:9")
    transfer = demo_transfer(pair.profile)
    failed = run(transfer, django_capture_on_commit_callbacks)
    assert failed.status == Run.Status.FAILED
    assert "127.0.0.1:9" in failed.error
    assert "Traceback" not in failed.error


def test_async_import_polls_the_dhis2_task_and_lands_everything(
    pair: Pair, django_capture_on_commit_callbacks
) -> None:
    periods = idsr_periods(pair, last=2)
    transfer = idsr_transfer(pair, periods, async_import=Transfer.AsyncImport.ALWAYS)
    result = run(transfer, django_capture_on_commit_callbacks)
    assert result.status == Run.Status.SUCCEEDED, result.error
    posts = pair.destination.requests("POST", "dataValueSets")
    assert posts and all("true" in str(e.params.get("async")) for e in posts)
    assert pair.destination.requests("GET", "system/taskSummaries")
    south = in_south(pair.source)
    expected = [
        v
        for v in pair.source.data_values(data_set=IDSR)
        if v["orgUnit"] in south and v["period"] in periods
    ]
    assert identities(pair.destination.data_values(data_set=IDSR)) == identities(expected)


def test_a_cancelled_run_keeps_the_figures_of_what_was_stored(
    pair: Pair, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    transfer = idsr_transfer(pair, idsr_periods(pair), chunk_size=15)

    def cancel_after_two(observer, count: int) -> None:
        if count == 2:  # what a user's Cancel does while the run is importing
            Run.objects.filter(pk=observer.ctx.run_id).update(cancel_requested=True)

    after_each_accepted_chunk(monkeypatch, cancel_after_two)
    cancelled = run(transfer, django_capture_on_commit_callbacks)
    assert cancelled.status == Run.Status.CANCELLED
    stored = len(pair.destination.data_values(data_set=IDSR))
    assert stored >= 30
    assert cancelled.stats["imported"] == stored
    assert cancelled.stats["chunks"] >= 2
