"""The newest messages of a long thread read from the table, and how many older ones there
are, without reading the older ones' items into the function (attack 12, F2: some 3,000
forged follow-ups made one view of the page read 37 MB)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from committing import ticket_store

from fakes import MONDAY_MORNING
from helpdesk.aws.dynamodb import message_item
from helpdesk.aws.ticket_store import DynamoTicketStore
from helpdesk.model import Message
from helpdesk_local.stack import LocalStack

REF = "HD-7K3M9Q"


def written(number: int, **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "id": f"m{number:04d}",
        "ticket": REF,
        "direction": "in",
        "author": "anna@example.com",
        "at": MONDAY_MORNING + timedelta(seconds=number),
        "text": f"Follow-up {number}",
    }
    return Message(**(fields | changes))


def thread_of(stack: LocalStack, count: int) -> DynamoTicketStore:
    """The table holding a thread of ``count`` follow-ups on REF, a second apart."""
    store = ticket_store(stack)
    for number in range(count):
        store.put(message_item(written(number)))
    return store


def items_returned(store: DynamoTicketStore) -> list[int]:
    """The message items each Query hands back from here on (a count query hands none)."""
    returned: list[int] = []
    call = store._call

    def counted(operation: str, **kwargs: Any) -> Any:
        response = call(operation, **kwargs)
        if operation == "query":
            returned.append(len(response.get("Items", [])))
        return response

    store._call = counted  # type: ignore[method-assign]
    return returned


def test_the_newest_of_a_long_thread_come_alone_with_the_count_of_the_older(
    stack: LocalStack,
) -> None:
    store = thread_of(stack, 300)
    returned = items_returned(store)

    tail = store.thread_tail(REF, count=50)

    assert tail is not None
    assert [m.id for m in tail.messages] == [f"m{n:04d}" for n in range(250, 300)]
    assert tail.older == 250
    assert sum(returned) <= 51


def test_the_customers_side_leaves_out_notes_and_robots_mail_and_counts_them_not(
    stack: LocalStack,
) -> None:
    store = ticket_store(stack)
    for number in range(120):
        kind = number % 3
        changes: dict[str, Any] = (
            {} if kind == 0 else {"direction": "note"} if kind == 1 else {"flags": ("bounce",)}
        )
        store.put(message_item(written(number, **changes)))

    tail = store.thread_tail(REF, count=10, customer_side=True)

    assert tail is not None
    assert [m.id for m in tail.messages] == [f"m{n:04d}" for n in range(90, 120, 3)]
    assert tail.older == 30


def test_a_thread_is_read_back_before_a_message_and_a_message_it_lacks_is_none(
    stack: LocalStack,
) -> None:
    store = thread_of(stack, 120)

    tail = store.thread_tail(REF, count=50, before="m0100")

    assert tail is not None
    assert [m.id for m in tail.messages] == [f"m{n:04d}" for n in range(50, 100)]
    assert tail.older == 50
    assert store.thread_tail(REF, count=50, before="m9999") is None
    short = store.thread_tail(REF, count=50, before="m0010")
    assert short is not None and (len(short.messages), short.older) == (10, 0)


def test_reading_back_from_far_in_a_long_thread_reads_no_newer_message(
    stack: LocalStack,
) -> None:
    # Review 13, #1: before= had read every newer message, 51 a request, to find its place.
    store = thread_of(stack, 300)
    returned = items_returned(store)

    tail = store.thread_tail(REF, count=50, before="m0060")

    assert tail is not None
    assert [m.id for m in tail.messages] == [f"m{n:04d}" for n in range(10, 60)]
    assert tail.older == 10
    # Its place (one key), then the page, the one that says there is more, and before.
    assert sum(returned) <= 1 + 52


def test_no_message_asked_for_is_all_of_them_counted(stack: LocalStack) -> None:
    store = thread_of(stack, 5)

    tail = store.thread_tail(REF, count=0)

    assert tail is not None and (tail.messages, tail.older) == ([], 5)
