"""Email intake (``EmailIntake.take_in``) on the fakes: a raw mail in the store becomes a
ticket, a message on one, or a linked ticket of its own, and the bus hears it once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from mail_desk import MailDesk

from fakes import CONFIG, MONDAY_MORNING, sla_of, with_limits
from helpdesk.events import (
    CommandRejected,
    CustomerReplied,
    EventContact,
    StatusChanged,
    TicketOpened,
    to_detail,
)
from helpdesk.model import MESSAGES_IN_MAX, UNPROVEN_MESSAGES_MAX, Ticket
from helpdesk.services import message_bodies
from helpdesk.services.commands import EVERY_TEAM, AgentAction, TicketEdit, carry_out

NOW = MONDAY_MORNING  # 09:55 in Berlin: office hours
LENA = "lena@support.example"


def mail(
    *,
    sender: str = "Anna Schmidt <anna@example.com>",
    subject: str = "Where is my order?",
    message_id: str = "<order-1@mail.example.com>",
    in_reply_to: str | None = None,
    body: str = "Hello,\nmy order 1234 has not arrived yet.\nAnna",
    extra: str = "",
) -> bytes:
    """A plain RFC 5322 message as SES stores it."""
    threading = (
        f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    )
    return (
        f"From: {sender}\r\n"
        "To: support@support.example\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"{threading}{extra}"
        "Date: Mon, 23 Nov 2026 09:50:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body.replace(chr(10), chr(13) + chr(10))}\r\n"
    ).encode()


def follow_up(body: str, **headers: str) -> bytes:
    """A reply in the thread of Anna's first mail (``mail()``), from Anna unless
    ``headers`` say otherwise."""
    thread = {
        "subject": "Re: Where is my order?",
        "message_id": "<order-2@mail.example.com>",
        "in_reply_to": "<order-1@mail.example.com>",
    }
    return mail(body=body, **(thread | headers))


def sent_by_desk(desk: MailDesk, ref: str, *, key: str = "k1", cc: tuple[str, ...] = ()) -> str:
    """The Message-ID of a reply the desk sent Anna about ``ref`` (copied to ``cc``), as
    its sent-mail record holds it (notices.outbound.send_once's claim)."""
    from helpdesk.mail.compose import make_message_id
    from helpdesk.notices.outbound import Claim

    sent = make_message_id(ref, "reply", key, CONFIG.helpdesk.mail_domain, secret=b"desk key")
    claim = Claim(sent, ref, "reply", key, ("anna@example.com",), "a1", NOW, cc=cc)
    desk.records.sent_mail.claim(claim, (), replacing=None)
    return sent


def annas_mail(subject: str, message_id: str, text: str, *, html: bool = False) -> EmailMessage:
    """Anna's mail as her mail client writes it: ``text``, and the same as HTML when
    ``html``; files are added by the test."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "Anna Schmidt <anna@example.com>"
    message["To"] = "support@support.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(text)
    if html:
        message.add_alternative(f"<p>{text}</p>", subtype="html")
    return message


class Desk(MailDesk):
    """The intake with its fakes (mail_desk.py), at 09:55 in Berlin unless told otherwise."""

    def __init__(self) -> None:
        super().__init__(CONFIG, NOW)

    def opened(self) -> Ticket:
        """Anna's first mail, delivered: her ticket."""
        self.deliver("m1", mail())
        [ticket] = self.uow.tickets.values()
        return ticket


def test_a_customers_mail_becomes_a_ticket_and_the_bus_hears_it_opened() -> None:
    desk = Desk()

    result = desk.deliver("m1", mail())

    assert result.outcome == "opened"
    [ticket] = desk.uow.tickets.values()
    assert (ticket.status, ticket.channel, ticket.subject) == ("new", "email", "Where is my order?")
    assert (ticket.contact_email, ticket.contact_name) == ("anna@example.com", "Anna Schmidt")
    [message] = desk.uow.messages(ticket.ref)
    assert message.direction == "in" and "order 1234" in message.text
    assert message.raw_key == "inbound/m1"
    [opened] = desk.uow.events()
    assert isinstance(opened, TicketOpened)
    assert (opened.ref, opened.notify, opened.channel) == (ticket.ref, True, "email")
    assert opened.contact == EventContact("anna@example.com", "Anna Schmidt")
    assert opened.sla["first_response_due"]  # the acknowledgement states the promise
    assert desk.uow.read_day(NOW.date()).counters["created#channel#email"] == 1


def test_a_mail_with_files_opens_a_ticket_whose_event_does_not_list_them_again() -> None:
    # The opening's event rides in its outbox item, billed per started KB and twice in the
    # transaction; no consumer read its list of files (route reads the message item,
    # which keeps them), and five files' entries took the item past a KB.
    desk = Desk()
    message = annas_mail(
        "Photos of the damage",
        "<photos@mail.example.com>",
        "The parcel arrived crushed; photos attached.",
    )
    for n in range(5):
        message.add_attachment(
            b"\xff\xd8 photo", maintype="image", subtype="jpeg", filename=f"damage-{n}.jpg"
        )

    desk.deliver("m1", message.as_bytes())

    [ticket] = desk.uow.tickets.values()
    [kept] = desk.uow.messages(ticket.ref)
    [opened] = desk.uow.events()
    assert len(kept.attachments) == 5
    assert "attachments" not in to_detail(opened)["message"]
    assert to_detail(opened)["message"]["message_id"] == "photos@mail.example.com"


def test_a_mail_too_large_to_read_again_keeps_the_size_of_its_whole_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A short question in HTML with photos over the bound: its excerpt is all of its text,
    # which the page must not call cut; a long one's excerpt is cut and says of how much.
    monkeypatch.setattr(message_bodies, "WHOLE_MAIL_MAX_BYTES", 2000)
    desk = Desk()
    for n, text in enumerate(("Broken on arrival, photos attached.", "Long story. " * 200)):
        message = annas_mail(
            f"Damaged parcel {n}", f"<photos-{n}@mail.example.com>", text, html=True
        )
        message.add_attachment(
            b"\xff\xd8" * 2000, maintype="image", subtype="jpeg", filename="a.jpg"
        )
        desk.deliver(f"m{n}", message.as_bytes())

    shown = [
        message_bodies.shown_body(m, None)
        for ticket in desk.uow.tickets.values()
        for m in desk.uow.messages(ticket.ref)
    ]
    # The parser drops the trailing line break and space: 35 and 2,399 bytes.
    assert sorted((s.cut, s.text_bytes) for s in shown) == [(False, 35), (True, 2399)]


def test_a_short_mail_with_html_is_shown_whole_without_reading_its_raw_mail_again() -> None:
    # Attack 11, F3: the HTML part made the item an excerpt, and every view of the page
    # parsed the raw mail again (up to 10 MB each, 50 a view) to show 35 bytes of text.
    desk = Desk()
    message = annas_mail(
        "Damaged parcel",
        "<photos@mail.example.com>",
        "Broken on arrival, photos attached.",
        html=True,
    )
    desk.deliver("m1", message.as_bytes())

    [ticket] = desk.uow.tickets.values()
    [kept] = desk.uow.messages(ticket.ref)
    assert kept.excerpt  # the HTML is still read again for the agent's mail

    def read(key: str) -> bytes:
        raise AssertionError(f"{key} read again for a text its item holds whole")

    shown = message_bodies.shown_body(kept, read)
    assert (shown.message.text, shown.cut, shown.text_bytes) == (
        "Broken on arrival, photos attached.",
        False,
        35,
    )


def test_the_contacts_follow_up_is_appended_and_told_as_a_customer_reply() -> None:
    desk = Desk()
    ticket = desk.opened()

    result = desk.deliver("m2", follow_up("Any news?"), at=NOW + timedelta(hours=1))

    assert (result.outcome, result.ref) == ("appended", ticket.ref)
    assert len(desk.uow.tickets) == 1
    assert [m.text for m in desk.uow.messages(ticket.ref)][-1] == "Any news?"
    assert desk.uow.bus.kinds() == ["TicketOpened", "CustomerReplied"]
    replied = desk.uow.events()[-1]
    assert isinstance(replied, CustomerReplied)
    assert (replied.ref, replied.sender, replied.text) == (
        ticket.ref,
        "anna@example.com",
        "Any news?",
    )


def test_the_same_mail_delivered_twice_or_resent_under_another_key_is_one_ticket() -> None:
    desk = Desk()

    first = desk.deliver("m1", mail())
    again = desk.deliver("m1", mail())
    resent = desk.deliver("m1-resent", mail())

    assert first.outcome == "opened"
    assert [again.outcome, resent.outcome] == ["duplicate", "duplicate"]
    assert len(desk.uow.tickets) == 1
    assert desk.uow.bus.kinds() == ["TicketOpened"]
    [ticket] = desk.uow.tickets.values()
    assert len(desk.uow.messages(ticket.ref)) == 1


def test_a_stranger_naming_a_ticket_gets_a_linked_ticket_of_their_own() -> None:
    desk = Desk()
    annas = desk.opened()

    result = desk.deliver(
        "m2",
        follow_up(
            "Please send me the delivery address of this order.",
            sender="Mallory <mallory@elsewhere.example>",
            subject=f"Re: [#{annas.ref}] Where is my order?",
            message_id="<guess-1@elsewhere.example>",
        ),
    )

    assert result.outcome == "opened"
    assert result.ref is not None
    strangers = desk.uow.tickets[result.ref]
    assert strangers.ref != annas.ref
    assert strangers.contact_email == "mallory@elsewhere.example"
    assert "outsider" in strangers.flags and strangers.linked_to == annas.ref
    # Anna's conversation is untouched: nothing joined it and nothing was told about it.
    assert len(desk.uow.messages(annas.ref)) == 1
    assert [e.ref for e in desk.uow.events()] == [annas.ref, strangers.ref]


def test_an_auto_reply_is_kept_as_a_ticket_that_nobody_is_told_about() -> None:
    desk = Desk()

    result = desk.deliver(
        "m1",
        mail(
            subject="Out of office",
            message_id="<ooo-1@mail.example.com>",
            extra="Auto-Submitted: auto-replied\r\n",
            body="I am away until Monday.",
        ),
    )

    assert result.ref is not None
    ticket = desk.uow.tickets[result.ref]
    assert "auto_reply" in ticket.flags and ticket.sla is None
    [opened] = desk.uow.events()
    assert isinstance(opened, TicketOpened) and opened.notify is False
    assert desk.records.suppressed_reasons(ticket.ref) == ["auto_reply"]


MAIL_DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("robot_dsn_bounce", "bounce"),
        ("ses_spam_fail", "spam"),
        ("ses_virus_fail", "virus"),
        ("spoofed_agent_address", "spoofed"),
        # Proven forged for its From domain: an acknowledgement would carry the forger's
        # name and subject, from the desk's own domain, to whoever he names (attack 10, F1).
        ("forged_free_mail_dmarc_fail", "forged"),
    ],
)
def test_mail_nobody_may_answer_still_becomes_a_ticket_with_its_reason_listed(
    fixture: str, reason: str
) -> None:
    desk = Desk()

    result = desk.deliver(fixture, (MAIL_DATA / f"{fixture}.eml").read_bytes())

    assert result.outcome == "opened" and result.ref is not None
    ticket = desk.uow.tickets[result.ref]
    assert reason in ticket.flags
    assert reason in desk.records.suppressed_reasons(ticket.ref)
    [opened] = desk.uow.events()
    assert isinstance(opened, TicketOpened) and opened.notify is False
    if reason == "virus":
        # No infected file is ever kept, only its name.
        assert not [key for key in desk.store.objects if key.startswith("attachments/")]
        [message] = desk.uow.messages(ticket.ref)
        assert [(a.filename, a.dropped) for a in message.attachments] == [("invoice.exe", "virus")]


