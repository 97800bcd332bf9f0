"""The key pages as they look after the demo tour, on a desktop and at a phone's width.

At 390x844 the page itself never scrolls sideways, a wide table scrolls inside its own
container, and the main menu is on screen with targets big enough to tap. The data behind the
pages comes from real runs against the served simulators, started in-process (django-q2's sync
mode), so the pages are as full as after the tour in the README."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from playwright.sync_api import expect

from simulator import datasets
from tests.browser.conftest import PHONE, screenshot

RCH = datasets.DEMO["dataSets"]["RCH Monthly"]
DEMOLAND = datasets.DEMO["organisationUnits"]["Demoland"]
#: WCAG 2.2's minimum target size (2.5.8), in CSS pixels.
MIN_TARGET = 24

#: What sticks out of the viewport: the page's scroll width, and each visible table that is
#: wider than the screen without an ancestor that scrolls it (overflow-x auto or scroll) and
#: itself fits, plus the first few elements that stick out of the page (to say what to fix).
LAYOUT = """(vw) => {
  const scroller = (el, clips = ["auto", "scroll"]) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (clips.includes(getComputedStyle(up).overflowX)) return up;
    }
    return null;
  };
  const fits = (el) => { const r = el.getBoundingClientRect(); return r.left >= -1 && r.right <= vw + 1; };
  const visible = (el) => el.getClientRects().length > 0;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const tables = [...document.querySelectorAll("table")].filter(visible).filter((t) => {
    if (fits(t)) return false;
    const box = scroller(t);
    return !(box && fits(box));
  }).map(describe);
  const sticking = [...document.body.querySelectorAll("*")].filter(visible)
    .filter((el) => { const box = scroller(el, ["auto", "scroll", "hidden", "clip"]); return !fits(el) && !(box && fits(box)); })
    .slice(0, 8).map((el) => describe(el) + " right=" + Math.round(el.getBoundingClientRect().right));
  return {viewport: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, tables, sticking};
}"""

#: The main menu's links and the log-out button: on screen, and each at least MIN_TARGET tall.
MENU = """(vw) => {
  const targets = [...document.querySelectorAll("header nav a, header .user a, header .user button")];
  return targets.map((el) => {
    const r = el.getBoundingClientRect();
    return {text: el.textContent.trim(), left: r.left, right: r.right, width: r.width,
            height: r.height, onScreen: r.width > 0 && r.left >= -1 && r.right <= vw + 1};
  });
}"""

MENU_ITEMS = [
    "Dashboard", "Runs", "Connections", "Transfers", "Metadata", "Completeness", "Tracker",
    "Schedules",
]  # fmt: skip


def _check_layout(page: Any, what: str) -> None:
    # A phone widens its layout viewport to fit content wider than the screen (and zooms out),
    # so the screen's width is the measure, not what innerWidth says afterwards.
    width = PHONE["width"]
    layout = page.evaluate(LAYOUT, width)
    assert layout["viewport"] == width, f"{what} is wider than the screen: {layout}"
    assert layout["scrollWidth"] <= width + 1, f"{what} scrolls sideways: {layout}"
    assert not layout["tables"], f"{what}: tables wider than the screen: {layout}"
    menu = page.evaluate(MENU, width)
    assert [m["text"] for m in menu][: len(MENU_ITEMS)] == MENU_ITEMS, menu
    off = [m for m in menu if not m["onScreen"]]
    assert not off, f"{what}: menu items off screen: {off}"
    small = [m for m in menu if m["height"] < MIN_TARGET or m["width"] < MIN_TARGET]
    assert not small, f"{what}: menu targets smaller than {MIN_TARGET} px: {small}"


def test_dashboard_after_the_tour(browser_page, platform, demo_history, bob: User) -> None:
    page = browser_page(bob)
    expect(page.locator("#next-runs")).to_contain_text("Nightly RCH")
    expect(page.locator("#health .status-succeeded")).to_have_count(2)  # both instances OK
    run = demo_history["run"]
    expect(page.get_by_role("link", name=run.title, exact=True).first).to_be_visible()
    screenshot(page, "dashboard", docs=True, height=1000)


def test_key_pages_fit_a_phone(browser_page, platform, demo_history, bob: User) -> None:
    page = browser_page(bob, phone=True)
    run, metadata = demo_history["run"], demo_history["metadata"]
    pages = [
        ("dashboard", "/"),
        ("transfers", "/transfers/"),
        ("run page", f"/runs/{run.pk}/"),
        ("metadata review", f"/metadata/assessments/{metadata.pk}/"),
        ("completeness heat map", f"/completeness/{demo_history['completeness'].pk}/"),
        ("schedules", "/schedules/"),
        ("connections", "/connections/"),
    ]
    for what, path in pages:
        page.goto(f"{platform.url}{path}")
        expect(page.locator("main h1")).to_be_visible()
        _check_layout(page, what)
        if what == "dashboard":
            screenshot(page, "phone-dashboard", docs=True)
        elif what == "run page":
            expect(page.locator("#run-summary")).to_contain_text("refused by the destination")
            screenshot(page, "phone-run-page", docs=True, height=1250)
        elif what == "completeness heat map":
            expect(page.locator("table.heat")).to_be_visible()

    # the menu works by touch: from the connections page to the schedules
    page.get_by_role("link", name="Schedules", exact=True).first.tap()
    page.wait_for_url(f"{platform.url}/schedules/")
    expect(page.locator("tr", has_text="Nightly RCH")).to_be_visible()
