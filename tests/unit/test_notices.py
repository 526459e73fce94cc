"""Notices on fakes: who hears about an event, in which language, and that each mail
leaves once, within its hourly limits (the local stack tests the DynamoDB records)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

import fakes
from fakes import CONFIG, mail_kind, with_limits
from helpdesk import events
from helpdesk.config import Config
from helpdesk.errors import TransientError
from helpdesk.model import AttachmentMeta, Message, Ticket
from helpdesk.notices import NOTICES, audience, handle
from helpdesk.notices import sla as sla_notices
from helpdesk.notices.outbound import LEASE, Claim, message_id_of
from helpdesk.notices.tickets import RELAY_ATTACHMENTS_MAX_BYTES

NOW = datetime(2026, 11, 23, 12, 7, tzinfo=UTC)
KEY = fakes.NOTICE_KEY


# ---------------------------------------------------------------------- fakes
def notice_desk(config: Config = CONFIG) -> fakes.NoticeDesk:
    """The notices over the fakes (fakes.NoticeDesk), events delivered at ``NOW``."""
    return fakes.NoticeDesk(config=config, at=NOW)


def ticket(**changes: Any) -> Ticket:
    """Anna's open ticket, Wei's."""
    open_for_wei = {"ref": "HD-AAAAAA", "status": "open", "assignee": "wei@support.example"}
    return fakes.ticket(**(open_for_wei | changes))


def sla_event(**changes: Any) -> dict[str, Any]:
    """The first response warning on Anna's ticket, Wei's."""
    return fakes.FIRST_RESPONSE_WARNING | {"assignee": "wei@support.example"} | changes


def opened(**changes: Any) -> dict[str, Any]:
    return {
        "ref": "HD-AAAAAA",
        "subject": "Where is my order?",
        "status": "new",
        "priority": "normal",
        "team": "general",
        "category": None,
        "language": "ru",
        "channel": "email",
        "tier": "standard",
        "policy": "standard",
        "contact": {"email": "anna@example.com", "name": "Anna Schmidt"},
        "created_at": "2026-11-23T08:55:00+00:00",
        "sla": {"first_response_due": "2026-11-23T12:55:00+00:00"},
        "flags": [],
        "notify": True,
        "message": {"message_id": "abc@mail.example"},
    } | changes


def status_changed(status: str, **changes: Any) -> dict[str, Any]:
    """Lena sets Anna's open ticket to ``status`` (its fourth version)."""
    return {
        "ref": "HD-AAAAAA",
        "status": status,
        "previous_status": "open",
        "by": "lena@support.example",
        "version": 4,
    } | changes


def text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.mark.parametrize("contact", [None, "anna@example.com", {"name": "Anna"}])
def test_an_opening_without_the_customers_address_fails_loudly_instead_of_vanishing(
    contact: Any,
) -> None:
    # Nobody to acknowledge: an error, so that Lambda retries it and the DLQ alarm fires,
    # rather than a send refused as an invalid recipient that nobody ever hears of.
    desk = notice_desk()
    with pytest.raises(ValueError, match="HD-AAAAAA: no address to acknowledge"):
        desk.on("TicketOpened", **opened(contact=contact))
    assert desk.mailer.parsed == []


# ---------------------------------------------------------------------- the dispatcher
def test_every_event_a_notice_follows_is_a_kind_of_the_bus() -> None:
    assert set(NOTICES) <= set(events.KINDS.values())


