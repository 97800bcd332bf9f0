"""Many-to-one mappings: preflight names the collisions, the run reports later duplicates
as conflicts instead of letting them overwrite the earlier values."""

from __future__ import annotations

from collections import defaultdict

from simulator.datasets import DEMO, DEMO_MAPPING
from tests.transfers.test_engine import (
    MISSING_OU,
    MONTHS,
    OUS,
    RCH,
    connect,
    expected,
    facilities_under,
    run,
    sim,
    spec,
    values_of,
)
from tests.transfers.test_mapping import DST_DEFAULT, SRC_DEFAULT, mapper, value
from transfers.engine import MappingRow, preflight
from transfers.mapping import Collisions, DuplicateGuard

SOUTH = OUS["Southern Region"]


# ---- finding collisions on the metadata -------------------------------------------------------


def test_one_to_one_mappings_have_no_collisions() -> None:
    m = mapper(
        [MappingRow("deA", None, "deX", None), MappingRow("deB", "cocB", "deY", "cocY")],
        org_unit_map={"ouA": "ouX", "ouB": "ouY"},
        attribute_option_combo_map={"aoc1": "aocX"},
    )
    found = m.collisions(
        [("deA", "coc1"), ("deA", "coc2"), ("deB", "cocB"), ("deC", None)],
        ["ouA", "ouB", "ouC"],
        ["aoc1", "aoc2", None, SRC_DEFAULT],  # None and the default are the same combo
    )
    assert not found and found == Collisions()


def test_collisions_are_found_in_rows_maps_and_unchanged_identifiers() -> None:
    m = mapper(
        [
            MappingRow("deA", None, "deX", "cocT"),  # collapses all combos of deA
            MappingRow("deB", None, "deY", None),
            MappingRow("deC", None, "deY", None),  # deB and deC both land on deY
            MappingRow("deD", None, "deE", None),  # deE is also sent unchanged
        ],
        org_unit_map={"ouA": "ouC", "ouB": "ouC", "ouD": "ouE"},
        attribute_option_combo_map={"aoc1": "aocT", "aoc2": "aocT"},
    )
    found = m.collisions(
        [("deA", "coc1"), ("deA", "coc2"), ("deB", "c"), ("deC", "c"), ("deD", None),
         ("deE", SRC_DEFAULT)],
        ["ouA", "ouB", "ouD", "ouE", "ouF"],
        ["aoc1", "aoc2", "aoc3"],
    )  # fmt: skip
    assert found.elements == {
        ("deX", "cocT"): [("deA", "coc1"), ("deA", "coc2")],
        ("deY", "c"): [("deB", "c"), ("deC", "c")],
        ("deE", DST_DEFAULT): [("deD", SRC_DEFAULT), ("deE", SRC_DEFAULT)],
    }
    assert found.org_units == {"ouC": ["ouA", "ouB"], "ouE": ["ouD", "ouE"]}
    assert found.attribute_combos == {"aocT": ["aoc1", "aoc2"]}
    messages = [message for message, _ in found.problems()]
    assert "ouA and ouB → ouC; ouD and ouE → ouE" in messages[1]
    assert "deA / coc1 and deA / coc2 → deX / cocT" in messages[0]
    assert [objects for _, objects in found.problems()][2] == ["aocT"]
    # With the skip policy, unmapped deE is not sent, so it cannot collide.
    skipping = mapper([MappingRow("deD", None, "deE", None)], unmapped="skip")
    assert not skipping.collisions([("deD", None), ("deE", None)], [], [])


def test_the_guard_remembers_only_values_on_colliding_targets() -> None:
    m = mapper(org_unit_map={"ouA": "ouC", "ouB": "ouC"})
    guard = DuplicateGuard(m.collisions([], ["ouA", "ouB", "ouD"], []))
    first, later = value(org_unit="ouA"), value(org_unit="ouB")
    assert guard.earlier(first, m.map(first)) is None
    assert guard.earlier(first, m.map(first)) is None  # the same source value again: no duplicate
    assert guard.earlier(later, m.map(later)) == first.identity()
    assert guard.differing(first.identity(), later.identity()) == "orgUnit"
    other = value(org_unit="ouB", period="202402")  # another destination value
    assert guard.earlier(other, m.map(other)) is None
    elsewhere = value(org_unit="ouD")
    assert guard.earlier(elsewhere, m.map(elsewhere)) is None
    assert guard.remembered == 2  # ouD's value is never remembered


