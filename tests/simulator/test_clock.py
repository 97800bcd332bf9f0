"""The simulator's clock: one server clock for `serverDate` and every write, and generated data
that never lies in its future (issue 8: on 2026-12-01, 55 of 494 generated weekly values had a
`lastUpdated` after the server's "now" and matched every incremental window).

The process clock is pinned with time-machine at the first second of the day, the worst case
for "nothing after now": anything generated later on `today` would already be in the future.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from simulator import Simulator, datasets
from tests.simulator.helpers import client_for

IDSR = datasets.DEMO["dataSets"]["IDSR Weekly"]
ROOT = datasets.DEMO["organisationUnits"]["Demoland"]

# The failing day of the issue, ISO week 53 of 2026 (Monday 2026-12-28), New Year's Day, the
# day after February ends, a Monday (the latest weekly period ended yesterday).
DAYS = ["2026-12-01", "2026-12-28", "2027-01-01", "2027-03-01", "2024-07-15"]


def _stamp(text: str) -> datetime:
    """`2024-07-15T10:00:00.000+0000` or `2024-07-15T10:00:00.000` or `2024-07-15` as naive UTC."""
    return datetime.fromisoformat(text.replace("+0000", "")[:23])


def _generated_stamps(sim: Simulator) -> list[tuple[str, datetime]]:
    out: list[tuple[str, datetime]] = []
    for v in sim.data_values(include_deleted=True):
        out += [
            ("value created", _stamp(v["created"])),
            ("value lastUpdated", _stamp(v["lastUpdated"])),
        ]
    for c in sim.completions():
        out += [
            ("completion date", _stamp(c["date"])),
            ("completion lastUpdated", _stamp(c["lastUpdated"])),
        ]
    for e in sim.events():
        for key in ("occurredAt", "scheduledAt", "createdAt", "updatedAt", "completedAt"):
            if e.get(key):
                out.append((f"event {key}", _stamp(e[key])))
        for dv in e["dataValues"]:
            out += [("event value createdAt", _stamp(dv["createdAt"]))]
    return out


@pytest.mark.parametrize("today", DAYS)
@pytest.mark.parametrize("dataset", ["demo-source", "bench"])
def test_nothing_generated_lies_after_the_server_clock(today: str, dataset: str) -> None:
    options = {"today": today, "events": 50} if dataset == "bench" else {"today": today}
    with time_machine.travel(datetime(2030, 5, 5, 0, 0, 1, tzinfo=UTC), tick=False):
        sim = Simulator(dataset=dataset, dataset_options=options)
        now = sim.now()
    assert now == datetime.fromisoformat(today) + timedelta(seconds=1)
    stamps = _generated_stamps(sim)
    assert len(stamps) > 1000
    late = [(what, at) for what, at in stamps if at > now]
    assert late == []
    # Data is still recent: the latest finished weekly/monthly period has values.
    assert max(at for _, at in stamps).date() == date.fromisoformat(today) - timedelta(days=1)


def test_a_fresh_source_has_nothing_in_an_incremental_window_ending_now() -> None:
    """The issue's symptom, asked the way an incremental transfer asks it."""
    with time_machine.travel(datetime(2026, 12, 1, 8, 37, tzinfo=UTC), tick=False):
        sim = Simulator(dataset="demo-source")  # no pinned day: the real (here: travelled) one
        assert sim.today() == date(2026, 12, 1)
        with client_for(sim) as http:
            params = {"dataSet": IDSR, "orgUnit": ROOT, "children": "true"}
            everything = http.get(
                "/api/dataValueSets",
                params={**params, "startDate": "2026-01-01", "endDate": "2026-12-31"},
            )
            since = http.get(
                "/api/dataValueSets", params={**params, "lastUpdated": "2026-12-01T08:27:00"}
            )
    assert len(everything.json()["dataValues"]) > 400
    assert since.json().get("dataValues", []) == []


def test_server_date_and_writes_come_from_the_pinned_clock() -> None:
    with time_machine.travel(datetime(2030, 5, 5, 14, 30, tzinfo=UTC), tick=False):
        sim = Simulator(dataset="demo-source", dataset_options={"today": "2024-07-15"})
        with client_for(sim) as http:
            info = http.get("/api/system/info").json()
            value = next(v for v in sim.data_values(data_set=IDSR) if not v["deleted"])
            keys = (
                "dataElement",
                "period",
                "orgUnit",
                "categoryOptionCombo",
                "attributeOptionCombo",
            )
            body = {"dataValues": [{**{k: value[k] for k in keys}, "value": "7"}]}
            assert http.post("/api/dataValueSets", json=body).status_code == 200
    assert info["serverDate"] == "2024-07-15T14:30:00.000"
    stored = sim.data_values(
        data_set=IDSR,
        period=value["period"],
        org_unit=value["orgUnit"],
        data_element=value["dataElement"],
    )
    changed = [v for v in stored if v["categoryOptionCombo"] == value["categoryOptionCombo"]]
    assert [(v["value"], v["lastUpdated"]) for v in changed] == [
        ("7", "2024-07-15T14:30:00.000+0000")
    ]


def test_the_pinned_clock_runs_on_past_midnight_like_a_real_server() -> None:
    with time_machine.travel(datetime(2030, 5, 5, 23, 59, 59, tzinfo=UTC), tick=False) as traveller:
        sim = Simulator(dataset="empty", dataset_options={"today": "2026-12-31"})
        before = sim.now()
        traveller.shift(timedelta(seconds=2))
        after = sim.now()
        assert sim.today() == date(2027, 1, 1)
    assert before == datetime(2026, 12, 31, 23, 59, 59)
    assert after == datetime(2027, 1, 1, 0, 0, 1)
