"""A customer's complaint reaches the team lead, whoever else complains in the hour, and
the desk's own mail to a lead (escalations, warnings, alerts) never waits on a count that
customers spend (attack 16, F1: a stranger complaining on seventeen tickets of his own,
each within every cap, had the lead hear of neither a customer's complaint nor an SLA
breach for the rest of the hour)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from fakes import (
    CONFIG,
    MONDAY_MORNING,
    FakeMailer,
    FakeMailStore,
    FakeRecords,
    FakeSentMail,
    FakeUnitOfWork,
)
from helpdesk import events
from helpdesk.events import ComplaintMade
from helpdesk.notices import Notifier, handle
from helpdesk.services.complaints import ComplaintDesk
from helpdesk.services.form_intake import FormDesk
from helpdesk.services.portal import PortalDesk, page_token
from helpdesk_local.scenario import multipart_body

KEY = b"unit-test-signing-key"
NOW = MONDAY_MORNING
MARIA = "maria@support.example"  # leads general and billing; no agent


class Desk:
    """The form, the customer's page with its complaints, and the real notifier."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork(CONFIG)
        records = FakeRecords(self.uow)
        self.mailer = FakeMailer()
        self.notifier = Notifier(
            repo=records,
            mailer=self.mailer,
            config=CONFIG,
            signing_key=KEY,
            sent_mail=FakeSentMail(),
        )
        self.form = FormDesk(uow=self.uow, repo=records, config=CONFIG)
        self.page = PortalDesk(
            uow=self.uow,
            repo=records,
            store=FakeMailStore(),
            config=CONFIG,
            signing_key=KEY,
            complaints=lambda: ComplaintDesk(uow=self.uow, config=CONFIG, counters=records),
        )
        self.seen = 0

    def opened(self, email: str, n: int, at: datetime, ip: str) -> str:
        submission = f"s-{n}-{email}".replace("@", "-").replace(".", "-")
        body = json.dumps(
            {
                "name": "M",
                "email": email,
                "subject": f"Order {n}",
                "message": "Where is my order?",
                "submission_id": submission,
            }
        )
        return str(
            self.form.submit(body=body, content_type="application/json", source_ip=ip, now=at)[
                "ref"
            ]
        )

    def complain(self, ref: str, text: str, at: datetime, ip: str) -> int:
        """Complain on ``ref``'s page; the mails to Maria it led to."""
        before = self.to_maria()
        body, content_type = multipart_body(
            {"action": "complain", "submission": "c" * 32, "text": text}, ()
        )
        self.page.act(
            page_token(ref, now=at, config=CONFIG, key=KEY),
            body,
            content_type,
            source_ip=ip,
            now=at,
        )
        for event in self.uow.events()[self.seen :]:
            if isinstance(event, ComplaintMade):
                handle(event, self.notifier, now=at)
        self.seen = len(self.uow.events())
        return self.to_maria() - before

    def to_maria(self) -> int:
        return sum(1 for sent in self.mailer.sent if MARIA in sent.recipients)


def test_a_strangers_complaints_on_his_own_tickets_leave_the_lead_to_other_customers() -> None:
    desk = Desk()
    annas = desk.opened("anna@example.com", 0, NOW, "192.0.2.44")
    his = [
        desk.opened(f"m{n}@evil.example", n + 1, NOW + timedelta(minutes=n), "198.51.100.7")
        for n in range(17)
    ]

    flood = sum(
        desk.complain(
            ref, f"Call +1 555 0100 now ({n})", NOW + timedelta(minutes=20 + n), "198.51.100.7"
        )
        for n, ref in enumerate(his)
    )
    hers = desk.complain(
        annas, "Nobody has answered me.", NOW + timedelta(minutes=50), "192.0.2.44"
    )

    assert flood == CONFIG.complaints.lead_mails_per_sender_per_hour
    assert hers == 1


def test_the_desks_escalation_reaches_a_lead_whose_complaint_mail_is_spent() -> None:
    desk = Desk()
    annas = desk.opened("anna@example.com", 0, NOW, "192.0.2.44")
    cap = CONFIG.complaints.lead_mails_per_hour
    others = [
        desk.opened(f"c@org{n}.example", n + 1, NOW, f"192.0.2.{n % 200 + 1}")
        for n in range(cap + 1)
    ]
    taken = sum(
        desk.complain(ref, "Still nothing.", NOW + timedelta(minutes=5), f"192.0.2.{n % 200 + 1}")
        for n, ref in enumerate(others)
    )
    # New contacts' half of the lead's complaint mail of the hour is spent.
    assert taken == (cap + 1) // 2
    before = desk.to_maria()
    breached = events.SlaBreached(
        ref=annas,
        event_id="first_response:breach:x",
        kind_of_event="breach",
        clock="first_response",
        due=NOW.isoformat(),
        priority="normal",
        team="general",
        subject="Order 0",
        contact=events.EventContact(email="anna@example.com", name="Anna"),
        language="en",
        policy="standard",
    )

    handle(breached, desk.notifier, now=NOW + timedelta(minutes=1))

    assert desk.to_maria() == before + 1


def _breach(desk: Desk, ref: str) -> events.SlaBreached:
    """The first response breach of ``ref`` as the sweep publishes it."""
    ticket = desk.uow.tickets[ref]
    return events.SlaBreached(
        ref=ref,
        event_id=f"first_response:breach:{ref}",
        kind_of_event="breach",
        clock="first_response",
        due=NOW.isoformat(),
        priority="normal",
        team="general",
        subject=ticket.subject,
        contact=events.EventContact.of(ticket),
        language="en",
        policy="standard",
    )


