"""Credentials are write-only: a known password and token appear on no face of the platform.

The test stores an instance password and a personal access token with distinctive text, works
every face that shows instances, runs and errors (API, pages, admin, run logs, exports, error
messages, log output, django-q2's task rows, the audit log), with DHIS2 refusing the
credentials so the errors talk about the instance, and searches everything for the secret text.
The database holds ciphertext only, and key rotation re-encrypts it so the old key can go.
"""

from __future__ import annotations

import logging

import pytest
import respx
from auditlog.models import LogEntry
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django_q.models import OrmQ, Task

from connections import crypto
from connections.models import Instance
from jobs.models import Run, RunLogEntry
from tests.config.world import World, build_world
from tests.conftest import api_as, page_as

PASSWORD = "pw-NEEDLE-Zq81-hunter2"
TOKEN = "d2pat_NEEDLEtok3nQxV7wLmP0sR9uT2yZ4aB6cD8eF0gH2jK"
NEEDLES = (PASSWORD, TOKEN, "NEEDLE")


@pytest.fixture
def world(alice: User) -> World:
    w = build_world(owner=alice)
    # Through the API, as a user would enter them (the API is a write face too).
    api = api_as(alice)
    resp = api.patch(f"/api/v1/instances/{w.source.pk}/", {"password": PASSWORD}, format="json")
    assert resp.status_code == 200, resp.content
    resp = api.patch(f"/api/v1/instances/{w.destination.pk}/", {"token": TOKEN}, format="json")
    assert resp.status_code == 200, resp.content
    w.source.refresh_from_db()
    w.destination.refresh_from_db()
    return w


def _refusing_dhis2() -> respx.MockRouter:
    """Both instances answer 401 to everything: the errors then talk about the instance."""
    router = respx.mock(assert_all_called=False)
    router.route(host="127.0.0.1").respond(
        401, json={"httpStatus": "Unauthorized", "httpStatusCode": 401, "status": "ERROR",
                   "message": "Unauthorized"},
    )  # fmt: skip
    return router


