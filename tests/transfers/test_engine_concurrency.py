"""Concurrent imports (`Tuning.import_concurrency`): chunks posted at once on import threads,
results taken in chunk order on the run's thread.

The destination transports below hold or fail chosen requests so that chunks finish out of
order; what must not change is what a sequential run records: exactly the accepted chunks are
checkpointed, a resume sends only the rest, conflicts and figures are the same, and every
observer call comes from the run's own thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from simulator import Simulator
from tests.transfers.test_engine import (
    FAST,
    RCH,
    SEQUENTIAL,
    Recorder,
    _hiv_spec,
    posts,
    run,
    sim,
    spec,
    values_of,
)
from transfers.engine import TransferFailed

CONCURRENT = replace(FAST, import_concurrency=3)


def _is_import(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/dataValueSets")


class FirstChunkLate(httpx.BaseTransport):
    """The destination, answering the first import it receives only after `others` other
    imports were answered; with `fail_first` that first import then fails with 503 every time
    it is sent (the destination "goes down" for it), the others land."""

    def __init__(self, target: Simulator, *, others: int = 2, fail_first: bool = False) -> None:
        self.inner = target.transport()
        self.others = others
        self.fail_first = fail_first
        self.lock = threading.Lock()
        self.first: bytes | None = None
        self.answered = 0
        self.accepted_bodies: list[bytes] = []
        self.released = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not _is_import(request):
            return self.inner.handle_request(request)
        body = request.read()
        with self.lock:
            mine = self.first is None or self.first == body
            if self.first is None:
                self.first = body
        if mine:
            assert self.released.wait(10), "the other chunks were not sent meanwhile"
            if self.fail_first:
                return httpx.Response(503, text="Service Unavailable")
            return self.inner.handle_request(request)
        response = self.inner.handle_request(request)
        with self.lock:
            self.answered += 1
            self.accepted_bodies.append(body)
            if self.answered >= self.others:
                self.released.set()
        return response


def test_out_of_order_completion_records_what_a_sequential_run_records() -> None:
    src = sim("demo-source")
    reference, dst = sim("demo-destination"), sim("demo-destination")
    seq_observer, observer = Recorder(), Recorder()
    sequential = run(src, reference, _hiv_spec(), seq_observer, tuning=SEQUENTIAL)
    late = FirstChunkLate(dst)
    concurrent = run(src, dst, _hiv_spec(), observer, dst_transport=late, tuning=CONCURRENT)
    assert late.released.is_set()  # chunks 2 and 3 were answered before chunk 1
    assert concurrent.stats == sequential.stats
    assert concurrent.all_chunks_accepted
    # Checkpoints in chunk order, the same keys as the sequential run's.
    assert list(observer.accepted) == list(seq_observer.accepted)
    assert [m for _, m in observer.logs] == [m for _, m in seq_observer.logs]
    assert observer.threads == {threading.get_ident()}
    assert values_of(dst) == values_of(reference)


def test_a_failure_with_chunks_in_flight_checkpoints_the_accepted_and_resume_sends_the_rest():
    src = sim("demo-source")
    reference, dst = sim("demo-destination"), sim("demo-destination")
    clean = run(src, reference, _hiv_spec(), tuning=SEQUENTIAL)
    failing = FirstChunkLate(dst, fail_first=True)
    observer = Recorder()
    with pytest.raises(TransferFailed, match="did not accept data") as info:
        run(src, dst, _hiv_spec(), observer, dst_transport=failing, tuning=CONCURRENT)
    # Chunk 1 failed after chunks 2 and 3 had landed: exactly those two are checkpointed.
    assert failing.answered == 2
    assert len(observer.accepted) == 2
    assert {s.index for s in observer.accepted.values()} == {2, 3}
    partial = info.value.result
    assert partial is not None and not partial.all_chunks_accepted
    assert partial.stats["imported"] == len(values_of(dst)) == 40
    assert partial.stats["chunks"] == 3  # nothing was sent after chunk 1 failed

    dst.clear_request_log()
    resumed = run(
        src, dst, _hiv_spec(accepted_chunks=frozenset(observer.accepted)), tuning=CONCURRENT
    )
    assert resumed.stats["skipped_chunks"] == 2
    assert len(posts(dst)) == clean.stats["chunks"] - 2
    assert resumed.all_chunks_accepted
    assert values_of(dst) == values_of(reference)


def test_conflicts_are_the_same_as_in_a_sequential_run() -> None:
    src = sim("demo-source")
    first, second = sim("demo-destination"), sim("demo-destination")
    for target in (first, second):
        target.lock_period(RCH, "202406")
    sequential = run(src, first, spec(chunk_size=50), tuning=SEQUENTIAL)
    concurrent = run(src, second, spec(chunk_size=50), tuning=CONCURRENT)
    assert sequential.stats["conflicts"] > 0
    assert [c.as_dict() for c in concurrent.conflicts] == [
        c.as_dict() for c in sequential.conflicts
    ]
    assert concurrent.stats == sequential.stats


class Slow(httpx.BaseTransport):
    """The destination, taking `seconds` for every import; notes the most at once."""

    def __init__(self, target: Simulator, seconds: float) -> None:
        self.inner = target.transport()
        self.seconds = seconds
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.done = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not _is_import(request):
            return self.inner.handle_request(request)
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.seconds)
        try:
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.now -= 1
                self.done += 1


@pytest.mark.parametrize("concurrency", [1, 2, 3])
def test_at_most_the_configured_number_of_imports_are_in_flight(concurrency: int) -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    slow = Slow(dst, 0.02)
    result = run(src, dst, _hiv_spec(), dst_transport=slow,
                 tuning=replace(FAST, import_concurrency=concurrency))  # fmt: skip
    assert result.all_chunks_accepted and result.stats["chunks"] > 8
    assert slow.most == concurrency


def test_the_run_beats_while_it_waits_for_imports_in_flight() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    observer = Recorder()
    tuning = replace(CONCURRENT, import_beat=0.02)
    run(src, dst, _hiv_spec(), observer, dst_transport=Slow(dst, 0.15), tuning=tuning)
    assert any(m.endswith("chunk(s) importing") for m in observer.messages)
    assert observer.threads == {threading.get_ident()}


class Cancelled(Exception):
    """Stands for the task layer's RunCancelled."""


def test_a_cancel_with_chunks_in_flight_waits_for_them_and_counts_what_they_stored() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    calls_after: list[Any] = []

    class Cancelling(Recorder):
        cancelled = False

        def progress(self, percent: float, message: str) -> None:
            if self.cancelled:
                calls_after.append(message)
            super().progress(percent, message)
            if message.startswith("Imported chunk 2 "):
                self.cancelled = True
                raise Cancelled("cancel requested")

        def log(self, level: str, message: str) -> None:
            if self.cancelled:
                calls_after.append(message)
            super().log(level, message)

    slow = Slow(dst, 0.05)
    with pytest.raises(Cancelled) as info:
        run(src, dst, _hiv_spec(), Cancelling(), dst_transport=slow, tuning=CONCURRENT)
    sent = len(posts(dst))
    time.sleep(0.2)
    assert len(posts(dst)) == sent and slow.now == 0  # no import thread is left running
    assert 2 < sent <= 2 + CONCURRENT.import_concurrency
    partial = info.value.partial_result  # type: ignore[attr-defined]
    assert partial.stats["imported"] == len(values_of(dst)) == 20 * sent
    assert calls_after == []  # nothing went to the observer after it raised
