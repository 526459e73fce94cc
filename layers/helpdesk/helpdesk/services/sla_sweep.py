"""sla_check: due SLA timers become warnings, breaches and escalations, each exactly once.

The sweep reads only what is due: the sparse timer index, shard by shard, ``TSK <= now``
(``repo.due_timers``), then each due ticket by its key. Closed tickets carry no timer, so
the cost follows the work that is due and never the history.

Exactly once, through overlapping sweeps and crashes, per (ticket, clock, kind, due):

1. The ticket's new SLA state (its warned/breached flags), the escalation and one pending
   *marker* per event are committed together under the ticket's version check, and the
   timer is held ``LEASE`` ahead. Of two overlapping sweeps one commits; the other re-reads
   and finds nothing left to report.
2. The events are published. Each carries ``event_id`` = ``<clock>:<kind>:<due>``, on which
   consumers de-duplicate (the mail keys of :mod:`helpdesk.notices.sla`).
3. The markers are deleted and the timer handed back to the clock's next due instant,
   unless a writer moved it meanwhile.

A crash or a failed publish between 1 and 3 leaves the markers pending and the timer due
when the lease ends: the sweep that comes then publishes them again (consumers drop what
they already did) instead of losing the warning or the breach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk import sla, timers
from helpdesk.clock import iso, parse_iso
from helpdesk.errors import Conflict
from helpdesk.services.stats import ticket_changes

if TYPE_CHECKING:
    from helpdesk.aws.dynamodb import DueTimer
    from helpdesk.config import Config, SlaPolicy
    from helpdesk.model import Ticket
    from helpdesk.ports import Publisher

__all__ = [
    "LEASE",
    "MARKER_PREFIX",
    "SlaSweep",
    "SweepRepository",
    "SweepResult",
    "event_id",
]

# How long a sweep may take between committing an event and publishing it before another
# sweep publishes it again; well above one sweep's Lambda timeout (60 s).
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
MARKER_PREFIX = "SLAEVT#"

WARNING = "SlaWarning"
BREACHED = "SlaBreached"
ESCALATED = "TicketEscalated"


class SweepRepository(Protocol):
    """What the sweep needs of the repository (``DynamoRepository`` has it all)."""

    def due_timers(self, kind: str, now_key: str, *, page_size: int = 100) -> Iterator[DueTimer]:
        """Timers of ``kind`` due at or before ``now_key``, paginated."""
        ...

    def find_ticket(self, ref: str) -> Ticket | None:
        """The ticket, or None."""
        ...

    def commit(
        self,
        ticket: Ticket,
        *,
        timers: Mapping[str, datetime | None] | None = None,
        claims: Iterable[tuple[str, str, Mapping[str, Any]]] = (),
        history: Iterable[tuple[str, Mapping[str, Any]]] = (),
        also: Iterable[Mapping[str, Any]] = (),
    ) -> Ticket:
        """A version-checked write of the ticket with its timers, markers and history."""
        ...

    def query_partition(
        self, pk: str, *, prefix: str = "", newest_first: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items of one partition with a sort-key prefix."""
        ...

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        condition: str | None = None,
        return_new: bool = False,
    ) -> dict[str, Any] | None:
        """A conditional update of one item."""
        ...

    def delete(self, pk: str, sk: str) -> None:
        """Delete one item."""
        ...

    def move_timer(self, ref: str, kind: str, *, expected_key: str, due: datetime | None) -> bool:
        """Move or stop a timer unless a writer changed it since it was seen."""
        ...


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


@dataclass(frozen=True)
class _Marker:
    """A committed event not yet known to be published: its key and what to publish."""

    sk: str
    notices: tuple[tuple[str, dict[str, Any]], ...]
    lease_until: datetime


def event_id(event: sla.SlaEvent) -> str:
    """The deterministic identity of an SLA event: ``<clock>:<kind>:<due>``."""
    return f"{event.clock}:{event.kind}:{iso(event.due)}"


