"""A customer on a phone tells the team lead from the survey page, in each of the desk's
languages: the box is found by its label, the words are sent, the page says a lead
answers and by when, and the ticket is flagged ``complaint`` with the words kept.

The same Chromium and local server as the other browser tests (pages.py);
skipped with its reason where Chromium is not installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from pages import (
    PHONE,
    advance,
    file_request,
    phone_page,
    server,
    solve_by_mail,
    state,
)

from helpdesk.render import language_words
from helpdesk_local.server import LocalServer

pytestmark = pytest.mark.browser

__all__ = ["server"]  # fixtures of pages.py, used by name

LINK = re.compile(r"https?://\S+/survey/[^\s\"'<>]+")
WORDS = {
    "en": "Nobody told me my kettle was out of stock.",
    "zh": "没有人告诉我水壶缺货。",
    "ru": "Никто не сказал мне, что чайника нет в наличии.",
}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    with phone_page(browser, timezone_id="Europe/Berlin") as tab:
        yield tab


def opened_in(server: LocalServer, language: str) -> str:
    """A request in ``language`` through the form's route; its reference."""
    return file_request(
        server,
        {
            "name": f"Customer {language}",
            "email": f"customer-{language}@example.com",
            "subject": "Kettle",
            "message": "Where is my kettle?",
            "language": language,
        },
    )


@pytest.mark.parametrize("language", ["en", "zh", "ru"])
def test_a_customer_on_a_phone_tells_the_team_lead_from_the_survey_page(
    server: LocalServer, phone: Any, language: str
) -> None:
    ref = opened_in(server, language)
    solve_by_mail(server, ref)
    advance(server, "1h30m")
    [survey] = [m for m in state(server)["outbox"] if m["kind"] == "survey" and m["ticket"] == ref]
    said = language_words("survey_complaint", language)

    # The link names the deployed API; the local server serves the same path.
    link = urlsplit(LINK.findall(survey["text"])[0])
    phone.goto(f"{server.url}{link.path}?{link.query}")
    phone.get_by_label(said["label"]).fill(WORDS[language])
    phone.get_by_role("button", name=said["send"]).click()

    phone.wait_for_load_state()
    assert phone.get_by_role("heading", level=1).inner_text() == said["title"]
    assert ref in phone.get_by_role("status").inner_text()
    # The box fits the phone's width: nothing to scroll sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    [ticket] = [t for t in state(server)["tickets"] if t["ref"] == ref]
    assert "complaint" in ticket["flags"]
    assert [m["text"] for m in ticket["messages"] if m.get("kind") == "complaint"] == [
        WORDS[language]
    ]
    assert ticket["sla"]["complaint_due"] is not None
    assert phone.problems == []
