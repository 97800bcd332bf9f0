"""Data values for every DHIS2 period type, now that the simulator parses with ``dhis2.periods``.

WeeklyFriday (``yyyyFriWn``) and QuarterlyNov (``yyyyNovQn``) were missing from the simulator's
own period module: their values were refused as "Period not valid" (E7611). These tests serve a
bench data set of each type and check it accepts, stores and returns such values, and that a
period of another type is refused with DHIS2's E7632 when ``strictPeriods`` asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simulator import Simulator
from tests.simulator.helpers import client_for

SHAPE = {"depth": 1, "width": 2, "data_elements": 2, "disaggregation": 1, "periods": 2}


# Expected ids worked out by hand for the fixtures' today, 2024-07-15 (a Monday):
# * WeeklyFriday week 1 of 2024 is the Friday week holding 4 January: Fri 2023-12-29. The
#   Friday week holding 2024-07-15 starts Fri 2024-07-12, 196 days = 28 weeks later: FriW29.
#   The two finished weeks before it are FriW27 (06-28..07-04) and FriW28 (07-05..07-11).
# * QuarterlyNov ids carry the year the November year ends in: 2024NovQ1 = Nov 2023-Jan 2024,
#   Q2 = Feb-Apr, Q3 = May-Jul (holds today), so the finished ones are Q1 and Q2.
@dataclass(frozen=True)
class Case:
    """A period type, the periods the bench generates for it, one of those to write and a
    period of another type that the data set must refuse."""

    period_type: str
    generated: list[str]
    period: str
    other: str


CASES = [
    Case("WeeklyFriday", ["2024FriW27", "2024FriW28"], "2024FriW28", "2024W28"),
    Case("QuarterlyNov", ["2024NovQ1", "2024NovQ2"], "2024NovQ2", "2024Q2"),
]


def _bench(make_sim: Callable[..., Simulator], period_type: str, **options: Any) -> Simulator:
    return make_sim(
        "2.41.0.1", "bench", dataset_options={**SHAPE, "period_type": period_type, **options}
    )


def _ids(sim: Simulator) -> tuple[str, str, str, str]:
    """The bench's data set, first data element, first leaf and its disaggregation combo."""
    ds = sim.metadata("dataSets")[0]
    de = ds["dataSetElements"][0]["dataElement"]["id"]
    leaf = ds["organisationUnits"][0]["id"]
    default = "HllvX50cXC0"
    coc = next(c["id"] for c in sim.metadata("categoryOptionCombos") if c["id"] != default)
    return ds["id"], de, leaf, coc


def _summary(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    return body["response"] if "httpStatusCode" in body else body


@pytest.mark.parametrize("case", CASES, ids=[c.period_type for c in CASES])
def test_generated_values_use_the_period_type(
    make_sim: Callable[..., Simulator], case: Case
) -> None:
    sim = _bench(make_sim, case.period_type)
    ds, _de, leaf, _coc = _ids(sim)
    assert sim.metadata("dataSets")[0]["periodType"] == case.period_type
    with client_for(sim) as c:
        r = c.get(
            "/api/dataValueSets", params={"dataSet": ds, "period": case.generated, "orgUnit": leaf}
        )
    assert r.status_code == 200
    assert sorted({v["period"] for v in r.json()["dataValues"]}) == case.generated
    # 2 elements x 1 option combo x 2 periods for the leaf
    assert len(r.json()["dataValues"]) == 4


@pytest.mark.parametrize("case", CASES, ids=[c.period_type for c in CASES])
def test_values_of_the_type_are_accepted_returned_and_other_types_refused(
    make_sim: Callable[..., Simulator], case: Case
) -> None:
    sim = _bench(make_sim, case.period_type, with_values=False)
    ds, de, leaf, coc = _ids(sim)
    value = {"dataElement": de, "orgUnit": leaf, "categoryOptionCombo": coc}
    with client_for(sim) as c:
        r = c.post(
            "/api/dataValueSets",
            json={"dataSet": ds, "dataValues": [{**value, "period": case.period, "value": "17"}]},
            params={"strictPeriods": "true"},
        )
        assert r.status_code == 200, r.text
        assert _summary(r)["importCount"]["imported"] == 1

        r = c.get(
            "/api/dataValueSets", params={"dataSet": ds, "period": case.period, "orgUnit": leaf}
        )
        assert r.status_code == 200
        body = r.json()
        # one data set, period and org unit: the header form
        assert body["period"] == case.period
        assert [(v["period"], v["value"]) for v in body["dataValues"]] == [(case.period, "17")]

        r = c.post(
            "/api/dataValueSets",
            json={"dataSet": ds, "dataValues": [{**value, "period": case.other, "value": "5"}]},
            params={"strictPeriods": "true"},
        )
    assert r.status_code == 409
    summary = _summary(r)
    assert summary["importCount"] == {"imported": 0, "updated": 0, "ignored": 1, "deleted": 0}
    [conflict] = summary["conflicts"]
    assert conflict["errorCode"] == "E7632"
    assert conflict["value"] == (
        f"Period type of period: `{case.other}` not valid for data element: `{de}`"
    )
    assert [v["period"] for v in sim.data_values(data_set=ds)] == [case.period]


@pytest.mark.parametrize("bad", ["2023FriW53", "2024FriW0", "2024NovQ5"])
def test_impossible_ids_of_the_new_types_are_not_valid_periods(
    make_sim: Callable[..., Simulator], bad: str
) -> None:
    """2023 has 52 Friday weeks: its week 1 starts Fri 2022-12-30 (the Friday week holding
    4 January), 2024's starts Fri 2023-12-29, 364 days later."""
    sim = _bench(make_sim, "WeeklyFriday", with_values=False)
    ds, de, leaf, coc = _ids(sim)
    dv = {"dataElement": de, "orgUnit": leaf, "categoryOptionCombo": coc, "period": bad}
    with client_for(sim) as c:
        r = c.post("/api/dataValueSets", json={"dataSet": ds, "dataValues": [{**dv, "value": "1"}]})
    [conflict] = _summary(r)["conflicts"]
    assert conflict["errorCode"] == "E7611"
    assert conflict["value"] == f"Period not valid: `{bad}`"
