"""Assessment and sync against the demo simulator pair, in process (no socket).

The expectations come from the simulator's dataset definitions (`simulator.datasets`: what the
demo destination was built without or under other UIDs) and from the source's stored objects,
never from the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dhis2 import BasicAuth, Client, RetryPolicy
from metadata_sync.apply import apply_payload
from metadata_sync.assess import AssessmentResult, assess_metadata
from metadata_sync.match import ItemResult, Status
from metadata_sync.payload import build_payload, destination_lookup, source_fetcher
from metadata_sync.schema import ORDER
from simulator import Simulator
from simulator.datasets import (
    DEMO,
    DEMO_MAPPING,
    DEMO_MISSING,
    DEST_RENAMED_ELEMENTS,
)
from simulator.state import State

TODAY = "2024-07-15"


def sim(dataset: str, version: str) -> Simulator:
    return Simulator(version, dataset, dataset_options={"today": TODAY})


def connect(target: Simulator) -> Client:
    return Client("http://sim.local", BasicAuth("admin", "district"),
                  transport=target.transport(), retry=RetryPolicy(max_attempts=2, backoff_base=0))  # fmt: skip


def assess(src: Simulator, dst: Simulator) -> tuple[AssessmentResult, list[ItemResult]]:
    items: list[ItemResult] = []
    progress: list[tuple[str, int, int]] = []
    with connect(src) as a, connect(dst) as b:
        result = assess_metadata(a, b, ORDER, sink=items.extend, page_size=7,
                                 max_concurrency=3, progress=lambda *p: progress.append(p))  # fmt: skip
    assert {p[0] for p in progress} == set(ORDER)
    for type_ in ORDER:  # both sides were read completely
        last = [p for p in progress if p[0] == type_][-1]
        total = len(src.state.objects[type_]) + len(dst.state.objects[type_])
        assert last[1:] == (total, total)
    return result, items


def expected_statuses(src: Simulator) -> dict[tuple[str, str], tuple[Status, dict[str, Any]]]:
    """(type, source UID) -> (status, differences) for every object that is not a plain match."""
    de_by_name = DEMO["dataElements"]
    out: dict[tuple[str, str], tuple[Status, dict[str, Any]]] = {}
    for name, new_code in DEST_RENAMED_ELEMENTS.items():
        status = Status.MATCHED_BY_CODE if new_code is None else Status.MATCHED_BY_NAME
        out[("dataElements", de_by_name[name])] = (status, {})
    for source_uid in DEMO_MAPPING["categoryOptionCombos"]:
        out[("categoryOptionCombos", source_uid)] = (Status.MATCHED_BY_NAME, {})
    for type_, uids in DEMO_MISSING.items():
        for uid in uids:
            out[(type_, uid)] = (Status.MISSING, {})
    missing_des = set(DEMO_MISSING["dataElements"])
    missing_ous = set(DEMO_MISSING["organisationUnits"])
    for uid, ds in src.state.objects["dataSets"].items():
        diffs: dict[str, Any] = {}
        elements = {e["dataElement"]["id"] for e in ds["dataSetElements"]} & missing_des
        if elements:
            diffs["dataSetElements"] = {"only_source": sorted(elements), "only_destination": []}
        units = {o["id"] for o in ds["organisationUnits"]} & missing_ous
        if units:
            diffs["organisationUnits"] = {"only_source": sorted(units), "only_destination": []}
        if diffs:
            out[("dataSets", uid)] = (Status.CONFLICT, diffs)
    return out


def _unmatched(items: list[ItemResult]) -> dict[tuple[str, str], tuple[Status, dict[str, Any]]]:
    """What the assessment did not match outright, in the shape of `expected_statuses`."""
    return {
        (i.type, i.source_id): (i.status, i.differences)
        for i in items
        if i.status != Status.MATCHED
    }


@pytest.mark.parametrize("version", ["2.37.9.1", "2.40.4.1", "2.42.1"])
def test_assessment_finds_exactly_the_demo_differences_and_sync_fills_the_gaps(
    version: str,
) -> None:
    src, dst = sim("demo-source", version), sim("demo-destination", version)
    result, items = assess(src, dst)

    # one item per source object
    assert sorted((i.type, i.source_id) for i in items) == sorted(
        (t, uid) for t in ORDER for uid in src.state.objects[t]
    )
    expected = expected_statuses(src)
    assert _unmatched(items) == expected
    for item in items:  # matches with other UIDs point at the destination's object
        if (
            (item.type, item.source_id) in expected
            and item.status != Status.MISSING
            and item.type != "dataSets"
        ):
            assert item.destination_id == DEMO_MAPPING[item.type][item.source_id]
    assert sum(n for c in result.counts.values() for n in c.values()) == len(items)
    assert result.counts["dataElements"][Status.MISSING] == 1

    # sync what is missing
    selected: dict[str, list[str]] = {}
    for item in items:
        if item.status == Status.MISSING:
            selected.setdefault(item.type, []).append(item.source_id)
    with connect(src) as a, connect(dst) as b:
        payload = build_payload(selected=selected, fetch=source_fetcher(a), resolution=result.resolution,
                                defaults=(result.defaults["source"], result.defaults["destination"]),
                                exists=destination_lookup(b))  # fmt: skip
        assert payload.counts == {t: len(u) for t, u in DEMO_MISSING.items()}
        validation, commit = apply_payload(b, payload.metadata)
    assert validation.ok, validation.as_dict()
    assert commit is not None and commit.ok
    assert commit.counts == {t: {"created": len(u), "updated": 0, "ignored": 0, "deleted": 0}
                             for t, u in DEMO_MISSING.items()}  # fmt: skip
    for type_, uids in DEMO_MISSING.items():  # the source's UIDs and codes were kept
        for uid in uids:
            assert dst.state.objects[type_][uid]["code"] == src.state.objects[type_][uid]["code"]
    facility = dst.state.objects["organisationUnits"][DEMO_MISSING["organisationUnits"][0]]
    source_facility = src.state.objects["organisationUnits"][DEMO_MISSING["organisationUnits"][0]]
    assert facility["parent"] == source_facility["parent"]

    _again, items = assess(src, dst)
    assert not [i for i in items if i.status == Status.MISSING]


def test_a_failed_validation_changes_nothing() -> None:
    dst = sim("demo-destination", "2.40.4.1")
    before = json.dumps(dst.state.objects, sort_keys=True)
    bad = {"dataElements": [{"id": "deBad000001", "name": "Bad", "shortName": "Bad",
                             "valueType": "NUMBER", "aggregationType": "SUM",
                             "domainType": "AGGREGATE", "categoryCombo": {"id": "ccNowhere01"}}]}  # fmt: skip
    with connect(dst) as b:
        validation, commit = apply_payload(b, bad)
    assert commit is None
    assert validation.status == "ERROR" and validation.http_status == 409
    assert [(e.error_code, e.type, e.object_id) for e in validation.errors] == [
        ("E5002", "dataElements", "deBad000001")
    ]
    assert json.dumps(dst.state.objects, sort_keys=True) == before


def test_defaults_with_other_uids_on_the_destination_are_matched() -> None:
    src, dst = sim("demo-source", "2.40.4.1"), sim("demo-destination", "2.40.4.1")
    renamed = {"bjDvmb4bfuf": "p0KPaWEg3cf", "HllvX50cXC0": "bRowv6yZOF2",
               "xYerKDKCefk": "oldDefOpt01", "GLevLNI9wkl": "oldDefCat01"}  # fmt: skip
    text = json.dumps(dst.state.objects)
    for old, new in renamed.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    state = State()
    for kind, objs in json.loads(text).items():
        for obj in objs.values():
            state.put(kind, obj)
    dst.state = state

    result, items = assess(src, dst)
    defaults = {i.type: i for i in items if i.source_name == "default"}
    assert {t: (i.status, i.destination_id) for t, i in defaults.items()} == {
        "categoryOptions": (Status.MATCHED, "oldDefOpt01"),
        "categories": (Status.MATCHED, "oldDefCat01"),
        "categoryCombos": (Status.MATCHED, "p0KPaWEg3cf"),
        "categoryOptionCombos": (Status.MATCHED, "bRowv6yZOF2"),
    }
    # nothing else changed status because of the defaults (data elements on the default combo)
    expected = expected_statuses(src)
    assert _unmatched(items) == expected
    assert result.defaults["destination"]["categoryCombos"] == "p0KPaWEg3cf"
