"""Preflight: problems found before any write, and stop versus continue."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Simulator
from simulator.datasets import DEMO, DEMO_MAPPING, DEMO_MISSING
from tests.samples import load_sample
from transfers.engine import (
    InvalidSpec,
    MappingRow,
    PreflightFailed,
    TransferSpec,
    Tuning,
    preflight,
    run_transfer,
)

TODAY = "2024-07-15"
MONTHS = ["202405", "202406"]
RCH = DEMO["dataSets"]["RCH Monthly"]
HIV = DEMO["dataSets"]["HIV Quarterly"]
OUS = DEMO["organisationUnits"]
SOUTH = OUS["Southern Region"]
MISSING_DE = DEMO_MISSING["dataElements"][0]
MISSING_OU = DEMO_MISSING["organisationUnits"][0]
MALARIA = DEMO["dataElements"]["Malaria cases confirmed"]


class Quiet:
    def __init__(self) -> None:
        self.logs: list[tuple[str, str]] = []

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    def progress(self, percent: float, message: str) -> None:
        pass

    def chunk_accepted(self, key: str, summary: Any) -> None:
        pass

    def retry(self, event: Any) -> None:
        pass


class Tap(httpx.BaseTransport):
    """The simulator, with some answers replaced and POST bodies recorded."""

    def __init__(self, target: Simulator, replace: dict[str, Any] | None = None) -> None:
        self.inner = target.transport()
        self.replace = replace or {}
        self.bodies: list[dict] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.bodies.append(json.loads(request.read()))
        for path, body in self.replace.items():
            if request.url.path.endswith(path):
                return httpx.Response(200, json=body)
        return self.inner.handle_request(request)


def sim(dataset: str) -> Simulator:
    return Simulator("2.40.4.1", dataset, dataset_options={"today": TODAY})


def connect(target: Simulator, transport: httpx.BaseTransport | None = None) -> Client:
    return Client("http://sim.local", BasicAuth("admin", "district"),
                  transport=transport or target.transport(),
                  retry=RetryPolicy(max_attempts=2, backoff_base=0))  # fmt: skip


def full_rows() -> list[MappingRow]:
    rows = [MappingRow(s, None, d, None) for s, d in DEMO_MAPPING["dataElements"].items()]
    rows += [MappingRow(MALARIA, s, DEMO_MAPPING["dataElements"][MALARIA], d)
             for s, d in DEMO_MAPPING["categoryOptionCombos"].items()]  # fmt: skip
    return rows


def spec(**kw: Any) -> TransferSpec:
    options: dict[str, Any] = {
        "data_set": RCH, "target_data_set": None, "periods": MONTHS, "org_units": [SOUTH],
        "mappings": full_rows(),
    }  # fmt: skip
    options.update(kw)
    return TransferSpec(**options)


def check(src: Simulator, dst: Simulator, s: TransferSpec, **kw: Any) -> dict[str, Any]:
    with connect(src) as a, connect(dst, kw.get("dst_transport")) as b:
        return {p.code: p for p in preflight(a, b, s)}


def test_problems_are_found_without_reading_or_writing_data() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    # The missing element is the only unmapped trouble in the Southern Region.
    problems = check(src, dst, spec())
    assert set(problems) == {"missing_data_element"}
    assert problems["missing_data_element"].objects == [MISSING_DE]
    assert "Add mapping rows" in problems["missing_data_element"].message
    assert src.requests("GET", "dataValueSets") == [] and dst.requests("POST") == []


def test_missing_org_unit_and_unmapped_option_combos() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    rows = [MappingRow(s, None, d, None) for s, d in DEMO_MAPPING["dataElements"].items()]
    problems = check(src, dst, spec(org_units=[OUS["Northern Region"]], mappings=rows))
    assert problems["missing_org_unit"].objects == [MISSING_OU]
    assert "Kolo Health Post" in problems["missing_org_unit"].message
    # Without COC rows the renamed combos are sent under source UIDs that the destination lacks.
    assert sorted(problems["missing_category_option_combo"].objects) == sorted(
        DEMO_MAPPING["categoryOptionCombos"]
    )


def test_org_unit_not_assigned_to_the_destination_data_set() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    data_set = next(d for d in dst.metadata("dataSets") if d["id"] == RCH)
    southern = {u["id"] for u in dst.metadata("organisationUnits") if SOUTH in u.get("path", "")}
    facility = sorted(o["id"] for o in data_set["organisationUnits"] if o["id"] in southern)[0]
    dst.update_metadata("dataSets", RCH, organisationUnits=[
        o for o in data_set["organisationUnits"] if o["id"] != facility])  # fmt: skip
    problems = check(src, dst, spec())
    assert problems["org_unit_not_assigned"].objects == [facility]
    assert "Assign them" in problems["org_unit_not_assigned"].message


def test_missing_destination_data_set_stops_or_continues_without_data_set() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    absent = "AbsentDs001"
    with connect(src) as a, connect(dst) as b:
        with pytest.raises(PreflightFailed) as info:
            run_transfer(a, b, spec(target_data_set=absent), Quiet())
        assert dst.requests("POST") == []
        assert "missing_data_set" in {p.code for p in info.value.problems}
        assert "allow the transfer to continue" in str(info.value)

        tap = Tap(dst)
    with connect(src) as a, connect(dst, tap) as b:
        observer = Quiet()
        result = run_transfer(
            a, b, spec(target_data_set=absent, continue_on_preflight_problems=True,
                       mark_complete=True), observer)  # fmt: skip
    assert result.stats["imported"] > 0
    assert tap.bodies and all("dataSet" not in body for body in tap.bodies)
    assert result.stats["completed_registrations"] == 0
    assert any("Completeness not registered" in m for _, m in observer.logs)


def test_missing_source_data_set_is_fatal_even_when_allowed() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    with connect(src) as a, connect(dst) as b, pytest.raises(PreflightFailed) as info:
        run_transfer(a, b, spec(data_set="AbsentDs001", continue_on_preflight_problems=True),
                     Quiet())  # fmt: skip
    assert [p.code for p in info.value.blocking] == ["missing_source_data_set"]
    assert "cannot run until this is fixed" in str(info.value)


def test_stop_by_default_and_continue_when_allowed() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    with connect(src) as a, connect(dst) as b:
        with pytest.raises(PreflightFailed, match=r"problem.*nothing was written"):
            run_transfer(a, b, spec(), Quiet())
        assert dst.requests("POST") == []
        observer = Quiet()
        result = run_transfer(a, b, spec(continue_on_preflight_problems=True), observer)
    assert result.stats["imported"] > 0
    assert [p.code for p in result.preflight] == ["missing_data_element"]
    assert ("warning", "Continuing despite preflight problems, as allowed.") in observer.logs


def test_combo_outside_the_category_combo_and_unknown_attribute_combo() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    anc1 = DEMO["dataElements"]["ANC 1st visit"]
    female = next(c["id"] for c in dst.metadata("categoryOptionCombos")
                  if c["name"] == "Female")  # fmt: skip
    rows = [*full_rows(), MappingRow(anc1, None, anc1, female)]
    problems = check(src, dst, spec(mappings=rows))
    assert problems["category_option_combo_not_in_combo"].objects == [f"{female} ({anc1})"]

    attr = check(src, dst, spec(data_set=HIV, periods=["2024Q1"], attribute_option_combo_map={
        c["id"]: "NoSuchAoc01" for c in src.metadata("categoryOptionCombos")}))  # fmt: skip
    assert attr["missing_attribute_option_combo"].objects == ["NoSuchAoc01"]


def test_old_database_default_combo_is_translated() -> None:
    """Destination with the non-standard default UIDs of an old database (reference §10)."""
    src, dst = sim("demo-source"), sim("demo-destination")
    defaults = load_sample("categoryCombos-default-nonstandard-uids.android-fixture.json")
    tap = Tap(dst, {"/api/categoryCombos": defaults})
    with connect(src) as a, connect(dst, tap) as b:
        run_transfer(a, b, spec(dry_run=True, continue_on_preflight_problems=True), Quiet(),
                     tuning=Tuning(sleep=lambda s: None))  # fmt: skip
    sent = [v for body in tap.bodies for v in body["dataValues"]]
    assert sent and {v["attributeOptionCombo"] for v in sent} == {"bRowv6yZOF2"}
    anc1 = DEMO["dataElements"]["ANC 1st visit"]
    assert {v["categoryOptionCombo"] for v in sent if v["dataElement"] == anc1} == {"bRowv6yZOF2"}


def test_duplicate_and_useless_rows_are_warnings() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    anc1 = DEMO["dataElements"]["ANC 1st visit"]
    rows = [*full_rows(), MappingRow(anc1, None, anc1, None), MappingRow(anc1, None, anc1, None),
            MappingRow("NotInDataSet", None, anc1, None)]  # fmt: skip
    problems = check(src, dst, spec(mappings=rows))
    assert problems["duplicate_mapping"].severity == "warning"
    assert problems["mapping_outside_data_set"].objects == ["NotInDataSet"]


def test_unmapped_skip_is_announced() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    problems = check(src, dst, spec(unmapped="skip"))
    assert problems["unmapped_skipped"].severity == "warning"
    assert MISSING_DE in problems["unmapped_skipped"].objects
    assert "missing_data_element" not in problems  # skipped values need no destination element


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"periods": []}, "period"),
        ({"org_units": []}, "org unit"),
        ({"unmapped": "drop"}, "send"),
        ({"id_scheme": "NAME"}, "UID or CODE"),
        ({"import_strategy": "MERGE"}, "CREATE_AND_UPDATE"),
        ({"chunk_size": 0}, "chunk size"),
        ({"max_concurrency": 0}, "Parallel"),
        ({"async_import": "sometimes"}, "Async"),
    ],
)
def test_invalid_configuration_is_refused_before_any_request(change: dict, text: str) -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    with connect(src) as a, connect(dst) as b, pytest.raises(InvalidSpec, match=text):
        run_transfer(a, b, spec(**change), Quiet())
    assert src.request_log == []


# ---- periods --------------------------------------------------------------------------------


def test_periods_of_another_type_than_the_data_set_are_blocking() -> None:
    """Monthly RCH asked for a quarter and a year: DHIS2 would return nothing for them."""
    src, dst = sim("demo-source"), sim("demo-destination")
    s = spec(periods=["202401", "2024Q1", "2024"])
    problems = check(src, dst, s)
    mismatch = problems["period_type_mismatch"]
    assert mismatch.severity == "error" and mismatch.objects == ["2024Q1", "2024"]
    assert "Monthly" in mismatch.message and "2024Q1 (Quarterly)" in mismatch.message
    assert "2024 (Yearly)" in mismatch.message
    with connect(src) as a, connect(dst) as b, pytest.raises(PreflightFailed) as info:
        run_transfer(a, b, s, Quiet())
    assert "period_type_mismatch" in {p.code for p in info.value.blocking}
    assert src.requests("GET", "dataValueSets") == []


def test_invalid_period_identifiers_are_blocking() -> None:
    src, dst = sim("demo-source"), sim("demo-destination")
    problems = check(src, dst, spec(periods=["202401", "2024Q5"]))
    assert problems["invalid_period"].objects == ["2024Q5"]
    assert problems["invalid_period"].severity == "error"
    assert "period_type_mismatch" not in problems


class QuarterlyNov(httpx.BaseTransport):
    """The source, with the RCH data set turned into a QuarterlyNov one (DHIS2 2.41+)."""

    def __init__(self, target: Simulator) -> None:
        self.inner = target.transport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith(f"/dataSets/{RCH}"):
            return httpx.Response(200, json={**response.json(), "periodType": "QuarterlyNov"})
        return response


@pytest.mark.parametrize(("version", "refused"), [("2.40.4.1", True), ("2.42.1", False)])
def test_period_types_the_destination_does_not_support(version: str, refused: bool) -> None:
    src = Simulator("2.42.1", "demo-source", dataset_options={"today": TODAY})
    dst = Simulator(version, "demo-destination", dataset_options={"today": TODAY})
    with connect(src, QuarterlyNov(src)) as a, connect(dst) as b:
        problems = {p.code: p for p in preflight(a, b, spec(periods=["2025NovQ1"]))}
    assert "period_type_mismatch" not in problems
    if refused:
        unsupported = problems["period_type_unsupported"]
        assert unsupported.severity == "error" and unsupported.objects == ["2025NovQ1"]
        assert "QuarterlyNov" in unsupported.message and "2.40.4.1" in unsupported.message
        assert "2.41" in unsupported.message
    else:
        assert "period_type_unsupported" not in problems
