"""Team scope holds for agents' mail as it does in the agent API (attack 3, F8): an agent
acts by mail only on tickets of a team they work in or lead; otherwise nothing changes,
nothing reaches the customer, and they are told why."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from test_email_intake_on_fakes import AGENT_AUTHENTICATED, NOW, Desk, follow_up

from fakes import CONFIG
from helpdesk.events import CommandRejected
from helpdesk.model import Ticket
from helpdesk.services.commands import EVERY_TEAM, AgentAction, TicketEdit, carry_out

OMAR = "omar@support.example"  # tier2, and its lead
LENA = "lena@support.example"  # general and billing


def tier2_ticket(desk: Desk) -> Ticket:
    opened = desk.opened()
    moved = replace(opened, team="tier2", assignee=OMAR, status="open")
    desk.uow.tickets[opened.ref] = moved
    return moved


def general_ticket(desk: Desk, **changes: object) -> Ticket:
    """A new ticket of team general, with ``changes``, on the desk."""
    opened = desk.opened()  # team general
    changed = replace(opened, **changes)  # type: ignore[arg-type]
    desk.uow.tickets[opened.ref] = changed
    return changed


def moved_to_tier2_meanwhile(desk: Desk, ref: str) -> None:
    """Maria, the lead, moves ``ref`` to tier2 right after the next action read it."""
    lead = AgentAction(
        scope=EVERY_TEAM, agent="maria@support.example", edit=TicketEdit(team="tier2")
    )
    desk.uow.meanwhile.append(lambda: carry_out(lead, ref, uow=desk.uow, config=CONFIG, now=NOW))


def refused(desk: Desk, ticket: Ticket, outcome: str) -> tuple[Ticket, CommandRejected]:
    """After an agent's mail the desk refused: nothing reached the customer (only the
    customer's own message is on the ticket); the ticket as it stands and the refusal."""
    assert outcome == "rejected"
    assert [m.direction for m in desk.uow.messages(ticket.ref)] == ["in"]
    rejected = desk.uow.events()[-1]
    assert isinstance(rejected, CommandRejected)
    return desk.uow.tickets[ticket.ref], rejected


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

    after, rejected = refused(desk, ticket, result.outcome)
    assert (after.team, after.assignee, after.status) == ("tier2", OMAR, "open")
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


def test_a_colleague_of_another_team_may_still_leave_a_note_and_nothing_more() -> None:
    # A note is internal: it changes nothing and reaches only the desk (the assignee's
    # mail), as tests/scenarios/conversation_agents_hear_their_customers.yaml shows Omar
    # (tier2) helping on a general ticket. A note with a command is refused whole.
    desk = Desk()
    ticket = desk.opened()  # team general
    omar = f"Omar <{OMAR}>"

    noted = desk.deliver(
        "m2",
        agents_mail(ticket, omar, "#note\nThree more cracked lids from this batch.",
                    "<omar-2@support.example>"),
    )  # fmt: skip
    commanded = desk.deliver(
        "m3",
        agents_mail(ticket, omar, "#priority urgent\n#note\nUrgent, I think.",
                    "<omar-3@support.example>"),
    )  # fmt: skip

    assert (noted.outcome, commanded.outcome) == ("appended", "rejected")
    assert [(m.direction, m.text) for m in desk.uow.messages(ticket.ref)][1:] == [
        ("note", "Three more cracked lids from this batch.")
    ]
    assert desk.uow.tickets[ticket.ref].priority == "normal"


def test_a_note_from_another_team_leaves_a_robots_ticket_waiting_for_review() -> None:
    # Re-attack 3, N4: such a note counted as "a person at work on the ticket" and moved an
    # auto-reply's ticket into the team's backlog, out of the quiet-period sweep.
    desk = Desk()
    robots = general_ticket(desk, flags=["auto_reply"])

    noted = desk.deliver(
        "m2",
        agents_mail(robots, f"Omar <{OMAR}>", "#note\nLooks like an out-of-office.",
                    "<omar-4@support.example>"),
    )  # fmt: skip

    assert noted.outcome == "appended"
    assert desk.uow.tickets[robots.ref].flags == ["auto_reply"]