def acknowledged(desk: MailDesk, sender: str, *, extra: str = "", at: datetime = NOW) -> bool:
    """Whether the first mail of ``sender`` (at ``at``) is to be acknowledged."""
    domain = sender.rpartition("@")[2]
    result = desk.deliver(
        sender,
        mail(sender=sender, message_id=f"<order@{domain}>", extra=extra),
        at=at,
    )
    [opened] = [e for e in desk.uow.events() if getattr(e, "ref", None) == result.ref]
    assert isinstance(opened, TicketOpened) and result.ref is not None
    if not opened.notify:
        # Past a cap the ticket is still made, routed and listed, as over any cap.
        assert desk.records.suppressed_reasons(result.ref) == ["loop_limit"]
    return opened.notify


def test_the_desk_acknowledges_unauthenticated_mail_at_most_its_hourly_ceiling() -> None:
    # Attack 10, F1's remainder (review 11, #5): a forger spreading his mail over domains
    # that publish no DMARC policy got 30 acknowledgements an hour per domain, carrying
    # his subject from the desk's signed domain, with no bound across domains.
    desk = MailDesk(with_limits(unauthenticated_acknowledgements_per_hour=3), NOW)

    forged = [acknowledged(desk, f"buyer@company{n}.example") for n in range(5)]

    assert forged == [True, True, True, False, False]
    # Mail SES authenticated for its From domain is not held back by the forger's, and the
    # next hour starts afresh.
    signed = SES_SCANNED_AUTHENTICATED.replace("example.com", "signed.example")
    assert acknowledged(desk, "anna@signed.example", extra=signed)
    assert acknowledged(desk, "buyer@later.example", at=NOW + timedelta(hours=1))


