"""What the people who use the platform do in a browser, in Debian's Chromium against the live
platform (see conftest.py). Each test saves a screenshot of its key page under
.local/screenshots/. Expected values come from the demo datasets and `setup_demo`, not from the
pages under test."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from playwright.sync_api import expect

from completeness.models import CompletenessAssessment
from connections.models import ConnectionProfile, Instance
from jobs.models import Run
from metadata_sync.models import AssessmentItem, MetadataAssessment, ProfileMapping
from simulator import datasets
from simulator.management.commands.setup_demo import DEMO_PASSWORD, demo_mapping_rows
from tests.browser.conftest import screenshot
from tests.conftest import SOURCE_PASSWORD
from tests.e2e.conftest import wait_for
from tracker.models import EventTransfer
from transfers.models import Transfer

RCH = datasets.DEMO["dataSets"]["RCH Monthly"]
DEMOLAND = datasets.DEMO["organisationUnits"]["Demoland"]
RUN_TIMEOUT = 90_000  # ms: a demo transfer takes a few seconds on a loaded 2-core machine


def test_operator_runs_the_demo_transfer_and_reads_the_summary(
    worker, browser_page, bob: User
) -> None:
    page = browser_page(bob)
    page.get_by_role("link", name="Transfers").first.click()
    page.get_by_role("link", name="Demo: RCH Monthly").click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/runs/\d+/"))
    expect(page.locator("#run-progress")).to_have_attribute("value", "100", timeout=RUN_TIMEOUT)
    expect(page.locator("#run-progress-text")).to_have_text("100%")
    # The demo lands what it can and reports what the destination lacks: a warning, not a fail.
    expect(page.locator("#run-status")).to_have_class(re.compile(r"status-(succeeded|warning)"))
    summary = page.locator("#run-summary")
    expect(summary).to_be_visible()
    assert summary.inner_text().strip()
    # the summary, the figures and the conflicts grouped by cause
    screenshot(page, "transfer-run-finished", docs=True, height=1100)
    run = Run.objects.get()
    assert run.status in {Run.Status.SUCCEEDED, Run.Status.WARNING}, run.error
    assert run.progress == 100
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.get_by_role("link", name=run.title, exact=True).first).to_be_visible()
    screenshot(page, "dashboard-after-a-run")


def test_admin_creates_an_instance_and_tests_its_connection(
    browser_page, platform, alice: User
) -> None:
    page = browser_page(alice)
    page.goto(f"{platform.url}/connections/")
    page.get_by_role("link", name="Add an instance").click()
    page.fill("#id_name", "District HMIS")
    page.fill("#id_base_url", Instance.objects.get(name="Demo source (simulated)").base_url)
    page.fill("#id_username", "admin")
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist, .success").first).to_be_visible()
    instance = Instance.objects.get(name="District HMIS")
    assert instance.has_password

    page.goto(f"{platform.url}/connections/")
    row = page.locator("tr", has_text="District HMIS")
    row.get_by_role("button", name="Test connection").click()
    row = page.locator("tr", has_text="District HMIS")
    expect(row.locator(".status-succeeded")).to_contain_text("OK")
    expect(row).to_contain_text("2.40")  # the simulator's version, read by the check
    screenshot(page, "connections-tested")
    assert DEMO_PASSWORD not in page.content()


def test_operator_sees_no_secret_and_no_admin_button(
    browser_page, platform, bob: User, source_instance: Instance
) -> None:
    page = browser_page(bob)
    page.goto(f"{platform.url}/connections/")
    expect(page.locator("tr", has_text="Source HMIS")).to_be_visible()
    html = page.content()
    assert SOURCE_PASSWORD not in html and DEMO_PASSWORD not in html
    expect(page.get_by_role("link", name="Add an instance")).to_have_count(0)
    expect(page.get_by_role("link", name="Add a profile")).to_have_count(0)
    # names are plain text for an operator, not links to the admin's change forms
    expect(page.locator("a", has_text="Source HMIS")).to_have_count(0)
    screenshot(page, "connections-operator")
    transfer = Transfer.objects.get(name="Demo: RCH Monthly")
    page.goto(f"{platform.url}/transfers/{transfer.pk}/")
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()  # operators run
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    page.goto(f"{platform.url}/admin/connections/instance/{source_instance.pk}/change/")
    assert SOURCE_PASSWORD not in page.content()


def test_metadata_review_accepts_a_suggestion(browser_page, platform, alice: User) -> None:
    profile = ConnectionProfile.objects.get(name="Demo: source to destination")
    assessment = MetadataAssessment.objects.create(
        profile=profile, types=["dataElements"], status="done",
        counts={"dataElements": {"suggested": 1}},
    )  # fmt: skip
    item = AssessmentItem.objects.create(
        assessment=assessment, type="dataElements",
        source_id="YPwMHfl9ods", source_name="ANC 4th visit", source_code="DE_ANC4",
        destination_id="O7Zhf99GqBB", destination_name="ANC 4th visit", destination_code="ANC_4",
        status="suggested", score=91.0,
    )  # fmt: skip
    page = browser_page(alice)
    page.goto(f"{platform.url}/metadata/assessments/{assessment.pk}/?status=suggested")
    page.get_by_label("select ANC 4th visit").check()
    screenshot(page, "metadata-review", docs=True, height=800)
    page.get_by_role("button", name="Accept selected").click()
    expect(page.locator("#items")).to_contain_text("Accepted")
    item.refresh_from_db()
    assert item.decision == AssessmentItem.Decision.ACCEPTED
    mapping = ProfileMapping.objects.get(profile=profile, source_id="YPwMHfl9ods")
    assert mapping.destination_id == "O7Zhf99GqBB" and mapping.type == "dataElements"


def test_completeness_heat_map_renders(worker, browser_page, platform, bob: User) -> None:
    source = Instance.objects.get(name="Demo source (simulated)")
    page = browser_page(bob)
    page.goto(f"{platform.url}/completeness/new/")
    page.select_option("#id_instance", str(source.pk))
    page.locator("#data-set-picker .picker-search").fill("RCH")
    page.locator("#data-set-picker .picker-item", has_text="RCH Monthly").click()
    expect(page.locator("#id_data_set")).to_have_value(RCH)
    page.select_option("#id_relative_period", "LAST_3_MONTHS")
    tree = page.locator("#org-unit-tree")
    tree.locator(".ou-node", has_text="Demoland").locator(".ou-add").first.click()
    expect(page.locator("#id_org_units_text")).to_have_value(DEMOLAND)
    page.get_by_role("button", name="Assess").click()
    page.wait_for_url(re.compile(r"/completeness/\d+/"))
    assessment = CompletenessAssessment.objects.get()
    # The page says to reload once the run is done, which is what a user does.
    finished = wait_for(
        lambda: Run.objects.filter(pk=assessment.run_id, status__in=Run.FINISHED).exists(),
        timeout=RUN_TIMEOUT / 1000,
    )
    assert finished, Run.objects.get(pk=assessment.run_id).status
    page.reload()
    heat = page.locator("table.heat")
    expect(heat).to_be_visible()
    # LAST_3_MONTHS on the e2e day (2024-07-15): April, May and June 2024, one column each.
    assert heat.locator("thead th[title]").evaluate_all("ths => ths.map(t => t.title)") == [
        "202404", "202405", "202406",
    ]  # fmt: skip
    expect(heat.locator("tbody tr").first).to_be_visible()
    screenshot(page, "completeness-heat-map", docs=True, height=1500)
    assert assessment.data_set == RCH


def test_event_transfer_preview_shows_its_sample(browser_page, platform, bob: User) -> None:
    transfer = EventTransfer.objects.get(name="Demo: Malaria case register")
    page = browser_page(bob)
    page.goto(f"{platform.url}/tracker/{transfer.pk}/preview/")
    sample = page.locator("#preview-sample tbody tr")
    expect(sample.first).to_be_visible()
    assert sample.count() >= 1
    expect(page.locator("#preview-counts")).to_contain_text("Demoland")
    screenshot(page, "event-transfer-preview", docs=True)


def test_transfer_form_pickers_fill_the_mapping_without_typing_a_uid(
    browser_page, platform, alice: User
) -> None:
    profile = ConnectionProfile.objects.get(name="Demo: source to destination")
    page = browser_page(alice)
    page.goto(f"{platform.url}/transfers/new/")
    page.fill("#id_name", "RCH by pickers")
    page.select_option("#id_profile", str(profile.pk))
    page.locator("#data-set-picker .picker-search").fill("rch")
    page.locator("#data-set-picker .picker-item", has_text="RCH Monthly").click()
    expect(page.locator("#id_data_set")).to_have_value(RCH)
    # the period picker follows the data set's type: monthly ids, monthly relative choices
    expect(page.locator("#period-chips .chip").first).to_have_text(re.compile(r"^\d{6}$"))
    page.select_option("#id_relative_period", "LAST_3_MONTHS")
    # the org unit tree opens level by level; pick a region below the root
    tree = page.locator("#org-unit-tree")
    root = tree.locator(".ou-node", has_text="Demoland").first
    root.locator(".ou-toggle").first.click()
    south = root.locator(".ou-children .ou-node", has_text="Southern Region").first
    south.locator(".ou-add").first.click()
    south_uid = datasets.DEMO["organisationUnits"]["Southern Region"]
    expect(page.locator("#id_org_units_text")).to_have_value(south_uid)
    # the mapping editor lists the elements by name, prefilled by name/code matching
    editor = page.locator("#mapping-editor")
    expect(editor.locator("tr.me-element").first).to_be_visible()
    screenshot(page, "transfer-form-pickers")
    editor.get_by_role("button", name="Use these mappings").click()
    expect(page.locator("#mapping-apply-result")).to_contain_text("added")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/transfers/\d+/$"))
    transfer = Transfer.objects.get(name="RCH by pickers")
    got = set(
        transfer.mappings.values_list(
            "source_data_element", "source_category_option_combo",
            "target_data_element", "target_category_option_combo",
        )
    )  # fmt: skip
    expected = {
        (r["source_data_element"], r["source_category_option_combo"],
         r["target_data_element"], r["target_category_option_combo"])
        for r in demo_mapping_rows(RCH)
    }  # fmt: skip
    assert got == expected
    assert transfer.org_units == [south_uid] and transfer.relative_period == "LAST_3_MONTHS"
    screenshot(page, "transfer-saved-from-pickers")
