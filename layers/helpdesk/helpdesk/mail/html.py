"""Making inbound HTML mail safe to show to agents, and turning it into plain text.

Both go through one HTML5 parser, html5ever (inside nh3/ammonia), after a linear pass that
bounds what it is given (:func:`bound_html`): html5ever, like every HTML5 tree builder, does
work proportional to the depth of the open-element stack for each tag (scope checks,
reconstructing the active formatting elements), so 30,000 nested ``<div>`` cost seconds
while the same bytes of flat markup cost milliseconds.  With the input capped in size and
in nesting depth, every step after it is linear in the input.

Text is rendered from ammonia's own output reduced to structural tags: that output is
well-formed and escaped (a ``<`` in it always opens a tag), so a single linear scan turns it
into lines without a second parser (inscriptis + lxml took ~1 s per MB and 12 MB of layer).
"""

from __future__ import annotations

import html as html_entities
import re

import nh3

__all__ = [
    "MAX_HTML_BYTES",
    "MAX_HTML_DEPTH",
    "MAX_TAG_ATTRIBUTES",
    "MAX_WHITESPACE_RUN",
    "bound_html",
    "html_to_text",
    "sanitize_html",
]

# A part beyond this many bytes is cut (the raw mail stays in S3 whole).  4 MiB holds any
# real HTML mail (a 2.5 MB order table included) and keeps the worst case near a second.
MAX_HTML_BYTES = 4 * 1024 * 1024
# Open elements deeper than this are unwrapped (their text kept).  Real mail nests about 30
# levels (Outlook's tables in tables); browsers stop somewhere between 200 (Firefox's
# reflow limit) and 512 (WebKit's parser limit); lxml refused anything past 256.
MAX_HTML_DEPTH = 128
# Longer runs of white space are shortened: no screen line is wider, and outside <pre>
# HTML renders any run as one space anyway.
MAX_WHITESPACE_RUN = 256
# Attributes of one tag beyond this many are dropped.  html5ever checks each new attribute
# against the tag's earlier ones (the duplicate rule of WHATWG HTML 13.2.5.33), quadratic
# in their number: one <a> with 100,000 attributes took 5 s in nh3 alone and 45 s per mail.
# Real mail carries a dozen; 256 distinct ones cost html5ever well under a millisecond.
MAX_TAG_ATTRIBUTES = 256
# A tag longer than this may hold more attributes than the cap and is read attribute by
# attribute (shorter ones cannot: an attribute takes at least two characters).
_LONG_TAG_CHARS = 2 * MAX_TAG_ATTRIBUTES
CUT_MARK = "[…]"

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

