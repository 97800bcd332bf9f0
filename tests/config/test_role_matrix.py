"""The role matrix: every URL of the platform (API, pages, admin) for anonymous, charlie
(logged in, no role), bob (Operator) and alice (Admin), each cell an exact status.

The table is checked against the URL resolver: a URL pattern (and, for API viewsets, each HTTP
method it routes) without a row or an explicit exemption fails `test_every_url_has_a_row`, so
a new endpoint cannot ship without its permissions being decided here.

Statuses: the API answers 401 without credentials and 403 without the permission; pages and
the admin send anonymous users to their login page (302) and answer 403 to a user without the
permission. What an allowed user gets is the view's own answer for the request in the row (an
empty POST body is a 400 for the API: the permission passed, the input was refused). The
instances point at 127.0.0.1:9 (nothing listens), so what asks DHIS2 answers 502.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver

from tests.config.world import World, build_world
from tests.conftest import ADMINS, ALICE, ANON, BOB, CHARLIE, READERS, api_as, page_as

NOBODY: set[str] = set()
ALL = {CHARLIE, BOB, ALICE}
R, A = READERS, ADMINS
PROJECT_APPS = {"connections", "jobs", "transfers", "metadata_sync", "completeness", "tracker"}


@dataclass(frozen=True)
class Row:
    name: str  # URL name; admin rows are namespaced, e.g. admin:connections_instance_add
    method: str
    path: Callable[[World], str]
    allowed: set[str]
    ok: int  # what an allowed actor gets
    body: dict = field(default_factory=dict)
    api: bool = True
    anon: int | None = None  # what anonymous gets, if not the face's default (401 or 302)

    def expected(self, actor: str) -> int:
        if actor == ANON:
            return self.anon or (401 if self.api else 302)
        return self.ok if actor in self.allowed else 403

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"


def _detail(family: str, suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/api/v1/{family}/{w.pk_for(family)}/{suffix}"


def _list(family: str, suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/api/v1/{family}/{suffix}"


def _fixed(url: str) -> Callable[[World], str]:
    return lambda w: url


def _p(fmt: str) -> Callable[[World], str]:
    """A page URL: `{x}` is replaced by the pk of the world's object `x`."""
    return lambda w: re.sub(r"\{(\w+)\}", lambda m: str(getattr(w, m.group(1)).pk), fmt)


def _page(
    name: str, method: str, path: Callable[[World], str], allowed: set[str], ok: int, **kw: Any
) -> Row:
    return Row(name, method, path, allowed, ok, api=False, **kw)


INSTANCE_BODY = {
    "name": "District DHIS2",
    "base_url": "https://district.example.org/dhis/",
    "auth_type": "basic",
    "username": "admin",
    "password": "district",
}
DATA_SET = "data-sets/BfMAe6Itzgt/"


def _crud(
    name: str,
    family: str,
    *,
    create: int,
    patch: int,
    patch_body: dict,
    delete: int,
    create_body: dict | None = None,
) -> list[Row]:
    """The six rows of a configuration viewset (list, create, read, replace, update, delete):
    operators read, only admins write. An admin's empty PUT is always a 400; what an admin's
    create, update and delete get is the family's own."""
    return [
        Row(f"api-{name}-list", "GET", _list(family), R, 200),
        Row(f"api-{name}-list", "POST", _list(family), A, create, create_body or {}),
        Row(f"api-{name}-detail", "GET", _detail(family), R, 200),
        Row(f"api-{name}-detail", "PUT", _detail(family), A, 400),
        Row(f"api-{name}-detail", "PATCH", _detail(family), A, patch, patch_body),
        Row(f"api-{name}-detail", "DELETE", _detail(family), A, delete),
    ]


def _assessments(name: str, family: str) -> list[Row]:
    """The four rows of an assessment viewset: whoever may read may start one (an empty body is
    a 400), only admins delete."""
    return [
        Row(f"api-{name}-list", "GET", _list(family), R, 200),
        Row(f"api-{name}-list", "POST", _list(family), R, 400),
        Row(f"api-{name}-detail", "GET", _detail(family), R, 200),
        Row(f"api-{name}-detail", "DELETE", _detail(family), A, 204),
    ]


