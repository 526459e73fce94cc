"""Carrying out what an agent does to a ticket (``carry_out``), on the fakes: what the
ticket becomes, what the bus hears, and what the agents' loads and the reports keep."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from fakes import ANNAS_REQUEST, CONFIG, MONDAY_MORNING, FakeUnitOfWork
from helpdesk import timers
from helpdesk.events import (
    AgentReplied,
    CapacityFreed,
    StatusChanged,
    TeamChanged,
    TicketAssigned,
    to_detail,
)
from helpdesk.model import Message, Ticket
from helpdesk.services.commands import (
    EVERY_TEAM,
    ActionResult,
    AgentAction,
    TicketClosed,
    TicketEdit,
    carry_out,
)
from helpdesk.services.tickets import open_ticket
from helpdesk.unit_of_work import Claim

OPENED = MONDAY_MORNING  # 09:55 in Berlin: office hours
LATER = OPENED + timedelta(minutes=30)
LENA = "lena@support.example"
WEI = "wei@support.example"


def opened(uow: FakeUnitOfWork) -> Ticket:
    """Anna's form request, opened through the one path intake takes."""
    request = replace(ANNAS_REQUEST, channel="form")
    author, text = request.contact_email, request.text
    first = Message(id="form-1", ticket="", direction="in", author=author, at=OPENED, text=text)
    return open_ticket(request, uow=uow, config=CONFIG, now=OPENED, first_message=first)


def carried_out(
    uow: FakeUnitOfWork, ticket: Ticket, action: AgentAction, *, at: datetime = LATER
) -> ActionResult:
    """``action`` carried out on ``ticket`` at ``at`` (by default half an hour after it opened)."""
    return carry_out(action, ticket.ref, uow=uow, config=CONFIG, now=at)


def desk() -> tuple[FakeUnitOfWork, Ticket]:
    uow = FakeUnitOfWork(CONFIG)
    ticket = opened(uow)
    uow.bus.entries.clear()  # what follows is what the agent's action tells
    return uow, ticket


def test_an_agents_reply_is_kept_opens_the_ticket_and_is_announced_for_the_relay() -> None:
    uow, ticket = desk()

    result = carried_out(
        uow,
        ticket,
        AgentAction(
            scope=EVERY_TEAM, agent=LENA, agent_name="Lena", reply="It left our warehouse today."
        ),
    )

    assert result.ticket.status == "open"
    [reply] = [m for m in uow.messages(ticket.ref) if m.direction == "out"]
    assert (reply.author, reply.text) == (LENA, "It left our warehouse today.")
    assert uow.bus.kinds() == ["AgentReplied", "StatusChanged"]
    replied, changed = uow.events()
    assert isinstance(replied, AgentReplied) and isinstance(changed, StatusChanged)
    assert to_detail(replied) | {"from": LENA, "message": reply.id} == to_detail(replied)
    assert (changed.previous_status, changed.status, changed.by) == ("new", "open", LENA)
    # The first response is on the day's report, credited to Lena, after 30 business minutes.
    [fact] = uow.read_day(OPENED.date()).facts["first_response"]
    assert (fact["agent"], fact["seconds"]) == (LENA, 1800)


def test_the_first_reply_tells_the_bus_how_long_the_customer_waited_and_later_ones_do_not() -> None:
    # The dashboard's "First response" widget plots FirstResponseMinutes, which the relay
    # emits from this figure; nothing emitted it, so the widget stayed empty.
    uow, ticket = desk()
    first = AgentAction(
        scope=EVERY_TEAM, agent=LENA, agent_name="Lena", reply="It left our warehouse today."
    )
    second = AgentAction(
        scope=EVERY_TEAM, agent=LENA, agent_name="Lena", reply="Here is the tracking number."
    )

    carried_out(uow, ticket, first)
    carried_out(uow, ticket, second, at=LATER + timedelta(minutes=10))

    replies = [e for e in uow.events() if isinstance(e, AgentReplied)]
    assert [r.first_response_seconds for r in replies] == [1800, None]


def test_an_agents_reply_and_note_lose_control_and_directional_characters() -> None:
    # What an agent types (the API, a mail) goes to the customer and colleagues as every
    # typed text does: no U+202E reversing what follows, no terminal escape (review 10, #3).
    uow, ticket = desk()
    action = AgentAction(
        scope=EVERY_TEAM,
        agent=LENA,
        reply="Refund \u202e0001$\u202c today\x1b[31m",
        note="She \u2066called\u2069\x00",
    )

    carried_out(uow, ticket, action)

    texts = {m.direction: m.text for m in uow.messages(ticket.ref) if m.author == LENA}
    assert texts == {"out": "Refund 0001$ today[31m", "note": "She called"}


