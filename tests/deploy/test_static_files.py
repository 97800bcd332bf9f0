"""Static files with DEBUG off: WhiteNoise serves them from the web process.

Tests run with DEBUG off (config/settings_test.py) and without collectstatic, so they serve the
source files through the finders; the production set-up (manifest storage, hashed and compressed
copies from `collectstatic`) is checked here against a real collectstatic into a temp folder.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
APP_CSS = (ROOT / "static" / "css" / "app.css").read_bytes()

pytestmark = pytest.mark.django_db


def test_tests_find_static_files_with_debug_off(client: Client, settings) -> None:
    assert settings.DEBUG is False
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == APP_CSS
    # Pages that link static files render (no manifest is needed in tests).
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'href="/static/css/app.css"' in page.content


def test_production_serves_hashed_compressed_files_after_collectstatic(tmp_path: Path) -> None:
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, STATIC_ROOT=tmp_path, WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", "--noinput", verbosity=0)
        assert (tmp_path / "staticfiles.json").exists()
        assert (tmp_path / "admin" / "css" / "base.css").exists()  # Django admin's too

        client = Client()  # a new handler: WhiteNoise indexes STATIC_ROOT as it starts
        page = client.get("/login/")
        assert page.status_code == 200
        match = re.search(rb'href="/static/(css/app\.([0-9a-f]{12})\.css)"', page.content)
        assert match, page.content[:500]
        hashed_name, digest = match.group(1).decode(), match.group(2).decode()

        response = client.get(f"/static/{hashed_name}")
        assert response.status_code == 200
        served = b"".join(response.streaming_content)
        # The name carries the MD5 of the content (Django's manifest naming).
        assert hashlib.md5(served).hexdigest()[:12] == digest  # noqa: S324
        assert "immutable" in response["Cache-Control"]

        compressed = client.get(f"/static/{hashed_name}", HTTP_ACCEPT_ENCODING="gzip")
        assert compressed["Content-Encoding"] == "gzip"
        assert gzip.decompress(b"".join(compressed.streaming_content)) == served