API_ROWS = [
    Row("api-root", "GET", _fixed("/api/v1/"), ALL, 200),
    # DELETE 409: the profile uses it
    *_crud("instance", "instances", create=201, create_body=INSTANCE_BODY,
           patch=200, patch_body={"timeout_seconds": 90}, delete=409),
    Row("api-instance-test", "POST", _detail("instances", "test/"), R, 200),  # "ok": false
    Row("api-instance-data-sets", "GET", _detail("instances", "data-sets/"), R, 502),
    Row("api-instance-data-set", "GET", _detail("instances", DATA_SET), R, 502),
    Row("api-instance-periods", "GET", _detail("instances", DATA_SET + "periods/"), R, 502),
    Row("api-instance-event-programs", "GET", _detail("instances", "event-programs/"), R, 502),
    Row("api-instance-org-units", "GET", _detail("instances", "org-units/"), R, 502),
    # DELETE 409: transfers use it
    *_crud("profile", "profiles", create=400, patch=200, patch_body={"description": "nightly"},
           delete=409),
    Row("api-profile-mappings", "GET", _detail("profiles", "mappings/"), R, 200),
    Row("api-profile-mapping-candidates", "GET",
        _detail("profiles", "mapping-candidates/?data_set=BfMAe6Itzgt"), R, 502),
    Row("api-run-list", "GET", _list("runs"), R, 200),
    Row("api-run-detail", "GET", _detail("runs"), R, 200),
    Row("api-run-log", "GET", _detail("runs", "log/"), R, 200),
    Row("api-run-cancel", "POST", _detail("runs", "cancel/"), R, 409),  # it has finished
    *_crud("schedule", "schedules", create=400, patch=200, patch_body={"cron": "0 3 * * *"},
           delete=204),
    Row("api-schedule-preview", "GET", _fixed("/api/v1/schedules/preview/?cron=0+2+*+*+*"),
        R, 200),
    Row("api-schedule-pause", "POST", _detail("schedules", "pause/"), A, 200),
    Row("api-schedule-resume", "POST", _detail("schedules", "resume/"), A, 200),
    Row("api-schedule-run", "POST", _detail("schedules", "run/"), R, 202),
    *_assessments("md-assessment", "metadata-assessments"),
    Row("api-md-assessment-items", "GET", _detail("metadata-assessments", "items/"), R, 200),
    Row("api-md-assessment-payload", "POST", _detail("metadata-assessments", "payload/"), R, 400),
    Row("api-md-assessment-destinations", "GET",
        _detail("metadata-assessments", "destinations/?type=dataElements"), R, 502),
    Row("api-md-assessment-accept", "POST", _detail("metadata-assessments", "accept/"), R, 400),
    Row("api-md-assessment-reject", "POST", _detail("metadata-assessments", "reject/"), R, 400),
    Row("api-md-assessment-apply", "POST", _detail("metadata-assessments", "apply/"), R, 400),
    Row("api-profile-mapping-list", "GET", _list("profile-mappings"), R, 200),
    Row("api-profile-mapping-detail", "GET", _detail("profile-mappings"), R, 200),
    Row("api-profile-mapping-detail", "PUT", _detail("profile-mappings"), A, 405),  # PATCH only
    Row("api-profile-mapping-detail", "PATCH", _detail("profile-mappings"), A, 200,
        {"destination_id": "Edefghijklm"}),
    Row("api-profile-mapping-detail", "DELETE", _detail("profile-mappings"), A, 204),
    *_crud("transfer", "transfers", create=400, patch=200, patch_body={"chunk_size": 500},
           delete=204),
    Row("api-transfer-run", "POST", _detail("transfers", "run/"), R, 202),
    Row("api-transfer-resume", "POST", _detail("transfers", "resume/"), R, 400),
    Row("api-transfer-conflict-list", "GET", _list("transfer-conflicts"), R, 200),
    Row("api-transfer-conflict-detail", "GET", _detail("transfer-conflicts"), R, 200),
    *_assessments("completeness", "completeness-assessments"),
    Row("api-completeness-results", "GET", _detail("completeness-assessments", "results/"),
        R, 200),
    Row("api-completeness-export", "GET", _detail("completeness-assessments", "export/"), R, 200),
    Row("api-completeness-run", "POST", _detail("completeness-assessments", "run/"), R, 202),
    Row("api-completeness-mark", "POST", _detail("completeness-assessments", "mark/"), R, 400),
    *_crud("tracker-transfer", "tracker-transfers", create=400, patch=400,
           patch_body={"org_units": "x"}, delete=204),
    Row("api-tracker-transfer-preview", "POST", _detail("tracker-transfers", "preview/"), R, 502),
    Row("api-tracker-transfer-run", "POST", _detail("tracker-transfers", "run/"), R, 202),
    Row("api-tracker-transfer-resume", "POST", _detail("tracker-transfers", "resume/"), R, 400),
    Row("api-tracker-error-list", "GET", _list("tracker-errors"), R, 200),
    Row("api-tracker-error-detail", "GET", _detail("tracker-errors"), R, 200),
    Row("api-audit-list", "GET", _list("audit"), A, 200),
    Row("api-audit-detail", "GET", _detail("audit"), A, 200),
    Row("api-schema", "GET", _fixed("/api/schema/"), ALL, 200),
]  # fmt: skip

