"""A new ticket's contact, on the fakes: written before the opening's commit and counted once
per opening however often it is tried, and its zone carried on TicketOpened, so that the
acknowledgement names the customer's time without reading the contact (an event written
before the zone was carried still gets it, read from the contact)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

import fakes
from fakes import ANNAS_REQUEST, CONFIG, MONDAY_MORNING, FakeRecords, FakeUnitOfWork
from helpdesk.errors import TransientError
from helpdesk.events import TicketOpened
from helpdesk.model import Contact, Message
from helpdesk.notices import handle
from helpdesk.services.form_intake import take_in_form, validate_form
from helpdesk.services.tickets import open_ticket
from helpdesk.unit_of_work import AlreadyClaimed, Claim

NOW = MONDAY_MORNING  # 09:55 in Berlin: the promise is 13:55 Berlin, 07:55 in New York


def _mail(uow: FakeUnitOfWork, message_id: str, *, name: str = "Anna Schmidt") -> str:
    """Anna's mail ``message_id`` taken in (claimed by its Message-ID, as intake does)."""
    ticket = open_ticket(
        replace(ANNAS_REQUEST, contact_name=name),
        uow=uow,
        config=CONFIG,
        now=NOW,
        first_message=Message(
            id=f"mail-{message_id}", ticket="", direction="in", author="anna@example.com",
            at=NOW, text=ANNAS_REQUEST.text, message_id=message_id,
        ),
        claims=[Claim("message", message_id, "anna@example.com")],
    )  # fmt: skip
    return ticket.ref


def _opened(uow: FakeUnitOfWork, ref: str) -> TicketOpened:
    [event] = [e for e in uow.events() if isinstance(e, TicketOpened) and e.ref == ref]
    return event


def _form(uow: FakeUnitOfWork, **fields: str) -> str:
    """Anna's form (with ``fields`` changed) taken in; the reference of its ticket."""
    anna = {
        "name": "Anna Schmidt",
        "email": "anna@example.com",
        "subject": "Where is my order?",
        "message": "It has been two weeks.",
    }
    submission = validate_form(anna | fields, CONFIG, client="192.0.2.44", now=NOW)
    return str(take_in_form(submission, uow=uow, config=CONFIG, now=NOW)["ref"])


def _form_with_her_browsers_zone(uow: FakeUnitOfWork) -> None:
    _form(uow, timezone="America/New_York")


def test_a_mail_tried_again_after_its_commit_failed_counts_once_on_its_contact() -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.failures = 1  # the opening's transaction fails after the contact was written

    with pytest.raises(TransientError):
        _mail(uow, "order-7@example.com")
    ref = _mail(uow, "order-7@example.com")

    assert list(uow.tickets) == [ref]
    assert uow.contacts["anna@example.com"].ticket_count == 1


def test_a_mail_delivered_again_after_its_ticket_opened_counts_nothing_more() -> None:
    uow = FakeUnitOfWork(CONFIG)
    ref = _mail(uow, "order-7@example.com")

    with pytest.raises(AlreadyClaimed) as again:
        _mail(uow, "order-7@example.com")

    assert again.value.ref == ref
    assert uow.contacts["anna@example.com"].ticket_count == 1


def test_each_new_mail_of_a_contact_counts_on_it() -> None:
    uow = FakeUnitOfWork(CONFIG)
    _mail(uow, "order-7@example.com")
    _mail(uow, "order-8@example.com")

    assert uow.contacts["anna@example.com"].ticket_count == 2


def test_a_mail_without_a_name_gets_the_name_her_contact_keeps() -> None:
    uow = FakeUnitOfWork(CONFIG)
    _mail(uow, "order-7@example.com")

    ref = _mail(uow, "order-8@example.com", name="")

    assert uow.tickets[ref].contact_name == "Anna Schmidt"


def test_the_opening_event_carries_the_zone_her_browser_gave_on_her_first_ticket() -> None:
    uow = FakeUnitOfWork(CONFIG)
    _form_with_her_browsers_zone(uow)

    later = _mail(uow, "order-8@example.com")

    assert _opened(uow, later).timezone == "America/New_York"


