"""The demo's ready event transfer, and the program picker against a served simulator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from simulator.datasets import DEMO
from tests.conftest import api_as
from tests.tracker.conftest import served_pair
from tracker.models import EventTransfer

PROGRAM = DEMO["programs"]["Malaria case register"]
STAGE = DEMO["programStages"]["Malaria case"]


def test_setup_demo_makes_one_ready_event_transfer(db) -> None:
    call_command("setup_demo")
    call_command("setup_demo")  # idempotent
    [transfer] = EventTransfer.objects.all()
    assert transfer.program == PROGRAM and transfer.profile.name == "Demo: source to destination"
    assert transfer.program_name == "Malaria case register"


@pytest.mark.usefixtures("fast_polling")
def test_the_program_picker_offers_event_programs_by_name_with_their_stages(bob: User, db) -> None:
    with served_pair("2.41.0", "2.41.0") as pair:
        resp = api_as(bob).get(f"/api/v1/instances/{pair.profile.source_id}/event-programs/")
        ous = api_as(bob).get(
            f"/api/v1/instances/{pair.profile.source_id}/org-units/", {"search": "Demoland"}
        )
    assert resp.status_code == 200, resp.content
    assert [(p["id"], p["name"]) for p in resp.json()] == [(PROGRAM, "Malaria case register")]
    assert resp.json()[0]["programStages"] == [{"id": STAGE, "name": "Malaria case"}]
    assert ous.json()[0]["name"] == "Demoland"


def test_the_picker_is_for_readers_only(charlie: User, source_instance) -> None:
    resp = api_as(charlie).get(f"/api/v1/instances/{source_instance.pk}/event-programs/")
    assert resp.status_code == 403
