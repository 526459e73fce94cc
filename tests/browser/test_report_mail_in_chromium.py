"""A team lead reads the daily report mail on a phone, in each of the desk's languages: the
HTML part fits the screen (nothing to scroll sideways), the agents' figures included.

Chromium stands in for a phone's mail app: the HTML part is shown as the mail client would
show it, in a 390 px wide viewport (tests/browser/pages.py's PHONE). Skipped with its reason
where Chromium is not installed (conftest.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pages import PHONE

from helpdesk.config import load_config
from helpdesk.services.reports import Period, figures, render_report, week_of
from helpdesk.services.stats import DayFigures

pytestmark = pytest.mark.browser

CONFIG = load_config(Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml")
MONDAY = Period("daily", date(2026, 11, 23), date(2026, 11, 23))


def answered(ref: str, minutes: int, agent: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "seconds": minutes * 60,
        "breached": minutes > 240,
        "has_target": True,
        "policy": "standard",
        "priority": "normal",
        "agent": agent,
    }


def busy_monday() -> DayFigures:
    """Three agents who each answered and solved, with hours-long medians: the widest rows."""
    agents = [agent.email for agent in CONFIG.agents][:3]
    replies = [answered(f"HD-{i:06d}", 61 * (i + 1) + 7, agents[i % 3]) for i in range(9)]
    return DayFigures(
        "",
        Counter({"created": 9, "created#channel#email": 6, "created#channel#form": 3}),
        {"first_response": replies, "resolution": replies},
    )


@pytest.mark.parametrize("language", ["en", "zh", "ru"])
def test_the_report_mail_fits_a_phone_screen_with_every_agent_in_it(
    browser: Any, language: str
) -> None:
    quiet_sunday = DayFigures("", Counter(), {})
    # The trend's four weeks, each as busy as Monday: a row of dates, bars and medians.
    trend = [
        week_of(
            busy_monday(),
            MONDAY.last - timedelta(days=7 * back + 6),
            MONDAY.last - timedelta(days=7 * back),
        )
        for back in range(3, -1, -1)
    ]
    report = figures(busy_monday(), quiet_sunday, {}, period=MONDAY, as_of=MONDAY.last, trend=trend)
    html = render_report(report, CONFIG, language).html
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=1)
    try:
        page = context.new_page()
        page.set_content(html)
        body = page.inner_text("body")
        for agent in [a.email for a in CONFIG.agents][:3]:
            assert agent in body
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
