"""The picker endpoints: the lazy org unit tree, the period picker's relative choices and the
mapping editor's candidates (prefilled from accepted mappings and the latest assessment)."""

from __future__ import annotations

import httpx
import pytest
import respx
import time_machine
from django.contrib.auth.models import User

from connections.models import ConnectionProfile, Instance
from metadata_sync.models import AssessmentItem, MetadataAssessment, ProfileMapping
from tests.conftest import api_as

SOURCE = "https://source.example.org/dhis/api"
DEST = "https://national.example.org/api"


def _query(call: respx.models.Call) -> list[tuple[str, str]]:
    return list(httpx.URL(str(call.request.url)).params.multi_items())


# --- org unit tree -------------------------------------------------------------------------
@respx.mock
def test_children_of_a_unit_say_whether_they_open(bob: User, source_instance: Instance) -> None:
    route = respx.get(f"{SOURCE}/organisationUnits").respond(
        200,
        json={
            "organisationUnits": [
                {"id": "O6uvpzGd5pu", "name": "Bo", "code": "OU_264", "level": 2,
                 "path": "/ImspTQPwCqd/O6uvpzGd5pu", "leaf": False},
                {"id": "DiszpKrYNg8", "name": "Ngelehun CHC", "level": 4,
                 "path": "/ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I/DiszpKrYNg8", "leaf": True},
            ]
        },
    )  # fmt: skip
    resp = api_as(bob).get(
        f"/api/v1/instances/{source_instance.pk}/org-units/", {"parent": "ImspTQPwCqd"}
    )
    assert resp.status_code == 200, resp.content
    assert [(u["id"], u["hasChildren"], u["parent"]) for u in resp.json()] == [
        ("O6uvpzGd5pu", True, "ImspTQPwCqd"),
        ("DiszpKrYNg8", False, "YuQRtpLP10I"),
    ]
    query = _query(route.calls[0])
    assert ("filter", "parent.id:eq:ImspTQPwCqd") in query
    assert "leaf" in dict(query)["fields"].split(",")
    assert "rootJunction" not in dict(query)


@respx.mock
def test_org_unit_search_matches_name_or_code(bob: User, source_instance: Instance) -> None:
    route = respx.get(f"{SOURCE}/organisationUnits").respond(200, json={"organisationUnits": []})
    api_as(bob).get(
        f"/api/v1/instances/{source_instance.pk}/org-units/",
        {"search": "OU_264", "parent": "ImspTQPwCqd"},
    )
    query = _query(route.calls[0])
    filters = [v for k, v in query if k == "filter"]
    # A search is global: the parent filter would be OR-ed in and widen it, so it is dropped.
    assert filters == ["name:ilike:OU_264", "code:ilike:OU_264"]
    assert ("rootJunction", "OR") in query


@respx.mock
def test_roots_are_level_one(bob: User, source_instance: Instance) -> None:
    route = respx.get(f"{SOURCE}/organisationUnits").respond(
        200,
        json={"organisationUnits": [{"id": "ImspTQPwCqd", "name": "Sierra Leone", "level": 1,
                                     "path": "/ImspTQPwCqd"}]},
    )  # fmt: skip
    [root] = api_as(bob).get(f"/api/v1/instances/{source_instance.pk}/org-units/").json()
    assert ("filter", "level:eq:1") in _query(route.calls[0])
    # No `leaf` in the answer: assume it may open rather than hide a subtree.
    assert root["parent"] is None and root["hasChildren"] is True


