"""Pages speak names, not UIDs: an HMIS officer never has to read a UID to do their job.

After the README's tour (the shared `demo_history` world, plus a dry run, an event transfer
run, a metadata assessment of every usual type with its apply, and a completeness marking),
every page an officer uses is opened in Chromium as an operator and, where pages differ, as an
admin, and its visible text (`document.body.innerText`: a collapsed <details> and `title`
attributes are not in it, which is where a UID may stay for whoever needs it) must contain none
of the demo data's UIDs. The UIDs are read from the two served simulators' metadata at test
time, independently of the pages and of the platform's own name cache. Spot checks then say
that the names stand where the UIDs would have been."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from completeness.models import CompletenessAssessment
from completeness.services import start_completeness_mark
from connections.models import ConnectionProfile, Instance
from jobs.models import Run, Schedule
from metadata_sync.match import Status
from metadata_sync.schema import DEFAULT_TYPES
from metadata_sync.services import (
    accept_items,
    create_assessment,
    start_metadata_apply,
    start_metadata_assessment,
)
from simulator.management.commands.setup_demo import DEMO_PASSWORD, DEMO_USERNAME
from tests.browser.conftest import screenshot
from tracker.models import EventTransfer
from tracker.services import start_event_transfer
from transfers.models import Transfer
from transfers.services import start_transfer

#: The metadata types whose UIDs a page could show (each asked of both simulators).
UID_TYPES = (
    "dataSets", "dataElements", "categoryOptionCombos", "categoryOptions", "categories",
    "categoryCombos", "organisationUnits", "programs", "programStages",
)  # fmt: skip

STATUSES = [s.value for s in Status]

# No page shows a UID in its visible text, so there is no allow-list. The one place an admin
# may paste UIDs (the forms' org unit field, an advanced option next to the tree) holds them
# as a form control's value, which is not body text; a run's log and parameters (which quote
# UIDs) are collapsed <details> on a finished run.


def demo_uids() -> dict[str, str]:
    """{uid: "type on instance"} for every object of UID_TYPES on both served simulators."""
    uids: dict[str, str] = {}
    for instance in Instance.objects.filter(name__startswith="Demo "):
        auth = (DEMO_USERNAME, DEMO_PASSWORD)
        with httpx.Client(base_url=instance.base_url, auth=auth, timeout=30) as client:
            for kind in UID_TYPES:
                response = client.get(f"/api/{kind}", params={"paging": "false", "fields": "id"})
                response.raise_for_status()
                for obj in response.json()[kind]:
                    uids.setdefault(obj["id"], f"{kind} on {instance.name}")
    return uids


@pytest.fixture
def names_world(demo_history: dict[str, Any], alice: User, bob: User) -> dict[str, Any]:
    """The tour's world and one run of every other operation an officer reads."""
    transfer = Transfer.objects.get(name="Demo: RCH Monthly")
    dry = start_transfer(transfer, user=bob, trigger=Run.Trigger.WEB, dry_run=True)
    events = EventTransfer.objects.get(name="Demo: Malaria case register")
    event_run = start_event_transfer(events, user=bob, trigger=Run.Trigger.WEB)
    profile = ConnectionProfile.objects.get(name="Demo: source to destination")
    metadata = create_assessment(profile, types=list(DEFAULT_TYPES), user=alice)
    start_metadata_assessment(metadata, user=alice, trigger=Run.Trigger.WEB)
    metadata.refresh_from_db()
    missing = list(
        metadata.items.filter(status="missing").values_list("pk", flat=True)
    )  # Facility remarks and Kolo Health Post
    assert missing, "the demo's metadata assessment found nothing missing"
    apply = start_metadata_apply(
        metadata, items=missing, dry_run=False, user=alice, trigger=Run.Trigger.WEB
    )
    # a decision on a suggestion, so the profile's mappings page has a row
    suggestion = metadata.items.filter(status__in=["suggested", "matched_by_name"]).first()
    assert suggestion is not None, "the demo's metadata assessment suggested nothing"
    accept_items(metadata, [suggestion.pk], user=alice)
    completeness = CompletenessAssessment.objects.get(pk=demo_history["completeness"].pk)
    mark = start_completeness_mark(completeness, compliant=True, user=bob, trigger=Run.Trigger.WEB)
    runs = {
        "transfer run": demo_history["run"],
        "dry run": dry,
        "event transfer run": event_run,
        "metadata assessment run": Run.objects.get(pk=metadata.run_id),
        "metadata apply run": apply,
        "completeness assessment run": Run.objects.get(pk=completeness.run_id),
        "completeness mark run": mark,
    }
    checks = Run.objects.filter(kind="connection_check")
    assert checks.count() == 2
    for check in checks:
        runs[f"connection check {check.pk}"] = check
    for what, run in runs.items():
        run.refresh_from_db()
        assert run.status in Run.FINISHED, (what, run.status)
    return {
        **demo_history,
        "runs": runs,
        "transfer": transfer,
        "events": events,
        "profile": profile,
        "full_metadata": metadata,
        "schedule": Schedule.objects.get(name="Nightly RCH"),
    }


