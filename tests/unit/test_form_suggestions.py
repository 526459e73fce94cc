"""The web form's suggestions (issue 17) as the page carries them: its language's search data
with each article's summary (and help-centre page when one is configured), in a data block
no article text can break out of; nothing at all without articles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fakes import CONFIG
from helpdesk.config import Config
from helpdesk.knowledge.articles import read_articles
from helpdesk.knowledge.index import build_bundle, write_bundle
from helpdesk.web import form_page, json_data_block, page_headers

ROOT = Path(__file__).resolve().parents[2]
DATA_BLOCK = re.compile(
    r'<script type="application/json" id="knowledge-index">(.*?)</script>', re.DOTALL
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    articles, problems = read_articles(ROOT / "infra" / "knowledge")
    assert problems == []
    path = tmp_path_factory.mktemp("bundle") / "knowledge.json"
    write_bundle(build_bundle(articles), path)
    return str(path)


def with_help_centre(url: str) -> Config:
    return CONFIG.model_copy(
        update={"knowledge": CONFIG.knowledge.model_copy(update={"help_centre_url": url})}
    )


def suggestions_in(page: str) -> dict[str, Any]:
    [data] = DATA_BLOCK.findall(page)
    return dict(json.loads(data))


def test_the_page_carries_its_languages_published_articles_with_a_summary(bundle: str) -> None:
    page = form_page(CONFIG, language="ru", accept_language=None, knowledge_path=bundle)

    articles = suggestions_in(page)["articles"]
    assert isinstance(articles, list)
    slugs = [a["slug"] for a in articles]
    assert "returns" in slugs
    assert not any(slug.startswith("reply-") for slug in slugs)  # saved replies are for agents
    returns = next(a for a in articles if a["slug"] == "returns")
    assert returns["title"] == "Возврат и обмен товара"
    assert returns["url"] == ""
    assert 0 < len(returns["summary"]) <= 201 and "**" not in returns["summary"]
    assert "help-centre-link" not in page


def test_a_configured_help_centre_is_linked_from_the_page_and_each_suggestion(bundle: str) -> None:
    config = with_help_centre("https://help.shop.example/kb/")

    page = form_page(config, language="zh", accept_language=None, knowledge_path=bundle)

    assert 'href="https://help.shop.example/kb/zh/index.html" id="help-centre-link"' in page
    invoice = next(a for a in suggestions_in(page)["articles"] if a["slug"] == "invoice")
    assert invoice["url"] == "https://help.shop.example/kb/zh/invoice.html"


def test_without_a_bundle_the_page_suggests_nothing_and_runs_only_the_forms_script(
    tmp_path: Path,
) -> None:
    page = form_page(
        CONFIG, language="en", accept_language=None, knowledge_path=str(tmp_path / "none.json")
    )

    assert "knowledge-index" not in page
    assert 'id="suggestions"' not in page
    assert page_headers(page)["Content-Security-Policy"].count("sha256-") == 3  # 1 script, 2 styles


def test_no_text_in_the_data_block_can_close_it_or_open_markup() -> None:
    block = json_data_block({"title": "</script><script>alert(1)</script><!-- & 退货"})

    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block) == {"title": "</script><script>alert(1)</script><!-- & 退货"}
    assert "退货" in block  # as it is: a third of its \\u-escaped size


def test_a_summary_is_the_articles_words_never_its_table_or_a_cut_lead_in(bundle: str) -> None:
    # First-user run 16, #8: delivery-times read "Destination Standard Express --- --- ---
    # Domestic ...", and parcel-problem stopped at "... within 14 days of delivery with:".
    page = form_page(CONFIG, language="en", accept_language=None, knowledge_path=bundle)

    summaries = {a["slug"]: a["summary"] for a in suggestions_in(page)["articles"]}
    assert summaries["delivery-times"].startswith("Delivery times count from the day")
    assert summaries["parcel-problem"].startswith(
        "We are sorry! Please write to us within 14 days of delivery with: your order number;"
        " a photo of the item"
    )
    assert not any("---" in s or "|" in s or s.endswith(":") for s in summaries.values())


def test_a_chinese_lead_in_goes_on_with_its_list_in_chinese_marks(bundle: str) -> None:
    page = form_page(CONFIG, language="zh", accept_language=None, knowledge_path=bundle)

    summaries = {a["slug"]: a["summary"] for a in suggestions_in(page)["articles"]}
    assert summaries["parcel-problem"] == (
        "非常抱歉！请在签收后 14 天内联系我们，并提供：订单号；如有破损，请拍下商品和外包装的照片；"
        "少了哪件，或者发错了哪件。"
    )


def test_a_list_item_that_wraps_is_summarised_whole() -> None:
    from helpdesk.web import _summary

    article = "Send us:\n\n- your order number,\n  as printed on the receipt;\n- a photo."

    assert _summary(article) == ("Send us: your order number, as printed on the receipt; a photo.")