def test_a_mail_delivered_again_spends_nothing_more_of_the_ceiling() -> None:
    # Review 12, #1: S3 and Lambda deliver at least once; a plain count took a slot for
    # each delivery, and with the ceiling spent listed the acknowledged ticket loop_limit.
    desk = MailDesk(with_limits(unauthenticated_acknowledgements_per_hour=1), NOW)
    raw = mail(sender="buyer@company.example", message_id="<order@company.example>")

    first = desk.deliver("m1", raw)
    again = desk.deliver("m1", raw)

    [opened] = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert opened.notify and first.ref == again.ref
    assert first.ref is not None and desk.records.suppressed_reasons(first.ref) == []
    assert acknowledged(desk, "buyer@other.example") is False  # the one slot is spent


AGENT_AUTHENTICATED = (
    "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=lena@support.example;"
    " dkim=pass header.i=@support.example; dmarc=pass header.from=support.example\r\n"
)


def lenas_reply(ticket: Ticket, body: str, message_id: str) -> bytes:
    """Lena's reply on ``ticket`` from the desk's own domain, authenticated as SES stamps it."""
    return follow_up(
        body,
        sender="Lena <lena@support.example>",
        subject=f"Re: [#{ticket.ref}] Where is my order?",
        message_id=message_id,
        extra=AGENT_AUTHENTICATED,
    )