# Text rendering: elements that start a paragraph (a blank line around them), a line, or a
# table cell; everything else is inline and only its text counts.
_PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl", "table",
     "hr", "address", "figure", "details", "fieldset"}
)  # fmt: skip
_LINE_TAGS = frozenset(
    {"div", "li", "tr", "dt", "dd", "caption", "center", "section", "article", "header",
     "footer", "nav", "aside", "main", "figcaption", "summary", "legend", "form"}
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_TEXT_TAGS = _PARAGRAPH_TAGS | _LINE_TAGS | _CELL_TAGS | {"br"}
_CELL_SEPARATOR = "  "

# The tree builder's view, for bounding (WHATWG HTML, "13.2.6 Tree construction").
_VOID_TAGS = frozenset(
    {"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img",
     "input", "keygen", "link", "meta", "param", "source", "track", "wbr"}
)  # fmt: skip
# Elements whose content is raw text to the tokenizer: tags inside are not tags.
_RAW_TEXT_TAGS = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
     "plaintext"}
)  # fmt: skip
# "Formatting elements" stay in the list of active formatting elements when an ancestor
# closes them, and are re-opened for the next text: they count as open until their own end.
_FORMATTING_TAGS = frozenset(
    {"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong",
     "tt", "u"}
)  # fmt: skip
# Start tags that close an open element of the same group ("optional end tags", 13.1.2.4).
_IMPLIED_END_GROUPS: dict[str, frozenset[str]] = {
    name: group
    for group in (
        frozenset({"p"}), frozenset({"li"}), frozenset({"dt", "dd"}), frozenset({"tr"}),
        frozenset({"td", "th"}), frozenset({"option"}), frozenset({"optgroup"}),
        frozenset({"tbody", "thead", "tfoot"}), frozenset({"rb", "rt", "rp", "rtc"}),
    )
    for name in group
}  # fmt: skip
# Where the search for the element a start tag closes stops (the scopes of 13.2.4.2): a
# <tr> inside a cell's own table closes nothing outside that table.
_BUTTON_SCOPE = frozenset(
    {"table", "td", "th", "caption", "html", "template", "object", "applet", "marquee",
     "button"}
)  # fmt: skip
_TABLE_SCOPE = frozenset({"table", "html", "template"})
_LIST_ITEM_STOPS = _BUTTON_SCOPE | {"ul", "ol", "dl", "blockquote"}
_IMPLIED_END_STOPS: dict[str, frozenset[str]] = {
    "p": _BUTTON_SCOPE, "li": _LIST_ITEM_STOPS, "dd": _LIST_ITEM_STOPS, "tr": _TABLE_SCOPE,
    "td": _TABLE_SCOPE, "option": frozenset({"select"}), "optgroup": frozenset({"select"}),
    "tbody": _TABLE_SCOPE, "rb": frozenset({"ruby"}),
}  # fmt: skip
_IMPLIED_STOPS_BY_NAME = {
    name: _IMPLIED_END_STOPS[min(group)] for name, group in _IMPLIED_END_GROUPS.items()
}
# A block start tag closes an open <p> first.
_CLOSES_P = _PARAGRAPH_TAGS | _LINE_TAGS - {"li", "dt", "dd", "tr", "caption"}
_IMPLIED_SEARCH = 4
# Formatting elements left open by a closed ancestor stay in the list of active formatting
# elements and are re-opened before every later text (13.2.4.3; the "Noah's Ark" clause
# limits only identical ones to three): 20,000 "<b id=N><p>x" made html5ever build and
# clone elements for every paragraph.  Such elements get an explicit end tag where their
# ancestor closes, so none lingers (the formatting then ends with its block).

# A tag as a tokenizer sees it; "[^<>]*" stops at the next "<", so matches never overlap
# and a document of unterminated "<div" costs one pass.
_TOKEN = re.compile(r"<(?:!--|(/?)([a-z][^\s/<>]*)[^<>]*>?)", re.IGNORECASE)
# One attribute as the tokenizer reads it (13.2.5.32-38): a name, then maybe "=" and a
# double-quoted, single-quoted or unquoted value; "/" between attributes is ignored.
_ATTRIBUTE = re.compile(r"""([^\s/>][^\s/>=]*)(?:\s*=\s*("[^"]*"?|'[^']*'?|[^\s>]*))?""")
_RAW_TEXT_ENDS = {name: re.compile(f"</{name}", re.IGNORECASE) for name in _RAW_TEXT_TAGS}
# Text runs longer than this are cut into several text nodes (see _split_text_run).
_MAX_TEXT_RUN = 4096
_WHITESPACE_RUN = re.compile(rf"\s{{{MAX_WHITESPACE_RUN + 1},}}")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CLEAN_TAG = re.compile(r"<(/?)([a-z0-9]+)>")
_COLLAPSIBLE_SPACE = re.compile(r"[ \t\n\r\f]+")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.strip().lower().startswith(_IMAGE_SCHEMES) else None
    return value


