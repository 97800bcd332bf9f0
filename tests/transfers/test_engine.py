"""Engine end to end against two in-process simulators (demo source -> demo destination)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Simulator
from simulator.datasets import DEMO, DEMO_MAPPING, DEMO_MISSING
from simulator.faults import Faults
from transfers.engine import (
    STAT_KEYS,
    MappingRow,
    TransferFailed,
    TransferResult,
    TransferSpec,
    Tuning,
    run_transfer,
)

TODAY = "2024-07-15"
MONTHS = [f"2024{m:02d}" for m in range(1, 7)]
QUARTERS = ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
RCH = DEMO["dataSets"]["RCH Monthly"]
HIV = DEMO["dataSets"]["HIV Quarterly"]
OUS = DEMO["organisationUnits"]
ROOT = OUS["Demoland"]
NOT_NORTH = [OUS["Southern Region"], OUS["Eastern Region"], OUS["Western Region"]]
MISSING_OU = DEMO_MISSING["organisationUnits"][0]
MISSING_DE = DEMO_MISSING["dataElements"][0]
MALARIA = DEMO["dataElements"]["Malaria cases confirmed"]
FAST = Tuning(async_poll_interval=0.01, sleep=lambda s: None)
SEQUENTIAL = Tuning(async_poll_interval=0.01, sleep=lambda s: None, import_concurrency=1)
"""One chunk at a time on the run's thread, for tests of what happens between two requests."""


class Crash(Exception):
    """Stands for a worker that died."""


