"""Event transfer pages: roles, the form's field errors from the save service, names shown."""

from __future__ import annotations

import respx
from django.contrib.auth.models import User

from connections.models import ConnectionProfile
from tests.conftest import page_as
from tests.tracker.test_api import OU, PROGRAM, STAGE, scope, source
from tracker.models import EventTransfer


def form(profile: ConnectionProfile, **overrides) -> dict:
    data = {
        **scope(profile),
        "name": "From the page",
        "org_units": OU,
        "use_profile_mappings": "on",
        "mappings": "{}",
    }
    data.update(overrides)
    return data


def test_operators_see_names_and_cannot_edit(bob: User, charlie: User, profile) -> None:
    t = EventTransfer.objects.create(
        name="Saved", profile=profile, program=PROGRAM, org_units=[OU],
        source_names={PROGRAM: "Inpatient morbidity", OU: "Ngelehun CHC"},
    )  # fmt: skip
    listing = page_as(bob).get("/tracker/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert f'title="{PROGRAM}">Inpatient morbidity' in html and "Ngelehun CHC" in html
    assert page_as(bob).get(f"/tracker/{t.pk}/").status_code == 200
    assert page_as(bob).get("/tracker/new/").status_code == 403
    assert page_as(bob).get(f"/tracker/{t.pk}/edit/").status_code == 403
    assert page_as(charlie).get("/tracker/").status_code == 403


def test_the_form_saves_through_the_service(alice: User, profile: ConnectionProfile) -> None:
    with respx.mock(assert_all_called=False) as mock:
        source(mock)
        resp = page_as(alice).post("/tracker/new/", form(profile))
    assert resp.status_code == 302, resp.content.decode()[:3000]
    saved = EventTransfer.objects.get(name="From the page")
    assert saved.org_units == [OU] and saved.program_stage == STAGE
    assert saved.program_name == "Inpatient morbidity and mortality"


def test_bad_input_is_a_form_error(alice: User, profile: ConnectionProfile) -> None:
    with respx.mock(assert_all_called=False) as mock:
        source(mock, program_type="WITH_REGISTRATION")
        resp = page_as(alice).post("/tracker/new/", form(profile, end_date="2023-12-31"))
        assert resp.status_code == 200
        assert "The end date is before the start date." in resp.content.decode()
        resp = page_as(alice).post("/tracker/new/", form(profile))
    assert resp.status_code == 200
    assert "tracker program with registration" in resp.content.decode()
    assert not EventTransfer.objects.exists()
