"""Generated datasets: determinism, demo differences, bench sizes."""

from __future__ import annotations

from dhis2.periods import parse_period
from simulator import datasets
from simulator.datasets import DEMO, DEMO_MAPPING, DEMO_MISSING


def test_demo_is_deterministic_per_seed_and_today() -> None:
    a = datasets.build("demo-source", 3, {"today": "2024-07-15"})
    b = datasets.build("demo-source", 3, {"today": "2024-07-15"})
    c = datasets.build("demo-source", 4, {"today": "2024-07-15"})
    assert a.values == b.values and a.events == b.events
    assert a.values != c.values
    assert a.objects == c.objects  # metadata does not depend on the seed


def test_demo_has_recent_data_relative_to_today() -> None:
    state = datasets.build("demo-source", 0, {"today": "2025-03-10"})
    periods = {pe for (_ou, pe) in state.values}
    assert {"202409", "202502"} <= periods and "202503" not in periods
    assert "2024Q4" in periods and "2025Q1" not in periods
    assert all(e["occurredAt"] < "2025-03-10" for e in state.events.values())
    assert len(state.events) == 300
    program = next(iter(state.objects["programs"].values()))
    assert program["programType"] == "WITHOUT_REGISTRATION"


def test_demo_structure() -> None:
    state = datasets.build("demo-source", 0, {"today": "2024-07-15"})
    ous = state.objects["organisationUnits"]
    assert {o["level"] for o in ous.values()} == {1, 2, 3, 4}
    assert sum(o["level"] == 4 for o in ous.values()) == 40
    for o in ous.values():
        assert o["path"].endswith(o["id"]) and o["path"].count("/") == o["level"]
    assert {d["periodType"] for d in state.objects["dataSets"].values()} == {
        "Monthly",
        "Quarterly",
        "Weekly",
    }
    types = {d["valueType"] for d in state.objects["dataElements"].values()}
    assert {"NUMBER", "INTEGER_ZERO_OR_POSITIVE", "PERCENTAGE", "TEXT", "BOOLEAN"} <= types
    assert state.get("categoryCombos", "bjDvmb4bfuf")["name"] == "default"
    sex_age = state.get("categoryCombos", DEMO["categoryCombos"]["Sex and Age"])
    assert len(sex_age["categoryOptionCombos"]) == 6


def test_destination_differences_match_documentation() -> None:
    src = datasets.build("demo-source", 0, {"today": "2024-07-15"})
    dst = datasets.build("demo-destination", 0, {"today": "2024-07-15"})
    for kind, mapping in DEMO_MAPPING.items():
        for s_uid, d_uid in mapping.items():
            assert s_uid in src.objects[kind] and s_uid not in dst.objects[kind]
            assert d_uid in dst.objects[kind]
            assert src.objects[kind][s_uid]["name"] == dst.objects[kind][d_uid]["name"]
    for kind, uids in DEMO_MISSING.items():
        for uid in uids:
            assert uid in src.objects[kind] and uid not in dst.objects[kind]
    anc4_dst = dst.objects["dataElements"][
        DEMO_MAPPING["dataElements"][DEMO["dataElements"]["ANC 4th visit"]]
    ]
    assert anc4_dst["code"] == "ANC_4"
    assert not dst.values and not dst.events and not dst.completions
    same = set(src.objects["dataSets"]) == set(dst.objects["dataSets"])
    assert same


def test_bench_sizes_and_empty() -> None:
    state = datasets.build(
        "bench",
        1,
        {
            "today": "2024-07-15",
            "depth": 2,
            "width": 3,
            "data_elements": 4,
            "disaggregation": 2,
            "periods": 3,
            "events": 10,
        },
    )
    leaves = [o for o in state.objects["organisationUnits"].values() if o["level"] == 3]
    assert len(leaves) == 9
    assert state.value_count() == 9 * 4 * 2 * 3
    assert len(state.events) == 10
    empty = datasets.build("empty")
    assert set(empty.objects["categoryOptionCombos"]) == {"HllvX50cXC0"}
    assert not empty.objects["organisationUnits"]


def test_generated_periods_are_dhis2_periods() -> None:
    """The generators take their periods from ``dhis2.periods`` (ISO weeks, DHIS2 ids)."""
    state = datasets.build("demo-source", 0, {"today": "2021-01-06"})
    weekly = sorted(
        (parse_period(pe) for (_ou, pe) in state.values if "W" in pe), key=lambda p: p.start
    )
    # 2021-01-06 is in 2021W1 (Mon 4 Jan); the 8 weeks before it end with 2020W53.
    assert sorted({p.id for p in weekly}, key=lambda i: parse_period(i).start) == [
        f"2020W{n}" for n in range(46, 54)
    ]
    assert weekly[-1].end.isoformat() == "2021-01-03"
    bench = datasets.build(
        "bench",
        0,
        {"today": "2024-07-15", "period_type": "QuarterlyNov", "periods": 2, "depth": 1},
    )
    # November years: 2024NovQ1 is Nov 2023-Jan 2024, so 2024-07-15 lies in 2024NovQ3 (May-Jul)
    # and the two finished quarters before it are Nov-Jan and Feb-Apr.
    assert {pe for (_ou, pe) in bench.values} == {"2024NovQ1", "2024NovQ2"}
    assert datasets.build("bench", 0, {"today": "2024-07-15", "periods": 0}).value_count() == 0
