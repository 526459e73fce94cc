"""What a change to a ticket does besides changing the ticket: one pure derivation.

Every writer (intake, agent commands, the agent API, routing, sweeps, surveys) commits
through the unit of work, which asks :func:`derive` what follows from ``before -> after``:
the timers that start, move or stop, the agents' load, the report counters and facts. A
writer cannot forget one of them, and a report cannot drift from the tickets it counts.

Effects are intentions in domain terms; the DynamoDB adapter alone knows their keys and
expressions (``helpdesk.aws.ticket_store``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk import sla, timers
from helpdesk.model import ACTIVE_STATUSES, Ticket

if TYPE_CHECKING:
    from helpdesk.config import Config


# ---------------------------------------------------------------------- agents' load
@dataclass(frozen=True)
class TakeSlot:
    """``agent`` now holds the ticket; with ``capacity``, only while under it (routing)."""

    agent: str
    ref: str
    team: str
    capacity: int | None = None


@dataclass(frozen=True)
class GiveBackSlot:
    agent: str
    ref: str


@dataclass(frozen=True)
class StartWaiting:
    """The ticket waits in its team's queue for an agent with room."""

    ref: str
    team: str
    created_at: datetime


@dataclass(frozen=True)
class StopWaiting:
    ref: str


# ---------------------------------------------------------------------- report figures
@dataclass(frozen=True)
class Count:
    """Counters of one report day (``{name: n}``), added in one write."""

    day: str
    counts: Mapping[str, int]
    ref: str


@dataclass(frozen=True)
class RecordFact:
    """One fact of a day (a first response, a resolution, a settled target, an answer),
    replaced when the same ``key`` is recorded again."""

    day: str
    kind: str
    key: str
    attributes: Mapping[str, Any]


Effect = TakeSlot | GiveBackSlot | StartWaiting | StopWaiting | Count | RecordFact


@dataclass(frozen=True)
class Derived:
    effects: list[Effect] = field(default_factory=list)
    # timer kind -> next due instant, or None to stop that clock (only the ones that change)
    timers: dict[str, datetime | None] = field(default_factory=dict)
    # agents whose capacity the change freed (routing fills their slots)
    released: tuple[str, ...] = ()


def holder(ticket: Ticket) -> str | None:
    """The agent whose capacity ``ticket`` takes, if any."""
    return ticket.assignee if ticket.assignee and ticket.status in ACTIVE_STATUSES else None


def load_effects(before: Ticket, after: Ticket) -> tuple[list[Effect], tuple[str, ...]]:
    """The load bookkeeping of any ticket change (status, assignee).

    An agent holds a ticket while it is new, open or pending. Giving a slot back is
    unconditional: it travels with the version-checked ticket write whose change released
    it, which already makes it happen exactly once.
    """
    old, new = holder(before), holder(after)
    effects: list[Effect] = []
    released: tuple[str, ...] = ()
    if old != new:
        if old is not None:
            effects.append(GiveBackSlot(old, before.ref))
            released = (old,)
        if new is not None:
            effects.append(TakeSlot(new, after.ref, after.team))
    waiting_ends = (new is not None and old is None) or (
        before.status in ACTIVE_STATUSES and after.status not in ACTIVE_STATUSES
    )
    if waiting_ends and before.waiting:
        effects.append(StopWaiting(before.ref))
    return effects, released


def timer_changes(
    before: Ticket | None, after: Ticket, *, config: Config
) -> dict[str, datetime | None]:
    """The timers that start, move or stop with ``before -> after`` (unchanged ones are
    left out: a write that does not move a clock costs nothing)."""
    changes: dict[str, datetime | None] = {}
    new_due = sla_due(after)
    if new_due != sla_due(before):
        changes[timers.SLA] = new_due
    was_solved = before is not None and before.status == "solved"
    if after.status == "solved" and not was_solved:
        solved_at = after.solved_at or after.updated_at or after.created_at
        changes[timers.SURVEY] = solved_at + config.surveys.delay
        changes[timers.AUTOCLOSE] = solved_at + config.surveys.close_after
    elif was_solved and after.status != "solved":
        # Reopened or closed before the survey went out: both wait for the next resolution.
        changes[timers.SURVEY] = None
        changes[timers.AUTOCLOSE] = None
    return changes


def sla_due(ticket: Ticket | None) -> datetime | None:
    """When the ticket's SLA clocks next need a look (a warning or a breach), if ever."""
    if ticket is None or not ticket.sla:
        return None
    return sla.next_due(ticket.sla)


def derive(
    before: Ticket | None,
    after: Ticket,
    *,
    at: datetime,
    config: Config,
    actor: str | None = None,
) -> Derived:
    """Everything that follows from changing ``before`` (None: a new ticket) into ``after``."""
    if before is after:
        # A change of the ticket's effects alone (routing queueing it, a queue entry gone):
        # the ticket is the same, so no clock moves, no load changes hands and no report
        # figure changes (ticket_figures compares the two tickets), as tests/unit/
        # test_stats.py holds for tickets in every state.
        return Derived()
    from helpdesk.services.stats import ticket_figures

    effects: list[Effect] = []
    released: tuple[str, ...] = ()
    if before is not None:
        effects, released = load_effects(before, after)
    effects.extend(ticket_figures(before, after, at=at, config=config, actor=actor))
    return Derived(effects, timer_changes(before, after, config=config), released)