def sanitize_html(html: str) -> str:
    """Return ``html`` reduced to a safe allowlist of tags and attributes (nh3/ammonia).

    Scripts, styles and event handlers are removed with their content; images may only
    point at ``cid:`` parts or https URLs; links get ``rel="noopener noreferrer"``.  The
    input is bounded first (:func:`bound_html`).
    """
    return _bounded_and_cleaned(html, _FOR_AGENTS)


def html_to_text(html: str) -> str:
    """Render ``html`` as readable plain text, without script/style content.

    Paragraphs are separated by a blank line, block elements and ``<br>`` start a line,
    table cells are separated by two spaces; entities are decoded, trailing spaces dropped,
    and runs of blank lines collapsed to one.
    """
    if not html.strip():
        return ""
    return _tidy(_render(_bounded_and_cleaned(html, _TO_STRUCTURE)))


# Built once: a Cleaner keeps its allowlists rather than taking them anew for every mail.
# Both drop script and style elements with their content, and comments.
_FOR_AGENTS = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS),
    clean_content_tags=set(_CONTENT_DROPPED_TAGS),
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    url_schemes=set(_LINK_SCHEMES | {"cid"}),
    link_rel="noopener noreferrer",
)
# What html_to_text renders: block structure only, no attributes.
_TO_STRUCTURE = nh3.Cleaner(
    tags=set(_TEXT_TAGS),
    clean_content_tags=set(_CONTENT_DROPPED_TAGS),
    attributes={},
    link_rel=None,
)


def _bounded_and_cleaned(html: str, cleaner: nh3.Cleaner) -> str:
    bounded = bound_html(html)
    try:
        return cleaner.clean(bounded)
    except Exception:
        # nh3 refuses only text Rust cannot hold (lone surrogates from broken decoding).
        return cleaner.clean(_surrogates_replaced(bounded))


def bound_html(html: str) -> str:
    """See :func:`_bound_html`; the last result is reused for the same string object, since
    a mail's HTML is bounded once for its text and once for sanitising."""
    if _last_bounded and _last_bounded[0][0] is html:
        return _last_bounded[0][1]
    bounded = _bound_html(html)
    _last_bounded[:] = [(html, bounded)]
    return bounded


_last_bounded: list[tuple[str, str]] = []


def _bound_html(html: str) -> str:
    """``html`` cut to :data:`MAX_HTML_BYTES`, nested at most :data:`MAX_HTML_DEPTH` deep and
    with no white-space run longer than :data:`MAX_WHITESPACE_RUN`; one linear pass.

    Tags beyond the depth are dropped with their matching end tags, keeping their content,
    so the text survives; what is cut for size ends with :data:`CUT_MARK`.
    """
    cut = False
    if len(html) * 4 > MAX_HTML_BYTES and len(html.encode("utf-8", "surrogatepass")) > (
        MAX_HTML_BYTES
    ):
        html = html.encode("utf-8", "surrogatepass")[:MAX_HTML_BYTES].decode("utf-8", "ignore")
        cut = True
    html = _CONTROL_CHARS.sub("", html)
    html = _WHITESPACE_RUN.sub(_shortened_run, html)
    bounded = _bound_depth(html)
    return f"{bounded}<p>{CUT_MARK}</p>" if cut else bounded


def _shortened_run(match: re.Match[str]) -> str:
    return match.group(0)[:MAX_WHITESPACE_RUN]


