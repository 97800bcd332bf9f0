"""Large transfers through a faulty destination lose nothing (issue 13, "Faults").

A real `qcluster` worker moves 51,000 aggregate values and 10,000 events between simulators
served on loopback while the destination misbehaves the way a busy DHIS2 behind nginx does:
a share of POSTs answered 502/503 by the proxy (and, for data values, DHIS2's own transient
500 WebMessage), connections reset, a 504 for payloads above a size and latency on every
request. The assertions compare the destination's full state with the source's, value by value
and event by event, and read the run's figures and log for the retries and splits.

The fault draws are seeded, but imports are in flight at once (the platform's defaults) and
polls follow the clock, so the order of the draws varies from run to run. At 25 % faults a
request fails five times in a row about once in a thousand, and a run makes hundreds; the
worker here retries up to ten times (`DHIS2_MAX_ATTEMPTS`), which makes a request that fails
for good about one in a million, so the test checks that nothing is lost, not luck. The
figures are printed (`-s`) for the report.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from django_q.conf import Conf

from dhis2.periods import relative_periods
from jobs.models import Run
from simulator import Faults, Simulator
from tests.conftest import Served, served_profile
from tests.e2e.conftest import E2E_TODAY, wait_for
from tests.e2e.worker import Worker
from tracker.services import save_event_transfer, start_event_transfer
from transfers.models import Transfer, TransferConflict
from transfers.services import start_transfer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: 125 facilities x 17 data elements x 4 option combos x 6 months = 51,000 values.
AGGREGATE_SHAPE = {"depth": 3, "width": 5, "data_elements": 17, "periods": 6}
AGGREGATE_VALUES = 125 * 17 * 4 * 6
#: 100 facilities, 10,000 events of a program without registration.
EVENT_SHAPE = {"depth": 2, "width": 10, "data_elements": 3, "with_values": False}
EVENTS = 10_000


def _bench(version: str, **options) -> Simulator:
    return Simulator(
        version, "bench", dataset_options={"today": E2E_TODAY, **options}, tracker_job_delay=0.05
    )


def _serve(source: Simulator, destination: Simulator, name: str) -> Iterator[Served]:
    with served_profile(
        source,
        destination,
        name=name,
        source_name=f"{name} source",
        destination_name=f"{name} destination",
        timeout=30,
    ) as served:
        yield served


def root_org_unit(sim: Simulator) -> str:
    return next(o["id"] for o in sim.metadata("organisationUnits") if o["level"] == 1)


@pytest.fixture
def worker(transactional_db, monkeypatch) -> Iterator[Worker]:
    """A real `qcluster` on the test database (tracker jobs polled every 50 ms, ten attempts per
    request: see the module docstring) that executes the runs: the test process is in
    django-q2's sync mode, which would run them inline."""
    monkeypatch.setattr(Conf, "SYNC", False)
    started = Worker("faults", DHIS2_MAX_ATTEMPTS="10").start()
    try:
        yield started
    finally:
        started.stop()


def succeeded(start: Callable[[], Run], worker: Worker, timeout: float = 300) -> tuple[Run, float]:
    """Start a run with `start()`, wait for `worker` to finish it and check that it succeeded;
    the run, and the seconds from start to finish for the report."""
    began = time.monotonic()
    run = start()
    done = wait_for(lambda: Run.objects.get(pk=run.pk).status in Run.FINISHED, timeout, 0.5)
    run.refresh_from_db()
    seconds = time.monotonic() - began
    assert done, f"run still {run.status} after {timeout} s; worker log:\n{worker.log()}"
    assert run.status == Run.Status.SUCCEEDED, run.error
    return run, seconds


def value_keys(values: list[dict]) -> Counter:
    """Every stored value as (identity, value), counted: a duplicate would count twice."""
    keys = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")
    return Counter((*(v[k] for k in keys), v["value"]) for v in values)


def payload_bytes(values: list[dict], data_set: str) -> int:
    """Size of an import body with these values, in the compact JSON the client sends."""
    fields = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")
    body = {
        "dataSet": data_set,
        "dataValues": [{k: v[k] for k in (*fields, "value")} for v in values],
    }
    return len(json.dumps(body, separators=(",", ":")))


def log_text(run: Run) -> str:
    return "\n".join(e.message for e in run.log_entries.all())


# --- aggregate values -------------------------------------------------------------------------


@pytest.fixture
def aggregate(worker) -> Iterator[Served]:
    source = _bench("2.40.4.1", **AGGREGATE_SHAPE)
    destination = _bench("2.40.4.1", **AGGREGATE_SHAPE, with_values=False)
    yield from _serve(source, destination, "Faults aggregate")