PAGE_ROWS = [
    _page("dashboard", "GET", _fixed("/"), ALL, 200),
    _page("run-list", "GET", _fixed("/runs/"), R, 200),
    _page("run-detail", "GET", _p("/runs/{run}/"), R, 200),
    _page("run-poll", "GET", _p("/runs/{run}/poll/"), R, 200),
    _page("run-cancel", "POST", _p("/runs/{run}/cancel/"), R, 302),
    _page("connections", "GET", _fixed("/connections/"), R, 200),
    _page("instance-test", "POST", _p("/connections/{source}/test/"), R, 302),
    _page("transfers", "GET", _fixed("/transfers/"), R, 200),
    _page("transfer-create", "GET", _fixed("/transfers/new/"), A, 200),
    _page("transfer-detail", "GET", _p("/transfers/{transfer}/"), R, 200),
    _page("transfer-edit", "GET", _p("/transfers/{transfer}/edit/"), A, 200),
    _page("transfer-run", "POST", _p("/transfers/{transfer}/run/"), R, 302),
    _page("run-conflicts-csv", "GET", _p("/runs/{run}/conflicts.csv"), R, 200),
    _page("metadata", "GET", _fixed("/metadata/"), R, 200),
    _page("metadata-assessment", "GET", _p("/metadata/assessments/{md_assessment}/"), R, 200),
    _page("metadata-rerun", "POST", _p("/metadata/assessments/{md_assessment}/run/"), R, 302),
    _page("metadata-review", "POST", _p("/metadata/assessments/{md_assessment}/review/"), R, 302),
    _page("metadata-sync", "POST", _p("/metadata/assessments/{md_assessment}/sync/"), R, 302),
    _page("metadata-mappings", "GET", _p("/metadata/profiles/{profile}/mappings/"), R, 200),
    _page("metadata-mapping-delete", "POST", _p("/metadata/mappings/{mapping}/delete/"), A, 302),
    _page("completeness", "GET", _fixed("/completeness/"), R, 200),
    _page("completeness-create", "GET", _fixed("/completeness/new/"), R, 200),
    _page("completeness-detail", "GET", _p("/completeness/{completeness}/"), R, 200),
    _page("completeness-run", "POST", _p("/completeness/{completeness}/run/"), R, 302),
    _page("completeness-mark", "POST", _p("/completeness/{completeness}/mark/"), R, 302),
    _page("completeness-export", "GET", _p("/completeness/{completeness}/export/"), R, 200),
    _page("tracker", "GET", _fixed("/tracker/"), R, 200),
    _page("tracker-create", "GET", _fixed("/tracker/new/"), A, 200),
    _page("tracker-detail", "GET", _p("/tracker/{tracker_transfer}/"), R, 200),
    _page("tracker-edit", "GET", _p("/tracker/{tracker_transfer}/edit/"), A, 200),
    _page("tracker-preview", "POST", _p("/tracker/{tracker_transfer}/preview/"), R, 200),
    _page("tracker-run", "POST", _p("/tracker/{tracker_transfer}/run/"), R, 302),
    _page("tracker-errors-csv", "GET",
          lambda w: f"/tracker/runs/{w.tracker_error.run_id}/errors.csv", R, 200),
    _page("schedules", "GET", _fixed("/schedules/"), R, 200),
    _page("schedule-create", "GET", _fixed("/schedules/new/"), A, 200),
    _page("schedule-detail", "GET", _p("/schedules/{schedule}/"), R, 200),
    _page("schedule-edit", "GET", _p("/schedules/{schedule}/edit/"), A, 200),
    _page("schedule-delete", "POST", _p("/schedules/{schedule}/delete/"), A, 302),
    _page("schedule-pause", "POST", _p("/schedules/{schedule}/pause/"), A, 302),
    _page("schedule-resume", "POST", _p("/schedules/{schedule}/resume/"), A, 302),
    _page("schedule-run", "POST", _p("/schedules/{schedule}/run/"), R, 302),
    _page("api-docs", "GET", _fixed("/api/docs/"), ALL, 200, anon=401),
]  # fmt: skip

