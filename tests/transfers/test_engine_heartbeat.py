"""Heartbeat during long steps (parts, retries, async job polling) and counts kept on abort.

The task layer reaps a run whose `observer.progress` stays silent too long and cancels a run
through an exception raised by `progress`, so the engine must report from inside a chunk, and
let that exception through unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from dhis2.errors import Dhis2Timeout
from simulator import Simulator
from simulator.faults import Faults
from tests.transfers.test_engine import (
    HIV,
    NOT_NORTH,
    QUARTERS,
    SEQUENTIAL,
    Recorder,
    connect,
    posts,
    run,
    sim,
    spec,
    values_of,
)
from tests.transfers.test_engine_sending import API, BASE, chunk, importer, load, ok_for, vals
from transfers.engine import TransferFailed, TransferSpec, Tuning, run_transfer
from transfers.sending import ChunkOutcome, ImportAborted

FAST = Tuning(async_poll_interval=0.01, sleep=lambda s: None)


class Cancelled(Exception):
    """Stands for the task layer's RunCancelled."""


@pytest.fixture
def client():
    with Client(BASE, BasicAuth("admin", "district"),
                retry=RetryPolicy(max_attempts=3, backoff_base=0)) as c:  # fmt: skip
        yield c


def hiv(**kw: Any) -> TransferSpec:
    return spec(data_set=HIV, periods=QUARTERS, org_units=NOT_NORTH, chunk_size=20, **kw)


# ---- importer -------------------------------------------------------------------------------


def test_progress_after_every_part_and_before_every_retry_wait(client: Client) -> None:
    reported: list[str] = []
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(side_effect=[
            httpx.Response(504, text="Gateway Timeout"),  # 10 values: split
            httpx.Response(503, text="Service Unavailable"),  # first half: retried
            ok_for,
            ok_for,
        ])  # fmt: skip
        outcome = importer(client, progress=reported.append).send(chunk(vals(10)))
    assert outcome.summary.accepted and outcome.summary.posted == 10
    assert reported == [
        "HTTP_504: splitting 10 values in two",
        "retrying in 0 s after HTTP 503",
        "5 of 10 values answered",
        "10 of 10 values answered",
    ]


def _async_job(mock: respx.MockRouter, notes: list[Any]) -> tuple[str, respx.Route]:
    job = load("dataValueSets-post-async-job-response.docs-2.40.json")
    job_id = job["response"]["id"]
    mock.post("/dataValueSets").mock(return_value=httpx.Response(200, json=job))
    tasks = mock.get(f"/system/tasks/DATAVALUE_IMPORT/{job_id}").mock(
        side_effect=[httpx.Response(200, json=n) for n in notes]
    )
    mock.get(f"/system/taskSummaries/DATAVALUE_IMPORT/{job_id}").mock(side_effect=[
        httpx.Response(200, content=b""),  # the summary is not ready yet: polled again
        httpx.Response(200, json=load(
            "system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json")),
    ])  # fmt: skip
    return job_id, tasks


def test_async_job_polling_is_a_heartbeat(client: Client) -> None:
    reported: list[str] = []
    running = [{"level": "INFO", "message": "Importing data values", "completed": False}]
    with respx.mock(base_url=API) as mock:
        job_id, _ = _async_job(mock, [[], running, running, [{**running[0], "completed": True}]])
        outcome = importer(client, async_mode=True, progress=reported.append).send(chunk(vals(3)))
    assert outcome.summary.async_jobs == 1
    waiting = f"waiting for DHIS2 import job {job_id}"
    # Before the first poll, between every two polls (also while the job has no notification
    # and while its summary is not ready), with DHIS2's own message when it has one.
    assert reported.count(waiting) == 5
    assert reported.count(f"{waiting}: Importing data values") == 3
    assert reported[-1] == "3 of 3 values answered"


@pytest.mark.parametrize(
    "stop", [Cancelled("cancel requested"), Dhis2Timeout("a Dhis2Error-typed stop")]
)
def test_an_exception_from_progress_during_polling_propagates(
    client: Client, stop: Exception
) -> None:
    calls = []

    def progress(message: str) -> None:
        calls.append(message)
        if len(calls) == 2:
            raise stop

    running = [{"level": "INFO", "message": "Importing", "completed": False}]
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        _, tasks = _async_job(mock, [running, running, running])
        with pytest.raises(type(stop)) as info:
            importer(client, async_mode=True, progress=progress).send(chunk(vals(3)))
    assert info.value is stop  # neither swallowed nor turned into ImportAborted
    assert tasks.call_count == 1


