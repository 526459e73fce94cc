"""Parsing inbound mail, from any client in any charset, into what a ticket needs.

``parse_mail`` never raises: a part that cannot be decoded degrades (and is noted in
``defects``), a message that is not MIME at all still yields its recovered text.  The MIME
structure comes from the standard ``email`` package (``email.policy.compat32``); header
values, parameters and charsets are decoded here from the raw header text, because the
standard decoders trust the declared charset (a ``gb2312`` label on GBK text, the rule in
Chinese mail, fails there) and give up on encoded words that real clients break.
"""

from __future__ import annotations

import base64
import binascii
import email.errors
import email.generator
import email.message
import email.policy
import email.utils
import io
import mimetypes
import re
import unicodedata
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.feedparser import BytesFeedParser
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from helpdesk.characters import BIDI_CONTROLS
from helpdesk.files import clean_filename, file_media_type
from helpdesk.mail.auth import AuthResults, parse_auth
from helpdesk.mail.charsets import (
    decode_bytes,
    decode_header_bytes,
    header_guess_budget,
    keeping_header_guess_reserve,
    looks_iso_2022_jp,
    normalize_charset,
)
from helpdesk.mail.html import html_to_text, sanitize_html
from helpdesk.mail.quotes import strip_quoted, strip_quoted_html

__all__ = [
    "Address",
    "Attachment",
    "AuthResults",
    "DeliveryReport",
    "ParsedMail",
    "decode_header_text",
    "parse_mail",
]

DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_ATTACHMENTS_MAX_COUNT = 20


@dataclass(frozen=True)
class Address:
    """A mailbox: ``email`` keeps the local part as written and lower-cases the domain."""

    email: str
    name: str

    @property
    def key(self) -> str:
        """The address for comparisons (local parts are case-insensitive in practice)."""
        return self.email.lower()


@dataclass(frozen=True)
class Attachment:
    """A non-body part of a mail; ``data`` is empty when ``dropped`` says why."""

    filename: str
    content_type: str
    size: int
    content_id: str | None
    inline: bool
    data: bytes
    dropped: str | None


@dataclass(frozen=True)
class DeliveryReport:
    """The machine-readable part of a delivery status notification (RFC 3464)."""

    original_message_id: str | None
    recipients: tuple[str, ...]
    action: str | None
    status: str | None
    diagnostic: str | None


@dataclass(frozen=True)
class ParsedMail:
    """Everything the helpdesk reads from one inbound message."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    delivered_to: tuple[str, ...]
    return_path: str | None
    subject: str
    date: datetime | None
    text: str
    full_text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    headers: Mapping[str, tuple[str, ...]]
    auth: AuthResults
    spam_verdict: str | None
    virus_verdict: str | None
    report: DeliveryReport | None
    defects: tuple[str, ...]
    unparsed: bool
    # Bytes of the raw mail (whoever reads it again later can decide whether to).
    raw_size: int = 0


# Header names that only real mail has; a "message" none of whose header names is one of
# these is text (or garbage) that lost its headers, not MIME.
_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
        "mime-version", "content-type", "reply-to", "sender", "delivered-to", "x-original-to",
        "in-reply-to", "references", "dkim-signature", "authentication-results",
        "received-spf", "content-transfer-encoding", "x-ses-spam-verdict", "x-mailer",
    }
)  # fmt: skip
_FEED_CHUNK_BYTES = 64 * 1024
_MAX_STRUCTURED_HEADER_CHARS = 4096
_MAX_NESTING = 30
_MAX_DEFECTS = 50
# MIME parts beyond this many are not parsed (the raw mail in S3 keeps them).  The feed
# parser does Python work for every part, so a 1 MB mail of 26,000 tiny parts cost 80
# times a plain mail of its size; real mail has a few dozen parts at most, and only
# DEFAULT_ATTACHMENTS_MAX_COUNT attachments keep their data anyway.
MAX_MIME_PARTS = 1000
# Lines beyond this many are not parsed either (the raw mail in S3 keeps them). The feed
# parser keeps a Python object for every line and compat32 one for every header field:
# 20 MiB of one-letter lines took 550 MiB and 4.4 s, 14 MiB of header fields 576 MiB and
# 8.4 s, more than the intake's 512 MB hold (attack 13, F1). A 40 MB mail of lines of 58
# bytes or more on average is read whole: base64 of 76 characters a line (RFC 2045
# section 6.8) is about 513,000 lines, of 64 characters about 606,000.
MAX_MIME_LINES = 700_000
# The feed parser tries every open multipart boundary on every line it reads, so its work
# is the nesting depth times the lines: 900 nested multiparts over 599,000 empty lines took
# 47 s (attack 14, F2). Past this many checks (about 2 s of a core) the lines are cut as
# above; the multipart boundaries the mail declares bound the depth. Honest mail nests
# three or four deep and declares a few boundaries more for each forwarded mail: 40 MB of
# it is read whole with up to 28 declared.
BOUNDARY_LINE_CHECKS_MAX = 20_000_000
# A header field's value beyond this many characters is not read (the raw mail keeps it):
# one 38 MiB Subject took half a GB to make one line of (attack 14, F3). RFC 5322 lines
# are at most 998 characters; the longest honest fields, folded (the References of a long
# thread, a DKIM signature), are a few thousand.
MAX_HEADER_FIELD_CHARS = 65_536
# Fields of one name beyond this many are not read: a Received chain is a few dozen (RFC
# 5321 section 6.3 takes 100 hops for a loop); 600,000 "X: a" fields took 565 MiB and two
# minutes to decode (attack 14, F1).
MAX_FIELDS_PER_NAME = 100
# Fields of new names beyond this many names are not read either, but for the names only
# real mail has (_KNOWN_HEADERS: From, Subject, the authentication results...): 600,000
# fields of as many names took 10 s and 565 MiB, most of it decoding them (attack 14,
# F1's remainder). Honest mail has a few dozen names.
MAX_HEADER_NAMES = 1000
# Read past MAX_HEADER_NAMES too: besides _KNOWN_HEADERS, what the robot checks read
# (helpdesk.mail.robots; tests/unit/test_mail_hostile.py holds the two lists together).
HEADERS_READ_BY_ROBOT_CHECKS = frozenset(
    {
        "auto-submitted", "precedence", "x-amazon-mail-relay-type", "x-apple-action",
        "x-post-messageclass", "x-autoreply", "x-autorespond", "x-auto-response-suppress",
        "x-autogenerated", "x-autoreply-from", "x-mail-autoreply", "x-autoresponder",
        "list-id", "list-unsubscribe", "x-mlserver", "x-ml-name", "mailing-list",
        "x-mailman-version", "x-ses-virus-verdict",
    }
)  # fmt: skip
_LINE_END = re.compile(rb"\r\n|\r|\n")  # where the feed parser ends a line (email.feedparser)
_RECOVERY_LIMIT_BYTES = 1024 * 1024

_FOLDING = re.compile(r"\r?\n(?=[ \t])")
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS_AND_TABS = re.compile(r"[\r\n\t\v\f]+")
_SPACE_RUNS = re.compile(r" {2,}")
# RFC 2047 section 2 caps an encoded word at 75 characters; broken clients write longer
# ones, but a bound keeps a header full of unterminated "=?" starts from costing n².
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?(.{0,2000}?)\?=", re.DOTALL)
# No honest header value comes near this; beyond it the text is kept undecoded.
_MAX_DECODED_HEADER_CHARS = 65_536
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
# RFC 2045 section 5.1 parameters, RFC 2231 sections 3-4 continuations ("name*0*=") and
# charset/language ("name*=utf-8'en'%E2%82%AC"); quoted values may be unterminated.
_PARAMETER = re.compile(
    r';\s*([^\s=;*]+)(?:\*(\d{1,3}))?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.DOTALL
)
_HTML_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", re.I)
_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)
_PLAUSIBLE_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+$")
_RETURNED_MESSAGE_ID = re.compile(r"(?im)^message-id\s*:\s*(<[^>]*>|\S+)")


def parse_mail(
    raw: bytes,
    *,
    attachment_max_bytes: int = DEFAULT_ATTACHMENT_MAX_BYTES,
    attachments_max_count: int = DEFAULT_ATTACHMENTS_MAX_COUNT,
) -> ParsedMail:
    """Parse one raw inbound message; never raises.

    Attachments larger than ``attachment_max_bytes`` or beyond ``attachments_max_count``
    (and all of them when SES says the mail carries a virus) keep their metadata but lose
    their data, with the reason in ``Attachment.dropped``.
    """
    notes = _Notes()
    try:
        with header_guess_budget():
            return _parse(raw, notes, attachment_max_bytes, attachments_max_count)
    except Exception as error:  # the contract is "never raises"; a bug must not lose mail
        notes.add(f"parser failure ({type(error).__name__}); text recovered from raw bytes")
        return _recovered(raw, notes)


class _Notes:
    """The defects list, bounded: a hostile message could otherwise produce millions."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, note: str) -> None:
        if len(self._items) < _MAX_DEFECTS:
            self._items[note] = None

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._items)


