"""Two writers meet: many invocations at once, from threads, each a container of its own.

Mails arriving together on one ticket are all kept and no version is lost (the ticket write
is version-checked and retried); the same delivery handed to several containers at once
makes one ticket and one answer; routers running at once never push an agent over capacity
(the slot is taken with a conditional update).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
from desk_support import ANNAS_QUESTION, acknowledged_to, events_held_back

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items

pytestmark = pytest.mark.usefixtures("atomic_aws")

FORM = ANNAS_QUESTION


def renotify(stack: LocalStack, events: list[dict[str, Any]]) -> None:
    """Hand every taken bucket notification to the intake again and drain: what failed under
    contention is retried (Lambda's retries of S3's asynchronous invocation), what
    succeeded arrives again (at-least-once delivery) and must be a no-op."""
    for event in events:
        stack.invoke_async("email_intake", event, retry_at_once=True)
    stack.drain()


def redeliver(stack: LocalStack, function: str, events: list[dict[str, Any]]) -> None:
    """Hand every taken event to its function again, as its rule does, and drain: what
    failed under contention is retried (Lambda's retries of an asynchronous invocation),
    what succeeded arrives again (at-least-once delivery) and must be a no-op."""
    for event in events:
        stack.deliver_bus_event(function, event)
    stack.drain()


def invoke_at_once(stack: LocalStack, function: str, events: list[dict[str, Any]]) -> None:
    # An event that lost its race five times fails its invocation; it is retried (settle,
    # redeliver).
    with contextlib.suppress(Exception):
        stack.invoke_concurrently(function, events)


def customer_reply(stack: LocalStack, number: int, acknowledgement: dict[str, Any]) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Schmidt <anna@example.com>"
    message["To"] = acknowledgement["headers"]["Reply-To"]
    message["Subject"] = "Re: " + acknowledgement["subject"]
    message["Message-ID"] = f"<anna-{number}@example.com>"
    message["In-Reply-To"] = acknowledgement["headers"]["Message-ID"]
    message["Date"] = format_datetime(stack.clock.peek())
    message.set_content(f"Additional detail number {number}: the parcel number is 55{number}.")
    return message.as_bytes()


def ticket_item(stack: LocalStack, ref: str) -> dict[str, Any]:
    [item] = [i for i in scan_items(stack) if i["PK"] == f"TICKET#{ref}" and i["SK"] == "META"]
    return item


def test_mails_arriving_at_once_on_one_ticket_are_all_kept_and_no_version_is_lost(
    stack: LocalStack,
) -> None:
    assert stack.post_form(FORM).status == 201
    [acknowledgement] = [m for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"]
    ref = acknowledgement["ticket"]
    version_before = ticket_item(stack, ref)["version"]
    for number in range(8):
        stack.deliver_email(customer_reply(stack, number, acknowledgement))

    events = stack.take_bucket_events("email_intake", 8)
    invoke_at_once(stack, "email_intake", events)
    renotify(stack, events)

    [ticket] = build_state(stack)["tickets"]
    texts = [m["text"] for m in ticket["messages"][1:]]
    assert sorted(texts) == sorted(
        f"Additional detail number {n}: the parcel number is 55{n}." for n in range(8)
    )
    history = [
        entry["kind"]
        for item in scan_items(stack)
        if item["PK"] == f"TICKET#{ref}" and item["SK"].startswith("EVT#")
        for entry in item["entries"]
    ]
    assert history.count("customer_replied") == 8
    # Every one of the eight writes moved the version on by one: none overwrote another.
    assert ticket_item(stack, ref)["version"] - version_before >= 8
    assert build_state(stack)["dead_letters"] == []


def test_one_delivery_handed_to_several_containers_at_once_makes_one_ticket_and_one_answer(
    stack: LocalStack,
) -> None:
    stack.deliver_email(
        b"From: Ivan Petrov <ivan@example.ru>\r\nTo: support@support.example\r\n"
        b"Subject: Invoice missing\r\nMessage-ID: <ivan-race@example.ru>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nWhere is the invoice for 5512?\r\n"
    )
    [event] = stack.take_bucket_events("email_intake", 1)

    invoke_at_once(stack, "email_intake", [event] * 6)
    renotify(stack, [event])

    state = build_state(stack)
    [ticket] = state["tickets"]
    assert len(ticket["messages"]) == 1
    assert acknowledged_to(state) == [["ivan@example.ru"]]
    assert state["dead_letters"] == []


def test_the_same_event_in_several_acknowledge_containers_at_once_sends_one_mail(
    stack: LocalStack,
) -> None:
    with events_held_back(stack, "acknowledge"):
        assert stack.post_form(FORM).status == 201
        [event] = stack.take_bus_events("acknowledge", 1)

    invoke_at_once(stack, "acknowledge", [event] * 6)
    redeliver(stack, "acknowledge", [event])

    acknowledgements = [m for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"]
    assert [m["to"] for m in acknowledgements] == [["anna@example.com"]]


def test_routers_at_once_never_give_an_agent_more_tickets_than_their_capacity(
    stack: LocalStack,
) -> None:
    from helpdesk.runtime import load_config_once

    capacity = {a.email: a.capacity for a in load_config_once(str(stack.config_path)).agents}
    with events_held_back(stack, "route"):
        for number in range(20):
            response = stack.http(
                "POST",
                "/tickets",
                body=json.dumps(
                    {**FORM, "email": f"customer{number}@example.com", "subject": f"Order {number}"}
                ),
                headers={"content-type": "application/json"},
                source_ip=f"198.51.100.{number + 1}",
            )
            assert response.status == 201, response.body
        events = stack.take_bus_events("route", 20)

    invoke_at_once(stack, "route", events)
    redeliver(stack, "route", events)

    state = build_state(stack)
    held = Counter(t["assignee"] for t in state["tickets"] if t["assignee"])
    assert held and all(held[agent] <= capacity[agent] for agent in held), held
    loads = {
        i["PK"].removeprefix("AGENT#"): i.get("open", 0)
        for i in scan_items(stack)
        if i["PK"].startswith("AGENT#") and i["SK"] == "LOAD"
    }
    assert loads == dict(held)
    # The general team's two agents are full; the other tickets wait in its queue.
    assert sum(held.values()) == 16
    assignments = Counter(m["ticket"] for m in state["outbox"] if m["kind"] == "assignment")
    assert set(assignments.values()) == {1} and len(assignments) == 16
