"""Admin actions call the start function; an operator may launch but not change."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client as PageClient

from jobs.models import Run
from jobs.registry import job_type_choices
from tracker.models import EventTransfer

URL = "/admin/tracker/eventtransfer/"


def test_dry_run_and_run_now_actions_queue_runs(bob: User, profile) -> None:
    t = EventTransfer.objects.create(
        name="Saved", profile=profile, program="eBAyeGv0exc", org_units=["DiszpKrYNg8"]
    )
    page = PageClient()
    page.force_login(bob)
    resp = page.post(URL, {"action": "dry_run", "_selected_action": [t.pk]})
    assert resp.status_code == 302
    run = Run.objects.get()
    assert run.kind == "event_transfer" and run.params["dry_run"] is True
    assert run.trigger == Run.Trigger.ADMIN and run.started_by == bob
    page.post(URL, {"action": "run_now", "_selected_action": [t.pk]})
    assert Run.objects.count() == 1  # busy: the dry run is still queued
    assert page.get(f"{URL}{t.pk}/change/").status_code == 200  # view only
    assert page.post(f"{URL}{t.pk}/change/", {"name": "x"}).status_code == 403


def test_event_transfers_are_a_schedulable_job_type() -> None:
    assert ("event_transfer", "Tracker event transfer") in job_type_choices()