def test_a_reply_of_nothing_but_control_characters_is_no_reply() -> None:
    # Cleaned to nothing, it must not become an empty mail to the customer (review 11).
    uow, ticket = desk()
    action = AgentAction(
        scope=EVERY_TEAM, agent=LENA, reply="\u202e\x00", edit=TicketEdit(priority="high")
    )

    carried_out(uow, ticket, action)

    assert [m for m in uow.messages(ticket.ref) if m.direction == "out"] == []
    assert not [e for e in uow.events() if isinstance(e, AgentReplied)]


def test_a_long_reply_is_kept_whole_and_announced_with_an_excerpt_of_300_bytes() -> None:
    # The event rides in the commit's outbox item, billed per KB twice in the transaction:
    # 4,000 characters of Chinese had added 12 KB to it. The relay reads the message whole.
    uow, ticket = desk()
    words = "您的包裹今天已从我们的仓库发出，预计三天内送达。" * 170  # about 12 KB

    carried_out(
        uow, ticket, AgentAction(scope=EVERY_TEAM, agent=LENA, agent_name="Lena", reply=words)
    )

    [reply] = [m for m in uow.messages(ticket.ref) if m.direction == "out"]
    replied = next(e for e in uow.events() if isinstance(e, AgentReplied))
    assert reply.text == words
    assert words.startswith(replied.text) and len(replied.text.encode()) <= 300


def test_assigning_a_colleague_gives_them_the_slot_and_tells_them() -> None:
    uow, ticket = desk()

    carried_out(
        uow, ticket, AgentAction(scope=EVERY_TEAM, agent=LENA, edit=TicketEdit(assignee=WEI))
    )

    assert uow.tickets[ticket.ref].assignee == WEI
    assert uow.loads[WEI] == 1 and uow.holdings[WEI] == {ticket.ref}
    assert uow.events() == [TicketAssigned(ref=ticket.ref, agent=WEI, by=LENA, version=1)]


def test_solving_gives_the_agents_slot_back_and_says_it_is_free() -> None:
    uow, ticket = desk()
    carried_out(
        uow, ticket, AgentAction(scope=EVERY_TEAM, agent=LENA, edit=TicketEdit(assignee=LENA))
    )
    assert uow.loads[LENA] == 1

    carried_out(
        uow,
        ticket,
        AgentAction(scope=EVERY_TEAM, agent=LENA, edit=TicketEdit(status="solved")),
        at=LATER + timedelta(minutes=5),
    )

    assert uow.loads[LENA] == 0 and uow.holdings[LENA] == set()
    assert uow.bus.kinds() == ["StatusChanged", "CapacityFreed"]
    assert uow.events()[-1] == CapacityFreed(ticket.ref, LENA, ["general", "billing"])
    # The survey and the auto-close wait for their time; the ticket left the backlog.
    assert (ticket.ref, timers.SURVEY) in uow.timers
    assert (ticket.ref, timers.AUTOCLOSE) in uow.timers
    assert uow.read_backlog("general") == {}


def test_moving_a_ticket_to_another_team_asks_routing_for_an_agent_there() -> None:
    uow, ticket = desk()

    carried_out(
        uow, ticket, AgentAction(scope=EVERY_TEAM, agent=LENA, edit=TicketEdit(team="billing"))
    )

    assert uow.events() == [TeamChanged(ref=ticket.ref, team="billing", previous_team="general")]
    assert uow.read_backlog("billing") == {"2026-11-23": 1}
    assert uow.read_backlog("general") == {}


def test_a_closed_ticket_is_refused_and_nothing_changes() -> None:
    uow, ticket = desk()
    uow.add(replace(uow.tickets[ticket.ref], status="closed"))
    commits = uow.commits

    with pytest.raises(TicketClosed):
        carried_out(uow, ticket, AgentAction(scope=EVERY_TEAM, agent=LENA, reply="Anything else?"))

    assert uow.commits == commits
    assert uow.events() == []
    assert [m.direction for m in uow.messages(ticket.ref)] == ["in"]


def test_the_same_claimed_mail_carried_out_twice_is_one_change() -> None:
    uow, ticket = desk()
    action = AgentAction(
        scope=EVERY_TEAM,
        agent=LENA,
        reply="It left our warehouse today.",
        edit=TicketEdit(status="pending"),
        message_key="m1",
        claim=Claim("message", "<reply-1@support.example>", LENA),
    )

    first = carried_out(uow, ticket, action)
    second = carried_out(uow, ticket, action, at=LATER + timedelta(1))

    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.ticket.status == "pending"
    assert [m.direction for m in uow.messages(ticket.ref)] == ["in", "out"]
    assert uow.bus.kinds() == ["AgentReplied", "StatusChanged"]


def test_a_change_that_lost_a_race_is_decided_again_on_the_newer_ticket() -> None:
    uow, ticket = desk()
    # Another writer's change lands between the read and the commit.
    uow.interleaved.append(uow.load(ticket.ref))

    result = carried_out(
        uow, ticket, AgentAction(scope=EVERY_TEAM, agent=LENA, edit=TicketEdit(priority="high"))
    )

    assert result.ticket.priority == "high" and result.ticket.version == 2
    assert uow.commits == 2  # the opening and this change, once
