"""Finding the new part of a reply: cutting the quoted conversation that clients append.

Clients mark the start of the quoted message in different ways, and they are what we look for:

* attribution lines before a ``>``-quoted block: Gmail/Apple/Thunderbird "On <date>, <name>
  wrote:", Chinese "在 <date>，<name> 写道：" / "<name> 于<date>写道：", Russian
  "<date>, <name> написал(а):" / "пишет:", and Gmail's localised "<date>, <name> <addr>:";
* header blocks of the quoted message, which Outlook (and Foxmail, Yandex, Mail.ru) put in
  place of quoting: "From: ... Sent: ...", "发件人: ... 发送时间: ...", "От: ... Отправлено: ...";
* separator lines: "-----Original Message-----", "-----原始邮件-----", "-----原始郵件-----",
  "-----Исходное сообщение-----".

The language tables of mail-parser-reply (``mailparser_reply``) supply the attribution and
header-block patterns of every language it knows; the patterns below add what it lacks
(Russian, Chinese attribution variants, Outlook separators).

A header block or separator is a hard cut: everything after it is the old message.  An
attribution line followed by ``>`` lines only starts a quote: text *below* the quote is new
again, which is how bottom-posting (Thunderbird, mailing-list etiquette) and inline replies
look.  Forwarded messages are content, not quotes, and are kept.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
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
_GENERIC_ATTRIBUTION = re.compile(r"(?:@|\b(?:19|20)\d\d\b).*[:：]$")
_DECORATION_LINE = re.compile(r"^[-_=*~\s]{5,}$")
_INVISIBLE_CHARS = str.maketrans({"\u00a0": " ", "\u200b": None, "\ufeff": None, "\u3000": " "})


@dataclass(frozen=True)
class _Separator:
    kind: SeparatorKind
    span: int


def strip_quoted(text: str, languages: Sequence[str] = ("en", "zh", "ru")) -> str:
    """Return the new part of a plain-text reply: ``text`` without the quoted conversation.

    Top-posted replies keep what is above the quote; bottom-posted and inline replies keep
    the unquoted lines between and below ``>`` blocks.  When nothing would be left (a message
    that is only a quote), the whole text is returned rather than nothing.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    normalised = [line.translate(_INVISIBLE_CHARS).strip() for line in lines]
    separators = _find_separators(normalised, tuple(languages))
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
    new_part = _tidy(kept)
    return new_part if new_part else _tidy(lines)


def _next_non_blank(lines: Sequence[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index]:
            return index
    return None


def _tidy(lines: Sequence[str]) -> str:
    trimmed = list(lines)
    while trimmed and (not trimmed[-1].strip() or _DECORATION_LINE.match(trimmed[-1])):
        trimmed.pop()
    while trimmed and not trimmed[0].strip():
        trimmed.pop(0)
    text = "\n".join(line.rstrip() for line in trimmed)
    return re.sub(r"\n{3,}", "\n\n", text)


def _find_separators(lines: Sequence[str], languages: tuple[str, ...]) -> dict[int, _Separator]:
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
    for index, found in _library_separators(lines, languages).items():
        separators.setdefault(index, found)
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
    if _GENERIC_ATTRIBUTION.search(line):
        return _Separator("maybe_attribution", 1)
    return None


def _library_separators(lines: Sequence[str], languages: tuple[str, ...]) -> dict[int, _Separator]:
    # Separator lines are short; cutting long lines keeps the library's backtracking
    # patterns ("On .+? .+? wrote:") from going quadratic on a pasted log line.
    text = "\n".join(line[:_MAX_ATTRIBUTION_CHARS] for line in lines)[:_SCAN_LIMIT_CHARS]
    line_starts = [0]
    for position, char in enumerate(text):
        if char == "\n":
            line_starts.append(position + 1)
    found: dict[int, _Separator] = {}
    for kind, pattern in _library_patterns(languages):
        for match in pattern.finditer(text):
            matched = match.group(0)
            start = match.start() + (len(matched) - len(matched.lstrip("\n")))
            line_index = bisect.bisect_right(line_starts, start) - 1
            if lines[line_index].startswith(">") or line_index in found:
                continue
            span = matched.strip("\n").count("\n") + 1
            found[line_index] = _Separator(kind, span if kind == "attribution" else 1)
    return found


@lru_cache(maxsize=8)
def _library_patterns(
    languages: tuple[str, ...],
) -> tuple[tuple[SeparatorKind, re.Pattern[str]], ...]:
    try:
        from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR, MAIL_LANGUAGES
    except ImportError:
        return ()
    patterns: list[tuple[SeparatorKind, re.Pattern[str]]] = [
        ("hard", re.compile(GENERIC_MAIL_SEPARATOR, re.MULTILINE | re.IGNORECASE))
    ]
    for language in dict.fromkeys((*languages, "en")):
        table = MAIL_LANGUAGES.get(language, {})
        keyed: tuple[tuple[str, SeparatorKind], ...] = (
            ("wrote_header", "attribution"),
            ("from_header", "hard"),
        )
        for key, kind in keyed:
            source = table.get(key)
            if isinstance(source, str):
                patterns.append((kind, re.compile(source, re.MULTILINE | re.IGNORECASE)))
    return tuple(patterns)


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


def _find_quote_start(html: str) -> _QuoteStart | None:
    # Tags and attributes are read with two linear patterns rather than one pattern that
    # nests lazy quantifiers, which costs seconds on a tag with thousands of attributes.
    for tag in _HTML_CANDIDATE_TAG.finditer(html):
        name = tag.group(1).lower()
        for attribute in _HTML_ATTRIBUTE.finditer(tag.group(2)):
            key = attribute.group(1).lower()
            value = attribute.group(2).strip("\"'").lower()
            if (key in ("id", "class") and _QUOTE_MARKERS.intersection(value.split())) or (
                name == "blockquote" and key == "type" and value == "cite"
            ):
                return _QuoteStart(tag=name, start=tag.start(), end=tag.end())
    return None


_HTML_INVISIBLE = re.compile(
    r"<(script|style|title|head)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_HTML_TAG = re.compile(r"<[^>]*>")
_BLOCKQUOTE_OPENING = re.compile(r"\s*<blockquote\b[^>]*>", re.IGNORECASE)
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
    without_quotes = html
    for _ in range(_MAX_HTML_QUOTES_REMOVED):
        found = _find_quote_start(without_quotes)
        if found is None:
            break
        end = _element_end(without_quotes, found)
        without_quotes = without_quotes[: found.start] + without_quotes[end:]
    return without_quotes if _has_visible_text(without_quotes) else html


def _has_visible_text(html: str) -> bool:
    text = _HTML_TAG.sub("", _HTML_INVISIBLE.sub("", html))
    return bool(_HTML_SPACE.sub("", text))


def _element_end(html: str, found: _QuoteStart) -> int:
    tag = found.tag
    if tag == "hr":
        return len(html)
    tags = re.compile(rf"<(/?){tag}\b[^>]*>", re.IGNORECASE)
    depth = 1
    for closing in tags.finditer(html, found.end):
        depth += -1 if closing.group(1) else 1
        if depth == 0:
            end = closing.end()
            # Thunderbird's cite prefix is followed by the blockquote it introduces.
            following = _BLOCKQUOTE_OPENING.match(html, end)
            if tag == "div" and following:
                quote = re.compile(r"<(/?)blockquote\b[^>]*>", re.IGNORECASE)
                quote_depth = 0
                for piece in quote.finditer(html, end):
                    quote_depth += -1 if piece.group(1) else 1
                    if quote_depth == 0:
                        return piece.end()
                return len(html)
            return end
    return len(html)
