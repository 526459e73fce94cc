"""A mail's message item keeps an excerpt; the whole text is read again from the raw mail,
within bounds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

from helpdesk.config import Limits
from helpdesk.model import Message
from helpdesk.services.message_bodies import (
    SHOWN_TEXT_MAX_BYTES,
    THREAD_TEXT_MAX_BYTES,
    VIEW_RAW_MAIL_MAX_BYTES,
    WHOLE_MAIL_MAX_BYTES,
    WHOLE_TEXT_MAX_BYTES,
    newest_shown,
    shown_body,
    whole,
)

AT = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


def raw_mail(text: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Anna <anna@example.com>"
    mail["To"] = "support@support.example"
    mail["Subject"] = "Order"
    mail.set_content(text)
    return mail.as_bytes()


def no_raw_mail(key: str) -> bytes:
    """The reader of a store that holds no raw mail: each read raises KeyError, as a lookup
    in an empty dict does."""
    raise KeyError(key)


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


def test_a_shown_text_is_cut_on_a_character_boundary_and_says_how_long_the_whole_is() -> None:
    text = "您的包裹还在路上。" * 10_000  # 27 bytes of UTF-8 a sentence
    raw = raw_mail(text)

    shown = shown_body(excerpt_of(raw), {"inbound/m1": raw}.__getitem__)

    assert shown.cut
    assert shown.text_bytes == len(text.encode("utf-8"))
    size = len(shown.message.text.encode("utf-8"))
    assert SHOWN_TEXT_MAX_BYTES - 3 < size <= SHOWN_TEXT_MAX_BYTES
    assert text.startswith(shown.message.text)
    assert (shown.message.full_text, shown.message.html) == (None, None)


def test_a_text_typed_at_the_limit_shows_whole_even_in_four_byte_characters() -> None:
    # The form, a channel and the page take 20,000 characters (Limits, PortalConfig); an
    # emoji is four bytes of UTF-8, so a typed text can be 80,000 bytes (review 8, #4).
    typed = "\U0001f4e6" * Limits().channel_message_max_chars

    shown = shown_body(message("m1", typed), no_raw_mail)

    assert (shown.message.text, shown.cut) == (typed, False)


def test_a_short_text_is_shown_whole_and_not_marked_cut() -> None:
    shown = shown_body(message("m1", "Where is my kettle?"), no_raw_mail)

    assert (shown.message.text, shown.text_bytes, shown.cut) == ("Where is my kettle?", 19, False)


def test_a_raw_mail_beyond_the_bound_shows_its_excerpt_marked_cut_of_unknown_length() -> None:
    huge = replace(excerpt_of(b""), raw_size=WHOLE_MAIL_MAX_BYTES + 1)

    shown = shown_body(huge, no_raw_mail)

    assert (shown.message.text, shown.text_bytes, shown.cut) == (huge.text, None, True)


def test_a_raw_mail_beyond_the_bound_whose_excerpt_is_its_whole_text_is_not_marked_cut() -> None:
    # A short question with 12 MB of photos: the item's text is all of it, and the page
    # must not say that the message was cut (review 8, #5).
    huge = replace(excerpt_of(b""), raw_size=WHOLE_MAIL_MAX_BYTES + 1, text_bytes=21)

    shown = shown_body(huge, no_raw_mail)

    assert (shown.message.text, shown.text_bytes, shown.cut) == (huge.text, 21, False)
    longer = shown_body(replace(huge, text_bytes=5000), no_raw_mail)
    assert (longer.text_bytes, longer.cut) == (5000, True)


def message(id: str, text: str) -> Message:
    return Message(
        id=id, ticket="HD-7K3M9Q", direction="in", author="a@x.example", at=AT, text=text
    )


def test_a_thread_shows_the_newest_messages_within_its_count_and_its_bytes() -> None:
    short = [message(f"s{n}", "Any news?") for n in range(5)]

    thread = newest_shown(short, no_raw_mail, count=3)

    assert [m.message.id for m in thread.messages] == ["s2", "s3", "s4"]
    assert thread.older == 2


def test_a_thread_of_long_mails_stops_at_its_byte_budget_and_reads_no_mail_it_leaves_out() -> None:
    raws = {f"inbound/m{n}": raw_mail(f"mail {n} " + "x" * 300_000) for n in range(20)}
    mails = [
        replace(excerpt_of(raw), id=f"m{n}", raw_key=key)
        for n, (key, raw) in enumerate(raws.items())
    ]
    reads: list[str] = []

    def read(key: str) -> bytes:
        reads.append(key)
        return raws[key]

    thread = newest_shown(mails, read, count=50)

    fitting = THREAD_TEXT_MAX_BYTES // SHOWN_TEXT_MAX_BYTES
    assert [m.message.id for m in thread.messages] == [f"m{n}" for n in range(20 - fitting, 20)]
    assert all(
        m.cut and m.message.text.startswith(f"mail {m.message.id[1:]} ") for m in thread.messages
    )
    assert thread.older == 20 - fitting
    assert sum(len(m.message.text.encode()) for m in thread.messages) <= THREAD_TEXT_MAX_BYTES
    # The newest back, and the first that did not fit: nothing older.
    assert reads == [f"inbound/m{n}" for n in range(19, 19 - fitting - 1, -1)]


def test_the_newest_message_is_shown_even_when_it_alone_fills_the_budget() -> None:
    thread = newest_shown(
        [message("m1", "x" * 100)],
        no_raw_mail,
        count=50,
        text_max_bytes=100,
        thread_max_bytes=10,
    )

    assert [m.message.text for m in thread.messages] == ["x" * 100]
    assert thread.older == 0


def test_a_mail_whose_excerpt_is_its_whole_text_is_shown_without_reading_it_again() -> None:
    # Attack 11, F3: a short text with an HTML part (most mail) keeps an excerpt for the
    # HTML's sake, and every view of the page parsed the whole raw mail again for nothing.
    shown = shown_body(
        replace(excerpt_of(b"x" * 9_900_000), text_bytes=len(b"It has been two weeks")),
        no_raw_mail,  # any read fails the test
    )

    assert shown.message.text == "It has been two weeks"
    assert (shown.text_bytes, shown.cut) == (len("It has been two weeks"), False)


def test_one_view_reads_at_most_its_budget_of_raw_mail_and_shows_the_rest_as_excerpts() -> None:
    # Attack 11, F3: fifty follow-ups of 9.9 MB with long texts made one GET of a page (or
    # of the agent API's ticket) read and parse 500 MB, never rate-limited.
    raw = raw_mail("Long logs. " + "x" * 2000)
    padded = 9_900_000
    mails = [
        replace(excerpt_of(raw), id=f"m{n}", raw_key=f"inbound/m{n}", raw_size=padded)
        for n in range(50)
    ]
    reads: list[str] = []

    def read(key: str) -> bytes:
        reads.append(key)
        return raw

    thread = newest_shown(mails, read)

    assert len(reads) * padded <= VIEW_RAW_MAIL_MAX_BYTES < (len(reads) + 1) * padded
    assert reads == [f"inbound/m{n}" for n in range(49, 49 - len(reads), -1)]  # newest first
    assert len(thread.messages) == 50 and thread.older == 0
    read_again = {f"m{n}" for n in range(50 - len(reads), 50)}
    for shown in thread.messages:
        if shown.message.id in read_again:
            assert shown.message.text.startswith("Long logs. xxx") and not shown.cut
        else:  # its excerpt, said to be cut
            assert (shown.message.text, shown.cut) == ("It has been two weeks", True)
