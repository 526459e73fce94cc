"""Composing outbound mail: RFC 5322 bytes that no user-supplied text can add headers to.

Everything here is pure: the caller hands in an :class:`OutboundMail` view model and gets
bytes back for SES ``SendRawEmail``. Values that came from users (names, subjects, file names)
go through :func:`safe_header_text`, addresses through :func:`valid_address`, and message ids
through a strict msg-id check, so that the only header lines in the output are the ones
written here.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from helpdesk.characters import BIDI_CONTROLS
from helpdesk.signing import keyed_digest

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "ANSWERING_KINDS",
    "MAIL_KINDS",
    "OutboundMail",
    "compose",
    "make_message_id",
    "safe_header_text",
    "subject_with_token",
    "valid_address",
]

MAIL_KINDS = frozenset(
    {
        "acknowledgement", "reply", "notification", "assignment", "survey", "escalation",
        "alert", "report", "error", "warning", "relay", "note", "complaint",
    }
    # The customer's fresh page links, asked for at /ticket (helpdesk.services.portal).
    | {"links"}
)  # fmt: skip

# Kinds sent in direct response to what a person submitted; the rest are auto-generated.
# Progress notifications answer the customer's own request (auto-replied on
# the customer-facing automatic mail), so they count as answering too.
ANSWERING_KINDS = frozenset({"acknowledgement", "reply", "error", "notification"}) | {"links"}

# Mail clients thread on the root and the nearest ancestors; RFC 5537 §3.4.4 trims the same
# way (keep the first, drop from the middle) so an endless thread keeps a bounded header.
MAX_REFERENCES = 20


# The longest field value whose parse is kept (the parts' fields are shorter).
_SHORT_VALUE = 40


class _HeaderClasses(HeaderRegistry):
    """The library's header registry, each header class made once and each short field
    parsed once.

    ``HeaderRegistry`` builds a new class (``type(...)``) for every header it is asked
    for, a large share of composing a mail; the class depends only on the field name, so
    the one made first serves every later header of that name.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}
        # The parts' fields repeat from mail to mail ("text/plain", "quoted-printable",
        # "1.0"); a header is an immutable value, so one parse serves them all.
        self._parsed = lru_cache(maxsize=64)(super().__call__)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: str) -> BaseHeader:
        if not isinstance(value, str) or len(value) > _SHORT_VALUE:
            return super().__call__(name, value)
        return self._parsed(name, value)


# 7bit bodies (quoted-printable or base64 for non-ASCII text) instead of the SMTP policy's
# 8bit default: relays without 8BITMIME (RFC 6152) would otherwise have to re-encode, and
# some mangle the body instead.
# RFC 5322 §2.1.1: lines of at most 78 characters (the SMTP policy's default, named here
# because the plain fields below are written only when they fit one).
_LINE_LENGTH = 78
_POLICY: Policy = email_policy.SMTP.clone(
    cte_type="7bit", max_line_length=_LINE_LENGTH, header_factory=_HeaderClasses()
)

# RFC 5321 §4.5.3.1: 64 octets of local part, 255 of domain, 256 of path including the
# angle brackets, hence 254 for the bare address.
_MAX_LOCAL_PART = 64
_MAX_ADDRESS = 254
_MAX_MESSAGE_ID = 250
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# At least two labels and an alphabetic (or IDNA "xn--") top-level label: mail to
# "localhost" or to a bare IP address is never a customer.
_DOMAIN = rf"(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})"
_ADDR_SPEC = re.compile(rf"(?P<local>{_DOT_ATOM})@(?P<domain>{_DOMAIN})")
_DOMAIN_ONLY = re.compile(_DOMAIN)
_COMMON_ADDRESS = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+")
# RFC 5322 §3.6.4 msg-id without the obsolete forms and without domain literals.
_MESSAGE_ID = re.compile(rf"{_DOT_ATOM}@{_DOT_ATOM}")
_ID_PART = re.compile(r"[a-z0-9][a-z0-9-]*")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Reply prefixes of common mail clients in the languages we serve and their neighbours:
# "Re", German "AW", Dutch "Antw", Nordic "SV"/"VS", Polish "Odp", Turkish "YNT", Russian
# "Ответ"/"Отв", Chinese "回复"/"回覆"/"答复"; each with an optional counter ("Re[2]:",
# "Re^2:") and an ASCII or full-width colon, which French clients precede with a space.
_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|aw|antw|sv|vs|odp|ynt|ответ|отв|回复|回覆|答复)"
    r"\s*(?:\[\d+\]|\^\d+|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_HEADER_CONTROL_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# U+2060 WORD JOINER: invisible and non-breaking, so "=?" reads the same to a person while
