"""/api/v1/schedules/: the contract (fields, preview, resume, run), validation and the role matrix."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django_q.models import Schedule as QSchedule

from jobs.models import Run, Schedule
from jobs.schedules import RUNNER
from tests.conftest import ADMINS, ALICE, ANON, BOB, CHARLIE, READERS, api_as, expected_status
from transfers.models import Transfer

CONTRACT_FIELDS = {
    "id", "name", "job_type", "job_id", "cron", "timezone", "enabled", "status",
    "consecutive_failures", "max_consecutive_failures", "notify_emails", "next_run", "last_run",
}  # fmt: skip


def body(transfer: Transfer, **changes) -> dict:
    return {
        "name": "Weekly HMIS",
        "job_type": "transfer",
        "job_id": transfer.pk,
        "cron": "0 3 * * 1",
        "timezone": "Africa/Nairobi",
        **changes,
    }


@pytest.mark.parametrize("actor", [ANON, CHARLIE, BOB, ALICE])
class TestMatrix:
    def test_list(self, actors, actor, nightly) -> None:
        resp = api_as(actors[actor]).get("/api/v1/schedules/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_retrieve(self, actors, actor, nightly) -> None:
        resp = api_as(actors[actor]).get(f"/api/v1/schedules/{nightly.pk}/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_preview(self, actors, actor) -> None:
        resp = api_as(actors[actor]).get("/api/v1/schedules/preview/", {"cron": "0 2 * * *"})
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_create(self, actors, actor, transfer) -> None:
        resp = api_as(actors[actor]).post("/api/v1/schedules/", body(transfer), format="json")
        assert resp.status_code == expected_status(actor, ADMINS, 201)
        assert Schedule.objects.filter(name="Weekly HMIS").exists() == (actor == ALICE)

    def test_change(self, actors, actor, nightly) -> None:
        resp = api_as(actors[actor]).patch(
            f"/api/v1/schedules/{nightly.pk}/", {"cron": "0 4 * * *"}, format="json"
        )
        assert resp.status_code == expected_status(actor, ADMINS, 200)
        nightly.refresh_from_db()
        assert (nightly.cron == "0 4 * * *") == (actor == ALICE)

    def test_delete(self, actors, actor, nightly) -> None:
        resp = api_as(actors[actor]).delete(f"/api/v1/schedules/{nightly.pk}/")
        assert resp.status_code == expected_status(actor, ADMINS, 204)
        assert Schedule.objects.exists() == (actor != ALICE)

    def test_pause(self, actors, actor, nightly) -> None:
        resp = api_as(actors[actor]).post(f"/api/v1/schedules/{nightly.pk}/pause/")
        assert resp.status_code == expected_status(actor, ADMINS, 200)

    def test_resume(self, actors, actor, nightly) -> None:
        Schedule.objects.filter(pk=nightly.pk).update(
            status=Schedule.Status.PAUSED_BY_FAILURES, consecutive_failures=3
        )
        resp = api_as(actors[actor]).post(f"/api/v1/schedules/{nightly.pk}/resume/")
        assert resp.status_code == expected_status(actor, ADMINS, 200)
        nightly.refresh_from_db()
        assert (nightly.status == Schedule.Status.ACTIVE) == (actor == ALICE)

    def test_run_now(self, actors, actor, nightly) -> None:
        resp = api_as(actors[actor]).post(f"/api/v1/schedules/{nightly.pk}/run/")
        assert resp.status_code == expected_status(actor, READERS, 202)
        assert Run.objects.exists() == (actor in READERS)


# --- the contract ----------------------------------------------------------------------------


def test_create_returns_the_contract_fields_and_arms_django_q(
    alice: User, transfer: Transfer
) -> None:
    resp = api_as(alice).post(
        "/api/v1/schedules/",
        body(transfer, notify_emails="ops@example.org, me@example.org"),
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    data = resp.json()
    assert set(data) >= CONTRACT_FIELDS
    assert data["job_type"] == "transfer" and data["job_id"] == transfer.pk
    assert data["status"] == "active" and data["enabled"] is True
    assert data["consecutive_failures"] == 0 and data["max_consecutive_failures"] == 3
    assert data["notify_emails"] == ["ops@example.org", "me@example.org"]
    assert data["description"] == "at 03:00, only on Monday"
    assert data["next_run"] and data["last_run"] is None
    assert QSchedule.objects.filter(func=RUNNER, args=repr(data["id"]), repeats=1).exists()


def test_timezone_defaults_to_the_setting(alice: User, transfer: Transfer, settings) -> None:
    settings.TIME_ZONE = "Africa/Kampala"
    data = body(transfer)
    del data["timezone"]
    resp = api_as(alice).post("/api/v1/schedules/", data, format="json")
    assert resp.status_code == 201 and resp.json()["timezone"] == "Africa/Kampala"


def test_notify_emails_accepts_a_list(alice: User, nightly: Schedule) -> None:
    resp = api_as(alice).patch(
        f"/api/v1/schedules/{nightly.pk}/", {"notify_emails": ["a@example.org"]}, format="json"
    )
    assert resp.json()["notify_emails"] == ["a@example.org"]
    nightly.refresh_from_db()
    assert nightly.notify_emails == "a@example.org"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"cron": "0 0 3 * * 1"}, "cron", "has 6 fields, not 5"),
        ({"cron": "0 3 * * 8"}, "cron", 'the day-of-week field "8" is not valid'),
        ({"timezone": "Moon/Base"}, "timezone", "not a time zone"),
        ({"job_type": "completeness"}, "job_type", "not a job type that can be scheduled"),
        ({"job_type": "bogus"}, "job_type", "use one of: "),
        ({"job_id": 9999}, "job_id", "There is no aggregate data transfer with id 9999."),
        ({"notify_emails": "ops@example.org, nope"}, "notify_emails", '"nope" is not an e-mail'),
        ({"max_consecutive_failures": 0}, "max_consecutive_failures", "greater than or equal to 1"),
    ],
)
def test_invalid_schedule_is_400_with_a_field_error(
    alice: User, transfer: Transfer, changes: dict, field: str, message: str
) -> None:
    resp = api_as(alice).post("/api/v1/schedules/", body(transfer, **changes), format="json")
    assert resp.status_code == 400
    errors = resp.json()
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not Schedule.objects.exists()


def test_cron_error_shows_the_accepted_form(alice: User, transfer: Transfer) -> None:
    resp = api_as(alice).post(
        "/api/v1/schedules/", body(transfer, cron="*/5 * * * * *"), format="json"
    )
    assert "minute hour day-of-month month day-of-week" in resp.json()["cron"][0]


def test_the_status_is_not_writable(alice: User, nightly: Schedule) -> None:
    api_as(alice).patch(
        f"/api/v1/schedules/{nightly.pk}/",
        {"status": "paused_by_failures", "consecutive_failures": 9},
        format="json",
    )
    nightly.refresh_from_db()
    assert nightly.status == "active" and nightly.consecutive_failures == 0


def test_disabling_through_the_api(alice: User, nightly: Schedule) -> None:
    data = (
        api_as(alice)
        .patch(f"/api/v1/schedules/{nightly.pk}/", {"enabled": False}, format="json")
        .json()
    )
    assert data["status"] == "disabled" and data["next_run"] is None


def test_filter_by_status(bob: User, nightly: Schedule) -> None:
    client = api_as(bob)
    assert client.get("/api/v1/schedules/?status=active").json()["count"] == 1
    assert client.get("/api/v1/schedules/?status=paused_by_failures").json()["count"] == 0


# --- preview ---------------------------------------------------------------------------------


def test_preview_returns_description_and_next_runs_in_the_zone(bob: User) -> None:
    resp = api_as(bob).get(
        "/api/v1/schedules/preview/", {"cron": " 30  2 * * * ", "timezone": "Europe/Berlin"}
    )
    assert resp.status_code == 200
    data = resp.json()
    assert data["cron"] == "30 2 * * *"
    assert data["description"] == "at 02:30"
    assert data["timezone"] == "Europe/Berlin"
    assert len(data["next_runs"]) == 5
    assert all(t[11:16] in ("02:30", "03:00") for t in data["next_runs"])
    assert all(t.endswith(("+01:00", "+02:00")) for t in data["next_runs"])


def test_preview_count(bob: User) -> None:
    resp = api_as(bob).get("/api/v1/schedules/preview/", {"cron": "* * * * *", "count": 12})
    assert len(resp.json()["next_runs"]) == 12


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cron": "0 0 2 * * *"}, "cron"),
        ({}, "cron"),
        ({"cron": "0 2 * * *", "timezone": "Atlantis"}, "timezone"),
        ({"cron": "0 2 * * *", "count": "many"}, "count"),
    ],
)
def test_preview_errors_are_400(bob: User, params: dict, field: str) -> None:
    resp = api_as(bob).get("/api/v1/schedules/preview/", params)
    assert resp.status_code == 400 and field in resp.json()


# --- actions ---------------------------------------------------------------------------------


def test_resume_clears_the_counter(alice: User, nightly: Schedule) -> None:
    Schedule.objects.filter(pk=nightly.pk).update(
        status=Schedule.Status.PAUSED_BY_FAILURES, consecutive_failures=3, next_run=None
    )
    data = api_as(alice).post(f"/api/v1/schedules/{nightly.pk}/resume/").json()
    assert data["status"] == "active" and data["consecutive_failures"] == 0
    assert data["next_run"]


def test_run_now_returns_the_run_and_409_while_it_is_active(
    bob: User, nightly: Schedule, transfer: Transfer
) -> None:
    client = api_as(bob)
    resp = client.post(f"/api/v1/schedules/{nightly.pk}/run/")
    assert resp.status_code == 202
    run = resp.json()
    assert run["trigger"] == "api" and run["schedule"] == nightly.pk
    assert run["target"] == f"transfer:{transfer.pk}" and run["started_by"] == "bob"
    again = client.post(f"/api/v1/schedules/{nightly.pk}/run/")
    assert again.status_code == 409 and again.json()["active_run"] == run["id"]
    nightly.refresh_from_db()
    assert nightly.last_run_id == run["id"]
    detail = client.get(f"/api/v1/schedules/{nightly.pk}/").json()
    assert detail["last_run"] == run["id"] == run["run"]
    assert detail["last_run_detail"]["status"] == "queued"
    assert client.get(f"/api/v1/runs/?schedule={nightly.pk}").json()["count"] == 1


def test_run_now_of_a_deleted_job_is_409(alice: User, nightly: Schedule, transfer) -> None:
    transfer.delete()
    resp = api_as(alice).post(f"/api/v1/schedules/{nightly.pk}/run/")
    assert resp.status_code == 409 and "no longer exists" in resp.json()["detail"]


def test_schedules_are_in_the_openapi_schema(alice: User) -> None:
    resp = api_as(alice).get("/api/schema/")
    assert resp.status_code == 200
    text = resp.content.decode()
    assert "/api/v1/schedules/preview/" in text and "/api/v1/schedules/{id}/resume/" in text