def _bound_depth(html: str) -> str:
    pieces: list[str] = []
    kept_until = 0  # html[:kept_until] is in pieces
    text_from = 0  # where the text run before the next token starts
    skip_until = 0  # inside a comment or raw-text element
    stack: list[str] = []
    open_counts: dict[str, int] = {}
    dropped: dict[str, int] = {}
    # The last formatting element opened: (name, start of its tag, end of its tag).
    empty: tuple[str, int, int] = ("", -1, -1)
    for token in _TOKEN.finditer(html):
        start = token.start()
        if start < skip_until:
            continue
        if start - text_from > _MAX_TEXT_RUN:
            pieces.append(html[kept_until:text_from])
            pieces.append(_split_text_run(html[text_from:start]))
            kept_until = start
        text_from = token.end()
        closing, name = token.group(1, 2)
        if name is None:  # a comment: to its end, or to the end of the document
            end = html.find("-->", start + 4)
            skip_until = text_from = len(html) if end < 0 else end + 3
            continue
        name = name.lower()
        if closing:  # an end tag
            if dropped.get(name):
                dropped[name] -= 1
                pieces.append(html[kept_until:start])
                kept_until = text_from
                continue
            if open_counts.get(name):
                closed: list[str] = []
                while stack:
                    popped = stack.pop()
                    open_counts[popped] -= 1
                    if popped == name:
                        break
                    if popped in _FORMATTING_TAGS:
                        closed.append(popped)
                if closed:
                    pieces.append(html[kept_until:start])
                    pieces.append(_end_tags(closed))
                    kept_until = start
        elif name in _VOID_TAGS:
            pass
        elif name in _RAW_TEXT_TAGS:
            # Its content up to the matching end tag is text, not markup (13.2.5.2-4); an
            # unterminated element runs to the end of the document, as in a browser.
            end_tag = _RAW_TEXT_ENDS[name].search(html, text_from)
            skip_until = len(html) if end_tag is None else end_tag.start()
        else:
            implied = (
                _close_implied(name, stack, open_counts)
                if name in _IMPLIED_END_GROUPS or (name in _CLOSES_P and stack and stack[-1] == "p")
                else None
            )
            if implied:
                closed = [popped for popped in reversed(implied) if popped in _FORMATTING_TAGS]
                if closed == [empty[0]] and start == empty[2] and kept_until <= empty[1]:
                    # An element closed right after its start tag holds nothing: both go.
                    pieces.append(html[kept_until : empty[1]])
                    kept_until = start
                elif closed:
                    pieces.append(html[kept_until:start])
                    pieces.append(_end_tags(closed))
                    kept_until = start
            if len(stack) >= MAX_HTML_DEPTH:
                dropped[name] = dropped.get(name, 0) + 1
                pieces.append(html[kept_until:start])
                kept_until = text_from
                continue
            stack.append(name)
            open_counts[name] = open_counts.get(name, 0) + 1
            if name in _FORMATTING_TAGS:
                empty = (name, start, text_from)
        if text_from - start > _LONG_TAG_CHARS:
            short_tag = _with_bounded_attributes(token, closing=bool(closing))
            if short_tag is not None:
                pieces.append(html[kept_until:start])
                pieces.append(short_tag)
                kept_until = text_from
    if len(html) - text_from > _MAX_TEXT_RUN and text_from >= skip_until:
        pieces.append(html[kept_until:text_from])
        pieces.append(_split_text_run(html[text_from:]))
        kept_until = len(html)
    if not pieces:
        return html
    pieces.append(html[kept_until:])
    return "".join(pieces)


def _end_tags(names: list[str]) -> str:
    return "".join(f"</{name}>" for name in names)


def _with_bounded_attributes(token: re.Match[str], *, closing: bool) -> str | None:
    """The tag ``token`` with at most :data:`MAX_TAG_ATTRIBUTES` distinct attributes, or
    None when it has no more than that.  As in the tokenizer, a repeated name is ignored
    (13.2.5.33); an end tag's attributes mean nothing (13.2.6) and are dropped."""
    name_end = token.end(2)
    tag_end = token.end() - 1 if token.group(0).endswith(">") else token.end()
    text = token.string[name_end:tag_end]
    opening = token.string[token.start() : name_end]
    if closing:
        return f"{opening}>"
    seen: set[str] = set()
    kept: list[str] = []
    for attribute in _ATTRIBUTE.finditer(text):
        attribute_name = attribute.group(1).lower()
        if attribute_name in seen:
            continue
        if len(seen) >= MAX_TAG_ATTRIBUTES:
            break
        seen.add(attribute_name)
        kept.append(attribute.group(0))
    else:
        return None
    return f"{opening} {' '.join(kept)}>"


