"""The instance admin: operators only view, admins add with write-only secrets that no page
ever renders."""

from __future__ import annotations

from django.contrib.auth.models import User

from connections.models import Instance
from tests.conftest import district_body, page_as
from tests.connections.conftest import SavedInstances, assert_no_secret


def test_admin_instance_pages_never_render_secrets(
    viewer: User, saved_instances: SavedInstances
) -> None:
    urls = [
        "/admin/connections/instance/",
        f"/admin/connections/instance/{saved_instances.source.pk}/change/",
        f"/admin/connections/instance/{saved_instances.destination.pk}/change/",
        "/connections/",
    ]
    assert_no_secret(page_as(viewer), urls, saved_instances.secrets)


def test_operator_cannot_add_or_change_instances_in_admin(
    bob: User, source_instance: Instance
) -> None:
    client = page_as(bob)
    assert client.get("/admin/connections/instance/add/").status_code == 403
    page = client.get(f"/admin/connections/instance/{source_instance.pk}/change/").content.decode()
    assert 'name="password"' not in page and 'name="token"' not in page
    resp = client.post(
        f"/admin/connections/instance/{source_instance.pk}/change/",
        {"name": "Hijacked", "base_url": "https://evil.example.org", "auth_type": "basic"},
    )
    assert resp.status_code == 403
    source_instance.refresh_from_db()
    assert source_instance.name == "Source HMIS"


def test_admin_creates_instance_with_write_only_password(alice: User) -> None:
    client = page_as(alice)
    resp = client.post(
        "/admin/connections/instance/add/",
        district_body(
            "Pa55-word",
            base_url="https://district.example.org",
            token="",
            timeout_seconds=60,
            verify_tls="on",
        ),
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    instance = Instance.objects.get(name="District")
    assert instance.has_password and "Pa55-word" not in instance.password_encrypted
    change = client.get(f"/admin/connections/instance/{instance.pk}/change/").content.decode()
    assert "Pa55-word" not in change and 'name="password"' in change


def test_admin_rejects_basic_instance_without_password(alice: User) -> None:
    resp = page_as(alice).post(
        "/admin/connections/instance/add/",
        {"name": "X", "base_url": "https://x.example.org", "auth_type": "basic", "username": "a",
         "timeout_seconds": 60},
    )  # fmt: skip
    assert resp.status_code == 200
    assert "A password is needed" in resp.content.decode()
    assert not Instance.objects.filter(name="X").exists()
