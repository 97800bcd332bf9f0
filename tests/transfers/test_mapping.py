"""Mapping: lookup order, default combo translation, AOC/org unit maps, unmapped policies."""

from __future__ import annotations

import pytest

from tests.samples import load_sample
from transfers.mapping import NO_CODE, DataValue, Mapper, MappingRow, duplicate_rows

SRC_DEFAULT = "HllvX50cXC0"
DST_DEFAULT = "bRowv6yZOF2"  # old-database default (reference §10)


def value(
    de: str = "deA", coc: str | None = "cocA", aoc: str | None = SRC_DEFAULT, **kw
) -> DataValue:
    return DataValue(
        data_element=de,
        period=kw.pop("period", "202401"),
        org_unit=kw.pop("org_unit", "ouA"),
        category_option_combo=coc,
        attribute_option_combo=aoc,
        value=kw.pop("value", "5"),
        **kw,
    )


def mapper(rows: list[MappingRow] | None = None, **kw) -> Mapper:
    kw.setdefault("source_default_coc", SRC_DEFAULT)
    kw.setdefault("destination_default_coc", DST_DEFAULT)
    return Mapper(rows or [], **kw)


def test_exact_row_wins_over_any_combo_row() -> None:
    m = mapper(
        [
            MappingRow("deA", None, "deX", None),
            MappingRow("deA", "cocA", "deY", "cocY"),
        ]
    )
    exact = m.map(value(coc="cocA"))
    other = m.map(value(coc="cocB"))
    assert (exact.data_element, exact.category_option_combo) == ("deY", "cocY")
    assert (other.data_element, other.category_option_combo) == ("deX", "cocB")
    assert m.unmapped_count == 0


def test_any_combo_row_with_target_combo_collapses_combos() -> None:
    m = mapper([MappingRow("deA", None, "deX", "cocTotal")])
    assert m.map(value(coc="cocA")).category_option_combo == "cocTotal"
    assert m.map(value(coc="cocB")).category_option_combo == "cocTotal"


def test_source_default_combo_becomes_destination_default() -> None:
    m = mapper([MappingRow("deA", None, "deX", None)])
    mapped = m.map(value(coc=SRC_DEFAULT, aoc=SRC_DEFAULT))
    assert mapped.category_option_combo == DST_DEFAULT
    assert mapped.attribute_option_combo == DST_DEFAULT
    # Unmapped values sent unchanged get the same translation.
    unmapped = m.map(value(de="deB", coc=SRC_DEFAULT))
    assert (unmapped.data_element, unmapped.category_option_combo) == ("deB", DST_DEFAULT)


def test_exact_row_on_default_combo_matches_values_without_combo() -> None:
    m = mapper([MappingRow("deA", SRC_DEFAULT, "deX", None)])
    assert m.map(value(coc=None)).data_element == "deX"
    assert m.map(value(coc=SRC_DEFAULT)).data_element == "deX"


def test_attribute_combo_and_org_unit_maps() -> None:
    m = mapper(
        attribute_option_combo_map={"aocGov": "aocGovDst"},
        org_unit_map={"ouA": "ouZ"},
    )
    mapped = m.map(value(aoc="aocGov"))
    assert (mapped.attribute_option_combo, mapped.org_unit) == ("aocGovDst", "ouZ")
    other = m.map(value(aoc="aocPartner", org_unit="ouB"))
    assert (other.attribute_option_combo, other.org_unit) == ("aocPartner", "ouB")


def test_explicit_map_of_the_default_attribute_combo_is_honoured() -> None:
    m = mapper(attribute_option_combo_map={SRC_DEFAULT: "aocNational"})
    assert m.map(value(aoc=SRC_DEFAULT)).attribute_option_combo == "aocNational"
    assert m.map(value(aoc=None)).attribute_option_combo == "aocNational"


def test_unmapped_send_counts_and_keeps_identifiers() -> None:
    m = mapper([MappingRow("deA", None, "deX", None)], unmapped="send")
    values = [value(de="deB", coc="c1"), value(de="deB", coc="c1"), value(de="deC", coc="c2")]
    mapped = [m.map(v) for v in values]
    assert [v.data_element for v in mapped] == ["deB", "deB", "deC"]
    assert m.unmapped_count == 3
    assert m.unmapped_report() == [
        {"data_element": "deB", "category_option_combo": "c1", "count": 2, "action": "sent",
         "reason": "no mapping row"},
        {"data_element": "deC", "category_option_combo": "c2", "count": 1, "action": "sent",
         "reason": "no mapping row"},
    ]  # fmt: skip


def test_unmapped_skip_drops_and_reports() -> None:
    m = mapper([MappingRow("deA", None, "deX", None)], unmapped="skip")
    assert m.map(value(de="deB")) is None
    assert m.map(value(de="deA")) is not None
    assert m.unmapped_count == 1
    assert m.unmapped_report()[0]["action"] == "skipped"


def test_values_without_identifiers_are_never_sent() -> None:
    """idScheme=CODE exports null for objects without a code."""
    m = mapper(unmapped="send", require_combos=True)
    assert m.map(value(de=None)) is None
    assert m.map(value(coc=None)) is None  # not taken for the default combo
    report = m.unmapped_report()
    assert {r["data_element"] for r in report} == {NO_CODE, "deA"}
    assert {r["action"] for r in report} == {"skipped"}
    assert {r["reason"] for r in report} == {"no identifier on the source"}


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="send"):
        Mapper([], unmapped="drop")


def test_duplicate_rows_are_listed() -> None:
    rows = [
        MappingRow("deA", None, "deX", None),
        MappingRow("deA", None, "deY", None),
        MappingRow("deA", "c1", "deY", None),
    ]
    assert duplicate_rows(rows) == [("deA", None)]
    assert mapper(rows).map(value(coc="c2")).data_element == "deX"  # first row wins


@pytest.mark.parametrize(
    "name",
    [
        "dataValueSets-get-dataSet-period-orgUnit-2.36.json",
        "dataValueSets-get-dataSet-period-orgUnit-2.40.json",
        "dataValueSets-get-startDate-endDate-2.40.json",
        "dataValueSets-get-dataElement-period-2.41.json",
    ],
)
def test_data_values_parse_from_real_exports(name: str) -> None:
    body = load_sample(name)
    values = [DataValue.from_dhis2(v) for v in body["dataValues"]]
    assert values and all(v.data_element and v.org_unit and v.period for v in values)
    assert all(isinstance(v.value, str) for v in values)
    assert all(v.comment is None or v.comment.strip() for v in values)  # null and "" alike


def test_payload_leaves_out_timestamps_storedby_and_false_followup() -> None:
    raw = {
        "dataElement": "deA", "period": "202401", "orgUnit": "ouA",
        "categoryOptionCombo": "c1", "attributeOptionCombo": "a1", "value": "7",
        "storedBy": "bob", "created": "2024-01-01T00:00:00.000+0000",
        "lastUpdated": "2024-01-02T00:00:00.000+0000", "comment": "", "followup": False,
    }  # fmt: skip
    payload = DataValue.from_dhis2(raw).to_payload()
    assert payload == {
        "dataElement": "deA", "period": "202401", "orgUnit": "ouA",
        "categoryOptionCombo": "c1", "attributeOptionCombo": "a1", "value": "7",
    }  # fmt: skip
    flagged = DataValue.from_dhis2({**raw, "comment": "checked", "followup": True})
    assert flagged.to_payload()["comment"] == "checked"
    assert flagged.to_payload()["followup"] is True
    assert DataValue.from_dhis2({**raw, "deleted": True}).deleted
