"""Assessments against the in-process simulator. The expected rows are computed here straight
from the simulator's database (its stored values, registrations and metadata indexes), not
from the code under test."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from completeness.assess import (
    AssessmentFailed,
    AssessmentRow,
    AssessmentSpec,
    assess_completeness,
)
from dhis2.client import Client
from simulator import Simulator
from simulator.datasets import DEMO

RCH = DEMO["dataSets"]["RCH Monthly"]
OUS = DEMO["organisationUnits"]
ROOT = OUS["Demoland"]
MONTHS = ["202401", "202402", "202403", "202404", "202405", "202406"]

Factory = Callable[..., tuple[Simulator, Client]]


def shown(part: int, whole: int) -> float:
    return float((Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def expected_rows(
    sim: Simulator,
    *,
    org_units: list[str],
    periods: list[str],
    mode: str = "any",
    required: list[str] | None = None,
    threshold: float = 100.0,
) -> dict[tuple[str, str], dict[str, Any]]:
    """What each row must say, from the simulator's state."""
    st = sim.state
    d = st.derived
    elements = sorted(d.ds_des[RCH])
    counted = sorted(required) if required else elements
    out = {}
    for ou in org_units:
        for pe in periods:
            stored = st.values.get((ou, pe), {})
            combos: dict[str, set[str]] = {}
            for (de, coc, _aoc), rec in stored.items():
                if de in d.ds_des[RCH] and not rec["deleted"] and rec["value"] not in (None, ""):
                    combos.setdefault(de, set()).add(coc)
            present = []
            for de in counted:
                if de not in combos:
                    continue
                expected = d.cc_cocs[d.ds_de_cc[(RCH, de)]]
                if mode == "any" or expected <= combos[de]:
                    present.append(de)
            score = shown(len(present), len(counted))
            registered = any(
                key[0] == RCH and key[1] == pe and key[2] == ou and reg.get("completed", True)
                for key, reg in st.completions.items()
            )
            out[(ou, pe)] = {
                "present": present,
                "missing": [de for de in counted if de not in present],
                "compliance": score,
                "compliant": bool(combos) and score >= threshold,
                "no_data": not combos,
                "registered": registered,
            }
    return out


def facilities(sim: Simulator, root: str) -> list[str]:
    assigned = sim.state.derived.ds_ous[RCH]
    return [ou for ou in sim.state.descendants(root) if ou in assigned]


def run(client: Client, **kw: Any) -> tuple[Any, list[list[AssessmentRow]], list[float]]:
    batches: list[list[AssessmentRow]] = []
    progress: list[float] = []
    spec = AssessmentSpec(data_set=RCH, **kw)
    result = assess_completeness(
        client, spec, sink=batches.append, progress=lambda p, m: progress.append(p)
    )
    return result, batches, progress


def as_expected(row: AssessmentRow) -> dict[str, Any]:
    return {
        "present": row.present,
        "missing": row.missing,
        "compliance": row.compliance,
        "compliant": row.compliant,
        "no_data": row.no_data,
        "registered": row.registered,
    }


