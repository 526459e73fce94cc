"""`helpdesk kb build` writes a static help centre: a page per article per language, an
index with search data per language, nothing for agents' eyes only, and safe HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk_local.cfn import load_template
from helpdesk_local.cli import main
from helpdesk_local.helpcentre import render_markdown

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "helpcentre"
    assert main(["kb", "build", "--out", str(out)]) == 0
    return out


def test_each_language_has_an_index_and_a_page_per_published_article(site: Path) -> None:
    for language in ("en", "zh", "ru"):
        pages = {path.name for path in (site / language).glob("*.html")}
        assert "index.html" in pages and "returns.html" in pages and "invoice.html" in pages
        html = (site / language / "returns.html").read_text(encoding="utf-8")
        assert f'<html lang="{language}"' in html
    assert (site / "assets" / "search.js").is_file() and (site / "index.html").is_file()


def test_a_missing_page_is_the_help_centres_own_page_in_every_language(site: Path) -> None:
    # S3 answers a missing key with 403 to CloudFront's origin access control (no
    # s3:ListBucket), which a reader saw as S3's XML "AccessDenied" (SAM review 8, I3).
    distribution = load_template(TEMPLATE)["Resources"]["HelpCentreDistribution"]
    answers = distribution["Properties"]["DistributionConfig"]["CustomErrorResponses"]
    assert {(a["ErrorCode"], a["ResponseCode"]) for a in answers} == {(403, 404), (404, 404)}
    [path] = {a["ResponsePagePath"] for a in answers}
    page = (site / path.lstrip("/")).read_text(encoding="utf-8")
    # Served at the missing page's own path: every link starts at the site's root.
    assert 'href="/assets/style.css"' in page
    for language, words in (("en", "does not exist"), ("zh", "页面不存在"), ("ru", "нет")):
        assert f'href="/{language}/index.html"' in page and words in page


def test_saved_replies_are_not_published(site: Path) -> None:
    assert list(site.rglob("reply-*")) == []
    search = json.loads((site / "en" / "search.json").read_text(encoding="utf-8"))
    assert all(not a["slug"].startswith("reply-") for a in search["articles"])
    assert len(search["articles"]) == len(search["grams"])


def test_the_search_box_has_a_label_and_results_are_announced(site: Path) -> None:
    html = (site / "ru" / "index.html").read_text(encoding="utf-8")
    assert '<label for="q">Поиск по центру помощи</label>' in html
    assert 'role="status" aria-live="polite"' in html
    assert '<a class="skip" href="#content">Перейти к содержанию</a>' in html


def test_links_between_articles_become_links_between_pages() -> None:
    html = render_markdown("See [Refunds](refunds.md) and [中文](../zh/refunds.md#top).")
    assert '<a href="refunds.html"' in html
    assert '<a href="../zh/refunds.html#top"' in html


def test_html_and_script_links_in_an_article_are_shown_as_text_never_run() -> None:
    html = render_markdown(
        "<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    assert "<script" not in html and "<img" not in html and "href=" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_build_refuses_articles_that_validate_refuses(tmp_path: Path) -> None:
    config = tmp_path / "helpdesk.yaml"
    repo = Path(__file__).resolve().parents[2]
    config.write_text((repo / "infra" / "helpdesk.yaml").read_text(encoding="utf-8"))
    (tmp_path / "knowledge" / "en").mkdir(parents=True)
    (tmp_path / "knowledge" / "en" / "broken.md").write_text("no front matter\n")
    with pytest.raises(SystemExit, match=r"broken\.md:1: no front matter"):
        main(["kb", "build", "--config", str(config), "--out", str(tmp_path / "out")])