def test_a_strangers_low_scores_and_breaches_leave_the_lead_to_other_customers() -> None:
    """Review 18, #1: the alerts and clock mail an outsider's own tickets raise carry his
    words; counted on the lead's own count, twenty of them spent it and a customer's breach
    never reached her. Counted by the ticket's organization, they stop at his share."""
    desk = Desk()
    annas = desk.opened("anna@example.com", 0, NOW, "192.0.2.44")
    his = [
        desk.opened(f"m{n}@evil.example", n + 1, NOW + timedelta(minutes=n), "198.51.100.7")
        for n in range(20)
    ]
    before = desk.to_maria()
    for n, ref in enumerate(his):
        at = NOW + timedelta(minutes=30 + n)
        low = events.SurveyAnswered(
            ref=ref, score=1, effort=5, comment="Call +1 555 0100", low=True,
            team="general", answered_at=at.isoformat(),
        )  # fmt: skip
        handle(low, desk.notifier, now=at)
        handle(_breach(desk, ref), desk.notifier, now=at)
    flood = desk.to_maria() - before

    handle(
        _breach(desk, annas),
        desk.notifier,
        now=NOW + timedelta(minutes=55),
    )

    assert flood == CONFIG.limits.lead_notices_per_sender_per_hour
    assert desk.to_maria() == before + flood + 1


def served(desk: Desk, ref: str) -> None:
    """``ref``'s contact is one the desk has served (one of her tickets was solved and she
    was asked about it), and ``ref`` shows it is hers: as if its opening had been her mail
    that SES authenticated (the form here proves no author; how an opening is judged is
    test_email_intake_on_fakes.py's)."""
    ticket = desk.uow.tickets[ref]
    desk.uow.contacts[ticket.contact_email].last_survey_at = NOW - timedelta(days=30)
    desk.uow.tickets[ref] = replace(ticket, opening_proven=True)


def test_a_customer_the_desk_served_reaches_the_lead_when_fresh_mailboxes_spent_the_hour() -> None:
    """Review 18, #2: ten free-mail mailboxes (one person's aliases) are ten complainers,
    and their thirty complaints spent the lead's complaint mail of the hour. A contact the
    desk has served is counted apart from the rest, each with half of the hour."""
    desk = Desk()
    annas = desk.opened("anna@example.com", 0, NOW - timedelta(days=8), "192.0.2.44")
    served(desk, annas)
    cap = CONFIG.complaints.lead_mails_per_hour
    per = CONFIG.complaints.lead_mails_per_sender_per_hour
    fresh = [
        desk.opened(f"x{n // per}@outlook.com", n + 1, NOW, f"198.51.100.{n % 200 + 1}")
        for n in range(cap + per)
    ]
    taken = sum(
        desk.complain(
            ref, "Still nothing.", NOW + timedelta(minutes=5), f"198.51.100.{n % 200 + 1}"
        )
        for n, ref in enumerate(fresh)
    )
    hers = desk.complain(annas, "Nobody has answered me.", NOW + timedelta(minutes=9), "192.0.2.44")

    assert taken == (cap + 1) // 2  # the whole hour is the cap: each standing has half
    assert hers == 1


def test_addresses_typed_at_her_domain_leave_a_served_customers_breach_to_reach_the_lead() -> None:
    """Attack 17, F1: ten forms typed as x0..x9@bigcorp.example spent bigcorp's hour, and
    Anna of bigcorp, served for a month, had her breach kept from the lead."""
    desk = Desk()
    annas = desk.opened("anna@bigcorp.example", 0, NOW - timedelta(days=30), "192.0.2.44")
    served(desk, annas)
    for n in range(12):
        ref = desk.opened(f"x{n}@bigcorp.example", n + 1, NOW, f"198.51.100.{n + 1}")
        handle(_breach(desk, ref), desk.notifier, now=NOW)
    before = desk.to_maria()

    handle(_breach(desk, annas), desk.notifier, now=NOW)

    assert before == CONFIG.limits.lead_notices_per_sender_per_hour
    assert desk.to_maria() == before + 1


def test_a_lead_gets_no_more_than_the_hours_notices_and_complaints_from_outsiders() -> None:
    """Attack 17, F2: the two standings each had the whole ceiling, so a lead got twice it."""
    desk = Desk()
    per_org = CONFIG.limits.lead_notices_per_sender_per_hour
    domains = CONFIG.limits.lead_notices_per_hour // per_org + 2
    for d in range(domains):
        for n in range(per_org):
            email = f"m{n}@d{d}.example"
            # Half of the domains the desk has served for a month, half it met today.
            since = NOW - timedelta(days=30) if d % 2 else NOW
            ref = desk.opened(email, d * 100 + n, since, f"198.51.{d}.{n + 1}")
            if d % 2:
                served(desk, ref)
            handle(_breach(desk, ref), desk.notifier, now=NOW)

    assert desk.to_maria() <= CONFIG.limits.lead_notices_per_hour


def test_forms_typed_in_a_served_customers_name_do_not_spend_her_share() -> None:
    """Attack 18, F3: the standing was read from whatever address a ticket named, so ten
    forms typed with Anna's own address spent her share, and her breach never came."""
    desk = Desk()
    annas = desk.opened("anna@bigcorp.example", 0, NOW - timedelta(days=30), "192.0.2.44")
    served(desk, annas)
    typed = [
        desk.opened("anna@bigcorp.example", n + 1, NOW - timedelta(hours=n), f"198.51.100.{n + 1}")
        for n in range(12)
    ]
    for ref in typed:
        handle(_breach(desk, ref), desk.notifier, now=NOW)
    before = desk.to_maria()

    handle(_breach(desk, annas), desk.notifier, now=NOW)

    assert before == CONFIG.limits.lead_notices_per_sender_per_hour
    assert desk.to_maria() == before + 1
