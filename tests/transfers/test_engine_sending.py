"""Posting chunks: adaptive splitting, retries, async jobs and import summaries of every form."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
import respx

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryEvent, RetryPolicy
from tests.samples import load_sample as load
from transfers.chunking import Chunk, chunk_key
from transfers.conflicts import ConflictLog
from transfers.mapping import DataValue
from transfers.sending import ImportAborted, Importer

BASE = "https://destination.example.org"
API = f"{BASE}/api"


def summary(
    imported: int = 0,
    updated: int = 0,
    ignored: int = 0,
    status: str = "SUCCESS",
    conflicts: list | None = None,
    wrap: bool = True,
    **extra: Any,
) -> dict:
    """An ImportSummary built from the real 2.38+ sample (optionally unwrapped, ≤2.37)."""
    body = copy.deepcopy(
        load("dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json")
    )
    inner = body["response"]
    inner["importCount"] = {
        "imported": imported,
        "updated": updated,
        "ignored": ignored,
        "deleted": 0,
    }
    inner["status"] = status
    inner["conflicts"] = conflicts or []
    inner.update(extra)
    if status != "SUCCESS":
        body.update(httpStatus="Conflict", httpStatusCode=409, status=status)
    return body if wrap else inner


def ok_for(request: httpx.Request) -> httpx.Response:
    n = len(json.loads(request.content)["dataValues"])
    return httpx.Response(200, json=summary(imported=n))


def vals(n: int, **kw: Any) -> list[DataValue]:
    return [
        DataValue(kw.get("de", "deA"), "202401", f"ou{i:03d}", "coc", "aoc", str(i))
        for i in range(n)
    ]


def chunk(values: list[DataValue], strategy: str = "CREATE_AND_UPDATE") -> Chunk:
    key = chunk_key(values, strategy=strategy, data_set="dsA", id_scheme="UID")
    return Chunk(key=key, values=values, strategy=strategy, index=1)


@pytest.fixture
def events() -> list[RetryEvent]:
    return []


@pytest.fixture
def client(events: list[RetryEvent]):
    c = Client(
        BASE,
        BasicAuth("admin", "district"),
        retry=RetryPolicy(max_attempts=3, backoff_base=0),
        on_retry=events.append,
    )
    yield c
    c.close()


def importer(client: Client, **kw: Any) -> Importer:
    options: dict[str, Any] = {
        "data_set": "dsA", "id_scheme": "UID", "dry_run": False, "async_mode": False,
        "async_threshold": 5000, "poll_interval": 0, "job_timeout": 5,
        "conflicts": ConflictLog(), "sleep": lambda s: None,
    }  # fmt: skip
    options.update(kw)
    return Importer(client, **options)


def posted(route: respx.Route) -> list[list[dict]]:
    return [json.loads(call.request.content)["dataValues"] for call in route.calls]


# ---- summaries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "counts"),
    [
        ("dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json", (0, 3, 0)),
        ("system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json", (0, 431, 0)),
        ("system-taskSummaries-DATAVALUE_IMPORT-2.34.import-export-app-fixture.json", (0, 0, 0)),
    ],
)
def test_success_summaries_of_both_envelopes(client: Client, sample: str, counts: tuple) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(
            return_value=httpx.Response(200, json=load(sample))
        )
        outcome = importer(client).send(chunk(vals(3)))
    s = outcome.summary
    assert (s.imported, s.updated, s.ignored) == counts
    assert s.accepted and s.status == "SUCCESS" and len(outcome.stored) == 3
    request = route.calls[0].request
    assert request.url.params["importStrategy"] == "CREATE_AND_UPDATE"
    assert json.loads(request.content)["dataSet"] == "dsA"


def test_409_warning_with_indexes_maps_conflicts_to_the_values_sent(client: Client) -> None:
    """2.37+ conflict (`indexes` into the posted dataValues) inside a 2.38+ 409 WebMessage."""
    conflict = load("dataValueSets-import-conflict-object-2.37plus.android-fixture.json")
    body = summary(
        imported=8, ignored=2, status="WARNING", conflicts=[conflict], rejectedIndexes=[2, 7]
    )
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(return_value=httpx.Response(409, json=body))
        outcome = importer(client, conflicts=log).send(chunk(vals(10)))
    assert route.call_count == 1  # a 409 import answer is read, never retried
    s = outcome.summary
    assert (s.imported, s.ignored, s.conflicts, s.rejected) == (8, 2, 1, 2)
    assert s.status == "WARNING" and not s.accepted
    assert [v.org_unit for v in outcome.stored] == [
        f"ou{i:03d}" for i in range(10) if i not in (2, 7)
    ]
    [grouped] = log.conflicts
    assert (grouped.error_code, grouped.property, grouped.count) == ("E7619", "value", 2)
    assert [v["orgUnit"] for v in grouped.values] == ["ou002", "ou007"]
    assert set(grouped.values[0]) == {
        "dataElement",
        "period",
        "orgUnit",
        "categoryOptionCombo",
        "attributeOptionCombo",
        "value",
    }


def test_pre_2_37_conflict_is_matched_by_object(client: Client) -> None:
    """The real ≤2.36-style conflict names the rejected value (`40L`) and the element."""
    body = load("dataValueSets-import-webmessage-409-warning.android-fixture.json")
    values = [
        DataValue("vANAXwtLwcT", "202401", "ouA", "c", "a", "40L"),
        DataValue("vANAXwtLwcT", "202401", "ouB", "c", "a", "12"),
        DataValue("otherDE0001", "202401", "ouC", "c", "a", "40L"),
    ]
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(return_value=httpx.Response(409, json=body))
        outcome = importer(client, conflicts=log).send(chunk(values))
    [conflict] = log.conflicts
    assert conflict.error_code is None and conflict.object == "40L"
    assert [v["orgUnit"] for v in conflict.values] == ["ouA"]  # narrowed by the element named
    assert outcome.summary.ignored == 1 and not outcome.summary.accepted


def test_long_conflict_objects_are_clipped_but_still_matched(client: Client) -> None:
    """≤2.36 puts the rejected value itself into `object`: a long text must not be stored there
    whole, yet its value is still found."""
    text = "x" * 300
    values = [DataValue("deA", "202401", "ouA", "c", "a", text), *vals(2)]
    body = summary(ignored=1, status="WARNING", wrap=False, conflicts=[
        {"object": text, "value": "Value length is greater than 50000 chars for: deA"}])  # fmt: skip
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(return_value=httpx.Response(200, json=body))
        importer(client, conflicts=log).send(chunk(values))
    [conflict] = log.conflicts
    assert conflict.object == "x" * 99 + "…" and len(conflict.object) == 100
    assert [v["value"] for v in conflict.values] == [text]
    other = log.add(error_code=None, message="m", object="o" * 100, property="p" * 101, values=[])
    assert other.object == "o" * 100 and other.property == "p" * 99 + "…"


def test_bare_pre_2_38_summary_with_uid_conflict(client: Client) -> None:
    body = summary(
        imported=2,
        ignored=1,
        status="WARNING",
        wrap=False,
        conflicts=[{"object": "ou001", "value": "Organisation unit not found or not accessible"}],
    )
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(return_value=httpx.Response(200, json=body))
        outcome = importer(client, conflicts=log).send(chunk(vals(3)))
    assert outcome.summary.status == "WARNING"
    assert [v["orgUnit"] for v in log.conflicts[0].values] == ["ou001"]


def test_error_summary_is_a_conflict_for_every_value(client: Client) -> None:
    body = summary(
        status="ERROR",
        description="Import process was aborted",
        conflicts=[
            {"object": "dsA", "value": "Data set not found or not accessible", "errorCode": "E7600"}
        ],
    )
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(return_value=httpx.Response(409, json=body))
        outcome = importer(client, conflicts=log).send(chunk(vals(4)))
    assert outcome.summary.status == "ERROR" and outcome.summary.rejected == 4
    assert outcome.stored == []
    [conflict] = log.conflicts
    assert conflict.error_code == "E7600" and conflict.count == 4
    assert conflict.message.startswith("Import process was aborted: Data set not found")


def test_refusal_without_summary_fails_the_chunk_not_the_run(client: Client) -> None:
    refusal = {
        "httpStatus": "Conflict",
        "httpStatusCode": 409,
        "status": "ERROR",
        "message": "User is not allowed to write org unit: `X`",
        "errorCode": "E2012",
    }
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(return_value=httpx.Response(409, json=refusal))
        outcome = importer(client, conflicts=log).send(chunk(vals(2)))
    assert route.call_count == 1
    assert log.conflicts[0].error_code == "E2012" and outcome.summary.rejected == 2


def test_400_is_not_retried_and_fails_only_the_chunk(client: Client, events: list) -> None:
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(
            return_value=httpx.Response(400, json={"httpStatusCode": 400, "message": "Bad"})
        )
        outcome = importer(client, conflicts=log).send(chunk(vals(2)))
    assert route.call_count == 1 and events == []
    assert log.conflicts[0].error_code == "HTTP_400" and not outcome.summary.accepted


def test_authentication_failure_aborts(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(return_value=httpx.Response(401, json={}))
        with pytest.raises(ImportAborted, match="credentials"):
            importer(client).send(chunk(vals(2)))


# ---- retries ------------------------------------------------------------------------------


def test_502_503_and_network_errors_are_retried_with_events(client: Client, events: list) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(side_effect=[
            httpx.Response(502, text="<html><title>502 Bad Gateway</title></html>"),
            httpx.ConnectError("[Errno 111] Connection refused"),
            ok_for,
        ])  # fmt: skip
        outcome = importer(client).send(chunk(vals(5)))
    assert route.call_count == 3 and outcome.summary.accepted
    assert [(e.attempt, e.method) for e in events] == [(1, "POST"), (2, "POST")]
    assert "HTTP 502" in events[0].reason


def test_retries_running_out_abort_the_run(client: Client, events: list) -> None:
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(return_value=httpx.Response(503))
        with pytest.raises(ImportAborted, match=r"after 3 attempts.*resume"):
            importer(client).send(chunk(vals(5)))
    assert len(events) == 2


# ---- adaptive splitting -------------------------------------------------------------------


def _limit(max_values: int, failure: Any):
    def answer(request: httpx.Request) -> httpx.Response:
        n = len(json.loads(request.content)["dataValues"])
        if n > max_values:
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(failure, text="too big")
        return ok_for(request)

    return answer


@pytest.mark.parametrize(
    "failure", [504, 413, httpx.ReadTimeout("timed out")], ids=["504", "413", "timeout"]
)
def test_oversized_chunks_are_split_until_accepted(client: Client, events: list, failure) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(side_effect=_limit(3, failure))
        outcome = importer(client).send(chunk(vals(10)))
    s = outcome.summary
    sizes = [len(p) for p in posted(route)]
    # 10 -> 5+5 -> (3+2)+(3+2): three splits, four accepted parts.
    assert sizes == [10, 5, 3, 2, 5, 3, 2]
    assert (s.splits, s.imported, s.requests) == (3, 10, 4)
    assert s.accepted and len(outcome.stored) == 10
    assert events == []  # a split is not a retry: the client never re-sent a 504/413/timeout
    assert [v for part in posted(route)[2:4] for v in part] == [v.to_payload() for v in vals(5)]


def test_a_single_value_that_still_fails_becomes_a_conflict(client: Client) -> None:
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        mock.post("/dataValueSets").mock(side_effect=_limit(0, 504))
        outcome = importer(client, conflicts=log).send(chunk(vals(2)))
    assert outcome.summary.splits == 1 and outcome.summary.status == "ERROR"
    [conflict] = log.conflicts
    assert conflict.error_code == "HTTP_504" and conflict.count == 2
    assert "single value" in conflict.message


# ---- parameters and async -----------------------------------------------------------------


def test_dry_run_and_code_scheme_parameters(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(side_effect=ok_for)
        importer(client, dry_run=True, id_scheme="CODE").send(chunk(vals(1), "DELETE"))
    params = route.calls[0].request.url.params
    assert params["dryRun"] == "true" and params["importStrategy"] == "DELETE"
    assert params["idScheme"] == "CODE" and params["dataSetIdScheme"] == "UID"


def test_async_import_polls_the_task_and_reads_the_summary(client: Client) -> None:
    job = load("dataValueSets-post-async-job-response.docs-2.40.json")
    job_id = job["response"]["id"]
    with respx.mock(base_url=API) as mock:
        post = mock.post("/dataValueSets").mock(return_value=httpx.Response(200, json=job))
        tasks = mock.get(f"/system/tasks/DATAVALUE_IMPORT/{job_id}").mock(side_effect=[
            httpx.Response(200, json=load(
                "system-tasks-DATAVALUE_IMPORT-empty-right-after-start-2.44dev"
                ".import-export-app-recording.json")),
            httpx.Response(200, json=load("system-tasks-DATAVALUE_IMPORT-notifications.docs-2.40.json")),
        ])  # fmt: skip
        summaries = mock.get(f"/system/taskSummaries/DATAVALUE_IMPORT/{job_id}").mock(
            side_effect=[
                httpx.Response(200, content=b""),  # empty until the job has finished
                httpx.Response(
                    200,
                    json=load("system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json"),
                ),
            ]
        )
        outcome = importer(client, async_mode=True).send(chunk(vals(3)))
    assert post.calls[0].request.url.params["async"] == "true"
    assert tasks.call_count == 2 and summaries.call_count == 2
    assert outcome.summary.async_jobs == 1 and outcome.summary.updated == 431


def test_auto_async_only_for_large_chunks(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(side_effect=ok_for)
        importer(client, async_mode="auto", async_threshold=5).send(chunk(vals(4)))
    assert "async" not in route.calls[0].request.url.params


# ---- the client's retry seam ----------------------------------------------------------------


def test_import_answered_429_waits_what_retry_after_says() -> None:
    """The client's wait, not the importer's: `Retry-After: 20` means 20 s (not the 1 s
    backoff the policy would pick), slept with the client's sleep."""
    client_slept: list[float] = []
    importer_slept: list[float] = []
    events: list[RetryEvent] = []
    reported: list[str] = []
    with (
        Client(
            BASE,
            BasicAuth("admin", "district"),
            retry=RetryPolicy(max_attempts=3, backoff_base=1.0, backoff_max=30.0, jitter=False),
            on_retry=events.append,
            sleep=client_slept.append,
        ) as c,
        respx.mock(base_url=API) as mock,
    ):
        route = mock.post("/dataValueSets").mock(side_effect=[
            httpx.Response(429, headers={"Retry-After": "20"}),
            ok_for,
        ])  # fmt: skip
        outcome = importer(c, sleep=importer_slept.append, progress=reported.append).send(
            chunk(vals(4))
        )
    assert route.call_count == 2 and outcome.summary.accepted
    assert client_slept == [20.0] and importer_slept == []
    assert [(e.attempt, e.wait_seconds, e.reason) for e in events] == [
        (1, 20.0, "HTTP 429 Too Many Requests")
    ]
    assert reported[0].startswith("retrying in 20 s after ")


