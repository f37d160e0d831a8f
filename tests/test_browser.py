"""The chat as a person uses it: headless Chromium against real ``council-qa serve`` processes.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install -y chromium``);
without it these tests fail with that instruction rather than skip, because a
skipped browser test would hide an untested UI. Screenshots go to artifacts/.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, FrameLocator, Page, expect, sync_playwright

from tests.serverutil import (
    ARTIFACTS,
    HOSTILE_DOC,
    HOSTILE_QUESTION,
    MAIN_ENV,
    HostPage,
    ServerFarm,
    ServerProcess,
    framed_env,
    record_metric,
)

pytest_plugins = ["tests.serverutil"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXAMPLE = "Vilka åtgärder lovades mot personalomsättningen?"
SECOND = "Hur många socialsekreterare slutade 2024?"
ANSWER_TIMEOUT = 60_000

# Timestamps (performance.now) of the ask, the first streamed text and the finished answer.
TIMING_JS = """
(done_before) => {
  window.__cqa = {click: performance.now(), first: null, done: null};
  const answers = () => document.querySelectorAll('#cqa-chat .cqa-a');
  const seen = () => {
    const now = performance.now();
    const list = answers();
    const last = list.length > done_before ? list[list.length - 1] : null;
    if (!last) return;
    const status = last.getAttribute('data-status');
    const shown = status === 'streaming' || status === 'done';
    if (shown && window.__cqa.first === null) window.__cqa.first = now;
    if (status === 'done' && window.__cqa.done === null) window.__cqa.done = now;
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def timed_ask(page: Page, click: Callable[[], None]) -> dict[str, float]:
    """Milliseconds from the ask to the first streamed text and to the finished answer, timed in the page."""
    page.evaluate(TIMING_JS, page.locator("#cqa-chat .cqa-a").count())
    wait_for_answer(page, click)
    timing = page.evaluate("window.__cqa")
    return {
        "first_text_ms": round(timing["first"] - timing["click"]),
        "done_ms": round(timing["done"] - timing["click"]),
    }


@pytest.fixture(scope="module")
def browser(farm: ServerFarm, host_origin: HostPage) -> Iterator[Browser]:
    # Both servers load their models while the browser starts.
    farm.ensure("main", env=MAIN_ENV)
    farm.ensure("framed", env=framed_env(host_origin))
    farm.ensure("subpath", root_path="/council-qa")
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: run `apt-get install -y chromium` (Debian's package)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    yield context
    context.close()


def open_chat(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    expect(page.locator("#cqa-question textarea")).to_be_editable(timeout=30_000)
    return page, requests


def ask_and_wait(page: Page | Frame | FrameLocator, question: str) -> None:
    page.locator("#cqa-question textarea").fill(question)
    wait_for_answer(page, lambda: page.locator("#cqa-question textarea").press("Enter"))


def wait_for_answer(page: Page | Frame | FrameLocator, ask: Callable[[], None]) -> None:
    """Ask, then wait until the new answer is finished or failed (a failure fails fast, with its text)."""
    finished = page.locator("#cqa-chat .cqa-a[data-status=done], #cqa-chat .cqa-a[data-status=error]")
    before = finished.count()
    ask()
    expect(finished).to_have_count(before + 1, timeout=ANSWER_TIMEOUT)
    last = finished.last
    assert last.get_attribute("data-status") == "done", f"the chat showed an error: {last.inner_text()}"


def api_answer(server: ServerProcess, question: str) -> dict:
    r = httpx.post(server.url + "/api/ask", json={"question": question}, timeout=60)
    r.raise_for_status()
    return r.json()


def test_chat_streams_a_cited_answer_and_highlights_the_passage(
    context: BrowserContext, server: ServerProcess
) -> None:
    started = time.monotonic()
    page, requests = open_chat(context, server.url + "/")
    load_ms = (time.monotonic() - started) * 1000
    navigation = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")

    expect(page.locator(".cqa-header h1")).to_have_text("Fråga kommunens handlingar")
    first = timed_ask(page, page.get_by_role("button", name=EXAMPLE).click)
    answer = page.locator("#cqa-chat .cqa-a[data-status=done]").last
    expect(answer).to_contain_text("Enligt handlingarna")
    expect(answer.locator(".cqa-text button.cqa-cite").first).to_have_text("[1]")
    expected = api_answer(server, EXAMPLE)["citations"]  # the same engine answers the same question alike
    assert answer.locator(".cqa-text button.cqa-cite").count() == len(expected)

    answer.locator(".cqa-text button.cqa-cite").nth(1).click()
    mark = page.locator("#cqa-doc mark.cqa-highlight")
    expect(mark).to_be_visible(timeout=20_000)
    assert mark.text_content() == expected[1]["quote"]
    doc = page.locator("#cqa-doc .cqa-doc")
    assert doc.get_attribute("data-doc-id") == expected[1]["doc_id"]
    expect(doc.locator(".cqa-doc-title")).to_have_text(expected[1]["title"])
    meta = doc.locator(".cqa-doc-meta").inner_text()
    for author in expected[1]["authors"]:
        assert author in meta
    for party in expected[1]["parties"]:
        assert party in meta
    assert mark.is_visible()  # scrolled into view inside the document panel

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    external = [
        u for u in requests if not u.startswith(server.origin) and not u.startswith(("data:", "blob:"))
    ]
    assert external == [], external

    def type_and_send() -> None:
        page.locator("#cqa-question textarea").fill(SECOND)
        page.locator("#cqa-question textarea").press("Enter")

    warm = timed_ask(page, type_and_send)
    record_metric(
        "browser_chat",
        {
            "page_load_ms": round(load_ms),
            "dom_content_loaded_ms": round(navigation["domContentLoadedEventEnd"]),
            "load_event_ms": round(navigation["loadEventEnd"]),
            "first_question": first,
            "second_question": warm,
        },
    )


def test_follow_up_uses_the_chat_history(context: BrowserContext, server: ServerProcess) -> None:
    page, _ = open_chat(context, server.url + "/")
    ask_and_wait(page, "Hur många socialsekreterare slutade 2024?")
    ask_and_wait(page, "och varför?")
    follow_up = page.locator("#cqa-chat .cqa-a[data-status=done]").last
    expect(follow_up).to_contain_text("Enligt handlingarna")
    expect(follow_up).to_contain_text("socialsekreterare")


def test_interface_language_follows_the_browser_and_can_be_switched(
    browser: Browser, server: ServerProcess
) -> None:
    context = browser.new_context(locale="en-GB")
    try:
        page, _ = open_chat(context, server.url + "/")
        expect(page.locator(".cqa-header h1")).to_have_text("Ask the council records")
        expect(page.locator("#cqa-send")).to_have_text("Ask")
        page.get_by_text("Filters and language").click()
        page.get_by_label("Svenska").check()
        expect(page.locator(".cqa-header h1")).to_have_text("Fråga kommunens handlingar")
        expect(page.locator("#cqa-send")).to_have_text("Fråga")
        page.goto(server.url + "/?lang=en")
        expect(page.locator(".cqa-header h1")).to_have_text("Ask the council records")
    finally:
        context.close()


def test_hostile_record_is_shown_as_text_and_never_runs(
    context: BrowserContext, server: ServerProcess
) -> None:
    page, _ = open_chat(context, server.url + "/")
    ask_and_wait(page, HOSTILE_QUESTION)
    answer = page.locator("#cqa-chat .cqa-a[data-status=done]").last
    source = answer.locator(".cqa-sources li", has_text="Motion om <b>säker</b>").first
    expect(source).to_be_visible()
    source.locator("button.cqa-cite").first.click()
    doc = page.locator(f'#cqa-doc .cqa-doc[data-doc-id="{HOSTILE_DOC}"]')
    expect(doc).to_be_visible(timeout=20_000)
    text = doc.locator(".cqa-doc-text").inner_text()
    assert "<script>window.__xss=1</script>" in text
    assert '<img src=x onerror="window.__xss=2">' in text
    expect(doc.locator(".cqa-doc-title")).to_contain_text('<img src=x onerror="window.__xss=3">')
    expect(doc.locator(".cqa-doc-meta")).to_contain_text("<i>Eve</i> Angripare")
    for where in ("#cqa-chat", "#cqa-doc"):
        assert page.locator(f"{where} script, {where} img, {where} b, {where} i").count() == 0
    page.wait_for_timeout(300)  # give an injected onerror handler the chance it must not have
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.screenshot(path=str(ARTIFACTS / "hostile.png"), full_page=True)


def test_feedback_is_stored_with_the_answer(
    context: BrowserContext, server: ServerProcess, farm: ServerFarm
) -> None:
    page, _ = open_chat(context, server.url + "/")
    ask_and_wait(page, "Hur många socialsekreterare slutade 2024?")
    page.locator("#cqa-comment textarea").fill("Bra, men svaret borde nämna perioden.")
    page.locator("#cqa-helpful").click()
    expect(page.locator("#cqa-feedback-status")).to_contain_text("Tack!")
    with sqlite3.connect(farm.index_of("main") / "feedback.sqlite3") as db:
        row = db.execute(
            "SELECT helpful, comment, question, answer, citations, source"
            " FROM feedback ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row[:3] == (
        1,
        "Bra, men svaret borde nämna perioden.",
        "Hur många socialsekreterare slutade 2024?",
    )
    assert "[1]" in row[3]
    assert json.loads(row[4])[0]["quote"]
    assert row[5] == "ui"


def test_embed_renders_in_an_allowed_iframe_at_360_px(
    browser: Browser, framed_server: ServerProcess, host_origin: HostPage
) -> None:
    context = browser.new_context(viewport={"width": 420, "height": 760}, locale="sv-SE")
    try:
        page = context.new_page()
        page.goto(host_origin.url(framed_server.url + "/embed/"))
        frame = page.frame_locator("#qa")
        expect(frame.locator("#cqa-question textarea")).to_be_editable(timeout=30_000)
        expect(frame.locator(".cqa-header h1")).to_have_count(0)  # no header chrome in the embed
        frame.get_by_text("Exempelfrågor").click()  # folded away in the compact layout
        example = frame.get_by_role("button", name="Hur många socialsekreterare slutade 2024?")
        wait_for_answer(frame, example.click)
        answer = frame.locator("#cqa-chat .cqa-a[data-status=done]")
        answer.locator(".cqa-text button.cqa-cite").first.click()
        expect(frame.locator("#cqa-doc mark.cqa-highlight")).to_be_visible(timeout=20_000)
        inner = next(f for f in page.frames if f.url.startswith(framed_server.origin))
        width = inner.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert width[0] <= 360 and width[1] <= width[0], f"horizontal overflow at 360 px: {width}"
        page.screenshot(path=str(ARTIFACTS / "embed-document.png"), full_page=True)
        answer.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "embed.png"), full_page=True)
    finally:
        context.close()


def test_embed_is_refused_by_the_browser_when_the_origin_is_not_allowed(
    browser: Browser, server: ServerProcess, host_origin: HostPage
) -> None:
    context = browser.new_context(locale="sv-SE")
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        page.goto(host_origin.url(server.url + "/embed/"))
        page.wait_for_load_state("load")
        page.wait_for_timeout(1500)
        frames = [f for f in page.frames if f is not page.main_frame]
        assert len(frames) == 1
        frame = frames[0]
        assert not frame.url.startswith(server.origin), frame.url  # chrome-error://chromewebdata/
        assert frame.locator("#cqa-chat").count() == 0
        assert any(re.search(r"frame-ancestors", m) for m in console), console
    finally:
        context.close()


def test_chat_works_under_a_sub_path(context: BrowserContext, subpath_server: ServerProcess) -> None:
    """Behind a proxy at /council-qa every asset, queue call and citation stays under the prefix."""
    page, requests = open_chat(context, subpath_server.url + "/embed/")
    ask_and_wait(page, "Hur många socialsekreterare slutade 2024?")
    page.locator("#cqa-chat .cqa-text button.cqa-cite").first.click()
    expect(page.locator("#cqa-doc mark.cqa-highlight")).to_be_visible(timeout=20_000)
    outside = [u for u in requests if not u.startswith(subpath_server.url + "/")]
    assert outside == [], outside


@pytest.mark.parametrize("which", ["main", "subpath"])
def test_the_api_docs_render_offline(
    context: BrowserContext, server: ServerProcess, subpath_server: ServerProcess, which: str
) -> None:
    """API fuzzing: /docs loaded Swagger UI from cdn.jsdelivr.net, a blank page on an offline intranet."""
    base = (server if which == "main" else subpath_server).url
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(base + "/docs")
    expect(page.locator(".opblock-summary-path").filter(has_text="/api/ask").first).to_be_visible(
        timeout=30_000
    )
    outside = [u for u in requests if not u.startswith(base + "/")]
    assert outside == [], outside
