"""What the tests of the reports' figures share (test_report*_figures.py): the shipped
config, the daily report of Monday 23 November 2026, a day's figures as the stats
table keeps them, and how a rendered report is read."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from helpdesk.config import Config, load_config
from helpdesk.render import RenderedMail
from helpdesk.services.reports import Period
from helpdesk.services.stats import DayFigures

CONFIG_PATH = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"
MONDAY = Period("daily", date(2026, 11, 23), date(2026, 11, 23))


@pytest.fixture(scope="module")
def config() -> Config:
    """infra/helpdesk.yaml (a fixture: used by importing it into the test module)."""
    return load_config(CONFIG_PATH)


def day(counters: dict[str, int] | None = None, **facts: list[dict[str, Any]]) -> DayFigures:
    """One day's figures: its counters and the facts kept of each kind."""
    return DayFigures("", Counter(counters or {}), dict(facts))


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def assert_no_english(mail: RenderedMail, *words: str) -> None:
    """None of the English ``words`` stands in the mail, in its text or in its HTML."""
    for english in words:
        assert english not in mail.text, english
        assert english not in mail.html, english
