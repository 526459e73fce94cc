"""A message's item as the DynamoDB adapter writes it: an excerpt of a long text is cut
to save a write unit, an excerpt that is the whole text never is."""

from __future__ import annotations

from fakes import MONDAY_MORNING
from helpdesk.aws.dynamodb import (
    WRITE_UNIT_BYTES,
    decode,
    encode,
    item_bytes,
    message_from_item,
    message_item,
)
from helpdesk.model import Message
from helpdesk.services import message_bodies


def excerpt(text: str, *, text_bytes: int) -> Message:
    """A mail's message item with a Gmail Message-ID and a long subject, as intake makes
    it: ``text`` kept, ``text_bytes`` the size of the whole text."""
    return Message(
        id="0123456789abcdef0123",
        ticket="HD-7K3M9Q",
        direction="in",
        author="ann@example.com",
        author_name="Ann",
        at=MONDAY_MORNING,
        text=text,
        subject="s" * 60,
        message_id="CAF=abc" + "y" * 40 + "@mail.gmail.com",
        raw_key="inbound/0123456789abcdefghijklmnopqrstuvwxyz0123",
        excerpt=True,
        raw_size=2_000_000,
        text_bytes=text_bytes,
    )


def stored(message: Message) -> Message:
    return message_from_item(decode(encode(message_item(message))))


def test_an_excerpt_of_a_longer_text_is_cut_to_save_a_write_unit() -> None:
    long = excerpt("k" * 600, text_bytes=5000)

    item = encode(message_item(long))

    assert item_bytes(item) % WRITE_UNIT_BYTES == 0 or item_bytes(item) < WRITE_UNIT_BYTES
    assert stored(long).text == "k" * len(stored(long).text) and len(stored(long).text) < 600


def test_an_excerpt_that_is_the_whole_text_is_kept_whole_and_never_read_again() -> None:
    # Review 12, #3: fitting cut a 583-byte whole text (an excerpt for its HTML's sake) to
    # 582, and every view then read and parsed its raw mail of up to 10 MB again.
    whole = excerpt("k" * 583, text_bytes=583)

    kept = stored(whole)

    assert kept.text == whole.text

    def read(key: str) -> bytes:
        raise AssertionError(f"{key} read again")

    assert message_bodies.shown_body(kept, read).cut is False
