"""The dashboard's sections and the searchable, paginated lists."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from connections.models import ConnectionProfile, Instance
from jobs.models import Run, Schedule
from tests.conftest import page_as
from tests.simulated import SimulatedProfile, fresh_cache, sim_fixture  # noqa: F401 (fixtures)
from transfers.models import Transfer

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _section(page: str, section_id: str) -> str:
    return page.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]


def test_dashboard_sections(
    bob: User, source_instance: Instance, profile: ConnectionProfile
) -> None:
    now = timezone.now()
    statuses = ["succeeded"] * 3 + ["failed"] * 2 + ["warning"]
    for status in statuses:
        Run.objects.create(kind="transfer", trigger="web", status=status, title=f"T {status}")
    old = Run.objects.create(kind="transfer", trigger="web", status="succeeded")
    Run.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=9))  # outside the chart
    Run.objects.create(
        kind="transfer",
        trigger="web",
        status="failed",
        title="Nightly RCH",
        error="The destination refused the import.\nTraceback line that should stay hidden",
    )
    Run.objects.create(kind="transfer", trigger="web", status="running", progress=40, title="Live")
    Instance.objects.filter(pk=source_instance.pk).update(
        last_check_ok=True, version="2.40.4.1", last_check_latency_ms=123, version_checked_at=now
    )
    transfer = Transfer.objects.create(
        name="RCH", profile=profile, data_set="qfltXPJW0EB", periods=["202401"],
        org_units=["DhdSa1PzDOh"],
    )  # fmt: skip
    Schedule.objects.create(
        name="Every night", job_type="transfer", job_id=transfer.pk, cron="0 2 * * *",
        next_run=now + timedelta(hours=5),
    )  # fmt: skip

    page = page_as(bob).get("/").content.decode()

    chart = _section(page, "runs-chart")
    # 3+2+1 + the failed one + the running one = 8 runs this week; the 9-day-old one is not.
    assert 'Runs in the last 7 days <span class="muted">(8)</span>' in chart
    assert len(re.findall(r'<rect class="bar status-succeeded"', chart)) == 1  # today only
    assert "3 succeeded" in chart and "3 failed" in chart  # status in words, not by colour
    failures = _section(page, "failures")
    assert "The destination refused the import." in failures
    assert "Traceback line" not in failures
    running = _section(page, "running")
    assert "Live" in running and 'value="40"' in running
    assert "Every night" in _section(page, "next-runs")
    health = _section(page, "health")
    assert "123 ms" in health and "DHIS2 2.40.4.1" in health and "OK" in health
    assert "quick-actions" in page and "Failed runs (3)" in page


def test_dashboard_for_charlie_shows_no_sections(charlie: User) -> None:
    page = page_as(charlie).get("/").content.decode()
    assert "no role yet" in page and 'id="runs-chart"' not in page and 'id="health"' not in page


def test_run_list_is_searchable_and_paginated(bob: User) -> None:
    Run.objects.bulk_create(
        Run(kind="transfer", trigger="web", status="succeeded", title=f"Weekly {i}")
        for i in range(55)
    )
    Run.objects.create(kind="transfer", trigger="web", status="failed", title="Malaria monthly")
    client = page_as(bob)
    first = client.get("/runs/").content.decode()
    assert "Page 1 of 2" in first and "(56 in all)" in first
    second = client.get("/runs/?page=2").content.decode()
    assert second.count('<td><a href="/runs/') == 2 * 6  # the number and the title link
    found = client.get("/runs/?q=malaria").content.decode()
    assert "Malaria monthly" in found and "Weekly 1" not in found and "Page 1 of" not in found
    # Paging a search keeps the search in the links.
    paged = client.get("/runs/?q=weekly").content.decode()
    assert "?q=weekly&amp;page=2" in paged


def test_transfer_list_shows_data_set_names_and_pages(alice: User, sim: SimulatedProfile) -> None:
    data_sets = sim.names("source", "dataSets")
    Transfer.objects.bulk_create(
        Transfer(
            name=f"Transfer {i:02}", profile=sim.profile, data_set="qfltXPJW0EB",
            periods=["202401", "2025W5"], org_units=["DhdSa1PzDOh"],
        )
        for i in range(27)
    )  # fmt: skip
    client = page_as(alice)
    page = client.get("/transfers/").content.decode()
    assert data_sets["qfltXPJW0EB"] in page and ">qfltXPJW0EB<" not in page
    assert "January 2024" in page and "Week 5 2025" in page
    assert page.count("/run/") == 25 and "Page 1 of 2" in page
    assert client.get("/transfers/?page=2").content.decode().count("/run/") == 2
    found = client.get("/transfers/?q=Transfer 03").content.decode()
    assert found.count("/run/") == 1


def test_transfer_detail_names_every_uid(alice: User, sim: SimulatedProfile) -> None:
    ous = sim.names("source", "organisationUnits")
    des = sim.names("source", "dataElements")
    dest_des = sim.names("destination", "dataElements")
    de, dest_de = sorted(des)[0], sorted(dest_des)[1]
    transfer = Transfer.objects.create(
        name="RCH", profile=sim.profile, data_set="qfltXPJW0EB", periods=["202401"],
        org_units=["DhdSa1PzDOh"],
    )  # fmt: skip
    transfer.mappings.create(source_data_element=de, target_data_element=dest_de)
    page = page_as(alice).get(f"/transfers/{transfer.pk}/").content.decode()
    assert f'title="UID DhdSa1PzDOh">{ous["DhdSa1PzDOh"]}<' in page
    assert f">{des[de]}<" in page and f">{dest_des[dest_de]}<" in page
    assert "RCH Monthly" in page and "January 2024" in page
    assert f">{de}<" not in page
