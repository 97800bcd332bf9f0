"""Whole event transfers in process against the simulator: 2.41 (tracker API, async jobs) and
2.38 (legacy /api/events), and across versions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Simulator
from simulator.datasets import DEMO, DEMO_MISSING
from tracker.engine import EventTransferSpec, Tuning, run_event_transfer
from tracker.preview import preview_events
from tracker.read import EventQuery
from tracker.write import BatchResult, Polling

TODAY = {"today": "2024-07-15"}
PROGRAM = DEMO["programs"]["Malaria case register"]
ROOT = DEMO["organisationUnits"]["Demoland"]
MISSING_OU = DEMO_MISSING["organisationUnits"][0]  # Kolo Health Post, absent on the destination


@dataclass
class Recorder:
    """Observer of the engine: keeps logs, progress and checkpoints like the task layer would."""

    logs: list[tuple[str, str]] = field(default_factory=list)
    progress_calls: int = 0
    checkpoints: list[str] = field(default_factory=list)
    cancel_after_checkpoints: int | None = None

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    def progress(self, percent: float, message: str) -> None:
        self.progress_calls += 1
        if (
            self.cancel_after_checkpoints is not None
            and len(self.checkpoints) >= self.cancel_after_checkpoints
        ):
            raise KeyboardInterrupt("cancelled")

    def batch_accepted(self, key: str, result: BatchResult) -> None:
        self.checkpoints.append(key)


def _client(sim: Simulator) -> Client:
    return Client(
        "http://sim.local",
        BasicAuth("admin", "district"),
        transport=sim.transport(),
        retry=RetryPolicy(max_attempts=2, backoff_base=0),
    )


@pytest.fixture
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[Simulator, Simulator, Client, Client]]:
    src_version, dst_version, delay = request.param
    src = Simulator(src_version, "demo-source", dataset_options=TODAY)
    dst = Simulator(dst_version, "demo-destination", dataset_options=TODAY, tracker_job_delay=delay)
    source, destination = _client(src), _client(dst)
    yield src, dst, source, destination
    source.close()
    destination.close()
    src.jobs.cancel_all()
    dst.jobs.cancel_all()


FAST = Tuning(polling=Polling(interval=0.02, backoff=1.5, max_interval=0.1, timeout=30))
SPEC = {"program": PROGRAM, "org_units": [ROOT], "batch_size": 40, "page_size": 50}


def _stored(sim: Simulator) -> dict[str, dict[str, Any]]:
    return {e["event"]: e for e in sim.events(PROGRAM) if not e.get("deleted")}


def _values(event: dict[str, Any]) -> dict[str, str]:
    return {v["dataElement"]: v["value"] for v in event["dataValues"]}


VERSIONS = [
    pytest.param(("2.41.0.1", "2.41.0.1", 0.15), id="tracker-2.41"),
    pytest.param(("2.38.7", "2.38.7", 0.0), id="legacy-2.38"),
    pytest.param(("2.38.7", "2.41.0.1", 0.0), id="legacy-to-tracker"),
    pytest.param(("2.41.0.1", "2.36.13.2", 0.0), id="tracker-to-legacy-2.36"),
]


@pytest.mark.parametrize("pair", VERSIONS, indirect=True)
def test_all_events_arrive_once_and_missing_org_unit_is_reported(pair) -> None:
    src, dst, source, destination = pair
    expected = _stored(src)
    at_missing = {uid for uid, e in expected.items() if e["orgUnit"] == MISSING_OU}
    assert len(expected) == 300 and at_missing  # the demo data this test relies on

    recorder = Recorder()
    result = run_event_transfer(
        source, destination, EventTransferSpec(**SPEC), recorder, tuning=FAST
    )

    stored = _stored(dst)
    assert set(stored) == set(expected) - at_missing  # same UIDs: nothing new invented
    for uid, event in stored.items():
        assert _values(event) == _values(expected[uid])
        assert event["occurredAt"][:10] == expected[uid]["occurredAt"][:10]
        assert event["orgUnit"] == expected[uid]["orgUnit"]
    s = result.stats
    assert s["fetched"] == 300 and s["sent"] == 300
    assert s["created"] == 300 - len(at_missing) and s["updated"] == 0
    assert s["batches"] == 8  # ceil(300 / 40)
    assert {e.event for e in result.errors} == at_missing
    assert all(e.org_unit == MISSING_OU for e in result.errors)
    if result.destination_api == "tracker":
        assert {e.code for e in result.errors} == {"E1011"}
        assert s["jobs_polled"] >= 2 * s["batches"]  # every job: status poll(s) + report
    else:
        assert all(MISSING_OU in e.message for e in result.errors)
    assert not result.all_accepted
    # Batches are formed in the order the source answers (newest event first, then UID): only
    # those without an event at the missing facility are complete and checkpointed.
    order = sorted(expected.values(), key=lambda e: (e["occurredAt"], e["event"]), reverse=True)
    batches = [order[i : i + 40] for i in range(0, 300, 40)]
    clean = [b for b in batches if not any(e["orgUnit"] == MISSING_OU for e in b)]
    assert len(recorder.checkpoints) == len(clean)


@pytest.mark.parametrize("pair", VERSIONS[:2], indirect=True)
def test_rerun_creates_no_duplicates(pair) -> None:
    _src, dst, source, destination = pair
    spec = EventTransferSpec(**SPEC)
    run_event_transfer(source, destination, spec, Recorder(), tuning=FAST)
    first = _stored(dst)
    again = run_event_transfer(source, destination, spec, Recorder(), tuning=FAST)
    assert set(_stored(dst)) == set(first)
    assert len(dst.events(PROGRAM)) == len(first)
    assert again.stats["created"] == 0 and again.stats["updated"] == len(first)


@pytest.mark.parametrize("pair", [VERSIONS[0]], indirect=True)
def test_a_job_needing_several_polls_is_awaited(pair) -> None:
    src, dst, source, destination = pair  # the destination's jobs finish after 0.15 s
    spec = EventTransferSpec(**{**SPEC, "batch_size": 300, "page_size": 300})
    result = run_event_transfer(source, destination, spec, Recorder(), tuning=FAST)
    assert result.stats["batches"] == 1
    assert result.stats["jobs_polled"] >= 3  # at least two status polls before done, + report
    assert len(_stored(dst)) == 300 - len(
        [e for e in _stored(src).values() if e["orgUnit"] == MISSING_OU]
    )


@pytest.mark.parametrize("pair", [VERSIONS[1], VERSIONS[0]], indirect=True)
@pytest.mark.parametrize("in_flight", [1, 2, 3])
def test_cancelled_run_resumes_with_the_rest(pair, in_flight: int) -> None:
    src, dst, source, destination = pair
    tuning = replace(FAST, max_in_flight=in_flight)
    # Only the org units the destination has, so every batch is accepted and checkpointed.
    region = DEMO["organisationUnits"]["Southern Region"]
    spec = EventTransferSpec(**{**SPEC, "org_units": [region], "batch_size": 10})
    expected = {u for u, e in _stored(src).items() if e["orgUnit"] != MISSING_OU}
    cancel = Recorder(cancel_after_checkpoints=2)
    with pytest.raises(KeyboardInterrupt):
        run_event_transfer(source, destination, spec, cancel, tuning=tuning)
    # The cancel comes at the report after the 2nd checkpoint; batches already sent by then
    # (up to in_flight - 1 more) are imported by DHIS2 anyway, so they are waited for and
    # checkpointed too: what is stored is exactly what the checkpoints say.
    done = len(cancel.checkpoints)
    assert 2 <= done <= 2 + in_flight - 1
    assert len(_stored(dst)) == 10 * done
    dst.clear_request_log()
    resumed = EventTransferSpec(**{**SPEC, "org_units": [region], "batch_size": 10,
                                   "accepted_batches": frozenset(cancel.checkpoints)})  # fmt: skip
    result = run_event_transfer(source, destination, resumed, Recorder(), tuning=tuning)
    assert result.stats["skipped_batches"] == done and result.stats["updated"] == 0
    assert result.stats["created"] == result.stats["sent"] == len(_stored(dst)) - 10 * done
    assert result.all_accepted
    assert set(_stored(dst)) <= expected


@pytest.mark.parametrize("pair", [VERSIONS[0]], indirect=True)
def test_the_next_batch_is_posted_while_a_job_runs(pair) -> None:
    """Jobs take 0.15 s on this destination: with two batches in flight, the second POST
    arrives before the first job's report is read (each job is still polled to its end)."""
    _src, dst, source, destination = pair
    spec = EventTransferSpec(**{**SPEC, "batch_size": 100, "page_size": 100})
    result = run_event_transfer(
        source, destination, spec, Recorder(), tuning=replace(FAST, max_in_flight=2)
    )
    log = [(e.method, e.path) for e in dst.request_log]
    posts = [i for i, (m, p) in enumerate(log) if m == "POST" and p.endswith("/tracker")]
    reports = [i for i, (m, p) in enumerate(log) if p.endswith("/report")]
    assert len(posts) == 3 == result.stats["batches"]  # 300 events / 100
    assert posts[1] < reports[0]  # overlap
    assert len(reports) >= 3 and result.stats["sent"] == 300
    sequential = run_event_transfer(
        source, destination, spec, Recorder(), tuning=replace(FAST, max_in_flight=1)
    )
    assert sequential.stats["updated"] == result.stats["created"]  # same events, again


