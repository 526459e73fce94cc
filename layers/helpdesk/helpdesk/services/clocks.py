"""What a change to a ticket does to its clocks: SLA, survey and auto-close timers.

One function for every writer (email intake, agent commands, the agent API, sweeps), so
that a status change pauses resolution the same way wherever it comes from. Pure: it
returns the changed ticket and the timers to set (a due instant) or stop (None); the
caller commits both in one write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk import sla, timers
from helpdesk.model import Ticket
from helpdesk.triage import policy_for

if TYPE_CHECKING:
    from helpdesk.calendar import BusinessCalendar
    from helpdesk.config import Config


@dataclass(frozen=True)
class Change:
    """What happened to a ticket; every field is optional."""

    customer_message: bool = False
    agent_reply: bool = False
    status: str | None = None
    priority: str | None = None
    team: str | None = None
    category: str | None = None


def calendar_of(policy_name: str, config: Config) -> BusinessCalendar:
    """The business calendar of an SLA policy."""
    return config.calendar(config.policy(policy_name).calendar).to_calendar()


def apply(
    ticket: Ticket, change: Change, *, at: datetime, config: Config
) -> tuple[Ticket, dict[str, datetime | None]]:
    """The ticket after ``change`` at ``at`` and the timers that change with it.

    A ticket without SLA clocks (mail from a robot: nobody was promised anything) changes
    status and survey timers like any other, and never gets an SLA timer.
    """
    state = sla.SlaState.from_dict(ticket.sla) if ticket.sla else None
    calendar = calendar_of(ticket.policy, config)
    updated = replace(ticket, updated_at=at, flags=list(ticket.flags), tags=list(ticket.tags))
    timer_changes: dict[str, datetime | None] = {}

    new_status = change.status
    if change.customer_message:
        if state is not None:
            state = sla.customer_replied(state, at, calendar)
        if ticket.status in ("pending", "solved") and new_status is None:
            new_status = "open"
    if change.agent_reply:
        if state is not None:
            state = sla.agent_replied(state, at, calendar)
        if ticket.status == "new" and new_status is None:
            new_status = "open"

    if change.team is not None:
        updated.team = change.team
    if change.category is not None:
        updated.category = change.category
    if change.priority is not None and change.priority != ticket.priority:
        updated.priority = change.priority
        policy = policy_for(
            updated.tier, updated.priority, updated.channel, updated.category, config
        )
        new_calendar = calendar_of(policy.name, config)
        if state is not None:
            state = sla.retarget(
                state,
                policy.name,
                policy.target(updated.priority),
                warn_at=policy.warn_at,
                at=at,
                calendar=new_calendar,
                previous_calendar=calendar,
            )
        updated.policy = policy.name
        calendar = new_calendar

    if new_status is not None and new_status != ticket.status:
        if state is not None:
            state = sla.status_changed(state, ticket.status, new_status, at, calendar)
        updated.status = new_status
        if new_status == "solved":
            updated.solved_at = at
            timer_changes[timers.SURVEY] = at + config.surveys.delay
            timer_changes[timers.AUTOCLOSE] = at + config.surveys.close_after
        elif ticket.status == "solved":
            # Reopened before the survey went out or the ticket closed: both wait for
            # the next resolution.
            timer_changes[timers.SURVEY] = None
            timer_changes[timers.AUTOCLOSE] = None
        if new_status == "closed":
            updated.closed_at = at
            timer_changes[timers.SURVEY] = None
            timer_changes[timers.AUTOCLOSE] = None

    updated.sla = state.to_dict() if state is not None else {}
    timer_changes[timers.SLA] = sla.next_due(state) if state is not None else None
    return updated, timer_changes
