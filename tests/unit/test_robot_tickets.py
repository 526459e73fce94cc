"""Tickets robots open (an out-of-office notice): kept for review, outside the new-ticket
counts and the backlog, and closed by the auto-close sweep after ``robots.close_after``
without new mail, unless an agent took one up."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from mail_desk import MailDesk

from fakes import CONFIG, MONDAY_MORNING, fake_notifier
from helpdesk import timers
from helpdesk.events import StatusChanged
from helpdesk.services.reports import Period, build_report
from helpdesk.services.surveys import SurveyDispatch

NOW = MONDAY_MORNING  # 09:55 in Berlin
MONDAY = Period("daily", date(2026, 11, 23), date(2026, 11, 23))


def out_of_office(message_id: str = "<ooo-1@mail.example.com>", *, reply_to: str = "") -> bytes:
    """An out-of-office notice, marked as RFC 3834 section 5 asks (Auto-Submitted);
    with ``reply_to``, in the thread of that Message-ID."""
    thread = f"In-Reply-To: {reply_to}\r\nReferences: {reply_to}\r\n" if reply_to else ""
    return (
        "From: Paul Weber <paul@example.com>\r\n"
        "To: support@support.example\r\n"
        "Subject: Out of office: back on 30 November\r\n"
        f"Message-ID: {message_id}\r\n"
        f"{thread}"
        "Auto-Submitted: auto-replied\r\n"
        "Date: Mon, 23 Nov 2026 09:50:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "I am out of the office until 30 November and will read your mail then.\r\n"
    ).encode()


def customer_mail() -> bytes:
    return (
        b"From: Anna Schmidt <anna@example.com>\r\n"
        b"To: support@support.example\r\n"
        b"Subject: Where is my order?\r\n"
        b"Message-ID: <order-1@mail.example.com>\r\n"
        b"Date: Mon, 23 Nov 2026 09:50:00 +0100\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"My order 1234 has not arrived.\r\n"
    )


class Desk(MailDesk):
    """The intake (mail_desk.py) and the survey dispatch, whose sweep closes robots' tickets."""

    def __init__(self) -> None:
        super().__init__(CONFIG, NOW)
        self.dispatch = SurveyDispatch(
            uow=self.uow,
            repo=self.records,
            notifier=fake_notifier(self.records, CONFIG),
            config=CONFIG,
            signing_key=b"unit-test-signing-key",
            public_url="https://support.example",
        )

    def ticket_for(self, key: str, raw: bytes, *, at: datetime = NOW) -> str:
        """Deliver ``raw``; the reference of the ticket it opened or landed on."""
        result = self.deliver(key, raw, at=at)
        assert result.ref is not None
        return result.ref


def test_an_out_of_office_ticket_is_counted_apart_and_never_in_the_backlog() -> None:
    desk = Desk()
    robot = desk.ticket_for("ooo", out_of_office())
    desk.ticket_for("anna", customer_mail())

    report = build_report(desk.uow, CONFIG, MONDAY, as_of=MONDAY.last)

    assert "auto_reply" in desk.uow.tickets[robot].flags
    assert report.created == 1 and report.created_by["channel"] == {"email": 1}
    assert report.robots == 1
    assert [(t.ref, t.subject) for t in report.robot_tickets] == [
        (robot, "Out of office: back on 30 November")
    ]
    assert report.backlog_total == 1  # Anna's ticket only


def test_an_out_of_office_ticket_closes_after_the_quiet_period_and_its_timer_stops() -> None:
    desk = Desk()
    ref = desk.ticket_for("ooo", out_of_office())
    quiet_until = NOW + timedelta(days=7)

    assert CONFIG.robots.close_after == timedelta(days=7)
    assert desk.uow.timers[(ref, timers.AUTOCLOSE)] == quiet_until
    early = desk.dispatch.sweep(now=quiet_until - timedelta(minutes=5))
    swept = desk.dispatch.sweep(now=quiet_until)

    assert (early.closed, swept.closed) == ([], [ref])
    closed = desk.uow.tickets[ref]
    assert closed.status == "closed" and closed.closed_at == quiet_until
    assert (ref, timers.AUTOCLOSE) not in desk.uow.timers
    assert (
        StatusChanged(ref=ref, status="closed", previous_status="new", by="autoclose", version=1)
        in desk.uow.events()
    )
    # Closing changes no report figure: it was never in the backlog.
    assert desk.uow.read_backlog("general") == {}