def _fails_with_500_when(culprits: set[str], body: dict):
    """DHIS2 failing with its 500 WebMessage whenever a culprit org unit is in the payload."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["dataValues"]
        if any(v["orgUnit"] in culprits for v in sent):
            return httpx.Response(500, json=body)
        return ok_for(request)

    return answer


def test_dhis2_500_is_resent_and_a_transient_one_passes(client: Client, events: list) -> None:
    body = load("webmessage-500.android-fixture.json")
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(
            side_effect=[httpx.Response(500, json=body), ok_for]
        )
        outcome = importer(client).send(chunk(vals(6)))
    assert route.call_count == 2 and outcome.summary.accepted
    assert outcome.summary.splits == 0 and outcome.summary.imported == 6
    assert posted(route)[0] == posted(route)[1]  # the same values again (idempotent)
    assert [e.reason for e in events] == ["HTTP 500 Internal Server Error"]


def test_persistent_dhis2_500_isolates_the_culprit_values(client: Client, events: list) -> None:
    body = load("webmessage-500.android-fixture.json")
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(side_effect=_fails_with_500_when({"ou005"}, body))
        outcome = importer(client, conflicts=log).send(chunk(vals(8)))
    sizes = [len(p) for p in posted(route)]
    # 8 sent 3 times (server_error_attempts=3), then split without resending:
    # 8 -> 4 (ok) + 4 (500) -> 2 (500: ou004, ou005) + ... -> 1 (ok) + 1 (500) ... + 2 (ok).
    assert sizes == [8, 8, 8, 4, 4, 2, 1, 1, 2]
    assert len(events) == 2  # only the whole chunk was resent
    s = outcome.summary
    assert (s.splits, s.imported, s.rejected, s.conflicts, s.posted) == (3, 7, 1, 1, 8)
    assert s.status == "ERROR" and not s.accepted
    assert sorted(v.org_unit for v in outcome.stored) == [f"ou{i:03d}" for i in range(8) if i != 5]
    [conflict] = log.conflicts
    assert conflict.error_code == "HTTP_500"
    assert [v["orgUnit"] for v in conflict.values] == ["ou005"]
    assert "A wild internal server error appeared!" in conflict.message  # the server's message


def test_dhis2_500_resends_are_bounded_by_the_importer_setting(client: Client) -> None:
    body = load("webmessage-500.android-fixture.json")
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(side_effect=_fails_with_500_when({"ou000"}, body))
        importer(client, server_error_attempts=1).send(chunk(vals(2)))
    assert [len(p) for p in posted(route)] == [2, 1, 1]  # no resend: split at once


def test_a_500_that_is_not_dhis2s_fails_only_the_chunk(client: Client, events: list) -> None:
    log = ConflictLog()
    with respx.mock(base_url=API) as mock:
        route = mock.post("/dataValueSets").mock(
            return_value=httpx.Response(500, text="<html><title>500 Internal Error</title></html>")
        )
        outcome = importer(client, conflicts=log).send(chunk(vals(4)))
    assert route.call_count == 1 and events == []
    assert outcome.summary.splits == 0 and outcome.summary.rejected == 4
    assert log.conflicts[0].error_code == "HTTP_500" and log.conflicts[0].count == 4
