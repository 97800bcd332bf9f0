"""Generated datasets: determinism, demo differences, bench sizes."""

from __future__ import annotations

from simulator import datasets
from simulator.datasets import DEMO, DEMO_MAPPING, DEMO_MISSING
from simulator.periods import parse_period, period_for, recent_periods


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


def test_period_ids() -> None:
    assert parse_period("2024W1").start.isoformat() == "2024-01-01"
    assert parse_period("2022W1").start.isoformat() == "2022-01-03"
    assert parse_period("2024WedW1").start.isoformat() == "2024-01-03"
    assert parse_period("2022WedW1").start.isoformat() == "2021-12-29"
    assert parse_period("2024SatW2").start.isoformat() == "2024-01-06"
    assert parse_period("2024BiW1").end.isoformat() == "2024-01-14"
    assert parse_period("202402B").start.isoformat() == "2024-03-01"
    assert parse_period("2025NovS1").start.isoformat() == "2024-11-01"
    assert parse_period("2025Nov").start.isoformat() == "2024-11-01"
    assert parse_period("2024AprilS2").start.isoformat() == "2024-10-01"
    assert parse_period("2020W53") is not None and parse_period("2014W53") is None
    assert parse_period("2024W0") is None and parse_period("202413") is None
    p = period_for("Weekly", parse_period("20240715").start)
    assert p.iso == "2024W29"
    assert [x.iso for x in recent_periods("Quarterly", p.start, 2)] == ["2024Q1", "2024Q2"]
