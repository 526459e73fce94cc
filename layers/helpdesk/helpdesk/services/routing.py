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
- ``AGENT#<email>`` / ``TICKET#<ref>``: one per held ticket, so an agent's work is a Query.
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
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.errors import Conflict
from helpdesk.model import Ticket
from helpdesk.notices import tickets as ticket_notices

if TYPE_CHECKING:
    from helpdesk.aws.dynamodb import DynamoRepository
    from helpdesk.config import Agent, Config
    from helpdesk.model import Contact
    from helpdesk.notices import Notifier

ACTIVE_STATUSES = frozenset({"new", "open", "pending"})
UNROUTED_FLAGS = frozenset({"bounce", "auto_reply", "spam", "virus", "spoofed"})
MAX_ROUTING_ATTEMPTS = 5
# A freed slot looks at most this many queue entries for one that still needs an agent
# (entries of tickets solved or assigned by hand meanwhile are cleared on the way).
QUEUE_LOOKAHEAD = 10


# ---------------------------------------------------------------------- load bookkeeping
def load_key(agent: str) -> dict[str, str]:
    """The key of an agent's load item."""
    return {"PK": f"AGENT#{agent.lower()}", "SK": "LOAD"}


def holding_key(agent: str, ref: str) -> dict[str, str]:
    """The key of the item that says ``agent`` holds ticket ``ref``."""
    return {"PK": f"AGENT#{agent.lower()}", "SK": f"TICKET#{ref}"}


def queue_key(ref: str) -> dict[str, str]:
    """The key of the marker that says ticket ``ref`` waits for an agent."""
    return {"PK": f"TICKET#{ref}", "SK": "QUEUE"}


def holder(ticket: Ticket) -> str | None:
    """The agent whose capacity ``ticket`` takes, if any."""
    return ticket.assignee if ticket.assignee and ticket.status in ACTIVE_STATUSES else None


def take_slot(agent: str, ticket: Ticket, *, capacity: int | None) -> list[dict[str, Any]]:
    """Operations that make ``agent`` hold ``ticket``; with ``capacity`` only if under it."""
    update: dict[str, Any] = {
        "update": load_key(agent),
        "expression": "ADD #open :one SET #type = :type",
        "names": {"#open": "open", "#type": "type"},
        "values": {":one": 1, ":type": "agent_load"},
    }
    if capacity is not None:
        update["condition"] = "attribute_not_exists(#open) OR #open < :capacity"
        update["values"] = {**update["values"], ":capacity": capacity}
    holding = {
        "put": {
            **holding_key(agent, ticket.ref),
            "type": "holding",
            "ref": ticket.ref,
            "team": ticket.team,
        }
    }
    return [update, holding]


def give_back_slot(agent: str, ref: str) -> list[dict[str, Any]]:
    """Operations that release ``agent``'s slot for ticket ``ref``.

    Unconditional on purpose: they always travel with the version-checked ticket write
    whose change released the slot, which already makes them happen exactly once.
    """
    return [
        {"delete": holding_key(agent, ref)},
        {
            "update": load_key(agent),
            "expression": "ADD #open :minus",
            "names": {"#open": "open"},
            "values": {":minus": -1},
        },
    ]


@dataclass(frozen=True)
class LoadChange:
    """What a ticket change does to agents' loads: operations to commit with it, and the
    agents whose capacity it freed (to announce with ``CapacityFreed`` after the commit)."""

    operations: list[dict[str, Any]] = field(default_factory=list)
    released: tuple[str, ...] = ()


def load_change(before: Ticket, after: Ticket) -> LoadChange:
    """The load bookkeeping of any ticket change (status, assignee), to commit with it."""
    old, new = holder(before), holder(after)
    operations: list[dict[str, Any]] = []
    released: tuple[str, ...] = ()
    if old != new:
        if old is not None:
            operations += give_back_slot(old, before.ref)
            released = (old,)
        if new is not None:
            operations += take_slot(new, after, capacity=None)
    waiting_ends = (new is not None and old is None) or (
        before.status in ACTIVE_STATUSES and after.status not in ACTIVE_STATUSES
    )
    if waiting_ends:
        operations.append({"delete": queue_key(before.ref)})
    return LoadChange(operations, released)


