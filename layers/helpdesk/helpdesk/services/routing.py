"""Who works on a ticket: the route function's decisions and the agent load they keep.

Intake already chose the team (triage); routing chooses the agent, under
``assignment: least_loaded`` (fewest open tickets against capacity) or ``round_robin`` (an
atomic cursor per team). Agents who answer in the ticket's language come first; agents
marked ``away`` get nothing new. When nobody has room the ticket waits in its team's queue
and the next ``CapacityFreed`` of a member of that team takes the oldest waiting ticket.

Stored items (all in the domain table):

- ``AGENT#<email>`` / ``LOAD``: ``open``, the tickets the agent holds. Routing takes a slot
  with a conditional ``ADD open :1`` (``open < capacity``): two routers at once can never
  both take an agent's last slot, whatever they read before.
- Which tickets an agent holds is the ticket's own ``assignee`` (while it is active); a
  team's held tickets are read through its backlog (``BacklogIndex``, by the report and the
  agent API), so an assignment writes no item of its own for it.
- ``TICKET#<ref>`` / ``QUEUE``: the ticket waits; on GSI1 as ``QUEUE#<team>`` /
  ``<created>#<ref>``, so the oldest waiting ticket of a team is the first item of a Query.
- ``TICKET#<ref>`` / ``ROUTED#<event id>``: this event already assigned the ticket (an SQS
  redelivery only re-sends the assignment mail, which is itself sent once).

An agent *holds* a ticket while it is new, open or pending: the slot is given back in the
same transaction that commits ``solved`` (or a reassignment), wherever that happens
(:func:`load_change`), and a customer reopening a solved ticket gives it back to its agent
even at capacity, because the thread belongs with the person who knows it. Capacity limits
what routing hands out, not what a person decides (``#assign``).

Tickets written by machines (flags ``bounce``, ``auto_reply``, ``spam``, ``virus``) and mail
that claimed an internal sender without authenticating (``spoofed``) are never assigned
nor queued: they would take capacity from customers. They stay listed as suppressed mail
for a human to look at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.effects import StartWaiting, StopWaiting, TakeSlot, holder
from helpdesk.events import CapacityFreed, TeamChanged, TicketEscalated, TicketOpened, parse
from helpdesk.model import ACTIVE_STATUSES, UNATTENDED_FLAGS, Ticket
from helpdesk.notices import sla as sla_notices
from helpdesk.notices import tickets as ticket_notices
from helpdesk.ports import Known
from helpdesk.unit_of_work import (
    NoCapacity,
    StaleTicket,
    TicketChange,
    retry_on_conflict,
)

if TYPE_CHECKING:
    from helpdesk.config import Agent, Config
    from helpdesk.model import Contact, Message
    from helpdesk.notices import Notifier
    from helpdesk.ports import RoutingRecords, TicketUnitOfWork

# The events route acts on (template.yaml's RouteRule routes exactly these: a test checks):
# a new ticket, a ticket moved to another team (escalated or by an agent) need an agent; a
# freed slot takes the oldest waiting ticket.
ROUTED = (TicketOpened, TicketEscalated, TeamChanged, CapacityFreed)
ROUTED_KINDS = frozenset(cls.__name__ for cls in ROUTED)
# A freed slot looks at most this many queue entries for one that still needs an agent
# (entries of tickets solved or assigned by hand meanwhile are cleared on the way).
QUEUE_LOOKAHEAD = 10


# ---------------------------------------------------------------------- the router
@dataclass(frozen=True)
class RouteResult:
    """What routing did with one event (for logs and tests)."""

    outcome: str  # "assigned" | "queued" | "kept" | "skipped" | "missing" | "empty"
    ref: str | None = None
    agent: str | None = None


@dataclass(frozen=True)
class Router:
    """The route use case: assign tickets to agents, or queue them, and tell the agent."""

    uow: TicketUnitOfWork
    repo: RoutingRecords
    notifier: Notifier
    config: Config

    def handle(
        self, detail_type: str, detail: Mapping[str, Any], *, event_id: str, now: datetime
    ) -> RouteResult:
        """Act on one event of the route rule (:data:`ROUTED_KINDS`); another kind is a
        deployment that routes more than this code knows, and fails loudly."""
        event = parse(detail_type, dict(detail))
        if not isinstance(event, ROUTED):
            raise ValueError(f"route does not act on {detail_type!r} events")
        if isinstance(event, CapacityFreed):
            return self.fill_freed_slot(event, event_id=event_id, now=now)
        result = self.route(event.ref, event_id=event_id, now=now, known=Known.of(event))
        if isinstance(event, TicketEscalated) and result.outcome != "missing":
            # The new team's leads hear once route knows who took the ticket.
            sla_notices.escalated(self.notifier, event, holder=result.agent, now=now)
        return result

    def route(
        self, ref: str, *, event_id: str, now: datetime, known: Known | None = None
    ) -> RouteResult:
        """Give ticket ``ref`` an agent of its team, or queue it; idempotent per event (the
        ticket records the event that routed it, in the same commit as the assignment).

        ``known``: what the event already says (the team, the contact, the first message),
        so that the ticket, the team's loads, the contact and the message the agent is
        shown are read in one request."""
        known = known or Known()
        queued = False
        # The first read is eventually consistent, at half the read units: what it leads
        # to is either a commit, which checks the ticket's version (a stale read costs a
        # retry), or nothing, which a stale read must never decide. So a read that leads
        # to nothing is made again, strongly consistent, as is every read after a retry.
        consistent = False

        def attempt() -> RouteResult:
            nonlocal queued, consistent
            members = self._members(known.team) if known.team else []
            view = self.repo.routing_view(ref, members, known, consistent=consistent)
            ticket, read_consistently, consistent = view.ticket, consistent, True
            agent = holder(ticket) if ticket else None
            commits = ticket is not None and (
                ticket.routed_by != event_id and self.needs_agent(ticket)
            )
            if not commits and not read_consistently:
                raise StaleTicket(ref)  # read again, strongly consistent
            if ticket is None:
                return RouteResult("missing", ref)
            if agent is not None and ticket.routed_by == event_id:
                # This event assigned it (a redelivery, after the agent's mail failed): the
                # mail is sent once per event, so telling again completes it.
                ticket_notices.assignment(
                    self.notifier,
                    ticket,
                    agent,
                    key=event_id,
                    now=now,
                    contact=view.contact,
                    request=view.first_message,
                )
                return RouteResult("assigned", ref, agent)
            if not self.needs_agent(ticket):
                if ticket.waiting:
                    # Left in the queue by a change that did not end the wait (a team
                    # moved back, a flag set): the entry goes.
                    self.uow.commit(
                        TicketChange(
                            before=ticket, after=ticket, at=now, effects=[StopWaiting(ref)]
                        )
                    )
                return RouteResult("kept" if agent else "skipped", ref, agent)
            assigned = self._assign(
                ticket,
                event_id,
                now,
                # The loads read with the ticket are its team's only if the event was right.
                loads=view.loads if known.team == ticket.team else None,
                contact=view.contact,
                first_message=view.first_message,
            )
            if assigned is not None:
                return assigned
            if queued:
                return RouteResult("queued", ref)
            # Queue first, then look once more: a slot freed between our look and the queue
            # write announced itself to a router that did not see this ticket yet.
            if not ticket.waiting:
                waits = StartWaiting(ref, ticket.team, ticket.created_at)
                self.uow.commit(TicketChange(before=ticket, after=ticket, at=now, effects=[waits]))
            queued = True
            raise StaleTicket(ref)

        return retry_on_conflict(attempt, what=ref)

    def fill_freed_slot(self, freed: CapacityFreed, *, event_id: str, now: datetime) -> RouteResult:
        """An agent has room again: route the oldest ticket waiting in one of their teams."""
        member = self.config.agent(freed.agent or "")
        teams = freed.teams or (list(member.teams) if member else [])
        seen: set[str] = set()
        for _ in range(QUEUE_LOOKAHEAD):
            oldest: StartWaiting | None = None
            for team in teams:
                for entry in self.repo.waiting(team, limit=len(seen) + 1):
                    if entry.ref in seen:
                        continue
                    if oldest is None or (entry.created_at, entry.ref) < (
                        oldest.created_at,
                        oldest.ref,
                    ):
                        oldest = entry
                    break
            if oldest is None:
                return RouteResult("empty")
            ref = oldest.ref
            seen.add(ref)
            result = self.route(ref, event_id=event_id, now=now)
            if result.outcome in ("assigned", "queued"):
                return result
        return RouteResult("empty")

    # ------------------------------------------------------------------ decisions
    def needs_agent(self, ticket: Ticket) -> bool:
        """Whether routing should (re)assign ``ticket``: it is active, written by a person,
        and nobody of its team holds it."""
        if ticket.status not in ACTIVE_STATUSES or UNATTENDED_FLAGS.intersection(ticket.flags):
            return False
        if ticket.assignee is None:
            return True
        return not self.config.works_in(ticket.assignee, ticket.team)

    def candidates(self, ticket: Ticket, *, loads: Mapping[str, int] | None = None) -> list[Agent]:
        """The agents to try for ``ticket``, best first, all of them with room (``loads``:
        the open tickets of its team's members, when already read)."""
        members = [a for a in self.config.agents_of(ticket.team) if not a.away]
        if loads is None:
            loads = self.repo.agent_loads([a.email for a in members])[0]
        with_room = [a for a in members if loads[a.email] < a.capacity]
        speaks = [a for a in with_room if ticket.language in self.config.languages_of(a)]
        others = [a for a in with_room if a not in speaks]
        if self.config.assignment == "round_robin":
            turn = self.repo.next_turn(ticket.team)
            return _rotated(speaks, turn) + _rotated(others, turn)

        def by_load(agent: Agent) -> tuple[float, int]:
            return (loads[agent.email] / agent.capacity, loads[agent.email])

        # sorted() is stable, so equal loads keep the config's order.
        return sorted(speaks, key=by_load) + sorted(others, key=by_load)

    # ------------------------------------------------------------------ writes
    def _members(self, team: str) -> list[str]:
        return [a.email for a in self.config.agents_of(team) if not a.away]

    def _assign(
        self,
        ticket: Ticket,
        event_id: str,
        now: datetime,
        *,
        loads: Mapping[str, int] | None,
        contact: Contact | None,
        first_message: Message | None,
    ) -> RouteResult | None:
        """Try the candidates in order: the assignment (the agent is told), or None when
        nobody had room. Raises StaleTicket when the ticket changed meanwhile."""
        if loads is None:
            loads, contact = self.repo.agent_loads(
                self._members(ticket.team), contact_email=ticket.contact_email
            )
        for agent in self.candidates(ticket, loads=loads):
            updated = replace(ticket, assignee=agent.email, updated_at=now, routed_by=event_id)
            try:
                stored = self.uow.commit(
                    TicketChange(
                        before=ticket,
                        after=updated,
                        at=now,
                        history=[
                            (
                                "assigned",
                                {"agent": agent.email, "by": "route", "previous": ticket.assignee},
                            )
                        ],
                        # The slot is taken only while the agent is under capacity.
                        effects=[TakeSlot(agent.email, ticket.ref, ticket.team, agent.capacity)],
                    )
                )
            except NoCapacity:
                continue  # that agent's last slot went to another router: try the next
            ticket_notices.assignment(
                self.notifier,
                stored,
                agent.email,
                key=event_id,
                now=now,
                contact=contact,
                request=first_message,
            )
            return RouteResult("assigned", ticket.ref, agent.email)
        return None


def _rotated(agents: Sequence[Agent], turn: int) -> list[Agent]:
    if not agents:
        return []
    start = turn % len(agents)
    return [*agents[start:], *agents[:start]]