@dataclass(frozen=True)
class SlaSweep:
    """The sla_check use case with its ports."""

    repo: SweepRepository
    publisher: Publisher
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
        ours: list[_Marker] = []
        timer_key = timer.due_key
        next_due: datetime | None = None
        for _ in range(MAX_ATTEMPTS):
            ticket = self.repo.find_ticket(ref)
            if ticket is None:
                self.repo.move_timer(ref, timers.SLA, expected_key=timer_key, due=None)
                return
            if not ticket.sla:
                next_due = None
                break
            swept, events = sla.sweep(sla.SlaState.from_dict(ticket.sla), now)
            next_due = sla.next_due(swept)
            if not events:
                break
            updated, ours, history = self._plan(ticket, swept, events, now)
            hold = now + LEASE
            try:
                self.repo.commit(
                    updated,
                    timers={timers.SLA: hold},
                    claims=[
                        (f"TICKET#{ref}", marker.sk, _marker_attributes(marker)) for marker in ours
                    ],
                    history=history,
                    # Breaches and an escalation's team move, counted for the reports.
                    also=ticket_changes(ticket, updated, at=now, config=self.config),
                )
            except Conflict:
                ours = []
                continue  # a writer or another sweep got there first: look again
            timer_key = timers.due_key(hold)
            _count(result, ours)
            break
        else:
            raise Conflict(f"{ref}: too many concurrent changes to sweep it")

        stranded, in_flight = self._pending_markers(ref, now, exclude={m.sk for m in ours})
        to_publish = [*ours, *stranded]
        if to_publish:
            self.publisher.publish([notice for marker in to_publish for notice in marker.notices])
            for marker in to_publish:
                self.repo.delete(f"TICKET#{ref}", marker.sk)
        result.recovered += len(stranded)
        # Another sweep's events still in flight: come back when its lease ends, in case
        # it crashed before publishing them.
        revisit = min(
            (d for d in (next_due, *(m.lease_until for m in in_flight)) if d is not None),
            default=None,
        )
        if revisit is None or timers.due_key(revisit) != timer_key:
            self.repo.move_timer(ref, timers.SLA, expected_key=timer_key, due=revisit)

    def _plan(
        self, ticket: Ticket, swept: sla.SlaState, events: Sequence[sla.SlaEvent], now: datetime
    ) -> tuple[Ticket, list[_Marker], list[tuple[str, Mapping[str, Any]]]]:
        """The ticket after the events, one marker per event, and the history entries."""
        policy = self._policy(ticket.policy)
        escalate_to = policy.escalate_to if policy is not None else None
        updated = replace(
            ticket,
            sla=swept.to_dict(),
            updated_at=now,
            flags=list(ticket.flags),
            tags=list(ticket.tags),
            participants=list(ticket.participants),
        )
        public = swept.public_view()
        markers: list[_Marker] = []
        reported: dict[str, dict[str, str]] = {}
        history: list[tuple[str, Mapping[str, Any]]] = []
        for event in events:
            detail = _snapshot(updated, event, public)
            notices: list[tuple[str, dict[str, Any]]] = []
            if event.kind == "breach" and escalate_to and updated.team != escalate_to:
                detail["new_team"] = escalate_to
                updated.team = escalate_to
                notices.append(
                    (ESCALATED, _escalation(updated, previous_team=detail["team"], event=event))
                )
                history.append(
                    (
                        "escalated",
                        {"from": detail["team"], "to": escalate_to, "reason": event_id(event)},
                    )
                )
            notices.insert(0, (WARNING if event.kind == "warning" else BREACHED, detail))
            markers.append(
                _Marker(
                    sk=f"{MARKER_PREFIX}{event_id(event)}",
                    notices=tuple(notices),
                    lease_until=now + LEASE,
                )
            )
            reported.setdefault(f"sla_{event.kind}", {})[event.clock] = iso(event.due)
        # One history entry per kind: the history item's key is its time and kind.
        history[:0] = [(kind, {"due": clocks}) for kind, clocks in reported.items()]
        return updated, markers, history

    def _pending_markers(
        self, ref: str, now: datetime, *, exclude: set[str]
    ) -> tuple[list[_Marker], list[_Marker]]:
        """Markers of earlier sweeps: those whose lease ended (taken over here, so that only
        one sweep republishes them) and those another sweep is still publishing."""
        stranded: list[_Marker] = []
        in_flight: list[_Marker] = []
        for item in self.repo.query_partition(f"TICKET#{ref}", prefix=MARKER_PREFIX):
            if item["SK"] in exclude:
                continue
            marker = _marker_from_item(item)
            if marker.lease_until > now:
                in_flight.append(marker)
                continue
            try:
                self.repo.update(
                    f"TICKET#{ref}",
                    marker.sk,
                    "SET lease_until = :new",
                    values={":new": (now + LEASE).isoformat(), ":old": item["lease_until"]},
                    condition="lease_until = :old",
                )
            except Conflict:
                continue  # another sweep took it over first
            stranded.append(marker)
        return stranded, in_flight

    def _policy(self, name: str) -> SlaPolicy | None:
        try:
            return self.config.policy(name)
        except KeyError:
            return None  # a policy since removed from the config escalates nowhere


def _count(result: SweepResult, markers: Sequence[_Marker]) -> None:
    for marker in markers:
        for detail_type, _ in marker.notices:
            if detail_type == WARNING:
                result.warnings += 1
            elif detail_type == BREACHED:
                result.breaches += 1
            elif detail_type == ESCALATED:
                result.escalations += 1


def _snapshot(ticket: Ticket, event: sla.SlaEvent, public: Mapping[str, Any]) -> dict[str, Any]:
    """What mail consumers need about a warning or breach, so that none re-reads the ticket."""
    return {
        "ref": ticket.ref,
        "event_id": event_id(event),
        "kind": event.kind,
        "clock": event.clock,
        "due": iso(event.due),
        "at": iso(event.at),
        "priority": ticket.priority,
        "status": ticket.status,
        "team": ticket.team,
        "new_team": None,
        "assignee": ticket.assignee,
        "subject": ticket.subject,
        "contact": {"email": ticket.contact_email, "name": ticket.contact_name},
        "language": ticket.language,
        "policy": ticket.policy,
        "sla": dict(public),
    }


def _escalation(ticket: Ticket, *, previous_team: str, event: sla.SlaEvent) -> dict[str, Any]:
    """TicketEscalated: the ticket is with a new team, whose agents route may assign."""
    return {
        "ref": ticket.ref,
        "event_id": event_id(event),
        "team": ticket.team,
        "previous_team": previous_team,
        "reason": "sla_breach",
        "clock": event.clock,
        "assignee": ticket.assignee,
        "priority": ticket.priority,
        "status": ticket.status,
        "category": ticket.category,
        "language": ticket.language,
        "channel": ticket.channel,
        "tier": ticket.tier,
        "subject": ticket.subject,
        "contact": {"email": ticket.contact_email, "name": ticket.contact_name},
    }


def _marker_attributes(marker: _Marker) -> dict[str, Any]:
    return {
        "type": "sla_event",
        "lease_until": marker.lease_until.isoformat(),
        "notices": [{"detail_type": kind, "detail": detail} for kind, detail in marker.notices],
    }


def _marker_from_item(item: Mapping[str, Any]) -> _Marker:
    return _Marker(
        sk=str(item["SK"]),
        notices=tuple((n["detail_type"], dict(n["detail"])) for n in item.get("notices", [])),
        lease_until=parse_iso(str(item["lease_until"])),
    )
