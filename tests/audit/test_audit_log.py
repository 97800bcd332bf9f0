"""The audit log: who created, changed or deleted configuration, and who launched or cancelled
runs, with field names but never a secret, read through the admin-only API."""

from __future__ import annotations

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from connections.models import ConnectionProfile, Instance
from jobs import schedules
from jobs.models import Run, Schedule
from jobs.services import launch, request_cancel
from tests.conftest import (
    ALICE,
    BOB,
    CHARLIE,
    api_as,
    district_body,
    expected_status,
    transfer_schedule,
)
from transfers.models import Transfer
from transfers.services import save_transfer

NEW_PASSWORD = "Rotated-Pa55word-xyz"


def token_client(user: User) -> APIClient:
    """An API client that authenticates like a script does (not force_authenticate), so the
    audit middleware has to find the user from the token itself."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def entries_for(obj, pk: int | None = None) -> list[LogEntry]:
    """The entries of one object, oldest first (`pk` for an object deleted since)."""
    return list(
        LogEntry.objects.filter(
            content_type__model=obj._meta.model_name, object_pk=str(pk or obj.pk)
        ).order_by("timestamp", "id")
    )


def raw_audit_table() -> str:
    """Every column of every audit row as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {LogEntry._meta.db_table}")  # noqa: S608 (our table name)
        return repr(cursor.fetchall())