def test_51000_values_through_a_faulty_destination_all_land_once(
    aggregate: Served, worker: Worker
) -> None:
    src, dst = aggregate.source, aggregate.destination
    data_set = src.metadata("dataSets")[0]["id"]
    root = root_org_unit(src)
    today = date.fromisoformat(E2E_TODAY)
    periods = [p.id for p in relative_periods("Monthly", "LAST_N", today=today, n=6)]
    source_values = src.data_values(data_set=data_set)
    assert len(source_values) == AGGREGATE_VALUES  # the source is what the shape says
    # The proxy refuses bodies above 700 values' worth of JSON with a 504 (after its timeout).
    limit = payload_bytes(source_values[:700], data_set)
    dst.set_faults(
        Faults(
            error_rate=0.2,  # of POSTs: 5xx ...
            server_error_share=1 / 3,  # ... a third of them DHIS2's own 500 WebMessage
            reset_rate=0.05,
            max_payload_bytes=limit,
            latency_ms=5,
            seed=13,
        )
    )
    transfer = Transfer.objects.create(
        name="Faulty 51k",
        profile=aggregate.profile,
        data_set=data_set,
        periods=periods,
        org_units=[root],
        chunk_size=2000,  # the default: every chunk is over the limit and must be split
        async_import=Transfer.AsyncImport.NEVER,
    )
    run, seconds = succeeded(lambda: start_transfer(transfer, user=None, trigger="cli"), worker)

    stored = value_keys(dst.data_values(data_set=data_set))
    assert stored == value_keys(source_values)  # 0 lost, 0 duplicated, every value as sent
    assert max(stored.values()) == 1
    assert not TransferConflict.objects.filter(run=run).exists()  # no "HTTP 500" conflicts
    stats = run.stats
    assert stats["imported"] == AGGREGATE_VALUES and stats["conflicts"] == 0
    assert stats["retries"] > 0 and stats["splits"] > 0
    # What the destination met: every fault kind, including DHIS2's own 500, answered.
    faults = Counter(e.fault for e in dst.requests("POST", "dataValueSets") if e.fault)
    assert {"reset", "error 500", "payload timeout"} <= set(faults)
    assert faults["error 502"] + faults["error 503"] > 0
    log = log_text(run)
    assert "Retrying" in log or "retrying" in log
    assert "split" in log.lower()
    print(
        f"\n51,000 values under faults: {seconds:.1f} s, status {run.status}, "
        f"retries {stats['retries']}, splits {stats['splits']}, chunks {stats['chunks']}, "
        f"faults met {dict(faults)}"
    )


# --- events ----------------------------------------------------------------------------------


@pytest.fixture
def events_pair(worker) -> Iterator[Served]:
    source = _bench("2.41.0", **EVENT_SHAPE, events=EVENTS)
    destination = _bench("2.41.0", **EVENT_SHAPE, program=True)
    yield from _serve(source, destination, "Faults events")


def test_10000_events_through_a_faulty_destination_all_land_once(
    events_pair: Served, worker: Worker
) -> None:
    src, dst = events_pair.source, events_pair.destination
    program = src.metadata("programs")[0]["id"]
    root = root_org_unit(src)
    source_events = {e["event"]: e for e in src.events(program)}
    assert len(source_events) == EVENTS
    dst.set_faults(
        Faults(error_rate=0.2, reset_rate=0.05, max_payload_bytes=60_000, latency_ms=5, seed=13)
    )
    transfer = save_event_transfer(
        None, data={"name": "Faulty 10k", "profile": events_pair.profile, "program": program,
                    "org_units": [root]},
    )  # fmt: skip
    run, seconds = succeeded(
        lambda: start_event_transfer(transfer, user=None, trigger="cli"), worker
    )

    stored = [e for e in dst.events(program) if not e.get("deleted")]
    assert Counter(e["event"] for e in stored) == Counter(list(source_events))  # each once
    for event in stored:  # and with the source's data values
        values = {d["dataElement"]: d["value"] for d in event["dataValues"]}
        expected = {
            d["dataElement"]: d["value"] for d in source_events[event["event"]]["dataValues"]
        }
        assert values == expected
    stats = run.stats
    assert stats["created"] == EVENTS and stats["errors"] == 0
    faults = Counter(e.fault for e in dst.requests("POST", "tracker") if e.fault)
    assert faults["reset"] > 0 and faults["error 502"] + faults["error 503"] > 0
    assert faults["payload timeout"] > 0
    # Every batch is over the proxy's limit: each was split (not resent whole), and the log says
    # so, as it says which POSTs were retried.
    assert stats.get("splits", 0) >= EVENTS // 200 and stats["retries"] > 0
    log = log_text(run)
    assert "Retrying" in log and "splitting them in two" in log
    print(
        f"\n10,000 events under faults: {seconds:.1f} s, status {run.status}, stats {stats}, "
        f"faults met {dict(faults)}"
    )
