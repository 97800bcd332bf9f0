"""Fetch planning, lastUpdated time zones and the bounded, ordered concurrent fetcher."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from tests.samples import load_sample
from transfers.fetch import (
    Fetcher,
    FetchFailed,
    FetchUnit,
    OrgUnitBlock,
    fetch_params,
    last_updated_param,
    outermost,
    parse_values,
    plan_blocks,
    source_clock,
)
from transfers.mapping import DataValue
from transfers.preflight import org_units_per_request

BASE = "https://source.example.org/dhis"


def tree(regions: int, districts: int, facilities: int) -> list[tuple[str, str]]:
    """(id, path) of a 4-level tree's facilities; ids like R1D2F3."""
    out = []
    for r in range(1, regions + 1):
        for d in range(1, districts + 1):
            for f in range(1, facilities + 1):
                out.append((f"R{r}D{d}F{f}", f"/ROOT/R{r}/R{r}D{d}/R{r}D{d}F{f}"))
    return out


# ---- planning -----------------------------------------------------------------------------


def test_small_subtree_is_one_children_request() -> None:
    blocks = plan_blocks(
        [("ROOT", "/ROOT")], tree(2, 2, 3), include_descendants=True, per_request=50
    )
    assert blocks == [OrgUnitBlock(("ROOT",), True, 12)]


def test_large_subtree_is_split_by_children_and_packed() -> None:
    facilities = tree(4, 5, 10)  # 200 facilities, 50 per region, 10 per district
    blocks = plan_blocks([("ROOT", "/ROOT")], facilities, include_descendants=True, per_request=60)
    trees = [b for b in blocks if b.children]
    singles = [b for b in blocks if not b.children]
    assert all(b.weight <= 60 for b in trees)
    assert [b.org_units for b in trees] == [("R1",), ("R2",), ("R3",), ("R4",)]
    assert singles == [OrgUnitBlock(("ROOT",), False, 1)]  # the root's own values
    smaller = plan_blocks([("ROOT", "/ROOT")], facilities, include_descendants=True, per_request=25)
    packed = [b for b in smaller if b.children]
    assert [b.org_units for b in packed][:2] == [("R1D1", "R1D2"), ("R1D3", "R1D4")]
    assert sum(b.weight for b in packed) == 200
    assert {ou for b in smaller if not b.children for ou in b.org_units} == {
        "ROOT", "R1", "R2", "R3", "R4",
    }  # fmt: skip


def test_nested_selection_is_fetched_once() -> None:
    roots = [("R1", "/ROOT/R1"), ("ROOT", "/ROOT"), ("R1D1", "/ROOT/R1/R1D1")]
    assert outermost(roots) == [("ROOT", "/ROOT")]
    blocks = plan_blocks(roots, tree(2, 2, 2), include_descendants=True, per_request=50)
    assert blocks == [OrgUnitBlock(("ROOT",), True, 8)]


def test_explicit_org_units_are_blocked_without_children() -> None:
    roots = [(f"OU{i}", f"/ROOT/OU{i}") for i in range(5)]
    blocks = plan_blocks(roots, [], include_descendants=False, per_request=2)
    assert [b.org_units for b in blocks] == [("OU0", "OU1"), ("OU2", "OU3"), ("OU4",)]
    assert not any(b.children for b in blocks)


def _data_set(elements: int, combos: int, attribute_combos: int = 0) -> dict[str, object]:
    cocs = {"categoryOptionCombos": [{"id": f"C{i}"} for i in range(combos)]}
    return {
        "dataSetElements": [
            {"dataElement": {"id": f"DE{i}", "categoryCombo": cocs}} for i in range(elements)
        ],
        "categoryCombo": {
            "categoryOptionCombos": [{"id": f"A{i}"} for i in range(attribute_combos)]
        },
    }


def test_requests_are_sized_by_the_values_an_org_unit_can_have() -> None:
    """An answer is decoded whole, so a large form means fewer org units per request."""
    # 50 elements x 4 combos (x 1 default attribute combo) = 200 values per org unit and period.
    assert org_units_per_request(_data_set(50, 4), most_org_units=50, most_values=5000) == 25
    assert org_units_per_request(_data_set(50, 4, 3), most_org_units=50, most_values=5000) == 8
    assert org_units_per_request(_data_set(5, 1), most_org_units=50, most_values=5000) == 50
    assert org_units_per_request(_data_set(3000, 4), most_org_units=50, most_values=5000) == 1
    assert org_units_per_request(_data_set(50, 4), most_org_units=50, most_values=None) == 50
    # An element whose combo the server did not expand still counts for one value.
    assert org_units_per_request(_data_set(10, 0), most_org_units=50, most_values=100) == 10
    assert org_units_per_request({}, most_org_units=50, most_values=100) == 50