# no parser can take it for the start of an RFC 2047 encoded word.
_ENCODED_WORD_START = "=?"
# Domain separation under the signing key (see helpdesk.signing).
_MESSAGE_ID_PURPOSE = b"helpdesk-message-id\x00"
_DEFUSED_ENCODED_WORD_START = "=\u2060?"


@dataclass(frozen=True)
class OutboundMail:
    """One mail the help desk sends: what the caller decided, before any encoding.

    ``subject`` is final (callers add the ticket token with :func:`subject_with_token`);
    ``message_id``, ``in_reply_to`` and ``references`` are msg-ids without angle brackets.
    ``automatic`` marks mail written by the help desk itself (RFC 3834 §5); a relayed human
    agent reply sets it to False.
    """

    kind: str
    ticket: str | None
    sender: str
    sender_name: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = True
    message_id: str | None = None
    cc: tuple[str, ...] = ()
    attachments: tuple[tuple[str, str, bytes], ...] = ()


class _MessageIdListHeader(str):
    """In-Reply-To or References, folded between msg-ids and never as encoded words.

    The library takes both fields for unstructured text and RFC 2047-encodes a long msg-id
    to wrap it, which mail clients do not decode there, so threading breaks. A value with a
    ``name`` and a ``fold`` method is a header object to ``email.policy`` and is written as
    it folds itself.
    """

    name: str
    message_ids: tuple[str, ...]

    def __new__(cls, name: str, message_ids: Iterable[str]) -> _MessageIdListHeader:
        bracketed = tuple(f"<{message_id}>" for message_id in message_ids)
        header = super().__new__(cls, " ".join(bracketed))
        header.name = name
        header.message_ids = bracketed
        return header

    def fold(self, *, policy: Policy) -> str:
        """Return the header line, one msg-id per line (RFC 5322 §3.6.4 allows FWS between)."""
        return f"{self.name}: " + f"{policy.linesep} ".join(self.message_ids) + policy.linesep


class _NamedHeader(str):
    """A header field's value that knows its field name, as the library's header model
    does, so that the message can ask it to fold itself (``fold(policy=)``)."""

    name: str

    def __new__(cls, name: str, text: str) -> Self:
        header = super().__new__(cls, text)
        header.name = name
        return header


class _TextHeader(_NamedHeader):
    """An unstructured field (Subject) whose text survives folding byte for byte.

    RFC 2047 §6.2: whitespace between two adjacent encoded-words is ignored when they are
    decoded, so a space of the text must be inside an encoded-word, never the folding
    whitespace between two of them. The modern ``email.policy`` folder breaks that rule:
    it puts a space that falls at a fold between two encoded-words ("прошла по" reads back
    as "прошлапо"; CPython gh-92081, gh-120930 and gh-144156, fixed only in releases newer
    than the runtimes the desk runs on). ``email.header.Header`` encodes the whole text
    into encoded-words cut at character boundaries, spaces included (RFC 2047 §5 (1),
    §2: each at most 75 characters, each line at most ``max_line_length``), and folds
    plain ASCII at its own spaces, which unfolding (RFC 5322 §2.2.3) gives back.
    """

    def fold(self, *, policy: Policy) -> str:
        """Return the header line, folded at ``policy.max_line_length`` with CRLF."""
        charset = "us-ascii" if self.isascii() else "utf-8"
        value = Header(
            str(self), charset, maxlinelen=policy.max_line_length, header_name=self.name
        ).encode(linesep=policy.linesep)
        # A first ASCII word longer than what is left of the first line is moved to the
        # next by Header, leaving the field body to begin with folding whitespace, which
        # unfolding (RFC 5322 §2.2.3) gives back as a space in front of the subject. It
        # cannot be folded anyway (only at its spaces): it stays on the first line, which
        # may be longer than 78 characters (§2.1.1: at most 998; subjects are cut to far
        # fewer by safe_header_text).
        value = value.removeprefix(policy.linesep + " ")
        return f"{self.name}: {value}{policy.linesep}"


