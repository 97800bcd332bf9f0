"""Polling async DHIS2 jobs with a fake clock and sleep (no real waiting)."""

from __future__ import annotations

import httpx
import pytest
import respx

from dhis2.async_jobs import (
    completed_notification,
    wait_for_job,
    wait_for_task,
    wait_for_tracker_job,
)
from dhis2.client import Client
from dhis2.errors import Dhis2Timeout, JobFailed, UnexpectedResponse
from dhis2.imports import parse_data_import_summary, parse_job_reference
from tests.conftest import FakeTime

from .conftest import API, load, web_message

DV_EMPTY = (
    "system-tasks-DATAVALUE_IMPORT-empty-right-after-start-2.44dev.import-export-app-recording.json"
)
DV_DONE = "system-tasks-DATAVALUE_IMPORT-done-2.34.import-export-app-fixture.json"
DV_DONE_DOCS = "system-tasks-DATAVALUE_IMPORT-notifications.docs-2.40.json"
DV_SUMMARY = "system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json"
MD_RUNNING = "system-tasks-METADATA_IMPORT-in-progress-2.44dev.import-export-app-recording.json"
MD_DONE = "system-tasks-METADATA_IMPORT-done-2.34.import-export-app-fixture.json"
MD_SUMMARY = "system-taskSummaries-METADATA_IMPORT-importReport-2.34.import-export-app-fixture.json"
TR_DONE = "tracker-jobs-notifications-completed.android-fixture.json"
TR_DONE_DOCS = "tracker-jobs-notifications.docs-2.41.json"


def _note(uid: str, level: str, category: str, message: str, *, completed: bool) -> dict:
    """One notification as DHIS2 lists a job's progress (newest first)."""
    return {
        "uid": uid,
        "level": level,
        "category": category,
        "message": message,
        "completed": completed,
    }


@pytest.mark.parametrize(
    ("name", "uid", "message"),
    [
        (DV_DONE, "IAcsMnK0HPc", "Import done"),
        (DV_DONE_DOCS, "hpiaeMy7wFX", "Import done"),
        (MD_DONE, "FMUTlClhwp0", "(admin) Import:Done took 0.28 seconds"),
        (
            TR_DONE,
            "c32aY1bLBYj",
            "Import complete with status OK, 0 created, 1 updated, 0 deleted, 0 ignored",
        ),
        (
            TR_DONE_DOCS,
            "PQK63sMwjQp",
            "Import complete with status OK, 0 created, 0 updated, 0 deleted, 0 ignored",
        ),
    ],
)
def test_completed_notification_in_samples(name: str, uid: str, message: str) -> None:
    done = completed_notification(load(name))
    assert done is not None
    assert done["uid"] == uid
    assert done["message"] == message
    assert done["level"] == "INFO"


@pytest.mark.parametrize("name", [DV_EMPTY, MD_RUNNING])
def test_running_or_empty_notifications_are_not_completed(name: str) -> None:
    assert completed_notification(load(name)) is None


def test_completed_notification_rejects_non_list() -> None:
    with pytest.raises(UnexpectedResponse):
        completed_notification("Import done")


def test_wait_for_task_polls_through_empty_list_and_empty_summary(client: Client) -> None:
    job = parse_job_reference(load("dataValueSets-post-async-job-response.docs-2.40.json"))
    fake = FakeTime()
    progress: list[str] = []
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        tasks = mock.get(f"/system/tasks/DATAVALUE_IMPORT/{job.id}")
        tasks.side_effect = [
            httpx.Response(200, json=load(DV_EMPTY)),
            httpx.Response(200, json=load(DV_DONE)[1:]),  # running: "Importing data values"
            httpx.Response(200, json=load(DV_DONE)),
        ]
        summaries = mock.get(f"/system/taskSummaries/DATAVALUE_IMPORT/{job.id}")
        summaries.side_effect = [
            httpx.Response(200, content=b""),  # not finished yet: empty body, not {}
            httpx.Response(200, json=load(DV_SUMMARY)),
        ]
        body = wait_for_task(
            client,
            job.job_type,
            job.id,
            poll_interval=5,
            **fake.timing,
            on_progress=lambda note: progress.append(note["message"]),
        )
    assert tasks.call_count == 3
    assert summaries.call_count == 2
    assert fake.sleeps == [5, 5, 5]
    assert progress == ["Importing data values", "Import done"]
    summary = parse_data_import_summary(body)
    assert summary.updated == 431
    assert summary.status == "SUCCESS"


def test_wait_for_metadata_task(client: Client) -> None:
    job = parse_job_reference(
        load("metadata-post-async-job-response-2.34.import-export-app-fixture.json")
    )
    fake = FakeTime()
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get(f"/system/tasks/METADATA_IMPORT/{job.id}").side_effect = [
            httpx.Response(200, json=load(MD_RUNNING)),
            httpx.Response(200, json=load(MD_DONE)),
        ]
        mock.get(f"/system/taskSummaries/METADATA_IMPORT/{job.id}").respond(json=load(MD_SUMMARY))
        body = wait_for_job(client, job, **fake.timing, poll_interval=1)
    assert body["status"] == "OK"
    assert fake.sleeps == [1]


