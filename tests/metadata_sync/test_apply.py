"""Import reports of every envelope, and the VALIDATE/COMMIT flow (respx at the transport)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from dhis2 import BasicAuth, Client, RetryPolicy
from metadata_sync.apply import apply_payload, import_metadata
from tests.samples import load_sample

BASE = "https://dhis.example.org/dhis"
PAYLOAD = {"dataElements": [{"id": "deCases0001", "name": "Cases"}]}

# A 2.40 answer with validation errors, written from DHIS2's ImportReport shape
# (a metadata import WebMessage: 409 with status WARNING, report status ERROR with
# atomicMode=ALL, typeReports/objectReports/errorReports with errorCode E5002/E5003).
ERROR_409: dict[str, Any] = {
    "httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
    "message": "One or more errors occurred, please see full details in import report.",
    "response": {
        "responseType": "ImportReport", "status": "ERROR",
        "stats": {"created": 0, "updated": 0, "deleted": 0, "ignored": 2, "total": 2},
        "typeReports": [{
            "klass": "org.hisp.dhis.dataelement.DataElement",
            "stats": {"created": 0, "updated": 0, "deleted": 0, "ignored": 2, "total": 2},
            "objectReports": [{
                "klass": "org.hisp.dhis.dataelement.DataElement", "index": 0, "uid": "deCases0001",
                "errorReports": [{
                    "message": "Invalid reference ccSex000001 (CategoryCombo) on object Cases (DataElement) for association `categoryCombo`.",
                    "mainKlass": "org.hisp.dhis.dataelement.DataElement",
                    "errorKlass": "org.hisp.dhis.category.CategoryCombo",
                    "errorProperty": "categoryCombo", "errorProperties": [], "errorCode": "E5002",
                    "mainId": "deCases0001",
                }],
            }],
        }],
    },
}  # fmt: skip


load = load_sample  # the short name these tests use


@pytest.fixture
def client() -> Client:
    return Client(BASE, BasicAuth("admin", "district"), retry=RetryPolicy(max_attempts=1))


@respx.mock
def test_bare_pre_238_report_counts_per_type(client: Client) -> None:
    route = respx.post(f"{BASE}/api/metadata").mock(
        return_value=httpx.Response(
            200, json=load("metadata-import-report-bare-pre2.38.docs-2.40.json")
        )
    )
    outcome = import_metadata(client, PAYLOAD, mode="COMMIT", strategy="CREATE", atomic="NONE")
    params = dict(route.calls.last.request.url.params)
    assert params["importMode"] == "COMMIT"
    assert params["importStrategy"] == "CREATE"
    assert params["atomicMode"] == "NONE"
    assert json.loads(route.calls.last.request.content) == PAYLOAD
    assert outcome.ok
    assert outcome.counts == {
        "dataElements": {"created": 2, "updated": 0, "ignored": 0, "deleted": 0},
        "Indicator": {"created": 1, "updated": 0, "ignored": 0, "deleted": 0},
    }
    assert outcome.totals == {"created": 3, "updated": 0, "ignored": 0, "deleted": 0}


@respx.mock
def test_webmessage_200_report(client: Client) -> None:
    respx.post(f"{BASE}/api/metadata").mock(
        return_value=httpx.Response(
            200, json=load("metadata-import-webmessage-200-ok.java-client-fixture.json")
        )
    )
    outcome = import_metadata(client, PAYLOAD)
    assert outcome.ok and outcome.mode == "VALIDATE"
    assert outcome.counts == {
        "programStages": {"created": 1, "updated": 0, "ignored": 0, "deleted": 0},
        "programs": {"created": 1, "updated": 0, "ignored": 0, "deleted": 0},
    }


@respx.mock
def test_async_task_summary_report_parses_too() -> None:
    from dhis2.imports import parse_metadata_import_report
    from metadata_sync.apply import outcome_from_report

    body = load(
        "system-taskSummaries-METADATA_IMPORT-importReport-2.34.import-export-app-fixture.json"
    )
    outcome = outcome_from_report(parse_metadata_import_report(body), mode="COMMIT")
    assert outcome.status == "OK"
    assert outcome.totals == {"created": 0, "updated": 0, "ignored": 0, "deleted": 0}


@respx.mock
def test_409_report_gives_every_error_and_a_failed_validation_commits_nothing(
    client: Client,
) -> None:
    route = respx.post(f"{BASE}/api/metadata").mock(
        return_value=httpx.Response(409, json=ERROR_409)
    )
    validation, commit = apply_payload(client, PAYLOAD)
    assert commit is None
    assert route.call_count == 1
    assert dict(route.calls.last.request.url.params)["importMode"] == "VALIDATE"
    assert validation.status == "ERROR" and validation.http_status == 409
    assert validation.counts["dataElements"]["ignored"] == 2
    assert [e.as_dict() for e in validation.errors] == [{
        "error_code": "E5002", "type": "dataElements", "object": "deCases0001",
        "message": ERROR_409["response"]["typeReports"][0]["objectReports"][0]["errorReports"][0]["message"],
        "property": "categoryCombo",
    }]  # fmt: skip


@respx.mock
def test_a_passing_validation_is_followed_by_the_commit(client: Client) -> None:
    route = respx.post(f"{BASE}/api/metadata").mock(
        return_value=httpx.Response(
            200, json=load("metadata-import-webmessage-200-ok.java-client-fixture.json")
        )
    )
    validation, commit = apply_payload(client, PAYLOAD, strategy="UPDATE", atomic="NONE")
    assert validation.ok and commit is not None and commit.mode == "COMMIT"
    modes = [dict(c.request.url.params)["importMode"] for c in route.calls]
    assert modes == ["VALIDATE", "COMMIT"]
    assert {dict(c.request.url.params)["importStrategy"] for c in route.calls} == {"UPDATE"}


def test_bad_options_are_refused_before_sending(client: Client) -> None:
    with pytest.raises(ValueError, match="importStrategy"):
        import_metadata(client, PAYLOAD, strategy="DELETE")
    with pytest.raises(ValueError, match="atomicMode"):
        import_metadata(client, PAYLOAD, atomic="OBJECT")
