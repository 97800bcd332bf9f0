"""Security of the web faces: login throttling (django-axes) on the three login endpoints,
hardened cookies, security headers and CSP, no inline script in any template, and the
platform's own error pages with DEBUG off (the test settings run with DEBUG off)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import ALICE, BOB, PASSWORD, page_as

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
LOCKED = "Too many failed login attempts"


# --- Login throttling ------------------------------------------------------------------------
def _browser_login(client: Client, url: str, password: str):
    return client.post(url, {"username": "alice", "password": password, "next": "/"})


def _token_login(client: APIClient, password: str):
    return client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": password}, format="json"
    )


def _attempt(endpoint: str, password: str):
    if endpoint == "token":
        return _token_login(APIClient(), password)
    return _browser_login(Client(), endpoint, password)


def _is_locked(endpoint: str, response) -> bool:
    if response.status_code != 429:
        return False
    if endpoint == "token":
        return LOCKED in response.json()["detail"]
    return LOCKED in response.content.decode() and "<html" in response.content.decode()


def _is_logged_in(endpoint: str, response) -> bool:
    if endpoint == "token":
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302


ENDPOINTS = ["/login/", "/admin/login/", "token"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_failed_logins_lock_out_until_reset(alice: User, endpoint: str) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5  # the documented default
    for n in range(1, limit):
        response = _attempt(endpoint, f"wrong-{n}")
        assert response.status_code in (200, 400), (n, response.status_code)
        assert not _is_locked(endpoint, response)
    assert _is_locked(endpoint, _attempt(endpoint, "wrong-last"))
    # The right password is refused too while locked out.
    refused = _attempt(endpoint, PASSWORD)
    assert _is_locked(endpoint, refused)
    assert "15 minutes" in (refused.content.decode())

    call_command("axes_reset", verbosity=0)
    assert _is_logged_in(endpoint, _attempt(endpoint, PASSWORD))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_lock_out_ends_after_the_cool_off(alice: User, endpoint: str) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for n in range(settings.AXES_FAILURE_LIMIT):
            _attempt(endpoint, f"wrong-{n}")
        assert _is_locked(endpoint, _attempt(endpoint, PASSWORD))
        traveller.move_to(start + timedelta(minutes=14))
        assert _is_locked(endpoint, _attempt(endpoint, PASSWORD))
        traveller.move_to(start + timedelta(minutes=16))
        assert _is_logged_in(endpoint, _attempt(endpoint, PASSWORD))


def test_lock_out_is_per_username_and_address(alice: User, bob: User) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt("/login/", f"wrong-{n}")
    # Another user from the same address, and the same user from another address, still log in.
    assert Client().post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert _is_logged_in("/login/", _browser_login(other, "/login/", PASSWORD))


def test_a_forged_forwarded_header_does_not_dodge_the_lock_out(alice: User) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").post(
            "/login/", {"username": "alice", "password": f"wrong-{n}"}
        )
    forged = Client(HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert _is_locked("/login/", _browser_login(forged, "/login/", PASSWORD))


# --- Cookies and headers ---------------------------------------------------------------------
def test_session_and_csrf_cookies_are_hardened(alice: User) -> None:
    client = Client()
    page = client.get("/login/")
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    for cookie in (csrf, session):
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        # Secure as the settings say: with DEBUG off when they were read, which plain pytest
        # has and `make test` (DEBUG=true) has not; production is checked in a fresh process
        # below.
        assert (
            bool(cookie["secure"]) is settings.SESSION_COOKIE_SECURE is settings.CSRF_COOKIE_SECURE
        )


def test_production_settings_mark_both_cookies_secure(tmp_path) -> None:
    """With DEBUG off, as in production, both cookies are Secure (read in a fresh process,
    since the settings module decides it when it is imported)."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY)"
    )
    env = {
        **os.environ,
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ENCRYPTION_KEYS": "jf-yG5Y4aG4vFC13Sg3C1iOBu2ikA6FLdwiEv33WYPo=",
        "ALLOWED_HOSTS": "dhis2sync.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out[-3:] == ["True", "True", "True"]


def test_pages_send_security_headers_and_a_strict_csp(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    for url in ("/login/", "/", "/runs/"):
        response = client.get(url) if url != "/login/" else Client().get(url)
        assert response.status_code == 200, url
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        directives = dict(
            (part.split()[0], part.split()[1:])
            for part in response["Content-Security-Policy"].split(";")
            if part.strip()
        )
        assert directives["default-src"] == ["'self'"]
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_the_api_docs_load_everything_from_this_server(alice: User) -> None:
    """Swagger UI works offline: its files are ours (drf-spectacular-sidecar), no CDN."""
    client = Client()
    client.force_login(alice)
    page = client.get("/api/docs/")
    directives = {
        d.split()[0]: d.split()[1:] for d in page["Content-Security-Policy"].split(";") if d.strip()
    }
    assert directives["script-src"] == ["'self'"]
    html = page.content.decode()
    assert "<script>" not in html and "cdn." not in html and "https://" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert (
        client.get(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        ).status_code
        == 200
    )


# --- Templates: no inline script (the CSP would block it) -------------------------------------
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
INLINE_STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.IGNORECASE | re.DOTALL)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def inline_code(text: str) -> list[str]:
    """What in a template the site's CSP would refuse: inline scripts, on* handlers, inline
    styles and javascript: URLs."""
    found = []
    for name, pattern in (
        ("inline <script>", INLINE_SCRIPT),
        ("on* handler", EVENT_HANDLER),
        ("inline style", INLINE_STYLE),
        ("javascript: URL", JS_URL),
    ):
        found += [f"{name}: {m.group(0)[:60]!r}" for m in pattern.finditer(text)]
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<script type="module">x()</script>',
        '<button onclick="go()">',
        "<body\n  onload='x()'>",
        '<p style="color:red">',
        "<style>p{}</style>",
        '<a href="javascript:void(0)">',
    ],
)
def test_the_scanner_finds_inline_code(snippet: str) -> None:
    assert inline_code(snippet)


def test_the_scanner_accepts_external_scripts() -> None:
    ok = '<script src="/static/js/run.js" data-url="/x/?a=1&b=2"></script><a class="on">on=</a>'
    assert inline_code(ok) == []


def test_no_template_has_inline_code() -> None:
    problems = {
        str(path.relative_to(TEMPLATES_DIR)): found
        for path in sorted(TEMPLATES_DIR.rglob("*.html"))
        if (found := inline_code(path.read_text()))
    }
    assert problems == {}, "Move these to static/js/ or static/css/app.css: " + repr(problems)


# --- Error pages with DEBUG off --------------------------------------------------------------
def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals: Traceback")


urlpatterns = [path("boom/", _boom), path("", include("config.urls"))]


@pytest.mark.parametrize(
    ("actor", "url", "status", "text"),
    [
        (ALICE, "/no/such/page/", 404, "There is nothing at this address"),
        (BOB, "/transfers/new/", 403, "Your role does not allow this"),
    ],
)
def test_error_pages_are_ours(
    actors: dict[str, User], actor: str, url: str, status: int, text: str
) -> None:
    response = page_as(actors[actor]).get(url)
    assert response.status_code == status
    body = response.content.decode()
    assert text in body and 'class="topbar"' in body
    assert "Traceback" not in body


def test_400_is_our_page(db) -> None:
    response = Client(HTTP_HOST="evil.example.com").get("/login/")
    assert response.status_code == 400
    assert "could not understand this request" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_500_is_our_standalone_page(db) -> None:
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body