@pytest.mark.parametrize("version", ["2.36.13.2", "2.40.4.1", "2.42.1"])
@pytest.mark.parametrize("mode", ["any", "all"])
def test_every_row_matches_the_simulator_database(
    make_client: Factory, version: str, mode: str
) -> None:
    sim, client = make_client(version)
    result, batches, progress = run(
        client,
        org_units=[ROOT],
        relative_period="LAST_6_MONTHS",
        disaggregation=mode,
        threshold=80,
        per_request=7,
        max_concurrency=3,
    )
    ous = facilities(sim, ROOT)
    want = expected_rows(sim, org_units=ous, periods=MONTHS, mode=mode, threshold=80)
    rows = [row for batch in batches for row in batch]
    assert result.periods == MONTHS  # resolved on the simulator's date, 2024-07-15
    assert {(r.org_unit, r.period): as_expected(r) for r in rows} == want
    assert len(rows) == len(want) == len(ous) * 6
    # streamed: one batch per request of at most 7 org units, all 6 months in that request
    # (whole forms: DHIS2 takes `period` repeated), plus its one registration read
    assert max(len(b) for b in batches) <= 7 * 6
    assert len(batches) == -(-len(ous) // 7)
    assert result.requests == 2 * len(batches)
    assert progress == sorted(progress) and progress[-1] == 100.0
    s = result.summary
    assert s.assessed == len(want)
    assert s.no_data == sum(w["no_data"] for w in want.values())
    assert s.compliant == sum(w["compliant"] for w in want.values())
    assert s.compliant + s.non_compliant + s.no_data == s.assessed
    assert s.registered == sum(w["registered"] for w in want.values())
    total = sum(Decimal(str(w["compliance"])) for w in want.values())
    assert s.average_compliance == float(
        (total / len(want)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    )
    # the fixture must exercise every outcome, or the comparison above proves little
    assert s.no_data and s.compliant and s.non_compliant and s.registered


def test_all_is_stricter_than_any_on_disaggregated_elements(make_client: Factory) -> None:
    _, client = make_client()
    any_result, _, _ = run(client, org_units=[ROOT], periods=MONTHS)
    all_result, _, _ = run(client, org_units=[ROOT], periods=MONTHS, disaggregation="all")
    assert all_result.summary.average_compliance < any_result.summary.average_compliance


def test_required_subset_and_roll_ups(make_client: Factory) -> None:
    sim, client = make_client()
    required = sorted(sim.state.derived.ds_des[RCH])[:3]
    region = OUS["Northern Region"]
    result, batches, _ = run(
        client, org_units=[region], periods=["202405", "2024-06"], required_data_elements=required
    )
    ous = facilities(sim, region)
    want = expected_rows(sim, org_units=ous, periods=["202405", "202406"], required=required)
    rows = [row for batch in batches for row in batch]
    assert {(r.org_unit, r.period): as_expected(r) for r in rows} == want
    assert result.counted_elements == required

    # roll-ups: every district and the region, per period, from the facilities below them
    st = sim.state
    for rollup in result.rollups:
        below = [ou for ou in ous if rollup.org_unit in st.objects["organisationUnits"][ou]["path"]]
        below = [ou for ou in below if ou != rollup.org_unit]
        mine = [want[(ou, rollup.period)] for ou in below]
        assert rollup.assessed == len(mine) > 0
        assert rollup.compliant == sum(m["compliant"] for m in mine)
        assert rollup.no_data == sum(m["no_data"] for m in mine)
        assert rollup.non_compliant == len(mine) - rollup.compliant - rollup.no_data
        assert rollup.registered == sum(m["registered"] for m in mine)
        mean = sum(Decimal(str(m["compliance"])) for m in mine) / len(mine)
        assert rollup.average_compliance == float(mean.quantize(Decimal("0.1"), ROUND_HALF_UP))
        assert rollup.compliant_percent == shown(rollup.compliant, len(mine))
    districts = {
        st.objects["organisationUnits"][ou]["parent"]["id"] for ou in ous
    }  # the facilities' parents
    assert {(r.org_unit, r.level) for r in result.rollups} == {
        *((d, 3) for d in districts),
        (region, 2),
    }
    assert len(result.rollups) == (len(districts) + 1) * 2


def test_only_assigned_units_and_one_level(make_client: Factory) -> None:
    sim, client = make_client()
    ds = sim.state.objects["dataSets"][RCH]
    # assign the data set to one district as well
    district = next(
        ou
        for ou, obj in sim.state.objects["organisationUnits"].items()
        if obj["level"] == 3 and ou not in sim.state.derived.ds_ous[RCH]
    )
    ds["organisationUnits"].append({"id": district})
    sim.state.touch()

    result, batches, _ = run(client, org_units=[ROOT], periods=["202406"], level=3)
    rows = [row for batch in batches for row in batch]
    assert [(r.org_unit, r.level) for r in rows] == [(district, 3)]
    assert rows[0].no_data is True  # nothing was ever entered for the district itself
    region = sim.state.objects["organisationUnits"][district]["parent"]["id"]
    # the district's own row is not its roll-up; its region and the root roll it up
    assert [(r.org_unit, r.assessed, r.no_data) for r in result.rollups] == [
        (ROOT, 1, 1),
        (region, 1, 1),
    ]

    every, batches, _ = run(client, org_units=[ROOT], periods=["202406"])
    rows = [row for batch in batches for row in batch]
    assert len(rows) == len(facilities(sim, ROOT))  # the district and its facilities
    district_rollup = next(r for r in every.rollups if r.org_unit == district)
    assert district_rollup.assessed == len(sim.state.derived.children[district])


def test_explicit_org_units_without_descendants(make_client: Factory) -> None:
    sim, client = make_client()
    picked = facilities(sim, ROOT)[:3]
    _, batches, _ = run(
        client, org_units=[*picked, OUS["Northern Region"]], periods=["202406"], per_request=2,
        include_descendants=False,
    )  # fmt: skip
    rows = [row for batch in batches for row in batch]
    assert sorted(r.org_unit for r in rows) == sorted(picked)  # the region is not assigned
    want = expected_rows(sim, org_units=picked, periods=["202406"])
    assert {(r.org_unit, r.period): as_expected(r) for r in rows} == want
    assert [len(b) for b in batches] == [2, 1]


def test_unknown_root_is_reported_and_bad_inputs_are_refused(make_client: Factory) -> None:
    _, client = make_client()
    result, batches, _ = run(client, org_units=["zzzzzzzzzzz", ROOT], periods=["202406"])
    assert result.missing_org_units == ["zzzzzzzzzzz"]
    assert sum(len(b) for b in batches) > 0
    with pytest.raises(AssessmentFailed, match="not Monthly periods"):
        run(client, org_units=[ROOT], periods=["2024Q1"])
    with pytest.raises(AssessmentFailed, match="does not exist"):
        assess_completeness(
            client,
            AssessmentSpec(data_set="zzzzzzzzzzz", org_units=[ROOT], periods=["202406"]),
            sink=lambda rows: None,
        )
    with pytest.raises(AssessmentFailed, match="not in data set"):
        run(client, org_units=[ROOT], periods=["202406"], required_data_elements=["zzzzzzzzzzz"])
    with pytest.raises(AssessmentFailed, match="explicit periods or choose a relative"):
        run(client, org_units=[ROOT])