def _pages(world: dict[str, Any], *, admin: bool) -> list[tuple[str, str]]:
    transfer, events = world["transfer"], world["events"]
    metadata, completeness = world["full_metadata"], world["completeness"]
    pages = [
        ("dashboard", "/"),
        ("runs list", "/runs/"),
        *((what, f"/runs/{run.pk}/") for what, run in world["runs"].items()),
        ("transfers list", "/transfers/"),
        ("transfer detail", f"/transfers/{transfer.pk}/"),
        ("tracker list", "/tracker/"),
        ("tracker detail", f"/tracker/{events.pk}/"),
        ("tracker preview", f"/tracker/{events.pk}/preview/"),
        ("metadata list", "/metadata/"),
        ("metadata assessment", f"/metadata/assessments/{metadata.pk}/"),
        *(
            (f"metadata tab {status}", f"/metadata/assessments/{metadata.pk}/?status={status}")
            for status in STATUSES
        ),
        ("small metadata assessment", f"/metadata/assessments/{world['metadata'].pk}/"),
        ("profile mappings", f"/metadata/profiles/{world['profile'].pk}/mappings/"),
        ("completeness list", "/completeness/"),
        ("completeness heat map", f"/completeness/{completeness.pk}/"),
        ("completeness form", "/completeness/new/"),
        ("schedules list", "/schedules/"),
        ("schedule detail", f"/schedules/{world['schedule'].pk}/"),
        ("connections", "/connections/"),
    ]
    if admin:
        pages += [
            ("transfer edit form", f"/transfers/{transfer.pk}/edit/"),
            ("new transfer form", "/transfers/new/"),
            ("tracker edit form", f"/tracker/{events.pk}/edit/"),
            ("new tracker form", "/tracker/new/"),
            ("schedule form", "/schedules/new/"),
            ("schedule edit form", f"/schedules/{world['schedule'].pk}/edit/"),
        ]
    return pages


def _visible_text(page: Any, url: str) -> str:
    page.goto(url)
    expect(page.locator("main h1")).to_be_visible()
    # pickers, trees and previews fill themselves from the API after the load; a page that
    # keeps polling is checked as it stands
    with contextlib.suppress(PlaywrightError):
        page.wait_for_load_state("networkidle", timeout=10_000)
    return page.evaluate("document.body.innerText")


def _leaks(text: str, uids: dict[str, str]) -> list[str]:
    return [f"{uid} ({kind})" for uid, kind in uids.items() if uid in text]


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_pages_show_names_not_uids(
    browser_page, platform, names_world, alice: User, bob: User, role: str
) -> None:
    uids = demo_uids()
    assert len(uids) > 50, uids  # the demo's data sets, elements, combos, org units, programs
    admin = role == "admin"
    page = browser_page(alice if admin else bob)
    leaks: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    for what, path in _pages(names_world, admin=admin):
        text = _visible_text(page, f"{platform.url}{path}")
        texts[what] = text
        found = _leaks(text, uids)
        if found:
            leaks[f"{what} ({path})"] = found
            screenshot(page, f"names-leak-{role}-{what.replace(' ', '-')}")
    assert not leaks, "UIDs shown on pages:\n" + "\n".join(
        f"  {where}: {', '.join(found[:8])}{' …' if len(found) > 8 else ''}"
        for where, found in leaks.items()
    )

    # the names stand where the UIDs would have been
    assert "RCH Monthly" in texts["transfers list"]
    conflicts = texts["transfer run"]
    assert "Kolo Health Post" in conflicts and "Facility remarks" in conflicts
    assert "Malaria case register" in texts["tracker list"]
    assert "Demoland" in texts["tracker preview"]
    assert "RCH Monthly" in texts["completeness heat map"]
    assert "ANC 4th visit" in texts["metadata tab matched_by_name"]
    missing = texts["metadata tab missing"]
    assert "Kolo Health Post" in missing and "Facility remarks" in missing
    assert "Kolo Health Post" in texts["event transfer run"]  # the refused events' org unit


def test_a_uid_stays_on_hover(browser_page, platform, names_world, bob: User) -> None:
    """The UID is still there for whoever needs it: in the name's title (on hover)."""
    page = browser_page(bob)
    page.goto(f"{platform.url}/transfers/")
    named = page.locator("[title*='UID']", has_text="RCH Monthly").first
    expect(named).to_be_visible()
    rch = Transfer.objects.get(name="Demo: RCH Monthly").data_set
    assert rch in (named.get_attribute("title") or "")