def test_an_authenticated_agents_mail_carries_out_its_commands_and_relays_the_rest() -> None:
    desk = Desk()
    ticket = desk.opened()

    result = desk.deliver(
        "m2",
        lenas_reply(
            ticket,
            "#status pending\nCould you send us the tracking number?",
            "<lena-1@support.example>",
        ),
        at=NOW + timedelta(minutes=20),
    )

    assert (result.outcome, result.ref) == ("appended", ticket.ref)
    assert desk.uow.tickets[ticket.ref].status == "pending"
    [reply] = [m for m in desk.uow.messages(ticket.ref) if m.direction == "out"]
    assert reply.text == "Could you send us the tracking number?"
    assert desk.uow.bus.kinds() == ["TicketOpened", "AgentReplied", "StatusChanged"]


def told_and_nothing_changed(desk: Desk, ticket: Ticket) -> CommandRejected:
    """After an agent's mail that changed nothing: ``ticket`` is still new with only the
    customer's message, and the one event since its opening tells the agent (returned, for
    the test to read what it says)."""
    assert desk.uow.tickets[ticket.ref].status == "new"
    assert [m.direction for m in desk.uow.messages(ticket.ref)] == ["in"]
    assert desk.uow.bus.kinds() == ["TicketOpened", "CommandRejected"]
    told = desk.uow.events()[-1]
    assert isinstance(told, CommandRejected)
    return told


def test_an_agents_mail_with_a_bad_command_changes_nothing_and_is_refused_once() -> None:
    desk = Desk()
    ticket = desk.opened()
    refused = lenas_reply(ticket, "#status done\nAll sorted.", "<lena-2@support.example>")

    first = desk.deliver("m2", refused)
    desk.deliver("m2", refused)

    assert first.outcome == "rejected"
    rejected = told_and_nothing_changed(desk, ticket)
    assert rejected.errors == [
        "#status done: 'done' is not a status: use new, open, pending or solved"
    ]


