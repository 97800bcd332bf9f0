"""Parsing of import answers: every import/summary/report/job sample, with its exact numbers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dhis2.errors import UnexpectedResponse
from dhis2.imports import (
    ImportConflict,
    JobReference,
    is_job_reference,
    parse_data_import_summary,
    parse_import_conflict,
    parse_job_reference,
    parse_legacy_event_summaries,
    parse_metadata_import_report,
    parse_object_report,
    parse_tracker_import_report,
    unwrap_web_message,
)

from .conftest import import_count, load, stats, web_message

E1029 = (
    "Event OrganisationUnit: `OrganisationUnit (ABJTilhqOCW)`, and Program: "
    "`Program (q04UBOqq3rp)`, dont match."
)
NO_WRITE_ACCESS = "User has no write access to category option: C6nZpLKjEJr"


def _imported_one(**summary: Any) -> dict[str, Any]:
    """DHIS2's 200 answer to an import of one object (a registration, an event) that went in;
    `summary` adds to the import summary."""
    response = {"responseType": "ImportSummary", "status": "SUCCESS", **summary}
    response["importCount"] = import_count(imported=1)
    return web_message(200, "OK", message="Import was successful.", response=response)


# ---- envelope ----------------------------------------------------------------------------------


def test_unwrap_web_message() -> None:
    wrapped = load("dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json")
    inner, web_message = unwrap_web_message(wrapped)
    assert web_message is wrapped
    assert inner is wrapped["response"]

    bare = load("system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json")
    assert unwrap_web_message(bare) == (bare, None)

    plain_error = load("webmessage-403-forbidden.docs-2.40.json")  # no "response"
    assert unwrap_web_message(plain_error) == (plain_error, None)

    notifications = load("system-tasks-DATAVALUE_IMPORT-done-2.34.import-export-app-fixture.json")
    assert unwrap_web_message(notifications) == (notifications, None)
    assert unwrap_web_message(None) == (None, None)


# ---- data value sets -----------------------------------------------------------------------------


def test_conflict_object_2_37plus() -> None:
    raw = load("dataValueSets-import-conflict-object-2.37plus.android-fixture.json")
    conflict = parse_import_conflict(raw)
    assert conflict == ImportConflict(
        object="UOlfIjgN8X6",
        value="Value must match data element's `UOlfIjgN8X6` type constraints: "
        "Data value is not numeric",
        error_code="E7619",
        property="value",
        indexes=[2, 7],
        objects={"dataElement": "UOlfIjgN8X6", "value": "value_not_numeric"},
    )


@pytest.mark.parametrize(
    ("sample", "status", "ok", "counts"),
    [
        ("dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json",
         "SUCCESS", True, (0, 3, 0, 0)),
        ("dataValueSets-import-webmessage-409-warning.android-fixture.json",
         "WARNING", False, (0, 0, 1, 0)),
        ("system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json",
         "SUCCESS", True, (0, 431, 0, 0)),
        ("system-taskSummaries-DATAVALUE_IMPORT-2.34.import-export-app-fixture.json",
         "SUCCESS", True, (0, 0, 0, 0)),
    ],
)  # fmt: skip
def test_data_import_status_and_counts(
    sample: str, status: str, ok: bool, counts: tuple[int, int, int, int]
) -> None:
    """Status, ok and (imported, updated, ignored, deleted) as each sample body states them."""
    summary = parse_data_import_summary(load(sample))
    assert (summary.status, summary.ok) == (status, ok)
    assert (summary.imported, summary.updated, summary.ignored, summary.deleted) == counts


def test_data_import_200_success_2_38plus() -> None:
    body = load("dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json")
    summary = parse_data_import_summary(body)
    assert summary.conflicts == []
    assert summary.conflict_count == 0
    assert summary.rejected_indexes == []
    assert summary.description == "Import process completed successfully"
    assert summary.data_set_complete == "false"
    assert summary.web_message is body
    assert summary.web_message["httpStatusCode"] == 200
    assert summary.total == 3


def test_data_import_409_warning_old_conflict_shape() -> None:
    body = load("dataValueSets-import-webmessage-409-warning.android-fixture.json")
    summary = parse_data_import_summary(body)
    assert summary.conflict_count == 1
    assert summary.conflicts == [
        ImportConflict(
            object="40L",
            value="Data value is not a positive integer, must match data element type: vANAXwtLwcT",
        )
    ]
    assert summary.conflicts[0].error_code is None
    assert summary.conflicts[0].indexes == []
    assert summary.rejected_indexes == []
    assert summary.web_message["httpStatusCode"] == 409
    assert summary.web_message["status"] == "WARNING"


def test_data_import_task_summary_docs_2_40_bare() -> None:
    body = load("system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json")
    summary = parse_data_import_summary(body)
    assert summary.conflicts == []
    assert summary.web_message is None
    assert summary.description == "Import process completed successfully"


def test_data_import_task_summary_2_34_bare_without_conflicts_key() -> None:
    body = load("system-taskSummaries-DATAVALUE_IMPORT-2.34.import-export-app-fixture.json")
    assert "conflicts" not in body
    summary = parse_data_import_summary(body)
    assert summary.conflicts == []
    assert summary.web_message is None


def test_data_import_2_40_wrapped_409_with_new_conflicts_and_rejected_indexes() -> None:
    """Shape from the reference (§5): 2.37+ conflict object inside a 2.40.1+ 409 WebMessage."""
    conflict = load("dataValueSets-import-conflict-object-2.37plus.android-fixture.json")
    body = copy.deepcopy(load("dataValueSets-import-webmessage-409-warning.android-fixture.json"))
    body["message"] = "One more conflicts encountered, please check import summary."
    body["response"]["importCount"] = import_count(imported=5, updated=1, ignored=2)
    body["response"]["conflicts"] = [conflict]
    body["response"]["rejectedIndexes"] = [2, 7]
    summary = parse_data_import_summary(body)
    assert summary.status == "WARNING"
    assert (summary.imported, summary.updated, summary.ignored, summary.deleted) == (5, 1, 2, 0)
    assert summary.rejected_indexes == [2, 7]
    assert summary.conflict_indexes == [2, 7]
    assert summary.conflicts[0].error_code == "E7619"
    assert summary.conflicts[0].property == "value"


def test_data_import_bare_2_36_with_conflicts() -> None:
    body = {
        "responseType": "ImportSummary",
        "status": "WARNING",
        "description": "Import process completed successfully",
        "importCount": import_count(imported=2, ignored=1),
        "conflicts": [{"object": "pe", "value": "Period not valid: 2024W54"}],
        "dataSetComplete": "false",
    }
    summary = parse_data_import_summary(body)
    assert summary.status == "WARNING"
    assert summary.web_message is None
    assert summary.conflicts == [ImportConflict(object="pe", value="Period not valid: 2024W54")]
    assert summary.conflict_indexes == []


def test_data_import_error_summary_without_counts() -> None:
    """Header invalid (data set / org unit not found): ERROR with a description, no importCount."""
    body = web_message(
        409,
        message="An error occurred, please check import summary.",
        response={
            "responseType": "ImportSummary",
            "status": "ERROR",
            "description": "Import process was aborted",
            "conflicts": [{"object": "xyz", "value": "Data set not found or not accessible"}],
        },
    )
    summary = parse_data_import_summary(body)
    assert summary.status == "ERROR"
    assert (summary.imported, summary.updated, summary.ignored, summary.deleted) == (0, 0, 0, 0)
    assert summary.description == "Import process was aborted"
    assert summary.conflicts[0].value == "Data set not found or not accessible"


def test_complete_registration_summary_same_parser() -> None:
    body = _imported_one(conflicts=[])
    summary = parse_data_import_summary(body)
    assert summary.ok and summary.imported == 1


def test_plain_error_web_message_becomes_error_summary() -> None:
    body = load("webmessage-500.android-fixture.json")
    summary = parse_data_import_summary(body)
    assert summary.status == "ERROR"
    assert summary.description == "A wild internal server error appeared!"
    assert summary.web_message is body
    e2012 = web_message(409, message="User is not allowed to view org unit: `X`", errorCode="E2012")
    assert parse_data_import_summary(e2012).description == (
        "User is not allowed to view org unit: `X` (error code E2012)"
    )


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("metadata-import-report-bare-pre2.38.docs-2.40.json", "parse_metadata_import_report"),
        ("tracker-jobs-report-ok.android-fixture.json", "parse_tracker_import_report"),
        (
            "events-legacy-post-409-importSummaries-error.android-fixture.json",
            "parse_legacy_event_summaries",
        ),
        ("dataValueSets-post-async-job-response.docs-2.40.json", "parse_job_reference"),
        ("system-tasks-DATAVALUE_IMPORT-done-2.34.import-export-app-fixture.json", "list"),
        ("dataValueSets-get-empty.android-fixture.json", "dataValues"),
    ],
)
def test_data_summary_rejects_other_bodies(name: str, hint: str) -> None:
    with pytest.raises(UnexpectedResponse, match=hint) as info:
        parse_data_import_summary(load(name))
    assert isinstance(info.value, ValueError)


# ---- metadata ------------------------------------------------------------------------------------


def test_metadata_report_bare_pre_2_38() -> None:
    report = parse_metadata_import_report(
        load("metadata-import-report-bare-pre2.38.docs-2.40.json")
    )
    assert report.status == "OK"
    assert report.ok
    assert report.stats == stats(created=3)
    assert report.type_stats == {
        "org.hisp.dhis.dataelement.DataElement": stats(created=2),
        "org.hisp.dhis.indicator.Indicator": stats(created=1),
    }
    assert report.errors == []
    assert report.web_message is None


def test_metadata_report_wrapped_200() -> None:
    body = load("metadata-import-webmessage-200-ok.java-client-fixture.json")
    report = parse_metadata_import_report(body)
    assert report.status == "OK"
    assert report.stats == stats(created=2)
    assert set(report.type_stats) == {
        "org.hisp.dhis.program.ProgramStage",
        "org.hisp.dhis.program.Program",
    }
    assert report.type_stats["org.hisp.dhis.program.Program"]["created"] == 1
    assert report.type_stats["org.hisp.dhis.program.ProgramStage"]["created"] == 1
    assert report.errors == []
    assert report.web_message is body


def test_metadata_task_summary_2_34() -> None:
    body = load(
        "system-taskSummaries-METADATA_IMPORT-importReport-2.34.import-export-app-fixture.json"
    )
    report = parse_metadata_import_report(body)
    assert report.status == "OK"
    assert report.stats == stats()
    assert report.type_stats == {}
    assert report.errors == []


def test_metadata_report_409_with_error_reports() -> None:
    """2.38+ 409 shape from the reference (§7): WebMessage WARNING, report ERROR, objectReports."""
    body = web_message(
        409,
        "WARNING",
        message="One or more errors occurred, please see full details in import report.",
        response={
            "responseType": "ImportReport",
            "status": "ERROR",
            "stats": stats(ignored=2),
            "typeReports": [
                {
                    "klass": "org.hisp.dhis.dataelement.DataElement",
                    "stats": stats(ignored=2),
                    "objectReports": [
                        {
                            "klass": "org.hisp.dhis.dataelement.DataElement",
                            "index": 1,
                            "uid": "fbfJHSPpUQD",
                            "errorReports": [
                                {
                                    "message": "Property `name` with value `ANC 1st visit` on "
                                    "object ANC 1st visit [fbfJHSPpUQD] already exists on object "
                                    "Xz5CbOuYtVh",
                                    "mainKlass": "org.hisp.dhis.dataelement.DataElement",
                                    "errorCode": "E5003",
                                    "errorProperty": "name",
                                    "mainId": "fbfJHSPpUQD",
                                    "value": "ANC 1st visit",
                                    "errorProperties": ["name", "ANC 1st visit"],
                                }
                            ],
                        },
                        {
                            "klass": "org.hisp.dhis.dataelement.DataElement",
                            "index": 0,
                            "uid": "cYeuwXTCPkU",
                            "errorReports": [
                                {
                                    "message": "Invalid reference [bjDvmb4bfuX] (CategoryCombo)",
                                    "mainKlass": "org.hisp.dhis.dataelement.DataElement",
                                    "errorKlass": "org.hisp.dhis.category.CategoryCombo",
                                    "errorCode": "E5002",
                                    "errorProperty": "categoryCombo",
                                }
                            ],
                        },
                    ],
                }
            ],
        },
    )
    report = parse_metadata_import_report(body)
    assert report.status == "ERROR"
    assert report.ok is False
    assert report.stats["ignored"] == 2
    assert [(e.uid, e.index, e.error_code) for e in report.errors] == [
        ("fbfJHSPpUQD", 1, "E5003"),
        ("cYeuwXTCPkU", 0, "E5002"),
    ]
    first, second = report.errors
    assert first.klass == "org.hisp.dhis.dataelement.DataElement"
    assert (first.property, first.main_id, first.value) == ("name", "fbfJHSPpUQD", "ANC 1st visit")
    assert second.error_klass == "org.hisp.dhis.category.CategoryCombo"
    assert second.main_id is None


def test_metadata_parser_rejects_data_summary() -> None:
    with pytest.raises(UnexpectedResponse, match="parse_data_import_summary"):
        parse_metadata_import_report(
            load("system-taskSummaries-DATAVALUE_IMPORT-importSummary.docs-2.40.json")
        )
    with pytest.raises(UnexpectedResponse, match="parse_tracker_import_report"):
        parse_metadata_import_report(load("tracker-jobs-report-error.android-fixture.json"))


def test_object_report_201() -> None:
    body = load("metadata-object-create-201-objectReport.java-client-fixture.json")
    report = parse_object_report(body)
    assert report.uid == "IpegnnJjUQN"
    assert report.klass == "org.hisp.dhis.dataelement.DataElement"
    assert report.errors == []
    assert report.ok
    assert report.web_message["httpStatusCode"] == 201


def test_object_report_with_errors() -> None:
    body = web_message(
        409,
        response={
            "klass": "org.hisp.dhis.dataelement.DataElement",
            "errorReports": [
                {
                    "message": "Missing required property `shortName`.",
                    "errorCode": "E4000",
                    "errorProperty": "shortName",
                    "mainKlass": "org.hisp.dhis.dataelement.DataElement",
                }
            ],
        },
    )
    report = parse_object_report(body)
    assert not report.ok
    assert [(e.error_code, e.property) for e in report.errors] == [("E4000", "shortName")]
    with pytest.raises(UnexpectedResponse):
        parse_object_report(load("metadata-import-report-bare-pre2.38.docs-2.40.json"))


# ---- tracker -------------------------------------------------------------------------------------


def test_tracker_report_ok_full_docs_2_41() -> None:
    report = parse_tracker_import_report(load("tracker-import-report-ok-full.docs-2.41.json"))
    assert report.status == "OK"
    assert report.ok
    assert report.stats == stats(created=3)
    assert report.errors == [] and report.warnings == []
    assert {k: v["created"] for k, v in report.bundle_stats.items()} == {
        "EVENT": 1,
        "ENROLLMENT": 1,
        "RELATIONSHIP": 0,
        "TRACKED_ENTITY": 1,
    }


def test_tracker_report_error_validation() -> None:
    report = parse_tracker_import_report(
        load("tracker-import-report-error-validation.android-fixture.json")
    )
    assert report.status == "ERROR"
    assert not report.ok
    assert report.stats == stats(ignored=3)
    assert [(e.error_code, e.tracker_type, e.uid) for e in report.errors] == [
        ("E1029", "EVENT", "event1Id"),
        ("E1029", "EVENT", "event2Id"),
        ("E1029", "EVENT", "event3Id"),
    ]
    assert report.errors[0].message == E1029
    assert report.rejected_uids == ["event1Id", "event2Id", "event3Id"]
    assert report.bundle_stats == {}


def test_tracker_report_error_partial_bundle_without_top_level_stats() -> None:
    body = load("tracker-import-report-error-partial-bundleReport.android-fixture.json")
    assert "stats" not in body
    report = parse_tracker_import_report(body)
    assert report.status == "ERROR"
    assert report.stats == stats(created=1)
    assert [e.uid for e in report.errors] == ["event2Id", "event3Id"]
    assert {e.error_code for e in report.errors} == {"E1029"}
    assert report.bundle_stats["EVENT"]["created"] == 1
    assert report.bundle_stats["ENROLLMENT"]["total"] == 0
    assert set(report.bundle_stats) == {"EVENT", "ENROLLMENT", "RELATIONSHIP", "TRACKED_ENTITY"}


def test_tracker_job_report_ok() -> None:
    report = parse_tracker_import_report(load("tracker-jobs-report-ok.android-fixture.json"))
    assert report.status == "OK"
    assert report.stats == stats(created=1, updated=2, deleted=3, ignored=4)
    assert report.bundle_stats["TRACKED_ENTITY"] == stats(
        created=3, updated=3, deleted=2, ignored=2
    )
    assert report.bundle_stats["EVENT"]["total"] == 8
    assert report.bundle_stats["RELATIONSHIP"]["total"] == 4
    assert report.bundle_stats["ENROLLMENT"]["total"] == 0
    assert report.errors == []


def test_tracker_job_report_error() -> None:
    report = parse_tracker_import_report(load("tracker-jobs-report-error.android-fixture.json"))
    assert report.status == "ERROR"
    assert report.stats == stats(ignored=1)
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.error_code, error.tracker_type, error.uid) == ("E1033", "EVENT", "PXi7gfVIk1p")
    assert error.message == "Event: `PXi7gfVIk1p`, Enrollment value is NULL."


def test_tracker_report_warning_and_object_report_errors() -> None:
    body = {
        "status": "WARNING",
        "validationReport": {
            "errorReports": [],
            "warningReports": [
                {
                    "message": "Generated",
                    "errorCode": "E1308",
                    "trackerType": "EVENT",
                    "uid": "gTZBPT3Jq39",
                }
            ],
        },
        "stats": stats(created=1),
        "bundleReport": {
            "typeReportMap": {
                "EVENT": {
                    "trackerType": "EVENT",
                    "stats": stats(created=1),
                    "objectReports": [
                        {
                            "trackerType": "EVENT",
                            "uid": "gTZBPT3Jq40",
                            "index": 1,
                            "errorReports": [{"message": "boom", "errorCode": "E9999"}],
                        }
                    ],
                }
            }
        },
    }
    report = parse_tracker_import_report(body)
    assert report.status == "WARNING"
    assert [(w.error_code, w.uid) for w in report.warnings] == [("E1308", "gTZBPT3Jq39")]
    assert [(e.error_code, e.uid, e.tracker_type) for e in report.errors] == [
        ("E9999", "gTZBPT3Jq40", "EVENT")
    ]


def test_tracker_parser_rejects_other_reports() -> None:
    with pytest.raises(UnexpectedResponse, match="parse_metadata_import_report"):
        parse_tracker_import_report(load("metadata-import-report-bare-pre2.38.docs-2.40.json"))
    with pytest.raises(UnexpectedResponse):
        parse_tracker_import_report(
            load("dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json")
        )


# ---- legacy events -------------------------------------------------------------------------------


def test_legacy_events_409_all_errors() -> None:
    body = load("events-legacy-post-409-importSummaries-error.android-fixture.json")
    result = parse_legacy_event_summaries(body)
    assert result.status == "ERROR"
    assert not result.ok
    assert (result.imported, result.updated, result.deleted, result.ignored) == (0, 0, 0, 3)
    assert result.total == 3
    assert [s.reference for s in result.summaries] == ["event1Id", "event2Id", "event3Id"]
    assert all(s.status == "ERROR" and s.ignored == 1 for s in result.summaries)
    assert all(
        s.conflicts == [ImportConflict(object="CategoryOptionCombo", value=NO_WRITE_ACCESS)]
        for s in result.summaries
    )
    assert result.failed_references == ["event1Id", "event2Id", "event3Id"]
    assert result.web_message["httpStatusCode"] == 409


def test_legacy_events_409_partial() -> None:
    body = load("events-legacy-post-409-importSummaries-partial.android-fixture.json")
    result = parse_legacy_event_summaries(body)
    assert result.status == "ERROR"
    assert (result.imported, result.updated, result.deleted, result.ignored) == (0, 0, 0, 3)
    first, second, third = result.summaries
    assert (first.reference, first.status, first.imported, first.conflicts) == (
        "event1Id",
        "SUCCESS",
        1,
        [],
    )
    assert (second.status, second.ignored, second.conflicts[0].value) == (
        "ERROR",
        1,
        NO_WRITE_ACCESS,
    )
    assert third.reference == "event3Id"
    assert result.failed_references == ["event2Id", "event3Id"]


def test_legacy_events_task_summary_2_34() -> None:
    body = load(
        "system-taskSummaries-EVENT_IMPORT-importSummaries-error-2.34.import-export-app-fixture.json"
    )
    result = parse_legacy_event_summaries(body)
    assert result.status == "ERROR"
    assert (result.imported, result.updated, result.deleted, result.ignored) == (0, 0, 0, 1)
    assert result.total == 1
    assert result.web_message is None
    (only,) = result.summaries
    assert only.reference is None
    assert only.status == "ERROR"
    assert only.description == "Event date is required. "
    assert only.ignored == 1
    assert result.failed_references == []  # no reference to name


def test_legacy_single_event_summary() -> None:
    body = _imported_one(reference="ZwwuwNp6gVd")
    result = parse_legacy_event_summaries(body)
    assert result.ok
    assert [(s.reference, s.imported) for s in result.summaries] == [("ZwwuwNp6gVd", 1)]


def test_legacy_parser_rejects_metadata() -> None:
    with pytest.raises(UnexpectedResponse):
        parse_legacy_event_summaries(
            load("metadata-import-webmessage-200-ok.java-client-fixture.json")
        )


# ---- async job references ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "dataValueSets-post-async-job-response-2.34.import-export-app-fixture.json",
            JobReference(
                "VSvRqiTbZFw",
                "DATAVALUE_IMPORT",
                "/api/system/tasks/DATAVALUE_IMPORT/VSvRqiTbZFw",
                "dataValueImport",
                "Initiated dataValueImport",
            ),
        ),
        (
            "dataValueSets-post-async-job-response.docs-2.40.json",
            JobReference(
                "YR1UxOUXmzT",
                "DATAVALUE_IMPORT",
                "/api/system/tasks/DATAVALUE_IMPORT/YR1UxOUXmzT",
                "dataValueImport",
                "Initiated dataValueImport",
            ),
        ),
        (
            "dataValueSets-post-async-job-response-2.44dev.import-export-app-recording.json",
            JobReference(
                "gQqb1QgRGFt",
                "DATAVALUE_IMPORT",
                "/api/system/tasks/DATAVALUE_IMPORT/gQqb1QgRGFt",
                "DATAVALUE_IMPORT (1787837179871)",
                "Initiated DATAVALUE_IMPORT (1787837179871)",
            ),
        ),
        (
            "metadata-post-async-job-response-2.34.import-export-app-fixture.json",
            JobReference(
                "LsJVYK4DwaO",
                "METADATA_IMPORT",
                "/api/system/tasks/METADATA_IMPORT/LsJVYK4DwaO",
                "metadataImport",
                "Initiated metadataImport",
            ),
        ),
        (
            "tracker-post-async-job-added-2.38-2.40.android-fixture.json",
            JobReference(
                "LkXBUdIgbe3",
                "TRACKER_IMPORT_JOB",
                "https://play.dhis2.org/dev/api/tracker/jobs/LkXBUdIgbe3",
                None,
                "Tracker job added",
            ),
        ),
        (
            "tracker-post-async-job-added-2.41.docs.json",
            JobReference(
                "cHh2OCTJvRw",
                "TRACKER_IMPORT_JOB",
                "https://play.im.dhis2.org/dev/api/tracker/jobs/cHh2OCTJvRw",
                None,
                "Tracker job added",
            ),
        ),
    ],
)
def test_job_references(name: str, expected: JobReference) -> None:
    body = load(name)
    job = parse_job_reference(body)
    assert job == expected
    assert job.is_tracker is (expected.job_type == "TRACKER_IMPORT_JOB")
    assert is_job_reference(body)


def test_job_type_from_notifier_endpoint_when_job_type_missing() -> None:
    body = {
        "httpStatusCode": 200,
        "response": {
            "id": "abcdefghijk",
            "relativeNotifierEndpoint": "/api/system/tasks/EVENT_IMPORT/abcdefghijk",
        },
    }
    assert parse_job_reference(body).job_type == "EVENT_IMPORT"


@pytest.mark.parametrize(
    "name",
    [
        "dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json",
        "metadata-object-create-201-objectReport.java-client-fixture.json",
        "tracker-jobs-report-ok.android-fixture.json",
    ],
)
def test_summaries_are_not_job_references(name: str) -> None:
    assert not is_job_reference(load(name))
    with pytest.raises(UnexpectedResponse, match="not an async job reference"):
        parse_job_reference(load(name))