def test_a_robot_that_writes_again_starts_a_new_quiet_period() -> None:
    desk = Desk()
    ref = desk.ticket_for("ooo", out_of_office())
    again = NOW + timedelta(days=3)
    second = out_of_office("<ooo-2@mail.example.com>", reply_to="<ooo-1@mail.example.com>")
    assert desk.ticket_for("ooo-2", second, at=again) == ref

    first_due = desk.dispatch.sweep(now=NOW + timedelta(days=7))

    assert first_due.closed == []
    assert desk.uow.tickets[ref].status == "new"
    assert desk.uow.timers[(ref, timers.AUTOCLOSE)] == again + timedelta(days=7)
    assert desk.dispatch.sweep(now=again + timedelta(days=7)).closed == [ref]


def test_a_robot_ticket_an_agent_took_up_is_left_to_the_agent_and_joins_the_backlog() -> None:
    desk = Desk()
    ref = desk.ticket_for("ooo", out_of_office())
    ticket = desk.uow.load(ref)
    from helpdesk.unit_of_work import TicketChange

    taken = replace(ticket, assignee="lena@support.example", status="open")
    desk.uow.commit(TicketChange(before=ticket, after=taken, at=NOW + timedelta(hours=1)))

    assert desk.uow.read_backlog("general") == {"2026-11-23": 1}
    assert desk.dispatch.sweep(now=NOW + timedelta(days=7)).closed == []
    assert desk.uow.tickets[ref].status == "open"
    assert (ref, timers.AUTOCLOSE) not in desk.uow.timers


AGENT_AUTHENTICATED = (
    "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=lena@support.example;"
    " dkim=pass header.i=@support.example; dmarc=pass header.from=support.example\r\n"
)


def person_mail(sender: str, ref: str, body: str, message_id: str, *, extra: str = "") -> bytes:
    """A mail a person wrote on ticket ``ref`` (its subject token), with no robot marks."""
    return (
        f"From: {sender}\r\n"
        "To: support@support.example\r\n"
        f"Subject: Re: [#{ref}] Out of office: back on 30 November\r\n"
        f"Message-ID: {message_id}\r\n"
        f"{extra}"
        "Date: Mon, 23 Nov 2026 11:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("sender", "body", "extra"),
    [
        pytest.param(
            "Lena <lena@support.example>",
            "Sorry Paul, we are asking the carrier and will come back to you.",
            AGENT_AUTHENTICATED,
            id="an agent answered",
        ),
        pytest.param(
            "Lena <lena@support.example>",
            "#note Paul wrote before he left: his parcel is missing, I am on it.",
            AGENT_AUTHENTICATED,
            id="an agent wrote a note",
        ),
        pytest.param(
            "Paul Weber <paul@example.com>",
            "I am back early: my parcel never arrived, please help.",
            "",
            id="the contact wrote himself",
        ),
    ],
)
def test_a_robot_ticket_a_person_wrote_on_is_never_closed_unanswered_and_joins_the_backlog(
    sender: str, body: str, extra: str
) -> None:
    desk = Desk()
    ref = desk.ticket_for("ooo", out_of_office())
    later = NOW + timedelta(hours=1)
    desk.ticket_for(
        "person", person_mail(sender, ref, body, "<person-1@x.example>", extra=extra), at=later
    )

    swept = desk.dispatch.sweep(now=NOW + timedelta(days=30))

    ticket = desk.uow.tickets[ref]
    assert swept.closed == []
    assert ticket.status != "closed"
    assert not {"auto_reply", "bounce"} & set(ticket.flags)
    assert desk.uow.read_backlog("general") == {"2026-11-23": 1}
    report = build_report(desk.uow, CONFIG, MONDAY, as_of=MONDAY.last)
    assert report.backlog_total == 1