def lenas_files(ticket: Ticket, body: str, files: dict[str, bytes]) -> bytes:
    """Lena's authenticated reply on ``ticket`` with ``files`` attached, and a logo inside
    her signature (an inline part, which is not one of her files)."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "Lena <lena@support.example>"
    message["To"] = "support@support.example"
    message["Subject"] = f"Re: [#{ticket.ref}] Where is my order?"
    message["Message-ID"] = "<lena-files@support.example>"
    message["In-Reply-To"] = "<order-1@mail.example.com>"
    message.set_content(body)
    message.add_alternative(f"<p>{body}</p><img src='cid:logo@support.example'>", subtype="html")
    _, html = message.iter_parts()
    html.add_related(b"\x89PNG logo", maintype="image", subtype="png", cid="<logo@support.example>")
    for name, data in files.items():
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return AGENT_AUTHENTICATED.encode() + message.as_bytes()


@pytest.mark.parametrize(
    "written", ["application/x" + "y" * 8200, "Application/PDF; x=" + "y" * 8200]
)
def test_a_file_is_written_to_the_store_with_a_media_type_s3_takes(written: str) -> None:
    # Attack 15, F2: a part's Content-Type of 8,200 characters went to S3 as the object's
    # Content-Type; S3 refuses a request whose headers pass 8 KB, so every attempt failed
    # and the mail never became a ticket. RFC 6838 section 4.2: at most 127 characters a name.
    raw = (
        "From: Anna Schmidt <anna@example.com>\r\nTo: support@support.example\r\n"
        "Subject: The invoice\r\nMessage-ID: <long-type@mail.example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nThe invoice is attached.\r\n--b\r\n"
        f"Content-Type: {written}\r\n"
        "Content-Disposition: attachment; filename=invoice.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    ).encode()
    desk = Desk()

    result = desk.deliver("long-type", raw)

    assert result.outcome == "opened"
    [message] = desk.uow.messages(str(result.ref))
    [kept] = message.attachments
    assert kept.filename == "invoice.pdf" and kept.key is not None
    assert len(kept.content_type) <= 255
    assert len(desk.store.types[kept.key]) <= 255


def test_an_agents_files_are_kept_with_the_reply_even_without_text() -> None:
    desk = Desk()
    ticket = desk.opened()

    result = desk.deliver(
        "m2",
        lenas_files(
            ticket,
            "On Mon, 23 Nov 2026, support@support.example wrote:\n> Assigned to you",
            {"../../label.pdf": b"%PDF label"},
        ),
    )

    assert result.outcome == "appended"
    [reply] = [m for m in desk.uow.messages(ticket.ref) if m.direction == "out"]
    # Only the quote of our mail was written: nothing of it is relayed.
    assert reply.text == ""
    [kept] = reply.attachments
    assert kept.filename == "label.pdf"  # a safe name, as for a customer's file
    assert kept.key is not None and desk.store.objects[kept.key] == b"%PDF label"
    assert desk.uow.bus.kinds() == ["TicketOpened", "AgentReplied", "StatusChanged"]
    # Sending a file answers the customer: the first response is kept.
    assert sla_of(desk.uow.tickets[ticket.ref]).clocks["first_response"].achieved_at


@pytest.mark.parametrize(
    "body",
    [
        "On Mon, 23 Nov 2026, support@support.example wrote:\n> Assigned to you",
        "",
        "#priority normal\n#status new",
    ],
)
def test_an_agents_mail_that_changes_nothing_is_told_once_and_listed(body: str) -> None:
    desk = Desk()
    ticket = desk.opened()
    nothing = lenas_reply(ticket, body, "<lena-3@support.example>")

    first = desk.deliver("m2", nothing)
    desk.deliver("m3", nothing)  # the same mail again

    assert first.outcome == "unchanged"
    told = told_and_nothing_changed(desk, ticket)
    assert told.errors == []
    assert told.agent == LENA
    assert told.empty is (not body.startswith("#"))
    assert told.unchanged == (["#priority normal", "#status new"] if body.startswith("#") else [])
    assert desk.records.suppressed_reasons(ticket.ref) == ["no_change"]


def test_a_reply_to_a_solved_ticket_reopens_it_with_its_agent() -> None:
    desk = Desk()
    ticket = desk.opened()
    desk.uow.tickets[ticket.ref] = replace(
        ticket, status="solved", assignee=LENA, solved_at=NOW + timedelta(hours=1)
    )

    desk.deliver("m2", follow_up("It still has not come."), at=NOW + timedelta(hours=2))

    reopened = desk.uow.tickets[ticket.ref]
    assert (reopened.status, reopened.assignee) == ("open", LENA)
    assert desk.uow.loads[LENA] == 1  # back with Lena, whatever her load
    assert desk.uow.bus.kinds() == ["TicketOpened", "CustomerReplied", "StatusChanged"]
    changed = desk.uow.events()[-1]
    assert isinstance(changed, StatusChanged)
    assert (changed.previous_status, changed.status) == ("solved", "open")


def test_a_reply_to_a_closed_ticket_opens_a_new_one_linked_to_it() -> None:
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, status="closed")

    result = desk.deliver(
        "m2",
        follow_up(
            "Another question about the same order.", message_id="<order-3@mail.example.com>"
        ),
        at=NOW + timedelta(days=10),
    )

    assert result.outcome == "opened" and result.ref != old.ref
    assert result.ref is not None
    new = desk.uow.tickets[result.ref]
    assert (new.linked_to, new.contact_email) == (old.ref, "anna@example.com")
    assert "outsider" not in new.flags
    assert desk.uow.tickets[old.ref].status == "closed"
    assert len(desk.uow.messages(old.ref)) == 1


def test_a_ticket_keeps_whether_its_opening_proved_its_author() -> None:
    # What a lead's counts weigh a ticket by (model.speaks_for_its_contact): the opening
    # alone, never a later reply (review 19, #3).
    signed = Desk()
    signed.deliver("m1", SES_SCANNED_AUTHENTICATED.encode() + mail())
    unsigned = Desk()
    unsigned.deliver("m1", mail())
    [proven], [unproven] = signed.uow.tickets.values(), unsigned.uow.tickets.values()
    unsigned.deliver(
        "m2",
        SES_SCANNED_AUTHENTICATED.encode() + follow_up("It is mine."),
        at=NOW + timedelta(hours=1),
    )

    assert (proven.opening_proven, unproven.opening_proven) == (True, False)
    # What the bus carries of it: TicketOpened's contact is "shown" from the opening.
    [opened_signed], [opened_unsigned] = (
        [e for e in desk.uow.events() if isinstance(e, TicketOpened)] for desk in (signed, unsigned)
    )
    assert (opened_signed.contact.shown, opened_unsigned.contact.shown) == (True, False)
    assert unsigned.uow.tickets[unproven.ref].messages_in == 1
    assert unsigned.uow.tickets[unproven.ref].opening_proven is False


def test_each_message_from_outside_is_counted_on_the_ticket_proven_or_not() -> None:
    desk = Desk()
    ticket = desk.opened()  # unauthenticated
    assert (ticket.messages_in, ticket.messages_unproven) == (0, 1)

    signed = SES_SCANNED_AUTHENTICATED.encode()
    desk.deliver("m2", signed + follow_up("Any news?"), at=NOW + timedelta(hours=1))
    desk.deliver("m2", signed + follow_up("Any news?"), at=NOW + timedelta(hours=1))  # again
    desk.deliver("m3", follow_up("Hello?", message_id="<order-3@x>"), at=NOW + timedelta(hours=2))

    counted = desk.uow.tickets[ticket.ref]
    assert (counted.messages_in, counted.messages_unproven) == (1, 2)


def test_a_reply_to_a_ticket_holding_its_most_messages_opens_a_new_one_linked_to_it() -> None:
    # Attack 12, F2: nothing bounded a thread, and each view of it counts its older
    # messages; forged follow-ups by the thousand made one view read 37 MB.
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, messages_in=MESSAGES_IN_MAX)

    result = desk.deliver(
        "m2",
        SES_SCANNED_AUTHENTICATED.encode()
        + follow_up("Still nothing.", message_id="<order-3@mail.example.com>"),
        at=NOW + timedelta(hours=1),
    )

    assert result.outcome == "opened" and result.ref not in (None, old.ref)
    new = desk.uow.tickets[str(result.ref)]
    assert (new.linked_to, new.contact_email, new.messages_in) == (old.ref, "anna@example.com", 1)
    assert len(desk.uow.messages(old.ref)) == 1
    assert desk.uow.tickets[old.ref].status == old.status  # not reopened by it


def test_a_forger_filling_her_ticket_with_unproven_mail_leaves_her_proven_replies_in_it() -> None:
    # Review 17, #1: forged follow-ups and bounce reports counted with hers, so whoever
    # held her reference could fill her ticket and split her conversation.
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, messages_unproven=UNPROVEN_MESSAGES_MAX)

    forged = desk.deliver("m2", follow_up("Confirm your card.", message_id="<f@x>"))
    hers = desk.deliver(
        "m3",
        SES_SCANNED_AUTHENTICATED.encode() + follow_up("Any news?", message_id="<order-3@x>"),
    )

    assert forged.outcome == "opened" and desk.uow.tickets[str(forged.ref)].linked_to == old.ref
    assert (hers.outcome, hers.ref) == ("appended", old.ref)
    assert [m.text for m in desk.uow.messages(old.ref)][-1].startswith("Any news?")


def test_a_reply_that_lost_a_race_to_the_threads_last_place_opens_a_linked_ticket() -> None:
    # Review 17, #4: the follow-up was checked on the ticket as read, not as committed.
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, messages_in=MESSAGES_IN_MAX - 1)
    # Another message takes the last place between intake's read and its commit.
    desk.uow.interleaved.append(replace(desk.uow.tickets[old.ref], messages_in=MESSAGES_IN_MAX))

    result = desk.deliver(
        "m2",
        SES_SCANNED_AUTHENTICATED.encode() + follow_up("Any news?", message_id="<order-3@x>"),
    )

    assert result.outcome == "opened" and desk.uow.tickets[str(result.ref)].linked_to == old.ref
    assert desk.uow.tickets[old.ref].messages_in == MESSAGES_IN_MAX


def test_a_follow_up_that_raced_an_agents_change_is_decided_again_on_the_newer_ticket() -> None:
    desk = Desk()
    ticket = desk.opened()
    # Lena solves the ticket between intake's read and its commit.
    desk.uow.meanwhile.append(
        lambda: carry_out(
            AgentAction(
                scope=EVERY_TEAM,
                agent=LENA,
                reply="Delivered today.",
                edit=TicketEdit(status="solved"),
            ),
            ticket.ref,
            uow=desk.uow,
            config=CONFIG,
            now=NOW + timedelta(minutes=30),
        )
    )

    desk.deliver("m2", follow_up("It is not here."), at=NOW + timedelta(minutes=31))

    assert desk.uow.tickets[ticket.ref].status == "open"
    assert [m.direction for m in desk.uow.messages(ticket.ref)] == ["in", "out", "in"]
    replied = [e for e in desk.uow.events() if isinstance(e, CustomerReplied)]
    assert [(e.previous_status, e.status) for e in replied] == [("solved", "open")]


SES_SCANNED_AUTHENTICATED = (
    "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=anna@example.com;"
    " dkim=pass header.i=@example.com; dmarc=pass header.from=example.com\r\n"
    "X-SES-Virus-Verdict: PASS\r\n"
)


@pytest.mark.parametrize(
    ("headers", "recorded"),
    [
        (SES_SCANNED_AUTHENTICATED, ()),
        ("X-SES-Virus-Verdict: PASS\r\n", ("unauthenticated",)),
        (
            SES_SCANNED_AUTHENTICATED.replace("PASS", "PROCESSING_FAILED"),
            ("unscanned",),
        ),
        (SES_SCANNED_AUTHENTICATED.replace("X-SES-Virus-Verdict: PASS\r\n", ""), ("unscanned",)),
        ("X-SES-Virus-Verdict: GRAY\r\n", ("unauthenticated", "unscanned")),
    ],
)
def test_a_customers_message_records_what_ses_could_not_vouch_for(
    headers: str, recorded: tuple[str, ...]
) -> None:
    """The relay to the agent attaches files only from a mail authenticated for its From
    domain and scanned clean; the message keeps what was not (the ticket's flags do not)."""
    desk = Desk()
    ticket = desk.opened()

    desk.deliver("m2", follow_up("Here are the photos.", extra=headers))

    reply = desk.uow.messages(ticket.ref)[-1]
    assert reply.flags == recorded
    assert desk.uow.tickets[ticket.ref].flags == []


def test_an_agents_answer_to_a_colleagues_note_mail_stays_an_internal_note() -> None:
    """The note's mail threads onto the ticket like any of the desk's mail; answering it
    as one answers a colleague must never mail the customer (review F5)."""
    desk = Desk()
    ticket = desk.opened()
    note_mail = f"<hd.{ticket.ref.lower()}.note.0123456789abcdef@support.example>"

    result = desk.deliver(
        "m2",
        follow_up(
            "Thanks Omar, understood, I will not refund her.",
            sender="Lena <lena@support.example>",
            subject=f"Re: [#{ticket.ref}] Note from Omar: Where is my order?",
            message_id="<lena-note@support.example>",
            in_reply_to=note_mail,
            extra=AGENT_AUTHENTICATED,
        ),
        at=NOW + timedelta(minutes=20),
    )

    assert (result.outcome, result.ref) == ("appended", ticket.ref)
    kept = desk.uow.messages(ticket.ref)[-1]
    assert kept.direction == "note"
    assert kept.text == "Thanks Omar, understood, I will not refund her."
    assert "AgentReplied" not in desk.uow.bus.kinds()


def test_her_unverified_reply_to_the_desks_mail_keeps_its_place_when_forgeries_fill_theirs() -> (
    None
):
    # Attack 16, F3: a customer whose domain SES cannot authenticate wrote in the share a
    # stranger's forgeries fill, and 199 of them split her thread. Her reply names the
    # Message-ID of the desk's mail to her, which only its recipients know.
    desk = Desk()
    old = desk.opened()  # unauthenticated
    desk.uow.tickets[old.ref] = replace(old, messages_unproven=UNPROVEN_MESSAGES_MAX)
    domain = CONFIG.helpdesk.mail_domain
    sent = sent_by_desk(desk, old.ref)
    minted = f"<hd.{old.ref.lower()}.reply.0123456789abcdef@{domain}>"

    # The forger names the ticket by its token and mints a Message-ID of the desk's shape.
    token = f"Re: [#{old.ref}] Where is my order?"
    forged = desk.deliver(
        "m2", follow_up("Confirm your card.", message_id="<f@x>", in_reply_to=minted, subject=token)
    )
    hers = desk.deliver(
        "m3", follow_up("Any news?", message_id="<order-3@x>", in_reply_to=f"<{sent}>")
    )

    assert forged.outcome == "opened" and desk.uow.tickets[str(forged.ref)].linked_to == old.ref
    assert (hers.outcome, hers.ref) == ("appended", old.ref)
    [reply] = [m for m in desk.uow.messages(old.ref) if m.text.startswith("Any news?")]
    assert set(reply.flags) >= {"unauthenticated", "replies_to_desk"}
    assert desk.uow.tickets[old.ref].messages_in == 1


def test_a_reply_naming_the_desks_mail_to_someone_else_proves_nothing() -> None:
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(
        old, participants=["bob@example.com"], messages_unproven=UNPROVEN_MESSAGES_MAX
    )
    sent = sent_by_desk(desk, old.ref)

    bobs = desk.deliver(
        "m2",
        follow_up("Send it to me.", message_id="<b@x>", in_reply_to=f"<{sent}>",
                  sender="Bob <bob@example.com>"),
    )  # fmt: skip

    assert bobs.outcome == "opened" and desk.uow.tickets[str(bobs.ref)].linked_to == old.ref


def annas_full_ticket() -> tuple[Desk, Ticket, str]:
    """Anna's ticket holding its most proven messages, and a subject naming it."""
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, messages_in=MESSAGES_IN_MAX)
    return desk, old, f"Re: [#{old.ref}] Where is my order?"


