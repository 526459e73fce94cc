"""Team leads are staff (security review F6): a configured lead who is no agent (Maria
leads general and billing in infra/helpdesk.yaml) answers from her mailbox as an agent
does, when her mail is authenticated for her domain; she never holds a ticket."""

from __future__ import annotations

from datetime import timedelta

from test_email_intake_on_fakes import Desk, follow_up

from fakes import CONFIG, MONDAY_MORNING
from helpdesk.events import AgentReplied, CommandRejected

MARIA = "maria@support.example"
NOW = MONDAY_MORNING


def marias_mail(body: str, *, results: str) -> bytes:
    return follow_up(
        body,
        sender=f"Maria <{MARIA}>",
        message_id="<maria-1@support.example>",
        extra=f"Authentication-Results: amazonses.com; {results}\r\n",
    )


PASS = (
    f"spf=pass smtp.mailfrom={MARIA}; dkim=pass header.i=@support.example;"
    " dmarc=pass header.from=support.example"
)


def test_maria_leads_teams_but_is_no_agent_in_the_shipped_config() -> None:
    assert CONFIG.agent(MARIA) is None
    assert CONFIG.is_lead(MARIA) and CONFIG.is_staff(MARIA)
    assert not CONFIG.is_staff("anna@example.com")


def test_a_leads_authenticated_answer_goes_to_the_customer_and_assigns_nobody() -> None:
    desk = Desk()
    ticket = desk.opened()
    before = desk.uow.tickets[ticket.ref].assignee

    result = desk.deliver(
        "maria",
        marias_mail("Anna, your parcel left our warehouse today.", results=PASS),
        at=NOW + timedelta(minutes=30),
    )

    assert (result.outcome, result.ref) == ("appended", ticket.ref)
    assert len(desk.uow.tickets) == 1  # no ticket of Maria's own
    [answer] = [m for m in desk.uow.messages(ticket.ref) if m.direction == "out"]
    assert (answer.author, answer.text) == (MARIA, "Anna, your parcel left our warehouse today.")
    assert desk.uow.tickets[ticket.ref].assignee == before
    assert [type(e) for e in desk.uow.events() if isinstance(e, AgentReplied)] == [AgentReplied]


def test_a_lead_cannot_assign_a_ticket_to_herself_as_only_agents_hold_tickets() -> None:
    desk = Desk()
    ticket = desk.opened()

    result = desk.deliver("maria", marias_mail(f"#assign {MARIA}", results=PASS))

    assert result.outcome == "rejected"
    assert desk.uow.tickets[ticket.ref].assignee is None
    [refused] = [e for e in desk.uow.events() if isinstance(e, CommandRejected)]
    assert refused.agent == MARIA and "is not an agent" in refused.errors[0]


def test_a_leads_address_without_authentication_is_spoofed_and_acts_on_nothing() -> None:
    desk = Desk()
    ticket = desk.opened()

    result = desk.deliver(
        "forged",
        marias_mail(
            "#status solved\nAnna, forget it.",
            results="spf=pass smtp.mailfrom=evil.example; dkim=pass header.i=@evil.example;"
            " dmarc=fail header.from=support.example",
        ),
    )

    assert "spoofed" in result.suppressed
    assert desk.uow.tickets[ticket.ref].status == "new"
    assert [m.author for m in desk.uow.messages(ticket.ref)] == ["anna@example.com"]
