"""The customer's own time, from a real browser: a customer in Shanghai files a request on
the Chinese form page, and the acknowledgement promises the answer in Beijing time, the zone
her browser reported (Intl.DateTimeFormat().resolvedOptions().timeZone), not Berlin's.

Drives Debian's Chromium through Playwright as test_form_and_survey_in_chromium does;
skipped with its reason without Chromium.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_local.server import LocalServer, serve

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"HD-[A-Z0-9]{6}")
# Monday 23 November 2026, 08:55 UTC: 09:55 in Berlin, 16:55 in Shanghai.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    running = serve(port=0, smtp_port=0, speed=0, start=MONDAY_MORNING)
    yield running
    running.stop()


@pytest.fixture
def shanghai_page(browser: Any) -> Iterator[Any]:
    """A tab whose browser context says Shanghai (the session's Chromium, tests/browser/
    conftest.py: the locale and time zone belong to the context, not to the browser)."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    yield context.new_page()
    context.close()


def state(server: LocalServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/_local/state", timeout=60) as response:
        return dict(json.loads(response.read()))


def test_a_customer_in_shanghai_is_promised_an_answer_in_beijing_time(
    server: LocalServer, shanghai_page: Any
) -> None:
    page = shanghai_page
    page.goto(server.url + "/form?lang=zh")
    page.fill("#name", "王芳")
    page.fill("#email", "wang@example.cn")
    page.fill("#subject", "我的订单在哪里？")
    page.fill("#message", "我两周前订购了一个水壶，到现在还没有收到。")
    page.locator("button[type=submit]").click()
    page.locator("#form-result").get_by_text(REFERENCE).wait_for()

    current = state(server)
    [ticket] = [t for t in current["tickets"] if t["contact"]["email"] == "wang@example.cn"]
    [ack] = [
        m
        for m in current["outbox"]
        if m["ticket"] == ticket["ref"] and m["kind"] == "acknowledgement"
    ]
    # Four business hours from 09:55 in Berlin: 13:55 there, 20:55 in Shanghai.
    assert "2026年11月23日星期一 20:55 北京时间" in " ".join(ack["text"].split())
    assert "柏林" not in ack["text"]
