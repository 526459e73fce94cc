"""Message bodies too large for a DynamoDB item live in S3, behind a pointer.

A DynamoDB item holds at most 400 KB, attribute names included ("Constraints in Amazon
DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html),
and SES accepts mail of up to 40 MB: the text of one mail can be a hundred times what an
item holds. The message item keeps a bounded excerpt of each body (so lists, events and
notifications read one item as before) and ``body_key`` names the S3 object with all of
it; whoever shows a message to a person reads it through :func:`whole`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from helpdesk.sizes import TYPED_TEXT_MAX_BYTES, cut_utf8, utf8_size

if TYPE_CHECKING:
    from helpdesk.model import Message
    from helpdesk.ports import MailStore

# Bytes of UTF-8 kept on the item: with the subject, addresses and the bounded attachment
# list, a message item stays well below 400 KB, and a transaction of a few such items far
# below the 4 MB a TransactWriteItems call may carry.
TEXT_INLINE_BYTES = 64 * 1024
FULL_TEXT_INLINE_BYTES = 64 * 1024
HTML_INLINE_BYTES = 128 * 1024
BODY_CONTENT_TYPE = "application/json"
# Bytes of a mail's text its message item keeps (the rest is read from the raw mail).
MAIL_EXCERPT_BYTES = 600
# The raw mails read again to show a whole text, and the text shown at most.
WHOLE_MAIL_MAX_BYTES = 10 * 1024 * 1024
WHOLE_TEXT_MAX_BYTES = 256 * 1024
# Bytes of raw mail one response (the customer's page, the agent API's ticket) reads and
# parses again at the most, newest first; past them a message shows its excerpt, marked
# cut. Two mails at the bound: about a second of the page function's share of a core and
# well within its memory, where fifty had been 500 MB a view, and a page GET is not
# rate-limited (attack 11, F3).
VIEW_RAW_MAIL_MAX_BYTES = 2 * WHOLE_MAIL_MAX_BYTES
# What one response (the customer's page, the agent API's ticket) shows of a conversation.
# Lambda answers at most 6 MB, measured on the JSON it returns ("Lambda quotas"), and a
# text grows on its way there: the page escapes '"' as "&#34;" (5 bytes for 1), JSON
# writes a control character as "\u0001" (6 bytes; 7 in the agent API's JSON inside
# Lambda's), and a Cyrillic or Chinese character as "\uXXXX" (3 and 2 times its UTF-8).
# So sizes are counted in UTF-8 bytes and budgeted for 7 times that. One message shows at
# most 80,000 bytes: every text typed in the form, on the page or in a channel (at most
# 20,000 characters by default, four bytes each at the most: an emoji, review 8, #4)
# shows whole, and only mail (which its reader has) and the longest agent replies (mailed
# to the customer) are cut. A response shows at most 512 KiB of text in all (six such
# messages, hundreds of ordinary ones): 3.5 MB at the worst expansion, which leaves 2.5 MB
# for the markup, addresses and file lists of at most 50 messages, far more than they take.
SHOWN_TEXT_MAX_BYTES = TYPED_TEXT_MAX_BYTES
# The messages one response shows at most (the customer's page and the agent API alike).
THREAD_MESSAGES_MAX = 50
THREAD_TEXT_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class Bodies:
    """A message's text as read (``text``), with quotes (``full_text``) and as HTML."""

    text: str
    full_text: str | None
    html: str | None

    def fits_inline(self) -> bool:
        return (
            utf8_size(self.text) <= TEXT_INLINE_BYTES
            and utf8_size(self.full_text or "") <= FULL_TEXT_INLINE_BYTES
            and utf8_size(self.html or "") <= HTML_INLINE_BYTES
        )

    def excerpts(self) -> Bodies:
        return Bodies(
            text=cut_utf8(self.text, TEXT_INLINE_BYTES),
            full_text=None
            if self.full_text is None
            else cut_utf8(self.full_text, FULL_TEXT_INLINE_BYTES),
            html=None if self.html is None else cut_utf8(self.html, HTML_INLINE_BYTES),
        )

    def to_json(self) -> bytes:
        document = {"text": self.text, "full_text": self.full_text, "html": self.html}
        return json.dumps(document, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Bodies:
        document = json.loads(data.decode("utf-8"))
        return cls(
            text=str(document.get("text") or ""),
            full_text=document.get("full_text"),
            html=document.get("html"),
        )


def body_key(message_key: str) -> str:
    """The S3 key of a message's bodies: next to its attachments (whose keys start with a
    number), under the prefix the intake may already write."""
    return f"attachments/{message_key}/body.json"


def keep(message_key: str, bodies: Bodies, store: MailStore) -> tuple[Bodies, str | None]:
    """What goes on the message item, and the pointer to the rest (None when all fits).

    Written before the item that points to it, under a key derived from the delivery, so
    that a retried intake writes the same object again and no item ever points nowhere.
    """
    if bodies.fits_inline():
        return bodies, None
    key = store.write(body_key(message_key), bodies.to_json(), BODY_CONTENT_TYPE)
    return bodies.excerpts(), key


def mail_excerpt(bodies: Bodies) -> tuple[str, bool]:
    """What a mail's message item keeps: an excerpt of its text, and whether anything
    (more text, the quoted text, the HTML) was left to the raw mail.

    The raw mail is in S3 already (SES stored it before intake ran), so a second copy of
    its bodies in DynamoDB would be paid twice, in a transaction that bills each KB twice:
    the item carries what lists and notices show, and :func:`whole` reads the rest.
    """
    text = cut_utf8(bodies.text, MAIL_EXCERPT_BYTES)
    return text, text != bodies.text or bool(bodies.full_text) or bool(bodies.html)


def whole(message: Message, read: Callable[[str], bytes], *, bounded: bool = True) -> Message:
    """``message`` with its whole text and HTML: from the raw mail when the item keeps an
    excerpt, through its pointer when it has one. ``bounded`` (the default, for what is
    mailed to people) reads a raw mail only up to WHOLE_MAIL_MAX_BYTES and shows at most
    WHOLE_TEXT_MAX_BYTES; the state of a local stack reads everything."""
    if bounded and _beyond_the_bound(message):
        return message
    return _whole(message, read, WHOLE_TEXT_MAX_BYTES if bounded else None)


def _beyond_the_bound(message: Message) -> bool:
    """Whether ``message`` keeps an excerpt of a mail too large to read again (the bound
    of :func:`too_large_to_read_again`)."""
    return bool(message.excerpt and message.raw_key) and too_large_to_read_again(message.raw_size)


def _reads_raw_mail(message: Message) -> bool:
    """Whether showing ``message``'s whole text means reading and parsing its raw mail."""
    return (
        bool(message.excerpt and message.raw_key)
        and not _beyond_the_bound(message)
        and not message.holds_whole_text
    )


def too_large_to_read_again(raw_size: int | None) -> bool:
    """Whether a raw mail of ``raw_size`` bytes (None: unknown) is beyond the bound: a
    mail of tens of megabytes of text would otherwise be read and parsed again (hundreds of
    MB of memory) wherever it is shown, and mailed whole to an agent past SES's 10 MB.
    Beyond the bound the excerpt stands; the raw mail stays."""
    return raw_size is None or raw_size > WHOLE_MAIL_MAX_BYTES


def _whole(message: Message, read: Callable[[str], bytes], limit: int | None) -> Message:
    if message.excerpt and message.raw_key:
        from helpdesk.mail.parse import parse_mail

        # Attachments are not shown here: their bytes are not even kept.
        mail = parse_mail(read(message.raw_key), attachment_max_bytes=0, attachments_max_count=0)
        full_text = mail.full_text if mail.full_text != mail.text else None
        return replace(
            message,
            text=_shown(mail.text or mail.full_text, limit) or "",
            full_text=_shown(full_text, limit),
            html=_shown(mail.html or None, limit),
        )
    if not message.body_key:
        return message
    bodies = Bodies.from_json(read(message.body_key))
    return replace(message, text=bodies.text, full_text=bodies.full_text, html=bodies.html)


def _shown(text: str | None, limit: int | None) -> str | None:
    return cut_utf8(text, limit) if text is not None and limit is not None else text


@dataclass(frozen=True)
class ShownBody:
    """A message as a response shows it: ``message`` with its text cut to a budget,
    ``text_bytes`` the UTF-8 size of its whole text (None when the desk does not read it
    again: a raw mail beyond WHOLE_MAIL_MAX_BYTES) and whether the text was ``cut``."""

    message: Message
    text_bytes: int | None
    cut: bool


@dataclass(frozen=True)
class ShownThread:
    """The newest messages of a conversation that fit one response (oldest first), and how
    many ``older`` ones were left out."""

    messages: list[ShownBody]
    older: int


def shown_body(
    message: Message, read: Callable[[str], bytes] | None, max_bytes: int = SHOWN_TEXT_MAX_BYTES
) -> ShownBody:
    """``message`` with its whole text (read again as :func:`whole` does; without ``read``,
    the item's excerpt stands) cut to ``max_bytes`` of UTF-8, on a character boundary; its
    quoted text and HTML, which no response shows, dropped. The raw mail is parsed whole: a
    MIME text part can be anywhere in it, base64 or quoted-printable, so no prefix of it
    would do."""
    kept_elsewhere = (message.excerpt and message.raw_key) or message.body_key
    excerpt_stands = _beyond_the_bound(message) or message.holds_whole_text
    if excerpt_stands or (read is None and kept_elsewhere):
        text = cut_utf8(message.text, max_bytes)
        # The excerpt is all there is to show; it is the whole text when intake said so.
        whole_bytes = message.text_bytes if excerpt_stands else None
        return ShownBody(
            replace(message, text=text, full_text=None, html=None),
            text_bytes=whole_bytes,
            cut=whole_bytes is None or utf8_size(text) < whole_bytes,
        )
    complete = _whole(message, read, None) if read is not None else message
    text = cut_utf8(complete.text, max_bytes)
    return ShownBody(
        replace(complete, text=text, full_text=None, html=None),
        text_bytes=utf8_size(complete.text),
        cut=len(text) != len(complete.text),
    )


def newest_shown(
    messages: Sequence[Message],
    read: Callable[[str], bytes] | None,
    *,
    count: int = THREAD_MESSAGES_MAX,
    text_max_bytes: int = SHOWN_TEXT_MAX_BYTES,
    thread_max_bytes: int = THREAD_TEXT_MAX_BYTES,
    raw_max_bytes: int = VIEW_RAW_MAIL_MAX_BYTES,
) -> ShownThread:
    """The newest of ``messages`` (oldest first) a response shows: at most ``count``, each
    cut to ``text_max_bytes`` (:func:`shown_body`), and no more than ``thread_max_bytes`` of
    text in all; the newest is always shown. Messages are read from the newest back and
    reading stops at the first that does not fit: no mail is read again for a message that
    is left out, but that one. At most ``raw_max_bytes`` of raw mail are read again; a
    message whose mail would pass them shows its excerpt, marked cut."""
    taken: list[ShownBody] = []
    total = 0
    raw_left = raw_max_bytes
    for message in reversed(messages[-count:] if count > 0 else []):
        reader = read
        if read is not None and _reads_raw_mail(message):
            # raw_size is known here: a mail of unknown size is beyond the bound.
            raw_size = message.raw_size or 0
            reader = read if raw_size <= raw_left else None
            raw_left -= raw_size if reader is not None else 0
        candidate = shown_body(message, reader, text_max_bytes)
        size = utf8_size(candidate.message.text)
        if taken and total + size > thread_max_bytes:
            break
        taken.append(candidate)
        total += size
    return ShownThread(list(reversed(taken)), older=len(messages) - len(taken))
