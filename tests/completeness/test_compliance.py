"""Compliance arithmetic over plain data: any/all, required subsets, thresholds, no data, the
summary partition and the transfer gate. Expected figures are worked out by hand below."""

from __future__ import annotations

import pytest

from completeness.assess import AssessmentRow, Summary
from completeness.compliance import DataSetStructure, compliance_by_form, gate_block, percent
from transfers.mapping import DataValue

# Four elements: A (default combo), B (Sex: F/M), C (Age: Y/O/X), D (default).
DEFAULT = "HllvX50cXC0"
STRUCTURE = DataSetStructure(
    uid="dsAAAAAAAAA",
    name="Test set",
    period_type="Monthly",
    elements={
        "deAAAAAAAAA": frozenset({DEFAULT}),
        "deBBBBBBBBB": frozenset({"cocFFFFFFFF", "cocMMMMMMMM"}),
        "deCCCCCCCCC": frozenset({"cocYYYYYYYY", "cocOOOOOOOO", "cocXXXXXXXX"}),
        "deDDDDDDDDD": frozenset(),  # combos unknown: falls back to "any"
    },
)
A, B, C, D = "deAAAAAAAAA", "deBBBBBBBBB", "deCCCCCCCCC", "deDDDDDDDDD"
OU1, OU2, OU3 = "ouAAAAAAAAA", "ouBBBBBBBBB", "ouCCCCCCCCC"


def dv(de: str, coc: str, ou: str = OU1, pe: str = "202401", **kw: object) -> DataValue:
    return DataValue(de, pe, ou, coc, DEFAULT, kw.pop("value", "5"), **kw)  # type: ignore[arg-type]


FORM = [
    dv(A, DEFAULT),
    dv(B, "cocFFFFFFFF"),  # only one of two sexes
    dv(C, "cocYYYYYYYY"),
    dv(C, "cocOOOOOOOO"),
    dv(C, "cocXXXXXXXX"),  # all three ages
    # D has no value
]


def one(values: list[DataValue], **kw: object):
    results = list(compliance_by_form(STRUCTURE, values, **kw))  # type: ignore[arg-type]
    assert len(results) == 1
    return results[0]


def test_any_counts_an_element_with_any_combo() -> None:
    result = one(FORM, disaggregation="any")
    assert result.present == (A, B, C)
    assert result.missing == (D,)
    assert result.compliance == 75.0  # 3 of 4
    assert result.compliant is False  # default threshold 100
    assert result.no_data is False


def test_all_needs_every_combo_of_the_element() -> None:
    result = one(FORM, disaggregation="all")
    assert result.present == (A, C)  # B misses "Male"
    assert result.missing == (B, D)
    assert result.compliance == 50.0


def test_all_falls_back_to_any_when_combos_are_unknown() -> None:
    result = one([dv(D, "whatever123")], disaggregation="all")
    assert result.present == (D,)


def test_required_subset_counts_only_those_elements() -> None:
    result = one(FORM, required=[B, D], disaggregation="any")
    assert result.present == (B,)
    assert result.missing == (D,)
    assert result.compliance == 50.0


def test_unknown_required_element_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="deZZZZZZZZZ"):
        one(FORM, required=[A, "deZZZZZZZZZ"])


@pytest.mark.parametrize(
    ("threshold", "compliant"),
    [(66.7, True), (66.6, True), (66.8, False), (0, True)],
)
def test_threshold_compares_the_shown_figure(threshold: float, compliant: bool) -> None:
    # 2 of 3 required elements = 66.666..% shown as 66.7
    result = one(FORM, required=[A, B, D], threshold=threshold)
    assert result.compliance == 66.7
    assert result.compliant is compliant


def test_rounding_is_half_up() -> None:
    assert percent(1, 8) == 12.5
    assert percent(1, 16) == 6.3  # 6.25: half-even rounding would give 6.2
    assert percent(1, 3) == 33.3
    assert percent(0, 0) == 0.0


def test_listed_form_without_values_is_no_data_and_never_compliant() -> None:
    results = list(
        compliance_by_form(STRUCTURE, FORM, forms=[(OU1, "202401"), (OU2, "202401")], threshold=0)
    )
    assert [(r.org_unit, r.no_data, r.compliant) for r in results] == [
        (OU1, False, True),
        (OU2, True, False),
    ]
    assert results[1].compliance == 0.0
    assert results[1].missing == (A, B, C, D)


