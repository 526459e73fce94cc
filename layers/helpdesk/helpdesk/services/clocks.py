"""What a change to a ticket does to its status and SLA clocks.

One function for every writer (email intake, agent commands, the agent API, sweeps), so
that a status change pauses resolution the same way wherever it comes from. Pure: it
returns the changed ticket; the timers that follow are derived when it is committed
(helpdesk.effects.timer_changes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk import sla
from helpdesk.model import Ticket, flags_once_a_person_wrote
from helpdesk.triage import policy_for

if TYPE_CHECKING:
    from helpdesk.calendar import BusinessCalendar
    from helpdesk.config import Config


@dataclass(frozen=True)
class Change:
    """What happened to a ticket; every field is optional."""

    customer_message: bool = False
    agent_reply: bool = False
    status: sla.Status | None = None
    priority: str | None = None
    team: str | None = None
    category: str | None = None
    # The customer complained to the team lead (helpdesk.services.complaints): the ticket
    # is flagged, reopened if solved or pending, and its complaint clock runs unless it
    # runs already.
    complaint: bool = False
    # A team lead answered the customer (a public reply): the complaint clock is achieved.
    complaint_answered: bool = False


COMPLAINT_FLAG = "complaint"


def calendar_of(policy_name: str, config: Config) -> BusinessCalendar:
    """The business calendar of an SLA policy."""
    return config.calendar(config.policy(policy_name).calendar).business_calendar


def apply(ticket: Ticket, change: Change, *, at: datetime, config: Config) -> Ticket:
    """The ticket after ``change`` at ``at``: its status, SLA clocks and policy.

    The timers that follow (SLA, survey, auto-close) are derived from the change when it
    is committed (helpdesk.effects). A ticket without SLA clocks (mail from a robot:
    nobody was promised anything) changes status like any other.
    """
    state = ticket.sla
    calendar = calendar_of(ticket.policy, config)
    updated = replace(ticket, updated_at=at, flags=list(ticket.flags), tags=list(ticket.tags))

    new_status = change.status
    if change.customer_message or change.agent_reply:
        # Only a person's mail arrives as either (intake keeps a robot's follow-up apart).
        updated.flags = flags_once_a_person_wrote(updated.flags)
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

    if change.complaint:
        if COMPLAINT_FLAG not in updated.flags:
            updated.flags.append(COMPLAINT_FLAG)
        if state is None:
            # A ticket nobody was promised anything on (a robot's) still owes a complainer
            # the lead's answer.
            state = sla.SlaState(ticket.policy, config.policy(ticket.policy).warn_at, {}, {})
        target = config.complaint_target(ticket.policy, ticket.priority)
        state, _ = sla.complained(state, at, target, calendar)
        if ticket.status in ("pending", "solved") and new_status is None:
            new_status = "open"
    if change.complaint_answered and state is not None:
        state = sla.complaint_answered(state, at, calendar)

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
                complaint_target=config.complaint_target(policy.name, updated.priority),
            )
        updated.policy = policy.name
        calendar = new_calendar

    if new_status is not None and new_status != ticket.status:
        if state is not None:
            state = sla.status_changed(state, ticket.status, new_status, at, calendar)
        updated.status = new_status
        if new_status == "solved":
            updated.solved_at = at
        if new_status == "closed":
            updated.closed_at = at

    updated.sla = state
    return updated