def test_values_are_decoded_exactly_as_one_by_one() -> None:
    """The page decoder remembers identifiers per text; odd answers decode as `from_dhis2`
    would decode them, value by value."""

    class Text(str):
        pass

    base = {"dataElement": "de1", "period": "202401", "orgUnit": "ou1",
            "categoryOptionCombo": "c1", "attributeOptionCombo": "a1", "value": "5"}  # fmt: skip
    items: list[object] = [
        base,
        {**base, "orgUnit": " ou1 ", "value": 7, "comment": "  ", "followup": True},
        {**base, "dataElement": 1, "orgUnit": True, "value": None, "comment": "fine"},
        {**base, "dataElement": True, "orgUnit": 1.0, "period": 202401, "deleted": True},
        {**base, "categoryOptionCombo": "", "attributeOptionCombo": None, "comment": 3},
        {**base, "dataElement": Text("de1"), "period": "", "value": Text("5")},
        {**base, "orgUnit": ["ou1"], "followup": "true"},
        {"value": "1"},
        "not a value",
        None,
        base,
    ]
    unit = FetchUnit(OrgUnitBlock(("ou1",), True), "202401")
    got = parse_values({"dataValues": items}, unit)
    expected = sorted(
        (DataValue.from_dhis2(i) for i in items if isinstance(i, dict)), key=DataValue.identity
    )
    assert got == expected
    assert [[type(f) for f in v] for v in got] == [[type(f) for f in v] for v in expected]
    assert all(type(v) is DataValue for v in got)


def test_decoded_values_share_their_identifier_texts() -> None:
    """A decoder makes one string per field of every value; the values keep one per text."""

    def text(value: str) -> str:
        return "".join(list(value))  # equal, but a string object of its own

    rows = [
        {name: text(ident) for name, ident in (
            ("dataElement", "de1"), ("period", "202401"), ("orgUnit", "ou1"),
            ("categoryOptionCombo", "c1"), ("attributeOptionCombo", "a1"))} | {"value": str(i)}
        for i in range(3)
    ]  # fmt: skip
    assert rows[1]["orgUnit"] is not rows[2]["orgUnit"]
    unit = FetchUnit(OrgUnitBlock(("ou1",), True), "202401")
    values = parse_values({"dataValues": rows}, unit)
    assert len({id(field) for v in values for field in v[:5]}) == 5


def test_fetch_params() -> None:
    unit = FetchUnit(OrgUnitBlock(("A", "B"), True), "202401")
    params = fetch_params(
        data_set="ds", unit=unit, id_scheme="CODE", include_deleted=True, last_updated="X"
    )
    assert params == [
        ("dataSet", "ds"), ("period", "202401"), ("orgUnit", "A"), ("orgUnit", "B"),
        ("children", "true"), ("includeDeleted", "true"), ("lastUpdated", "X"),
        ("idScheme", "CODE"),
    ]  # fmt: skip
    plain = fetch_params(
        data_set="ds",
        unit=FetchUnit(OrgUnitBlock(("A",), False), "2024Q1"),
        id_scheme="UID",
        include_deleted=False,
        last_updated=None,
    )
    assert plain == [("dataSet", "ds"), ("period", "2024Q1"), ("orgUnit", "A")]


# ---- time zones ---------------------------------------------------------------------------


def test_last_updated_is_server_local_time_for_zones_ahead_of_utc() -> None:
    watermark = datetime(2024, 3, 1, 6, 30, 15, tzinfo=UTC)
    assert last_updated_param(watermark, ZoneInfo("Africa/Nairobi")) == "2024-03-01T09:30:15"
    assert last_updated_param(watermark, ZoneInfo("Etc/UTC")) == "2024-03-01T06:30:15"


def test_last_updated_moves_back_for_zones_behind_utc() -> None:
    """2.36-2.41 compare the UTC text with local timestamps: behind UTC that starts late by
    the offset, so the watermark moves back by it (local time of watermark - 5 h)."""
    watermark = datetime(2024, 1, 10, 15, 0, tzinfo=UTC)
    assert last_updated_param(watermark, ZoneInfo("America/New_York")) == "2024-01-10T05:00:00"
    summer = datetime(2024, 7, 10, 15, 0, tzinfo=UTC)  # EDT, UTC-4
    assert last_updated_param(summer, ZoneInfo("America/New_York")) == "2024-07-10T07:00:00"


def test_last_updated_needs_an_aware_watermark() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        last_updated_param(datetime(2024, 1, 1), UTC)