@pytest.mark.parametrize("pair", [VERSIONS[0], VERSIONS[1]], indirect=True)
def test_dry_run_writes_nothing_and_shows_failures(pair) -> None:
    src, dst, source, destination = pair
    spec = EventTransferSpec(**{**SPEC, "dry_run": True})
    result = run_event_transfer(source, destination, spec, Recorder(), tuning=FAST)
    assert _stored(dst) == {}
    at_missing = {u for u, e in _stored(src).items() if e["orgUnit"] == MISSING_OU}
    assert {e.event for e in result.errors} == at_missing
    assert not result.all_accepted and result.dry_run


@pytest.mark.parametrize("pair", [VERSIONS[0], VERSIONS[1]], indirect=True)
def test_preview_counts_and_named_values(pair) -> None:
    src, _dst, source, _destination = pair
    north = DEMO["organisationUnits"]["Northern Region"]
    south = DEMO["organisationUnits"]["Southern Region"]
    query = EventQuery(program=PROGRAM, org_units=(north, south))
    preview = preview_events(source, query, sample_size=3)
    in_north = {u for u in src.state.descendants(north)}
    in_south = {u for u in src.state.descendants(south)}
    events = _stored(src).values()
    assert preview.per_org_unit == {
        north: sum(e["orgUnit"] in in_north for e in events),
        south: sum(e["orgUnit"] in in_south for e in events),
    }
    assert preview.count == sum(preview.per_org_unit.values())
    assert len(preview.sample) == 3
    names = {"Patient age in years", "Patient sex", "Malaria test result", "Treated with ACT",
             "Patient weight (kg)"}  # fmt: skip
    assert set(preview.sample[0]["values"]) == names
    assert preview.org_unit_names[north] == "Northern Region"
