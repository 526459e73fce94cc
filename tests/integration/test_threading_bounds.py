"""Threading on the local stack, for what a scenario file cannot say: how many lookups a
mail's threading headers cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from helpdesk.aws.clients import client
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state


def _mail(*headers: str, body: str = "Hello.") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


@contextmanager
def _dynamodb_requests() -> Iterator[list[str]]:
    """The DynamoDB operations the functions call while the block runs."""
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", count)


def _intake_cost(stack: LocalStack, raw: bytes) -> int:
    with _dynamodb_requests() as calls:
        stack.deliver_email(raw)
        stack.drain()
    return len(calls)


def test_a_mail_naming_five_thousand_guessed_message_ids_costs_what_a_plain_mail_costs(
    stack: LocalStack,
) -> None:
    plain = _mail(
        "From: Anna Schmidt <anna@example.com>",
        "To: support@support.example",
        "Subject: Where is my order?",
        "Message-ID: <order-7@example.com>",
        body="It has been two weeks.",
    )
    guessed = " ".join(f"<hd.guess-{n}.acknowledgement@support.example>" for n in range(5000))
    hostile = _mail(
        "From: Bob <bob@example.org>",
        "To: support@support.example",
        "Subject: Where is my parcel?",
        "Message-ID: <parcel-1@example.org>",
        "In-Reply-To: <hd.guess-x.acknowledgement@support.example>",
        f"References: {guessed}",
        body="It has been three weeks.",
    )
    plain_cost = _intake_cost(stack, plain)
    hostile_cost = _intake_cost(stack, hostile)
    state = build_state(stack)
    assert [t["contact"]["email"] for t in state["tickets"]] == [
        "anna@example.com",
        "bob@example.org",
    ]
    # In-Reply-To and the nine nearest References, two requests each at most.
    assert hostile_cost <= plain_cost + 2 * 10
