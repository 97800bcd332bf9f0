"""Writing batches: tracker jobs polled to the end (fake clock), legacy summaries 200/409."""

from __future__ import annotations

import httpx
import pytest
import respx

from dhis2.client import Client
from tracker.write import BatchFailed, LegacyWriter, Polling, TrackerWriter, writer_for

from .conftest import API, FakeTime, info, load

JOB_ADDED = "tracker-post-async-job-added-2.41.docs.json"
JOB_ID = "cHh2OCTJvRw"
DONE = "tracker-jobs-notifications-completed.android-fixture.json"
REPORT_OK = "tracker-jobs-report-ok.android-fixture.json"
REPORT_ERROR = "tracker-jobs-report-error.android-fixture.json"
EVENTS = [{"event": "PXi7gfVIk1p", "program": "P", "orgUnit": "O", "dataValues": []}]


def _job_added(base: str = API) -> dict:
    body = load(JOB_ADDED)
    body["response"]["location"] = f"{base}/tracker/jobs/{JOB_ID}"
    return body


def _writer(client: Client, fake: FakeTime, **kw) -> TrackerWriter:
    polling = Polling(interval=1.0, backoff=2.0, max_interval=4.0, **fake.timing, **kw)
    return TrackerWriter(client, polling=polling)


@respx.mock
def test_job_polled_until_complete_then_report_read(client: Client, fake_time: FakeTime) -> None:
    post = respx.post(f"{API}/tracker").respond(json=_job_added())
    respx.get(f"{API}/tracker/jobs/{JOB_ID}").mock(
        side_effect=[httpx.Response(200, json=[]), httpx.Response(200, json=[]),
                     httpx.Response(200, json=[]), httpx.Response(200, json=load(DONE))]
    )  # fmt: skip
    respx.get(f"{API}/tracker/jobs/{JOB_ID}/report").respond(json=load(REPORT_OK))
    result = _writer(client, fake_time).send(EVENTS)
    # The report's own figures (stats), not the EVENT type map.
    assert (result.created, result.updated, result.deleted, result.ignored) == (1, 2, 3, 4)
    assert result.errors == [] and result.accepted
    assert result.jobs_polled == 5  # 4 status polls + 1 report
    assert fake_time.sleeps == [1.0, 2.0, 4.0]  # backoff, capped at max_interval
    params = post.calls[0].request.url.params
    assert params["async"] == "true" and params["importStrategy"] == "CREATE_AND_UPDATE"
    assert params["atomicMode"] == "OBJECT" and params["importMode"] == "COMMIT"


@respx.mock
def test_report_404_while_running_means_not_ready(client: Client, fake_time: FakeTime) -> None:
    respx.post(f"{API}/tracker").respond(json=_job_added())
    respx.get(f"{API}/tracker/jobs/{JOB_ID}").respond(json=load(DONE))
    not_found = {
        "httpStatus": "Not Found",
        "httpStatusCode": 404,
        "status": "ERROR",
        "message": f"JobConfiguration with id {JOB_ID} could not be found.",
    }
    respx.get(f"{API}/tracker/jobs/{JOB_ID}/report").mock(
        side_effect=[httpx.Response(404, json=not_found), httpx.Response(404, json=not_found),
                     httpx.Response(200, json=load(REPORT_ERROR))]
    )  # fmt: skip
    result = _writer(client, fake_time).send(EVENTS)
    assert [(e.code, e.event) for e in result.errors] == [("E1033", "PXi7gfVIk1p")]
    assert result.errors[0].message == "Event: `PXi7gfVIk1p`, Enrollment value is NULL."
    assert result.ignored == 1 and not result.accepted
    assert result.jobs_polled == 4


