"""Dependency closure and payload clean-up, over an in-memory source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metadata_sync.payload import build_payload, dependency_types
from metadata_sync.schema import ORDER

DEF_CC, DEF_COC = "bjDvmb4bfuf", "HllvX50cXC0"
DST_DEF_CC = "p0KPaWEg3cf"  # the destination's default combo has another UID

SOURCE: dict[str, dict[str, dict[str, Any]]] = {
    "organisationUnits": {
        "ouRoot00001": {"id": "ouRoot00001", "name": "Country", "level": 1, "path": "/ouRoot00001"},
        "ouDist00001": {"id": "ouDist00001", "name": "District", "level": 2,
                        "parent": {"id": "ouRoot00001"}, "path": "/ouRoot00001/ouDist00001"},
        "ouSub000001": {"id": "ouSub000001", "name": "Sub", "level": 3,
                        "parent": {"id": "ouDist00001"},
                        "path": "/ouRoot00001/ouDist00001/ouSub000001"},
        "ouFac000001": {"id": "ouFac000001", "name": "Facility " + "x" * 60, "level": 4,
                        "code": "FAC1", "parent": {"id": "ouSub000001"},
                        "path": "/ouRoot00001/ouDist00001/ouSub000001/ouFac000001",
                        "sharing": {"public": "rw------"}, "users": [{"id": "user0000001"}]},
    },
    "categoryOptions": {
        "coFemale001": {"id": "coFemale001", "name": "Female", "shortName": "Female"},
        "coMale00001": {"id": "coMale00001", "name": "Male", "shortName": "Male"},
    },
    "categories": {
        "catSex00001": {"id": "catSex00001", "name": "Sex", "dataDimensionType": "DISAGGREGATION",
                        "categoryOptions": [{"id": "coFemale001"}, {"id": "coMale00001"}]},
    },
    "categoryCombos": {
        "ccSex000001": {"id": "ccSex000001", "name": "Sex", "categories": [{"id": "catSex00001"}],
                        "categoryOptionCombos": [{"id": "cocF0000001"}, {"id": "cocM0000001"}]},
        "ccAge000001": {"id": "ccAge000001", "name": "Age", "categories": [],
                        "categoryOptionCombos": []},
    },
    "categoryOptionCombos": {
        "cocF0000001": {"id": "cocF0000001", "name": "Female", "categoryCombo": {"id": "ccSex000001"},
                        "categoryOptions": [{"id": "coFemale001"}]},
        "cocM0000001": {"id": "cocM0000001", "name": "Male", "categoryCombo": {"id": "ccSex000001"},
                        "categoryOptions": [{"id": "coMale00001"}]},
        "cocAgeU5001": {"id": "cocAgeU5001", "name": "<5", "categoryCombo": {"id": "ccAge000001"},
                        "categoryOptions": []},
    },
    "dataElements": {
        "deCases0001": {"id": "deCases0001", "name": "Malaria cases", "code": "MAL",
                        "valueType": "INTEGER", "categoryCombo": {"id": "ccSex000001"},
                        "attributeValues": [{"attribute": {"id": "attr0000001"}, "value": "x"}]},
        "deRemark001": {"id": "deRemark001", "name": "Remarks", "valueType": "TEXT",
                        "categoryCombo": {"id": DEF_CC}},
        "deAge000001": {"id": "deAge000001", "name": "Tests by age", "valueType": "NUMBER",
                        "shortName": "Tests", "aggregationType": "AVERAGE",
                        "domainType": "AGGREGATE", "categoryCombo": {"id": "ccAge000001"}},
        "deNoCc00001": {"id": "deNoCc00001", "name": "Tests", "valueType": "NUMBER"},
    },
    "dataSets": {
        "dsMonthly01": {
            "id": "dsMonthly01", "name": "Monthly", "periodType": "Monthly",
            "categoryCombo": {"id": DEF_CC},
            "dataSetElements": [
                {"dataSet": {"id": "dsMonthly01"}, "dataElement": {"id": "deCases0001"}},
                {"dataElement": {"id": "deRemark001"}, "categoryCombo": {"id": "ccSex000001"}},
            ],
            "organisationUnits": [{"id": "ouFac000001"}, {"id": "ouRoot00001"},
                                  {"id": "ouElse00001"}],
        },
    },
}  # fmt: skip


class FakeSource:
    def __init__(self) -> None:
        self.requests: list[tuple[str, tuple[str, ...]]] = []

    def fetch(self, type_: str, uids: Sequence[str]) -> list[dict[str, Any]]:
        self.requests.append((type_, tuple(uids)))
        return [dict(SOURCE[type_][u]) for u in uids if u in SOURCE.get(type_, {})]


def all_refs(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        out = [obj["id"]] if set(obj) == {"id"} else []
        for key, value in obj.items():
            if key != "id":
                out += all_refs(value)
        return out
    if isinstance(obj, list):
        return [r for v in obj for r in all_refs(v)]
    return []


def check_complete(metadata: dict[str, list[dict[str, Any]]], existing: set[str]) -> None:
    """No duplicate object, and every reference is in the payload or on the destination."""
    sent = [o["id"] for objs in metadata.values() for o in objs]
    assert len(sent) == len(set(sent))
    for objs in metadata.values():
        for obj in objs:
            for ref in all_refs({k: v for k, v in obj.items() if k != "id"}):
                assert ref in sent or ref in existing, f"{obj['id']} references {ref}"


def test_a_data_set_brings_elements_combos_categories_options_and_option_combos() -> None:
    source = FakeSource()
    # the destination has the root org unit (same UID), the Female option under another UID
    resolution = {"organisationUnits": {"ouRoot00001": "ouRoot00001"},
                  "categoryOptions": {"coFemale001": "coFemDst001"}}  # fmt: skip
    payload = build_payload(
        selected={"dataSets": ["dsMonthly01"]},
        fetch=source.fetch,
        resolution=resolution,
        defaults=({"categoryCombos": DEF_CC}, {"categoryCombos": DST_DEF_CC}),
    )
    md = payload.metadata
    assert list(md) == [t for t in ORDER if t in md]  # dependency order
    assert {t: sorted(o["id"] for o in objs) for t, objs in md.items()} == {
        "categoryOptions": ["coMale00001"],
        "categories": ["catSex00001"],
        "categoryCombos": ["ccSex000001"],
        "categoryOptionCombos": ["cocF0000001", "cocM0000001"],
        "dataElements": ["deCases0001", "deRemark001"],
        "dataSets": ["dsMonthly01"],
    }
    check_complete(md, existing={"ouRoot00001", "coFemDst001", DST_DEF_CC})
    category = md["categories"][0]
    assert category["categoryOptions"] == [{"id": "coFemDst001"}, {"id": "coMale00001"}]
    data_set = md["dataSets"][0]
    assert data_set["categoryCombo"] == {"id": DST_DEF_CC}
    assert data_set["organisationUnits"] == [{"id": "ouRoot00001"}]  # others not on destination
    assert data_set["dataSetElements"] == [
        {"dataSet": {"id": "dsMonthly01"}, "dataElement": {"id": "deCases0001"}},
        {"dataSet": {"id": "dsMonthly01"}, "dataElement": {"id": "deRemark001"},
         "categoryCombo": {"id": "ccSex000001"}},
    ]  # fmt: skip
    remarks = next(o for o in md["dataElements"] if o["id"] == "deRemark001")
    assert remarks["categoryCombo"] == {"id": DST_DEF_CC}
    assert remarks["aggregationType"] == "NONE"  # TEXT
    assert remarks["domainType"] == "AGGREGATE"
    assert remarks["shortName"] == "Remarks"
    cases = next(o for o in md["dataElements"] if o["id"] == "deCases0001")
    assert cases["code"] == "MAL"
    assert cases["aggregationType"] == "SUM"
    assert "attributeValues" not in cases
    assert payload.referenced["categoryOptions"] == {"coFemale001": "coFemDst001"}
    assert any("organisation units" in w and "2" in w for w in payload.warnings)
    fetched = [u for _t, uids in source.requests for u in uids]
    assert len(fetched) == len(set(fetched))  # every object read once
    assert "ouRoot00001" not in fetched and "coFemale001" not in fetched


def test_an_org_unit_brings_its_missing_ancestors_first_and_is_cleaned() -> None:
    payload = build_payload(
        selected={"organisationUnits": ["ouFac000001"]},
        fetch=FakeSource().fetch,
        resolution={"organisationUnits": {"ouRoot00001": "ouRootDst01"}},
    )
    units = payload.metadata["organisationUnits"]
    assert [u["id"] for u in units] == ["ouDist00001", "ouSub000001", "ouFac000001"]
    assert units[0]["parent"] == {"id": "ouRootDst01"}  # existing ancestor by destination UID
    facility = units[2]
    assert facility["parent"] == {"id": "ouSub000001"}
    assert len(facility["shortName"]) == 50
    assert facility["openingDate"] == "1970-01-01"
    assert facility["code"] == "FAC1"
    for banned in ("sharing", "users", "path", "level"):
        assert banned not in facility
    check_complete(payload.metadata, existing={"ouRootDst01"})


def test_existing_objects_are_referenced_never_sent_and_selected_existing_skipped() -> None:
    source = FakeSource()

    def exists(type_: str, uids: Sequence[str]) -> set[str]:
        return {u for u in uids if u in {"ccSex000001"}}  # destination has the Sex combo by UID

    payload = build_payload(
        selected={"dataElements": ["deCases0001", "deRemark001"]},
        fetch=source.fetch,
        resolution={"dataElements": {"deRemark001": "deRemDst001"}},
        defaults=({"categoryCombos": DEF_CC}, {"categoryCombos": DEF_CC}),
        exists=exists,
    )
    assert payload.counts == {"dataElements": 1}
    assert payload.metadata["dataElements"][0]["categoryCombo"] == {"id": "ccSex000001"}
    assert payload.referenced == {"categoryCombos": {"ccSex000001": "ccSex000001"}}
    assert any("already on the destination" in w for w in payload.warnings)
    assert ("categoryCombos", ("ccSex000001",)) not in source.requests


def test_option_combos_of_an_existing_combo_are_not_sent() -> None:
    payload = build_payload(
        selected={"categoryOptionCombos": ["cocAgeU5001"], "dataElements": ["deNoCc00001"]},
        fetch=FakeSource().fetch,
        resolution={"categoryCombos": {"ccAge000001": "ccAgeDst001"}},
        defaults=({"categoryCombos": DEF_CC}, {"categoryCombos": DST_DEF_CC}),
    )
    assert "categoryOptionCombos" not in payload.metadata
    element = payload.metadata["dataElements"][0]
    assert element["categoryCombo"] == {"id": DST_DEF_CC}  # filled with the default combo
    assert element["aggregationType"] == "SUM" and element["domainType"] == "AGGREGATE"
    assert any("generates" in w for w in payload.warnings)


def test_short_names_are_unique_within_the_payload() -> None:
    long = "A very long data element name that goes well past fifty characters"
    src = {f"deLong0000{i}": {"id": f"deLong0000{i}", "name": f"{long} {i}", "valueType": "NUMBER"}
           for i in range(3)}  # fmt: skip

    def fetch(type_: str, uids: Sequence[str]) -> list[dict[str, Any]]:
        return [dict(src[u]) for u in uids]

    payload = build_payload(selected={"dataElements": list(src)}, fetch=fetch, resolution={})
    shorts = [o["shortName"] for o in payload.metadata["dataElements"]]
    assert len(set(shorts)) == 3
    assert all(len(s) <= 50 for s in shorts)


def test_dependency_types_include_everything_a_sync_can_bring() -> None:
    assert dependency_types(["dataElements"]) == [
        "categoryOptions", "categories", "categoryCombos", "categoryOptionCombos", "dataElements",
    ]  # fmt: skip
    assert dependency_types(["organisationUnits"]) == ["organisationUnits"]
