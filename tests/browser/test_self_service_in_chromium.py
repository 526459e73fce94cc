"""A customer in a real browser answers her own question (issue 17): she opens the "this
answered my question" link of her acknowledgement from the outbox of `helpdesk local`,
reads the article in her language, presses the button and sees the thanks page; a link
that was tampered with gets a clear refusal. In English, Chinese and Russian.

Drives Debian's Chromium (``/usr/bin/chromium``) through Playwright's Python package, as
test_form_and_survey_in_chromium.py does; without Chromium the test is skipped.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

import pytest
from pages import file_request, page, server, state, ticket_of

from helpdesk_local.server import LocalServer

pytestmark = pytest.mark.browser

__all__ = ["page", "server"]  # fixtures of pages.py, used by name


class Customer(TypedDict):
    """A customer's question (the form's fields), and what she sees: the link's words in
    her acknowledgement, the button, and the thanks page's words."""

    form: dict[str, str]
    link: str
    button: str
    thanks: str


CUSTOMERS: dict[str, Customer] = {
    "en": {
        "form": {
            "name": "Anna Schmidt",
            "email": "anna@example.com",
            "subject": "How do I return a sweater?",
            "message": "The sweater is too small. How can I send it back?",
            "language": "en",
        },
        "link": "This answered my question",
        "button": "This answered my question",
        "thanks": "is now solved",
    },
    "zh": {
        "form": {
            "name": "李娜",
            "email": "li@example.cn",
            "subject": "怎么退货",
            "message": "我买的毛衣尺码不合适，想退货，请问退货流程是什么？",
            "language": "zh",
        },
        "link": "这篇文章解答了我的问题",
        "button": "这篇文章解答了我的问题",
        "thanks": "现已解决",
    },
    "ru": {
        "form": {
            "name": "Ольга",
            "email": "olga@example.ru",
            "subject": "Забыла пароль",
            "message": "Не могу войти в личный кабинет, забыла пароль. Как его сбросить?",
            "language": "ru",
        },
        "link": "Статья ответила на мой вопрос",
        "button": "Статья ответила на мой вопрос",
        "thanks": "решено",
    },
}


@pytest.fixture(scope="module", autouse=True)
def requests_filed(server: LocalServer) -> None:
    """Each customer's question, filed through the form's route before the module's tests."""
    for customer in CUSTOMERS.values():
        file_request(server, customer["form"])


def answered_link(server: LocalServer, email: str, words: str) -> str:
    """The path of the "this answered my question" link (``words`` before it) in the
    customer's acknowledgement."""
    text = acknowledgement_text(server, email)
    found = re.search(re.escape(words) + r"[:：]\s*https?://[^/\s]+(/answer/\S+)", text)
    assert found is not None, text
    return found[1]


def acknowledgement_text(server: LocalServer, email: str) -> str:
    [mail] = [
        m for m in state(server)["outbox"] if m["kind"] == "acknowledgement" and m["to"] == [email]
    ]
    return str(mail["text"]).replace("\r\n", "\n")


@pytest.mark.parametrize("language", ["en", "zh", "ru"])
def test_a_customer_confirms_from_her_acknowledgement_that_an_article_answered_her(
    server: LocalServer, page: Any, language: str
) -> None:
    customer = CUSTOMERS[language]
    email = customer["form"]["email"]
    assert ticket_of(server, email)["suggested"], "no article was suggested"

    path = answered_link(server, email, customer["link"])
    # The outbox page lists the mail's links, pointed at this server: she clicks hers.
    page.goto(server.url + "/_local/outbox")
    page.locator(f'a[href$="{path}"]').first.click()

    page.wait_for_load_state()
    assert (page.locator("html").get_attribute("lang") or "").split("-")[0] == language
    # The article's title heads the page: the one her acknowledgement listed first.
    title = page.locator("h1").inner_text()
    assert title and f"- {title}" in acknowledgement_text(server, email)
    assert page.locator("article").inner_text().strip()
    assert ticket_of(server, email)["status"] == "new"  # opening the page changed nothing

    page.get_by_role("button", name=customer["button"]).first.click()

    page.wait_for_load_state()
    assert customer["thanks"] in page.locator("[role=status]").inner_text()
    ticket = ticket_of(server, email)
    assert ticket["status"] == "solved" and "self_served" in ticket["flags"]
    assert page.problems == []


def test_a_tampered_link_shows_a_clear_refusal(server: LocalServer, page: Any) -> None:
    response = page.goto(server.url + "/answer/SEQtQUFBQUFBOnJldHVybnMuOTk5OTk5OTk5OQ.forged")

    assert response.status == 403
    assert page.locator("h1").inner_text() == "This link cannot be used"
    assert "This link is not valid" in page.locator("[role=alert]").inner_text()
    assert page.problems == [] or all("403" in p for p in page.problems)
