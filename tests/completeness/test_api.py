"""The completeness API: contract, role matrix, validation, the task through the real run path
(django-q2 sync mode) against the in-process simulator, results, exports and marking.

Expected rows come from the simulator's own database (`expected_rows`), never from the code
under test."""

from __future__ import annotations

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
import respx
from openpyxl import load_workbook

from completeness.models import CompletenessAssessment, CompletenessRow
from connections.models import Instance
from jobs.models import Run
from simulator import Simulator
from tests.completeness.test_assess_simulator import OUS, RCH, expected_rows, facilities
from tests.conftest import (
    ADMINS,
    ALICE,
    BOB,
    CHARLIE,
    READERS,
    api_as,
    expected_status,
    instance_with_secret,
)

URL = "/api/v1/completeness-assessments/"
REGION = OUS["Northern Region"]
PERIODS = ["202404", "202405", "202406"]  # LAST_3_MONTHS on the simulator's 2024-07-15


def body(saved: Instance, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "instance": saved.pk,
        "data_set": RCH,
        "relative_period": "LAST_3_MONTHS",
        "org_units": [REGION],
        "include_descendants": True,
        "threshold": 80,
        "disaggregation": "any",
    }
    data.update(changes)
    return data


def start(user, instance: Instance, capture, **changes: Any) -> tuple[CompletenessAssessment, Run]:
    with capture(execute=True):
        response = api_as(user).post(URL, body(instance, **changes), format="json")
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"id", "run"}
    assessment = CompletenessAssessment.objects.get(pk=response.json()["id"])
    run = Run.objects.get(pk=response.json()["run"])
    assert assessment.run_id == run.pk
    return assessment, run


def want(sim: Simulator, threshold: float = 80) -> dict[tuple[str, str], dict[str, Any]]:
    return expected_rows(
        sim, org_units=facilities(sim, REGION), periods=PERIODS, threshold=threshold
    )


def all_rows(user, assessment_id: int, **params: Any) -> list[dict[str, Any]]:
    out, page = [], 1
    while True:
        r = api_as(user).get(
            f"{URL}{assessment_id}/results/", {**params, "page": page, "page_size": 500}
        )
        assert r.status_code == 200, r.content
        out.extend(r.json()["results"])
        if not r.json()["next"]:
            return out
        page += 1


