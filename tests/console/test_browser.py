"""The console in a real headless Chromium (Debian's ``chromium``, driven by Playwright through
``executable_path``; never a browser download): log in, inspect a learner, post an event through
the API and see the timeline and the list change; the equity page draws its plots; no request
leaves 127.0.0.1; the Chinese console shows no untranslated label. Screenshots of every page,
in both languages, go to ``test-artifacts/console/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from console_world import console_app, tracked_world
from recommender.serving.console.i18n import MESSAGES, VALUES
from serving_world import ADMIN_KEY, KEY

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "console"
PAGES = {"overview": "/console", "learners": "/console/learners?q=d",
         "learner": "/console/learners/d1?why_not=r30", "equity": "/console/equity",
         "catalog": "/console/catalog", "models": "/console/models",
         "experiments": "/console/experiments"}


# The page's text without identifiers (routes, ids, run ids are data, shown in <code>).
VISIBLE_LABELS = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll("code").forEach(node => node.remove());
  document.body.appendChild(copy); copy.style.display = "block";
  const text = copy.innerText; copy.remove(); return text;
}"""


def _browser_or_skip():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; CI installs it)")
    return pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(console_bundle, tmp_path_factory) -> Iterator[str]:
    """The app (API and console) on a real socket, with an MLflow store behind the console."""
    import uvicorn

    tmp_path = tmp_path_factory.mktemp("browser")
    uri, bundle_dir = tracked_world(tmp_path, console_bundle)
    app = console_app(bundle_dir, f"sqlite:///{tmp_path / 'serving.db'}", tracking_uri=uri)
    port = _free_port()
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                            log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = _browser_or_skip()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh browser context that records every request its pages make."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    yield page
    context.close()


def log_in(page, server: str, lang: str = "en") -> None:
    page.goto(f"{server}/console?lang={lang}")
    assert "/console/login" in page.url  # no session: the login page, nothing else
    page.fill("#key", ADMIN_KEY)
    page.click("#login")
    page.wait_for_url(re.compile(r".*/console\?lang="))


def only_local(urls: list[str]) -> None:
    assert urls, "no request was recorded"
    foreign = [u for u in urls if urlparse(u).hostname != "127.0.0.1"
               and not u.startswith(("data:", "about:"))]
    assert foreign == []


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_event_posted_through_the_api_shows_in_the_inspector(page, server) -> None:
    log_in(page, server)
    page.goto(f"{server}/console/learners?lang=en")
    page.fill("#q", "d1")
    page.click("#search")
    page.click("text=d1")
    page.wait_for_selector("#delivery-list")
    assert page.locator("#timeline-empty").count() == 1
    before = page.locator("#delivery-list td code").all_inner_texts()
    assert before, "the learner has a list"
    earned_before = float(page.locator("#ledger-earned").inner_text().split()[0])
    first = before[0]
    just_now = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    answer = httpx.post(f"{server}/v1/events", headers=KEY, json={
        "event_id": "browser-1", "learner_id": "d1", "resource_id": first,
        "event_type": "complete", "timestamp": just_now})
    assert answer.status_code in (200, 201), answer.text
    page.reload()
    timeline = page.locator("#timeline").inner_text()
    assert first in timeline
    after = page.locator("#delivery-list td code").all_inner_texts()
    assert first not in after and len(after) == len(before)
    earned_after = float(page.locator("#ledger-earned").inner_text().split()[0])
    assert earned_after == earned_before + 1.0  # every resource of this world carries 1 hour
    page.fill("#why_not", first)
    page.click("#ask")
    assert "done with it" in page.locator("#why-not-answer").inner_text()
    shoot(page, "learner-after-event-en")
    only_local(page.requested)


def test_the_equity_page_draws_its_plots_from_this_server_only(page, server) -> None:
    log_in(page, server)
    page.goto(f"{server}/console/equity?lang=zh")
    for _ in range(3):  # lists served through the API join the served-exposure plots
        assert httpx.get(f"{server}/v1/learners/f1/recommendations", headers=KEY).is_success
    page.goto(f"{server}/console/equity?lang=zh")
    plots = page.locator("figure.plot svg")
    assert plots.count() == 4 + 2 + 2
    box = plots.first.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    shoot(page, "equity-zh")
    only_local(page.requested)


def test_every_page_in_both_languages_with_no_untranslated_label(page, server) -> None:
    english = sorted({en for en, zh in MESSAGES.values() if en != zh and len(en) > 3}
                     | {en for kind in VALUES.values() for en, zh in kind.values()
                        if en != zh and len(en) > 3},
                     key=len, reverse=True)
    log_in(page, server, "zh")
    for lang in ("zh", "en"):
        for name, path in PAGES.items():
            sep = "&" if "?" in path else "?"
            page.goto(f"{server}{path}{sep}lang={lang}")
            assert page.locator("main h1").count() == 1, (name, lang)
            shoot(page, f"{name}-{lang}")
            if lang == "zh":
                text = page.evaluate(VISIBLE_LABELS)
                leaked = [label for label in english
                          if re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text)]
                assert leaked == [], (name, leaked)
    only_local(page.requested)