class Recorder:
    """Observer that records everything; can crash after N checkpoints."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.logs: list[tuple[str, str]] = []
        self.progressed: list[float] = []
        self.messages: list[str] = []
        self.accepted: dict[str, Any] = {}
        self.retries: list[Any] = []
        self.threads: set[int] = set()
        self.crash_after = crash_after

    def _seen(self) -> None:
        self.threads.add(threading.get_ident())

    def log(self, level: str, message: str) -> None:
        self._seen()
        self.logs.append((level, message))

    def progress(self, percent: float, message: str) -> None:
        self._seen()
        self.progressed.append(percent)
        self.messages.append(message)

    def chunk_accepted(self, key: str, summary: Any) -> None:
        self._seen()
        self.accepted[key] = summary
        if self.crash_after is not None and len(self.accepted) >= self.crash_after:
            raise Crash("worker died")

    def retry(self, event: Any) -> None:
        self._seen()
        self.retries.append(event)


def sim(dataset: str, version: str = "2.40.4.1", **options: Any) -> Simulator:
    return Simulator(version, dataset, dataset_options={"today": TODAY, **options})


def connect(target: Simulator, transport: httpx.BaseTransport | None = None) -> Client:
    return Client(
        "http://sim.local",
        BasicAuth("admin", "district"),
        transport=transport or target.transport(),
        retry=RetryPolicy(max_attempts=8, backoff_base=0),
    )


def demo_rows() -> list[MappingRow]:
    rows = [MappingRow(s, None, d, None) for s, d in DEMO_MAPPING["dataElements"].items()]
    rows += [
        MappingRow(MALARIA, s, DEMO_MAPPING["dataElements"][MALARIA], d)
        for s, d in DEMO_MAPPING["categoryOptionCombos"].items()
    ]
    return rows


def spec(**kw: Any) -> TransferSpec:
    options: dict[str, Any] = {
        "data_set": RCH, "target_data_set": None, "periods": MONTHS, "org_units": [ROOT],
        "mappings": demo_rows(), "continue_on_preflight_problems": True, "chunk_size": 400,
    }  # fmt: skip
    options.update(kw)
    return TransferSpec(**options)


def run(
    src: Simulator, dst: Simulator, s: TransferSpec, observer: Recorder | None = None, **kw: Any
) -> TransferResult:
    with (
        connect(src, kw.pop("src_transport", None)) as a,
        connect(dst, kw.pop("dst_transport", None)) as b,
    ):
        return run_transfer(a, b, s, observer or Recorder(), tuning=kw.pop("tuning", FAST))


def stored(target: Simulator) -> dict[tuple, dict]:
    return {
        (v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"],
         v["attributeOptionCombo"]): v
        for v in target.data_values()
    }  # fmt: skip


def expected(
    src: Simulator,
    data_set: str = RCH,
    periods: list[str] = MONTHS,
    org_units: set[str] | None = None,
) -> dict[tuple, str]:
    """What the destination must hold after the demo transfer, computed without the engine."""
    de_map = DEMO_MAPPING["dataElements"]
    coc_map = DEMO_MAPPING["categoryOptionCombos"]
    out = {}
    for v in src.data_values(data_set=data_set):
        if v["period"] not in periods or v["dataElement"] == MISSING_DE:
            continue
        if v["orgUnit"] == MISSING_OU or (org_units and v["orgUnit"] not in org_units):
            continue
        key = (de_map.get(v["dataElement"], v["dataElement"]), v["period"], v["orgUnit"],
               coc_map.get(v["categoryOptionCombo"], v["categoryOptionCombo"]),
               v["attributeOptionCombo"])  # fmt: skip
        out[key] = v["value"]
    return out


def values_of(target: Simulator) -> dict[tuple, str]:
    return {k: v["value"] for k, v in stored(target).items()}


def posts(target: Simulator, path: str = "dataValueSets") -> list:
    return [e for e in target.requests("POST", path) if e.fault is None]


def facilities_under(src: Simulator, roots: list[str]) -> set[str]:
    return {
        o["id"] for o in src.metadata("organisationUnits")
        if o.get("level") == 4 and any(r in o["path"] for r in roots)
    }  # fmt: skip


# ---- full transfer ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.36.13.2", "2.38.7", "2.40.4.1", "2.42.1"])
def test_demo_transfer_lands_exactly_the_expected_values(version: str) -> None:
    src, dst = sim("demo-source", version), sim("demo-destination", version)
    observer = Recorder()
    result = run(src, dst, spec(mark_complete=True), observer)

    assert values_of(dst) == expected(src)
    assert set(result.stats) >= set(STAT_KEYS)
    s = result.stats
    assert s["fetched"] == s["sent"] > 0
    assert s["imported"] == len(expected(src))
    assert s["imported"] + s["ignored"] == s["sent"]
    assert s["chunks"] == -(-s["sent"] // 400)
    # Values of the missing element and the missing facility are reported, not lost.
    codes = {c.object or c.message for c in result.conflicts}
    assert any(MISSING_DE in c for c in codes) and any(MISSING_OU in c for c in codes)
    reported = {v["orgUnit"] for c in result.conflicts for v in c.values}
    assert MISSING_OU in reported
    assert not result.all_chunks_accepted  # rejected values keep the watermark where it is
    assert {p.code for p in result.preflight} >= {"missing_data_element", "missing_org_unit"}
    # Unmapped elements went by UID, unchanged, and are counted.
    assert s["unmapped"] == sum(r["count"] for r in result.unmapped)
    assert {r["action"] for r in result.unmapped} == {"sent"}
    # Completeness: one registration per (org unit, period, AOC) that stored values.
    stored_pairs = {(k[2], k[1]) for k in expected(src)}
    registered = {(r["organisationUnit"], r["period"]) for r in dst.completions(RCH)}
    assert registered == stored_pairs and s["completed_registrations"] == len(stored_pairs)
    assert observer.progressed[-1] == 100.0
    assert observer.threads == {threading.get_ident()}


def test_a_rerun_changes_nothing() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    run(src, dst, spec())
    before = stored(dst)
    second = run(src, dst, spec())
    assert stored(dst) == before  # same values and the same lastUpdated: nothing written
    s = second.stats
    assert s["imported"] == 0 and s["updated"] + s["ignored"] == s["sent"]


def test_dry_run_posts_dry_run_and_writes_nothing() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    observer = Recorder()
    result = run(src, dst, spec(dry_run=True, mark_complete=True), observer)
    assert dst.data_values() == [] and dst.completions() == []
    assert posts(dst) and all(e.params["dryRun"] == ["true"] for e in posts(dst))
    assert posts(dst, "completeDataSetRegistrations") == []
    assert observer.accepted == {}  # nothing checkpointed
    assert result.dry_run and result.stats["imported"] == len(expected(src))
    assert result.message.startswith("Dry run")
    assert result.conflicts  # the conflicts that would occur are shown


# ---- failures, retries, splitting, resume ---------------------------------------------------


def test_502s_and_a_payload_limit_still_land_every_value() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    dst.set_faults(Faults(error_rate=0.2, max_payload_bytes=30_000, seed=11))
    observer = Recorder()
    result = run(src, dst, spec(chunk_size=1000, mark_complete=True), observer)
    assert values_of(dst) == expected(src)
    s = result.stats
    assert s["retries"] > 0 and s["splits"] > 0
    assert len(observer.retries) == s["retries"]
    assert any(e.fault == "payload timeout" for e in dst.request_log)
    assert s["imported"] == len(expected(src))


def test_fetch_retries_are_reported_on_the_callers_thread() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    src.set_faults(Faults(error_rate=0.3, seed=5, methods={"GET"}))
    observer = Recorder()
    result = run(src, dst, spec(max_concurrency=4, org_units=NOT_NORTH), observer)
    assert result.stats["retries"] == len(observer.retries) > 0
    assert observer.threads == {threading.get_ident()}
    assert values_of(dst) == expected(src, org_units=facilities_under(src, NOT_NORTH))


def _hiv_spec(**kw: Any) -> TransferSpec:
    return spec(
        **{"data_set": HIV, "periods": QUARTERS, "org_units": NOT_NORTH, "chunk_size": 20, **kw}
    )


@pytest.mark.parametrize("tuning", [SEQUENTIAL, FAST], ids=["sequential", "concurrent"])
def test_resume_after_a_crash_sends_only_the_rest(tuning: Tuning) -> None:
    """Concurrent: chunks after the 4th may already be posted (in flight) when the worker
    dies at the 4th checkpoint; they are not checkpointed, so the resume sends them again."""
    src = sim("demo-source")
    reference = sim("demo-destination")
    clean = run(src, reference, _hiv_spec())
    assert clean.all_chunks_accepted and clean.stats["chunks"] > 8

    dst = sim("demo-destination")
    crashed = Recorder(crash_after=4)
    with pytest.raises(Crash):
        run(src, dst, _hiv_spec(), crashed, tuning=tuning)
    assert len(crashed.accepted) == 4
    in_flight = tuning.import_concurrency - 1  # at most, besides the 4th chunk itself
    assert 4 <= len(posts(dst)) <= 4 + in_flight
    dst.clear_request_log()

    resumed = run(src, dst, _hiv_spec(accepted_chunks=frozenset(crashed.accepted)), tuning=tuning)
    s = resumed.stats
    assert s["skipped_chunks"] == 4 and s["skipped_values"] == 80
    assert len(posts(dst)) == clean.stats["chunks"] - 4
    assert s["sent"] == clean.stats["sent"] - 80
    assert resumed.all_chunks_accepted
    assert values_of(dst) == values_of(reference)


def test_a_changed_source_value_is_resent_on_resume() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    first = Recorder()
    run(src, dst, _hiv_spec(), first)
    key, value = next(iter(expected(src, HIV, QUARTERS, facilities_under(src, NOT_NORTH)).items()))
    with connect(src) as client:
        client.post_json("dataValueSets", {"dataValues": [{
            "dataElement": key[0], "period": key[1], "orgUnit": key[2],
            "categoryOptionCombo": key[3], "attributeOptionCombo": key[4],
            "value": str(int(value) + 1)}]})  # fmt: skip
    again = run(src, dst, _hiv_spec(accepted_chunks=frozenset(first.accepted)))
    assert again.stats["skipped_chunks"] == len(first.accepted) - 1
    assert stored(dst)[key]["value"] == str(int(value) + 1)


def test_conflicts_report_error_codes_and_values() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    dst.lock_period(RCH, "202406")
    result = run(src, dst, spec())
    by_code = {c.error_code: c for c in result.conflicts}
    assert {"E7610", "E7612", "E7640"} <= set(by_code)
    assert {v["orgUnit"] for v in by_code["E7612"].values} == {MISSING_OU}
    assert {v["dataElement"] for v in by_code["E7610"].values} == {MISSING_DE}
    assert {v["period"] for v in by_code["E7640"].values} == {"202406"}
    assert result.stats["conflicts"] == sum(c.count for c in result.conflicts)
    assert not any(k[1] == "202406" for k in stored(dst))


# ---- incremental --------------------------------------------------------------------------


def test_incremental_sends_only_changed_values() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    first = run(src, dst, _hiv_spec())
    watermark = first.server_time  # the source's clock, as the task keeps it (not ours)
    assert watermark is not None
    changes = list(expected(src, HIV, QUARTERS, facilities_under(src, NOT_NORTH)).items())[:3]
    with connect(src) as client:
        client.post_json("dataValueSets", {"dataValues": [
            {"dataElement": k[0], "period": k[1], "orgUnit": k[2], "categoryOptionCombo": k[3],
             "attributeOptionCombo": k[4], "value": str(int(v) + 5)} for k, v in changes
        ]})  # fmt: skip
    src.clear_request_log()
    result = run(src, dst, _hiv_spec(last_updated=watermark))
    assert result.stats["fetched"] == result.stats["sent"] == 3
    assert all(e.params["lastUpdated"] for e in src.requests("GET", "dataValueSets"))
    assert all(stored(dst)[k]["value"] == str(int(v) + 5) for k, v in changes)
    assert result.all_chunks_accepted and result.server_time is not None


def test_incremental_parameter_uses_the_source_time_zone() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    inner = src.transport()

    class Nairobi(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if request.url.path.endswith("/system/info"):
                info = response.json()
                info["serverTimeZoneId"] = "Africa/Nairobi"
                return httpx.Response(200, json=info)
            return response

    watermark = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    observer = Recorder()
    run(src, dst, _hiv_spec(last_updated=watermark), observer, src_transport=Nairobi())
    sent = {v for e in src.requests("GET", "dataValueSets") for v in e.params["lastUpdated"]}
    assert sent == {"2024-03-01T09:30:00"}
    assert any("Africa/Nairobi" in m for _, m in observer.logs)


# ---- other options ------------------------------------------------------------------------


def test_deletions_on_the_source_are_propagated() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    run(src, dst, _hiv_spec())
    key = next(iter(expected(src, HIV, QUARTERS, facilities_under(src, NOT_NORTH))))
    with connect(src) as client:
        client.post_json("dataValueSets", {"dataValues": [dict(zip(
            ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo"),
            key, strict=True))]}, params={"importStrategy": "DELETE"})  # fmt: skip
    result = run(src, dst, _hiv_spec(include_deleted=True))
    assert key not in stored(dst)
    assert result.stats["deleted"] >= 1
    created_only = run(src, dst, _hiv_spec(include_deleted=True, import_strategy="CREATE"))
    assert created_only.stats["deletions_skipped"] >= 1


def test_async_import_end_to_end() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    result = run(src, dst, _hiv_spec(async_import=True, chunk_size=500))
    assert values_of(dst) == expected(src, HIV, QUARTERS, facilities_under(src, NOT_NORTH))
    assert all(e.params["async"] == ["true"] for e in posts(dst))
    assert result.all_chunks_accepted


def test_code_scheme_matches_objects_by_code() -> None:
    """ANC 4th visit has another UID and code on the destination; OU codes are shared."""
    src, dst = sim("demo-source"), sim("demo-destination")
    anc4 = DEMO["dataElements"]["ANC 4th visit"]
    rows = [MappingRow("DE_ANC4", None, "ANC_4", None)]
    result = run(src, dst, spec(id_scheme="CODE", mappings=rows, org_units=NOT_NORTH))
    dst_anc4 = DEMO_MAPPING["dataElements"][anc4]
    landed = {k for k in stored(dst) if k[0] == dst_anc4}
    source = {k[1:] for k in expected(src, org_units=facilities_under(src, NOT_NORTH))
              if k[0] == dst_anc4}  # fmt: skip
    assert {k[1:] for k in landed} == source and landed
    # Disaggregated values: the demo option combos have no codes, so they are reported.
    assert any(r["reason"] == "no identifier on the source" for r in result.unmapped)
    assert "missing_code" in {p.code for p in result.preflight}
    assert all(e.params["idScheme"] == ["CODE"] for e in posts(dst))


@pytest.mark.parametrize("tuning", [SEQUENTIAL, FAST], ids=["sequential", "concurrent"])
def test_failure_midway_raises_with_partial_result(tuning: Tuning) -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    dst.set_faults(Faults(error_rate=1.0, seed=1))
    with pytest.raises(TransferFailed, match="did not accept data") as info:
        run(src, dst, _hiv_spec(), tuning=tuning)
    partial = info.value.result
    assert partial is not None and not partial.all_chunks_accepted
    # 8 attempts (7 retries) for the first chunk; concurrently, also for each chunk that was
    # in flight beside it, and nothing is sent after the first chunk failed.
    attempts = len(dst.requests("POST", "dataValueSets"))  # every one answered 503
    chunks_sent = attempts // 8
    assert attempts % 8 == 0 and 1 <= chunks_sent <= tuning.import_concurrency
    assert partial.stats["retries"] == 7 * chunks_sent
    assert partial.stats["sent"] == 0 and partial.stats["chunks"] == chunks_sent


@pytest.mark.slow
def test_a_100k_value_transfer_runs_in_seconds() -> None:
    from simulator.builder import stable_uid

    options = {"width": 5, "depth": 3, "data_elements": 34}
    src = sim("bench", **options)
    dst = sim("bench", **options, with_values=False)
    started = time.perf_counter()
    result = run(src, dst, spec(data_set=stable_uid("bench:ds"), mappings=[],
                                org_units=[stable_uid("bench:ou:root")]))  # fmt: skip
    elapsed = time.perf_counter() - started
    assert result.stats["imported"] == 102_000 == dst.snapshot()["dataValues"]
    assert elapsed < 30, f"100k values took {elapsed:.1f} s"


class AnswerSizes(httpx.BaseTransport):
    """The source simulator, noting how many values each data value answer held."""

    def __init__(self, target: Simulator) -> None:
        self.inner = target.transport()
        self.sizes: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "GET" and request.url.path.endswith("/dataValueSets"):
            response.read()
            self.sizes.append(len(json.loads(response.content).get("dataValues") or []))
        return response


def test_large_forms_are_read_in_smaller_answers() -> None:
    """A source request covers as many org units as keep its answer within
    `Tuning.values_per_request` (an answer is decoded whole, so memory follows its size):
    the same values land, read in more and smaller answers."""
    from simulator.builder import stable_uid

    options = {"width": 3, "depth": 3, "data_elements": 5, "periods": 6}  # 27 facilities
    s = spec(data_set=stable_uid("bench:ds"), mappings=[], org_units=[stable_uid("bench:ou:root")])
    landed = []
    sizes = []
    for most in (None, 45):  # 5 elements x 4 combos: 20 values per facility and month
        src, dst = sim("bench", **options), sim("bench", **options, with_values=False)
        watch = AnswerSizes(src)
        tuning = Tuning(async_poll_interval=0.01, sleep=lambda s: None, values_per_request=most)
        result = run(src, dst, s, src_transport=watch, tuning=tuning)
        assert result.stats["imported"] == 27 * 20 * 6 == dst.snapshot()["dataValues"]
        assert result.stats["fetch_requests"] == len(watch.sizes)
        landed.append(values_of(dst))
        sizes.append(watch.sizes)
    assert landed[0] == landed[1]
    assert max(sizes[0]) == 27 * 20  # one answer per month for the whole tree
    assert max(sizes[1]) == 2 * 20 < len(sizes[1])  # two facilities per answer at most


def test_the_collector_skips_older_objects_only_while_a_run_lasts() -> None:
    """Full passes of the garbage collector leave out what existed before the run (the
    worker's Django objects) during the run, and look at everything again after it; a process
    that froze objects itself keeps them frozen."""
    import gc

    class Frozen(Recorder):
        def progress(self, percent: float, message: str) -> None:
            super().progress(percent, message)
            self.frozen.append(gc.get_freeze_count())

    observer = Frozen()
    observer.frozen = []  # type: ignore[attr-defined]
    run(sim("demo-source"), sim("demo-destination"), spec(org_units=NOT_NORTH), observer)
    assert max(observer.frozen) > 0  # type: ignore[attr-defined]
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        # Frozen objects can still be freed by their reference counts, so the count may drop
        # a little; what must not happen is the run unfreezing them (the count going to 0).
        again = Frozen()
        again.frozen = []  # type: ignore[attr-defined]
        run(sim("demo-source"), sim("demo-destination"), spec(org_units=NOT_NORTH), again)
        assert min(again.frozen) > 0  # type: ignore[attr-defined]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
