"""Completeness pages and admin: roles, the form's field errors, the results page (names,
heat map, charts, filters), marking from the page, downloads, admin actions."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from completeness.models import CompletenessAssessment, CompletenessRow
from connections.models import Instance
from jobs.models import Run
from simulator import Simulator
from tests.completeness.test_assess_simulator import OUS, RCH, expected_rows, facilities
from tests.conftest import PASSWORD

REGION = OUS["Northern Region"]
PERIODS = ["202404", "202405", "202406"]


def login(user) -> Client:
    client = Client()
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


def form_data(instance: Instance, **changes: str) -> dict[str, str]:
    data = {
        "instance": str(instance.pk),
        "data_set": RCH,
        "periods_text": " ".join(PERIODS),
        "relative_period": "",
        "org_units_text": REGION,
        "include_descendants": "on",
        "threshold": "80",
        "disaggregation": "any",
    }
    data.update(changes)
    return data


@pytest.fixture
def assessment(
    bob, instance: Instance, django_capture_on_commit_callbacks
) -> CompletenessAssessment:
    with django_capture_on_commit_callbacks(execute=True):
        response = login(bob).post("/completeness/new/", form_data(instance))
    assert response.status_code == 302, response.content.decode()[:2000]
    made = CompletenessAssessment.objects.get()
    assert response["Location"] == f"/completeness/{made.pk}/"
    assert made.run.status == Run.Status.SUCCEEDED, made.run.error
    return made


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("charlie", 403), ("bob", 200), ("alice", 200)]
)
def test_who_sees_the_pages(who: str, status: int, actors, instance: Instance) -> None:
    client = login(actors[who])
    assert client.get("/completeness/").status_code == status
    assert client.get("/completeness/new/").status_code == status


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"threshold": "150"}, "threshold", "between 0 and 100"),
        ({"periods_text": "2024Q2"}, "periods_text", "not Monthly periods"),
        ({"data_set": "zzzzzzzzzzz"}, "data_set", "does not exist"),
        ({"org_units_text": "zzzzzzzzzzz"}, "org_units_text", "do not exist on District HMIS"),
        ({"disaggregation": "most"}, "disaggregation", "Select a valid choice"),
    ],
)
def test_the_form_shows_field_errors_and_starts_nothing(
    bob, instance: Instance, changes: dict[str, str], field: str, text: str
) -> None:
    response = login(bob).post("/completeness/new/", form_data(instance, **changes))
    assert response.status_code == 200
    assert text in response.context["form"].errors[field][0]
    assert not CompletenessAssessment.objects.exists() and not Run.objects.exists()


def test_results_page_speaks_names_and_draws_the_figures(
    bob, sim: Simulator, assessment: CompletenessAssessment
) -> None:
    expected = expected_rows(sim, org_units=facilities(sim, REGION), periods=PERIODS, threshold=80)
    html = login(bob).get(f"/completeness/{assessment.pk}/").content.decode()
    names = {o["id"]: o["name"] for o in sim.metadata("organisationUnits")}
    de_names = {d["id"]: d["name"] for d in sim.metadata("dataElements")}
    assert f'title="{REGION}">{names[REGION]}</span>' in html  # the selection, by name
    # summary cards
    compliant = sum(w["compliant"] for w in expected.values())
    assert re.search(rf"Compliant</span><strong class=\"ok\">{compliant}</strong>", html)
    # heat map: one cell per (org unit, period), coloured by its compliance
    ou, pe = next((k for k, w in expected.items() if not w["no_data"]))
    score = expected[(ou, pe)]["compliance"]
    cls = "c10" if score == 100 else f"c{int(score // 10)}"
    assert f'<td class="{cls}" title="{names[ou]} · {pe}: {score} %' in html
    assert html.count('<td class="nd"') == sum(w["no_data"] for w in expected.values())
    # one chart per level (districts roll up, facilities are assessed)
    assert "<h3>Level 3" in html and "<h3>Level 4" in html and 'class="bar"' in html
    # missing elements by name in the expandable rows
    some = next(k for k, w in expected.items() if w["missing"])
    first_missing = expected[some]["missing"][0]
    assert f'title="{first_missing}">{de_names[first_missing]}</span>' in html

    only = login(bob).get(f"/completeness/{assessment.pk}/", {"status": "no_data"})
    rows = [item["row"] for item in only.context["table"]]
    assert rows and all(r.no_data for r in rows)
    assert only.context["page"].paginator.count == sum(w["no_data"] for w in expected.values())
    bad = login(bob).get(f"/completeness/{assessment.pk}/", {"status": "purple"})
    assert bad.status_code == 200 and "Choose one of" in bad.content.decode()


def test_marking_from_the_page_and_downloads(
    bob,
    charlie,
    sim: Simulator,
    assessment: CompletenessAssessment,
    django_capture_on_commit_callbacks,
) -> None:
    row = CompletenessRow.objects.filter(assessment=assessment, registered=False).first()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(bob).post(
            f"/completeness/{assessment.pk}/mark/",
            {"action": "complete", "row": [f"{row.org_unit}|{row.period}"]},
        )
    run = Run.objects.get(kind="completeness_mark")
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.stats["registered"] == 1 and run.started_by == bob
    assert (row.org_unit, row.period) in {
        (c["organisationUnit"], c["period"]) for c in sim.completions(RCH)
    }
    row.refresh_from_db()
    assert row.registered
    assert (
        login(charlie)
        .post(f"/completeness/{assessment.pk}/mark/", {"action": "complete", "compliant": "1"})
        .status_code
        == 403
    )

    xlsx = login(bob).get(f"/completeness/{assessment.pk}/export/", {"format": "xlsx"})
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert len(list(book["Rows"].iter_rows(min_row=2))) == assessment.rows.count()
    assert (
        login(bob).get(f"/completeness/{assessment.pk}/export/", {"format": "doc"}).status_code
        == 400
    )


def test_admin_is_read_only_with_run_again_and_export(
    alice, bob, assessment: CompletenessAssessment, django_capture_on_commit_callbacks
) -> None:
    url = "/admin/completeness/completenessassessment/"
    assert login(bob).get(url).status_code == 200
    assert login(alice).get(f"{url}add/").status_code == 403
    assert login(alice).get(f"{url}{assessment.pk}/change/").status_code == 200
    rows = login(alice).get(
        "/admin/completeness/completenessrow/", {"assessment__id__exact": assessment.pk}
    )
    assert rows.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = login(bob).post(
            url, {"action": "run_again", "_selected_action": [assessment.pk]}
        )
    assert response.status_code == 302
    runs = Run.objects.filter(kind="completeness_assessment").order_by("pk")
    assert runs.count() == 2 and runs.last().trigger == Run.Trigger.ADMIN
    assert runs.last().status == Run.Status.SUCCEEDED
    export = login(alice).post(url, {"action": "export_csv", "_selected_action": [assessment.pk]})
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0] == f"# assessment: {assessment.pk}"
    assert sum(1 for line in lines if not line.startswith("#")) == assessment.rows.count() + 1