class Haystack:
    """Collects every text the test saw, by where it came from, and counts the places."""

    def __init__(self) -> None:
        self.places: dict[str, str] = {}

    def add(self, place: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        assert text, f"{place} gave nothing to search"
        self.places[place] = text

    def assert_clean(self) -> None:
        found = [(p, n) for p, t in self.places.items() for n in NEEDLES if n in t]
        assert not found, f"secret text found in: {found}"


def test_the_secret_appears_nowhere(
    world: World,
    alice: User,
    bob: User,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks,
) -> None:
    caplog.set_level(logging.DEBUG)
    hay = Haystack()
    source, dest = world.source, world.destination
    admin_api, operator_api = api_as(alice), api_as(bob)

    with _refusing_dhis2():
        # A connection check (API, page, admin action) and a transfer run against DHIS2s that
        # refuse the credentials.
        for who, api in (("admin", admin_api), ("operator", operator_api)):
            for inst in (source, dest):
                resp = api.post(f"/api/v1/instances/{inst.pk}/test/")
                assert resp.status_code == 200 and resp.json()["ok"] is False
                hay.add(f"API test answer {inst.name} as {who}", resp.content)
        page = page_as(alice).post(f"/connections/{source.pk}/test/", follow=True)
        hay.add("connections page after a test", page.content)
        with django_capture_on_commit_callbacks(execute=True):  # the run is queued on commit
            resp = admin_api.post(f"/api/v1/transfers/{world.transfer.pk}/run/", {}, format="json")
        assert resp.status_code == 202
        run = Run.objects.get(pk=resp.json()["run"])
        assert run.status == Run.Status.FAILED
        for inst in (source, dest):
            resp = admin_api.get(f"/api/v1/instances/{inst.pk}/data-sets/")
            hay.add(f"API error from DHIS2 via {inst.name}", resp.content)

    for who, api in (("admin", admin_api), ("operator", operator_api)):
        hay.add(f"API instance list as {who}", api.get("/api/v1/instances/").content)
        for inst in (source, dest):
            hay.add(f"API instance detail {inst.pk} as {who}",
                    api.get(f"/api/v1/instances/{inst.pk}/").content)  # fmt: skip
        hay.add(f"API profiles as {who}", api.get("/api/v1/profiles/").content)
        hay.add(f"API runs as {who}", api.get("/api/v1/runs/").content)
        hay.add(f"API run detail as {who}", api.get(f"/api/v1/runs/{run.pk}/").content)
        hay.add(f"API run log as {who}", api.get(f"/api/v1/runs/{run.pk}/log/").content)
        hay.add(f"API schema as {who}", api.get("/api/schema/").content)
    hay.add("API audit", admin_api.get("/api/v1/audit/?page_size=500").content)

    for who, user in (("admin", alice), ("operator", bob)):
        browser = page_as(user)
        for url in ("/", "/connections/", "/runs/", f"/runs/{run.pk}/", f"/runs/{run.pk}/poll/",
                    f"/runs/{run.pk}/conflicts.csv", "/transfers/",
                    f"/transfers/{world.transfer.pk}/",
                    f"/completeness/{world.completeness.pk}/export/",
                    "/admin/connections/instance/",
                    f"/admin/connections/instance/{source.pk}/change/",
                    f"/admin/connections/instance/{dest.pk}/change/",
                    "/admin/connections/connectionprofile/", "/admin/jobs/run/",
                    f"/admin/jobs/run/{run.pk}/change/"):  # fmt: skip
            resp = browser.get(url)
            assert resp.status_code == 200, (who, url, resp.status_code)
            body = b"".join(resp.streaming_content) if resp.streaming else resp.content
            hay.add(f"page {url} as {who}", body)
    admin_browser = page_as(alice)
    for url in ("/admin/auditlog/logentry/", "/admin/django_q/success/",
                "/admin/django_q/failure/", "/admin/django_q/ormq/"):  # fmt: skip
        resp = admin_browser.get(url)
        assert resp.status_code == 200, url
        hay.add(f"page {url}", resp.content)
    for entry in LogEntry.objects.all():
        hay.add(f"audit log entry {entry.pk}", f"{entry.changes} {entry.object_repr}")
        resp = admin_browser.get(f"/admin/auditlog/logentry/{entry.pk}/change/")
        hay.add(f"admin audit entry {entry.pk}", resp.content)

    hay.add("run error and stats", f"{run.error} {run.stats} {run.params} {run.progress_message}")
    for line in RunLogEntry.objects.all():
        hay.add(f"run log line {line.pk}", line.message)
    for task in Task.objects.all():
        hay.add(f"django-q task {task.pk}", f"{task.args} {task.kwargs} {task.result}")
    for queued in OrmQ.objects.all():
        hay.add(f"django-q queue {queued.pk}", str(queued.task()))
    hay.add("log output", "\n".join(r.getMessage() for r in caplog.records) + caplog.text)
    hay.add("str and repr", f"{source} {dest} {source!r} {dest!r} {world.profile}")
    hay.assert_clean()

    # What the run said names the instance, so the search above did look at real errors.
    assert source.name in run.error or dest.name in run.error or "401" in run.error
    assert len(hay.places) > 60
    print(f"secret searched in {len(hay.places)} places")


def test_the_database_holds_ciphertext_only(world: World) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password_encrypted, token_encrypted FROM connections_instance")
        raw = " ".join(" ".join(row) for row in cursor.fetchall())
        cursor.execute("SELECT changes FROM auditlog_logentry")
        audit_raw = " ".join(str(row[0]) for row in cursor.fetchall())
    assert PASSWORD not in raw and TOKEN not in raw and "NEEDLE" not in raw
    assert raw.count("gAAAAA") >= 2  # Fernet tokens
    assert "NEEDLE" not in audit_raw


def test_rotation_re_encrypts_and_the_old_key_can_go(world: World, settings) -> None:
    old_keys = list(settings.ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    before = {i.pk: (i.password_encrypted, i.token_encrypted) for i in Instance.objects.all()}

    settings.ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("rotate_encryption_key")

    settings.ENCRYPTION_KEYS = [new_key]  # the old keys are removed
    only_new = Fernet(new_key.encode())
    for inst in Instance.objects.all():
        for old, now in zip(
            before[inst.pk], (inst.password_encrypted, inst.token_encrypted), strict=True
        ):
            if old:
                assert now != old
                only_new.decrypt(now.encode())  # readable with the new key alone
    source = Instance.objects.get(pk=world.source.pk)
    dest = Instance.objects.get(pk=world.destination.pk)
    assert crypto.decrypt(source.password_encrypted) == PASSWORD
    assert crypto.decrypt(dest.token_encrypted) == TOKEN