def test_an_abort_midway_keeps_the_counts_of_the_answered_parts(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(side_effect=[
            httpx.Response(504, text="Gateway Timeout"),
            ok_for,  # the first 5 values are stored
            *[httpx.Response(503, text="Service Unavailable")] * 3,
        ])  # fmt: skip
        c = chunk(vals(10))
        outcome = ChunkOutcome.start(c)
        with pytest.raises(ImportAborted):
            importer(client).send(c, outcome)
    s = outcome.summary
    assert (s.imported, s.posted, s.splits, s.requests) == (5, 5, 1, 1)
    assert [v.org_unit for v in outcome.stored] == [f"ou{i:03d}" for i in range(5)]


# ---- engine ---------------------------------------------------------------------------------


class Watch(httpx.BaseTransport):
    """The destination simulator, noting how many heartbeats preceded each import request."""

    def __init__(self, target: Simulator, observer: Recorder) -> None:
        self.inner = target.transport()
        self.observer = observer
        self.beats: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if any(p in path for p in ("dataValueSets", "system/task", "completeDataSet")):
            self.beats.append((f"{request.method} {path}", len(self.observer.progressed)))
        return self.inner.handle_request(request)


@pytest.mark.parametrize("async_import", [False, True], ids=["sync", "async"])
def test_every_import_request_is_preceded_by_a_heartbeat(async_import: bool) -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    dst.set_faults(Faults(error_rate=0.2, max_payload_bytes=3_000, seed=3))
    observer = Recorder()
    watch = Watch(dst, observer)
    s = hiv(async_import=async_import, mark_complete=True)
    result = run(src, dst, s, observer, dst_transport=watch, tuning=Tuning(
        async_poll_interval=0.01, sleep=lambda s: None, completion_batch=10,
        import_concurrency=1))  # fmt: skip
    assert result.stats["retries"] > 0 and result.stats["splits"] > 0
    counts = [n for _, n in watch.beats]
    assert len(counts) > 20
    gaps = [watch.beats[i] for i in range(1, len(counts)) if counts[i] <= counts[i - 1]]
    assert gaps == []
    assert any(m.startswith("Importing chunk 1 of ~") for m in observer.messages)
    if async_import:
        assert any("waiting for DHIS2 import job" in m for m in observer.messages)
    assert any(m.startswith("Registering completeness: 10 of ") for m in observer.messages)


def test_a_cancellation_while_waiting_for_an_import_job_stops_the_run() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")

    class Cancelling(Recorder):
        def progress(self, percent: float, message: str) -> None:
            super().progress(percent, message)
            if "waiting for DHIS2 import job" in message:
                raise Cancelled("cancel requested")

    with pytest.raises(Cancelled):
        run(src, dst, hiv(async_import=True), Cancelling(), tuning=SEQUENTIAL)
    assert len(posts(dst)) == 1


class Breaks(httpx.BaseTransport):
    """Too big above 10 values (504); after one accepted import the destination goes down."""

    def __init__(self, target: Simulator) -> None:
        self.inner = target.transport()
        self.accepted = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/dataValueSets"):
            if len(json.loads(request.read())["dataValues"]) > 10:
                return httpx.Response(504, text="Gateway Timeout")
            if self.accepted:
                return httpx.Response(503, text="Service Unavailable")
            self.accepted += 1
        return self.inner.handle_request(request)


def test_an_abort_midway_through_a_chunk_keeps_what_was_stored_in_the_stats() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    observer = Recorder()
    with (
        connect(src) as a,
        connect(dst, Breaks(dst)) as b,
        pytest.raises(TransferFailed, match="did not accept data") as info,
    ):
        run_transfer(a, b, hiv(), observer, tuning=SEQUENTIAL)
    partial = info.value.result
    assert partial is not None and not partial.all_chunks_accepted
    landed = len(values_of(dst))
    assert landed == 10
    s = partial.stats
    assert (s["imported"], s["sent"], s["splits"], s["chunks"]) == (landed, landed, 1, 1)
    assert any("10 answered of 20 values" in m for _, m in observer.logs)
