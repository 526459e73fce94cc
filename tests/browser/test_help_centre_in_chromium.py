"""A customer in a real browser searches the static help centre that `helpdesk kb build`
writes, in English, Chinese and Russian, misspelt and inflected, and reads an article.

The site is served by a plain static file server on 127.0.0.1, as S3 would serve it:
the search runs in the page. Drives Debian's Chromium through Playwright; skipped with its
reason when Chromium is missing.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk_local.cli import main

pytestmark = pytest.mark.browser


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("helpcentre")
    assert main(["kb", "build", "--out", str(out)]) == 0
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def search(browser: Any, site: str, language: str, query: str) -> tuple[list[str], str]:
    """Type ``query`` into the search box of ``language``'s index: the titles shown, in
    order, and what the status line announces."""
    page = browser.new_page()
    try:
        page.goto(f"{site}/{language}/index.html")
        page.get_by_role("searchbox").fill(query)
        page.wait_for_function("document.getElementById('status').textContent !== ''")
        titles = page.locator("#articles li:not([hidden]) a").all_inner_texts()
        return titles, page.locator("#status").inner_text()
    finally:
        page.close()


def test_a_misspelt_english_search_finds_the_password_article_first(
    browser: Any, site: str
) -> None:
    titles, status = search(browser, site, "en", "pasword")
    assert titles[0] == "I forgot my password or cannot sign in"
    assert "matching articles" in status


def test_a_chinese_search_without_spaces_finds_the_refund_article_first(
    browser: Any, site: str
) -> None:
    titles, status = search(browser, site, "zh", "退款多久能到账")
    assert titles[0] == "退款多久到账？"
    assert status.startswith("找到")


def test_an_inflected_russian_search_finds_the_returns_article(browser: Any, site: str) -> None:
    titles, _ = search(browser, site, "ru", "обменять размер")
    assert titles[0] == "Возврат и обмен товара"


def test_a_search_that_matches_nothing_says_so_in_the_pages_language(
    browser: Any, site: str
) -> None:
    titles, status = search(browser, site, "ru", "биткоин")
    assert titles == []
    assert status == "Подходящих статей нет. Напишите нам — мы ответим."


def test_an_article_page_is_in_its_language_and_links_to_other_articles(
    browser: Any, site: str
) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{site}/zh/returns.html")
        assert page.locator("html").get_attribute("lang") == "zh"
        assert page.get_by_role("heading", level=1).inner_text() == "怎么退货、换货？"
        page.get_by_role("link", name="退款", exact=True).click()
        page.wait_for_url(f"{site}/zh/refunds.html")
        assert page.get_by_role("heading", level=1).inner_text() == "退款多久到账？"
        page.get_by_role("link", name="русский").click()
        page.wait_for_url(f"{site}/ru/refunds.html")
        assert page.get_by_role("heading", level=1).inner_text() == "Когда вернутся деньги?"
    finally:
        page.close()