def test_instance_create_change_delete_are_logged_without_secrets(alice: User) -> None:
    client = token_client(alice)
    created = client.post("/api/v1/instances/", district_body("First-Secret-123"), format="json")
    assert created.status_code == 201, created.content
    instance = Instance.objects.get(name="District")
    first_cipher = instance.password_encrypted
    changed = client.patch(
        f"/api/v1/instances/{instance.pk}/",
        {"password": NEW_PASSWORD, "timeout_seconds": 30},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    instance.refresh_from_db()
    second_cipher = instance.password_encrypted
    assert client.delete(f"/api/v1/instances/{instance.pk}/").status_code == 204

    create, change, delete = entries_for(instance)
    assert [e.action for e in (create, change, delete)] == [
        LogEntry.Action.CREATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.DELETE,
    ]
    assert {create.actor, change.actor, delete.actor} == {alice}
    assert set(change.changes) == {"password_encrypted", "timeout_seconds"}
    assert change.changes["password_encrypted"] == ["[secret]", "[secret]"]
    assert change.changes["timeout_seconds"] == [60, 30]

    # The API names the secret field by its plain name.
    listed = api_as(alice).get(f"/api/v1/audit/?target=instance:{instance.pk}&action=changed")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert sorted(row["fields"]) == ["password", "timeout_seconds"]
    assert row["actor"] == "alice"
    assert row["target"] == {"type": "instance", "id": str(instance.pk), "name": "District"}

    table = raw_audit_table()
    for secret in ("First-Secret-123", NEW_PASSWORD, first_cipher, second_cipher):
        assert secret not in table
    # Not even a fragment of the ciphertext (auditlog's default mask keeps half of it).
    assert first_cipher[-20:] not in table and second_cipher[-20:] not in table


def test_connection_test_results_are_not_changes(alice: User, source_instance: Instance) -> None:
    """A connection test rewrites version and check fields: no one changed the configuration."""
    source_instance.version = "2.40.4"
    source_instance.last_check_ok = True
    source_instance.save()
    assert [e.action for e in entries_for(source_instance)] == [LogEntry.Action.CREATE]


def _transfer(profile: ConnectionProfile, user: User) -> Transfer:
    return save_transfer(
        None,
        user=user,
        name="RCH monthly",
        profile=profile,
        data_set="QX4ZTUbOt3a",
        periods=["202401"],
        org_units=["ImspTQPwCqd"],
    )


def test_transfer_create_change_delete_are_logged(alice: User, profile: ConnectionProfile) -> None:
    with set_actor(alice):
        transfer = _transfer(profile, alice)
        save_transfer(transfer, user=alice, chunk_size=500, include_descendants=False)
        pk = transfer.pk
        transfer.delete()
    create, change, delete = entries_for(transfer, pk)
    assert (create.action, change.action, delete.action) == (0, 1, 2)
    assert {"name", "data_set", "periods"} <= set(create.changes)
    assert set(change.changes) == {"chunk_size", "include_descendants"}
    assert delete.object_repr == "RCH monthly"
    assert {create.actor, change.actor, delete.actor} == {alice}


def test_schedule_create_change_delete_are_logged(alice: User, profile: ConnectionProfile) -> None:
    with set_actor(alice):
        schedule = transfer_schedule(
            _transfer(profile, alice), "Nightly", "0 2 * * *", "UTC", user=alice
        )
        schedule.cron = "30 3 * * *"
        schedules.save_schedule(schedule, user=alice)
        pk = schedule.pk
        schedules.delete_schedule(schedule)
    create, change, delete = entries_for(schedule, pk)
    assert (create.action, change.action, delete.action) == (0, 1, 2)
    # Arming the schedule (next run, django-q2 link) is not somebody's change.
    assert set(change.changes) == {"cron"}
    assert change.changes["cron"] == ["0 2 * * *", "30 3 * * *"]
    assert delete.actor == alice


def test_launch_and_cancel_are_logged_with_user_kind_and_target(alice: User, bob: User) -> None:
    run = launch(
        "metadata_apply",
        {"assessment_id": 7},
        user=bob,
        trigger=Run.Trigger.WEB,
        title="Apply dataElements to National",
        target="metadata_apply:7",
        enqueue=False,
    )
    request_cancel(run, user=alice)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED

    launched, cancelled = entries_for(run)
    assert launched.actor == bob and cancelled.actor == alice
    assert launched.additional_data["action"] == "launched"
    assert launched.additional_data["kind"] == "metadata_apply"
    assert launched.additional_data["trigger"] == "web"
    assert launched.additional_data["job_target"] == "metadata_apply:7"
    assert launched.additional_data["summary"].startswith(
        "launched metadata_apply “Apply dataElements to National”"
    )
    assert cancelled.additional_data["action"] == "cancelled"

    body = api_as(alice).get("/api/v1/audit/?action=launched").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["actor"] == "bob" and row["action"] == "launched"
    assert row["target"] == {
        "type": "run", "id": str(run.pk), "name": "Apply dataElements to National"
    }  # fmt: skip
    assert row["details"]["kind"] == "metadata_apply"
    # The job target finds the launch and the cancel.
    by_job = api_as(alice).get("/api/v1/audit/?target=metadata_apply:7").json()
    assert [r["action"] for r in by_job["results"]] == ["cancelled", "launched"]


def test_cancelling_a_finished_run_logs_nothing(alice: User) -> None:
    run = launch("connection_check", {}, user=alice, trigger="api", enqueue=False)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
    request_cancel(run, user=alice)
    assert [e.additional_data["action"] for e in entries_for(run)] == ["launched"]


@pytest.mark.parametrize("actor", ["anonymous", CHARLIE, BOB, ALICE])
def test_audit_api_is_for_admins_only(actors, actor: str) -> None:
    resp = api_as(actors[actor]).get("/api/v1/audit/")
    assert resp.status_code == expected_status(actor, {ALICE}, 200)
    assert api_as(actors[actor]).post("/api/v1/audit/", {}).status_code in (401, 403, 405)


def test_audit_api_filters_and_pages(
    alice: User, bob: User, source_instance: Instance, destination_instance: Instance
) -> None:
    with set_actor(alice):
        profile = ConnectionProfile.objects.create(
            name="P", source=source_instance, destination=destination_instance
        )
        profile.description = "changed"
        profile.save()
    launch("connection_check", {}, user=bob, trigger="web", target="connection_check:1",
           enqueue=False)  # fmt: skip
    client = api_as(alice)

    def rows(query: str) -> list[dict]:
        resp = client.get(f"/api/v1/audit/{query}")
        assert resp.status_code == 200, resp.content
        return resp.json()["results"]

    assert {r["target"]["type"] for r in rows("?actor=alice")} == {"connectionprofile"}
    assert [r["action"] for r in rows("?actor=bob")] == ["launched"]
    assert [r["fields"] for r in rows("?action=changed")] == [["description"]]
    assert len(rows("?target=instance")) == 2  # the two fixtures' creations
    assert [r["target"]["name"] for r in rows(f"?target=instance:{source_instance.pk}")] == [
        "Source HMIS"
    ]
    assert [r["action"] for r in rows("?target=connection_check")] == ["launched"]
    assert client.get("/api/v1/audit/?action=renamed").status_code == 400
    page = client.get("/api/v1/audit/").json()
    assert page["count"] == 5 and "next" in page and "previous" in page


def test_admins_see_the_log_read_only_in_the_admin(alice: User, bob: User) -> None:
    assert alice.has_perm("auditlog.view_logentry")
    assert not alice.has_perm("auditlog.change_logentry")
    assert not alice.has_perm("auditlog.delete_logentry")
    assert not bob.has_perm("auditlog.view_logentry")


def test_transfer_mapping_rows_are_logged_when_replaced(
    alice: User, profile: ConnectionProfile
) -> None:
    """save_transfer replaces the rows (delete, then bulk_create): both sides are logged."""
    row = {"source_data_element": "fbfJHSPpUQD", "target_data_element": "cYeuwXTCPkU"}
    with set_actor(alice):
        transfer = _transfer(profile, alice)
        save_transfer(transfer, user=alice, mappings=[row])
        save_transfer(
            transfer, user=alice, mappings=[{**row, "target_data_element": "Jtf34kNZhzP"}]
        )
    entries = LogEntry.objects.filter(content_type__model="transfermapping").order_by("id")
    assert [(e.action, e.actor) for e in entries] == [
        (LogEntry.Action.CREATE, alice),
        (LogEntry.Action.DELETE, alice),
        (LogEntry.Action.CREATE, alice),
    ]
    assert entries[0].changes["target_data_element"] == [None, "cYeuwXTCPkU"]
    assert entries[2].changes["target_data_element"] == [None, "Jtf34kNZhzP"]


def test_accepted_profile_mappings_are_logged(alice: User, profile: ConnectionProfile) -> None:
    from metadata_sync.models import ProfileMapping

    with set_actor(alice):
        mapping = ProfileMapping.objects.create(
            profile=profile, type="dataElements", source_id="fbfJHSPpUQD",
            destination_id="cYeuwXTCPkU", accepted_by=alice,
        )  # fmt: skip
    (entry,) = entries_for(mapping)
    assert entry.action == LogEntry.Action.CREATE and entry.actor == alice
    assert {"source_id", "destination_id", "accepted_by"} <= set(entry.changes)


def test_schedule_pause_and_resume_are_logged_as_field_changes(
    alice: User, profile: ConnectionProfile
) -> None:
    """Pausing is somebody's decision like editing: the log says who switched `enabled`."""
    with set_actor(alice):
        schedule = transfer_schedule(
            _transfer(profile, alice), "Nightly", "0 2 * * *", "UTC", user=alice
        )
        schedules.pause(schedule, user=alice)
        schedules.resume(schedule, user=alice)
    _create, paused, resumed = entries_for(schedule)
    assert (paused.action, resumed.action) == (LogEntry.Action.UPDATE, LogEntry.Action.UPDATE)
    assert paused.changes["enabled"] == [True, False]
    assert paused.changes["status"] == ["active", "disabled"]
    assert resumed.changes["enabled"] == [False, True]
    assert resumed.changes["status"] == ["disabled", "active"]
    assert {paused.actor, resumed.actor} == {alice}
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.status) == (True, Schedule.Status.ACTIVE)