def test_source_clock_from_system_info_sample() -> None:
    info = load_sample("system-info-2.40.4.1.json")
    clock = source_clock(info)
    assert clock.tz_name == "Etc/UTC"
    assert clock.server_time == datetime(2024, 7, 26, 18, 0, 27, 695000, tzinfo=UTC)


def test_source_clock_converts_server_date_with_its_zone() -> None:
    clock = source_clock(
        {"serverDate": "2024-07-26T18:00:27.695", "serverTimeZoneId": "Africa/Nairobi"}
    )
    assert clock.server_time == datetime(2024, 7, 26, 15, 0, 27, 695000, tzinfo=UTC)


def test_source_clock_guesses_the_offset_without_a_zone_id() -> None:
    now = datetime(2024, 7, 26, 12, 0, 2, tzinfo=UTC)
    clock = source_clock({"serverDate": "2024-07-26T14:29:58.000"}, now=now)
    assert clock.tz.utcoffset(None) == timedelta(hours=2, minutes=30)
    assert clock.server_time == datetime(2024, 7, 26, 11, 59, 58, tzinfo=UTC)
    unknown = source_clock({"serverTimeZoneId": "Mars/Olympus"}, now=now)
    assert unknown.tz is UTC and unknown.server_time is None


def test_source_clock_handles_fixed_offsets() -> None:
    clock = source_clock(
        {"serverDate": "2024-01-01T00:00:00.000"}, now=datetime(2024, 1, 1, 5, 0, tzinfo=UTC)
    )
    assert clock.tz == timezone(timedelta(hours=-5))


# ---- concurrent fetching ------------------------------------------------------------------


@pytest.fixture
def client():
    c = Client(
        BASE, BasicAuth("admin", "district"), retry=RetryPolicy(max_attempts=2, backoff_base=0)
    )
    yield c
    c.close()


def _units(n: int) -> list[FetchUnit]:
    return [FetchUnit(OrgUnitBlock((f"OU{i}",), False), "202401", i) for i in range(n)]


def _params(unit: FetchUnit) -> list[tuple[str, str]]:
    return [("orgUnit", unit.block.org_units[0]), ("period", unit.period)]


def test_fetcher_yields_in_plan_order_with_bounded_concurrency(client: Client) -> None:
    lock = threading.Lock()
    active = {"now": 0, "max": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        ou = request.url.params["orgUnit"]
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.03 if int(ou[2:]) % 2 == 0 else 0.001)  # even ones are slow
        with lock:
            active["now"] -= 1
        rows = [
            {"dataElement": de, "period": "202401", "orgUnit": ou, "categoryOptionCombo": "c",
             "attributeOptionCombo": "a", "value": "1"}
            for de in ("deB", "deA")
        ]  # fmt: skip
        return httpx.Response(200, json={"dataValues": rows})

    with respx.mock(base_url=f"{BASE}/api") as mock:
        mock.get("/dataValueSets").mock(side_effect=answer)
        with Fetcher(client, _units(10), _params, max_concurrency=3) as fetcher:
            got = list(fetcher)
    assert [u.index for u, _ in got] == list(range(10))
    assert [v.data_element for v in got[0][1]] == ["deA", "deB"]  # sorted by identity
    assert 1 < active["max"] <= 3


def test_fetch_failure_names_the_request(client: Client) -> None:
    refusal = {
        "httpStatus": "Conflict", "httpStatusCode": 409, "status": "ERROR",
        "message": "User is not allowed to view org unit: `OU1`", "errorCode": "E2012",
    }  # fmt: skip
    with respx.mock(base_url=f"{BASE}/api") as mock:
        mock.get("/dataValueSets").mock(return_value=httpx.Response(409, json=refusal))
        with (
            pytest.raises(FetchFailed, match=r"period 202401, org units OU0.*E2012"),
            Fetcher(client, _units(2), _params, max_concurrency=2) as fetcher,
        ):
            list(fetcher)


def test_empty_answer_is_fine_and_junk_is_reported(client: Client) -> None:
    empty = load_sample("dataValueSets-get-empty.android-fixture.json")
    with respx.mock(base_url=f"{BASE}/api") as mock:
        mock.get("/dataValueSets").mock(
            side_effect=[httpx.Response(200, json=empty), httpx.Response(200, json=[1, 2])]
        )
        with Fetcher(client, _units(2), _params, max_concurrency=1) as fetcher:
            iterator = iter(fetcher)
            assert next(iterator)[1] == []
            with pytest.raises(FetchFailed, match="instead of a data value set"):
                next(iterator)
