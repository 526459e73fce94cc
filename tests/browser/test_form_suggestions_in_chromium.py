"""A customer types the subject of a request in the web form and, before sending anything,
is shown the articles that may answer it, in English, Chinese and Russian (issue 17): the
form served by `helpdesk local` (its form_intake function, with the knowledge bundle the
stack builds as the layer does) shows each article's title and summary in the page; with
``knowledge.help_centre_url`` set, the titles are links to the help centre's pages and the
page links to the help centre. The suggestions run in the page under its
Content-Security-Policy: a blocked script would be a console error.

Drives Debian's Chromium through Playwright; skipped with its reason when it is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pages import page, server

from helpdesk.config import load_config
from helpdesk_local.server import LocalServer

pytestmark = pytest.mark.browser

__all__ = ["page", "server"]  # fixtures of pages.py, used by name

ROOT = Path(__file__).resolve().parents[2]
HELP_CENTRE = "https://help.shop.example"


def type_subject(page: Any, subject: str) -> list[str]:
    """Type ``subject`` as a person does, key by key; the titles suggested, in order."""
    page.locator("#subject").press_sequentially(subject, delay=5)
    page.locator("#suggestions").wait_for(state="visible", timeout=5000)
    return list(page.locator("#suggestion-list li").all_inner_texts())


@pytest.mark.parametrize(
    ("language", "subject", "title", "announced"),
    [
        ("en", "Forgot my pasword", "I forgot my password or cannot sign in", "articles may"),
        ("zh", "发票怎么开", "怎么开发票？", "找到"),
        ("ru", "Где мой заказ", "Где мой заказ? Как отследить посылку", "Статей"),
    ],
)
def test_typing_a_subject_shows_the_article_that_answers_it_with_its_summary(
    server: LocalServer, page: Any, language: str, subject: str, title: str, announced: str
) -> None:
    page.goto(f"{server.url}/form?lang={language}")

    suggested = type_subject(page, subject)

    assert suggested[0].startswith(title)
    first = page.locator("#suggestion-list li").first
    # No help centre configured: the title and the summary in the page, no link away.
    assert first.locator("a").count() == 0
    assert first.locator(".summary").inner_text() != ""
    assert announced in page.locator("#suggestion-status").inner_text()
    assert page.locator("#help-centre-link").count() == 0
    assert page.problems == []


def test_a_subject_no_article_answers_shows_nothing(server: LocalServer, page: Any) -> None:
    page.goto(f"{server.url}/form?lang=ru")
    page.locator("#subject").press_sequentially("Вакансия менеджера", delay=5)
    page.wait_for_timeout(200)

    assert page.locator("#suggestions").is_hidden()
    assert page.locator("#suggestion-status").inner_text() == ""
    assert page.problems == []


def test_with_a_help_centre_the_suggestions_link_to_its_pages(page: Any, tmp_path: Path) -> None:
    """The page as form_intake answers it (body and headers, the CSP among them) for a
    config that names a help centre, served to the browser at the API's address."""
    from helpdesk.knowledge.articles import read_articles
    from helpdesk.knowledge.index import build_bundle, write_bundle
    from helpdesk.web import form_page, page_headers

    config = load_config(ROOT / "infra" / "helpdesk.yaml")
    config = config.model_copy(
        update={"knowledge": config.knowledge.model_copy(update={"help_centre_url": HELP_CENTRE})}
    )
    articles, _ = read_articles(ROOT / "infra" / "knowledge")
    write_bundle(build_bundle(articles), tmp_path / "knowledge.json")
    html = form_page(
        config, language="zh", accept_language=None, knowledge_path=str(tmp_path / "knowledge.json")
    )
    address = "https://desk.shop.example/form?lang=zh"
    page.route(
        address,
        lambda route: route.fulfill(
            status=200,
            body=html,
            headers={**page_headers(html), "Content-Type": "text/html; charset=utf-8"},
        ),
    )
    page.goto(address)

    type_subject(page, "发票怎么开")

    link = page.locator("#suggestion-list li a").first
    assert link.inner_text() == "怎么开发票？"
    assert link.get_attribute("href") == f"{HELP_CENTRE}/zh/invoice.html"
    assert page.locator("#help-centre-link").get_attribute("href") == f"{HELP_CENTRE}/zh/index.html"
    assert page.problems == []
