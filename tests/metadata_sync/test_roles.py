"""Every metadata endpoint and page, tried by anonymous, charlie (no role), bob (Operator) and
alice (Admin): operators run assessments and validations and review; only admins apply, edit
and delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client as PageClient

from metadata_sync.models import AssessmentItem, MetadataAssessment, ProfileMapping
from tests.conftest import ADMINS, ANON, READERS, api_as, expected_status

BASE = "/api/v1/metadata-assessments"


def _ids(a: MetadataAssessment, status: str) -> list[int]:
    return list(
        AssessmentItem.objects.filter(assessment=a, status=status).values_list("pk", flat=True)
    )


def _mapping(a: MetadataAssessment) -> ProfileMapping:
    return ProfileMapping.objects.create(
        profile=a.profile, type="organisationUnits", source_id="abcdefghijk",
        destination_id="bcdefghijkl", assessment=a,
    )  # fmt: skip


# (name, allowed, ok status, request maker(api, assessment) -> response)
Call = Callable[[Any, MetadataAssessment], Any]
ENDPOINTS: list[tuple[str, set[str], int, Call]] = [
    ("list", READERS, 200, lambda api, a: api.get(f"{BASE}/")),
    ("detail", READERS, 200, lambda api, a: api.get(f"{BASE}/{a.pk}/")),
    ("create", READERS, 201, lambda api, a: api.post(
        f"{BASE}/", {"profile": a.profile_id, "types": ["organisationUnits"]}, format="json")),
    ("items", READERS, 200, lambda api, a: api.get(f"{BASE}/{a.pk}/items/")),
    ("payload", READERS, 200, lambda api, a: api.post(
        f"{BASE}/{a.pk}/payload/", {"items": _ids(a, "missing")}, format="json")),
    ("validate", READERS, 202, lambda api, a: api.post(
        f"{BASE}/{a.pk}/apply/", {"items": _ids(a, "missing"), "dry_run": True}, format="json")),
    ("apply", ADMINS, 202, lambda api, a: api.post(
        f"{BASE}/{a.pk}/apply/", {"items": _ids(a, "missing"), "dry_run": False}, format="json")),
    ("accept", READERS, 200, lambda api, a: api.post(
        f"{BASE}/{a.pk}/accept/", {"items": _ids(a, "matched_by_name")}, format="json")),
    ("reject", READERS, 200, lambda api, a: api.post(
        f"{BASE}/{a.pk}/reject/", {"items": _ids(a, "matched_by_code")}, format="json")),
    ("destinations", READERS, 200, lambda api, a: api.get(
        f"{BASE}/{a.pk}/destinations/", {"type": "dataElements", "search": "ANC"})),
    ("delete", ADMINS, 204, lambda api, a: api.delete(f"{BASE}/{a.pk}/")),
    ("profile mappings", READERS, 200, lambda api, a: api.get(
        f"/api/v1/profiles/{a.profile_id}/mappings/")),
    ("mappings", READERS, 200, lambda api, a: api.get("/api/v1/profile-mappings/")),
    ("mapping edit", ADMINS, 200, lambda api, a: api.patch(
        f"/api/v1/profile-mappings/{_mapping(a).pk}/", {"destination_id": "Cdefghijklm"},
        format="json")),
    ("mapping delete", ADMINS, 204, lambda api, a: api.delete(
        f"/api/v1/profile-mappings/{_mapping(a).pk}/")),
]  # fmt: skip


@pytest.mark.parametrize("actor", [ANON, "charlie", "bob", "alice"])
@pytest.mark.parametrize(
    ("name", "allowed", "ok", "call"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_api_role_matrix(
    assessed: MetadataAssessment,
    actors: dict[str, User | None],
    actor: str,
    name: str,
    allowed: set[str],
    ok: int,
    call: Call,
) -> None:
    resp = call(api_as(actors[actor]), assessed)
    assert resp.status_code == expected_status(actor, allowed, ok), (name, resp.content[:300])


PAGES: list[tuple[str, set[str], Callable[[PageClient, MetadataAssessment], Any]]] = [
    ("list", READERS, lambda c, a: c.get("/metadata/")),
    ("detail", READERS, lambda c, a: c.get(f"/metadata/assessments/{a.pk}/")),
    ("missing tab", READERS, lambda c, a: c.get(f"/metadata/assessments/{a.pk}/?status=missing")),
    ("mappings", READERS, lambda c, a: c.get(f"/metadata/profiles/{a.profile_id}/mappings/")),
    ("preview", READERS, lambda c, a: c.post(
        f"/metadata/assessments/{a.pk}/sync/", {"action": "preview", "all_missing": "1"})),
    ("apply", ADMINS, lambda c, a: c.post(
        f"/metadata/assessments/{a.pk}/sync/", {"action": "apply", "all_missing": "1",
        "import_strategy": "CREATE", "atomic_mode": "ALL"})),
    ("review", READERS, lambda c, a: c.post(
        f"/metadata/assessments/{a.pk}/review/", {"action": "reject",
        "items": _ids(a, "matched_by_code")})),
    ("delete mapping", ADMINS, lambda c, a: c.post(
        f"/metadata/mappings/{_mapping(a).pk}/delete/")),
]  # fmt: skip


@pytest.mark.parametrize("actor", ["charlie", "bob", "alice"])
@pytest.mark.parametrize(("name", "allowed", "call"), PAGES, ids=[p[0] for p in PAGES])
def test_pages_role_matrix(
    assessed: MetadataAssessment,
    actors: dict[str, User | None],
    actor: str,
    name: str,
    allowed: set[str],
    call: Callable[[PageClient, MetadataAssessment], Any],
) -> None:
    client = PageClient()
    client.force_login(actors[actor])
    resp = call(client, assessed)
    if actor in allowed:
        assert resp.status_code in (200, 302), (name, resp.status_code)
    else:
        assert resp.status_code == 403, (name, resp.status_code)
