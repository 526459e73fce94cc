"""What a command's ticket change does to agents' loads (committed with the change)."""

from __future__ import annotations

from dataclasses import replace

from fakes import ticket
from helpdesk.effects import GiveBackSlot, StopWaiting, TakeSlot, load_effects

TICKET = ticket(status="open", assignee="lena@support.example")


def test_solving_a_ticket_gives_its_agents_slot_back_and_says_whose() -> None:
    effects, released = load_effects(TICKET, replace(TICKET, status="solved"))

    assert released == ("lena@support.example",)
    assert effects == [GiveBackSlot("lena@support.example", "HD-7K3M9Q")]


def test_a_waiting_ticket_solved_by_hand_leaves_its_teams_queue() -> None:
    waiting = replace(TICKET, assignee=None, waiting=True)

    effects, _ = load_effects(waiting, replace(waiting, status="solved"))

    assert effects == [StopWaiting("HD-7K3M9Q")]


def test_a_ticket_that_never_waited_has_no_queue_entry_to_remove() -> None:
    unassigned = replace(TICKET, assignee=None)

    effects, _ = load_effects(unassigned, replace(unassigned, assignee="wei@support.example"))

    assert effects == [TakeSlot("wei@support.example", "HD-7K3M9Q", "general")]


def test_reassigning_moves_the_slot_from_one_agent_to_the_other() -> None:
    effects, released = load_effects(TICKET, replace(TICKET, assignee="wei@support.example"))

    assert released == ("lena@support.example",)
    assert effects == [
        GiveBackSlot("lena@support.example", "HD-7K3M9Q"),
        TakeSlot("wei@support.example", "HD-7K3M9Q", "general"),
    ]


def test_a_reopened_ticket_goes_back_to_its_agent_whatever_their_load() -> None:
    solved = replace(TICKET, status="solved")

    effects, released = load_effects(solved, replace(solved, status="open"))

    assert released == ()
    [take] = [e for e in effects if isinstance(e, TakeSlot)]
    assert take == TakeSlot("lena@support.example", "HD-7K3M9Q", "general")
    assert take.capacity is None  # no capacity condition: a person's decision is kept


def test_a_change_that_keeps_the_same_holder_touches_no_load() -> None:
    for changed in (replace(TICKET, priority="high"), replace(TICKET, status="pending")):
        assert load_effects(TICKET, changed) == ([], ())
