"""The SLA sweep on the fakes: what it reports, once, through races and failed commits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fakes
from fakes import MONDAY_MORNING, FakeRecords, FakeUnitOfWork, fake_router, sla_of
from helpdesk import sla, timers
from helpdesk.config import Config, load_config
from helpdesk.events import CapacityFreed, to_detail
from helpdesk.model import Ticket
from helpdesk.services.clocks import Change, apply
from helpdesk.services.sla_sweep import SlaSweep
from helpdesk.unit_of_work import TicketChange

ROOT = Path(__file__).resolve().parents[2]
STANDARD = load_config(ROOT / "infra" / "helpdesk.yaml")
ESCALATING = load_config(ROOT / "tests" / "data" / "config" / "escalation.yaml")

# Monday 23 November 2026, 09:55 in Berlin. A normal standard ticket's first response
# (4 business hours, warned at 80%) is warned at 13:07 CET and due at 13:55 CET.
CREATED = MONDAY_MORNING
WARNING_AT = datetime(2026, 11, 23, 12, 7, tzinfo=UTC)
DUE = datetime(2026, 11, 23, 12, 55, tzinfo=UTC)


def new_ticket(config: Config, ref: str = "HD-AAAAAA", **changes: Any) -> Ticket:
    lenas = fakes.ticket(
        ref=ref,
        channel="form",
        created_at=CREATED,
        assignee="lena@support.example",
        sla=fakes.started_clocks(config, CREATED),
        updated_at=CREATED,
    )
    return replace(lenas, **changes)


def desk(config: Config = STANDARD, *tickets: Ticket) -> tuple[FakeUnitOfWork, SlaSweep]:
    """Tickets as if opened earlier, each with its SLA timer, and the sweep over them."""
    uow = FakeUnitOfWork(config)
    for ticket in tickets or (new_ticket(config),):
        uow.add(ticket)
        due = sla.next_due(sla_of(ticket))
        if due is not None:
            uow.timers[(ticket.ref, timers.SLA)] = due
    return uow, SlaSweep(uow=uow, repo=FakeRecords(uow), config=config)


def test_a_due_warning_is_published_once_with_what_a_mail_needs() -> None:
    uow, sweep = desk()

    assert sweep.run(WARNING_AT - timedelta(minutes=1)).due == 0
    result = sweep.run(WARNING_AT)
    again = sweep.run(WARNING_AT)

    assert (result.warnings, again.warnings) == (1, 0)
    [event] = uow.events()
    assert event.kind == "SlaWarning"
    detail = to_detail(event)
    assert detail == detail | fakes.FIRST_RESPONSE_WARNING
    assert sla_of(uow.tickets["HD-AAAAAA"]).warnings == ["first_response"]
    # The ticket's whole SLA view is not repeated in each warning's outbox item: no
    # consumer read it.
    assert "sla" not in detail
    assert uow.timers[("HD-AAAAAA", timers.SLA)] == DUE
    assert [kind for kind, _ in uow.history["HD-AAAAAA"]] == ["sla_warning"]


def test_a_breach_is_recorded_and_moves_the_ticket_to_the_escalation_team() -> None:
    uow, sweep = desk(ESCALATING)

    result = sweep.run(DUE + timedelta(seconds=30))

    assert (result.warnings, result.breaches, result.escalations) == (0, 1, 1)
    assert uow.bus.kinds() == ["SlaBreached", "TicketEscalated"]
    breached, escalated = (to_detail(event) for event in uow.events())
    assert (breached["team"], breached["new_team"]) == ("general", "tier2")
    assert (escalated["team"], escalated["previous_team"]) == ("tier2", "general")
    # What the new team's leads' mail states, carried so that it reads no ticket again.
    assert (escalated["due"], escalated["policy"]) == (breached["due"], breached["policy"])
    assert escalated["due"] == DUE.isoformat() and escalated["policy"]
    ticket = uow.tickets["HD-AAAAAA"]
    assert ticket.team == "tier2"
    assert sla_of(ticket).public_view()["breaches"] == ["first_response"]
    assert "escalated" in [kind for kind, _ in uow.history["HD-AAAAAA"]]
    # The ticket left general's backlog for tier2's, in the same commit.
    assert uow.read_backlog("general") == {}
    assert uow.read_backlog("tier2") == {"2026-11-23": 1}
    assert uow.counters["2026-11-23"]["breach#clock#first_response"] == 1


def test_a_breach_under_a_policy_without_escalation_leaves_the_team() -> None:
    uow, sweep = desk(STANDARD)

    sweep.run(DUE)

    assert uow.bus.kinds() == ["SlaBreached"]
    assert uow.tickets["HD-AAAAAA"].team == "general"


def test_an_answer_committed_while_the_sweep_looked_is_not_reported_as_late() -> None:
    uow, sweep = desk()

    def agent_replies_just_in_time() -> None:
        ticket = uow.load("HD-AAAAAA")
        at = DUE - timedelta(minutes=1)
        answered = apply(ticket, Change(agent_reply=True), at=at, config=STANDARD)
        uow.commit(TicketChange(before=ticket, after=answered, at=at))

    uow.meanwhile.append(agent_replies_just_in_time)
    result = sweep.run(DUE)

    assert uow.events() == []
    assert result.failed == []
    state = sla_of(uow.tickets["HD-AAAAAA"])
    assert state.breaches == []
    assert uow.timers[("HD-AAAAAA", timers.SLA)] == sla.next_due(state)


def test_an_overlapping_sweep_that_loses_the_race_reports_nothing() -> None:
    uow, sweep = desk()
    uow.meanwhile.append(lambda: sweep.run(WARNING_AT))

    result = sweep.run(WARNING_AT)

    assert uow.bus.kinds() == ["SlaWarning"]
    assert result.warnings == 0 and result.failed == []
    assert uow.timers[("HD-AAAAAA", timers.SLA)] == DUE


def test_a_commit_that_fails_publishes_nothing_and_the_next_sweep_publishes_once() -> None:
    # The events leave through the commit's outbox: no commit, no event; one commit, one.
    uow, sweep = desk()
    uow.failures = 1

    failed = sweep.run(WARNING_AT)

    assert [ref for ref, _ in failed.failed] == ["HD-AAAAAA"]
    assert uow.events() == []
    assert sla_of(uow.tickets["HD-AAAAAA"]).public_view()["warnings"] == []
    # The timer stays due, so the next sweep tries again.
    assert uow.timers[("HD-AAAAAA", timers.SLA)] == WARNING_AT

    retried = sweep.run(WARNING_AT + timedelta(minutes=1))
    sweep.run(WARNING_AT + timedelta(minutes=2))

    assert retried.warnings == 1 and retried.failed == []
    [event] = uow.events()
    assert (event.kind, to_detail(event)["event_id"]) == (
        "SlaWarning",
        "first_response:warning:2026-11-23T12:55:00+00:00",
    )
    assert uow.timers[("HD-AAAAAA", timers.SLA)] == DUE


def test_the_timer_of_a_solved_or_vanished_ticket_is_removed() -> None:
    solved = apply(new_ticket(STANDARD), Change(status="solved"), at=CREATED, config=STANDARD)
    uow, sweep = desk(STANDARD, solved)
    uow.timers[("HD-AAAAAA", timers.SLA)] = WARNING_AT
    uow.timers[("HD-GONE22", timers.SLA)] = WARNING_AT

    result = sweep.run(DUE)

    assert result.due == 2 and result.failed == []
    assert uow.timers == {}
    assert uow.events() == []


def test_a_sweep_out_of_time_stops_before_the_next_ticket() -> None:
    uow, sweep = desk(STANDARD, new_ticket(STANDARD), new_ticket(STANDARD, "HD-BBBBBB"))

    result = sweep.run(WARNING_AT, keep_going=lambda: False)

    assert result.stopped_early and result.due == 0
    assert uow.events() == []


def test_one_ticket_that_cannot_be_swept_does_not_hold_up_the_others() -> None:
    uow, sweep = desk()
    uow.add(new_ticket(STANDARD, "HD-BBBBBB"))
    uow.unreadable.add("HD-BBBBBB")
    uow.timers[("HD-BBBBBB", timers.SLA)] = WARNING_AT

    result = sweep.run(WARNING_AT)

    assert [ref for ref, _ in result.failed] == ["HD-BBBBBB"]
    assert uow.bus.kinds() == ["SlaWarning"]


def test_an_escalated_ticket_goes_to_the_new_teams_agent_and_frees_the_old_agents_slot() -> None:
    uow, sweep = desk(ESCALATING)
    uow.loads["lena@support.example"] = 1  # the ticket's slot
    router = fake_router(uow, ESCALATING)

    sweep.run(DUE)
    [escalated] = [e for e in uow.events() if e.kind == "TicketEscalated"]
    result = router.handle(escalated.kind, to_detail(escalated), event_id="x1", now=DUE)

    assert (result.outcome, result.agent) == ("assigned", "omar@support.example")
    assert uow.tickets["HD-AAAAAA"].assignee == "omar@support.example"
    assert (uow.loads["lena@support.example"], uow.loads["omar@support.example"]) == (0, 1)
    assert uow.events()[-1] == CapacityFreed(
        "HD-AAAAAA", "lena@support.example", ["general", "billing"]
    )