class _PlainHeader(_NamedHeader):
    """A field the library would write back exactly as given: printable ASCII words with
    single spaces, on one line (see :func:`_plain`). Written as is, which spares parsing
    the value into the library's header model only to print the same text again."""

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


# What a header field's value may be: one of ours, which folds itself, or a value the
# library's header model parses and folds (a mailbox or address list it must encode, a
# text that is not plain).
_FieldValue = _NamedHeader | _MessageIdListHeader | Address | list[Address] | str
_SELF_FOLDING = (_PlainHeader, _TextHeader, _MessageIdListHeader)
# A line break inside a folded field that does not start a continuation line (RFC 5322
# §2.2.3): the pattern CPython's generator refuses to write (verify_generated_headers).
_LINE_BREAK_IN_FIELD = re.compile(rb"\r\n[^ \t]|\r[^ \n\t]|\n[^ \t]")


# Printable ASCII words (RFC 5322 §2.2: VCHAR) separated by single spaces.
_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")
# A display name that is atoms only (RFC 5322 §3.2.3), which needs no quoting.
_ATOM_PHRASE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")


def _plain(name: str, text: str) -> _PlainHeader | None:
    """``text`` as a field written as is, when it is plain and fits on one line
    (RFC 5322 §2.1.1: 78 characters): what the library's header model would write for it
    byte for byte, as tests/unit/test_compose.py checks. None otherwise, and the caller
    hands the value to the library, which folds and encodes it."""
    if (
        len(name) + 2 + len(text) > _LINE_LENGTH
        or _ENCODED_WORD_START in text
        or _PLAIN_TEXT.fullmatch(text) is None
    ):
        return None
    return _PlainHeader(name, text)


def _field(name: str, text: str) -> _PlainHeader | str:
    """A field of our own text: plain when it can be, else the library's to fold."""
    return _plain(name, text) or text


def _mailbox(name: str, display_name: str, address: str) -> _PlainHeader | Address:
    """One mailbox (``address`` already valid), plain when its display name is atoms."""
    if not display_name:
        plain = _plain(name, address)
    elif _ATOM_PHRASE.fullmatch(display_name) is not None:
        plain = _plain(name, f"{display_name} <{address}>")
    else:
        plain = None
    return plain or Address(display_name=display_name, addr_spec=address)


def _address_list(name: str, addresses: tuple[str, ...]) -> _PlainHeader | list[Address]:
    """Bare addresses (already valid) separated by commas, plain when on one line."""
    return _plain(name, ", ".join(addresses)) or [
        Address(addr_spec=address) for address in addresses
    ]


