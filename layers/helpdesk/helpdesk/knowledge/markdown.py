"""An article's Markdown as safe HTML: the one renderer of the help centre's pages
(``helpdesk kb build``) and of the "this answered my question" page (self-service).

markdown-it-py (CommonMark, tables on) with raw HTML turned off, so ``<script>`` in an
article is shown as text; its link check refuses ``javascript:`` and other unsafe schemes;
the result then goes through nh3 with a short allowlist of tags, attributes and URL schemes
(http, https, mailto). Articles are content, not code (docs/KNOWLEDGE.md).

A link to another article (``returns.md``, ``../zh/returns.md``) goes to ``article_link``
(its language or None, its slug, its ``#fragment``), which says where it points: the help
centre makes it a page of the site; a page that cannot link to articles returns None, and
the link's text stays as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

# A link to another article as markdown-it writes it, with the text it wraps.
_ARTICLE_LINK = re.compile(
    r'<a href="(?:\./)?(?:\.\./([a-z]{2,3})/)?([a-z0-9-]+)\.md(#[^"]*)?">(.*?)</a>', re.DOTALL
)
_TAGS = {
    "p", "a", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "h2", "h3",
    "h4", "table", "thead", "tbody", "tr", "th", "td", "br", "hr",
}  # fmt: skip

ArticleLink = Callable[[str | None, str, str], str | None]


def article_html(markdown: str, *, article_link: ArticleLink) -> str:
    """``markdown`` as HTML that is safe to put in a page: no raw HTML, safe links only,
    allowlisted tags; links between articles pointed by ``article_link``."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    html = parser.render(markdown)

    def relink(match: re.Match[str]) -> str:
        language, slug, fragment, text = match[1], match[2], match[3] or "", match[4]
        href = article_link(language, slug, fragment)
        return text if href is None else f'<a href="{href}">{text}</a>'

    return nh3.clean(
        _ARTICLE_LINK.sub(relink, html),
        tags=_TAGS,
        attributes={"a": {"href"}, "th": {"style"}, "td": {"style"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
