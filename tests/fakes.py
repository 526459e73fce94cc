"""In-memory fakes of the ports (helpdesk.ports), for the services' unit tests.

They keep the promises the adapters keep (all or nothing, version checks, claims made
once, events published only after a commit) and record what a user would see: the
tickets, their messages and history, the events on the bus, the mail sent. The local
stack (tests/integration) is where the real adapters run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

from helpdesk.config import Config
from helpdesk.effects import (
    Count,
    CountBacklog,
    GiveBackSlot,
    RecordFact,
    StartWaiting,
    StopWaiting,
    TakeSlot,
)
from helpdesk.errors import NotFound
from helpdesk.events import DomainEvent
from helpdesk.model import Contact, Message, Ticket
from helpdesk.unit_of_work import (
    AlreadyClaimed,
    Claim,
    NoCapacity,
    ReferenceTaken,
    StaleTicket,
    TicketChange,
    plan,
)


@dataclass
class FakePublisher:
    """The bus: every event published, in order."""

    events: list[DomainEvent] = field(default_factory=list)

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]


@dataclass
class FakeUnitOfWork:
    """Tickets in memory, committed whole or not at all (helpdesk.ports.TicketUnitOfWork)."""

    config: Config
    bus: FakePublisher = field(default_factory=FakePublisher)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    conversation: dict[str, list[Message]] = field(default_factory=dict)
    history: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    claims: dict[tuple[str, str, str], str] = field(default_factory=dict)
    timers: dict[tuple[str, str], datetime] = field(default_factory=dict)
    loads: Counter[str] = field(default_factory=Counter)
    holdings: dict[str, set[str]] = field(default_factory=dict)
    queue: dict[str, str] = field(default_factory=dict)  # ref -> team
    counters: dict[str, Counter[str]] = field(default_factory=dict)  # day -> counters
    backlog: Counter[tuple[str, str]] = field(default_factory=Counter)
    facts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    commits: int = 0
    # Makes the next commits fail as if another writer got there first (one per entry).
    interleaved: list[Ticket] = field(default_factory=list)

    # ------------------------------------------------------------------ reads
    def load(self, ref: str) -> Ticket:
        ticket = self.tickets.get(ref)
        if ticket is None:
            raise NotFound(f"ticket {ref}")
        return replace(ticket, flags=list(ticket.flags), tags=list(ticket.tags))

    def find(self, ref: str) -> Ticket | None:
        return self.load(ref) if ref in self.tickets else None

    def messages(self, ref: str) -> list[Message]:
        return list(self.conversation.get(ref, []))

    def contact(self, email: str) -> Contact | None:
        return self.contacts.get(email.lower())

    def claimed(self, claims: Iterable[Claim]) -> str | None:
        for claim in claims:
            ref = self.claims.get((claim.kind, claim.key, claim.qualifier))
            if ref is not None:
                return ref
        return None

    # ------------------------------------------------------------------ the commit
    def commit(self, change: TicketChange) -> Ticket:
        after = change.after
        if self.interleaved:
            # Another writer's change lands first: this commit finds a newer version.
            other = self.interleaved.pop(0)
            self.tickets[other.ref] = replace(other, version=other.version + 1)
        if change.before is None:
            if after.ref in self.tickets:
                raise ReferenceTaken(after.ref)
        elif self.tickets[after.ref].version != after.version:
            raise StaleTicket(after.ref)
        if self.claimed(change.claims) is not None:
            raise AlreadyClaimed(self.claimed(change.claims))
        derived = plan(change, self.config)
        for effect in derived.effects:
            if (
                isinstance(effect, TakeSlot)
                and effect.capacity is not None
                and self.loads[effect.agent] >= effect.capacity
            ):
                raise NoCapacity(after.ref)
        stored = replace(after, version=0 if change.before is None else after.version + 1)
        self.tickets[after.ref] = stored
        self.conversation.setdefault(after.ref, []).extend(change.messages)
        self.history.setdefault(after.ref, []).extend(
            (kind, dict(detail)) for kind, detail in change.history
        )
        for claim in change.claims:
            self.claims[(claim.kind, claim.key, claim.qualifier)] = after.ref
        if change.contact is not None:
            self.contacts.setdefault(change.contact.email.lower(), change.contact)
            if change.before is None:
                self.contacts[change.contact.email.lower()].ticket_count += 1
        for kind, due in derived.timers.items():
            if due is None:
                self.timers.pop((after.ref, kind), None)
            else:
                self.timers[(after.ref, kind)] = due
        for effect in derived.effects:
            self._apply(effect)
        self.commits += 1
        self.bus.publish(derived.events)
        return stored

    def _apply(self, effect: object) -> None:
        if isinstance(effect, TakeSlot):
            self.loads[effect.agent] += 1
            self.holdings.setdefault(effect.agent, set()).add(effect.ref)
        elif isinstance(effect, GiveBackSlot):
            self.loads[effect.agent] -= 1
            self.holdings.setdefault(effect.agent, set()).discard(effect.ref)
        elif isinstance(effect, StartWaiting):
            self.queue[effect.ref] = effect.team
        elif isinstance(effect, StopWaiting):
            self.queue.pop(effect.ref, None)
        elif isinstance(effect, Count):
            self.counters.setdefault(effect.day, Counter()).update(effect.counts)
        elif isinstance(effect, CountBacklog):
            self.backlog[(effect.team, effect.created_day)] += effect.amount
        elif isinstance(effect, RecordFact):
            self.facts[(effect.day, effect.kind, effect.key)] = dict(effect.attributes)

    # ------------------------------------------------------------------ for tests
    def add(self, ticket: Ticket) -> Ticket:
        """A ticket as if committed earlier (no effects, no events)."""
        self.tickets[ticket.ref] = ticket
        return ticket

    def events(self) -> list[DomainEvent]:
        return list(self.bus.events)


@dataclass
class SentMail:
    raw: bytes
    sender: str
    recipients: list[str]

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw)


@dataclass
class FakeMailer:
    """SES: every mail sent, as raw bytes with its envelope."""

    sent: list[SentMail] = field(default_factory=list)
    fail_next: int = 0

    def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> str:
        if self.fail_next:
            self.fail_next -= 1
            from helpdesk.errors import TransientError

            raise TransientError("ses: throttled")
        self.sent.append(SentMail(raw, sender, list(recipients)))
        return f"ses-{len(self.sent)}"


@dataclass
class FakeMailStore:
    """S3: objects by key."""

    objects: dict[str, bytes] = field(default_factory=dict)

    def read(self, key: str) -> bytes:
        if key not in self.objects:
            raise NotFound(f"object {key}")
        return self.objects[key]

    def write(self, key: str, data: bytes, content_type: str) -> str:
        del content_type
        self.objects[key] = data
        return key
