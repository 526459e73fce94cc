"""One way to change a ticket: decide, commit with everything that follows, retry once
the ticket moved on.

A service says what happens to a ticket (:class:`TicketChange`); the unit of work
(``helpdesk.ports.TicketUnitOfWork``) commits it with the effects :func:`helpdesk.effects.
derive` finds and with its events, in one transaction. :func:`retry_on_conflict` is the
one retry loop of the desk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from helpdesk.errors import Conflict

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.effects import Effect
    from helpdesk.events import DomainEvent
    from helpdesk.model import Message, Ticket
    from helpdesk.ports import TicketUnitOfWork

# Attempts of one change against concurrent writers (each attempt re-reads the ticket).
MAX_ATTEMPTS = 5

T = TypeVar("T")


class StaleTicket(Conflict):
    """The ticket changed since it was read: read it again and decide again."""


class ReferenceTaken(Conflict):
    """A new ticket's random reference exists already: draw another."""


class AlreadyClaimed(Conflict):
    """A claim of this change was made before: the work was done (``ref`` is its ticket)."""

    def __init__(self, ref: str | None) -> None:
        super().__init__(f"already taken in as {ref}")
        self.ref = ref


class NoCapacity(Conflict):
    """The agent's last slot went to another ticket meanwhile."""


ClaimKind = Literal["delivery", "message", "submission", "channel_message", "conversation"]


@dataclass(frozen=True)
class Claim:
    """A marker that lets a change happen once.

    ``delivery``: a stored mail without a Message-ID (its S3 key); ``message``: a
    Message-ID from a sender (``qualifier``), which also lets replies naming the ID find
    the ticket; ``submission``: a form submission id; ``channel_message``: a channel's
    message (``key`` is ``<channel>#<hash of its conversation and id>``: sources number
    messages per conversation). ``conversation``: a channel's conversation
    (``<channel>#<conversation>``) pointing at its ticket, which moves on from ``qualifier``
    (the ticket it pointed at, "" for none) to the committed ticket: made before when it
    points at any other ticket by then. (An event that routed a ticket is recorded on the
    ticket itself: ``Ticket.routed_by``.)
    """

    kind: ClaimKind
    key: str
    qualifier: str = ""


@dataclass
class TicketChange:
    """What a service decided about one ticket; the unit of work commits it whole."""

    before: Ticket | None  # None: a new ticket
    after: Ticket
    at: datetime
    messages: Sequence[Message] = ()
    events: Sequence[DomainEvent] = ()
    # (kind, detail) entries of the ticket's audit trail
    history: Sequence[tuple[str, Mapping[str, Any]]] = ()
    claims: Sequence[Claim] = ()
    # who acted (an agent's reply credits the agent in the reports)
    actor: str | None = None
    # timers set or stopped beyond what the change derives (a survey sent stops its timer)
    timers: Mapping[str, datetime | None] = field(default_factory=dict)
    # effects beyond the derived ones (routing's slot taken under a capacity, a queue entry)
    effects: Sequence[Effect] = ()


def retry_on_conflict(
    attempt: Callable[[], T],
    *,
    retry: tuple[type[Conflict], ...] = (StaleTicket,),
    attempts: int = MAX_ATTEMPTS,
    what: str = "ticket",
) -> T:
    """``attempt()`` until it does not raise one of ``retry``: the one retry loop."""
    for _ in range(attempts):
        try:
            return attempt()
        except retry:
            continue
    raise Conflict(f"{what}: too many concurrent changes")


def change_ticket(
    uow: TicketUnitOfWork,
    ref: str,
    decide: Callable[[Ticket], TicketChange | None],
) -> Ticket:
    """Read ``ref``, let ``decide`` say what changes (None: nothing), commit it; read and
    decide again when another writer got there first. Returns the ticket as it now is."""

    def attempt() -> Ticket:
        ticket = uow.load(ref)
        change = decide(ticket)
        return ticket if change is None else uow.commit(change)

    return retry_on_conflict(attempt, what=ref)


def commit_new_ticket(uow: TicketUnitOfWork, build: Callable[[str], TicketChange]) -> Ticket:
    """Commit the new ticket ``build(ref)`` makes under a fresh reference, drawing another
    while the reference is taken."""
    from helpdesk.model import new_reference

    return retry_on_conflict(
        lambda: uow.commit(build(new_reference())), retry=(ReferenceTaken,), what="new ticket"
    )


@dataclass(frozen=True)
class Plan:
    """Everything one commit writes: what :func:`plan` derives, and the ticket as it
    stands after its effects (whether it waits in its team's queue)."""

    ticket: Ticket
    effects: list[Effect]
    timers: dict[str, datetime | None]
    events: list[DomainEvent]


def plan(change: TicketChange, config: Config) -> Plan:
    """The ticket, effects, timers and events of ``change``: the derived ones
    (effects.derive), the change's own, a ``CapacityFreed`` for every agent whose slot it
    gave back, and the ticket counting the messages from outside it adds
    (``Ticket.messages_in`` and ``messages_unproven``, which bound a thread:
    helpdesk.model.MESSAGES_IN_MAX)."""
    from helpdesk.effects import StartWaiting, StopWaiting, TakeSlot, derive
    from helpdesk.events import CapacityFreed
    from helpdesk.model import proves_its_author

    derived = derive(change.before, change.after, at=change.at, config=config, actor=change.actor)
    # A slot the change takes itself (routing, under a capacity) replaces the derived one.
    taken = {(e.agent, e.ref) for e in change.effects if isinstance(e, TakeSlot)}
    derived_effects = [
        e for e in derived.effects if not (isinstance(e, TakeSlot) and (e.agent, e.ref) in taken)
    ]
    freed: list[DomainEvent] = []
    for agent in derived.released:
        member = config.agent(agent)
        freed.append(CapacityFreed(change.after.ref, agent, list(member.teams) if member else []))
    effects = [*change.effects, *derived_effects]
    ticket = change.after
    if any(isinstance(e, StartWaiting) for e in effects):
        ticket = replace(ticket, waiting=True)
    elif any(isinstance(e, StopWaiting) for e in effects):
        ticket = replace(ticket, waiting=False)
    inbound = [message for message in change.messages if message.direction == "in"]
    if inbound:
        proven = sum(1 for message in inbound if proves_its_author(message))
        before = change.before
        ticket = replace(
            ticket,
            messages_in=(before.messages_in if before else 0) + proven,
            messages_unproven=(before.messages_unproven if before else 0) + len(inbound) - proven,
        )
    return Plan(
        ticket=ticket,
        effects=effects,
        timers={**derived.timers, **change.timers},
        events=[*change.events, *freed],
    )