# ---- preflight ----------------------------------------------------------------------------------


def test_preflight_names_the_colliding_sources_and_their_destination() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    a, b = sorted(facilities_under(src, [SOUTH]) - {MISSING_OU})[:2]
    anc1, anc4 = DEMO["dataElements"]["ANC 1st visit"], DEMO["dataElements"]["ANC 4th visit"]
    target = DEMO_MAPPING["dataElements"][anc4]
    rows = [MappingRow(anc1, None, target, None), MappingRow(anc4, None, target, None)]
    # Values of two attribute combos outside the data set's combo, both sent to one of them.
    aocs = sorted(
        {v["attributeOptionCombo"] for v in src.data_values(data_set=RCH)} - {"HllvX50cXC0"}
    )
    s = spec(
        periods=MONTHS, org_units=[SOUTH], mappings=rows, org_unit_map={b: a},
        attribute_option_combo_map={aocs[0]: aocs[1], aocs[1]: aocs[1]},
    )  # fmt: skip
    with connect(src) as x, connect(dst) as y:
        problems = [p for p in preflight(x, y, s) if p.code == "many_to_one_mapping"]
    assert {p.severity for p in problems} == {"warning"} and len(problems) == 3
    by_kind = {p.message.split(" receive")[0]: p for p in problems}
    ou = by_kind["1 destination org unit(s)"]
    assert f"{a} and {b} → {a}" in ou.message and ou.objects == [a]
    element = next(p for p in problems if anc1 in p.message)
    assert anc4 in element.message and target in element.message
    aoc = next(p for p in problems if "attribute option combo" in p.message)
    assert f"{aocs[0]} and {aocs[1]} → {aocs[1]}" in aoc.message
    assert "DUPLICATE_TARGET" in ou.message


# ---- the run ------------------------------------------------------------------------------------


def test_later_duplicates_are_conflicts_not_overwrites() -> None:
    """Two facilities merged into one: the first value of each destination value is stored,
    the other facility's value for it is reported, never sent, never counted as updated."""
    src, dst = sim("demo-source"), sim("demo-destination")
    a, b = sorted(facilities_under(src, [SOUTH]) - {MISSING_OU})[:2]  # a sorts first
    result = run(src, dst, spec(org_units=[SOUTH], org_unit_map={b: a}))

    raw: dict[str, dict[tuple, str]] = defaultdict(dict)
    for v in src.data_values(data_set=RCH):
        if v["period"] in MONTHS and v["orgUnit"] in (a, b):
            key = (v["dataElement"], v["period"], v["categoryOptionCombo"],
                   v["attributeOptionCombo"])  # fmt: skip
            raw[v["orgUnit"]][key] = v["value"]
    overlap = raw[a].keys() & raw[b].keys()
    assert overlap

    s = result.stats
    assert s["duplicates"] == len(overlap)
    assert s["updated"] == 0  # a fresh destination: nothing may be overwritten
    duplicates = [c for c in result.conflicts if c.error_code == "DUPLICATE_TARGET"]
    assert sum(c.count for c in duplicates) == len(overlap)
    assert s["conflicts"] == sum(c.count for c in result.conflicts)
    assert {(c.property, c.object) for c in duplicates} == {("orgUnit", a)}
    assert all(b in c.message and a in c.message for c in duplicates)
    assert {v["orgUnit"] for c in duplicates for v in c.values} == {a}

    # The destination holds a's own values, plus b's values where a had none.
    want = expected(src, org_units=facilities_under(src, [SOUTH]))
    merged = {k: v for k, v in want.items() if k[2] != b}
    for k, v in want.items():
        if k[2] == b:
            merged.setdefault((*k[:2], a, *k[3:]), v)
    assert values_of(dst) == merged
    assert "many_to_one_mapping" in {p.code for p in result.preflight}


def test_one_to_one_runs_track_nothing() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    result = run(src, dst, spec(org_units=[SOUTH]))
    assert result.stats["duplicates"] == 0
    assert "many_to_one_mapping" not in {p.code for p in result.preflight}
