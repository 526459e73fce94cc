"""Team scope holds for agents' mail as it does in the agent API (attack 3, F8): an agent
acts by mail only on tickets of a team they work in or lead; otherwise nothing changes,
nothing reaches the customer, and they are told why."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from test_email_intake_on_fakes import AGENT_AUTHENTICATED, NOW, Desk, follow_up

from helpdesk.events import CommandRejected
from helpdesk.model import Ticket

OMAR = "omar@support.example"  # tier2, and its lead


def tier2_ticket(desk: Desk) -> Ticket:
    opened = desk.opened()
    moved = replace(opened, team="tier2", assignee=OMAR, status="open")
    desk.uow.tickets[opened.ref] = moved
    return moved


def agents_mail(ticket: Ticket, sender: str, body: str, message_id: str) -> bytes:
    return follow_up(
        body,
        sender=sender,
        subject=f"Re: [#{ticket.ref}] Where is my order?",
        message_id=message_id,
        extra=AGENT_AUTHENTICATED,
    )


def test_an_agents_mail_on_another_teams_ticket_changes_nothing_and_tells_him_why() -> None:
    desk = Desk()
    ticket = tier2_ticket(desk)
    wei = "Wei <wei@support.example>"  # team general only

    result = desk.deliver(
        "m2",
        agents_mail(ticket, wei, "#assign wei@support.example\nPlease send your password.",
                    "<wei-1@support.example>"),
        at=NOW + timedelta(minutes=20),
    )  # fmt: skip

    assert result.outcome == "rejected"
    after = desk.uow.tickets[ticket.ref]
    assert (after.team, after.assignee, after.status) == ("tier2", OMAR, "open")
    assert [m.direction for m in desk.uow.messages(ticket.ref)] == ["in"]
    rejected = desk.uow.events()[-1]
    assert isinstance(rejected, CommandRejected)
    assert rejected.agent == "wei@support.example"
    assert rejected.errors == [
        f"{ticket.ref} belongs to team tier2, which wei@support.example neither works in"
        " nor leads: nothing was changed or sent"
    ]


def test_the_teams_agent_and_lead_still_act_on_its_ticket_by_mail() -> None:
    desk = Desk()
    ticket = tier2_ticket(desk)

    result = desk.deliver(
        "m2",
        agents_mail(ticket, f"Omar <{OMAR}>", "#status pending\nThe tracking number, please?",
                    "<omar-1@support.example>"),
        at=NOW + timedelta(minutes=20),
    )  # fmt: skip

    assert result.outcome == "appended"
    assert desk.uow.tickets[ticket.ref].status == "pending"
    [reply] = [m for m in desk.uow.messages(ticket.ref) if m.direction == "out"]
    assert reply.text == "The tracking number, please?"
