"""Helpers shared by the tests that drive a local stack: the web-form request most of them
open their ticket with, holding a queue's messages back from its consumer, and holding the
bus's events back from the function its rule invokes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from helpdesk_local.stack import LocalStack

ANNAS_QUESTION = {
    "name": "Anna Schmidt",
    "email": "anna@example.com",
    "subject": "Where is my order?",
    "message": "It has been two weeks.",
}


def open_form_ticket(stack: LocalStack, **changes: str) -> str:
    """The reference of a ticket opened through the web form: Anna's question, with
    ``changes`` (``language="ru"``, say)."""
    response = stack.post_form(ANNAS_QUESTION | changes)
    assert response.status == 201, response.body
    return str(response.json()["ref"])


@contextmanager
def held_back(stack: LocalStack, queue: str) -> Iterator[None]:
    """Inside, the messages sent to ``queue`` wait there, as if its consumer were slow: the
    test takes them itself, or lets the consumer have them afterwards."""
    consumer = stack.queue_sources.pop(queue)
    try:
        yield
    finally:
        stack.queue_sources[queue] = consumer


@contextmanager
def events_held_back(stack: LocalStack, *functions: str) -> Iterator[None]:
    """Inside, the events the bus's rules hand to ``functions`` wait in Lambda's queue, as if
    the function were throttled: the test takes them itself (``stack.take_bus_events``), or
    the function gets them at the next drain afterwards."""
    stack.held_functions.update(functions)
    try:
        yield
    finally:
        stack.held_functions.difference_update(functions)
