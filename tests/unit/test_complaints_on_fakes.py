"""Complaints to the team lead on the fakes: what the ticket keeps, what its clocks say,
what the bus hears, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fakes import (
    CONFIG,
    FakeRecords,
    FakeUnitOfWork,
    fake_notifier,
    sla_of,
    started_clocks,
    ticket,
)
from helpdesk import notices
from helpdesk.errors import InvalidInput, NotFound, RateLimited, TooLarge
from helpdesk.events import ComplaintMade, SlaBreached, SlaWarning, StatusChanged
from helpdesk.model import Message, Ticket
from helpdesk.services.clocks import Change, apply
from helpdesk.services.commands import EVERY_TEAM, AgentAction, carry_out
from helpdesk.services.complaints import ComplaintDesk
from helpdesk.services.sla_sweep import SlaSweep
from helpdesk.sla import Status

OPENED = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)  # Monday 09:55 in Berlin
# Monday 11:00 in Berlin: four business hours (the default respond_within) end at 15:00.
COMPLAINED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def open_ticket(**changes: object) -> Ticket:
    fields: dict[str, object] = {
        "status": "open",
        "assignee": "lena@support.example",
        "sla": started_clocks(CONFIG, OPENED),
        **changes,
    }
    return ticket(**fields)


def moved_to(status: Status, at: datetime) -> Ticket:
    """The open ticket after an agent set ``status`` at ``at`` (its clocks stopped)."""
    return apply(open_ticket(), Change(status=status), at=at, config=CONFIG)


def desk_with(*tickets: Ticket) -> tuple[ComplaintDesk, FakeUnitOfWork]:
    uow = FakeUnitOfWork(CONFIG)
    for each in tickets:
        uow.add(each)
    return ComplaintDesk(uow=uow, config=CONFIG, counters=FakeRecords(uow)), uow


def sla_view(stored: Ticket) -> dict[str, Any]:
    return sla_of(stored).public_view()


def test_a_complaint_flags_the_ticket_keeps_the_words_and_starts_the_complaint_clock() -> None:
    desk, uow = desk_with(open_ticket())

    stored = desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")

    assert "complaint" in stored.flags
    [message] = uow.messages("HD-7K3M9Q")
    assert (message.direction, message.kind, message.channel) == ("in", "complaint", "survey")
    assert (message.author, message.text) == ("anna@example.com", "Nobody answers me.")
    view = sla_view(stored)
    assert view["complained_at"] == COMPLAINED.isoformat()
    assert view["complaint_due"] == DUE.isoformat()
    assert view["complaint_answered_at"] is None
    # The customer's other promises are untouched.
    assert view["first_response_due"] == sla_view(open_ticket())["first_response_due"]
    [made] = uow.events()
    assert made == ComplaintMade(
        ref="HD-7K3M9Q",
        sender="anna@example.com",
        message=message.id,
        text="Nobody answers me.",
        source="survey",
        notify=True,
        due=DUE.isoformat(),
        at=COMPLAINED.isoformat(),
    )
    assert uow.history["HD-7K3M9Q"][-1][0] == "complaint"


def test_a_second_complaint_in_the_hour_adds_its_words_without_a_restart_or_a_mail() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")

    later = COMPLAINED + timedelta(minutes=20)
    stored = desk.complain("HD-7K3M9Q", "Still nothing!", now=later, source="portal")

    assert [m.text for m in uow.messages("HD-7K3M9Q")] == ["Nobody answers me.", "Still nothing!"]
    assert uow.messages("HD-7K3M9Q")[1].channel == "portal"
    view = sla_view(stored)
    assert (view["complained_at"], view["complaint_due"]) == (
        COMPLAINED.isoformat(),
        DUE.isoformat(),
    )
    first, second = (e for e in uow.events() if isinstance(e, ComplaintMade))
    assert (first.notify, second.notify) == (True, False)
    assert second.due == DUE.isoformat()


def test_a_complaint_in_a_later_hour_of_the_same_run_mails_again_but_keeps_the_due_time() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")

    stored = desk.complain(
        "HD-7K3M9Q", "Two hours now.", now=COMPLAINED + timedelta(hours=2), source="survey"
    )

    assert sla_view(stored)["complaint_due"] == DUE.isoformat()
    last = [e for e in uow.events() if isinstance(e, ComplaintMade)][-1]
    assert last.notify is True


def test_complaints_beyond_the_hourly_count_of_a_ticket_are_refused_naming_the_field() -> None:
    desk, uow = desk_with(open_ticket())
    limit = CONFIG.complaints.per_ticket_per_hour
    for n in range(limit):
        desk.complain("HD-7K3M9Q", f"Complaint {n}", now=COMPLAINED, source="survey")

    with pytest.raises(RateLimited) as refused:
        desk.complain("HD-7K3M9Q", "One more", now=COMPLAINED, source="survey")

    assert refused.value.what == "complaint"
    assert refused.value.retry_after_seconds == 3600
    assert len(uow.messages("HD-7K3M9Q")) == limit
    # The next hour takes complaints again.
    desk.complain("HD-7K3M9Q", "Next hour", now=COMPLAINED + timedelta(hours=1), source="survey")
    assert len(uow.messages("HD-7K3M9Q")) == limit + 1


def test_one_contact_complaining_from_many_tickets_is_refused_past_the_daily_count() -> None:
    # A18-8: throw-away tickets of one contact must not use up the leads' attention.
    limit = CONFIG.complaints.per_contact_per_day
    refs = [f"HD-{n:06d}" for n in range(limit + 1)]
    desk, uow = desk_with(*(open_ticket(ref=ref) for ref in refs))
    for n, ref in enumerate(refs[:limit]):
        at = COMPLAINED + timedelta(minutes=n)
        desk.complain(ref, f"Complaint {n}", now=at, source="portal")

    late = COMPLAINED + timedelta(hours=2)  # 12:00 UTC: twelve hours to the next day
    with pytest.raises(RateLimited) as refused:
        desk.complain(refs[-1], "One more", now=late, source="portal")

    assert refused.value.what == "complaint"
    assert refused.value.retry_after_seconds == 12 * 3600
    assert uow.messages(refs[-1]) == []
    assert "complaint" not in uow.load(refs[-1]).flags
    # The next day the contact is heard again.
    desk.complain(refs[-1], "Next day", now=late + timedelta(hours=12), source="portal")
    assert [m.text for m in uow.messages(refs[-1])] == ["Next day"]


def test_a_complaint_reopens_a_solved_ticket() -> None:
    desk, uow = desk_with(moved_to("solved", COMPLAINED - timedelta(minutes=30)))

    stored = desk.complain("HD-7K3M9Q", "It is not solved.", now=COMPLAINED, source="survey")

    assert stored.status == "open"
    reopened = [e for e in uow.events() if isinstance(e, StatusChanged)]
    assert [(e.previous_status, e.status, e.by) for e in reopened] == [
        ("solved", "open", "anna@example.com")
    ]
    assert sla_view(stored)["complaint_due"] == DUE.isoformat()


def test_a_complaint_about_a_closed_ticket_opens_a_linked_ticket_with_the_words_once() -> None:
    desk, uow = desk_with(moved_to("closed", COMPLAINED - timedelta(days=1)))

    stored = desk.complain("HD-7K3M9Q", "You closed it unsolved.", now=COMPLAINED, source="survey")

    assert stored.ref != "HD-7K3M9Q"
    assert stored.linked_to == "HD-7K3M9Q"
    assert "complaint" in stored.flags
    assert stored.channel == "survey"
    assert [m.text for m in uow.messages(stored.ref)] == ["You closed it unsolved."]
    assert uow.messages(stored.ref)[0].kind == "complaint"
    assert sla_view(stored)["complaint_due"] == DUE.isoformat()
    assert uow.tickets["HD-7K3M9Q"].status == "closed"
    assert uow.messages("HD-7K3M9Q") == []
    made = [e for e in uow.events() if isinstance(e, ComplaintMade)]
    assert [(e.ref, e.notify) for e in made] == [(stored.ref, True)]
    # A second complaint in the hour adds its words to that new ticket, without a mail.
    later = COMPLAINED + timedelta(minutes=5)
    again = desk.complain("HD-7K3M9Q", "Hello?", now=later, source="survey")
    assert again.ref == stored.ref
    assert [m.text for m in uow.messages(stored.ref)] == ["You closed it unsolved.", "Hello?"]
    assert [e.notify for e in uow.events() if isinstance(e, ComplaintMade)] == [True, False]
    assert len(uow.tickets) == 2


@pytest.mark.parametrize(
    ("text", "error", "reason"),
    [
        ("", InvalidInput, "is required"),
        ("  \n\t ", InvalidInput, "is required"),
        ("x" * 4001, TooLarge, "at most 4000 characters"),
    ],
)
def test_an_empty_or_too_long_complaint_is_refused_naming_the_field(
    text: str, error: type[InvalidInput], reason: str
) -> None:
    desk, uow = desk_with(open_ticket())

    with pytest.raises(error) as refused:
        desk.complain("HD-7K3M9Q", text, now=COMPLAINED, source="survey")

    assert refused.value.field == "complaint"
    assert reason in refused.value.reason
    assert uow.events() == []
    assert "complaint" not in uow.tickets["HD-7K3M9Q"].flags


def test_the_words_lose_control_and_direction_override_characters_but_keep_their_lines() -> None:
    desk, uow = desk_with(open_ticket())

    desk.complain(
        "HD-7K3M9Q",
        "First line\r\nsecond\x07 line \u202egnp.exe\u202c\x00 end\u2028\u200fשלום",
        now=COMPLAINED,
        source="survey",
    )

    [message] = uow.messages("HD-7K3M9Q")
    assert message.text == "First line\nsecond line gnp.exe end\n\u200fשלום"


def test_a_complaint_on_an_unknown_ticket_is_not_found() -> None:
    desk, _ = desk_with()

    with pytest.raises(NotFound):
        desk.complain("HD-2222AA", "Hello?", now=COMPLAINED, source="survey")


def test_a_complaint_comes_from_the_page_or_the_survey_only() -> None:
    desk, _ = desk_with(open_ticket())

    with pytest.raises(ValueError, match="portal"):
        desk.complain("HD-7K3M9Q", "Hello?", now=COMPLAINED, source="email")


# ---------------------------------------------------------------------- the lead answers
MARIA = "maria@support.example"  # the lead of team general (not an agent of it)
LENA = "lena@support.example"


def answered_by(uow: FakeUnitOfWork, agent: str, at: datetime) -> Ticket:
    action = AgentAction(
        scope=EVERY_TEAM, agent=agent, reply="I am sorry. Your parcel leaves today."
    )
    return carry_out(action, "HD-7K3M9Q", uow=uow, config=CONFIG, now=at).ticket


def test_a_team_leads_reply_answers_the_complaint_and_the_report_counts_it_met() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")
    answered_at = COMPLAINED + timedelta(hours=1)

    stored = answered_by(uow, MARIA, answered_at)

    view = sla_view(stored)
    assert view["complaint_answered_at"] == answered_at.isoformat()
    assert view["complaint_due"] == DUE.isoformat()  # visible next to the answer
    assert "complaint" not in view["warnings"] + view["breaches"]
    [fact] = [
        f for f in uow.read_day(answered_at.date()).facts["target"] if f["clock"] == "complaint"
    ]
    assert fact["met"] is True


def test_the_assignees_reply_leaves_the_complaint_to_the_lead() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")

    stored = answered_by(uow, LENA, COMPLAINED + timedelta(hours=1))

    view = sla_view(stored)
    assert view["complaint_answered_at"] is None
    assert view["complaint_due"] == DUE.isoformat()


def test_a_complaint_after_the_lead_answered_starts_a_new_run_and_mails_again() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")
    answered_by(uow, MARIA, COMPLAINED + timedelta(minutes=10))

    again = COMPLAINED + timedelta(minutes=20)  # the same hour: a new run mails all the same
    stored = desk.complain("HD-7K3M9Q", "That did not help.", now=again, source="portal")

    view = sla_view(stored)
    assert view["complained_at"] == again.isoformat()
    assert view["complaint_answered_at"] is None
    assert view["complaint_due"] == (DUE + timedelta(minutes=20)).isoformat()
    last = [e for e in uow.events() if isinstance(e, ComplaintMade)][-1]
    assert last.notify is True


# ---------------------------------------------------------------------- the leads' mail
def test_the_teams_lead_is_mailed_the_words_the_thread_and_the_deadline_once() -> None:
    desk, uow = desk_with(open_ticket())
    uow.conversation["HD-7K3M9Q"] = [
        Message("m1", "HD-7K3M9Q", "in", "anna@example.com", OPENED, "Where is my order 1234?")
    ]
    desk.complain("HD-7K3M9Q", "Nobody answers <me>.", now=COMPLAINED, source="survey")
    notifier = fake_notifier(FakeRecords(uow), CONFIG)
    [made] = uow.events()

    notices.handle(made, notifier, now=COMPLAINED)
    notices.handle(made, notifier, now=COMPLAINED)  # redelivered: the same mail, once

    [mail] = notifier.mails()
    assert (mail.kind, mail.to, mail.ticket) == ("complaint", (MARIA,), "HD-7K3M9Q")
    assert mail.reply_to == "support+hd-7k3m9q@support.example"
    assert "[#HD-7K3M9Q]" in mail.subject and "Anna Schmidt" in mail.subject
    assert "> Nobody answers <me>." in mail.text
    assert "Where is my order 1234?" in mail.text  # the thread
    # Maria works in Berlin's office calendar: 15:00 there is 14:00 UTC.
    assert "15:00" in mail.text
    assert mail.html is not None and "Nobody answers &lt;me&gt;." in mail.html


def test_a_complaint_that_says_notify_false_mails_nobody() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "One", now=COMPLAINED, source="survey")
    desk.complain("HD-7K3M9Q", "Two", now=COMPLAINED, source="survey")
    notifier = fake_notifier(FakeRecords(uow), CONFIG)

    for event in uow.events():
        notices.handle(event, notifier, now=COMPLAINED)

    assert [m.text.count("> One") for m in notifier.mails()] == [1]


def test_the_lead_reads_the_complaint_in_their_own_language() -> None:
    config = CONFIG.model_copy(
        update={
            "agents": (
                *CONFIG.agents,
                CONFIG.agents[0].model_copy(
                    update={"email": MARIA, "name": "Maria", "languages": ("ru",)}
                ),
            )
        }
    )
    uow = FakeUnitOfWork(config)
    uow.add(open_ticket())
    ComplaintDesk(uow=uow, config=config, counters=FakeRecords(uow)).complain(
        "HD-7K3M9Q", "Никто не отвечает.", now=COMPLAINED, source="portal"
    )
    notifier = fake_notifier(FakeRecords(uow), config)

    notices.handle(uow.events()[0], notifier, now=COMPLAINED)

    [mail] = notifier.mails()
    assert "Жалоба" in mail.subject
    assert "со страницы обращения" in mail.text


# ---------------------------------------------------------------------- the sweep
def test_the_sla_sweep_warns_the_lead_then_reports_the_breach_of_an_unanswered_complaint() -> None:
    desk, uow = desk_with(open_ticket())
    answered_by(uow, LENA, COMPLAINED - timedelta(minutes=30))  # first response achieved
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")
    uow.bus.entries.clear()
    sweep = SlaSweep(uow=uow, repo=FakeRecords(uow), config=CONFIG)
    notifier = fake_notifier(FakeRecords(uow), CONFIG)
    # 80% (warn_at of the standard policy) of four business hours from 11:00 Berlin.
    warned_at = COMPLAINED + timedelta(hours=3, minutes=12)

    sweep.run(warned_at)
    [warning] = uow.events()
    notices.handle(warning, notifier, now=warned_at)

    assert isinstance(warning, SlaWarning)
    assert (warning.clock, warning.due) == ("complaint", DUE.isoformat())
    assert sla_view(uow.tickets["HD-7K3M9Q"])["warnings"] == ["complaint"]
    [warned] = notifier.mails()
    assert (warned.kind, warned.to) == ("warning", (MARIA,))
    assert "answer to the complaint" in warned.text

    uow.bus.entries.clear()
    sweep.run(DUE)
    [breach] = uow.events()
    assert isinstance(breach, SlaBreached)
    assert breach.clock == "complaint"
    assert sla_view(uow.tickets["HD-7K3M9Q"])["breaches"] == ["complaint"]
    assert uow.counters[DUE.date().isoformat()]["breach#clock#complaint"] == 1


def test_a_lead_who_is_an_agent_gets_no_more_complaint_mail_an_hour_than_any_lead() -> None:
    # A18-8: Omar leads tier2 and is an agent; the desk's mail to its staff is uncounted,
    # but complaint mail carries the words of whoever opened a ticket: its own counts
    # bind him as any lead (attack 16, F1: per complainer, then per lead).
    cap = CONFIG.complaints.lead_mails_per_hour
    tickets = [
        open_ticket(ref=f"HD-{n:06d}", team="tier2", contact_email=f"c@org{n}.example")
        for n in range(cap + 1)
    ]
    desk, uow = desk_with(*tickets)
    for n, each in enumerate(tickets):
        desk.complain(each.ref, f"Complaint {n}", now=COMPLAINED, source="portal")
    notifier = fake_notifier(FakeRecords(uow), CONFIG)

    for event in uow.events():
        notices.handle(event, notifier, now=COMPLAINED)

    to_omar = [m for m in notifier.mails() if m.to == ("omar@support.example",)]
    # All new contacts: theirs is half of the lead's hour (attack 17, F2).
    assert len(to_omar) == (cap + 1) // 2
    assert {m.kind for m in to_omar} == {"complaint"}


def test_a_complaint_whose_mail_the_leads_hourly_limit_holds_back_needs_attention() -> None:
    # A18-8: complaints from throw-away tickets (one contact each, each of a domain of its
    # own) spend the complaint mail Maria gets an hour; Anna's complaint right after is
    # taken, and her ticket is on Maria's list.
    from helpdesk.services.reports import needs_attention

    cap = CONFIG.complaints.lead_mails_per_hour
    thrown = [
        open_ticket(ref=f"HD-{n:06d}", contact_email=f"x@evil{n}.example") for n in range(cap)
    ]
    # Anna's ticket was solved (its clocks stopped): only her complaint can list it.
    desk, uow = desk_with(moved_to("solved", COMPLAINED - timedelta(minutes=30)), *thrown)
    for n, each in enumerate(thrown):
        desk.complain(each.ref, f"URGENT {n}", now=COMPLAINED, source="portal")
    annas = desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")
    notifier = fake_notifier(FakeRecords(uow), CONFIG)

    for event in uow.events():
        notices.handle(event, notifier, now=COMPLAINED)

    to_maria = [m for m in notifier.mails() if m.to == (MARIA,)]
    # Anna and the thrown tickets' contacts are all new: they share half of her hour.
    assert len(to_maria) == (cap + 1) // 2
    assert "HD-7K3M9Q" not in {m.ticket for m in to_maria}  # held back by the limit
    assert "complaint" in annas.flags
    attention = needs_attention([annas], now=COMPLAINED + timedelta(days=1))
    assert [(x.ref, x.clock) for x in attention] == [("HD-7K3M9Q", "complaint")]


def test_the_daily_count_of_complaints_is_per_mailbox_whatever_its_spelling() -> None:
    # Attack 3, F9: "mallory+1@", "Mallory+2@" ... are one inbox; their tickets' complaints
    # share the one daily count (helpdesk.mail.mailbox.mailbox_key), as every other
    # per-person counter does.
    limit = CONFIG.complaints.per_contact_per_day
    refs = [f"HD-{n:06d}" for n in range(limit + 1)]
    desk, uow = desk_with(
        *(
            open_ticket(ref=ref, contact_email=f"Mallory+{n}@Evil.example")
            for n, ref in enumerate(refs)
        )
    )
    for n, ref in enumerate(refs[:limit]):
        desk.complain(ref, f"Complaint {n}", now=COMPLAINED + timedelta(minutes=n), source="portal")

    with pytest.raises(RateLimited):
        desk.complain(refs[-1], "One more", now=COMPLAINED + timedelta(hours=1), source="portal")

    assert uow.messages(refs[-1]) == []
