r"""Finding the new part of a reply: cutting the quoted conversation that clients append.

Clients mark the start of the quoted message in different ways, and they are what we look for:

* attribution lines before a ``>``-quoted block: Gmail/Apple/Thunderbird "On <date>, <name>
  wrote:", Chinese "在 <date>，<name> 写道：" / "<name> 于<date>写道：", Russian
  "<date>, <name> написал(а):" / "пишет:", and Gmail's localised "<date>, <name> <addr>:";
* header blocks of the quoted message, which Outlook (and Foxmail, Yandex, Mail.ru) put in
  place of quoting: "From: ... Sent: ...", "发件人: ... 发送时间: ...", "От: ... Отправлено: ...";
* separator lines: "-----Original Message-----", "-----原始邮件-----", "-----原始郵件-----",
  "-----Исходное сообщение-----".

Every rule looks at one line (or two, for a wrapped attribution) of at most
``_MAX_ATTRIBUTION_CHARS`` with anchored patterns, within the first ``_SCAN_LIMIT_CHARS`` of
the body, so detection is linear in the text.  mail-parser-reply's tables were used here
before; its English attribution pattern (``On\s(?:.+?\s?.+?)\s?wrote:``) backtracks
quadratically on every line starting with "On " (2.9 s for 120 kB), and its other English
and Chinese patterns duplicate the rules below.

A header block or separator is a hard cut: everything after it is the old message.  An
attribution line followed by ``>`` lines only starts a quote: text *below* the quote is new
again, which is how bottom-posting (Thunderbird, mailing-list etiquette) and inline replies
look.  Forwarded messages are content, not quotes, and are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["strip_quoted", "strip_quoted_html"]

SeparatorKind = Literal["hard", "attribution", "maybe_attribution", "forward"]

# Quote detection reads only the start of a body: replies put the separator near the top,
# and the library's multi-line patterns are too slow to run over megabytes of pasted logs.
_SCAN_LIMIT_CHARS = 100_000
_MAX_ATTRIBUTION_CHARS = 400

_FORWARD_MARKER = re.compile(
    r"^[-=_\s]*(?:begin forwarded message|forwarded message|пересылаемое сообщение|"
    r"переадресованное сообщение|转发的?邮件|轉寄郵件)[-=_:\s]*$",
    re.IGNORECASE,
)
_ORIGINAL_MARKER = re.compile(
    r"^[-=_\s]*(?:original message|original|исходное сообщение|原始邮件|原始郵件|原邮件)[-=_\s]*$",
    re.IGNORECASE,
)
_ORIGINAL_MARKER_NEEDS_DASHES = re.compile(r"^[-=_]{2,}")
_FROM_FIELD = re.compile(
    r"^\*?(?:from|von|de|da|van|发件人|寄件者|寄件人|от|от кого)\s*\*?\s*[:：]", re.IGNORECASE
)
_SENT_FIELD = re.compile(
    r"^\*?(?:sent|date|gesendet|datum|envoyé|fecha|enviado|发送时间|日期|时间|寄件日期|"
    r"отправлено|дата)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_ENGLISH_ATTRIBUTION_START = re.compile(r"^on\s", re.IGNORECASE)
_WROTE_END = re.compile(r"(?:\bwrote|写道|寫道|написал(?:\(а\)|а)?|пишет)\s*[:：]?$", re.IGNORECASE)
_DATE_OR_ADDRESS = re.compile(r"[@\d]")
# "<address or year> ... :" at the end of a line; tested as "ends with a colon" and a search,
# since "(?:@|year).*:$" retries ".*" from every "@" of a line full of them.
_GENERIC_ATTRIBUTION_MARK = re.compile(r"@|\b(?:19|20)\d\d\b")
_DECORATION_LINE = re.compile(r"^[-_=*~\s]{5,}$")
_INVISIBLE_CHARS = str.maketrans({"\u00a0": " ", "\u200b": None, "\ufeff": None, "\u3000": " "})


@dataclass(frozen=True)
class _Separator:
    kind: SeparatorKind
    span: int


def strip_quoted(text: str) -> str:
    """Return the new part of a plain-text reply: ``text`` without the quoted conversation.

    Top-posted replies keep what is above the quote; bottom-posted and inline replies keep
    the unquoted lines between and below ``>`` blocks.  When nothing would be left (a message
    that is only a quote), the whole text is returned rather than nothing.
    """
    return new_part(text) or _tidy(_lines(text))


def new_part(text: str) -> str:
    """The new part of a plain-text reply, as :func:`strip_quoted`, but empty when the
    message is only a quote: an agent's mail that quotes ours and adds nothing has nothing
    to relay (a customer's is kept whole by :func:`strip_quoted` instead)."""
    lines = _lines(text)
    normalised = [line.translate(_INVISIBLE_CHARS).strip() for line in lines]
    separators = _find_separators(normalised)
    kept: list[str] = []
    index = 0
    while index < len(lines):
        current = normalised[index]
        if current.startswith(">"):
            index += 1
            continue
        separator = separators.get(index)
        if separator is None:
            kept.append(lines[index])
            index += 1
            continue
        if separator.kind == "forward":
            kept.extend(lines[index:])
            break
        if separator.kind == "hard":
            break
        following = _next_non_blank(normalised, index + separator.span)
        if following is not None and normalised[following].startswith(">"):
            index += separator.span
            continue
        if separator.kind == "attribution":
            break
        kept.append(lines[index])
        index += 1
    return _tidy(kept)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _next_non_blank(lines: Sequence[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index]:
            return index
    return None


def _tidy(lines: Sequence[str]) -> str:
    trimmed = list(lines)
    while trimmed and (not trimmed[-1].strip() or _DECORATION_LINE.match(trimmed[-1])):
        trimmed.pop()
    first = next((index for index, line in enumerate(trimmed) if line.strip()), len(trimmed))
    del trimmed[:first]  # one slice: popping the front line by line is quadratic
    text = "\n".join(line.rstrip() for line in trimmed)
    return re.sub(r"\n{3,}", "\n\n", text)


def _find_separators(lines: Sequence[str]) -> dict[int, _Separator]:
    separators: dict[int, _Separator] = {}
    scanned = 0
    for index, line in enumerate(lines):
        if scanned > _SCAN_LIMIT_CHARS:
            break
        scanned += len(line) + 1
        if not line or line.startswith(">"):
            continue
        found = _own_separator(lines, index)
        if found is not None:
            separators[index] = found
    return separators


def _own_separator(lines: Sequence[str], index: int) -> _Separator | None:
    line = lines[index]
    if _FORWARD_MARKER.match(line):
        return _Separator("forward", 1)
    if _ORIGINAL_MARKER.match(line) and _ORIGINAL_MARKER_NEEDS_DASHES.match(line):
        return _Separator("hard", 1)
    if _FROM_FIELD.match(line) and any(
        _SENT_FIELD.match(following) for following in lines[index + 1 : index + 5]
    ):
        return _Separator("hard", 1)
    if len(line) > _MAX_ATTRIBUTION_CHARS:
        return None
    if _WROTE_END.search(line):
        # "My colleague wrote:" is prose; an attribution names a date or an address.
        return _Separator(
            "attribution" if _DATE_OR_ADDRESS.search(line) else "maybe_attribution", 1
        )
    # Gmail wraps a long attribution: "On Mon, 1 Jan 2024 at 10:00, Jane Doe <\njane@x> wrote:"
    if index + 1 < len(lines) and _ENGLISH_ATTRIBUTION_START.match(line):
        joined = f"{line} {lines[index + 1]}"
        if len(joined) <= _MAX_ATTRIBUTION_CHARS and _WROTE_END.search(joined):
            return _Separator("attribution", 2)
    if line.endswith((":", "：")) and _GENERIC_ATTRIBUTION_MARK.search(line, 0, len(line) - 1):
        return _Separator("maybe_attribution", 1)
    return None


# Containers that clients wrap around the quoted message in HTML replies: Outlook on the web
# (id="divRplyFwdMsg", "appendonsend"), Outlook desktop ("OutlookMessageHeader",
# hr id="stopSpelling"), Gmail (class="gmail_quote"), Thunderbird (class="moz-cite-prefix"
# before blockquote type="cite"), Yahoo ("yahoo_quoted"), Apple Mail (blockquote type="cite").
_HTML_CANDIDATE_TAG = re.compile(
    r"<(div|blockquote|hr|table|span)\b([^<>]{0,4000})>", re.IGNORECASE
)
_HTML_ATTRIBUTE = re.compile(r"""([A-Za-z_:][-\w:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_QUOTE_MARKERS = frozenset(
    name.lower()
    for name in (
        "divRplyFwdMsg", "appendonsend", "gmail_quote", "moz-cite-prefix", "yahoo_quoted",
        "OutlookMessageHeader", "stopSpelling",
    )
)  # fmt: skip


@dataclass(frozen=True)
class _QuoteStart:
    tag: str
    start: int
    end: int


def _find_quote_start(html: str, position: int = 0) -> _QuoteStart | None:
    # Tags and attributes are read with two linear patterns rather than one pattern that
    # nests lazy quantifiers, which costs seconds on a tag with thousands of attributes.
    for tag in _HTML_CANDIDATE_TAG.finditer(html, position):
        name = tag.group(1).lower()
        for attribute in _HTML_ATTRIBUTE.finditer(tag.group(2)):
            key = attribute.group(1).lower()
            value = attribute.group(2).strip("\"'").lower()
            if (key in ("id", "class") and _QUOTE_MARKERS.intersection(value.split())) or (
                name == "blockquote" and key == "type" and value == "cite"
            ):
                return _QuoteStart(tag=name, start=tag.start(), end=tag.end())
    return None


# The starts of what a reader does not see; each is skipped to its end with one search, so
# thousands of unclosed "<script>" cost one pass (a lazy ".*?</script>" rescanned the rest
# of the document from each of them).
_HTML_INVISIBLE_START = re.compile(r"<(?:(script|style|title|head)\b|!--)", re.IGNORECASE)
_HTML_INVISIBLE_ENDS = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE)
    for name in ("script", "style", "title", "head")
}
_HTML_TAG = re.compile(r"<[^<>]*>")
_BLOCKQUOTE_OPENING = re.compile(r"\s*<blockquote\b[^<>]*>", re.IGNORECASE)
# A bottom-posted reply interleaves a handful of quotes; more is a hostile message.
_MAX_HTML_QUOTES_REMOVED = 50
_HTML_SPACE = re.compile(r"(?:\s|&nbsp;|&#160;|&#xa0;|\u00a0|\u200b)+", re.IGNORECASE)


def strip_quoted_html(html: str) -> str:
    """Return ``html`` cut before the quoted message that the replying client appended.

    For bottom-posted HTML replies (nothing before the quote) the quote containers are
    removed instead, keeping the new text below them; if that leaves nothing either, the
    HTML is returned unchanged.
    """
    first = _find_quote_start(html)
    if first is None:
        return html
    before = html[: first.start]
    if _has_visible_text(before):
        return before
    # Each search resumes where the last quote started: what lies before it holds no marker.
    kept: list[str] = []
    position = 0
    found: _QuoteStart | None = first
    for _ in range(_MAX_HTML_QUOTES_REMOVED):
        if found is None:
            break
        kept.append(html[position : found.start])
        position = _element_end(html, found)
        found = _find_quote_start(html, position)
    kept.append(html[position:])
    without_quotes = "".join(kept)
    return without_quotes if _has_visible_text(without_quotes) else html


def _has_visible_text(html: str) -> bool:
    position = 0
    while True:
        invisible = _HTML_INVISIBLE_START.search(html, position)
        visible = html[position : invisible.start() if invisible else len(html)]
        if _HTML_SPACE.sub("", _HTML_TAG.sub("", visible)):
            return True
        if invisible is None:
            return False
        name = invisible.group(1)
        if name is None:
            end = html.find("-->", invisible.end())
            position = -1 if end < 0 else end + 3
        else:
            closing = _HTML_INVISIBLE_ENDS[name.lower()].search(html, invisible.end())
            position = -1 if closing is None else closing.end()
        if position < 0:
            return False


def _element_end(html: str, found: _QuoteStart) -> int:
    tag = found.tag
    if tag == "hr":
        return len(html)
    tags = re.compile(rf"<(/?){tag}\b[^<>]*>", re.IGNORECASE)
    depth = 1
    for closing in tags.finditer(html, found.end):
        depth += -1 if closing.group(1) else 1
        if depth == 0:
            end = closing.end()
            # Thunderbird's cite prefix is followed by the blockquote it introduces.
            following = _BLOCKQUOTE_OPENING.match(html, end)
            if tag == "div" and following:
                quote = re.compile(r"<(/?)blockquote\b[^<>]*>", re.IGNORECASE)
                quote_depth = 0
                for piece in quote.finditer(html, end):
                    quote_depth += -1 if piece.group(1) else 1
                    if quote_depth == 0:
                        return piece.end()
                return len(html)
            return end
    return len(html)
