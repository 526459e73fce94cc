"""A customer's mail is kept in a message item of one 1 KB write unit whenever its excerpt
can shrink to fit (tests/integration/dynamodb_sizes.py, as AWS documents sizes): the item
is written twice in the opening's transaction, so one byte over a KB costs two write units
more. The whole text stays in the raw mail, and the agent still reads all of it."""

from __future__ import annotations

from datetime import UTC, datetime

from dynamodb_sizes import item_size

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
BODY = " ".join(
    f"Sentence {n} of my question about order 88231, which never came." for n in range(40)
)
# The shape of a real Gmail message: a long Message-ID and a longish subject and name.
MAIL = (
    "From: Anna-Katharina Schmidt-Hoffmann <anna.katharina.schmidt.hoffmann@gmail.com>\r\n"
    "To: support@support.example\r\n"
    "Subject: My order 88231 from the 2nd of November has still not arrived, please help\r\n"
    "Message-ID: <CAJ+8aK2Xq9p7M4nVbT3rG5wZ1yH6uE0sL8dF2cN4mQ7vR9tB3w@mail.gmail.com>\r\n"
    "Date: Mon, 23 Nov 2026 09:55:00 +0100\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n" + BODY + "\r\n"
).encode()


def test_a_long_gmail_message_is_kept_in_one_write_unit_and_read_whole_by_the_agent() -> None:
    with LocalStack(start=MONDAY_MORNING) as stack:
        stack.deliver_email(MAIL)
        stack.drain()
        [item] = [i for i in scan_items(stack) if str(i["SK"]).startswith("MSG#")]
        state = build_state(stack)

    assert item_size(item) <= 1024, item_size(item)
    assert item["excerpt"] is True and len(item["text"].encode()) >= 300
    assert BODY.startswith(item["text"])
    # Nothing is lost: the assignment mail to the agent carries the whole message.
    [assignment] = [m for m in state["outbox"] if m["kind"] == "assignment"]
    assert "Sentence 39 of my question" in assignment["text"]