# ------------------------------------------------------------------ attack 9


def test_assigning_an_agent_outside_the_tickets_team_by_mail_is_refused_and_told() -> None:
    # Attack 9, F1: Omar (tier2 only) would get the customer's mail of a general ticket he
    # may neither read nor answer, and no team's queue would list it.
    desk = Desk()
    ticket = general_ticket(desk, assignee="wei@support.example", status="open")

    result = desk.deliver(
        "m2",
        agents_mail(ticket, "Wei <wei@support.example>", "#assign Omar\nOmar knows this one.",
                    "<wei-2@support.example>"),
        at=NOW + timedelta(minutes=20),
    )  # fmt: skip

    after, rejected = refused(desk, ticket, result.outcome)
    assert (after.team, after.assignee) == ("general", "wei@support.example")
    assert rejected.errors == [
        f"#assign Omar: {OMAR} does not work in team general, where the ticket would be:"
        " assign one of its agents (lena@support.example, wei@support.example)"
    ]
    assert rejected.said[0]["key"] == "not_in_team"


def test_moving_a_ticket_away_by_mail_while_keeping_it_is_refused() -> None:
    # Attack 9, F1: "#team tier2" and "#assign" herself: Lena would keep getting its mail.
    desk = Desk()
    ticket = general_ticket(desk, assignee=LENA, status="open")

    result = desk.deliver(
        "m2",
        agents_mail(ticket, f"Lena <{LENA}>", "#team tier2\n#assign Lena",
                    "<lena-2@support.example>"),
        at=NOW + timedelta(minutes=20),
    )  # fmt: skip

    after, rejected = refused(desk, ticket, result.outcome)
    assert (after.team, after.assignee) == ("general", LENA)
    assert rejected.errors == [
        f"#assign Lena: {LENA} does not work in team tier2, where the ticket would be:"
        f" assign one of its agents ({OMAR})"
    ]


def test_a_mail_that_lost_the_race_to_a_move_to_another_team_is_refused_whole() -> None:
    # Attack 9, F2: the scope was read before the commit; the lead's move to tier2 lands
    # first, and the agent's mail is decided again on the moved ticket: out of her scope.
    desk = Desk()
    ticket = general_ticket(desk, assignee=LENA, status="open")
    moved_to_tier2_meanwhile(desk, ticket.ref)

    result = desk.deliver(
        "m2",
        agents_mail(ticket, f"Lena <{LENA}>", "#status pending\nYour card number, please?",
                    "<lena-3@support.example>"),
        at=NOW + timedelta(minutes=20),
    )  # fmt: skip

    after, rejected = refused(desk, ticket, result.outcome)
    assert (after.team, after.status) == ("tier2", "open")
    assert rejected.errors == [
        f"{ticket.ref} belongs to team tier2, which {LENA} neither works in"
        " nor leads: nothing was changed or sent"
    ]
    assert rejected.said[0]["key"] == "other_team"


def test_a_note_that_lost_the_race_to_a_move_is_still_taken_and_changes_nothing() -> None:
    # A colleague of another team may leave a note: so may the old team's agent after a move.
    desk = Desk()
    robots = general_ticket(desk, flags=["auto_reply"])
    moved_to_tier2_meanwhile(desk, robots.ref)

    noted = desk.deliver(
        "m2",
        agents_mail(robots, f"Lena <{LENA}>", "#note\nLooks like an out-of-office.",
                    "<lena-4@support.example>"),
    )  # fmt: skip

    assert noted.outcome == "appended"
    after = desk.uow.tickets[robots.ref]
    assert (after.team, after.flags) == ("tier2", ["auto_reply"])