def safe_header_text(value: str, max_len: int = 200) -> str:
    """Return ``value`` made safe to put into a header as text.

    Removes CR, LF, NUL and every other control, line- and paragraph-separator character
    and the bidirectional overrides, embeddings and isolates,
    collapses runs of whitespace to one space, cuts the result to ``max_len`` characters
    (ending in "…" when cut), and defuses RFC 2047 encoded-word openers ("=?") with an
    invisible word joiner: Python's header parser decodes encoded words found in plain
    input, even inside quoted display names, so "=?utf-8?q?=0D=0ABcc:?=" would otherwise
    come back as a line break in the folded header.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be positive, not {max_len}")
    visible = value.replace(_DEFUSED_ENCODED_WORD_START, _ENCODED_WORD_START).translate(
        BIDI_CONTROLS
    )
    # A printable text holds no Cc, Cs, Zl or Zp character (str.isprintable is false for
    # the categories "Other" and "Separator" but the ASCII space), so only another text
    # needs the look at each character.
    if not visible.isprintable():
        visible = "".join(
            " " if unicodedata.category(char) in _HEADER_CONTROL_CATEGORIES else char
            for char in visible
        )
    collapsed = " ".join(visible.split())
    if len(collapsed) > max_len:
        collapsed = collapsed[: max_len - 1].rstrip() + "…"
    return collapsed.replace(_ENCODED_WORD_START, _DEFUSED_ENCODED_WORD_START)


def valid_address(addr: str) -> bool:
    """Whether ``addr`` is a bare, strict addr-spec we are willing to send to.

    ASCII dot-atom local part (no quoted strings, no comments, no display name), a domain
    of at least two LDH labels with an alphabetic top-level label, and the RFC 5321 length
    limits. Anything ``email.headerregistry`` would read differently is refused too.
    """
    if not addr.isascii() or len(addr) > _MAX_ADDRESS:
        return False
    return _valid_addr_spec(addr)


# Asked four or five times per mail for the same few addresses (the desk's own, the
# ticket's reply address, the customer's, the agents'); at most 1024 of 254 characters kept.
@lru_cache(maxsize=1024)
def _valid_addr_spec(addr: str) -> bool:
    match = _ADDR_SPEC.fullmatch(addr)
    if match is None or len(match["local"]) > _MAX_LOCAL_PART:
        return False
    # The library's parser decodes RFC 2047 encoded words even inside a local part.
    if _ENCODED_WORD_START in addr:
        return False
    if _COMMON_ADDRESS.fullmatch(addr) is not None:
        # Letters, digits, ".", "_", "+" and "-" only (nearly every address): nothing the
        # library's parser treats specially, so it reads the dot-atom as written
        # (tests/unit/test_compose.py holds it over every such address it generates).
        return True
    try:
        parsed = Address(addr_spec=addr)
    except (ValueError, IndexError, HeaderParseError):
        return False
    return parsed.addr_spec == addr and not parsed.display_name


def make_message_id(ticket: str | None, kind: str, key: str, domain: str, *, secret: bytes) -> str:
    """A deterministic Message-ID (without angle brackets) for one mail of one ticket.

    ``hd.<ticket or x>.<kind>.<16 hex digits of HMAC(secret, ticket, kind, key)>@<domain>``:
    a send retried after a crash carries the same id, which mail clients collapse as a
    duplicate, and the inbound robot check recognises our own echoes by the ``hd.`` prefix
    and our domain. Keyed with the desk's signing key, so that nobody can compute the id of
    a ticket's mail from its reference; knowing one is still no way into a ticket (intake
    threads a mail only when its sender takes part in the ticket).
    """
    ticket_part = "x" if ticket is None else ticket.lower()
    kind_part = kind.lower()
    if _ID_PART.fullmatch(ticket_part) is None:
        raise ValueError(f"{ticket!r} is not a ticket reference usable in a Message-ID")
    if _ID_PART.fullmatch(kind_part) is None:
        raise ValueError(f"{kind!r} is not a mail kind usable in a Message-ID")
    if _DOMAIN_ONLY.fullmatch(domain) is None:
        raise ValueError(f"{domain!r} is not a mail domain")
    payload = "\x1f".join((ticket_part, kind_part, key)).encode("utf-8")
    digest = keyed_digest(secret, _MESSAGE_ID_PURPOSE, payload).hex()[:16]
    return f"hd.{ticket_part}.{kind_part}.{digest}@{domain.lower()}"


def own_message_kind(message_id: str, domain: str) -> str | None:
    """The kind of the desk's own mail ``message_id`` names (:func:`make_message_id`'s
    ``hd.<ticket>.<kind>.<digest>@<domain>``, angle brackets allowed), or None when it is
    not one of ours. Its digest is not checked: the shape alone says "ours", and a caller
    that must know a forged one from a real one looks the ID up in the sent-mail records."""
    local, _, id_domain = message_id.strip().strip("<>").rpartition("@")
    parts = local.lower().split(".")
    if id_domain.lower() != domain.lower() or len(parts) != 4 or parts[0] != "hd":
        return None
    return parts[2]


def subject_with_token(subject: str, ref: str) -> str:
    """Return ``subject`` carrying the ticket token ``[#ref]``, with reply prefixes tidied.

    Stacked reply prefixes in any of the languages mail clients use ("Re: AW: Ответ: …")
    become a single "Re: " when there was at least one; the token is put in front of the
    rest unless it is already somewhere in the subject.
    """
    token = f"[#{ref}]"
    rest = " ".join(subject.split())
    was_reply = False
    while (prefix := _REPLY_PREFIX.match(rest)) is not None:
        was_reply = True
        rest = rest[prefix.end() :]
    if token.casefold() not in rest.casefold():
        rest = f"{token} {rest}".rstrip()
    return f"Re: {rest}" if was_reply else rest


def compose(
    mail: OutboundMail, *, domain: str, date: datetime, message_id_key: bytes | None = None
) -> bytes:
    """Return ``mail`` as RFC 5322 bytes with CRLF line ends, ready for SES SendRawEmail.

    ``domain`` names the right-hand side of a generated Message-ID, keyed with
    ``message_id_key`` (needed when ``mail.message_id`` is None); ``date`` must be aware.
    Raises ValueError for an invalid sender, recipient or Reply-To address, for a mail
    without recipients, for an unknown kind and for a malformed ``message_id``; malformed
    msg-ids from inbound mail in ``in_reply_to`` and ``references`` are left out rather
    than failing the send.
    """
    if mail.kind not in MAIL_KINDS:
        raise ValueError(f"{mail.kind!r} is not a mail kind ({', '.join(sorted(MAIL_KINDS))})")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the Date of a mail needs a time zone")
    if not mail.to:
        raise ValueError("a mail needs at least one recipient")
    for role, addresses in (
        ("sender", (mail.sender,)),
        ("recipient", mail.to + mail.cc),
        ("Reply-To", () if mail.reply_to is None else (mail.reply_to,)),
    ):
        for address in addresses:
            if not valid_address(address):
                raise ValueError(f"invalid {role} address {address!r}")

    message_id = mail.message_id
    if message_id is None:
        if message_id_key is None:
            raise ValueError("a mail needs its Message-ID, or the key to make one")
        message_id = make_message_id(
            mail.ticket, mail.kind, _content_key(mail), domain, secret=message_id_key
        )
    elif not _valid_message_id(message_id):
        raise ValueError(f"invalid Message-ID {message_id!r}")
    in_reply_to = mail.in_reply_to if _valid_message_id(mail.in_reply_to) else None
    references = _thread_references(mail.references, in_reply_to)

    # The header fields in order: what the library's message would hold (see _with_body).
    fields: list[tuple[str, _FieldValue]] = []
    sender_name = safe_header_text(mail.sender_name)
    fields.append(("From", _mailbox("From", sender_name, mail.sender)))
    fields.append(("To", _address_list("To", mail.to)))
    if mail.cc:
        fields.append(("Cc", _address_list("Cc", mail.cc)))
    if mail.reply_to is not None:
        fields.append(("Reply-To", _mailbox("Reply-To", "", mail.reply_to)))
    subject = safe_header_text(mail.subject, max_len=250)
    fields.append(("Subject", _plain("Subject", subject) or _TextHeader("Subject", subject)))
    fields.append(("Date", _field("Date", format_datetime(date))))
    fields.append(("Message-ID", _field("Message-ID", f"<{message_id}>")))
    if in_reply_to is not None:
        fields.append(("In-Reply-To", _MessageIdListHeader("In-Reply-To", (in_reply_to,))))
    if references:
        fields.append(("References", _MessageIdListHeader("References", references)))
    fields.append(("X-Helpdesk-Kind", _field("X-Helpdesk-Kind", mail.kind)))
    if mail.ticket is not None:
        ticket = safe_header_text(mail.ticket, max_len=40)
        fields.append(("X-Helpdesk-Ticket", _field("X-Helpdesk-Ticket", ticket)))
    if mail.automatic:
        # RFC 3834 §5.2: "auto-replied" answers something a person sent (a mail or a web
        # form), "auto-generated" is what the help desk writes on its own schedule (warnings,
        # surveys, reports). Precedence is left out: it was never standardised and
        # Auto-Submitted is what RFC 3834 puts in its place. X-Auto-Response-Suppress keeps
        # Exchange from answering with out-of-office notes and read receipts.
        answers_someone = mail.kind in ANSWERING_KINDS
        submitted = "auto-replied" if answers_someone else "auto-generated"
        fields.append(("Auto-Submitted", _field("Auto-Submitted", submitted)))
        fields.append(("X-Auto-Response-Suppress", _field("X-Auto-Response-Suppress", "All")))

    return _with_body(fields, mail)


def _with_body(fields: list[tuple[str, _FieldValue]], mail: OutboundMail) -> bytes:
    """The mail of the header ``fields`` and the body of ``mail``, as bytes."""
    if mail.attachments:
        return _with_body_by_library(fields, mail)
    return _header_section(fields) + _text_body(mail.text, mail.html)


def _message(fields: list[tuple[str, _FieldValue]]) -> EmailMessage:
    """The library's message holding ``fields``."""
    message = EmailMessage(policy=_POLICY)
    for name, value in fields:
        message[name] = value
    return message


def _header_section(fields: list[tuple[str, _FieldValue]]) -> bytes:
    """The header section as the library writes it, without its closing blank line.

    A field that folds itself (every one of ours but a mailbox or address list the
    library must encode) is written by ``BytesGenerator`` as its ``fold(policy=)``, ASCII
    with surrogateescape (``email.policy.EmailPolicy.fold_binary``): when every field is
    one, they are written so directly, without a message object to store them in and a
    generator to read them back. A field the library would refuse to write (a line break
    not followed by white space: CPython's ``verify_generated_headers``) is refused here
    too; none of ours can hold one."""
    folding = [value for _, value in fields if isinstance(value, _SELF_FOLDING)]
    if len(folding) < len(fields):
        return _message(fields).as_bytes(policy=_POLICY)[: -len(_CRLF)]
    lines = []
    for value in folding:
        folded = value.fold(policy=_POLICY).encode("ascii", "surrogateescape")
        if not folded.endswith(_CRLF) or _LINE_BREAK_IN_FIELD.search(folded[: -len(_CRLF)]):
            raise ValueError(f"the folded field {folded!r} would break the header section")
        lines.append(folded)
    return b"".join(lines)


def _with_body_by_library(fields: list[tuple[str, _FieldValue]], mail: OutboundMail) -> bytes:
    """:func:`_with_body` through the library's MIME parts, which the attachments need."""
    message = _message(fields)
    message.set_content(mail.text, subtype="plain", charset="utf-8")
    if mail.html is not None:
        message.make_alternative(boundary=_boundary(mail.text, mail.html))
        message.add_alternative(mail.html, subtype="html", charset="utf-8")
    for filename, content_type, data in mail.attachments:
        maintype, subtype = _attachment_type(content_type)
        message.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=_attachment_filename(filename)
        )
    # The library stamps MIME-Version on every part it creates; RFC 2045 §4 wants it once,
    # at the top, and spam filters count the stray copies against a sender.
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]
    return message.as_bytes(policy=_POLICY)


