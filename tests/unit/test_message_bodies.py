"""A mail's message item keeps an excerpt; the whole text is read again from the raw mail,
within bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from helpdesk.model import Message
from helpdesk.services.message_bodies import WHOLE_MAIL_MAX_BYTES, WHOLE_TEXT_MAX_BYTES, whole

AT = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


def raw_mail(text: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Anna <anna@example.com>"
    mail["To"] = "support@support.example"
    mail["Subject"] = "Order"
    mail.set_content(text)
    return mail.as_bytes()


def excerpt_of(raw: bytes) -> Message:
    return Message(
        id="m1",
        ticket="HD-7K3M9Q",
        direction="in",
        author="anna@example.com",
        at=AT,
        text="It has been two weeks",
        raw_key="inbound/m1",
        excerpt=True,
        raw_size=len(raw),
    )


def test_the_whole_text_of_a_mail_is_read_again_from_its_raw_mail() -> None:
    text = "It has been two weeks and the parcel has not arrived. " * 40
    raw = raw_mail(text)

    shown = whole(excerpt_of(raw), {"inbound/m1": raw}.__getitem__)

    assert shown.text.strip() == text.strip()


def test_a_very_long_text_is_shown_up_to_the_bound() -> None:
    raw = raw_mail("x" * (WHOLE_TEXT_MAX_BYTES * 2))

    shown = whole(excerpt_of(raw), {"inbound/m1": raw}.__getitem__)

    assert len(shown.text.encode("utf-8")) <= WHOLE_TEXT_MAX_BYTES


def test_a_raw_mail_beyond_the_bound_is_not_read_again_and_the_excerpt_stands() -> None:
    reads: list[str] = []
    message = excerpt_of(b"")
    huge = Message(**{**message.__dict__, "raw_size": WHOLE_MAIL_MAX_BYTES + 1})

    def read(key: str) -> bytes:
        reads.append(key)
        return b""

    assert whole(huge, read) == huge
    assert reads == []
