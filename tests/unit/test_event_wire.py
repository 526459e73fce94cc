"""Events on the wire: what a consumer reads back is what the producer wrote, and an event
written by the previous version still reads (``helpdesk.events.parse``)."""

from __future__ import annotations

import json
from typing import Any

from helpdesk.events import (
    EventContact,
    FirstMessage,
    SelfServed,
    SlaBreached,
    TicketOpened,
    parse,
    to_detail,
)


def test_an_events_contact_goes_out_as_email_and_name_and_reads_back_typed() -> None:
    served = SelfServed(
        ref="HD-5RVY42",
        article="returns",
        title="Returns",
        assignee="lena@support.example",
        subject="Where is my order?",
        contact=EventContact("anna@example.com", "Anna Schmidt", shown=True),
    )

    wire = json.loads(json.dumps(to_detail(served)))

    assert wire["contact"] == {"email": "anna@example.com", "name": "Anna Schmidt", "shown": True}
    assert parse("SelfServed", wire) == served
    # An event of the release before "shown" was carried reads as not shown.
    older = parse("SelfServed", wire | {"contact": {"email": "anna@example.com", "name": "A"}})
    assert isinstance(older, SelfServed) and older.contact.shown is False


def test_a_contact_missing_or_garbled_on_the_wire_reads_as_nobody_rather_than_failing() -> None:
    # A consumer reads event.contact.name without a guard; the notices then say "" for
    # the name instead of a Lambda error that Lambda retries twice and dead-letters.
    missing = parse("SlaBreached", {"ref": "HD-AAAAAA", "event_id": "x"})
    garbled = parse("SlaBreached", {"ref": "HD-AAAAAA", "event_id": "x", "contact": "anna"})
    unnamed = parse("SlaBreached", {"ref": "HD-AAAAAA", "event_id": "x", "contact": {"email": 7}})

    assert isinstance(missing, SlaBreached) and missing.contact == EventContact()
    assert isinstance(garbled, SlaBreached) and garbled.contact == EventContact()
    assert isinstance(unnamed, SlaBreached) and unnamed.contact == EventContact("7", "")


def test_a_new_tickets_first_message_keeps_its_wire_key_and_reads_back_typed() -> None:
    # Python calls it first_message (a CustomerReplied's "message" is a message's id); the
    # wire keeps "message", so the previous release's consumers read it during an upgrade.
    wire: dict[str, Any] = {
        "ref": "HD-7K3M9Q",
        "message": {
            "id": "m-1",
            "at": "2026-11-23T08:55:00+00:00",
            "message_id": "<order-1@mail.example.com>",
            "attachments": [{"name": "receipt.pdf"}],
        },
    }
    opened = parse("TicketOpened", wire)

    assert isinstance(opened, TicketOpened)
    assert opened.first_message == FirstMessage(
        "m-1", "2026-11-23T08:55:00+00:00", "<order-1@mail.example.com>"
    )
    # The previous release also listed the files; nothing read them, nor writes them now.
    assert to_detail(opened)["message"] == {
        k: v for k, v in wire["message"].items() if k != "attachments"
    }
    assert parse("TicketOpened", {"ref": "HD-7K3M9Q"}).first_message == FirstMessage()  # type: ignore[union-attr]