def test_her_mail_past_a_full_thread_goes_on_in_one_continuation_not_a_new_ticket_each() -> None:
    # Review 17, #1b: each of her mails that found her ticket full opened a ticket of its
    # own, so every exchange forked. The first continuation is recorded on the full ticket
    # and her later mail joins it; a stranger naming her ticket never does.
    desk, old, token = annas_full_ticket()
    signed = SES_SCANNED_AUTHENTICATED.encode()

    first = desk.deliver("m2", signed + follow_up("Any news?", message_id="<a@x>", subject=token))
    second = desk.deliver("m3", signed + follow_up("Hello?", message_id="<b@x>", subject=token))
    stranger = desk.deliver(
        "m4", follow_up("Me too.", message_id="<c@x>", subject=token, sender="m@evil.example")
    )

    assert first.outcome == "opened" and first.ref not in (None, old.ref)
    assert desk.uow.tickets[old.ref].continued_in == first.ref
    assert (second.outcome, second.ref) == ("appended", first.ref)
    texts = [m.text.split("\n")[0] for m in desk.uow.messages(str(first.ref))]
    assert texts == ["Any news?", "Hello?"]
    assert stranger.outcome == "opened" and stranger.ref not in (old.ref, first.ref)
    assert desk.uow.tickets[old.ref].continued_in == first.ref


