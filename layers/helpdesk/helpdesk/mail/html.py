"""Making inbound HTML mail safe to show to agents, and turning it into plain text."""

from __future__ import annotations

import html as html_entities
import re
from functools import lru_cache
from typing import Any

import nh3

__all__ = ["html_to_text", "sanitize_html"]

_ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
        "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span",
        "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "tt", "u", "ul",
    }
)  # fmt: skip
# No style, class or id: CSS can overlay the agent UI or fetch tracking URLs, and ids can
# clobber the page's own elements.
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"dir", "lang", "title", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign", "scope"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "ol": {"start"},
    "font": {"color"},
    "blockquote": {"cite"},
}
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Remote images over plain http would leak the agent's IP on an unencrypted channel, and
# data: URIs can smuggle SVG; cid: (RFC 2392) points at the mail's own inline parts.
_IMAGE_SCHEMES = ("cid:", "https:")
# Elements whose *content* is not text for a reader (and must not survive sanitising).
_CONTENT_DROPPED_TAGS = frozenset({"script", "style", "title", "noscript", "template", "head"})

_BLANK_LINE_RUNS = re.compile(r"\n[ \t\u00a0]*(?:\n[ \t\u00a0]*)+\n")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")
_TAG = re.compile(r"<[^>]*>")
_INVISIBLE_BLOCKS = re.compile(
    r"<(script|style|title|head|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.strip().lower().startswith(_IMAGE_SCHEMES) else None
    return value


def sanitize_html(html: str) -> str:
    """Return ``html`` reduced to a safe allowlist of tags and attributes (nh3/ammonia).

    Scripts, styles and event handlers are removed with their content; images may only
    point at ``cid:`` parts or https URLs; links get ``rel="noopener noreferrer"``.
    """
    try:
        return nh3.clean(
            html,
            tags=set(_ALLOWED_TAGS),
            clean_content_tags=set(_CONTENT_DROPPED_TAGS),
            attributes=_ALLOWED_ATTRIBUTES,
            attribute_filter=_keep_attribute,
            url_schemes=set(_LINK_SCHEMES | {"cid"}),
            link_rel="noopener noreferrer",
            strip_comments=True,
        )
    except Exception:
        # nh3 refuses only pathological input (e.g. lone surrogates); an escaped copy is
        # still safe to show.
        return html_entities.escape(_plain_fallback(html))


def html_to_text(html: str) -> str:
    """Render ``html`` as readable plain text (inscriptis), without script/style content.

    Entities are decoded, trailing spaces dropped, and runs of blank lines collapsed to one.
    """
    if not html.strip():
        return ""
    try:
        text = _inscriptis_text(html)
    except Exception:
        # lxml rejects some inputs outright ("Document is empty", NUL bytes); a tag strip
        # keeps the words.
        text = _plain_fallback(html)
    return _tidy(text)


def _inscriptis_text(html: str) -> str:
    from inscriptis import get_text

    # lxml refuses NUL and other C0 controls, which broken mail does contain.
    text: str = get_text(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", html), _inscriptis_config())
    return text


@lru_cache(maxsize=1)
def _inscriptis_config() -> Any:
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig

    # The "strict" profile renders block elements without the "relaxed" profile's
    # two-space indentation of every <div>, which mail clients nest deeply.
    return ParserConfig(css=CSS_PROFILES["strict"].copy())


def _plain_fallback(html: str) -> str:
    without_invisible = _INVISIBLE_BLOCKS.sub(" ", html)
    with_breaks = re.sub(r"<(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", "\n", without_invisible, flags=re.I)
    return html_entities.unescape(_TAG.sub("", with_breaks))


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_LINE_RUNS.sub("\n\n", text)
    return text.strip("\n").rstrip()