def test_every_notice_an_event_calls_for_is_sent_in_its_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A second notice on an event that has one (a 5/5 answer telling the assignee, beside
    # the low-score alert) is one more entry in its tuple (docs/ARCHITECTURE.md, "Add a
    # notice"; nextdev 12, #2).
    heard: list[str] = []
    monkeypatch.setitem(
        NOTICES,
        events.PageLinksRequested,
        (lambda *_: heard.append("first"), lambda *_: heard.append("second")),
    )
    asked = events.PageLinksRequested(ref="", email="anna@example.com", base_url="", at="")

    handle(asked, notice_desk().notifier, now=NOW)

    assert heard == ["first", "second"]


def test_a_notice_of_a_kind_compose_does_not_know_fails_on_the_fakes_too() -> None:
    # Compose refuses it at send time, which the fakes never reach: a new notice whose kind
    # was not added to MAIL_KINDS passed every unit test (nextdev 12, #3).
    from helpdesk.render import RenderedMail

    notifier = fakes.fake_notifier(fakes.FakeRecords(fakes.FakeUnitOfWork(CONFIG)), CONFIG)
    rendered = RenderedMail(subject="Thank you", text="Thank you.", html="<p>Thank you.</p>")

    with pytest.raises(ValueError, match="'praise' is not a mail kind"):
        notifier.mail("praise", "HD-AAAAAA", ("lena@support.example",), rendered)


def test_an_event_no_notice_follows_mails_nobody() -> None:
    desk = notice_desk()
    desk.on("TeamChanged", ref="HD-AAAAAA", team="billing", previous_team="general")
    desk.on("CapacityFreed", ref="HD-AAAAAA", agent="lena@support.example", teams=["general"])
    assert desk.mailer.parsed == []


def test_a_new_ticket_is_acknowledged_once_in_the_customers_language_under_their_mail() -> None:
    desk = notice_desk()
    desk.on("TicketOpened", **opened())
    desk.on("TicketOpened", **opened())  # the bus delivers at least once

    [(mail, to)] = desk.mailer.parsed
    assert to == ["anna@example.com"]
    assert mail["Subject"].startswith("[#HD-AAAAAA]") or "[#HD-AAAAAA]" in mail["Subject"]
    assert mail["In-Reply-To"] == "<abc@mail.example>"
    assert mail["Reply-To"] == "support+hd-aaaaaa@support.example"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert "13:55" in text(mail)  # 12:55 UTC in Berlin, the policy's calendar
    assert text(mail) != "" and any("\u0400" <= c <= "\u04ff" for c in text(mail))  # Russian


def test_a_ticket_intake_chose_not_to_answer_gets_no_acknowledgement() -> None:
    desk = notice_desk()
    desk.on("TicketOpened", **opened(notify=False))
    assert desk.mailer.parsed == []


def test_a_customer_in_a_language_the_desk_does_not_serve_reads_the_desks_first() -> None:
    assert audience.customer_language("de", CONFIG) == "en"
    assert audience.customer_language("zh", CONFIG) == "zh"
    assert audience.customer_language(None, CONFIG) == "en"


# ---------------------------------------------------------------------- who hears
@pytest.mark.parametrize(
    ("assignee", "expected"),
    [("lena@support.example", ("lena@support.example",)), (None, ("maria@support.example",))],
)
def test_a_warning_goes_to_the_assignee_or_else_to_the_team_lead(
    assignee: str | None, expected: tuple[str, ...]
) -> None:
    assert audience.warning_recipients(assignee, "general", CONFIG) == expected


def test_a_breach_reaches_the_teams_lead_and_the_assignee_once_each() -> None:
    assert audience.escalation_recipients("omar@support.example", "general", "tier2", CONFIG) == (
        "maria@support.example",
        "omar@support.example",
    )
    # The lead of the team it moves to hears from route, unless they hold it or were told.
    assert audience.new_team_leads(
        "tier2", holder=None, told=("maria@support.example",), config=CONFIG
    ) == ("omar@support.example",)
    assert (
        audience.new_team_leads("tier2", holder="omar@support.example", told=(), config=CONFIG)
        == ()
    )


def test_agents_read_in_their_first_language_and_everyone_else_in_the_desks() -> None:
    assert audience.reader_language("wei@support.example", CONFIG) == "zh"
    assert audience.reader_language("lena@support.example", CONFIG) == "en"
    assert audience.reader_language("maria@support.example", CONFIG) == "en"


def test_a_team_without_a_lead_hands_its_news_to_every_lead_once() -> None:
    assert audience.every_lead(CONFIG) == ("maria@support.example", "omar@support.example")
    assert audience.leads_or_every_lead("gone", CONFIG) == audience.every_lead(CONFIG)
    assert audience.leads_or_every_lead("tier2", CONFIG) == ("omar@support.example",)


# ---------------------------------------------------------------------- SLA notices
def test_a_warning_reaches_the_assignee_in_their_language_with_the_office_time() -> None:
    desk = notice_desk()
    desk.on("SlaWarning", **sla_event())

    [(mail, to)] = desk.mailer.parsed
    assert (mail_kind(mail), to) == ("warning", ["wei@support.example"])
    assert "[#HD-AAAAAA]" in mail["Subject"]
    assert "2026年11月23日" in text(mail) and "13:55 柏林时间" in text(mail)  # Berlin, not UTC
    assert mail["Reply-To"] == "support+hd-aaaaaa@support.example"


def test_an_unassigned_ticket_warns_the_team_lead_in_the_desks_language() -> None:
    desk = notice_desk()
    desk.on("SlaWarning", **sla_event(assignee=None))

    [(mail, to)] = desk.mailer.parsed
    assert to == ["maria@support.example"]
    assert "Monday, 23 November 2026, 13:55 Berlin time" in text(mail)


def test_a_breach_tells_each_lead_and_the_assignee_once_where_the_ticket_went() -> None:
    desk = notice_desk()
    breach = sla_event(kind="breach", new_team="tier2", assignee="lena@support.example")
    desk.on("SlaBreached", **breach)
    desk.on("SlaBreached", **breach)  # republished after a crash of the sweep

    mails = {to[0]: mail for mail, to in desk.mailer.parsed}
    # The tier-2 lead hears from route, once it knows who takes the ticket (below).
    assert sorted(mails) == ["lena@support.example", "maria@support.example"]
    assert len(desk.mailer.parsed) == 2
    for mail in mails.values():
        assert mail_kind(mail) == "escalation"
        assert "escalated to tier2" in text(mail)
        assert "Lena (lena@support.example)" in text(mail)
        assert "Anna Schmidt" in text(mail)


def test_the_agent_who_held_an_escalated_ticket_reads_that_it_left_them_not_the_leads_to_do() -> (
    None
):
    desk = notice_desk()
    desk.on(
        "SlaBreached", **sla_event(kind="breach", new_team="tier2", assignee="lena@support.example")
    )

    mails = {to[0]: text(mail) for mail, to in desk.mailer.parsed}
    assert "nothing more for you to do on it" in mails["lena@support.example"]
    assert "Team lead" not in mails["lena@support.example"]
    assert "#assign" not in mails["lena@support.example"]
    assert "Team lead, please make sure someone takes it" in mails["maria@support.example"]


def test_an_agent_whose_ticket_is_overdue_and_stays_is_asked_to_answer_it_now() -> None:
    desk = notice_desk()
    desk.on("SlaBreached", **sla_event(kind="breach", assignee="wei@support.example"))

    mails = {to[0]: text(mail) for mail, to in desk.mailer.parsed}
    assert "请立即回复" in mails["wei@support.example"]
    assert "Team lead, please check with Wei" in mails["maria@support.example"]


def escalated(**changes: Any) -> events.TicketEscalated:
    """Route's view of the escalation of Lena's ticket from general to tier2."""
    detail = {
        "ref": "HD-AAAAAA",
        "event_id": "first_response:breach:2026-11-23T12:55:00+00:00",
        "team": "tier2",
        "previous_team": "general",
        "reason": "sla_breach",
        "clock": "first_response",
        "assignee": "lena@support.example",
        "priority": "normal",
        "status": "new",
        "category": None,
        "language": "en",
        "channel": "email",
        "tier": "standard",
        "subject": "Where is my order?",
        "contact": {"email": "anna@example.com", "name": "Anna Schmidt"},
    } | changes
    event = events.parse("TicketEscalated", detail)
    assert isinstance(event, events.TicketEscalated)
    return event


def test_the_new_teams_lead_who_takes_the_escalated_ticket_gets_no_second_mail() -> None:
    desk = notice_desk()
    desk.add(ticket(assignee="omar@support.example", team="tier2"))
    sla_notices.escalated(desk.notifier, escalated(), holder="omar@support.example", now=NOW)
    assert desk.mailer.parsed == []


def test_the_new_teams_lead_hears_of_an_escalated_ticket_someone_else_took_or_nobody() -> None:
    desk = notice_desk()
    desk.add(ticket(assignee=None, team="tier2"))
    sla_notices.escalated(desk.notifier, escalated(), holder=None, now=NOW)
    sla_notices.escalated(desk.notifier, escalated(), holder=None, now=NOW)  # redelivered
    [(mail, to)] = desk.mailer.parsed
    assert (mail_kind(mail), to) == ("escalation", ["omar@support.example"])
    assert "escalated to tier2" in text(mail)
    assert "Assignee:   nobody" in text(mail)


def test_a_lead_of_both_teams_hears_of_an_escalation_once() -> None:
    desk = notice_desk()
    desk.add(ticket(assignee=None, team="billing"))
    breach = sla_event(kind="breach", team="general", new_team="billing", assignee=None)
    desk.on("SlaBreached", **breach)
    moved = escalated(team="billing", assignee=None)
    sla_notices.escalated(desk.notifier, moved, holder=None, now=NOW)
    assert [to for _, to in desk.mailer.parsed] == [["maria@support.example"]]


def test_an_escalation_is_told_from_the_event_alone_without_reading_the_ticket_again() -> None:
    # The event carries its due and policy (events.py: each event carries what its
    # consumers need); the notice used to parse them out of event_id and read the ticket.
    desk = notice_desk()  # no ticket in the store: a read would fail
    event = escalated(due="2026-11-23T12:55:00+00:00", policy="standard")
    sla_notices.escalated(desk.notifier, event, holder=None, now=NOW)
    [(mail, to)] = desk.mailer.parsed
    assert to == ["omar@support.example"]
    assert "13:55" in text(mail)  # 12:55 UTC, in the policy's calendar zone (Berlin)


def test_an_escalation_from_the_previous_release_still_finds_its_due_and_policy() -> None:
    desk = notice_desk()
    desk.add(ticket(assignee=None, team="tier2"))
    sla_notices.escalated(desk.notifier, escalated(), holder=None, now=NOW)
    [(mail, _)] = desk.mailer.parsed
    assert "13:55" in text(mail)


# ---------------------------------------------------------------------- survey notices
def survey_answer(score: int, **changes: Any) -> dict[str, Any]:
    return {
        "ref": "HD-AAAAAA",
        "score": score,
        "effort": 4,
        "comment": "Nobody answered for days.",
        "low": score in (1, 2),
        "team": "general",
        "answered_at": NOW.isoformat(),
    } | changes


def test_a_low_score_alerts_the_teams_lead_once_however_often_it_is_resubmitted() -> None:
    desk = notice_desk()
    desk.add(ticket(status="solved"))
    desk.on("SurveyAnswered", **survey_answer(1))
    desk.on("SurveyAnswered", **survey_answer(2))

    [(mail, to)] = desk.mailer.parsed
    assert (mail_kind(mail), to) == ("alert", ["maria@support.example"])
    assert "Nobody answered for days." in text(mail)


def test_a_low_score_on_a_team_without_a_lead_reaches_every_lead() -> None:
    desk = notice_desk()
    desk.add(ticket(team="gone"))
    desk.on("SurveyAnswered", **survey_answer(1, team="gone"))

    assert sorted(to[0] for _, to in desk.mailer.parsed) == [
        "maria@support.example",
        "omar@support.example",
    ]


def test_a_fair_score_alerts_nobody() -> None:
    desk = notice_desk()
    desk.add(ticket())
    desk.on("SurveyAnswered", **survey_answer(3))
    assert desk.mailer.parsed == []


# ---------------------------------------------------------------------- ticket notices
def customer_mail(ref: str = "HD-AAAAAA", message_id: str | None = "m1@mail.example") -> Message:
    return Message(
        id="01",
        ticket=ref,
        direction="in",
        author="anna@example.com",
        at=NOW - timedelta(hours=1),
        text="Where is it?",
        message_id=message_id,
    )


def test_a_relayed_reply_is_a_persons_answer_threaded_under_the_customers_mail() -> None:
    desk = notice_desk()
    desk.add(ticket(participants=["bob@example.com"]), customer_mail())
    desk.on(
        "AgentReplied",
        ref="HD-AAAAAA",
        **{"from": "lena@support.example"},
        message="",
        text="It ships today.",
    )

    [(mail, to)] = desk.mailer.parsed
    assert to == ["anna@example.com", "bob@example.com"]
    assert mail["From"].addresses[0].display_name == "Lena via Example Support"
    assert mail["In-Reply-To"] == "<m1@mail.example>"
    assert mail["Auto-Submitted"] is None  # a person's answer, not an automatic one
    assert "It ships today." in text(mail)


def test_a_reply_that_solves_the_ticket_is_the_customers_one_mail_about_it() -> None:
    desk = notice_desk()
    desk.add(ticket(status="solved"), customer_mail())
    desk.on(
        "AgentReplied",
        ref="HD-AAAAAA",
        **{"from": "wei@support.example"},
        message="",
        text="It ships today.",
        status="solved",
        previous_status="open",
    )
    desk.on(
        "StatusChanged",
        **status_changed("solved", by="wei@support.example", version=3, in_reply=True),
    )
    [(mail, to)] = desk.mailer.parsed
    assert (mail_kind(mail), to) == ("reply", ["anna@example.com"])
    assert "It ships today." in text(mail)
    assert "We consider your request solved" in text(mail)


def test_a_relayed_reply_carries_the_agents_files_within_what_one_mail_may_hold() -> None:
    store = fakes.FakeMailStore({"attachments/k/1-label.pdf": b"%PDF label"})
    desk = notice_desk()
    reply = Message(
        id="r1",
        ticket="HD-AAAAAA",
        direction="out",
        author="wei@support.example",
        at=NOW,
        text="",
        attachments=(
            AttachmentMeta("label.pdf", "application/pdf", 10, key="attachments/k/1-label.pdf"),
            AttachmentMeta(
                "logo.png", "image/png", 99, key="attachments/k/2-logo.png", inline=True
            ),
            AttachmentMeta(
                "film.mp4", "video/mp4", RELAY_ATTACHMENTS_MAX_BYTES + 1, key="attachments/k/3"
            ),
            AttachmentMeta(
                "huge.iso", "application/x-iso9660-image", 20_000_000, dropped="too_large"
            ),
            AttachmentMeta("gone.pdf", "application/pdf", 5, key="attachments/k/5-gone.pdf"),
        ),
    )
    desk.add(ticket(), customer_mail(), reply)
    notifier = replace(desk.notifier, mail_store=store)
    event = events.parse(
        "AgentReplied", {"ref": "HD-AAAAAA", "from": "wei@support.example", "message": "r1"}
    )
    assert event is not None
    handle(event, notifier, now=NOW)

    [(mail, _)] = desk.mailer.parsed
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert files == {"label.pdf": b"%PDF label"}
    assert "attached file" in text(mail)
    # Those too large for one mail are named, so the customer knows to ask.
    assert "film.mp4" in text(mail) and "huge.iso" in text(mail)
    assert "gone.pdf" in text(mail)  # no longer in the bucket: named, and the reply goes
    assert "logo.png" not in text(mail)


def test_a_solved_web_form_ticket_threads_its_notice_under_the_acknowledgement() -> None:
    desk = notice_desk()
    desk.add(ticket(channel="form"), customer_mail(message_id=None))
    desk.on("TicketOpened", **opened(message={}, language="en", channel="form"))
    [(acknowledgement, _)] = desk.mailer.parsed

    desk.on("StatusChanged", **status_changed("solved"))

    [_, (notice, to)] = desk.mailer.parsed
    assert (mail_kind(notice), to) == ("notification", ["anna@example.com"])
    assert notice["In-Reply-To"] == acknowledgement["Message-ID"]


@pytest.mark.parametrize("flag", ["forged", "spam", "auto_reply"])
def test_a_ticket_that_does_not_show_who_wrote_it_tells_nobody_it_was_solved(flag: str) -> None:
    # Attack 18, F2: an agent solving a forgery in Anna's name mailed her the lure subject
    # with working links; the desk answers none of these on its own.
    desk = notice_desk()
    desk.add(ticket(flags=[flag]), customer_mail())

    for status in ("pending", "solved"):
        desk.on("StatusChanged", **status_changed(status))

    assert desk.mailer.parsed == []


def test_status_changes_stop_mailing_a_customer_at_the_tickets_hourly_limit() -> None:
    desk = notice_desk(config=with_limits(outbound_per_ticket_per_hour=2))
    desk.add(ticket(), customer_mail())
    for version in range(1, 6):
        status = "pending" if version % 2 else "solved"
        desk.on("StatusChanged", **status_changed(status, version=version))
    assert len(desk.mailer.parsed) == 2
    desk.on("StatusChanged", NOW + timedelta(hours=1), **status_changed("solved", version=9))
    assert len(desk.mailer.parsed) == 3  # the next hour counts anew


def test_an_open_status_tells_the_customer_nothing() -> None:
    desk = notice_desk()
    desk.add(ticket(), customer_mail())
    desk.on("StatusChanged", **status_changed("open", previous_status="new", version=2))
    assert desk.mailer.parsed == []


def test_a_rejected_command_is_explained_to_the_agent_in_their_language() -> None:
    desk = notice_desk()
    desk.on(
        "CommandRejected",
        ref="HD-AAAAAA",
        agent="wei@support.example",
        errors=["#status: unknown status 'done'"],
        commands=["#status done"],
        key="k1",
        message_id="agent-1@support.example",
    )
    [(mail, to)] = desk.mailer.parsed
    assert (mail_kind(mail), to) == ("error", ["wei@support.example"])
    assert mail["In-Reply-To"] == "<agent-1@support.example>"
    assert "#status done" in text(mail)


def test_an_assignment_by_a_colleague_reaches_the_agent_only_while_they_hold_it() -> None:
    desk = notice_desk()
    desk.add(ticket(assignee="lena@support.example"), customer_mail())
    desk.on(
        "TicketAssigned",
        ref="HD-AAAAAA",
        agent="wei@support.example",
        by="lena@support.example",
        version=3,
    )
    assert desk.mailer.parsed == []  # reassigned again since: the later event tells the later agent
    desk.on(
        "TicketAssigned",
        ref="HD-AAAAAA",
        agent="lena@support.example",
        by="omar@support.example",
        version=4,
    )
    [(mail, to)] = desk.mailer.parsed
    assert (mail_kind(mail), to) == ("assignment", ["lena@support.example"])
    assert "Where is it?" in text(mail)


# ---------------------------------------------------------------------- sending once
def _limits(outbound: int, acknowledgements: int = 3) -> Config:
    """The config with ``outbound`` mails an hour per address, ``acknowledgements`` of them
    acknowledgements that intake caps on their own."""
    return with_limits(
        outbound_per_recipient_per_hour=outbound,
        acknowledgements_per_sender_per_hour=acknowledgements,
    )


def test_a_customer_gets_no_more_mail_in_an_hour_than_the_recipient_limit() -> None:
    # 5 an hour, 3 of them kept for the acknowledgements intake caps: the recipient's own
    # count holds the other 2 (here acknowledgements of the release before, counted there).
    desk = notice_desk(config=_limits(5))
    for n in range(4):
        desk.on("TicketOpened", **opened(ref=f"HD-AAAAA{'BCDE'[n]}"))
    assert len(desk.mailer.parsed) == 2
    # A mail held back claimed nothing: the next hour sends it.
    desk.on("TicketOpened", NOW + timedelta(hours=1), **opened(ref="HD-AAAAAD"))
    assert len(desk.mailer.parsed) == 3


def test_the_recipient_limit_counts_one_mailbox_however_its_address_is_spelled() -> None:
    # Review attack 3, F3: `victim+1@`, `Victim+2@` ... reach one inbox; each spelling
    # used to start its own count.
    desk = notice_desk(config=_limits(5))
    spellings = [
        "anna+1@example.com",
        "Anna+2@Example.com",
        "anna+3@example.com",
        "anna@example.com",
    ]
    for n, address in enumerate(spellings):
        desk.on(
            "TicketOpened",
            **opened(ref=f"HD-AAAAA{'BCDE'[n]}", contact={"email": address, "name": "Anna"}),
        )
    assert [to for _, to in desk.mailer.parsed] == [["anna+1@example.com"], ["Anna+2@Example.com"]]


def test_an_address_gets_its_hourly_limit_in_all_with_the_capped_acknowledgements() -> None:
    # Intake counts an acknowledgement in the sender's hourly caps (at most
    # acknowledgements_per_sender_per_hour per mailbox) and says so on TicketOpened: the
    # acknowledgement is not counted a second time (a plain claim, 1 write unit, instead
    # of a transaction with the count, 4), and the recipient's own count keeps the rest of
    # the hour for every other mail. 5 in all: 3 acknowledgements, 2 others.
    desk = notice_desk(config=_limits(5))
    for n in range(3):
        desk.on(
            "TicketOpened",
            **opened(
                ref=f"HD-AAAAA{'BCD'[n]}",
                acknowledgement_counted=True,
                created_at="2026-11-23T12:05:00+00:00",  # in the hour it goes out
            ),
        )
    assert len(desk.mailer.parsed) == 3
    assert not [scope for scope, _ in desk.sent_mail.counts if scope.startswith("OUT#")]
    for n in range(3):
        desk.on("TicketOpened", **opened(ref=f"HD-AAAAB{'BCD'[n]}"))
    assert len(desk.mailer.parsed) == 5
    assert [to for _, to in desk.mailer.parsed] == [["anna@example.com"]] * 5


def test_an_acknowledgement_sent_in_a_later_hour_than_intake_counted_it_counts_again() -> None:
    # Intake counted it at 11:59 in its caps; it goes out at 12:07, in an hour whose own
    # count never saw it (attack 4, F1): counted there as any mail.
    desk = notice_desk(config=_limits(5))
    desk.on(
        "TicketOpened",
        **opened(acknowledgement_counted=True, created_at="2026-11-23T11:59:00+00:00"),
    )
    assert len(desk.mailer.parsed) == 1
    assert [scope for scope, _ in desk.sent_mail.counts] == ["OUT#anna@example.com"]


def test_mail_to_agents_is_not_held_back_by_the_recipient_limit() -> None:
    desk = notice_desk(config=_limits(4))
    for due in ("12:55", "13:55", "14:55"):
        desk.on("SlaWarning", **sla_event(due=f"2026-11-23T{due}:00+00:00"))
    assert len(desk.mailer.parsed) == 3


def test_a_mail_ses_refused_is_sent_by_the_retry() -> None:
    desk = notice_desk()
    desk.mailer.fail_next = 1
    with pytest.raises(TransientError):
        desk.on("TicketOpened", **opened())
    desk.on("TicketOpened", **opened())
    assert len(desk.mailer.parsed) == 1


def test_a_delivery_meeting_anothers_claim_waits_then_sends_once_the_lease_ran_out() -> None:
    desk = notice_desk()
    # Another container claimed the acknowledgement and died before SES answered.
    message_id = message_id_of(
        "HD-AAAAAA", "acknowledgement", "first", domain="support.example", message_id_key=KEY
    )
    desk.sent_mail.claim(
        Claim(
            message_id,
            "HD-AAAAAA",
            "acknowledgement",
            "first",
            ("anna@example.com",),
            attempt="crashed",
            lease_until=NOW + LEASE,
        ),
        (),
        replacing=None,
    )

    with pytest.raises(TransientError, match="another delivery is sending it"):
        desk.on("TicketOpened", NOW + LEASE - timedelta(seconds=1), **opened())
    desk.on("TicketOpened", NOW + LEASE + timedelta(seconds=1), **opened())
    desk.on("TicketOpened", NOW + 2 * LEASE, **opened())

    [(mail, _)] = desk.mailer.parsed
    assert mail["Message-ID"] == f"<{message_id}>"


def test_a_leads_report_goes_out_though_their_hourly_limit_is_spent() -> None:
    # A18-8: complaints from throw-away tickets can spend a lead's hourly limit in the one
    # hour the report is due; the report lists the complaints whose mail the limit held.
    from helpdesk.clock import hour_window
    from helpdesk.notices import reports
    from helpdesk.render import RenderedMail

    desk = notice_desk()
    lead = "maria@support.example"
    desk.sent_mail.counts[f"OUT#{lead}", hour_window(NOW)] = (
        CONFIG.limits.outbound_per_recipient_per_hour
    )
    rendered = RenderedMail(
        subject="Daily report", text="Needs attention now: 1\n", html="<p>1</p>"
    )

    assert reports.report(desk.notifier, lead, "daily-2026-11-22", rendered, now=NOW)
    assert not reports.report(desk.notifier, lead, "daily-2026-11-22", rendered, now=NOW)

    [(_, to)] = desk.mailer.parsed
    assert to == [lead]


@pytest.mark.parametrize(
    "agent, language_line, priority_line",
    [
        ("wei@support.example", "语言：        俄语", "优先级：      普通"),
        ("lena@support.example", "Language:        Russian", "Priority:        normal"),
    ],
)
def test_an_assignment_names_the_customers_language_in_the_agents_words(
    agent: str, language_line: str, priority_line: str
) -> None:
    desk = notice_desk()
    desk.add(ticket(assignee=agent, language="ru"), customer_mail())

    desk.on("TicketAssigned", ref="HD-AAAAAA", agent=agent, by="routing", version=3)

    [(mail, _)] = desk.mailer.parsed
    assert language_line in text(mail)
    assert priority_line in text(mail)
    html = mail.get_body(("html",))
    assert html is not None
    assert language_line.rsplit(maxsplit=1)[-1] in str(html.get_content())