def test_wait_for_task_error_notification_fails_with_summary(client: Client) -> None:
    notes = [
        _note("a", "ERROR", "DATAVALUE_IMPORT", "Process failed: Invalid JSON", completed=True),
        _note("b", "INFO", "DATAVALUE_IMPORT", "Process started", completed=False),
    ]
    error_summary = {
        "responseType": "ImportSummary",
        "status": "ERROR",
        "description": "The import process failed: Invalid JSON",
    }
    fake = FakeTime()
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/system/tasks/DATAVALUE_IMPORT/YR1UxOUXmzT").respond(json=notes)
        mock.get("/system/taskSummaries/DATAVALUE_IMPORT/YR1UxOUXmzT").respond(json=error_summary)
        with pytest.raises(JobFailed) as info:
            wait_for_task(client, "DATAVALUE_IMPORT", "YR1UxOUXmzT", **fake.timing)
    assert "DATAVALUE_IMPORT YR1UxOUXmzT" in str(info.value)
    assert "Process failed: Invalid JSON" in str(info.value)
    assert info.value.summary == error_summary


def test_wait_for_task_times_out_naming_the_job(client: Client) -> None:
    fake = FakeTime()
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/tasks/DATAVALUE_IMPORT/gQqb1QgRGFt").respond(json=load(DV_EMPTY))
        with pytest.raises(Dhis2Timeout) as info:
            wait_for_task(
                client,
                "dataValue_import",
                "gQqb1QgRGFt",
                poll_interval=2,
                timeout=10,
                **fake.timing,
            )
    assert "DATAVALUE_IMPORT gQqb1QgRGFt" in str(info.value)
    assert "10 s" in str(info.value)
    assert route.call_count == 6  # t=0,2,4,6,8,10
    assert fake.now == 10


def test_wait_for_task_times_out_waiting_for_summary(client: Client) -> None:
    fake = FakeTime()
    with respx.mock(base_url=API) as mock:
        mock.get("/system/tasks/DATAVALUE_IMPORT/x").respond(json=load(DV_DONE))
        summaries = mock.get("/system/taskSummaries/DATAVALUE_IMPORT/x").respond(200, content=b"")
        with pytest.raises(Dhis2Timeout, match="summary"):
            wait_for_task(
                client,
                "DATAVALUE_IMPORT",
                "x",
                poll_interval=3,
                timeout=9,
                **fake.timing,
            )
    assert summaries.call_count == 4


def test_wait_for_tracker_job_polls_until_report_exists(client: Client) -> None:
    job = parse_job_reference(load("tracker-post-async-job-added-2.41.docs.json"))
    running = load(TR_DONE_DOCS)[1:]
    report = load("tracker-jobs-report-ok.android-fixture.json")
    not_found = web_message(
        404,
        message=f"JobConfiguration with id {job.id} could not be found.",
    )
    fake = FakeTime()
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        jobs = mock.get(f"/tracker/jobs/{job.id}")
        jobs.side_effect = [
            httpx.Response(200, json=[]),
            httpx.Response(200, json=running),
            httpx.Response(200, json=load(TR_DONE_DOCS)),
        ]
        reports = mock.get(
            f"/tracker/jobs/{job.id}/report", params__contains={"reportMode": "ERRORS"}
        )
        reports.side_effect = [
            httpx.Response(404, json=not_found),
            httpx.Response(200, json=report),
        ]
        body = wait_for_job(client, job, poll_interval=0.5, **fake.timing)
    assert body == report
    assert jobs.call_count == 3
    assert reports.call_count == 2
    assert fake.sleeps == [0.5, 0.5, 0.5]


def test_wait_for_tracker_job_timeout(client: Client) -> None:
    fake = FakeTime()
    with respx.mock(base_url=API) as mock:
        mock.get("/tracker/jobs/LkXBUdIgbe3").respond(json=load(TR_DONE))
        mock.get("/tracker/jobs/LkXBUdIgbe3/report").respond(404, json={"httpStatusCode": 404})
        with pytest.raises(Dhis2Timeout, match="TRACKER_IMPORT_JOB LkXBUdIgbe3"):
            wait_for_tracker_job(
                client,
                "LkXBUdIgbe3",
                timeout=4,
                poll_interval=1,
                **fake.timing,
            )


def test_wait_for_tracker_job_error_notification(client: Client) -> None:
    notes = [
        _note("z", "ERROR", "TRACKER_IMPORT_JOB", "Import failed: out of memory", completed=True)
    ]
    fake = FakeTime()
    with respx.mock(base_url=API) as mock:
        mock.get("/tracker/jobs/abcdefghijk").respond(json=notes)
        mock.get("/tracker/jobs/abcdefghijk/report").respond(404, json={"httpStatusCode": 404})
        with pytest.raises(JobFailed, match="out of memory") as info:
            wait_for_tracker_job(client, "abcdefghijk", **fake.timing)
    assert info.value.summary is None