# --- period picker -------------------------------------------------------------------------
@respx.mock
@time_machine.travel("2024-07-15 10:00", tick=False)
def test_periods_come_with_relative_choices_resolved(bob: User, source_instance: Instance) -> None:
    respx.get(f"{SOURCE}/dataSets/BfMAe6Itzgt").respond(
        200, json={"id": "BfMAe6Itzgt", "periodType": "Monthly"}
    )
    body = (
        api_as(bob)
        .get(f"/api/v1/instances/{source_instance.pk}/data-sets/BfMAe6Itzgt/periods/?count=3")
        .json()
    )
    assert [p["id"] for p in body["periods"]] == ["202407", "202406", "202405"]
    relative = {r["id"]: r for r in body["relative"]}
    # DHIS2's LAST_3_MONTHS: the three months before the current one, oldest first.
    assert relative["LAST_3_MONTHS"]["periods"] == ["202404", "202405", "202406"]
    assert relative["THIS_MONTH"]["periods"] == ["202407"]
    assert relative["LAST_N"]["needsCount"] is True and relative["LAST_N"]["periods"] == []


# --- mapping editor ------------------------------------------------------------------------
def _element(uid: str, name: str, code: str | None, combos: list[tuple[str, str]]) -> dict:
    return {
        "dataElement": {
            "id": uid, "name": name, "code": code, "valueType": "INTEGER",
            "categoryCombo": {"id": "bjDvmb4bfuf", "categoryOptionCombos": [
                {"id": c, "name": n} for c, n in combos
            ]},
        }
    }  # fmt: skip


SOURCE_SET = {
    "id": "BfMAe6Itzgt", "name": "Child Health", "periodType": "Monthly",
    "dataSetElements": [
        _element("fbfJHSPpUQD", "ANC 1st visit", "DE_ANC1", [("pq2XI5kz2BY", "Fixed"), ("PT59n8BQbqM", "Outreach")]),
        _element("cYeuwXTCPkU", "ANC 2nd visit", "DE_ANC2", [("pq2XI5kz2BY", "Fixed")]),
        _element("hfdmMSPBgLG", "Malaria cases", None, [("HllvX50cXC0", "default")]),
        _element("s46m5MS0hxu", "BCG doses", "DE_BCG", [("HllvX50cXC0", "default")]),
        _element("x3Do5e7g4Qo", "Unmatched thing", None, [("HllvX50cXC0", "default")]),
    ],
}  # fmt: skip
DEST_SET = {
    "id": "TuL8IOPzpHh", "name": "Child Health (national)", "periodType": "Monthly",
    "dataSetElements": [
        _element("fbfJHSPpUQD", "ANC 1st visit", "DE_ANC1", [("pq2XI5kz2BY", "Fixed"), ("zDhUuAYrxNC", "Outreach")]),
        _element("Jtf34kNZhzP", "ANC second visit", "DE_ANC2", [("pq2XI5kz2BY", "Fixed")]),
        _element("vI2csg55S9C", "Malaria confirmed", None, [("HllvX50cXC0", "default")]),
        _element("GQY2lXrypjO", "BCG", "NAT_BCG", [("HllvX50cXC0", "default")]),
    ],
}  # fmt: skip


@pytest.fixture
def reviewed(profile: ConnectionProfile) -> ConnectionProfile:
    """An accepted mapping (BCG), and two assessments: an older one and the latest, done one
    whose name match (Malaria) and rejected suggestion (the unmatched thing) must be read."""
    ProfileMapping.objects.create(
        profile=profile, type="dataElements", source_id="s46m5MS0hxu", destination_id="GQY2lXrypjO"
    )
    old = MetadataAssessment.objects.create(profile=profile, status="done")
    AssessmentItem.objects.create(
        assessment=old, type="dataElements", source_id="hfdmMSPBgLG", destination_id="Jtf34kNZhzP",
        status="suggested",
    )  # fmt: skip
    latest = MetadataAssessment.objects.create(profile=profile, status="done")
    AssessmentItem.objects.create(
        assessment=latest, type="dataElements", source_id="hfdmMSPBgLG",
        destination_id="vI2csg55S9C", destination_name="Malaria confirmed",
        status="matched_by_name",
    )  # fmt: skip
    AssessmentItem.objects.create(
        assessment=latest, type="dataElements", source_id="x3Do5e7g4Qo",
        destination_id="GQY2lXrypjO", status="suggested",
        decision=AssessmentItem.Decision.REJECTED,
    )  # fmt: skip
    # An accepted mapping outranks the assessment's own guess for the same object.
    AssessmentItem.objects.create(
        assessment=latest, type="dataElements", source_id="s46m5MS0hxu",
        destination_id="Jtf34kNZhzP", status="suggested",
    )  # fmt: skip
    return profile