@dataclass
class _Draft:
    filename: str | None
    content_type: str
    size: int
    content_id: str | None
    disposition: str | None
    in_related: bool
    data: bytes
    dropped: str | None


@dataclass
class _Body:
    """What the walk over the MIME tree collects; alternatives get their own, then merge."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    first_charset: str | None = None
    # The body parts in the order they came, one per leaf or chosen alternative, each
    # ("plain" | "html", text): multipart/mixed may hold HTML then a plain signature.
    sequence: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Walk:
    notes: _Notes
    max_bytes: int
    max_count: int
    virus: bool
    drafts: list[_Draft] = field(default_factory=list)
    dsn_fields: list[dict[str, str]] | None = None
    returned_message_id: str | None = None
    # The draft of the last leaf part walked, None when it was text: where a cut of the
    # mail's lines runs through.
    last_leaf_draft: int | None = None


def _parse(raw: bytes, notes: _Notes, max_bytes: int, max_count: int) -> ParsedMail:
    raw = _without_nul_in_header_section(raw, notes)
    raw = _repaired_header_section(raw, notes)
    # Parts first: a mail cut at its 1,001st part rarely has lines enough left for the
    # boundary budget to need its depth read (26,000 small parts had it read every time).
    parts_read = _with_bounded_parts(raw, notes)
    lines_read = _with_bounded_lines(parts_read, notes)
    message = _feed_parse(lines_read, notes)
    if message is None:
        return _recovered(raw, notes)
    raw_headers = _raw_headers(message)
    if not any(name.lower() in _KNOWN_HEADERS for name, _ in raw_headers):
        notes.add("no mail headers found; text recovered from raw bytes")
        return _recovered(raw, notes)

    ascii_headers = _group(raw_headers, notes)
    virus_verdict = _verdict(ascii_headers.get("x-ses-virus-verdict"))
    walk = _Walk(
        notes=notes, max_bytes=max_bytes, max_count=max_count, virus=virus_verdict == "FAIL"
    )
    body = _Body()
    # The parts' own headers (forwarded subjects, file names) may not spend the charset
    # guesses the mail's subject and addresses are read with below.
    with keeping_header_guess_reserve():
        _walk_part(message, body, walk, depth=0, in_related=False, default_type="text/plain")
    _collect_mime_defects(message, notes)
    if (
        len(lines_read) < len(parts_read)
        and walk.last_leaf_draft is not None
        and _cut_inside_a_part(message)
    ):
        # The cut ran through the last part, a file: what was read of it is not the file
        # (attack 14, F4). The raw mail keeps it whole.
        cut = walk.last_leaf_draft
        walk.drafts[cut] = replace(walk.drafts[cut], data=b"", dropped="cut")
        notes.add("attachment data dropped: cut")

    hint = body.first_charset
    # What the desk reads first: guessing the charset of raw 8-bit values has a budget per
    # mail (charsets.HEADER_GUESS_BUDGET_CHARS), and a flood of other fields must not spend
    # it before the subject and the addresses (attack 14, F1).
    sender_list = _addresses(ascii_headers.get("from", []), hint) or _recovered_sender(
        ascii_headers.get("from", []), hint
    )
    to = _addresses(ascii_headers.get("to", []), hint)
    cc = _addresses(ascii_headers.get("cc", []), hint)
    reply_to = _addresses(ascii_headers.get("reply-to", []), hint)
    subject = _one_line(decode_header_text(_first(ascii_headers, "subject") or "", hint))
    headers = MappingProxyType(
        {name: tuple(decode_header_text(value, hint) for value in values)
         for name, values in ascii_headers.items()}
    )  # fmt: skip
    plain = _joined_plain(body)
    joined_html = "\n".join(body.html) if body.html else None
    full_text, text = _texts(plain, joined_html)
    html_references = {cid.lower() for cid in _cid_references(joined_html or "")}

    return ParsedMail(
        message_id=_message_id(_first(ascii_headers, "message-id")),
        in_reply_to=_id_list(ascii_headers.get("in-reply-to", [])),
        references=_id_list(ascii_headers.get("references", [])),
        sender=sender_list[0] if sender_list else None,
        reply_to=reply_to,
        to=to,
        cc=cc,
        delivered_to=_delivered_to(to, cc, ascii_headers, hint),
        return_path=_return_path(_first(ascii_headers, "return-path")),
        subject=subject,
        date=_date(_first(ascii_headers, "date"), notes),
        text=text,
        full_text=full_text,
        html=sanitize_html(joined_html) if joined_html is not None else None,
        attachments=tuple(
            _attachment(draft, number, html_references)
            for number, draft in enumerate(walk.drafts, start=1)
        ),
        headers=headers,
        auth=parse_auth(headers),
        spam_verdict=_verdict(ascii_headers.get("x-ses-spam-verdict")),
        virus_verdict=virus_verdict,
        report=_delivery_report(walk),
        defects=notes.as_tuple(),
        unparsed=False,
    )


# ---------------------------------------------------------------------------------------
# Reading the MIME structure


def _without_nul_in_header_section(raw: bytes, notes: _Notes) -> bytes:
    # A NUL inside a header name ends the header section for the feed parser (its header
    # pattern excludes it), which would push From/Subject into the body.
    end = _header_section_end(raw)
    if b"\x00" not in raw[:end]:
        return raw
    notes.add("NUL bytes removed from the header section")
    return raw[:end].replace(b"\x00", b"") + raw[end:]


# A header field line: a field name of printable ASCII without colon or space, then a colon
# (RFC 5322 section 2.2; the obsolete syntax of section 4.5 allows white space before it).
_FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_KNOWN_FIELD_LINE = re.compile(
    rb"(?i)(from|to|cc|subject|date|message-id|received|return-path|mime-version|"
    rb"content-type|reply-to|delivered-to|in-reply-to|references)[ \t]*:"
)
# Header sections beyond this are not repaired (no real one comes near it).
_REPAIR_SCAN_BYTES = 256 * 1024
# Stray lines that may stand before the first header field and be dropped.
_MAX_LEADING_JUNK_LINES = 3


def _repaired_header_section(raw: bytes, notes: _Notes) -> bytes:
    """The header section read liberally, as RFC 5322 section 2.2.3 / RFC 1122 section
    1.2.2 ask of a receiver ("be liberal in what you accept").

    Two breakages real clients and gateways produce would otherwise end the header block
    early, pushing From and Subject into the body: a folded line that lost its leading
    white space (a continuation without WSP), and a stray line before the first field (a
    ">From " mbox line, a banner a gateway prepended). A line that is not a field stands
    for a continuation when more fields follow it before the blank line, and is dropped
    when it comes before the first field and real fields follow. One pass over the lines.
    """
    end = min(_header_section_end(raw), _REPAIR_SCAN_BYTES)
    lines = raw[:end].split(b"\n")
    fields = [
        index
        for index, line in enumerate(lines)
        if _FIELD_LINE.match(line) and not (index == 0 and line.startswith(b"From "))
    ]
    if not fields or not any(_KNOWN_FIELD_LINE.match(lines[i]) for i in fields[:50]):
        return raw
    first, last = fields[0], fields[-1]
    if first > _MAX_LEADING_JUNK_LINES:
        return raw  # text that merely contains a colon line: a body without headers
    # An mbox "From " line first is the parser's own business (it keeps it as unixfrom).
    keep_from = 1 if lines[0].startswith(b"From ") else 0
    field_set = set(fields)
    repaired: list[bytes] = []
    changed = False
    for index, line in enumerate(lines):
        if keep_from <= index < first:
            changed = True
            continue
        if first <= index < last and index not in field_set and line[:1] not in (b" ", b"\t"):
            if not line.strip():
                changed = True
                continue  # stray blank-ish line ("\r") between fields
            repaired.append(b" " + line)
            changed = True
            continue
        repaired.append(line)
    if not changed:
        return raw
    notes.add("header section repaired (stray line before the fields or unindented fold)")
    return b"\n".join(repaired) + raw[end:]


def _header_section_end(raw: bytes) -> int:
    ends = [position for position in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if position >= 0]
    return min(ends) if ends else len(raw)


# A Content-Type header line and its folded continuation lines, wherever it stands (a
# superset of the headers the parser reads: one in a body's text only adds a boundary).
# The parser ends a line at CR, LF or CRLF (email.feedparser); linear, unambiguous.
_CONTENT_TYPE_LINE = re.compile(
    rb"(?i)(?:^|(?<=[\r\n]))content-type[ \t]*:([^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*)"
)
# A Content-Type whose boundary the guard does not read: longer than this, or of more RFC
# 2231 sections (the standard library's parameter parse is quadratic in them). Real mail
# declares a boundary in a line or two.
_BOUNDARY_HEADER_MAX_CHARS = 2048
_BOUNDARY_SECTIONS_MAX = 16
# A line starting "--"; the parser also ends a line at a bare CR (email.feedparser).
_DASH_LINE = re.compile(rb"(?m)(?:^|(?<=\r))--[^\r\n]*")


def _with_bounded_lines(raw: bytes, notes: _Notes) -> bytes:
    """``raw`` cut after its MAX_MIME_LINES-th line (CRLF, CR or LF ends one, as in the feed
    parser, and a last line may have no ending); counted in C, walked in Python only when
    the mail has more."""
    limit = MAX_MIME_LINES
    endings = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    lines = endings + (0 if raw.endswith((b"\n", b"\r")) or not raw else 1)
    # Each level of nesting opens with a delimiter line: the "--" lines, plus one, bound the
    # depth cheaply; only a mail past the budget by that bound is read for its real depth.
    dashes = raw.count(b"\n--") + raw.count(b"\r--") + 1
    if lines * min(dashes, MAX_MIME_PARTS) > BOUNDARY_LINE_CHECKS_MAX:
        declared = declared_boundaries(raw)
        depth = min(dashes, MAX_MIME_PARTS if declared is None else _open_depth(raw, declared))
        limit = min(limit, BOUNDARY_LINE_CHECKS_MAX // max(1, depth))
    if lines <= limit:
        return raw
    for number, line_end in enumerate(_LINE_END.finditer(raw), start=1):
        if number == limit:
            notes.add(f"lines beyond {limit} not read (the raw mail has them)")
            return raw[: line_end.end()]
    return raw


def _open_depth(raw: bytes, declared: set[bytes]) -> int:
    """The most multipart boundaries open at once in ``raw``, plus one (the top level),
    read from its delimiter lines in one pass: siblings are not nesting (a mail forwarding
    twenty mails declares forty boundaries and nests three deep; review 16, #2). A new part
    of an open boundary ends the multiparts opened inside it, its close delimiter them and
    it (RFC 2046 section 5.1.1)."""
    stack: list[bytes] = []
    at: dict[bytes, int] = {}  # each open boundary's place in the stack
    deepest = 0
    for line in _DASH_LINE.finditer(raw):
        rest = line.group(0)[2:].rstrip(b" \t")
        closing = rest.endswith(b"--") and rest[:-2] in declared
        boundary = rest[:-2] if closing else rest
        if boundary in at:
            # Each boundary is pushed once and popped once: linear in the lines.
            keep = at[boundary] if closing else at[boundary] + 1
            for inner in stack[keep:]:
                del at[inner]
            del stack[keep:]
        elif boundary in declared and not closing:
            at[boundary] = len(stack)
            stack.append(boundary)
        deepest = max(deepest, len(stack))
    return deepest + 1


def _with_bounded_parts(raw: bytes, notes: _Notes) -> bytes:
    """``raw`` cut before the delimiter line of its (MAX_MIME_PARTS + 1)th part; one pass.

    A delimiter line is "--" and a boundary declared in the mail, then white space (RFC
    2046 section 5.1.1; the close delimiter has "--" after the boundary and opens no
    part).  The parts before the cut parse as usual; the parser notes the missing close
    delimiter.
    """
    if raw.count(b"\n--") + raw.count(b"\r--") <= MAX_MIME_PARTS:
        return raw  # the common case: not even that many lines start with "--"
    for delimiters, line in enumerate(opening_delimiters(raw), start=1):
        if delimiters > MAX_MIME_PARTS:
            notes.add(f"MIME parts beyond {MAX_MIME_PARTS} not read (the raw mail has them)")
            return raw[: line.start()]
    return raw


def declared_boundaries(raw: bytes) -> set[bytes] | None:
    """Every multipart boundary declared in ``raw``, read as the parser reads it: the
    compat32 ``get_boundary()`` of each Content-Type header (RFC 2231 sections and charset
    forms joined and decoded, quotes and quoted-pairs taken off; re-attack 3, N2), in the
    parser's own text (ASCII with surrogate escapes, as BytesFeedParser decodes). None
    when a Content-Type names a boundary too long or in too many sections to read here:
    then any "--" line may open a part."""
    boundaries: set[bytes] = set()
    seen: set[bytes] = set()
    for header in _CONTENT_TYPE_LINE.finditer(raw):
        value = header.group(1)
        if b"boundary" not in value.lower() or value in seen:
            continue
        seen.add(value)
        text = value.decode("ascii", "surrogateescape").lstrip(" \t")
        if len(text) > _BOUNDARY_HEADER_MAX_CHARS or len(seen) > MAX_MIME_PARTS:
            return None
        if parameter_sections(text) > _BOUNDARY_SECTIONS_MAX:
            return None
        headers = email.message.Message()
        headers.set_raw("Content-Type", text)  # as email.feedparser stores it (compat32)
        boundary = headers.get_boundary()
        if boundary:
            boundaries.add(boundary.encode("ascii", "surrogateescape"))
    return boundaries


def opening_delimiters(raw: bytes, *outer: bytes) -> Iterator[re.Match[bytes]]:
    """The delimiter lines that open a part, of every boundary declared in ``raw`` (nested
    multiparts included, see declared_boundaries) and of the ``outer`` ones (a body whose
    Content-Type came apart from it, as a form post's does). Found in the raw bytes,
    without parsing: the MIME parser's cost grows with the parts, so this count bounds it
    (mail intake here, the customer's page in helpdesk.services.portal)."""
    declared = declared_boundaries(raw)
    for line in _DASH_LINE.finditer(raw):
        if declared is None:
            yield line  # a boundary not read: every "--" line counts
            continue
        rest = line.group(0)[2:].rstrip(b" \t")
        if rest in declared or rest in outer:  # a close delimiter opens no part
            yield line


def parameter_sections(value: str) -> int:
    """How many RFC 2231 section 3 continuations (``name*0=``, ``name*1*=``, ...) the
    parameters of a header value have. The standard library's parameter parse is quadratic
    in them; _parameters here reads them in one pass."""
    return sum(1 for match in _PARAMETER.finditer(value) if match.group(2) is not None)


def header_parameters(value: str) -> dict[str, str]:
    """The parameters of a structured header value (RFC 2045 section 5.1, RFC 2231
    continuations joined), read in one pass."""
    return _parameters(value)


def _feed_parse(raw: bytes, notes: _Notes) -> email.message.Message | None:
    # compat32 reads the structure without building header objects: the default policy's
    # header registry parses Content-Type again for every part (about 1 ms each), and
    # headers are decoded here from the raw text anyway (see _raw_headers).
    # Fed in slices so that the parser never holds the whole message as one str (the
    # surrogate-escaped copy of 25 MB of 8-bit text would be 50-100 MB on its own).
    try:
        parser = BytesFeedParser(policy=email.policy.compat32)
        view = memoryview(raw)
        for start in range(0, len(raw), _FEED_CHUNK_BYTES):
            parser.feed(bytes(view[start : start + _FEED_CHUNK_BYTES]))
        return parser.close()
    except Exception as error:
        notes.add(f"MIME parser failed ({type(error).__name__})")
    return None


def _raw_headers(message: email.message.Message) -> list[tuple[str, str]]:
    # raw_items() gives the header source text without the policy's (raising) parsing.
    try:
        return [(str(name), str(value)) for name, value in message.raw_items()]
    except Exception:
        return []


def _group(raw_headers: list[tuple[str, str]], notes: _Notes | None = None) -> dict[str, list[str]]:
    """The fields by lower-cased name, unfolded, in order; at most MAX_FIELDS_PER_NAME of a
    name, each cut to MAX_HEADER_FIELD_CHARS (``notes`` says what was left)."""
    grouped: dict[str, list[str]] = {}
    for name, value in raw_headers:
        clean_name = _CONTROL_CHARS.sub("", name[:200]).strip().lower()
        if not clean_name:
            continue
        if (
            clean_name not in grouped
            and len(grouped) >= MAX_HEADER_NAMES
            and clean_name not in _KNOWN_HEADERS
            and clean_name not in HEADERS_READ_BY_ROBOT_CHECKS
        ):
            if notes is not None:
                notes.add(f"header fields of names beyond the first {MAX_HEADER_NAMES} not read")
            continue
        values = grouped.setdefault(clean_name, [])
        if len(values) >= MAX_FIELDS_PER_NAME:
            if notes is not None:
                notes.add(f"{clean_name[:60]} fields beyond {MAX_FIELDS_PER_NAME} not read")
            continue
        if len(value) > MAX_HEADER_FIELD_CHARS and notes is not None:
            notes.add(f"header field {clean_name[:60]} cut at {MAX_HEADER_FIELD_CHARS} characters")
        # References keeps its end: threading reads the nearest ids first (RFC 5322 section
        # 3.6.4 appends each reply's parent; review 16, #5).
        kept = (
            slice(-MAX_HEADER_FIELD_CHARS, None)
            if clean_name == "references"
            else slice(MAX_HEADER_FIELD_CHARS)
        )
        values.append(_unfold(value[kept]))
    return grouped


def _header(part: email.message.Message, name: str) -> str | None:
    for header_name, value in _raw_headers(part):
        if header_name.strip().lower() == name:
            return _unfold(value)
    return None


def _unfold(value: str) -> str:
    # RFC 5322 section 2.2.3: unfolding removes a CRLF that is followed by white space.
    return _FOLDING.sub("", value).strip()


def _collect_mime_defects(message: email.message.Message, notes: _Notes) -> None:
    for part in _iter_parts(message, 0):
        for defect in getattr(part, "defects", ()):
            notes.add(f"MIME defect: {type(defect).__name__}")


def _cut_inside_a_part(message: email.message.Message) -> bool:
    """Whether a cut of the mail's lines fell inside its last part: a single-part mail is
    all one part; a multipart one was cut inside unless every multipart found its close
    delimiter (the cut then fell in an epilogue; review 16, #3)."""
    if not message.is_multipart():
        return True
    return any(
        isinstance(defect, email.errors.CloseBoundaryNotFoundDefect)
        for part in _iter_parts(message, 0)
        for defect in getattr(part, "defects", ())
    )


def _iter_parts(part: email.message.Message, depth: int) -> Iterator[email.message.Message]:
    yield part
    payload = part.get_payload() if depth < _MAX_NESTING else None
    if isinstance(payload, list):
        for child in payload:
            if isinstance(child, email.message.Message):
                yield from _iter_parts(child, depth + 1)


def _content_type(part: email.message.Message, default: str) -> tuple[str, dict[str, str]]:
    raw = _header(part, "content-type")
    if raw is None:
        return default, {}
    value, _, _ = raw.partition(";")
    content_type = value.strip().lower()
    params = _parameters(raw)
    # RFC 2045 section 5.2: an unparseable Content-Type means text/plain; RFC 6838 section
    # 4.2 allows at most 127 characters a name (attack 15, F2: 8,200 of them were written
    # to S3 as the file's type, which S3 refuses, at every attempt).
    if file_media_type(content_type) is None:
        return default, params
    return content_type, params


def _disposition(part: email.message.Message) -> tuple[str | None, dict[str, str]]:
    raw = _header(part, "content-disposition")
    if raw is None:
        return None, {}
    value, _, _ = raw.partition(";")
    return value.strip().lower() or None, _parameters(raw)


def _parameters(raw: str) -> dict[str, str]:
    simple: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for match in _PARAMETER.finditer(raw):
        name = match.group(1).lower()
        value = match.group(4).strip()
        if value.startswith('"'):
            closed = value.endswith('"') and len(value) > 1
            value = re.sub(r"\\(.)", r"\1", value[1:-1] if closed else value[1:])
        if match.group(2) is None and match.group(3) is None:
            simple.setdefault(name, value)
        else:
            sections.setdefault(name, {})[int(match.group(2) or 0)] = (value, bool(match.group(3)))
    # RFC 2231 values are the more precise ones (they carry a charset), so they win.
    for name, pieces in sections.items():
        simple[name] = _rfc2231_value(pieces)
    return simple


def _rfc2231_value(pieces: dict[int, tuple[str, bool]]) -> str:
    charset: str | None = None
    data = bytearray()
    for index in sorted(pieces):
        value, encoded = pieces[index]
        if encoded and index == min(pieces) and value.count("'") >= 2:
            charset, _, value = value.split("'", 2)
        if encoded:
            data += urllib.parse.unquote_to_bytes(value.encode("utf-8", "surrogateescape"))
        else:
            data += value.encode("utf-8", "surrogateescape")
    return decode_bytes(bytes(data), charset or None)[0]


def _walk_part(
    part: email.message.Message,
    body: _Body,
    walk: _Walk,
    *,
    depth: int,
    in_related: bool,
    default_type: str,
) -> None:
    if depth > _MAX_NESTING:
        walk.notes.add("MIME nesting too deep; inner parts ignored")
        return
    try:
        content_type, params = _content_type(part, default_type)
        children = part.get_payload()
        if isinstance(children, list) and content_type.startswith("multipart/"):
            _walk_multipart(
                content_type, params, children, body, walk, depth=depth, in_related=in_related
            )
        elif isinstance(children, list) and content_type.startswith("message/"):
            _walk_message(part, content_type, children, walk, in_related=in_related)
        elif isinstance(children, list):
            walk.notes.add(f"{content_type} part has sub-parts; read as multipart/mixed")
            _walk_multipart(
                "multipart/mixed", {}, children, body, walk, depth=depth, in_related=in_related
            )
        else:
            _walk_leaf(part, content_type, params, body, walk, in_related=in_related)
    except Exception as error:
        walk.notes.add(f"a MIME part could not be read ({type(error).__name__}); skipped")


def _walk_multipart(
    content_type: str,
    params: dict[str, str],
    children: Sequence[object],
    body: _Body,
    walk: _Walk,
    *,
    depth: int,
    in_related: bool,
) -> None:
    parts = [child for child in children if isinstance(child, email.message.Message)]
    # RFC 2046 section 5.1.5: the parts of a digest default to message/rfc822.
    child_default = "message/rfc822" if content_type == "multipart/digest" else "text/plain"
    related = in_related or content_type == "multipart/related"
    if content_type == "multipart/alternative":
        _walk_alternative(parts, body, walk, depth, related)
        return
    is_dsn = content_type == "multipart/report" and (
        params.get("report-type", "").lower() == "delivery-status"
    )
    for child in parts:
        if is_dsn and _read_report_part(child, walk):
            continue
        _walk_part(
            child, body, walk, depth=depth + 1, in_related=related, default_type=child_default
        )


def _walk_alternative(
    parts: list[email.message.Message], body: _Body, walk: _Walk, depth: int, in_related: bool
) -> None:
    # RFC 2046 section 5.1.4 ranks alternatives by fidelity, but for tickets we want the
    # sender's own plain text when there is any; the richest HTML is kept for display.
    branches: list[_Body] = []
    for child in parts:
        branch = _Body()
        _walk_part(
            child, branch, walk, depth=depth + 1, in_related=in_related, default_type="text/plain"
        )
        branches.append(branch)
    chosen = next((b for b in branches if any(t.strip() for t in b.plain)), None)
    plain = chosen.plain if chosen is not None else []
    html = next((branch.html for branch in reversed(branches) if branch.html), [])
    body.plain.extend(plain)
    body.html.extend(html)
    if chosen is not None:
        body.sequence.extend(chosen.sequence)
    else:
        body.sequence.extend(("html", text) for text in html)
    if body.first_charset is None:
        body.first_charset = next((b.first_charset for b in branches if b.first_charset), None)


def _read_report_part(part: email.message.Message, walk: _Walk) -> bool:
    content_type, _ = _content_type(part, "text/plain")
    if content_type in ("message/delivery-status", "message/global-delivery-status"):
        walk.dsn_fields = _dsn_field_groups(part)
        return True
    if content_type in ("text/rfc822-headers", "message/global-headers"):
        text = _decoded_text(part, walk.notes)[0]
        match = _RETURNED_MESSAGE_ID.search(text)
        if match and walk.returned_message_id is None:
            walk.returned_message_id = _message_id(match.group(1))
        return True
    if content_type in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
            walk.returned_message_id = walk.returned_message_id or _message_id(
                _header(inner[0], "message-id")
            )
    return False


def _dsn_field_groups(part: email.message.Message) -> list[dict[str, str]]:
    # The feed parser reads message/delivery-status as a list of header blocks (RFC 3464
    # section 2.1: per-message fields, then one block per recipient); other parsers and
    # broken MTAs leave it as text, which we split the same way.
    payload = part.get_payload()
    if isinstance(payload, list):
        return [
            {name: values[0] for name, values in _group(_raw_headers(block)).items()}
            for block in payload
            if isinstance(block, email.message.Message)
        ]
    data = part.get_payload(decode=True)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
    groups: list[dict[str, str]] = []
    for block in re.split(r"\r?\n[ \t]*\r?\n", text):
        fields: dict[str, str] = {}
        for line in _unfold(block).splitlines():
            name, colon, value = line.partition(":")
            if colon and name.strip():
                fields.setdefault(name.strip().lower(), value.strip())
        if fields:
            groups.append(fields)
    return groups


def _walk_message(
    part: email.message.Message,
    content_type: str,
    children: Sequence[object],
    walk: _Walk,
    *,
    in_related: bool,
) -> None:
    # A forwarded message (RFC 2046 section 5.2.1) is kept whole as an .eml attachment; its
    # headers live in the sub-message, so they never mix with the outer message's.
    inner = next((child for child in children if isinstance(child, email.message.Message)), None)
    data = _message_bytes(inner) if inner is not None else b""
    naming = _naming(part, content_type, _content_type(part, content_type)[1])
    if not naming.filename and inner is not None:
        subject = _one_line(decode_header_text(_header(inner, "subject") or "", None))
        naming = naming._replace(filename=f"{subject}.eml" if subject else None)
    _add_draft(part, walk, data, naming, in_related=in_related)


def _message_bytes(message: email.message.Message) -> bytes:
    buffer = io.BytesIO()
    # refold_source="none" writes the forwarded headers back exactly as they came.
    for policy in (email.policy.default.clone(refold_source="none"), email.policy.compat32):
        try:
            email.generator.BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(
                message
            )
            return buffer.getvalue()
        except Exception:
            buffer = io.BytesIO()
    return b""


def _walk_leaf(
    part: email.message.Message,
    content_type: str,
    params: dict[str, str],
    body: _Body,
    walk: _Walk,
    *,
    in_related: bool,
) -> None:
    walk.last_leaf_draft = None
    naming = _naming(part, content_type, params)
    is_body_text = (
        content_type in ("text/plain", "text/html")
        and naming.disposition != "attachment"
        and not naming.filename
    )
    if not is_body_text:
        _add_draft(part, walk, _payload_bytes(part, walk.notes), naming, in_related=in_related)
        return
    text, charset = _decoded_text(part, walk.notes, html=content_type == "text/html")
    if body.first_charset is None and text.strip():
        body.first_charset = charset
    if content_type == "text/html":
        body.html.append(text)
        body.sequence.append(("html", text))
    else:
        body.plain.append(text)
        body.sequence.append(("plain", text))


class _Naming(NamedTuple):
    """What a part's headers say of it as a file: its type, disposition and name."""

    content_type: str
    disposition: str | None
    filename: str | None


def _naming(part: email.message.Message, content_type: str, params: Mapping[str, str]) -> _Naming:
    disposition, disposition_params = _disposition(part)
    # RFC 2183 section 2.3's filename, else the name parameter of Content-Type that older
    # clients still send instead.
    filename = disposition_params.get("filename") or params.get("name")
    return _Naming(content_type, disposition, filename)


def _add_draft(
    part: email.message.Message,
    walk: _Walk,
    data: bytes,
    naming: _Naming,
    *,
    in_related: bool,
) -> None:
    dropped: str | None = None
    if walk.virus:
        dropped = "virus"
    elif len(walk.drafts) >= walk.max_count:
        dropped = "count_limit"
    elif len(data) > walk.max_bytes:
        dropped = "too_large"
    if dropped is not None:
        walk.notes.add(f"attachment data dropped: {dropped}")
    content_id = _message_id(_header(part, "content-id"))
    walk.last_leaf_draft = len(walk.drafts)
    walk.drafts.append(
        _Draft(
            filename=naming.filename,
            content_type=naming.content_type,
            size=len(data),
            content_id=content_id,
            disposition=naming.disposition,
            in_related=in_related,
            data=b"" if dropped else data,
            dropped=dropped,
        )
    )


def _payload_bytes(part: email.message.Message, notes: _Notes) -> bytes:
    fast = _base64_payload(part)
    if fast is not None:
        return fast
    # get_payload(decode=True) tolerates bad base64 padding, stray characters and broken
    # quoted-printable escapes, recording defects instead of raising.
    try:
        data = part.get_payload(decode=True)
    except Exception as error:
        notes.add(f"payload could not be decoded ({type(error).__name__}); kept raw")
        raw = part.get_payload()
        return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return data if isinstance(data, bytes) else b""


def _base64_payload(part: email.message.Message) -> bytes | None:
    # Well-formed base64 (nearly every attachment) decodes in one pass here: a2b_base64
    # skips the line breaks itself, where get_payload(decode=True) first splits the payload
    # into a list of lines and joins it again, two more full-size copies of a 25 MB file.
    encoding = (_header(part, "content-transfer-encoding") or "").strip().lower()
    payload = part.get_payload()
    if encoding != "base64" or not isinstance(payload, str) or not payload.isascii():
        return None
    try:
        return binascii.a2b_base64(payload.encode("ascii"))
    except (binascii.Error, ValueError):
        return None


def _decoded_text(
    part: email.message.Message, notes: _Notes, *, html: bool = False
) -> tuple[str, str]:
    data = _payload_bytes(part, notes)
    _, params = _content_type(part, "text/plain")
    declared = params.get("charset")
    if declared is None and html:
        meta = _HTML_META_CHARSET.search(data[:4096])
        declared = meta.group(1).decode("ascii") if meta else None
    text, used = decode_bytes(data, declared)
    wanted = normalize_charset(declared)
    if declared and used != wanted:
        notes.add(f"charset {declared!r} did not fit the text; decoded as {used}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARS.sub("", text), used


# ---------------------------------------------------------------------------------------
# Headers


def decode_header_text(value: str, fallback_charset: str | None = None) -> str:
    """Decode an unfolded header value: RFC 2047 encoded words and raw 8-bit text.

    Adjacent encoded words in the same charset are joined before decoding, because clients
    split multi-byte characters across words; white space between encoded words is dropped
    (RFC 2047 section 6.2).  Raw 8-bit bytes are UTF-8 (RFC 6532) or, failing that, the
    charset of the body (``fallback_charset``), as legacy clients write them.
    """
    pieces: list[tuple[bytes | str, str | None]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value, 0, _MAX_DECODED_HEADER_CHARS):
        between = value[position : match.start()]
        previous_was_word = bool(pieces) and pieces[-1][1] is not None
        if between and not (previous_was_word and between.isspace()):
            pieces.append((between, None))
        charset = match.group(1).split("*", 1)[0].lower()
        data = _decode_encoded_word(match.group(2), match.group(3))
        last = pieces[-1] if pieces else None
        if last is not None and last[1] == charset and isinstance(last[0], bytes):
            pieces[-1] = (last[0] + data, charset)
        else:
            pieces.append((data, charset))
        position = match.end()
    if position == 0:
        return _decode_raw_text(value, fallback_charset)
    pieces.append((value[position:], None))
    decoded: list[str] = []
    for piece, charset in pieces:
        if isinstance(piece, bytes):
            decoded.append(decode_bytes(piece, charset)[0])
        else:
            decoded.append(_decode_raw_text(piece, fallback_charset))
    return "".join(decoded)


def _decode_encoded_word(encoding: str, payload: str) -> bytes:
    data = payload.encode("utf-8", "surrogateescape")
    if encoding in "bB":
        # Missing padding and stray characters are common; decode what is there.
        cleaned = _BASE64_JUNK.sub(b"", data)
        if len(cleaned) % 4 == 1:
            cleaned = cleaned[:-1]
        try:
            return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            return data
    return binascii.a2b_qp(data, header=True)


def _decode_raw_text(value: str, fallback_charset: str | None) -> str:
    if value.isascii():
        if "\x1b" in value and looks_iso_2022_jp(value.encode("ascii")):
            # Undeclared ISO-2022-JP (RFC 1468) is 7-bit: it would pass for ASCII.
            return decode_bytes(value.encode("ascii"), "iso-2022-jp")[0]
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # The header's own charset, which need not be the body's.
        return decode_header_bytes(data, fallback_charset)


def _one_line(text: str) -> str:
    # Nor a directional override: it reverses what follows it where the line is shown, an
    # address printed after a name among it (attack 9, F4).
    text = _LINE_BREAKS_AND_TABS.sub(" ", text).translate(BIDI_CONTROLS)
    text = "".join(char for char in text if unicodedata.category(char) != "Cc")
    return _SPACE_RUNS.sub(" ", text).strip()


def _first(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _verdict(values: list[str] | None) -> str | None:
    if not values:
        return None
    return _one_line(values[0]).upper() or None


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    value = _CONTROL_CHARS.sub("", value)
    match = _ANGLE_ID.search(value)
    if match:
        return match.group(1)
    token = value.strip().strip("<>").split()
    return token[0] if token else None


def _id_list(values: list[str]) -> tuple[str, ...]:
    ids: dict[str, None] = {}
    for raw_value in values:
        value = _CONTROL_CHARS.sub("", raw_value)
        found = _ANGLE_ID.findall(value)
        if not found:
            # Some clients drop the angle brackets (RFC 5322 section 3.6.4 requires them).
            found = [token.strip("<>") for token in re.split(r"[\s,]+", value) if "@" in token]
        for message_id in found:
            ids.setdefault(message_id, None)
    return tuple(ids)


_SINGLE_ANGLE_ADDR = re.compile(r"^(?P<name>[^<>]*)<(?P<addr>[^<>\s]+@[^<>\s]+)>\s*$")


def _address_pairs(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs, the address taken from the raw header.

    A mailbox written as ``name <addr>`` is split at the angle brackets first: a display
    name that is a malformed encoded word with specials in it
    (``=?utf-8?q?Boris=0D=0ABcc:_evil@attacker.example?= <boris@example.com>``) would
    otherwise be read by getaddresses as a group and yield the attacker's address.
    Encoded words are decoded only in the name, after the split (RFC 2047 section 5).
    """
    if sum(len(value) for value in values) > _MAX_ADDRESS_HEADER_CHARS:
        return _address_pairs_by_scan(values)
    pairs: list[tuple[str, str]] = []
    rest: list[str] = []
    for value in values:
        cleaned = _CONTROL_CHARS.sub(" ", value)
        single = _SINGLE_ANGLE_ADDR.match(cleaned)
        if single and cleaned.count("<") == 1 and "=?" in single.group("name"):
            pairs.append((single.group("name").strip().strip('"'), single.group("addr")))
        else:
            rest.append(cleaned)
    if rest:
        pairs.extend(email.utils.getaddresses(rest))
    return pairs


# getaddresses (email._parseaddr) costs about 9 µs a character on a header of "@" (9 s a MB)
# and the structured parser of email.headerregistry can be quadratic; a list of 50
# recipients with names fits in this, and longer values are scanned linearly instead.
_MAX_ADDRESS_HEADER_CHARS = 2048
_ADDRESS_SEPARATORS = re.compile(r"[\s<>\"(),;:\[\]]+")


def _address_pairs_by_scan(values: list[str]) -> list[tuple[str, str]]:
    """The addresses of an over-long header, in order, without display names: one split."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        for token in _ADDRESS_SEPARATORS.split(_CONTROL_CHARS.sub(" ", value)):
            local, at, domain = token.partition("@")
            if at and local and domain and "@" not in domain:
                pairs.append(("", token))
    return pairs


def _addresses(values: list[str], hint: str | None) -> tuple[Address, ...]:
    found: list[Address] = []
    try:
        pairs = _address_pairs(values)
    except Exception:
        return ()
    for name, address in pairs:
        mailbox = _decode_raw_text(address, hint).strip().strip("<>")
        if not _PLAUSIBLE_ADDRESS.match(mailbox):
            continue
        local, _, domain = mailbox.rpartition("@")
        found.append(
            Address(
                email=f"{local}@{domain.lower()}", name=_one_line(decode_header_text(name, hint))
            )
        )
    return tuple(found)


_BARE_ADDRESS_TOKEN = re.compile(r"[^\s<>\"(),;:]+@[^\s<>\"(),;:]+")


def _recovered_sender(values: list[str], hint: str | None) -> tuple[Address, ...]:
    """The sender of a From the address parser found nothing in, when it still names one
    plain address: ``Test test@example.com`` (a display name without angle brackets, an
    obsolete form clients still write) means test@example.com, named Test. Only a single
    address is taken, so that nothing ambiguous is guessed. One regex pass, linear."""
    if len(values) != 1 or len(values[0]) > _MAX_STRUCTURED_HEADER_CHARS:
        return ()
    value = _CONTROL_CHARS.sub(" ", values[0])
    found = _BARE_ADDRESS_TOKEN.findall(value)
    if len(found) != 1:
        return ()
    address = _decode_raw_text(found[0], hint).strip(".'")
    if not _PLAUSIBLE_ADDRESS.match(address):
        return ()
    local, _, domain = address.rpartition("@")
    name = value.replace(found[0], " ").replace("<", " ").replace(">", " ").strip(" \"'")
    return (
        Address(email=f"{local}@{domain.lower()}", name=_one_line(decode_header_text(name, hint))),
    )


def _delivered_to(
    to: tuple[Address, ...],
    cc: tuple[Address, ...],
    headers: Mapping[str, list[str]],
    hint: str | None,
) -> tuple[str, ...]:
    recipients: dict[str, None] = {}
    envelope = [
        *headers.get("delivered-to", []),
        *headers.get("x-original-to", []),
    ]
    for address in (*to, *cc, *_addresses(envelope, hint)):
        recipients.setdefault(address.key, None)
    return tuple(recipients)


def _return_path(value: str | None) -> str | None:
    if value is None:
        return None
    value = _CONTROL_CHARS.sub("", value)
    match = re.search(r"<([^<>]*)>", value)
    return (match.group(1) if match else value).strip()


def _date(value: str | None, notes: _Notes) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.add("Date header could not be read")
        return None
    # RFC 5322 section 3.3: "-0000" means the zone is unknown; UTC is the honest reading.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# Bodies and attachments


def _joined_plain(body: _Body) -> str:
    """The plain text of the body parts in order. When multipart/mixed holds an HTML part
    and plain ones (an HTML message with a plain signature or disclaimer appended by a
    gateway, RFC 2046 section 5.1.3: mixed parts are all shown, in order), the HTML's text
    takes its place among them, or the message's main content would be lost."""
    kinds = {kind for kind, _ in body.sequence}
    if kinds != {"plain", "html"}:
        return "\n\n".join(part for part in body.plain if part.strip())
    pieces = (text if kind == "plain" else html_to_text(text) for kind, text in body.sequence)
    return "\n\n".join(piece.strip("\n") for piece in pieces if piece.strip())


def _texts(plain: str, html: str | None) -> tuple[str, str]:
    if plain.strip():
        return plain, strip_quoted(plain)
    if html is None:
        return plain, plain
    full_text = html_to_text(html)
    stripped = strip_quoted_html(html)  # the same object when there is no quote to cut
    new_part = strip_quoted(full_text if stripped is html else html_to_text(stripped))
    return full_text, new_part or full_text


def _cid_references(html: str) -> Iterator[str]:
    # RFC 2392: a cid: URL is the Content-ID without brackets, %-encoded.
    for match in _CID_REFERENCE.finditer(html):
        yield urllib.parse.unquote(match.group(1))


def _attachment(draft: _Draft, number: int, html_references: set[str]) -> Attachment:
    referenced = draft.content_id is not None and draft.content_id.lower() in html_references
    inline = draft.content_id is not None and (
        referenced or (draft.in_related and draft.disposition != "attachment")
    )
    return Attachment(
        filename=_safe_filename(draft.filename, draft.content_type, number),
        content_type=draft.content_type,
        size=draft.size,
        content_id=draft.content_id,
        inline=inline,
        data=draft.data,
        dropped=draft.dropped,
    )


def _safe_filename(raw: str | None, content_type: str, number: int) -> str:
    name = clean_filename(decode_header_text(raw) if raw else "", fallback="")
    return name or f"attachment-{number}{_extension(content_type)}"


@lru_cache(maxsize=1)
def _mime_types() -> mimetypes.MimeTypes:
    # A fresh MimeTypes knows only Python's built-in table, so the names do not depend on
    # the machine's /etc/mime.types.
    return mimetypes.MimeTypes()


def _extension(content_type: str) -> str:
    return _mime_types().guess_extension(content_type) or ".bin"


def _delivery_report(walk: _Walk) -> DeliveryReport | None:
    if walk.dsn_fields is None:
        return None
    recipient_groups = [
        group for group in walk.dsn_fields if "final-recipient" in group or "action" in group
    ]
    failed = next(
        (group for group in recipient_groups if group.get("action", "").lower() == "failed"),
        recipient_groups[0] if recipient_groups else {},
    )
    recipients = tuple(
        _typed_value(group.get("final-recipient") or group.get("original-recipient") or "")
        for group in recipient_groups
    )
    return DeliveryReport(
        original_message_id=walk.returned_message_id,
        recipients=tuple(recipient for recipient in recipients if recipient),
        action=(failed.get("action") or "").strip().lower() or None,
        status=(failed.get("status") or "").strip() or None,
        diagnostic=_typed_value(failed.get("diagnostic-code") or "") or None,
    )


def _typed_value(value: str) -> str:
    # RFC 3464 sections 2.3.2 and 2.3.6: "type ; value" ("rfc822; user@example.com",
    # "smtp; 550 5.1.1 unknown user").
    kind, semicolon, typed = value.partition(";")
    return _one_line(typed if semicolon and " " not in kind.strip() else value)


# ---------------------------------------------------------------------------------------
# Not MIME at all


def _recovered(raw: bytes, notes: _Notes) -> ParsedMail:
    sample = raw[:_RECOVERY_LIMIT_BYTES]
    if _looks_binary(sample):
        text = sample.decode("utf-8", errors="replace")
    else:
        text = decode_bytes(sample, None)[0]
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffd", "")
    text = "".join(
        char for char in text if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs")
    )
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return ParsedMail(
        message_id=None,
        in_reply_to=(),
        references=(),
        sender=None,
        reply_to=(),
        to=(),
        cc=(),
        delivered_to=(),
        return_path=None,
        subject="",
        date=None,
        text=text,
        full_text=text,
        html=None,
        attachments=(),
        headers=MappingProxyType({}),
        auth=AuthResults(spf=None, dkim=None, dmarc=None),
        spam_verdict=None,
        virus_verdict=None,
        report=None,
        defects=notes.as_tuple(),
        unparsed=True,
    )


def _looks_binary(data: bytes) -> bool:
    controls = sum(1 for byte in data[:4096] if byte < 0x20 and byte not in (9, 10, 13))
    return controls * 20 > min(len(data), 4096)