def test_deleted_empty_and_foreign_values_do_not_fill_a_form() -> None:
    values = [
        dv(A, DEFAULT, ou=OU3, deleted=True),
        dv(B, "cocFFFFFFFF", ou=OU3, value=""),
        dv(C, "cocYYYYYYYY", ou=OU3, value=None),
        dv("deNOTINSET1", DEFAULT, ou=OU3),
    ]
    result = one(values, forms=[(OU3, "202401")])
    assert result.no_data is True
    assert result.present == ()


def test_results_are_per_org_unit_and_period_in_period_then_org_unit_order() -> None:
    values = [dv(A, DEFAULT, ou=OU2, pe="202402"), dv(A, DEFAULT, ou=OU1, pe="202402"), *FORM]
    keys = [(r.period, r.org_unit) for r in compliance_by_form(STRUCTURE, values)]
    assert keys == [("202401", OU1), ("202402", OU1), ("202402", OU2)]


def test_invalid_mode_and_threshold_are_refused() -> None:
    with pytest.raises(ValueError, match="any' or 'all"):
        one(FORM, disaggregation="some")
    with pytest.raises(ValueError, match="between 0 and 100"):
        one(FORM, threshold=101)


def row(compliance: float, compliant: bool, no_data: bool, registered: bool) -> AssessmentRow:
    return AssessmentRow(
        org_unit=OU1,
        org_unit_name="x",
        level=4,
        path=f"/{OU1}",
        period="202401",
        present=[],
        missing=[],
        compliance=compliance,
        compliant=compliant,
        no_data=no_data,
        registered=registered,
    )


def test_summary_partitions_rows_and_averages_all_of_them() -> None:
    summary = Summary()
    for r in [
        row(100.0, True, False, True),
        row(75.0, False, False, False),
        row(0.0, False, True, False),
        row(33.3, False, False, True),
    ]:
        summary.add(r)
    assert summary.as_dict() == {
        "assessed": 4,
        "compliant": 1,
        "non_compliant": 2,
        "no_data": 1,
        "average_compliance": 52.1,  # (100 + 75 + 0 + 33.3) / 4 = 52.075 -> 52.1
        "registered": 2,
    }


# ---- the transfer gate ------------------------------------------------------------------


def test_gate_holds_back_every_value_of_a_form_below_the_minimum() -> None:
    low = [dv(A, DEFAULT, ou=OU2), dv(B, "cocMMMMMMMM", ou=OU2, deleted=True)]  # 1 of 4 = 25 %
    block = [*FORM, *low]  # OU1 is at 75 %
    result = gate_block(STRUCTURE, block, min_completeness=50)
    assert result.kept == FORM
    assert result.held_back_rows == 1
    assert result.held_back_values == 2
    assert [(f.org_unit, f.compliance) for f in result.held_back_forms] == [(OU2, 25.0)]


def test_gate_holds_back_a_form_of_only_deleted_markers() -> None:
    block = [*FORM, dv(A, DEFAULT, ou=OU3, deleted=True)]
    result = gate_block(STRUCTURE, block, min_completeness=10)
    assert result.kept == FORM
    assert (result.held_back_rows, result.held_back_values) == (1, 1)


def test_gate_uses_the_same_modes_and_subsets_as_assessments() -> None:
    # under "all" OU1 is at 50 %: held back at 60, kept at 50
    assert gate_block(STRUCTURE, FORM, min_completeness=60, disaggregation="all").kept == []
    assert gate_block(STRUCTURE, FORM, min_completeness=50, disaggregation="all").kept == FORM
    # required [A, C] are both present: 100 %
    assert gate_block(STRUCTURE, FORM, min_completeness=100, required=[A, C]).kept == FORM


def test_gate_with_zero_minimum_keeps_everything() -> None:
    block = [*FORM, dv(A, DEFAULT, ou=OU3, deleted=True)]
    result = gate_block(STRUCTURE, block, min_completeness=0)
    assert result.kept == block
    assert result.held_back_rows == result.held_back_values == 0