def capacity_freed(agent: str, config: Config) -> tuple[str, dict[str, Any]]:
    """The ``CapacityFreed`` event for ``agent`` (route fills the slot from their teams)."""
    member = config.agent(agent)
    return ("CapacityFreed", {"agent": agent, "teams": list(member.teams) if member else []})


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

    repo: DynamoRepository
    notifier: Notifier
    config: Config

    def handle(
        self, detail_type: str, detail: Mapping[str, Any], *, event_id: str, now: datetime
    ) -> RouteResult:
        """Act on one event of the route rule."""
        if detail_type == "CapacityFreed":
            return self.fill_freed_slot(detail, event_id=event_id, now=now)
        return self.route(str(detail["ref"]), event_id=event_id, now=now)

    def route(self, ref: str, *, event_id: str, now: datetime) -> RouteResult:
        """Give ticket ``ref`` an agent of its team, or queue it; idempotent per event."""
        done = self.repo.get_item(f"TICKET#{ref}", f"ROUTED#{event_id}")
        if done is not None:
            return self._already_routed(ref, str(done["assignee"]), event_id, now)
        queued = False
        for _ in range(MAX_ROUTING_ATTEMPTS):
            ticket = self.repo.find_ticket(ref)
            if ticket is None:
                return RouteResult("missing", ref)
            if not self.needs_agent(ticket):
                if queued or self._waiting(ref):
                    self.repo.delete(f"TICKET#{ref}", "QUEUE")
                kept = ticket.assignee if holder(ticket) else None
                return RouteResult("kept" if kept else "skipped", ref, kept)
            outcome, agent, assigned, contact = self._assign(ticket, event_id, now)
            if outcome == "assigned" and agent is not None and assigned is not None:
                ticket_notices.assignment(
                    self.notifier, assigned, agent, key=event_id, now=now, contact=contact
                )
                return RouteResult("assigned", ref, agent)
            if outcome == "routed":
                done = self.repo.get_item(f"TICKET#{ref}", f"ROUTED#{event_id}") or {}
                return self._already_routed(ref, str(done.get("assignee", "")), event_id, now)
            if outcome == "full":
                if queued:
                    return RouteResult("queued", ref)
                # Queue first, then look once more: a slot freed between our look and the
                # queue write announced itself to a router that did not see this ticket yet.
                self._queue(ticket, now)
                queued = True
        raise Conflict(f"{ref}: too many concurrent changes while routing")

    def fill_freed_slot(
        self, detail: Mapping[str, Any], *, event_id: str, now: datetime
    ) -> RouteResult:
        """An agent has room again: route the oldest ticket waiting in one of their teams."""
        agent = str(detail.get("agent", ""))
        member = self.config.agent(agent)
        teams = detail.get("teams") or (list(member.teams) if member else [])
        seen: set[str] = set()
        for _ in range(QUEUE_LOOKAHEAD):
            oldest: dict[str, Any] | None = None
            for team in teams:
                for entry in self.repo.index_items(f"QUEUE#{team}", limit=len(seen) + 1):
                    if entry["ref"] in seen:
                        continue
                    if oldest is None or entry["GSI1SK"] < oldest["GSI1SK"]:
                        oldest = entry
                    break
            if oldest is None:
                return RouteResult("empty")
            ref = str(oldest["ref"])
            seen.add(ref)
            result = self.route(ref, event_id=event_id, now=now)
            if result.outcome in ("assigned", "queued"):
                return result
        return RouteResult("empty")

    # ------------------------------------------------------------------ decisions
    def needs_agent(self, ticket: Ticket) -> bool:
        """Whether routing should (re)assign ``ticket``: it is active, written by a person,
        and nobody of its team holds it."""
        if ticket.status not in ACTIVE_STATUSES or UNROUTED_FLAGS.intersection(ticket.flags):
            return False
        if ticket.assignee is None:
            return True
        member = self.config.agent(ticket.assignee)
        return member is None or ticket.team not in member.teams

    def candidates(self, ticket: Ticket, *, loads: Mapping[str, int] | None = None) -> list[Agent]:
        """The agents to try for ``ticket``, best first, all of them with room (``loads``:
        the open tickets of its team's members, when already read)."""
        members = [a for a in self.config.agents_of(ticket.team) if not a.away]
        if loads is None:
            loads = self._loads_and_contact([a.email for a in members], None)[0]
        with_room = [a for a in members if loads[a.email] < a.capacity]
        speaks = [a for a in with_room if ticket.language in self.config.languages_of(a)]
        others = [a for a in with_room if a not in speaks]
        if self.config.assignment == "round_robin":
            turn = self._next_turn(ticket.team)
            return _rotated(speaks, turn) + _rotated(others, turn)

        def by_load(agent: Agent) -> tuple[float, int]:
            return (loads[agent.email] / agent.capacity, loads[agent.email])

        # sorted() is stable, so equal loads keep the config's order.
        return sorted(speaks, key=by_load) + sorted(others, key=by_load)

    # ------------------------------------------------------------------ writes
    def _assign(
        self, ticket: Ticket, event_id: str, now: datetime
    ) -> tuple[str, str | None, Ticket | None, Contact | None]:
        """Try the candidates in order; "assigned" (with the agent, the ticket as stored
        and its contact), "full" (nobody had room), "stale" (the ticket changed meanwhile)
        or "routed" (this event did it already)."""
        from dataclasses import replace

        members = [a.email for a in self.config.agents_of(ticket.team) if not a.away]
        # The contact is read with the loads, for the assignment mail that follows.
        loads, contact = self._loads_and_contact(members, ticket.contact_email)
        for agent in self.candidates(ticket, loads=loads):
            updated = replace(ticket, assignee=agent.email, updated_at=now)
            operations = take_slot(agent.email, updated, capacity=agent.capacity)
            previous = holder(ticket)
            if previous is not None:
                operations += give_back_slot(previous, ticket.ref)
            operations.append({"delete": queue_key(ticket.ref)})
            try:
                stored = self.repo.commit(
                    updated,
                    claims=[
                        (
                            f"TICKET#{ticket.ref}",
                            f"ROUTED#{event_id}",
                            {"assignee": agent.email, "at": now.isoformat()},
                        )
                    ],
                    history=[
                        (
                            "assigned",
                            {"agent": agent.email, "by": "route", "previous": ticket.assignee},
                        )
                    ],
                    also=operations,
                )
            except Conflict as conflict:
                reasons = list(getattr(conflict, "reasons", []))
                if reasons[:1] == ["ConditionalCheckFailed"] or not reasons:
                    return "stale", None, None, None
                if reasons[1:2] == ["ConditionalCheckFailed"]:
                    return "routed", None, None, None
                continue  # that agent's last slot went to another router: try the next
            return "assigned", agent.email, stored, contact
        return "full", None, None, None

    def _queue(self, ticket: Ticket, now: datetime) -> None:
        self.repo.put(
            {
                **queue_key(ticket.ref),
                "type": "queued",
                "GSI1PK": f"QUEUE#{ticket.team}",
                "GSI1SK": f"{ticket.created_at.isoformat()}#{ticket.ref}",
                "ref": ticket.ref,
                "team": ticket.team,
                "queued_at": now.isoformat(),
            }
        )

    def _waiting(self, ref: str) -> bool:
        return self.repo.get_item(f"TICKET#{ref}", "QUEUE") is not None

    def _loads_and_contact(
        self, agents: Sequence[str], contact_email: str | None
    ) -> tuple[dict[str, int], Contact | None]:
        """The open tickets of each agent (and a contact, when asked), in one request."""
        keys = {agent: (f"AGENT#{agent.lower()}", "LOAD") for agent in agents}
        contact = None
        if contact_email is None:
            items = self.repo.get_items(keys.values())
        else:
            contact, items = self.repo.get_contact_and_items(contact_email, keys.values())
        loads = {agent: int(items.get(key, {}).get("open", 0)) for agent, key in keys.items()}
        return loads, contact

    def _next_turn(self, team: str) -> int:
        item = self.repo.update(
            f"TEAM#{team}",
            "CURSOR",
            "ADD #turn :one",
            names={"#turn": "turn"},
            values={":one": 1},
            return_new=True,
        )
        return int((item or {}).get("turn", 1)) - 1

    def _already_routed(self, ref: str, agent: str, event_id: str, now: datetime) -> RouteResult:
        ticket = self.repo.find_ticket(ref)
        if ticket is not None and agent and ticket.assignee == agent:
            self._tell(ref, agent, key=event_id, now=now)
        return RouteResult("assigned", ref, agent or None)

    def _tell(self, ref: str, agent: str, *, key: str, now: datetime) -> None:
        ticket = self.repo.get_ticket(ref)
        ticket_notices.assignment(self.notifier, ticket, agent, key=key, now=now)


def _rotated(agents: Sequence[Agent], turn: int) -> list[Agent]:
    if not agents:
        return []
    start = turn % len(agents)
    return [*agents[start:], *agents[:start]]