@respx.mock
def test_mapping_candidates_prefill_every_element_it_can(
    bob: User, reviewed: ConnectionProfile
) -> None:
    respx.get(f"{SOURCE}/dataSets/BfMAe6Itzgt").respond(200, json=SOURCE_SET)
    respx.get(f"{DEST}/dataSets/TuL8IOPzpHh").respond(200, json=DEST_SET)
    resp = api_as(bob).get(
        f"/api/v1/profiles/{reviewed.pk}/mapping-candidates/",
        {"data_set": "BfMAe6Itzgt", "target_data_set": "TuL8IOPzpHh"},
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert [e["name"] for e in body["dataSet"]["dataElements"]][:2] == [
        "ANC 1st visit", "ANC 2nd visit",
    ]  # fmt: skip
    assert body["targetDataSet"]["id"] == "TuL8IOPzpHh" and body["message"] == ""
    elements = {k: (v["id"], v["how"]) for k, v in body["suggestions"]["dataElements"].items()}
    assert elements == {
        "fbfJHSPpUQD": ("fbfJHSPpUQD", "same UID"),
        "cYeuwXTCPkU": ("Jtf34kNZhzP", "same code"),
        "hfdmMSPBgLG": ("vI2csg55S9C", "matched_by_name"),
        "s46m5MS0hxu": ("GQY2lXrypjO", "profile mapping"),
    }
    assert body["suggestions"]["dataElements"]["s46m5MS0hxu"]["name"] == "BCG"
    combos = {
        k: (v["id"], v["how"]) for k, v in body["suggestions"]["categoryOptionCombos"].items()
    }
    assert combos == {
        "pq2XI5kz2BY": ("pq2XI5kz2BY", "same UID"),
        "PT59n8BQbqM": ("zDhUuAYrxNC", "same name"),
        "HllvX50cXC0": ("HllvX50cXC0", "same UID"),
    }


@respx.mock
def test_a_destination_without_the_data_set_still_lists_the_source(
    bob: User, profile: ConnectionProfile
) -> None:
    respx.get(f"{SOURCE}/dataSets/BfMAe6Itzgt").respond(200, json=SOURCE_SET)
    respx.get(f"{DEST}/dataSets/BfMAe6Itzgt").respond(
        404, json={"httpStatusCode": 404, "status": "ERROR", "message": "DataSet not found"}
    )
    body = (
        api_as(bob)
        .get(f"/api/v1/profiles/{profile.pk}/mapping-candidates/", {"data_set": "BfMAe6Itzgt"})
        .json()
    )
    assert body["targetDataSet"] is None and "no data set BfMAe6Itzgt" in body["message"]
    assert len(body["dataSet"]["dataElements"]) == 5
    assert body["suggestions"]["dataElements"] == {}


def test_mapping_candidates_need_a_data_set_uid(bob: User, profile: ConnectionProfile) -> None:
    client = api_as(bob)
    url = f"/api/v1/profiles/{profile.pk}/mapping-candidates/"
    assert client.get(url).json() == {"data_set": ["'' is not a DHIS2 UID."]}
    assert client.get(url, {"data_set": "BfMAe6Itzgt", "target_data_set": "x"}).status_code == 400


def test_mapping_candidates_are_for_readers_only(charlie: User, profile: ConnectionProfile) -> None:
    url = f"/api/v1/profiles/{profile.pk}/mapping-candidates/?data_set=BfMAe6Itzgt"
    assert api_as(charlie).get(url).status_code == 403
