"""Helpers shared by the tests that drive a local stack: the web-form request most of them
open their ticket with, and holding a queue's messages back from its consumer."""

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
