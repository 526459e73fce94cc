"""Russian dates never follow a preposition that wants the genitive.

Babel (CLDR) writes the weekday of a full date in the nominative ("пятница, 4 декабря
2026 г., 17:00"); after "до", "к", "не позднее", "после" Russian needs the genitive or
dative ("до пятницы"), so "до пятница" reads as a mistake (first-user walk-through 18, F7).
The Russian texts put the date alone after a colon instead ("Срок ответа: пятница, …").
These tests fill every Russian words entry, template and saved reply with a real date as
the desk formats it and refuse a preposition in front of it.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk.render import format_local_datetime

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "layers" / "helpdesk" / "helpdesk" / "templates" / "ru"
KNOWLEDGE = REPO / "infra" / "knowledge" / "ru"
# Friday 4 December 2026, 17:00 in Berlin, as the desk writes it for a Russian reader.
FRIDAY = format_local_datetime(datetime(2026, 12, 4, 16, 0, tzinfo=UTC), "Europe/Berlin", "ru")
WEEKDAYS = "понедельник|вторник|среда|четверг|пятница|суббота|воскресенье"
WRONG_CASE = re.compile(
    rf"(?<!\w)(до|к|ко|не позднее|позднее|после|около|с|со|от)\s+({WEEKDAYS})(?!\w)",
    re.IGNORECASE,
)
# The placeholders of a date or time: words.toml's {due}, a template's {{ due }}, a saved
# reply's {promised_time}.
DATE_NAMES = r"due|due_[a-z_]+|promised_by|promised_time|when"
PLACEHOLDER = re.compile(rf"\{{\{{\s*({DATE_NAMES})\s*\}}\}}|\{{({DATE_NAMES})\}}")


def _words(table: dict[str, object], path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            found.extend(_words(value, f"{path}{key}."))
        elif isinstance(value, str):
            found.append((f"words.toml [{path}{key}]", value))
    return found


def _texts() -> list[tuple[str, str]]:
    words = tomllib.loads((TEMPLATES / "words.toml").read_text(encoding="utf-8"))
    texts = _words(words)
    texts += [(p.name, p.read_text(encoding="utf-8")) for p in sorted(TEMPLATES.glob("*.txt"))]
    texts += [(p.name, p.read_text(encoding="utf-8")) for p in sorted(KNOWLEDGE.glob("*.md"))]
    return texts


def test_the_desk_writes_a_russian_weekday_in_the_nominative() -> None:
    # What makes the rule necessary: the formatter cannot inflect after a preposition.
    assert FRIDAY.startswith("пятница, 4 декабря 2026")


@pytest.mark.parametrize("where, text", [pytest.param(w, t, id=w) for w, t in _texts()])
def test_no_russian_text_puts_a_date_after_a_preposition(where: str, text: str) -> None:
    filled = PLACEHOLDER.sub(FRIDAY, text)
    wrong = [m.group(0) for m in WRONG_CASE.finditer(filled)]
    assert wrong == [], f"{where}: {wrong}"
