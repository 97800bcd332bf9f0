"""Schedule pages and admin: who sees what, the form with presets and preview, and the actions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django_q.models import Schedule as QSchedule

from jobs.models import Run, Schedule
from jobs.schedules import RUNNER
from tests.conftest import page_as
from transfers.models import Transfer


def form_data(transfer: Transfer, **changes: str) -> dict[str, str]:
    data = {
        "name": "Weekly HMIS",
        "job": f"transfer:{transfer.pk}",
        "cron": "0 3 * * 1",
        "timezone": "Africa/Nairobi",
        "enabled": "on",
        "max_consecutive_failures": "2",
        "notify_emails": "ops@example.org",
    }
    return {**data, **changes}


# --- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/schedules/", "/schedules/new/", "/schedules/1/"])
def test_schedule_pages_need_login(db, url: str) -> None:
    resp = page_as().get(url)
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")


def test_no_role_sees_nothing(charlie: User, nightly: Schedule) -> None:
    client = page_as(charlie)
    assert client.get("/schedules/").status_code == 403
    assert client.get(f"/schedules/{nightly.pk}/").status_code == 403
    assert client.post(f"/schedules/{nightly.pk}/run/").status_code == 403


def test_list_shows_status_next_run_and_last_result(
    bob: User,
    nightly: Schedule,
    fire,
) -> None:
    fire(nightly)
    page = page_as(bob).get("/schedules/").content.decode()
    assert "Nightly HMIS" in page and "At 02:00" in page
    assert 'class="badge status-succeeded">Active' in page
    assert nightly.next_run.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M") in page
    assert "Succeeded" in page and "Run now" in page
    assert "New schedule" not in page  # operators do not create schedules


def test_operator_can_run_now_but_not_change(
    bob: User, nightly: Schedule, django_capture_on_commit_callbacks
) -> None:
    client = page_as(bob)
    detail = client.get(f"/schedules/{nightly.pk}/").content.decode()
    assert "Run now" in detail and "Pause" not in detail and "Edit" not in detail
    assert client.get("/schedules/new/").status_code == 403
    assert client.get(f"/schedules/{nightly.pk}/edit/").status_code == 403
    for action in ("pause", "resume", "delete"):
        assert client.post(f"/schedules/{nightly.pk}/{action}/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(f"/schedules/{nightly.pk}/run/")
    run = Run.objects.get()
    assert resp.status_code == 302 and resp["Location"].endswith(f"/{run.pk}/")
    assert run.trigger == Run.Trigger.WEB and run.started_by == bob and run.schedule == nightly


def test_run_now_while_running_points_to_the_active_run(bob: User, nightly: Schedule) -> None:
    busy = Run.objects.create(
        kind="transfer", trigger="web", status="running", target=nightly.target
    )
    resp = page_as(bob).post(f"/schedules/{nightly.pk}/run/", follow=False)
    assert resp.status_code == 302 and resp["Location"].endswith(f"/{busy.pk}/")
    assert Run.objects.count() == 1


def test_admin_creates_a_schedule_from_the_form(alice: User, transfer: Transfer) -> None:
    client = page_as(alice)
    page = client.get("/schedules/new/").content.decode()
    assert 'data-preview-url="/api/v1/schedules/preview/"' in page
    for preset in ('data-cron="0 * * * *"', 'data-cron="0 2 * * *"', 'data-cron="0 2 * * 1"',
                   'data-cron="0 2 1 * *"'):  # fmt: skip
        assert preset in page
    assert f'value="transfer:{transfer.pk}"' in page and "Monthly RCH" in page

    resp = client.post("/schedules/new/", form_data(transfer))
    schedule = Schedule.objects.get(name="Weekly HMIS")
    assert resp.status_code == 302 and resp["Location"] == f"/schedules/{schedule.pk}/"
    assert (schedule.job_type, schedule.job_id) == ("transfer", transfer.pk)
    assert schedule.timezone == "Africa/Nairobi" and schedule.max_consecutive_failures == 2
    assert schedule.created_by == alice and schedule.status == Schedule.Status.ACTIVE
    assert QSchedule.objects.filter(func=RUNNER, args=repr(schedule.pk), repeats=1).exists()
    detail = client.get(resp["Location"]).content.decode()
    assert "At 03:00, only on Monday" in detail and "Next runs" in detail


def test_form_shows_a_clear_cron_error(alice: User, transfer: Transfer) -> None:
    resp = page_as(alice).post("/schedules/new/", form_data(transfer, cron="0 0 3 * * 1"))
    page = resp.content.decode()
    assert resp.status_code == 200 and not Schedule.objects.exists()
    assert "has 6 fields, not 5" in page and "minute hour day-of-month month day-of-week" in page


def test_form_refuses_a_missing_job(alice: User, transfer: Transfer) -> None:
    resp = page_as(alice).post("/schedules/new/", form_data(transfer, job="transfer:9999"))
    assert resp.status_code == 200 and not Schedule.objects.exists()
    assert "Select a valid choice. transfer:9999 is not one of the available choices." in (
        resp.content.decode()
    )


def test_admin_edits_pauses_resumes_and_deletes(alice: User, nightly: Schedule) -> None:
    client = page_as(alice)
    edit = client.get(f"/schedules/{nightly.pk}/edit/").content.decode()
    assert 'value="0 2 * * *"' in edit
    data = form_data(Transfer.objects.get(), name="Nightly HMIS", cron="30 1 * * *")
    assert client.post(f"/schedules/{nightly.pk}/edit/", data).status_code == 302
    nightly.refresh_from_db()
    assert nightly.cron == "30 1 * * *" and nightly.next_run is not None

    client.post(f"/schedules/{nightly.pk}/pause/")
    nightly.refresh_from_db()
    assert nightly.status == Schedule.Status.DISABLED and nightly.next_run is None
    assert "Resume" in client.get(f"/schedules/{nightly.pk}/").content.decode()
    client.post(f"/schedules/{nightly.pk}/resume/")
    nightly.refresh_from_db()
    assert nightly.status == Schedule.Status.ACTIVE and nightly.next_run is not None

    assert client.post(f"/schedules/{nightly.pk}/delete/").status_code == 302
    assert not Schedule.objects.exists() and not QSchedule.objects.filter(func=RUNNER).exists()


def test_history_shows_skipped_runs(bob: User, nightly: Schedule, fire) -> None:
    Run.objects.create(kind="transfer", trigger="web", status="running", target=nightly.target)
    fire(nightly)
    page = page_as(bob).get(f"/schedules/{nightly.pk}/").content.decode()
    assert ">Skipped</span>" in page and "of the same job was still running" in page


# --- admin -----------------------------------------------------------------------------------


def test_admin_lists_with_filters_and_shows_history(alice: User, nightly: Schedule, fire) -> None:
    fire(nightly)
    client = page_as(alice)
    page = client.get("/admin/jobs/schedule/?status=active&job_type=transfer").content.decode()
    assert "Nightly HMIS" in page and "at 02:00" in page
    assert "By job type" in page and "By status" in page
    assert "Pause selected schedules" in page and "Run selected schedules now" in page
    assert (
        "Nightly HMIS" not in client.get("/admin/jobs/schedule/?status=disabled").content.decode()
    )
    change = client.get(f"/admin/jobs/schedule/{nightly.pk}/change/").content.decode()
    assert "Execution history" in change and f"#{nightly.last_run_id}" in change


def test_admin_add_form_arms_the_schedule(alice: User, transfer: Transfer) -> None:
    add = page_as(alice).get("/admin/jobs/schedule/add/").content.decode()
    assert "What to run" in add and "Execution history" not in add
    resp = page_as(alice).post("/admin/jobs/schedule/add/", form_data(transfer))
    assert resp.status_code == 302, resp.content.decode()[:2000]
    schedule = Schedule.objects.get()
    assert schedule.q_schedule_id and schedule.next_run and schedule.created_by == alice


def test_admin_actions_pause_resume_and_run(
    alice: User, nightly: Schedule, django_capture_on_commit_callbacks
) -> None:
    client = page_as(alice)

    def act(action: str) -> None:
        client.post("/admin/jobs/schedule/", {"action": action, "_selected_action": [nightly.pk]})
        nightly.refresh_from_db()

    act("pause_schedules")
    assert nightly.status == Schedule.Status.DISABLED and nightly.q_schedule_id is None
    Schedule.objects.filter(pk=nightly.pk).update(consecutive_failures=4)
    act("resume_schedules")
    assert nightly.status == Schedule.Status.ACTIVE and nightly.consecutive_failures == 0
    with django_capture_on_commit_callbacks(execute=True):
        act("run_schedules_now")
    run = Run.objects.get()
    assert run.trigger == Run.Trigger.ADMIN and run.started_by == alice
    assert run.status == Run.Status.SUCCEEDED and mail.outbox == []


def test_operator_in_admin_can_only_view_and_run(bob: User, nightly: Schedule) -> None:
    client = page_as(bob)
    page = client.get("/admin/jobs/schedule/").content.decode()
    assert "Run selected schedules now" in page
    assert "Pause selected schedules" not in page and "Resume selected" not in page
    view = client.get(f"/admin/jobs/schedule/{nightly.pk}/change/")
    assert (
        view.status_code == 200 and "Aggregate data transfer: Monthly RCH" in view.content.decode()
    )
    client.post(
        "/admin/jobs/schedule/", {"action": "pause_schedules", "_selected_action": [nightly.pk]}
    )
    nightly.refresh_from_db()
    assert nightly.status == Schedule.Status.ACTIVE
    assert client.get("/admin/jobs/schedule/add/").status_code == 403