_CRLF = b"\r\n"


def _text_body(text: str, html: str | None) -> bytes:
    """The MIME fields and body of a mail of ``text`` and an optional ``html`` alternative,
    byte for byte what ``EmailMessage.set_content``, ``add_alternative`` and ``as_bytes``
    write under :data:`_POLICY` (tests/unit/test_compose.py holds them to it), without
    parsing and folding the parts' fields again for every mail: RFC 2045 §4 MIME-Version
    once at the top, RFC 2046 §5.1.4 multipart/alternative with the plain text first."""
    if html is None:
        fields, payload = _text_part(text, "plain")
        return fields + b"MIME-Version: 1.0\r\n\r\n" + payload
    boundary = _boundary(text, html).encode("ascii")
    plain_fields, plain_payload = _text_part(text, "plain")
    html_fields, html_payload = _text_part(html, "html")
    return b"".join(
        (
            b"MIME-Version: 1.0\r\n",
            b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n',
            b"\r\n--" + boundary + b"\r\n",
            plain_fields + b"\r\n" + plain_payload,
            b"\r\n--" + boundary + b"\r\n",
            html_fields + b"\r\n" + html_payload,
            b"\r\n--" + boundary + b"--\r\n",
        )
    )


def _text_part(text: str, subtype: str) -> tuple[bytes, bytes]:
    """A UTF-8 text part's Content-Type and Content-Transfer-Encoding fields, and its
    payload with CRLF line ends."""
    transfer_encoding, payload = _encoded_text(text)
    fields = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {transfer_encoding}\r\n"
    )
    # Every encoding below ends its lines with "\n" alone (the lines were split first):
    # the generator's CRLF is one replace, not a search for three kinds of line end.
    return fields.encode("ascii"), payload.replace("\n", "\r\n").encode("ascii")