@respx.mock
def test_job_that_never_finishes_times_out(client: Client, fake_time: FakeTime) -> None:
    respx.post(f"{API}/tracker").respond(json=_job_added())
    status = respx.get(f"{API}/tracker/jobs/{JOB_ID}").respond(json=[])
    with pytest.raises(BatchFailed, match="did not finish within 10 s") as caught:
        _writer(client, fake_time, timeout=10.0).send(EVENTS)
    assert sum(fake_time.sleeps) <= 10.0 + 4.0
    assert caught.value.jobs_polled == status.call_count


@respx.mock
def test_failed_job_without_report_fails_the_batch(client: Client, fake_time: FakeTime) -> None:
    respx.post(f"{API}/tracker").respond(json=_job_added())
    failed = [{"uid": "x", "level": "ERROR", "category": "TRACKER_IMPORT_JOB",
               "message": "Job failed: out of memory", "completed": True}]  # fmt: skip
    respx.get(f"{API}/tracker/jobs/{JOB_ID}").respond(json=failed)
    respx.get(f"{API}/tracker/jobs/{JOB_ID}/report").respond(404, json={"httpStatusCode": 404})
    with pytest.raises(BatchFailed, match="out of memory"):
        _writer(client, fake_time).send(EVENTS)


@respx.mock
def test_dry_run_validates_only(client: Client, fake_time: FakeTime) -> None:
    post = respx.post(f"{API}/tracker").respond(json=_job_added())
    respx.get(f"{API}/tracker/jobs/{JOB_ID}").respond(json=load(DONE))
    respx.get(f"{API}/tracker/jobs/{JOB_ID}/report").respond(json=load(REPORT_ERROR))
    _writer(client, fake_time).send(EVENTS, dry_run=True)
    assert post.calls[0].request.url.params["importMode"] == "VALIDATE"


@respx.mock
def test_sync_report_answered_with_409_is_read(client: Client, fake_time: FakeTime) -> None:
    respx.post(f"{API}/tracker").respond(409, json=load(REPORT_ERROR))
    result = _writer(client, fake_time).send(EVENTS)
    assert result.errors[0].code == "E1033" and result.jobs_polled == 0


@respx.mock
def test_bad_request_is_not_retried(client: Client, fake_time: FakeTime) -> None:
    post = respx.post(f"{API}/tracker").respond(
        400, json={"httpStatusCode": 400, "status": "ERROR", "message": "Bad payload"}
    )
    with pytest.raises(BatchFailed, match="refused"):
        _writer(client, fake_time).send(EVENTS)
    assert post.call_count == 1


@respx.mock
def test_legacy_409_partial_summaries(client: Client) -> None:
    post = respx.post(f"{API}/events").respond(
        409, json=load("events-legacy-post-409-importSummaries-partial.android-fixture.json")
    )
    result = LegacyWriter(client).send(EVENTS, dry_run=True)
    assert (result.created, result.ignored) == (1, 2)
    assert [(e.event, e.object) for e in result.errors] == [
        ("event2Id", "CategoryOptionCombo"),
        ("event3Id", "CategoryOptionCombo"),
    ]
    assert result.errors[0].message == "User has no write access to category option: C6nZpLKjEJr"
    assert result.failed_events == ["event2Id", "event3Id"]
    assert post.calls[0].request.url.params["dryRun"] == "true"


@respx.mock
def test_legacy_bare_200_summaries_of_2_36(client: Client) -> None:
    body = load("events-legacy-post-409-importSummaries-error.android-fixture.json")["response"]
    respx.post(f"{API}/events").respond(200, json=body)  # ≤2.37: bare, HTTP 200
    result = LegacyWriter(client).send(EVENTS)
    assert result.created == 0 and len(result.failed_events) == 3


@respx.mock
@pytest.mark.parametrize(("version", "kind"), [("2.38.7", LegacyWriter), ("2.39.5", TrackerWriter)])
def test_writer_per_destination_version(client: Client, version: str, kind: type) -> None:
    respx.get(f"{API}/system/info").respond(json=info(version))
    assert isinstance(writer_for(client), kind)