def test_unproven_mail_past_a_full_share_records_and_follows_no_continuation() -> None:
    # A forger's mail would otherwise lead her own into the ticket he opened.
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(
        old, messages_in=MESSAGES_IN_MAX, messages_unproven=UNPROVEN_MESSAGES_MAX
    )
    token = f"Re: [#{old.ref}] Where is my order?"

    forged = desk.deliver("m2", follow_up("Confirm your card.", message_id="<f@x>", subject=token))
    hers = desk.deliver(
        "m3",
        SES_SCANNED_AUTHENTICATED.encode()
        + follow_up("Any news?", message_id="<a@x>", subject=token),
    )

    assert forged.outcome == hers.outcome == "opened"
    assert hers.ref != forged.ref
    assert desk.uow.tickets[old.ref].continued_in == hers.ref


def test_a_reply_to_a_closed_ticket_records_no_continuation() -> None:
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, status="closed")
    signed = SES_SCANNED_AUTHENTICATED.encode()

    desk.deliver("m2", signed + follow_up("Another question.", message_id="<a@x>"))

    assert desk.uow.tickets[old.ref].continued_in is None


def test_a_reply_naming_a_desk_mail_that_others_were_copied_on_proves_nothing() -> None:
    # Attack 18, F4: Bob, copied on the desk's answer to Anna, wrote "From: anna" naming
    # it and took her proven share. Only a mail the desk sent her alone proves it is hers.
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, messages_unproven=UNPROVEN_MESSAGES_MAX)
    sent = sent_by_desk(desk, old.ref, cc=("bob@example.com",))

    as_her = desk.deliver(
        "m2", follow_up("Send it to my new address.", message_id="<b@x>", in_reply_to=f"<{sent}>")
    )

    assert as_her.outcome == "opened" and desk.uow.tickets[str(as_her.ref)].linked_to == old.ref


