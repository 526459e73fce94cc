"""Events on the wire: what a consumer reads back is what the producer wrote, and an event
written by the previous version still reads (``helpdesk.events.parse``)."""

from __future__ import annotations

import json

from helpdesk.events import EventContact, SelfServed, SlaBreached, parse, to_detail


def test_an_events_contact_goes_out_as_email_and_name_and_reads_back_typed() -> None:
    served = SelfServed(
        ref="HD-5RVY42",
        article="returns",
        title="Returns",
        assignee="lena@support.example",
        subject="Where is my order?",
        contact=EventContact("anna@example.com", "Anna Schmidt"),
    )

    wire = json.loads(json.dumps(to_detail(served)))

    assert wire["contact"] == {"email": "anna@example.com", "name": "Anna Schmidt"}
    assert parse("SelfServed", wire) == served


def test_a_contact_missing_or_garbled_on_the_wire_reads_as_nobody_rather_than_failing() -> None:
    # A consumer reads event.contact.name without a guard; the notices then say "" for
    # the name instead of a Lambda error that Lambda retries twice and dead-letters.
    missing = parse("SlaBreached", {"ref": "HD-AAAAAA", "event_id": "x"})
    garbled = parse("SlaBreached", {"ref": "HD-AAAAAA", "event_id": "x", "contact": "anna"})
    unnamed = parse("SlaBreached", {"ref": "HD-AAAAAA", "event_id": "x", "contact": {"email": 7}})

    assert isinstance(missing, SlaBreached) and missing.contact == EventContact()
    assert isinstance(garbled, SlaBreached) and garbled.contact == EventContact()
    assert isinstance(unnamed, SlaBreached) and unnamed.contact == EventContact("7", "")
