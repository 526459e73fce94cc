"""One message of a long thread, looked up by its id on the table (the relay's read):
newest first, a page at a time, never the whole thread (attack 12, F2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from committing import ticket_store

from fakes import MONDAY_MORNING
from helpdesk.aws.dynamodb import MESSAGE_LOOKUP_PAGE, message_item
from helpdesk.model import Message
from helpdesk_local.stack import LocalStack


def follow_up(number: int) -> Message:
    return Message(
        id=f"m{number:04d}",
        ticket="HD-7K3M9Q",
        direction="in",
        author="anna@example.com",
        at=MONDAY_MORNING + timedelta(seconds=number),
        text=f"Follow-up {number}",
    )


def thread_of_300(stack: LocalStack) -> tuple[Any, list[int]]:
    """The table with a thread of 300 follow-ups, and the items each query reads from it."""
    store = ticket_store(stack)
    for number in range(300):
        store.put(message_item(follow_up(number)))
    items_read: list[int] = []
    call = store._call

    def counted(operation: str, **kwargs: Any) -> Any:
        response = call(operation, **kwargs)
        if operation == "query":
            items_read.append(int(response.get("ScannedCount", 0)))
        return response

    store._call = counted  # type: ignore[method-assign]
    return store, items_read


def test_the_newest_message_of_a_long_thread_is_read_alone(stack: LocalStack) -> None:
    store, items_read = thread_of_300(stack)

    newest = store.message("HD-7K3M9Q", "m0299")

    assert newest is not None and newest.text == "Follow-up 299"
    assert items_read == [MESSAGE_LOOKUP_PAGE]  # one request of ten items
    # Further back, the next request reads on a whole page (DynamoDB's 1 MB), not ten.
    older = store.message("HD-7K3M9Q", "m0100")
    assert older is not None and older.text == "Follow-up 100"
    assert items_read[1:] == [MESSAGE_LOOKUP_PAGE, 290]
    assert store.message("HD-7K3M9Q", "no-such") is None


def test_a_lookup_bounded_to_the_newest_messages_reads_no_further(stack: LocalStack) -> None:
    # Attack 21, F4: the customer's page looked up any file number's message through the
    # whole thread; bounded, an unknown id costs the bound, and an older message is not
    # found.
    store, items_read = thread_of_300(stack)

    assert store.message("HD-7K3M9Q", "no-such", newest=200) is None
    assert sum(items_read) == 200
    assert store.message("HD-7K3M9Q", "m0099", newest=200) is None  # the 201st newest
    found = store.message("HD-7K3M9Q", "m0100", newest=200)  # the 200th
    assert found is not None and found.text == "Follow-up 100"