def _encoded_text(text: str) -> tuple[str, str]:
    """The transfer encoding the library chooses for UTF-8 ``text`` under a 7bit policy,
    and the text in it: 7bit when it is ASCII in lines of at most 78 octets, else the
    shorter of quoted-printable and base64 on its first ten lines (RFC 2045 §6.7, §6.8)."""
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= _LINE_LENGTH:
        body = b"\n".join(lines) + b"\n"
        if body.isascii():
            return "7bit", body.decode("ascii")
    first_lines = lines[:10]
    first_quoted = _quoted_printable(first_lines)
    if len(first_quoted) <= len(binascii.b2a_base64(b"\r\n".join(first_lines) + b"\r\n")):
        if len(lines) <= 10:
            return "quoted-printable", first_quoted
        # Each line is encoded on its own: the whole body is the first ten lines' encoding
        # followed by the rest's.
        return "quoted-printable", first_quoted + _quoted_printable(lines[10:])
    # Base64 lines of 76 characters: 57 octets each (78 // 4 * 3).
    data = b"\r\n".join(lines) + b"\r\n"
    chunk = _LINE_LENGTH // 4 * 3
    return "base64", "".join(
        binascii.b2a_base64(data[start : start + chunk]).decode("ascii")
        for start in range(0, len(data), chunk)
    )


