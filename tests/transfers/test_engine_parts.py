"""Engine parts on their own: completeness registrations and the retry relay."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import respx

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryEvent, RetryPolicy
from transfers.completion import register_completeness
from transfers.conflicts import ConflictLog
from transfers.relay import RetryRelay

BASE = "https://destination.example.org"
API = f"{BASE}/api"


def client() -> Client:
    return Client(BASE, BasicAuth("admin", "district"),
                  retry=RetryPolicy(max_attempts=2, backoff_base=0))  # fmt: skip


def registration_summary(imported: int, conflicts: list | None = None, wrap: bool = True) -> dict:
    inner = {
        "responseType": "ImportSummary",
        "status": "WARNING" if conflicts else "SUCCESS",
        "importCount": {"imported": imported, "updated": 0, "ignored": len(conflicts or []),
                        "deleted": 0},
        "conflicts": conflicts or [],
    }  # fmt: skip
    if not wrap:
        return inner
    status = "WARNING" if conflicts else "OK"
    return {
        "httpStatus": "Conflict" if conflicts else "OK",
        "httpStatusCode": 409 if conflicts else 200,
        "status": status,
        "response": inner,
    }


TARGETS = [("ouA", "202401", "aoc1"), ("ouB", "202401", "aoc1"), ("ouA", "202402", None)]


def test_registrations_are_batched_and_counted() -> None:
    log = ConflictLog()
    with respx.mock(base_url=API) as mock, client() as c:
        route = mock.post("/completeDataSetRegistrations").mock(side_effect=[
            httpx.Response(200, json=registration_summary(2)),
            httpx.Response(200, json=registration_summary(1, wrap=False)),  # ≤2.37: bare
        ])  # fmt: skip
        result = register_completeness(
            c, data_set="dsA", targets=TARGETS + TARGETS, id_scheme="UID", batch_size=2,
            conflicts=log,
        )  # fmt: skip
    assert (result.requested, result.registered, result.conflicts) == (3, 3, 0)
    bodies = [json.loads(call.request.content) for call in route.calls]
    sent = [r for b in bodies for r in b["completeDataSetRegistrations"]]
    assert sent[0] == {"dataSet": "dsA", "period": "202401", "organisationUnit": "ouA",
                       "attributeOptionCombo": "aoc1", "completed": True}  # fmt: skip
    assert "attributeOptionCombo" not in sent[2]  # no combo: the destination default
    assert log.conflicts == []


def test_registration_conflicts_and_failures_are_reported() -> None:
    log = ConflictLog()
    conflict = {"object": "ouB", "value": "Organisation unit not found or not accessible"}
    with respx.mock(base_url=API) as mock, client() as c:
        mock.post("/completeDataSetRegistrations").mock(side_effect=[
            httpx.Response(409, json=registration_summary(1, [conflict])),
            httpx.Response(500, json={"httpStatusCode": 500, "message": "boom"}),
        ])  # fmt: skip
        result = register_completeness(
            c, data_set="dsA", targets=TARGETS, id_scheme="CODE", batch_size=2, conflicts=log
        )
        params = mock.calls[0].request.url.params
    assert params["idScheme"] == "CODE" and params["dataSetIdScheme"] == "UID"
    assert (result.registered, result.failed_requests) == (1, 1)
    first, second = log.conflicts
    assert first.kind == "completeness" and [v["orgUnit"] for v in first.values] == ["ouB"]
    assert "Could not register completeness" in second.message and second.count == 1


def test_registrations_report_progress_before_every_request() -> None:
    beats: list[tuple[int, int]] = []
    with respx.mock(base_url=API) as mock, client() as c:
        mock.post("/completeDataSetRegistrations").mock(
            return_value=httpx.Response(200, json=registration_summary(2))
        )
        register_completeness(
            c, data_set="dsA", targets=TARGETS, id_scheme="UID", batch_size=2,
            conflicts=ConflictLog(), on_batch=lambda done, total: beats.append((done, total)),
        )  # fmt: skip
    assert beats == [(0, 3), (2, 3)]


class Observer:
    def __init__(self) -> None:
        self.events: list[tuple[int, RetryEvent]] = []

    def retry(self, event: RetryEvent) -> None:
        self.events.append((threading.get_ident(), event))


def event(n: int) -> RetryEvent:
    return RetryEvent(n, 3, "GET", "https://x/api/dataValueSets", "HTTP 502", 0.0)


def test_relay_delivers_other_threads_events_on_drain() -> None:
    observer = Observer()
    relay = RetryRelay(observer)
    worker = threading.Thread(target=relay, args=(event(1),))
    worker.start()
    worker.join()
    assert observer.events == [] and relay.count == 1
    relay(event(2))  # on the owner thread: queued events first, then this one
    assert [e.attempt for _, e in observer.events] == [1, 2]
    assert {t for t, _ in observer.events} == {threading.get_ident()}


def test_relay_chains_existing_hooks_but_never_reports_twice() -> None:
    observer = Observer()
    other: list[Any] = []
    relay = RetryRelay(observer)
    first = Client(BASE, None, on_retry=other.append)
    second = Client(BASE, None, on_retry=observer.retry)  # the task layer passed it too
    with relay.attached(first, second, first):
        first.on_retry(event(1))
        second.on_retry(event(2))
    assert [e.attempt for _, e in observer.events] == [1, 2]  # once each
    assert [e.attempt for e in other] == [1]
    assert first.on_retry == other.append and second.on_retry == observer.retry  # restored
    first.close()
    second.close()


def test_retries_on_the_owning_thread_beat_the_heart() -> None:
    observer = Observer()
    relay = RetryRelay(observer)
    beats: list[RetryEvent] = []
    relay.heartbeat = beats.append
    relay(event(1))
    worker = threading.Thread(target=relay, args=(event(2),))
    worker.start()
    worker.join()
    relay.drain()
    assert [e.attempt for e in beats] == [1]  # fetch threads' retries are not heartbeats
    assert [e.attempt for _, e in observer.events] == [1, 2]