def _split_text_run(text: str) -> str:
    # An empty comment between two halves of a text run makes two text nodes, which
    # sanitising strips again: html5ever's serialiser is quadratic in the escaped characters
    # (&, no-break space) of one text node (200,000 "&nbsp;" took 3 s).
    return "<!---->".join(
        text[offset : offset + _MAX_TEXT_RUN] for offset in range(0, len(text), _MAX_TEXT_RUN)
    )


def _close_implied(name: str, stack: list[str], open_counts: dict[str, int]) -> list[str]:
    """Pop what a start tag ``name`` closes implicitly; return the popped elements."""
    if name not in _IMPLIED_END_GROUPS:
        name = "p"  # a block start tag closing the open <p> on top (see the caller)
    group = _IMPLIED_END_GROUPS[name]
    stops = _IMPLIED_STOPS_BY_NAME[name]
    for depth in range(len(stack) - 1, max(-1, len(stack) - 1 - _IMPLIED_SEARCH), -1):
        element = stack[depth]
        if element in stops:
            return []
        if element in group:
            popped = stack[depth:]
            for element in popped:
                open_counts[element] -= 1
            del stack[depth:]
            return popped[1:]
    return []


def _surrogates_replaced(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def _render(structure: str) -> str:
    """Lines from ammonia's output, which holds only :data:`_TEXT_TAGS` without attributes."""
    parts = _CLEAN_TAG.split(structure)
    out: list[str] = []
    breaks = 0  # newlines owed before the next text
    at_line_start = True
    separator = ""
    pre_depth = 0
    list_counters: list[int | None] = []
    for index in range(0, len(parts), 3):
        text = parts[index]
        if text:
            if not pre_depth:
                text = _COLLAPSIBLE_SPACE.sub(" ", text)
                if at_line_start or breaks:
                    text = text.lstrip(" ")
            if text:
                if out and breaks:
                    out.append("\n" * breaks)
                    at_line_start = True
                breaks = 0
                if separator and not at_line_start:
                    out.append(separator)
                separator = ""
                decoded = html_entities.unescape(text).replace("\u00a0", " ")
                out.append(decoded)
                at_line_start = decoded.endswith("\n")
        if index + 2 >= len(parts):
            break
        closing, name = parts[index + 1] == "/", parts[index + 2]
        if name == "br":
            if breaks:
                out.append("\n" * breaks)
                breaks = 0
            out.append("\n")
            at_line_start = True
            separator = ""
        elif name in _CELL_TAGS:
            if not closing:
                separator = _CELL_SEPARATOR
        elif name in _PARAGRAPH_TAGS or name in _LINE_TAGS:
            breaks = max(breaks, 2 if name in _PARAGRAPH_TAGS else 1)
            separator = ""
            if name == "pre":
                pre_depth += -1 if closing else 1
            elif name in ("ul", "ol"):
                if closing:
                    if list_counters:
                        list_counters.pop()
                else:
                    list_counters.append(0 if name == "ol" else None)
            elif name == "li" and not closing:
                out.append("\n" * breaks if out else "")
                breaks = 0
                number = list_counters[-1] if list_counters else None
                if number is None:
                    out.append("* ")
                else:
                    list_counters[-1] = number + 1
                    out.append(f"{number + 1}. ")
                at_line_start = False
    return "".join(out)


def _tidy(text: str) -> str:
    # Line by line rather than with patterns: "[ \t]+\n" over 200,000 spaces without a
    # newline backtracks quadratically.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    blank = False
    for raw_line in lines:
        line = raw_line.rstrip(" \t\u00a0")
        if not line:
            blank = bool(kept)
            continue
        if blank:
            kept.append("")
            blank = False
        kept.append(line)
    return "\n".join(kept)
