"""A new ticket's contact on the local stack: written once per opening, even when the mail
comes again, and its time zone carried to the acknowledgement on the TicketOpened event,
so that the acknowledgement reads no contact (an event of the previous release still
gets the contact's zone, read)."""

from __future__ import annotations

from typing import Any

import pytest
from desk_support import ANNAS_QUESTION, delivered_twice, events_held_back, failing_once

from helpdesk_local.bench import logged_invocations, metered
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items

ANNAS_MAIL = (
    b"From: Anna Schmidt <anna@example.com>\r\n"
    b"To: support@support.example\r\n"
    b"Subject: Another question\r\n"
    b"Date: Mon, 23 Nov 2026 09:56:00 +0100\r\n"
    b"Message-ID: <anna-2@example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"When do you open on Saturdays?\r\n"
)


def _annas_contact(stack: LocalStack) -> dict[str, Any]:
    [contact] = [i for i in scan_items(stack) if i["PK"] == "CONTACT#anna@example.com"]
    return contact


def _acknowledgements(stack: LocalStack) -> list[dict[str, Any]]:
    return [m for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"]


def _open_with_her_browsers_zone(stack: LocalStack) -> None:
    assert stack.post_form(ANNAS_QUESTION | {"timezone": "America/New_York"}).status == 201
    stack.drain()


def test_a_mail_delivered_twice_counts_once_on_its_contact(stack: LocalStack) -> None:
    delivered_twice(stack, ANNAS_MAIL)

    assert len(build_state(stack)["tickets"]) == 1
    assert _annas_contact(stack)["ticket_count"] == 1


def test_a_mail_whose_opening_failed_after_its_contact_was_written_counts_once_when_it_comes_again(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk.aws.dynamodb import DynamoRepository
    from helpdesk.errors import TransientError

    failing_once(
        monkeypatch,
        DynamoRepository,
        "transact",
        TransientError("transact_write_items: throttled for good this time"),
    )
    stack.deliver_email(ANNAS_MAIL)
    stack.drain()

    [ticket] = build_state(stack)["tickets"]
    assert len(ticket["messages"]) == 1
    assert _annas_contact(stack)["ticket_count"] == 1
    assert [m["ticket"] for m in _acknowledgements(stack)] == [ticket["ref"]]


def test_a_second_mail_of_the_contact_counts_again(stack: LocalStack) -> None:
    stack.deliver_email(ANNAS_MAIL)
    stack.deliver_email(ANNAS_MAIL.replace(b"<anna-2@", b"<anna-3@"))
    stack.drain()

    assert len(build_state(stack)["tickets"]) == 2
    assert _annas_contact(stack)["ticket_count"] == 2


def test_the_acknowledgement_names_the_zone_her_browser_gave_without_reading_her_contact(
    stack: LocalStack,
) -> None:
    _open_with_her_browsers_zone(stack)

    with metered(stack, detailed=False) as (meter, _), logged_invocations(stack, meter):
        stack.deliver_email(ANNAS_MAIL)
        stack.drain()

    [_, acknowledgement] = _acknowledgements(stack)
    assert "New York time" in " ".join(acknowledgement["text"].split())
    acknowledge_calls = {
        operation: count
        for operation, count in meter.by_function.items()
        if operation.startswith("acknowledge dynamodb:")
    }
    # The claim of the mail (a transaction with the recipient's counter) and its mark.
    assert "acknowledge dynamodb:GetItem" not in acknowledge_calls
    assert sum(acknowledge_calls.values()) == 2, acknowledge_calls


def test_an_opening_event_of_the_previous_release_still_gets_her_zone_read_from_her_contact(
    stack: LocalStack,
) -> None:
    _open_with_her_browsers_zone(stack)
    with events_held_back(stack, "acknowledge"):
        stack.deliver_email(ANNAS_MAIL)
        stack.drain()
        [event] = stack.take_bus_events("acknowledge", 1)
    # Written before the opening carried the contact's zone.
    event["detail"].pop("timezone", None)

    stack.deliver_bus_event("acknowledge", event)
    stack.drain()

    [_, acknowledgement] = _acknowledgements(stack)
    assert "New York time" in " ".join(acknowledgement["text"].split())
    assert stack.invocation_errors == []


def test_the_contacts_name_is_the_first_one_an_opening_gives(stack: LocalStack) -> None:
    # Attack 18, F1: an opening that does not show she wrote it (a forgery, a form typed in
    # her name) gives no name, so that the first that does names her on the table.
    from datetime import UTC, datetime

    from committing import ticket_store

    from helpdesk.model import Contact
    from helpdesk.unit_of_work import Claim

    store = ticket_store(stack)
    at = datetime(2026, 11, 23, 10, tzinfo=UTC)
    names = [
        store.count_opening(
            Contact(email="anna@example.com", name=name, tier="", language="en", created_at=at),
            [Claim("submission", f"s-{n}")],
        ).name
        for n, name in enumerate(["", "Anna Schmidt", "Someone Else"])
    ]

    assert names == ["", "Anna Schmidt", "Anna Schmidt"]
    assert _annas_contact(stack)["ticket_count"] == 3