# Quoted-printable (RFC 2045 §6.7): an octet is written as it is when it is printable ASCII
# other than "=" (rule 2), a space or a tab (rule 3); any other octet as "=" and two
# upper-case hex digits (rule 1).
_QP_LITERAL = frozenset(b"\t ") | (frozenset(range(33, 127)) - {ord("=")})
# The table for a text of lines joined by "\n", which stays the line end.
_QP_OCTETS = [
    chr(octet) if octet in _QP_LITERAL or octet == ord("\n") else f"={octet:02X}"
    for octet in range(256)
]
# Octets written as they are, "=" and the line end included: what is left of a text
# without them is what needs a table lookup to be quoted.
_QP_PLAIN_OCTETS = bytes(sorted(_QP_LITERAL | {ord("="), ord("\n")}))
_QP_OTHER = re.compile(r"[^\t\n -~]")
# Encoded lines end in a soft line break "=" within the line length (rule 5).
_QP_WIDTH = _LINE_LENGTH - 1


def _quoted_printable(lines: list[bytes]) -> str:
    """``lines`` (without their line ends) in quoted-printable, each line ended by "\n":
    byte for byte ``email.quoprimime.body_encode`` of the lines and their line ends at
    :data:`_LINE_LENGTH`, as the library's ``set_content`` calls it, without its lookup of
    every character in a table when few need quoting (an HTML part's markup is full of
    "=", and a text in a Latin script has a non-ASCII letter here and there). Properties
    in tests/unit/test_compose.py hold the two equal."""
    data = b"\n".join(lines)
    text = data.decode("latin-1")
    others = len(data.translate(None, _QP_PLAIN_OCTETS))
    if others == 0:
        quoted = text.replace("=", "=3D")
    elif others * 8 < len(data):
        quoted = _QP_OTHER.sub(_qp_escape, text.replace("=", "=3D"))
    else:  # Cyrillic, Chinese: most octets need the table
        quoted = text.translate(_QP_OCTETS)
    encoded: list[str] = []
    for line in quoted.split("\n"):
        if len(line) <= _LINE_LENGTH and not line.endswith((" ", "\t")):
            encoded.append(line)  # fits as it is (what the wrapping below would keep)
        else:
            _wrap_quoted_line(line, encoded)
    return "\n".join(encoded) + "\n"


def _qp_escape(octet: re.Match[str]) -> str:
    return _QP_OCTETS[ord(octet[0])]


