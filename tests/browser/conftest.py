"""Browser tests: Debian's Chromium driven by Playwright's driver against the live platform.

The platform is pytest-django's `live_server` (this process, the test database), two served
demo simulators pointed at by `setup_demo`, and, for the tests that launch runs, a real
`manage.py qcluster` process (tests.e2e.conftest.qcluster) with django-q2's sync mode switched
off here so a click queues the run for that worker, as in production.

Chromium is Debian's (`apt-get install chromium`, which `.ci/run` does when it is missing),
launched by path: Playwright's own browser download is never used. Without a Chromium the tests
skip with the reason, except under CI (`CI=true`), where they fail: CI must run them.

Screenshots: every test saves full-page PNGs of its key pages under .local/screenshots/ (an
artifact to look at when a test fails). With `DOCS_SCREENSHOTS=1` (`make screenshots`) the ones
marked for the README are also written to docs/screenshots/ as small JPEGs of the top of the
page, so the README's pictures are reproduced by the same steps the tests check.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from simulator import Simulator
from tests.conftest import PASSWORD
from tests.e2e.conftest import ROOT, e2e_simulator, qcluster  # noqa: F401 (a fixture)

SCREENSHOTS = ROOT / ".local" / "screenshots"
#: The README's pictures (`make screenshots`); written only when DOCS_SCREENSHOTS is on.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
#: Desktop and phone viewports: the phone is a 390 px wide handset (an iPhone 12 to 15).
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium (or $CHROMIUM), never a browser Playwright downloaded itself."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    problem = None
    if path is None:
        problem = "no Chromium found (apt-get install chromium, or set CHROMIUM=/path)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Browser tests must run in CI, but {problem}.")
        pytest.skip(f"Browser tests skipped: {problem}.")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def playwright_driver(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread, and Django then refuses ORM
    # calls from it (SynchronousOnlyOperation). The tests' own ORM calls are plain sync code
    # between browser steps, which is what this switch is for (as pytest-playwright documents).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            yield p
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Platform:
    url: str
    source: Simulator
    destination: Simulator


@pytest.fixture
def platform(live_server, transactional_db) -> Iterator[Platform]:
    """The live platform with the demo set up against two served simulators."""
    source, destination = e2e_simulator("demo-source"), e2e_simulator("demo-destination")
    with source.serve() as s, destination.serve() as d:
        call_command(
            "setup_demo",
            source_port=urlsplit(s.url).port,
            destination_port=urlsplit(d.url).port,
            stdout=open(os.devnull, "w"),  # noqa: SIM115
        )
        try:
            yield Platform(live_server.url, source, destination)
        finally:
            source.jobs.cancel_all()
            destination.jobs.cancel_all()


@pytest.fixture
def worker(qcluster, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """Runs launched from the browser go to the real qcluster, not run inline (sync mode)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    return qcluster


@pytest.fixture
def browser_page(
    playwright_driver, chromium: str, platform: Platform, tmp_path: Path
) -> Iterator[Callable]:
    """browser_page(user, phone=False) -> a Playwright page logged in as `user` through the
    login form, in a fresh Chromium profile (its own --user-data-dir) per test and viewport.
    `phone=True` opens it as a phone does: 390x844, touch, the page's meta viewport honoured."""
    contexts = []

    def open_as(user, *, phone: bool = False) -> object:
        profile = tmp_path / f"chromium-{user.username}{'-phone' if phone else ''}"
        device = (
            {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
            if phone
            else {"viewport": DESKTOP}
        )
        context = playwright_driver.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            **device,
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{platform.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("form [type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def demo_history(platform, alice, bob) -> dict[str, Any]:
    """What the tour leaves behind: checked connections, a finished demo transfer run (with
    its conflicts), a metadata assessment, a completeness assessment and a nightly schedule.
    The runs are started in-process (django-q2's sync mode); shared by test_layout and
    test_names."""
    from completeness.models import CompletenessAssessment
    from completeness.services import AssessmentInput, create_and_start_assessment
    from connections.models import ConnectionProfile, Instance
    from connections.services import start_connection_check
    from jobs.models import Run
    from metadata_sync.services import create_assessment, start_metadata_assessment
    from simulator import datasets
    from tests.conftest import transfer_schedule
    from transfers.models import Transfer
    from transfers.services import start_transfer

    rch = datasets.DEMO["dataSets"]["RCH Monthly"]
    demoland = datasets.DEMO["organisationUnits"]["Demoland"]
    for instance in Instance.objects.all():
        start_connection_check(instance, user=alice, trigger=Run.Trigger.WEB)
    transfer = Transfer.objects.get(name="Demo: RCH Monthly")
    run = start_transfer(transfer, user=bob, trigger=Run.Trigger.WEB)
    run.refresh_from_db()
    assert run.status in {Run.Status.SUCCEEDED, Run.Status.WARNING}, run.error
    profile = ConnectionProfile.objects.get(name="Demo: source to destination")
    metadata = create_assessment(profile, types=["dataElements"], user=alice)
    start_metadata_assessment(metadata, user=alice, trigger=Run.Trigger.WEB)
    source = Instance.objects.get(name="Demo source (simulated)")
    completeness, _ = create_and_start_assessment(
        AssessmentInput(
            instance=source,
            data_set=rch,
            org_units=[demoland],
            periods=[],
            relative_period="LAST_3_MONTHS",
        ),
        user=bob,
        trigger=Run.Trigger.WEB,
    )
    assert CompletenessAssessment.objects.get(pk=completeness.pk).rows.exists()
    transfer_schedule(transfer, "Nightly RCH", "0 2 * * *", "Africa/Nairobi", user=alice)
    return {"run": run, "metadata": metadata, "completeness": completeness}


def docs_screenshots_on() -> bool:
    return os.environ.get("DOCS_SCREENSHOTS", "").lower() in ("1", "true", "yes", "on")


def screenshot(page, name: str, *, docs: bool = False, height: int | None = None) -> Path:
    """Save a full-page screenshot of `page` as .local/screenshots/<name>.png (an artifact).

    `docs=True` marks it as one of the README's pictures: with DOCS_SCREENSHOTS on it is also
    written to docs/screenshots/<name>.jpg, the page's top `height` pixels (the viewport's by
    default) at JPEG quality 80, so the committed pictures stay a few hundred kilobytes in all
    rather than full pages thousands of pixels long."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and docs_screenshots_on():
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page_height = page.evaluate("document.documentElement.scrollHeight")
        clip = {
            "x": 0,
            "y": 0,
            "width": size["width"],
            "height": min(height or size["height"], page_height),
        }
        page.screenshot(
            path=str(DOCS_SCREENSHOTS / f"{name}.jpg"),
            type="jpeg",
            quality=80,
            full_page=True,
            clip=clip,
        )
    return path