#: Admin: who may view and who may add each registered model, decided here from the README's
#: role table (not read from accounts/roles.py). Operators view the project's models; admins
#: change them and team members, and only look at groups, the task queue, login attempts and
#: the audit log; nobody sees API tokens in the admin.
PROJECT_ADD = {"connections.Instance", "connections.ConnectionProfile", "jobs.Schedule",
               "transfers.Transfer", "tracker.EventTransfer"}  # fmt: skip
ADMIN_VIEW_ONLY = {"auth.Group", "django_q.Schedule", "django_q.Success", "django_q.Failure",
                   "django_q.OrmQ", "axes.AccessAttempt", "axes.AccessLog",
                   "axes.AccessFailureLog", "auditlog.LogEntry"}  # fmt: skip


def _admin_rows() -> list[Row]:
    rows = [
        _page("admin:index", "GET", _fixed("/admin/"), ALL, 200),
        _page("admin:login", "GET", _fixed("/admin/login/"), ALL, 302, anon=200),  # logged in: off
    ]
    for model in admin.site._registry:
        label, app, name = model._meta.label, model._meta.app_label, model._meta.model_name
        if app in PROJECT_APPS:
            viewers, adders = R, (A if label in PROJECT_ADD else NOBODY)
        elif label == "auth.User":
            viewers, adders = A, A
        elif label in ADMIN_VIEW_ONLY:
            viewers, adders = A, NOBODY
        else:  # API tokens: nobody, not even an admin
            viewers, adders = NOBODY, NOBODY
        base = f"/admin/{app}/{name}/"
        rows.append(_page(f"admin:{app}_{name}_changelist", "GET", _fixed(base), viewers, 200))
        rows.append(_page(f"admin:{app}_{name}_add", "GET", _fixed(base + "add/"), adders, 200))
    return rows


ADMIN_ROWS = _admin_rows()
ROWS = API_ROWS + PAGE_ROWS + ADMIN_ROWS

#: URL patterns without a row, and why.
EXEMPT = {
    "login": "the login page: everyone may see it (tests/config/test_security.py)",
    "logout": "logging out needs no permission",
    "healthz": "health probe, no login by design (tests/deploy/test_health.py)",
    "readyz": "health probe, no login by design (tests/deploy/test_health.py)",
    "api-token": "no login by design; tested below and in tests/config/test_security.py",
    "admin:logout": "logging out needs no permission",
    "admin:password_change": "every user's own password",
    "admin:password_change_done": "every user's own password",
    "admin:autocomplete": "answers only for models the user may view (Django's own check)",
    "admin:jsi18n": "static translations",
    "admin:view_on_site": "a redirect to the object's page, which has its own row",
    "admin:app_list": "lists only the models the user may view",
}
#: Admin object views (change, delete, history) check the same model permissions as the
#: changelist and add rows above; object-level admin tests live in tests/<app>/test_admin.py.
ADMIN_OBJECT_VIEW = re.compile(r"^admin:\w+_(change|delete|history)$")