def test_a_form_after_her_first_mail_gives_her_contact_no_zone() -> None:
    # Anyone can file the form with her address (attack 8, F2): the zone of her first
    # opening, a mail with none, stays hers.
    uow = FakeUnitOfWork(CONFIG)
    first = _mail(uow, "order-7@example.com")
    _form_with_her_browsers_zone(uow)

    later = _mail(uow, "order-8@example.com")

    assert _opened(uow, first).timezone == ""
    assert uow.contacts["anna@example.com"].timezone == ""
    assert _opened(uow, later).timezone == ""
    # The form's own ticket is answered in the zone that form gave.
    [formed] = [e for e in uow.events() if isinstance(e, TicketOpened) and e.channel == "form"]
    assert formed.timezone == "America/New_York"


class ContactUnread(FakeRecords):
    """Records whose contact reads are counted."""

    reads = 0

    def get_contact(self, email: str) -> Contact | None:
        self.reads += 1
        return super().get_contact(email)


def _acknowledgement(uow: FakeUnitOfWork, event: TicketOpened) -> tuple[str, int]:
    """The acknowledgement's text for ``event``, and how often it read a contact."""
    records = ContactUnread(uow)
    notifier = fakes.fake_notifier(records, CONFIG)
    handle(event, notifier, now=NOW + timedelta(seconds=1))
    [mail] = [m for m in notifier.mails() if m.kind == "acknowledgement"]
    return " ".join(mail.text.split()), records.reads


def test_the_acknowledgement_names_the_zone_the_event_carries_without_reading_the_contact() -> None:
    uow = FakeUnitOfWork(CONFIG)
    _form_with_her_browsers_zone(uow)
    event = _opened(uow, _mail(uow, "order-8@example.com"))

    text, reads = _acknowledgement(uow, event)

    assert "07:55 New York time" in text
    assert reads == 0


def test_an_opening_event_of_the_previous_release_gets_the_zone_read_from_her_contact() -> None:
    uow = FakeUnitOfWork(CONFIG)
    _form_with_her_browsers_zone(uow)
    event = replace(_opened(uow, _mail(uow, "order-8@example.com")), timezone=None)

    text, reads = _acknowledgement(uow, event)

    assert "07:55 New York time" in text
    assert reads == 1


def test_without_a_zone_on_the_event_or_her_contact_the_promise_is_in_the_calendars() -> None:
    uow = FakeUnitOfWork(CONFIG)
    event = _opened(uow, _mail(uow, "order-7@example.com"))

    text, reads = _acknowledgement(uow, event)

    assert "13:55 Berlin time" in text
    assert reads == 0


def _form_named(uow: FakeUnitOfWork, name: str) -> str:
    """A form posted in Anna's address under ``name``; the reference of its ticket."""
    return _form(uow, name=name)


@pytest.mark.parametrize(
    "name",
    [
        "Anna Schmidt",
        "李娜",
        "Ольга Петрова-Водкина",
        "J.R.R. Tolkien",
        "Anne-Marie O'Neil",
        "Louis 14",
        "Customer 12",
        "St. John Smith",
        "María José Carreño Quiñones",
    ],
)
def test_a_typed_name_that_is_a_name_greets_its_contact(name: str) -> None:
    uow = FakeUnitOfWork(CONFIG)

    ref = _form_named(uow, name)

    assert uow.tickets[ref].contact_name == name
    assert _opened(uow, ref).contact.name == name


@pytest.mark.parametrize(
    "lure",
    [
        "Anna. Our reset page moved to https://evil.example/reset - use only that one",
        "Anna, reset at evil.example",
        "Anna (new portal: www.evil.example)",
        "Anna, call +1 800 555 0100 to reset",
        "Anna, write to reset@evil.example",
        "Anna, see x.com/reset",  # review 21, #9: a one-letter host, a path
        "Anna t.co/k3",
        "Anna ｅｖｉｌ．ｅｘａｍｐｌｅ",  # full width: NFKC reads it as evil.example
        "Anna. Our reset page moved: secure-login24.com",  # attack 22, F3: digits, hyphens
        "Anna evil1.example",
        "Anna evil。example",  # the ideographic full stop, a browser's dot
        "Anna " + "and a long story about where the reset page went" * 2,
    ],
)
def test_a_typed_name_holding_a_lure_greets_nobody(lure: str) -> None:
    # Attack 21, F1: no one vouches for a form's name, and every mail to the address (the
    # acknowledgement, the progress mails, a saved reply's {customer_name}) greeted with it.
    uow = FakeUnitOfWork(CONFIG)

    ref = _form_named(uow, lure)

    assert uow.tickets[ref].contact_name == ""
    assert _opened(uow, ref).contact.name == ""
