"""`helpdesk kb build`: the knowledge base as a static help centre, for S3 or any static host.

One page per article per language, an index per language with a search box, and the
search data (``<lang>/search.json``) made from the same bundle the desk suggests from
(:func:`helpdesk.knowledge.index.search_layer`); the search runs in the browser
(``assets/search.js``), so the site needs no server. Saved replies are for agents and are
not published.

Markdown is rendered by helpdesk.knowledge.markdown (the same renderer as the
self-service page: no raw HTML, safe links only, an allowlist of tags), and every other
value reaches the page through Jinja's autoescape. Links between articles (``returns.md``)
become links between pages (``returns.html``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from helpdesk.config import load_config
from helpdesk.knowledge import KnowledgeBase
from helpdesk.knowledge.articles import read_articles
from helpdesk.knowledge.index import build_bundle, search_layer
from helpdesk.knowledge.markdown import article_html
from helpdesk.render import TEMPLATES_DIR
from helpdesk_local.knowledge_checks import knowledge_problems

PAGES = Path(__file__).resolve().parent / "helpcentre"

# The site's own words; a language without them gets English ones (docs/KNOWLEDGE.md).
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "lang": "en",
        "help_centre": "Help centre",
        "search_label": "Search the help centre",
        "search_placeholder": "e.g. where is my order",
        "all_articles": "All articles",
        "no_match": "No article matches. Write to us and we will answer.",
        "matches": "{count} matching articles",
        "back": "All articles",
        "skip": "Skip to content",
        "languages": "Languages",
        "not_found": "This page does not exist. The help centre's articles are here:",
    },
    "zh": {
        "lang": "zh",
        "help_centre": "帮助中心",
        "search_label": "搜索帮助中心",
        "search_placeholder": "例如：我的订单到哪了",
        "all_articles": "全部文章",
        "no_match": "没有找到相关文章。欢迎直接联系我们。",
        "matches": "找到 {count} 篇相关文章",
        "back": "全部文章",
        "skip": "跳到正文",
        "languages": "语言",
        "not_found": "该页面不存在。帮助中心的文章在这里：",
    },
    "ru": {
        "lang": "ru",
        "help_centre": "Центр помощи",
        "search_label": "Поиск по центру помощи",
        "search_placeholder": "например: где мой заказ",
        "all_articles": "Все статьи",
        "no_match": "Подходящих статей нет. Напишите нам — мы ответим.",
        "matches": "Найдено статей: {count}",
        "back": "Все статьи",
        "skip": "Перейти к содержанию",
        "languages": "Языки",
        "not_found": "Такой страницы нет. Статьи центра помощи — здесь:",
    },
}


@dataclass(frozen=True)
class Site:
    """What was written: the folder, and each language's pages."""

    folder: Path
    pages: dict[str, list[str]]


def render_markdown(markdown: str) -> str:
    """Article Markdown as safe HTML (helpdesk.knowledge.markdown), links between articles
    made links between the site's pages."""
    return article_html(markdown, article_link=_page_link)


def _page_link(language: str | None, slug: str, fragment: str) -> str:
    prefix = f"../{language}/" if language else ""
    return f"{prefix}{slug}.html{fragment}"


def build_site(config_path: Path, out: Path) -> Site:
    """Write the help centre of the config at ``config_path`` into ``out`` (replaced)."""
    config = load_config(config_path)
    problems = knowledge_problems(config_path, config)
    if problems:
        raise SystemExit("\n".join(["the knowledge base has problems:", *map(str, problems)]))
    articles, _ = read_articles(config.knowledge.folder(config_path))
    bundle = build_bundle(articles)
    knowledge = KnowledgeBase(bundle)
    languages = [code for code in config.helpdesk.languages if code in knowledge.languages]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PAGES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    switch = [
        {
            "code": code,
            "name": _language_name(code),
            "help_centre": _words(code)["help_centre"],
            # The switch leads to the same article where it exists, else to the index.
            "pages": {f"{a.slug}.html" for a in knowledge.articles(code) if not a.reply},
        }
        for code in languages
    ]
    if out.exists():
        shutil.rmtree(out)
    (out / "assets").mkdir(parents=True)
    shutil.copy2(PAGES / "style.css", out / "assets" / "style.css")
    # The ranking is the layer's, which the web form's suggestions run too; the page's part
    # follows it.
    (out / "assets" / "search.js").write_text(
        (TEMPLATES_DIR / "_knowledge_search.js").read_text(encoding="utf-8")
        + "\n"
        + (PAGES / "search.js").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    common: dict[str, Any] = {"desk": config.helpdesk.name, "languages": switch, "root": "../"}
    written: dict[str, list[str]] = {}
    for language in languages:
        folder = out / language
        folder.mkdir()
        words = _words(language)
        published = [a for a in knowledge.articles(language) if not a.reply]
        pages = ["index.html"]
        (folder / "index.html").write_text(
            environment.get_template("index.html").render(
                **common, words=words, language=language, page="index.html",
                title=words["help_centre"], articles=published,
            ),
            encoding="utf-8",
        )  # fmt: skip
        for article in published:
            page = f"{article.slug}.html"
            (folder / page).write_text(
                environment.get_template("article.html").render(
                    **common, words=words, language=language, page=page, title=article.title,
                    body=Markup(render_markdown(article.body)),  # noqa: S704 - cleaned by nh3
                ),
                encoding="utf-8",
            )  # fmt: skip
            pages.append(page)
        search = search_layer(bundle["languages"][language])
        (folder / "search.json").write_text(
            json.dumps(search, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
        written[language] = pages
    # The site's root lists the languages; the page CloudFront answers for a missing one
    # (template.yaml, HelpCentreDistribution's CustomErrorResponses) does too, with a
    # sentence saying so, at the missing page's own path: its links start at the root.
    root_page = environment.get_template("root.html")
    (out / "index.html").write_text(
        root_page.render(desk=config.helpdesk.name, languages=switch, root="", not_found=False),
        encoding="utf-8",
    )
    (out / "404.html").write_text(
        root_page.render(
            desk=config.helpdesk.name,
            languages=[language | {"not_found": _words(code)["not_found"]}
                       for code, language in zip(languages, switch, strict=True)],
            root="/",
            not_found=True,
        ),
        encoding="utf-8",
    )  # fmt: skip
    return Site(out, written)


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, {**WORDS["en"], "lang": language})


def _language_name(code: str) -> str:
    from helpdesk.web import language_name

    return language_name(code)
