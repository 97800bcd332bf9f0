"""Profile mappings (issue 10) and the completeness gate (issue 11), through the real run path:
`start_transfer` -> job -> task -> engine -> HTTP -> two DHIS2 simulators on loopback. What the
destination must hold is computed here from the simulators' own state, not by the engine."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.models import ConnectionProfile
from jobs.models import Run
from metadata_sync.models import ProfileMapping
from simulator import Simulator, datasets
from simulator.management.commands.setup_demo import demo_mapping_rows
from tests.conftest import api_as, served_profile
from transfers.models import Transfer, TransferMapping
from transfers.services import save_transfer, start_transfer

RCH = datasets.DEMO["dataSets"]["RCH Monthly"]
ROOT = datasets.DEMO["organisationUnits"]["Demoland"]
ANC4 = datasets.DEMO["dataElements"]["ANC 4th visit"]
DE_MAP = datasets.DEMO_MAPPING["dataElements"]
COC_MAP = datasets.DEMO_MAPPING["categoryOptionCombos"]
MISSING_DE = datasets.DEMO_MISSING["dataElements"][0]
MISSING_OU = datasets.DEMO_MISSING["organisationUnits"][0]
PERIOD = "202405"  # a finished month of the demo data on 2024-07-15
BOGUS = "AAAAAAAAAAA"  # a UID the destination does not have


@pytest.fixture
def pair(db) -> Iterator[tuple[Simulator, Simulator, ConnectionProfile]]:
    options = {"today": "2024-07-15"}
    source = Simulator("2.40.4.1", "demo-source", dataset_options=options)
    destination = Simulator("2.40.4.1", "demo-destination", dataset_options=options)
    with served_profile(source, destination) as served:
        yield source, destination, served.profile


def run(transfer: Transfer, capture) -> Run:
    with capture(execute=True):
        launched = start_transfer(transfer, user=None, trigger="cli")
    launched.refresh_from_db()
    return launched


def source_values(source: Simulator) -> list[dict]:
    return [
        v
        for v in source.data_values(data_set=RCH, period=PERIOD)
        if v.get("value") not in (None, "") and not v.get("deleted")
    ]


def identities(values: list[dict]) -> set[tuple]:
    keys = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")
    return {(*(v[k] for k in keys), v["value"]) for v in values}


# ---- issue 10: profile mappings ------------------------------------------------------------


def accept_review(profile: ConnectionProfile) -> None:
    """The rows an accepted metadata review writes: one per renamed object (same-UID matches
    get none), plus one wrong row that a transfer row must override."""
    for kind, pairs in (("dataElements", DE_MAP), ("categoryOptionCombos", COC_MAP)):
        for src, dst in pairs.items():
            ProfileMapping.objects.create(
                profile=profile, type=kind, source_id=src, destination_id=dst
            )
    ProfileMapping.objects.filter(profile=profile, type="dataElements", source_id=ANC4).update(
        destination_id=BOGUS
    )


def test_accepted_mappings_land_values_under_the_destination_uids(
    pair, django_capture_on_commit_callbacks, bob: User
) -> None:
    source, destination, profile = pair
    accept_review(profile)
    transfer = save_transfer(
        None, user=None, name="RCH by profile", profile=profile, data_set=RCH,
        periods=[PERIOD], org_units=[ROOT], continue_on_preflight_problems=True,
        use_profile_mappings=True,
        # The transfer's own row wins over the (wrong) profile mapping of ANC 4th visit.
        mappings=[{"source_data_element": ANC4, "target_data_element": DE_MAP[ANC4]}],
    )  # fmt: skip
    finished = run(transfer, django_capture_on_commit_callbacks)

    fetched = source_values(source)
    expected = identities(
        [
            {
                **v,
                "dataElement": DE_MAP.get(v["dataElement"], v["dataElement"]),
                "categoryOptionCombo": COC_MAP.get(
                    v["categoryOptionCombo"], v["categoryOptionCombo"]
                ),
            }
            for v in fetched
            if v["dataElement"] != MISSING_DE and v["orgUnit"] != MISSING_OU
        ]
    )
    assert expected and any(k[0] in DE_MAP.values() for k in expected)
    assert identities(destination.data_values(data_set=RCH)) == expected
    assert not any(k[0] == BOGUS for k in identities(destination.data_values()))
    # Values whose data element (other than the row's) or option combo the profile renamed.
    by_profile = [
        v
        for v in fetched
        if (v["dataElement"] in DE_MAP and v["dataElement"] != ANC4)
        or v["categoryOptionCombo"] in COC_MAP
    ]
    assert finished.stats["mapped_by_profile"] == len(by_profile) > 0
    used = {(m["type"], m["source"]) for m in finished.stats["profile_mapping_detail"]}
    assert ("dataElements", ANC4) not in used
    assert {("categoryOptionCombos", c) for c in COC_MAP} <= used

    page = Client()
    page.force_login(bob)
    detail = page.get(f"/transfers/{transfer.pk}/").content.decode()
    assert "Profile mappings in force (5)" in detail and BOGUS in detail
    run_page = page.get(f"/runs/{finished.pk}/").content.decode()
    assert (
        "Mapped by the profile&#x27;s mappings" in run_page or "profile-mappings-used" in run_page
    )


def test_without_the_option_the_profile_mappings_are_not_used(
    pair, django_capture_on_commit_callbacks
) -> None:
    _source, destination, profile = pair
    accept_review(profile)
    transfer = save_transfer(
        None, user=None, name="RCH plain", profile=profile, data_set=RCH, periods=[PERIOD],
        org_units=[ROOT], continue_on_preflight_problems=True,
    )  # fmt: skip
    finished = run(transfer, django_capture_on_commit_callbacks)
    assert finished.stats["mapped_by_profile"] == 0
    stored = {v["dataElement"] for v in destination.data_values()}
    assert not stored & set(DE_MAP.values())  # renamed elements were sent by source UID


# ---- issue 11: the completeness gate -------------------------------------------------------


def form_compliance(source: Simulator) -> dict[tuple[str, str], float]:
    """(org unit, period) -> percent of RCH's data elements with a value, half-up to 0.1."""
    ds = next(d for d in source.metadata("dataSets") if d["id"] == RCH)
    elements = {dse["dataElement"]["id"] for dse in ds["dataSetElements"]}
    filled: dict[tuple[str, str], set[str]] = {}
    for v in source_values(source):
        if v["dataElement"] in elements:
            filled.setdefault((v["orgUnit"], v["period"]), set()).add(v["dataElement"])
    return {
        key: float(
            (Decimal(len(des)) * 100 / len(elements)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        )
        for key, des in filled.items()
    }


def test_a_gated_transfer_holds_back_exactly_the_forms_below_the_minimum(
    pair, django_capture_on_commit_callbacks, bob: User
) -> None:
    source, destination, profile = pair
    compliance = form_compliance(source)
    levels = sorted(set(compliance.values()))
    assert len(levels) > 1, "the demo data must have forms of different completeness"
    minimum = levels[len(levels) // 2]
    held = {key for key, score in compliance.items() if score < minimum}
    kept = set(compliance) - held
    assert held and kept

    transfer = save_transfer(
        None, user=None, name="RCH gated", profile=profile, data_set=RCH, periods=[PERIOD],
        org_units=[ROOT], continue_on_preflight_problems=True, mark_complete=True,
        min_completeness=minimum, mappings=demo_mapping_rows(RCH),
    )  # fmt: skip
    finished = run(transfer, django_capture_on_commit_callbacks)

    assert finished.stats["held_back_rows"] == len(held)
    held_values = [v for v in source_values(source) if (v["orgUnit"], v["period"]) in held]
    assert finished.stats["held_back_values"] == len(held_values)
    listed = {(h["org_unit"], h["period"]): h for h in finished.stats["held_back_detail"]}
    assert set(listed) == held
    assert all(listed[key]["compliance"] == compliance[key] for key in held)
    names = {o["id"]: o["name"] for o in source.metadata("organisationUnits")}
    assert all(listed[key]["org_unit_name"] == names[key[0]] for key in held)

    landed = {(v["orgUnit"], v["period"]) for v in destination.data_values(data_set=RCH)}
    assert landed == kept - {(MISSING_OU, PERIOD)}
    completed = {(c["organisationUnit"], c["period"]) for c in destination.completions(RCH)}
    assert completed and not completed & held
    assert completed <= kept

    page = Client()
    page.force_login(bob)
    run_page = page.get(f"/runs/{finished.pk}/").content.decode()
    assert "Held back below the minimum completeness" in run_page
    some = sorted(held)[0]
    assert names[some[0]] in run_page


# ---- the options' rules, on every face ---------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_completeness": 80, "incremental": True}, "min_completeness"),
        ({"min_completeness": 80, "id_scheme": "CODE"}, "min_completeness"),
        ({"min_completeness": 101}, "min_completeness"),
        ({"min_completeness": -1}, "min_completeness"),
        ({"use_profile_mappings": True, "id_scheme": "CODE"}, "use_profile_mappings"),
    ],
)
def test_options_that_cannot_work_are_field_errors(
    alice: User, profile: ConnectionProfile, overrides: dict, field: str
) -> None:
    body = {
        "name": "Gated", "profile": profile.pk, "data_set": "BfMAe6Itzgt",
        "periods": ["202401"], "org_units": ["ImspTQPwCqd"], **overrides,
    }  # fmt: skip
    resp = api_as(alice).post("/api/v1/transfers/", body, format="json")
    assert resp.status_code == 400, resp.content
    assert set(resp.json()) == {field}
    assert not Transfer.objects.filter(name="Gated").exists()


def test_the_api_reads_and_writes_the_new_options(alice: User, transfer: Transfer) -> None:
    client = api_as(alice)
    resp = client.patch(
        f"/api/v1/transfers/{transfer.pk}/",
        {"min_completeness": 75.5, "use_profile_mappings": True},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    got = client.get(f"/api/v1/transfers/{transfer.pk}/").json()
    assert got["min_completeness"] == 75.5 and got["use_profile_mappings"] is True
    transfer.refresh_from_db()
    assert transfer.min_completeness == 75.5
    assert TransferMapping.objects.filter(transfer=transfer).count() == 1  # rows kept