def _patterns(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[URLPattern, str]]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p, f"{namespace}{p.namespace}:" if p.namespace else namespace)
        elif isinstance(p, URLPattern):
            yield p, namespace


def _routes() -> set[tuple[str, str | None]]:
    """Every (URL name, method) the resolver knows; method None for Django views."""
    routes: set[tuple[str, str | None]] = set()
    for pattern, namespace in _patterns(get_resolver()):
        if pattern.name is None:
            continue  # the admin's catch-all and object-id redirects: no view of their own
        if "format" in pattern.pattern.regex.groupindex:
            continue  # DRF's `.json` suffix routes: the same view as the row without it
        actions = getattr(pattern.callback, "actions", None)
        for method in [m for m in actions or [None] if m != "head"]:  # HEAD is GET's
            routes.add((namespace + pattern.name, method.upper() if method else None))
    return routes


def test_every_url_has_a_row() -> None:
    covered = {(r.name, r.method) for r in ROWS} | {(r.name, None) for r in ROWS}
    routes = _routes()
    missing = sorted(
        f"{name} {method or ''}".strip()
        for name, method in routes
        if (name, method) not in covered
        and name not in EXEMPT
        and not ADMIN_OBJECT_VIEW.match(name)
    )
    assert not missing, f"URLs without a row in the role matrix: {missing}"
    stale = sorted({r.name for r in ROWS} - {name for name, _ in routes})
    assert not stale, f"rows for URLs that no longer exist: {stale}"


@pytest.fixture
def world(alice: User) -> World:
    return build_world(owner=alice)


@pytest.mark.parametrize("actor", [ANON, CHARLIE, BOB, ALICE])
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_role_matrix(row: Row, actor: str, actors: dict, world: World) -> None:
    client = api_as(actors[actor]) if row.api else page_as(actors[actor])
    client.raise_request_exception = False  # a 500 shows as a status, not a traceback
    path = row.path(world)
    send = getattr(client, row.method.lower())
    resp = send(path, row.body, format="json") if row.api else send(path, row.body)
    assert resp.status_code == row.expected(actor), (path, resp.content[:300])
    if resp.status_code == 302 and actor == ANON:
        assert resp["Location"].startswith(("/login/", "/admin/login/"))


def test_operators_change_nothing(bob: User, world: World) -> None:
    """Beyond the status: a refused write by an operator leaves the configuration as it was."""
    api = api_as(bob)
    api.patch(f"/api/v1/instances/{world.source.pk}/", {"timeout_seconds": 91}, format="json")
    api.patch(f"/api/v1/profiles/{world.profile.pk}/", {"description": "x"}, format="json")
    api.delete(f"/api/v1/profile-mappings/{world.mapping.pk}/")
    api.post(f"/api/v1/schedules/{world.schedule.pk}/pause/")
    api.post("/api/v1/instances/", INSTANCE_BODY, format="json")
    world.source.refresh_from_db()
    world.profile.refresh_from_db()
    world.schedule.refresh_from_db()
    assert world.source.timeout_seconds != 91
    assert world.profile.description != "x"
    assert world.mapping.__class__.objects.filter(pk=world.mapping.pk).exists()
    assert world.schedule.status == "active"
    assert not world.source.__class__.objects.filter(name="District DHIS2").exists()


def test_token_endpoint_returns_token_and_the_token_authenticates(bob: User) -> None:
    from rest_framework.test import APIClient

    from tests.conftest import PASSWORD

    client = APIClient()
    resp = client.post(
        "/api/v1/auth/token/", {"username": "bob", "password": PASSWORD}, format="json"
    )
    assert resp.status_code == 200
    token = resp.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/runs/").status_code == 200
    bad = APIClient().post(
        "/api/v1/auth/token/", {"username": "bob", "password": "nope"}, format="json"
    )
    assert bad.status_code == 400