def test_a_continuation_that_fills_up_names_its_own_and_her_mail_follows_the_chain() -> None:
    # Review 19, #1: only the ticket her mail named was ever given a continuation, so once
    # that one filled, each of her mails opened a ticket of its own.
    desk, old, token = annas_full_ticket()
    signed = SES_SCANNED_AUTHENTICATED.encode()
    first = desk.deliver("m2", signed + follow_up("One.", message_id="<a@x>", subject=token))
    second_ref = str(first.ref)
    desk.uow.tickets[second_ref] = replace(
        desk.uow.tickets[second_ref], messages_in=MESSAGES_IN_MAX
    )

    third = desk.deliver("m3", signed + follow_up("Two.", message_id="<b@x>", subject=token))
    again = desk.deliver("m4", signed + follow_up("Three.", message_id="<c@x>", subject=token))

    assert third.outcome == "opened" and third.ref not in (old.ref, second_ref)
    assert desk.uow.tickets[second_ref].continued_in == third.ref
    assert desk.uow.tickets[old.ref].continued_in == second_ref
    assert (again.outcome, again.ref) == ("appended", third.ref)


def test_a_reply_naming_the_desks_mail_marks_its_message_not_a_ticket_it_opens() -> None:
    # Review 19, #5: the flag went onto the flags of the ticket the mail opened.
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(
        old, messages_in=MESSAGES_IN_MAX, messages_unproven=UNPROVEN_MESSAGES_MAX
    )
    sent = sent_by_desk(desk, old.ref)

    opened = desk.deliver("m2", follow_up("Any news?", message_id="<a@x>", in_reply_to=f"<{sent}>"))

    assert opened.outcome == "opened"
    assert "replies_to_desk" not in desk.uow.tickets[str(opened.ref)].flags


def test_a_reply_naming_a_copied_desk_mail_and_one_sent_her_alone_is_proven() -> None:
    # Review 19, #6: the first desk mail found decided, though a later one proved it.
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, messages_unproven=UNPROVEN_MESSAGES_MAX)
    alone = sent_by_desk(desk, old.ref, key="k1")
    copied = sent_by_desk(desk, old.ref, key="k2", cc=("bob@example.com",))
    raw = follow_up("Any news?", message_id="<a@x>", in_reply_to=f"<{copied}>")
    raw = raw.replace(
        f"References: <{copied}>".encode(), f"References: <{alone}> <{copied}>".encode()
    )

    hers = desk.deliver("m2", raw)

    assert (hers.outcome, hers.ref) == ("appended", old.ref)


def test_a_desk_mail_whose_record_does_not_say_who_was_copied_proves_nothing() -> None:
    # A record written before the Cc was kept (review 19, #12).
    desk = Desk()
    old = desk.opened()
    desk.uow.tickets[old.ref] = replace(old, messages_unproven=UNPROVEN_MESSAGES_MAX)
    sent = sent_by_desk(desk, old.ref)
    del desk.records.sent_mail.records[sent]["cc"]

    hers = desk.deliver("m2", follow_up("Any news?", message_id="<a@x>", in_reply_to=f"<{sent}>"))

    assert hers.outcome == "opened" and hers.ref != old.ref