def _wrap_quoted_line(line: str, encoded: list[str]) -> None:
    """Append the quoted ``line`` to ``encoded`` in pieces of at most :data:`_LINE_LENGTH`
    characters, each but the last ended by a soft line break, never inside an "=XX"; a
    space or tab at its end is quoted, since a line's trailing white space may be lost in
    transport (RFC 2045 §6.7 rule 3), with the soft break placed as room allows."""
    start = 0
    # The last position from which a piece still has more than a line's worth after it.
    last_start = len(line) - 1 - _LINE_LENGTH
    while start <= last_start:
        stop = start + _QP_WIDTH
        if line[stop - 2] == "=":
            # An escape starts two before the end: its "=" ends this piece as the soft
            # break, and the escape starts the next.
            encoded.append(line[start : stop - 1])
            start = stop - 2
        elif line[stop - 1] == "=":
            encoded.append(line[start:stop])
            start = stop - 1
        else:
            encoded.append(line[start:stop] + "=")
            start = stop
    if line and line[-1] in " \t":
        room = start - last_start
        quoted_blank = f"={ord(line[-1]):02X}"
        if room >= 3:
            ending = quoted_blank
        elif room == 2:  # room for the blank itself and a soft break after it
            ending = line[-1] + "=\n"
        else:  # room for a soft break only: the quoted blank makes a line of its own
            ending = "=\n" + quoted_blank
        encoded.append(line[start:-1] + ending)
    else:
        encoded.append(line[start:])


# The library's boundaries: 15 "=", a random number of sys.maxsize's width, "==".
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def _boundary(*texts: str) -> str:
    """A multipart boundary that none of ``texts`` holds (RFC 2046 §5.1.1), as the
    library's generator would choose it, but without the regular expression it compiles
    for every mail to look for it in the encoded parts. Looking in the texts themselves is
    enough: a 7bit part is its text, and neither quoted-printable (which writes "=" as
    "=3D") nor base64 (at most "==" at its very end) can write fifteen "=" in a row."""
    while True:
        token = random.randrange(sys.maxsize)  # noqa: S311 (unique, not secret: the library's way)
        boundary = f"{'=' * 15}{token:0{_BOUNDARY_DIGITS}d}=="
        if not any(boundary in text for text in texts):
            return boundary


def _valid_message_id(message_id: str | None) -> bool:
    return (
        message_id is not None
        and len(message_id) <= _MAX_MESSAGE_ID
        and message_id.isascii()
        and _MESSAGE_ID.fullmatch(message_id) is not None
        # Python reads "=?...?=" inside In-Reply-To and References as encoded words.
        and _ENCODED_WORD_START not in message_id
    )


def _thread_references(references: Iterable[str], in_reply_to: str | None) -> tuple[str, ...]:
    """RFC 5322 §3.6.4: the parent's References followed by the parent's own id, bounded."""
    chain = [reference for reference in references if _valid_message_id(reference)]
    if in_reply_to is not None:
        chain.append(in_reply_to)
    # Keep each id's last place, so the parent stays last even when it was listed before.
    unique = tuple(reversed(dict.fromkeys(reversed(chain))))
    if len(unique) <= MAX_REFERENCES:
        return unique
    return (unique[0], *unique[-(MAX_REFERENCES - 1) :])


def _content_key(mail: OutboundMail) -> str:
    """What makes a mail the same mail again when a crashed send is retried."""
    return "\x1f".join(
        (mail.kind, ",".join(mail.to), mail.in_reply_to or "", mail.subject, mail.text)
    )


def _attachment_type(content_type: str) -> tuple[str, str]:
    normalized = content_type.strip().lower()
    if _MIME_TYPE.fullmatch(normalized) is None:
        normalized = "application/octet-stream"
    maintype, subtype = normalized.split("/", 1)
    if maintype in {"multipart", "message"}:
        # Attached as opaque data: a nested MIME structure of user origin is not ours to vouch for.
        return "application", "octet-stream"
    return maintype, subtype


def _attachment_filename(filename: str) -> str:
    # Only the last path component: some clients save to the path a file name spells out.
    base = re.split(r"[\\/]", filename)[-1]
    return safe_header_text(base, max_len=120).lstrip(".") or "attachment"
