"""What the tests of the reports' figures share (test_report*_figures.py): the shipped
config, the daily report of Monday 23 November 2026, and a day's figures as the stats
table keeps them."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from helpdesk.config import Config, load_config
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
