"""Scheduling a transfer from the browser: the preset buttons and the live preview of the next
run times (static/js/schedule.js calling the preview API), then the schedule in the list."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from playwright.sync_api import expect

from jobs.models import Schedule
from tests.browser.conftest import screenshot
from transfers.models import Transfer


def test_admin_schedules_the_demo_transfer_with_a_preset(
    browser_page, platform, alice: User
) -> None:
    transfer = Transfer.objects.get(name="Demo: RCH Monthly")
    page = browser_page(alice)
    page.get_by_role("link", name="Schedules").first.click()
    page.get_by_role("link", name="+ New schedule").click()
    page.fill("#id_name", "Nightly RCH")
    page.select_option("#id_job", f"transfer:{transfer.pk}")
    page.select_option("#id_timezone", "Africa/Nairobi")
    page.get_by_role("button", name="Daily at 02:00").click()
    expect(page.locator("#id_cron")).to_have_value("0 2 * * *")
    # the preview says it in words and lists the next five runs, 02:00 in Nairobi (UTC+03:00)
    expect(page.locator("#cron-description")).to_contain_text("02:00")
    runs = page.locator("#cron-next-runs li")
    expect(runs).to_have_count(5)
    expect(runs.first).to_contain_text("02:00 (UTC+03:00)")
    screenshot(page, "schedule-form", docs=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/schedules/\d+/$"))
    schedule = Schedule.objects.get(name="Nightly RCH")
    assert (schedule.job_type, schedule.job_id) == ("transfer", transfer.pk)
    assert (schedule.cron, schedule.timezone) == ("0 2 * * *", "Africa/Nairobi")

    page.get_by_role("link", name="Schedules").first.click()
    row = page.locator("tr", has_text="Nightly RCH")
    expect(row).to_contain_text("Demo: RCH Monthly")
    expect(row).to_contain_text("Active")
    screenshot(page, "schedules", docs=True, height=500)