# ---- role matrix -----------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["anonymous", CHARLIE, BOB, ALICE])
def test_who_may_start_an_assessment(
    actor: str, actors, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(actors[actor]).post(URL, body(instance), format="json")
    assert response.status_code == expected_status(actor, READERS, 201)
    assert CompletenessAssessment.objects.count() == (1 if actor in READERS else 0)
    if actor in READERS:
        run = Run.objects.get(pk=response.json()["run"])
        assert run.kind == "completeness_assessment"
        assert run.started_by == actors[actor]
        assert run.status == Run.Status.SUCCEEDED, run.error


@pytest.mark.parametrize("actor", ["anonymous", CHARLIE, BOB, ALICE])
def test_who_may_read_export_mark_and_delete(
    actor: str, actors, alice, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(alice, instance, django_capture_on_commit_callbacks)
    client = api_as(actors[actor])
    base = f"{URL}{assessment.pk}/"
    assert client.get(URL).status_code == expected_status(actor, READERS, 200)
    assert client.get(base).status_code == expected_status(actor, READERS, 200)
    assert client.get(f"{base}results/").status_code == expected_status(actor, READERS, 200)
    assert client.get(f"{base}export/?format=json").status_code == expected_status(
        actor, READERS, 200
    )
    row = CompletenessRow.objects.filter(assessment=assessment).first()
    mark = {"action": "complete", "rows": [{"org_unit": row.org_unit, "period": row.period}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{base}mark/", mark, format="json")
    assert response.status_code == expected_status(actor, READERS, 202)
    assert client.delete(base).status_code == expected_status(actor, ADMINS, 204)


# ---- the run and its figures -------------------------------------------------------------


def test_an_assessment_runs_and_every_row_matches_the_simulator(
    bob, sim: Simulator, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, run = start(bob, instance, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    expected = want(sim)
    rows = all_rows(bob, assessment.pk)
    got = {
        (r["org_unit"], r["period"]): {
            k: r[k] for k in ("present", "missing", "compliance", "compliant", "registered")
        }
        for r in rows
    }
    assert got == {
        key: {k: w[k] for k in ("present", "missing", "compliance", "compliant", "registered")}
        for key, w in expected.items()
    }
    detail = api_as(bob).get(f"{URL}{assessment.pk}/").json()
    total = sum(Decimal(str(w["compliance"])) for w in expected.values())
    summary = {
        "assessed": len(expected),
        "compliant": sum(w["compliant"] for w in expected.values()),
        "no_data": sum(w["no_data"] for w in expected.values()),
        "registered": sum(w["registered"] for w in expected.values()),
        "average_compliance": float(
            (total / len(expected)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        ),
    }
    summary["non_compliant"] = summary["assessed"] - summary["compliant"] - summary["no_data"]
    assert {k: detail[k] for k in summary} == summary
    assert summary["compliant"] and summary["non_compliant"] and summary["no_data"]
    assert detail["run"] == run.pk
    assert detail["relative_period"] == "LAST_3_MONTHS" and detail["threshold"] == 80
    assert detail["resolved_periods"] == PERIODS
    assert detail["data_set_name"] == "RCH Monthly"
    names = {de["id"]: de["name"] for de in sim.metadata("dataElements")}
    assert detail["element_names"] == {de: names[de] for de in sim.state.derived.ds_des[RCH]}
    assert run.stats["assessed"] == summary["assessed"]
    assert run.started_by == bob


def test_run_again_replaces_the_rows_and_a_second_start_while_queued_is_409(
    alice, sim: Simulator, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(alice, instance, django_capture_on_commit_callbacks)
    count = CompletenessRow.objects.filter(assessment=assessment).count()
    first = api_as(alice).post(f"{URL}{assessment.pk}/run/")  # queued: no on_commit here
    assert first.status_code == 202
    again = api_as(alice).post(f"{URL}{assessment.pk}/run/")
    assert again.status_code == 409
    assert again.json()["run"] == again.json()["active_run"] == first.json()["run"]
    Run.objects.filter(pk=first.json()["run"]).update(status=Run.Status.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        third = api_as(alice).post(f"{URL}{assessment.pk}/run/")
    assert Run.objects.get(pk=third.json()["run"]).status == Run.Status.SUCCEEDED
    assert CompletenessRow.objects.filter(assessment=assessment).count() == count


# ---- validation: field errors, no run ------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"data_set": "zzzzzzzzzzz"}, "data_set"),
        ({"data_set": "not a uid"}, "data_set"),
        ({"relative_period": None, "periods": ["2024Q1"]}, "periods"),
        ({"relative_period": None, "periods": ["2024W01"]}, "periods"),
        ({"relative_period": "LAST_FORTNIGHT"}, "relative_period"),
        ({"relative_period": "LAST_N"}, "relative_count"),
        ({"relative_period": None}, "periods"),
        ({"periods": ["202401"]}, "periods"),  # both explicit and relative
        ({"threshold": 101}, "threshold"),
        ({"threshold": -1}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"org_units": ["zzzzzzzzzzz"]}, "org_units"),
        ({"org_units": []}, "org_units"),
        ({"org_units": "Northern"}, "org_units"),
        ({"disaggregation": "some"}, "disaggregation"),
        ({"required_data_elements": ["zzzzzzzzzzz"]}, "required_data_elements"),
        ({"level": 0}, "level"),
        ({"level": 3, "include_descendants": False}, "level"),
        ({"instance": 9999}, "instance"),
    ],
)
def test_bad_input_is_a_field_error_and_starts_nothing(
    alice, instance: Instance, changes: dict[str, Any], field: str
) -> None:
    response = api_as(alice).post(URL, body(instance, **changes), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not CompletenessAssessment.objects.exists()
    assert not Run.objects.exists()


@pytest.fixture
def down(db) -> Instance:
    """A saved instance whose server never answers (the tests route it to a refusal)."""
    return instance_with_secret("Down HMIS", "http://down.dhis2.test", username="a", password="b")


def test_an_unreachable_dhis2_is_an_instance_error(alice, down: Instance) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="down.dhis2.test").mock(side_effect=httpx.ConnectError("refused"))
        response = api_as(alice).post(URL, body(down), format="json")
    assert response.status_code == 400
    assert "Down HMIS" in response.json()["instance"][0]
    assert not Run.objects.exists()


def test_a_period_id_of_no_period_type_is_said_before_asking_dhis2(alice, down: Instance) -> None:
    """The instance is down, but "2024-13" is no period anywhere: the user hears about the
    period (which they can fix) rather than only about the server."""
    with respx.mock(assert_all_called=False) as router:
        route = router.route(host="down.dhis2.test").mock(side_effect=httpx.ConnectError("x"))
        response = api_as(alice).post(
            URL,
            body(down, periods=["202401", "2024-13", "soon"], relative_period=""),
            format="json",
        )
    assert response.status_code == 400
    assert response.json()["periods"] == ["Not DHIS2 period ids: 2024-13, soon."]
    assert not route.called
    assert not Run.objects.exists()


# ---- results ---------------------------------------------------------------------------


def test_results_filter_order_search_and_page(
    bob, sim: Simulator, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(bob, instance, django_capture_on_commit_callbacks)
    expected = want(sim)
    results = f"{URL}{assessment.pk}/results/"
    for status, pick in [
        ("compliant", lambda w: w["compliant"]),
        ("non_compliant", lambda w: not w["compliant"] and not w["no_data"]),
        ("no_data", lambda w: w["no_data"]),
    ]:
        rows = all_rows(bob, assessment.pk, status=status)
        assert {(r["org_unit"], r["period"]) for r in rows} == {
            key for key, w in expected.items() if pick(w)
        }
    ordered = all_rows(bob, assessment.pk, ordering="compliance")
    assert [r["compliance"] for r in ordered] == sorted(w["compliance"] for w in expected.values())
    reverse = all_rows(bob, assessment.pk, ordering="-compliance")
    assert [r["compliance"] for r in reverse] == sorted(
        (w["compliance"] for w in expected.values()), reverse=True
    )
    name_of = {o["id"]: o["name"] for o in sim.metadata("organisationUnits")}
    some = facilities(sim, REGION)[0]
    found = all_rows(bob, assessment.pk, search=name_of[some][2:-2].lower())
    assert (some, "202405") in {(r["org_unit"], r["period"]) for r in found}
    assert all(name_of[some][2:-2].lower() in r["org_unit_name"].lower() for r in found)
    level = sim.state.objects["organisationUnits"][some]["level"]
    assert len(all_rows(bob, assessment.pk, level=level)) == sum(
        1 for ou, _ in expected if sim.state.objects["organisationUnits"][ou]["level"] == level
    )
    assert all_rows(bob, assessment.pk, level=level + 5) == []

    page1 = api_as(bob).get(results, {"page_size": 7}).json()
    page2 = api_as(bob).get(results, {"page_size": 7, "page": 2}).json()
    assert page1["count"] == len(expected) and len(page1["results"]) == 7
    assert not {(r["org_unit"], r["period"]) for r in page1["results"]} & {
        (r["org_unit"], r["period"]) for r in page2["results"]
    }
    assert set(page1["results"][0]) == {
        "org_unit", "org_unit_name", "level", "period", "present", "missing", "compliance",
        "compliant", "no_data", "registered",
    }  # fmt: skip
    big = api_as(bob).get(results, {"page_size": 10000}).json()
    assert len(big["results"]) == min(500, len(expected))
    for bad in ({"status": "green"}, {"ordering": "path; drop"}, {"level": "two"}):
        response = api_as(bob).get(results, bad)
        assert response.status_code == 400 and set(bad) <= set(response.json())


# ---- exports ---------------------------------------------------------------------------


def _csv(content: bytes) -> tuple[dict[str, str], list[dict[str, str]]]:
    lines = content.decode().splitlines()
    header = [line for line in lines if line.startswith("# ")]
    params = dict(line[2:].split(": ", 1) for line in header)
    return params, list(csv.DictReader(io.StringIO("\n".join(lines[len(header) :]))))


def test_exports_hold_the_same_numbers_as_the_rows(
    bob, sim: Simulator, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(bob, instance, django_capture_on_commit_callbacks)
    expected = want(sim)
    names = {de["id"]: de["name"] for de in sim.metadata("dataElements")}
    base = f"{URL}{assessment.pk}/export/"
    n_missing = sum(len(w["missing"]) for w in expected.values())

    response = api_as(bob).get(base, {"format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    params, rows = _csv(b"".join(response.streaming_content))
    assert params["data_set"] == RCH and params["threshold"] == "80.0"
    assert params["periods"] == " ".join(PERIODS)
    assert params["assessed"] == str(len(expected))
    assert {(r["org_unit"], r["period"]): float(r["compliance"]) for r in rows} == {
        k: w["compliance"] for k, w in expected.items()
    }
    some = next(k for k, w in expected.items() if w["missing"])
    line = next(r for r in rows if (r["org_unit"], r["period"]) == some)
    assert line["missing_names"] == "; ".join(names[de] for de in expected[some]["missing"])

    response = api_as(bob).get(base, {"format": "csv", "part": "missing"})
    _, missing = _csv(b"".join(response.streaming_content))
    assert len(missing) == n_missing
    assert {(m["org_unit"], m["period"], m["data_element"]) for m in missing} == {
        (*k, de) for k, w in expected.items() for de in w["missing"]
    }

    doc = api_as(bob).get(base, {"format": "json"}).json()
    assert doc["summary"]["assessed"] == len(expected)
    assert doc["parameters"]["relative_period"] == "LAST_3_MONTHS"
    assert {(r["org_unit"], r["period"]): r["missing"] for r in doc["rows"]} == {
        k: w["missing"] for k, w in expected.items()
    }

    response = api_as(bob).get(base, {"format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["Parameters", "Rows", "Missing elements"]
    sheet_params = {r[0]: r[1] for r in book["Parameters"].iter_rows(min_row=2, values_only=True)}
    assert sheet_params["compliant"] == sum(w["compliant"] for w in expected.values())
    assert sheet_params["data_set_name"] == "RCH Monthly"
    header, *data = list(book["Rows"].iter_rows(values_only=True))
    got = {(r[0], r[3]): dict(zip(header, r, strict=True)) for r in data}
    assert {k: (v["compliance"], v["compliant"], v["registered"]) for k, v in got.items()} == {
        k: (w["compliance"], w["compliant"], w["registered"]) for k, w in expected.items()
    }
    assert len(list(book["Missing elements"].iter_rows(min_row=2))) == n_missing

    filtered = api_as(bob).get(base, {"format": "json", "status": "no_data"}).json()
    assert len(filtered["rows"]) == sum(w["no_data"] for w in expected.values())
    pdf = api_as(bob).get(base, {"format": "pdf"})
    assert pdf.status_code == 400 and "format" in pdf.json(), pdf.content


# ---- marking ---------------------------------------------------------------------------


def registrations(sim: Simulator) -> set[tuple[str, str]]:
    return {
        (c["organisationUnit"], c["period"])
        for c in sim.completions(RCH)
        if c.get("completed", True)
    }


def mark(user, assessment: CompletenessAssessment, capture, payload: dict) -> Run:
    with capture(execute=True):
        response = api_as(user).post(f"{URL}{assessment.pk}/mark/", payload, format="json")
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"run"}
    return Run.objects.get(pk=response.json()["run"])


def test_marking_registers_exactly_what_was_asked_and_again_reports_already(
    bob, sim: Simulator, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(bob, instance, django_capture_on_commit_callbacks)
    expected = want(sim)
    before = registrations(sim)
    chosen = sorted(k for k, w in expected.items() if not w["registered"])[:4]
    payload = {"action": "complete", "rows": [{"org_unit": o, "period": p} for o, p in chosen]}

    first = mark(bob, assessment, django_capture_on_commit_callbacks, payload)
    assert first.status == Run.Status.SUCCEEDED, first.error
    assert first.kind == "completeness_mark" and first.started_by == bob
    counts = ("registered", "already_registered", "unregistered", "failed")
    assert {k: first.stats[k] for k in counts} == {
        "registered": 4,
        "already_registered": 0,
        "unregistered": 0,
        "failed": 0,
    }
    assert registrations(sim) == before | set(chosen)
    flags = dict(
        ((r.org_unit, r.period), r.registered)
        for r in CompletenessRow.objects.filter(assessment=assessment)
    )
    assert all(flags[k] for k in chosen)
    assessment.refresh_from_db()
    assert assessment.registered == sum(w["registered"] for w in expected.values()) + 4

    second = mark(bob, assessment, django_capture_on_commit_callbacks, payload)
    assert second.stats["already_registered"] == 4 and second.stats["registered"] == 0
    assert registrations(sim) == before | set(chosen)

    undo = mark(
        bob, assessment, django_capture_on_commit_callbacks, {**payload, "action": "incomplete"}
    )
    assert undo.stats["unregistered"] == 4
    assert registrations(sim) == before
    assert not any(
        CompletenessRow.objects.filter(assessment=assessment, org_unit=o, period=p)
        .values_list("registered", flat=True)
        .get()
        for o, p in chosen
    )


def test_marking_every_compliant_row(
    alice, sim: Simulator, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(alice, instance, django_capture_on_commit_callbacks)
    expected = want(sim)
    compliant = {k for k, w in expected.items() if w["compliant"]}
    already = {k for k in compliant if expected[k]["registered"]}
    run = mark(alice, assessment, django_capture_on_commit_callbacks, {"action": "complete",
                                                                        "compliant": True})  # fmt: skip
    assert run.stats["registered"] == len(compliant - already)
    assert run.stats["already_registered"] == len(already)
    assert compliant <= registrations(sim)
    assert run.params == {"assessment_id": assessment.pk, "action": "complete", "compliant": True}
    assert CompletenessRow.objects.filter(
        assessment=assessment, compliant=True, registered=True
    ).count() == len(compliant)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"action": "finish", "compliant": True}, "action"),
        ({"action": "complete"}, "rows"),
        ({"action": "complete", "rows": [{"org_unit": "zzzzzzzzzzz", "period": "202405"}]}, "rows"),
        ({"action": "complete", "rows": "all"}, "rows"),
        ({"action": "complete", "rows": [{"org_unit": "x"}]}, "rows"),
    ],
)
def test_bad_marking_requests_are_field_errors(
    alice, instance: Instance, django_capture_on_commit_callbacks, payload: dict, field: str
) -> None:
    assessment, _ = start(alice, instance, django_capture_on_commit_callbacks)
    response = api_as(alice).post(f"{URL}{assessment.pk}/mark/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Run.objects.filter(kind="completeness_mark").exists()


def test_a_second_marking_while_one_is_queued_is_409(
    bob, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(bob, instance, django_capture_on_commit_callbacks)
    payload = {"action": "complete", "compliant": True}
    first = api_as(bob).post(f"{URL}{assessment.pk}/mark/", payload, format="json")
    second = api_as(bob).post(f"{URL}{assessment.pk}/mark/", payload, format="json")
    assert first.status_code == 202 and second.status_code == 409
    assert second.json()["active_run"] == first.json()["run"]
    json.dumps(second.json())


def test_a_partly_refused_marking_is_a_warning_with_dhis2s_messages(
    bob, sim: Simulator, instance: Instance, django_capture_on_commit_callbacks
) -> None:
    assessment, _ = start(bob, instance, django_capture_on_commit_callbacks)
    expected = want(sim)
    open_rows = sorted(k for k, w in expected.items() if not w["registered"])
    locked = [k for k in open_rows if k[1] == "202404"][:2]
    fine = [k for k in open_rows if k[1] == "202405"][:2]
    assert len(locked) == len(fine) == 2
    sim.lock_period(RCH, "202404")  # DHIS2 refuses registrations of an expired period
    before = registrations(sim)
    payload = {
        "action": "complete",
        "rows": [{"org_unit": o, "period": p} for o, p in locked + fine],
    }
    run = mark(bob, assessment, django_capture_on_commit_callbacks, payload)
    assert run.status == Run.Status.WARNING, run.error
    assert (run.stats["registered"], run.stats["failed"]) == (2, 2)
    assert run.stats["messages"]  # DHIS2's conflict text, as it said it
    assert registrations(sim) == before | set(fine)
    flags = {
        (r.org_unit, r.period): r.registered
        for r in CompletenessRow.objects.filter(assessment=assessment)
    }
    assert [flags[k] for k in locked + fine] == [False, False, True, True]
    assert any(e.level == "warning" and "DHIS2:" in e.message for e in run.log_entries.all())
