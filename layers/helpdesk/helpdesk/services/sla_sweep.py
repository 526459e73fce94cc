"""sla_check: due SLA timers become warnings, breaches and escalations, each exactly once.

The sweep reads only what is due: the sparse timer index, shard by shard, ``TSK <= now``
(``due_timers``), then each due ticket by its key. Closed tickets carry no timer, so the
cost follows the work that is due and never the history.

Exactly once, through overlapping sweeps and crashes: the ticket's new SLA state (its
warned/breached flags), the escalation and the events are one commit of the unit of work,
under the ticket's version check; of two overlapping sweeps one commits and the other
re-reads and finds nothing left to report. The events leave through the commit's outbox,
so a crash after the commit loses none of them. Each carries ``event_id`` =
``<clock>:<kind>:<due>``, on which the notices de-duplicate their mail
(:mod:`helpdesk.notices.sla`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk import sla, timers
from helpdesk.clock import iso
from helpdesk.errors import NotFound
from helpdesk.events import (
    DomainEvent,
    EventContact,
    SlaBreached,
    SlaWarning,
    TicketEscalated,
    ticket_snapshot,
)
from helpdesk.model import Ticket
from helpdesk.unit_of_work import TicketChange, change_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config, SlaPolicy
    from helpdesk.ports import TicketUnitOfWork, TimerIndex
    from helpdesk.timers import DueTimer

__all__ = ["SlaSweep", "SweepResult", "event_id"]


@dataclass
class SweepResult:
    """What one sweep did (for the logs and the tests)."""

    due: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    recovered: int = 0
    stopped_early: bool = False
    failed: list[tuple[str, Exception]] = field(default_factory=list)


def event_id(event: sla.SlaEvent) -> str:
    """The deterministic identity of an SLA event: ``<clock>:<kind>:<due>``."""
    return f"{event.clock}:{event.kind}:{iso(event.due)}"


@dataclass(frozen=True)
class SlaSweep:
    """The sla_check use case with its ports."""

    uow: TicketUnitOfWork
    repo: TimerIndex
    config: Config

    def run(self, now: datetime, *, keep_going: Callable[[], bool] = lambda: True) -> SweepResult:
        """Report every warning and breach due at ``now``; ``keep_going`` false stops early
        (the next scheduled sweep carries on where this one stopped)."""
        result = SweepResult()
        for timer in self.repo.due_timers(timers.SLA, timers.due_key(now)):
            if not keep_going():
                result.stopped_early = True
                break
            result.due += 1
            try:
                self._visit(timer, now, result)
            except Exception as error:
                # One ticket that cannot be swept must not hold up the others; the caller
                # reports the failure, and its timer stays due for the next sweep.
                result.failed.append((timer.ref, error))
        return result

    # ------------------------------------------------------------------ one ticket
    def _visit(self, timer: DueTimer, now: datetime, result: SweepResult) -> None:
        ref = timer.ref
        reported: list[DomainEvent] = []

        def sweep(ticket: Ticket) -> TicketChange | None:
            reported.clear()
            if not ticket.sla:
                return None
            swept, events = sla.sweep(ticket.sla, now)
            if not events:
                return None
            updated, notices, history = self._plan(ticket, swept, events, now)
            reported.extend(notices)
            # The SLA timer moves to the next due instant with the commit (effects).
            return TicketChange(
                before=ticket, after=updated, at=now, events=notices, history=history
            )

        try:
            ticket = change_ticket(self.uow, ref, sweep)
        except NotFound:
            self.repo.move_timer(ref, timers.SLA, expected_key=timer.due_key, due=None)
            return
        if reported:
            _count(result, reported)
            return
        # Nothing was due after all (a writer moved the clock): the timer follows the clock,
        # unless a writer moved it too.
        next_due = sla.next_due(ticket.sla) if ticket.sla else None
        if next_due is None or timers.due_key(next_due) != timer.due_key:
            self.repo.move_timer(ref, timers.SLA, expected_key=timer.due_key, due=next_due)

    def _plan(
        self, ticket: Ticket, swept: sla.SlaState, events: Sequence[sla.SlaEvent], now: datetime
    ) -> tuple[Ticket, list[DomainEvent], list[tuple[str, Mapping[str, Any]]]]:
        """The ticket after the events, what to tell, and the history entries."""
        policy = self._policy(ticket.policy)
        escalate_to = policy.escalate_to if policy is not None else None
        updated = replace(
            ticket,
            sla=swept,
            updated_at=now,
            flags=list(ticket.flags),
            tags=list(ticket.tags),
            participants=list(ticket.participants),
        )
        notices: list[DomainEvent] = []
        reported: dict[str, dict[str, str]] = {}
        history: list[tuple[str, Mapping[str, Any]]] = []
        for event in events:
            previous_team = updated.team
            new_team: str | None = None
            escalation: TicketEscalated | None = None
            if event.kind == "breach" and escalate_to and updated.team != escalate_to:
                new_team = escalate_to
                updated.team = escalate_to
                escalation = _escalation(updated, previous_team=previous_team, event=event)
                history.append(
                    (
                        "escalated",
                        {"from": previous_team, "to": escalate_to, "reason": event_id(event)},
                    )
                )
            notices.append(_notice(updated, event, team=previous_team, new_team=new_team))
            if escalation is not None:
                notices.append(escalation)
            reported.setdefault(f"sla_{event.kind}", {})[event.clock] = iso(event.due)
        # One history entry per kind.
        history[:0] = [(kind, {"due": clocks}) for kind, clocks in reported.items()]
        return updated, notices, history

    def _policy(self, name: str) -> SlaPolicy | None:
        try:
            return self.config.policy(name)
        except KeyError:
            return None  # a policy since removed from the config escalates nowhere


def _count(result: SweepResult, notices: Sequence[DomainEvent]) -> None:
    for notice in notices:
        if isinstance(notice, SlaWarning):
            result.warnings += 1
        elif isinstance(notice, SlaBreached):
            result.breaches += 1
        elif isinstance(notice, TicketEscalated):
            result.escalations += 1


def _notice(
    ticket: Ticket,
    event: sla.SlaEvent,
    *,
    team: str,
    new_team: str | None,
) -> SlaWarning | SlaBreached:
    """The warning or breach, with what mail consumers need so that none re-reads the ticket."""
    notice = SlaWarning if event.kind == "warning" else SlaBreached
    return notice(
        ref=ticket.ref,
        event_id=event_id(event),
        kind_of_event=event.kind,
        clock=event.clock,
        due=iso(event.due),
        at=iso(event.at),
        priority=ticket.priority,
        status=ticket.status,
        team=team,
        new_team=new_team,
        assignee=ticket.assignee,
        subject=ticket.subject,
        contact=EventContact.of(ticket),
        language=ticket.language,
        policy=ticket.policy,
    )


def _escalation(ticket: Ticket, *, previous_team: str, event: sla.SlaEvent) -> TicketEscalated:
    """TicketEscalated: the ticket is with a new team, whose agents route may assign."""
    return TicketEscalated(
        **ticket_snapshot(ticket),
        event_id=event_id(event),
        previous_team=previous_team,
        reason="sla_breach",
        clock=event.clock,
        assignee=ticket.assignee,
        due=iso(event.due),
        policy=ticket.policy,
    )
