"""In-memory fakes of the ports (helpdesk.ports), for the services' unit tests.

They keep the promises the adapters keep (all or nothing, version checks, claims made
once, events published only after a commit) and record what a user would see: the
tickets, their messages and history, the events on the bus, the mail sent. The local
stack (tests/integration) is where the real adapters run.

- FakeUnitOfWork: tickets, messages, history, claims (a ``conversation`` claim is a
  pointer: see unit_of_work.Claim), timers, loads, queue, report counters; ``bus`` holds
  the events published after each commit; ``failures``, ``interleaved`` and
  ``meanwhile`` make a commit fail or race.
- FakeRecords(uow): what services keep beside tickets (contacts' lists, suppressions,
  hourly counts, Message-ID lookups), sharing the unit of work's state.
- FakeMailStore (S3), FakeMailer (SES; ``parsed`` reads each mail as a client does),
  FakeSentMail, FakeNotifier / fake_notifier (the real Notifier's rules, keeping each
  mail instead of sending it), fake_router.
- NoticeDesk: the real Notifier over these fakes, sending through send_once to the
  FakeMailer: the one harness of the notices' tests (events in, mails out).
- _the_fakes_as_ports, at the end, keeps each fake in line with its port (mypy).
"""

from __future__ import annotations

import email.message
import email.policy
import inspect
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import Message as EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk import effects, sla, unit_of_work
from helpdesk import timers as timer_kinds
from helpdesk.aws.dynamodb import DynamoRepository
from helpdesk.clock import parse_iso
from helpdesk.config import Config, load_config
from helpdesk.errors import NotFound, NotStored, TransientError
from helpdesk.events import DomainEvent, parse, to_detail
from helpdesk.mail.compose import OutboundMail
from helpdesk.model import (
    ACTIVE_STATUSES,
    ROBOT_FLAGS,
    Contact,
    Message,
    Ticket,
    in_backlog,
    listed_as_the_contacts,
)
from helpdesk.notices import Notifier, outbound
from helpdesk.notices.outbound import Quota, SendResult
from helpdesk.ports import (
    DeskMail,
    HeldPage,
    Known,
    QueuePosition,
    RoutingView,
    ThreadTail,
    TicketUnitOfWork,
)
from helpdesk.services.clocks import calendar_of
from helpdesk.services.routing import Router
from helpdesk.services.stats import DayFigures, backlog_by_day
from helpdesk.services.tickets import NewRequest
from helpdesk.timers import DueTimer
from helpdesk.unit_of_work import Claim, ClaimKind, TicketChange

# Monday 23 November 2026, 08:55 UTC = 09:55 in Berlin: inside office hours.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
# The shipped config, infra/helpdesk.yaml (frozen: one copy serves every test that reads it).
CONFIG = load_config(Path(__file__).resolve().parents[1] / "infra" / "helpdesk.yaml")


def with_limits(**limits: int) -> Config:
    """The desk's config (CONFIG) with the ``limits`` named set: the limit a test runs into."""
    return CONFIG.model_copy(update={"limits": CONFIG.limits.model_copy(update=limits)})


# Anna's question as intake takes it in; ``ticket`` is what it became.
ANNAS_REQUEST = NewRequest(
    channel="email",
    subject="Where is my order?",
    text="My order 1234 has not arrived.",
    contact_email="anna@example.com",
    contact_name="Anna Schmidt",
    language="en",
)


def ticket(**changes: Any) -> Ticket:
    """Anna's request as a ticket of infra/helpdesk.yaml: new, normal priority, standard
    tier and policy, team general, in English, unassigned, no SLA clocks, opened on Monday
    morning. ``changes`` set the fields a test is about."""
    request = ANNAS_REQUEST
    return replace(
        Ticket(
            ref="HD-7K3M9Q",
            status="new",
            priority="normal",
            channel=request.channel,
            subject=request.subject,
            created_at=MONDAY_MORNING,
            contact_email=request.contact_email,
            contact_name=request.contact_name,
            tier="standard",
            language="en",
            team="general",
            policy="standard",
        ),
        **changes,
    )


# The SlaWarning the SLA sweep publishes for Anna's ticket HD-AAAAAA (``ticket``, assigned
# to Lena, standard policy): its first response, four business hours from Monday 09:55, is
# due at 13:55 in Berlin. The sweep's tests check that it publishes this; the notices' tests
# deliver it.
FIRST_RESPONSE_WARNING: dict[str, Any] = {
    "ref": "HD-AAAAAA",
    "event_id": "first_response:warning:2026-11-23T12:55:00+00:00",
    "kind": "warning",
    "clock": "first_response",
    "due": "2026-11-23T12:55:00+00:00",
    "priority": "normal",
    "team": "general",
    "new_team": None,
    "assignee": "lena@support.example",
    "subject": "Where is my order?",
    "contact": {"email": "anna@example.com", "name": "Anna Schmidt", "shown": False},
    "language": "en",
    "policy": "standard",
}


def started_clocks(config: Config, at: datetime, *, priority: str = "normal") -> sla.SlaState:
    """The SLA clocks of a standard-policy ticket of ``priority`` opened at ``at``, as
    ``open_ticket`` starts them."""
    policy = config.policy("standard")
    calendar = calendar_of(policy.name, config)
    return sla.start(at, policy.name, policy.target(priority), policy.warn_at, calendar)


def sla_of(ticket: Ticket) -> sla.SlaState:
    """``ticket``'s SLA clocks; a ticket without them (an auto-reply's) fails the test here."""
    assert ticket.sla is not None, f"{ticket.ref} has no SLA clocks"
    return ticket.sla


@dataclass
class FakePublisher:
    """The bus: every ``(detail-type, detail)`` pair put on it, in order, as the outbox relay
    puts them (helpdesk.ports.Publisher). ``events`` reads them back as typed events, so
    every test also checks that what a commit records survives the wire."""

    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        # Through JSON, as the outbox item carries them (ticket_store: a JSON string).
        self.entries.extend(
            (kind, json.loads(json.dumps(detail, default=str, ensure_ascii=False)))
            for kind, detail in events
        )

    @property
    def events(self) -> list[DomainEvent]:
        parsed = [parse(kind, detail) for kind, detail in self.entries]
        assert all(event is not None for event in parsed), self.kinds()
        return [event for event in parsed if event is not None]

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.entries]


@dataclass
class FakeUnitOfWork:
    """Tickets in memory, committed whole or not at all (helpdesk.ports.TicketUnitOfWork)."""

    config: Config
    bus: FakePublisher = field(default_factory=FakePublisher)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    # Tickets opened without an entry among their contact's (model.listed_as_the_contacts).
    unlisted: set[str] = field(default_factory=set)
    conversation: dict[str, list[Message]] = field(default_factory=dict)
    history: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    # The claims of the last opening counted on each contact (count_opening).
    last_opening: dict[str, list[tuple[ClaimKind, str, str]]] = field(default_factory=dict)
    claims: dict[tuple[str, str, str], str] = field(default_factory=dict)
    timers: dict[tuple[str, str], datetime] = field(default_factory=dict)
    loads: Counter[str] = field(default_factory=Counter)
    holdings: dict[str, set[str]] = field(default_factory=dict)
    queue: dict[str, effects.StartWaiting] = field(default_factory=dict)  # ref -> its entry
    counters: dict[str, Counter[str]] = field(default_factory=dict)  # day -> counters
    facts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    commits: int = 0
    # Makes the next commits fail as if another writer got there first (one per entry).
    interleaved: list[Ticket] = field(default_factory=list)
    # Another writer's work that lands just before the next commit (one per entry, in order).
    meanwhile: list[Callable[[], object]] = field(default_factory=list)
    # The next commits fail whole (a throttled transaction): nothing written, nothing published.
    failures: int = 0
    # Tickets whose stored item cannot be read (its SLA clocks garbled, say): load raises.
    unreadable: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ reads
    def load(self, ref: str) -> Ticket:
        ticket = self.tickets.get(ref)
        if ticket is None:
            raise NotFound(f"ticket {ref}")
        if ref in self.unreadable:
            raise KeyError("targets")  # what SlaState.from_dict raises on a garbled item
        return replace(ticket, flags=list(ticket.flags), tags=list(ticket.tags))

    def find(self, ref: str) -> Ticket | None:
        return self.load(ref) if ref in self.tickets else None

    def messages(self, ref: str) -> list[Message]:
        return list(self.conversation.get(ref, []))

    def contact(self, email: str) -> Contact | None:
        return self.contacts.get(email.lower())

    def count_opening(self, contact: Contact, claims: Sequence[Claim]) -> Contact:
        """As the adapter: a stored name, language, creation time and zone are kept, and
        the opening counts once per claims (the last opening counted is remembered)."""
        email = contact.email.lower()
        opening = sorted((c.kind, c.key, c.qualifier) for c in claims) or None
        stored = self.contacts.get(email)
        if stored is not None and opening is not None and self.last_opening.get(email) == opening:
            return replace(stored)
        if stored is None:
            # The first opening decides the zone; one without a zone keeps "" (none).
            stored = self.contacts[email] = replace(
                contact, email=email, ticket_count=0, timezone=contact.timezone or ""
            )
        stored.tier = contact.tier
        stored.name = stored.name or contact.name
        stored.ticket_count += 1
        if opening is not None:
            self.last_opening[email] = opening
        return replace(stored)

    def claimed(self, claims: Iterable[Claim]) -> str | None:
        for claim in claims:
            if claim.kind == "conversation":
                # One pointer per conversation, moving on from the ticket it names.
                ref = self.claims.get((claim.kind, claim.key, ""))
                if ref is not None and ref != claim.qualifier:
                    return ref
                continue
            ref = self.claims.get((claim.kind, claim.key, claim.qualifier))
            if ref is not None:
                return ref
        return None

    # ------------------------------------------------------------------ the commit
    def commit(self, change: TicketChange) -> Ticket:
        after = change.after
        if self.meanwhile:
            self.meanwhile.pop(0)()
        if self.failures:
            self.failures -= 1
            raise TransientError("transact_write_items: throttled")
        if self.interleaved:
            # Another writer's change lands first: this commit finds a newer version.
            other = self.interleaved.pop(0)
            self.tickets[other.ref] = replace(other, version=other.version + 1)
        if change.before is None:
            if after.ref in self.tickets:
                raise unit_of_work.ReferenceTaken(after.ref)
        elif self.tickets[after.ref].version != after.version:
            raise unit_of_work.StaleTicket(after.ref)
        if self.claimed(change.claims) is not None:
            raise unit_of_work.AlreadyClaimed(self.claimed(change.claims))
        derived = unit_of_work.plan(change, self.config)
        for effect in derived.effects:
            if (
                isinstance(effect, effects.TakeSlot)
                and effect.capacity is not None
                and self.loads[effect.agent] >= effect.capacity
            ):
                raise unit_of_work.NoCapacity(after.ref)
        after = derived.ticket
        stored = replace(after, version=0 if change.before is None else after.version + 1)
        self.tickets[after.ref] = stored
        if not listed_as_the_contacts(stored):
            if change.before is None:
                self.unlisted.add(after.ref)
        elif change.before is not None and not listed_as_the_contacts(change.before):
            self.unlisted.discard(after.ref)  # as the adapter writes its entry then
        self.conversation.setdefault(after.ref, []).extend(change.messages)
        self.history.setdefault(after.ref, []).extend(
            (kind, dict(detail)) for kind, detail in change.history
        )
        for claim in change.claims:
            qualifier = "" if claim.kind == "conversation" else claim.qualifier
            self.claims[(claim.kind, claim.key, qualifier)] = after.ref
        for kind, due in derived.timers.items():
            if due is None:
                self.timers.pop((after.ref, kind), None)
            else:
                self.timers[(after.ref, kind)] = due
        for effect in derived.effects:
            self._apply(effect)
        self.commits += 1
        # The relay publishes the commit's outbox item once it is written (and only then).
        self.bus.publish([(event.kind, to_detail(event)) for event in derived.events])
        return stored

    def _apply(self, effect: object) -> None:
        if isinstance(effect, effects.TakeSlot):
            self.loads[effect.agent] += 1
            self.holdings.setdefault(effect.agent, set()).add(effect.ref)
        elif isinstance(effect, effects.GiveBackSlot):
            self.loads[effect.agent] -= 1
            self.holdings.setdefault(effect.agent, set()).discard(effect.ref)
        elif isinstance(effect, effects.StartWaiting):
            self.queue[effect.ref] = effect
        elif isinstance(effect, effects.StopWaiting):
            self.queue.pop(effect.ref, None)
        elif isinstance(effect, effects.Count):
            self.counters.setdefault(effect.day, Counter()).update(effect.counts)
        elif isinstance(effect, effects.RecordFact):
            self.facts[(effect.day, effect.kind, effect.key)] = dict(effect.attributes)

    # ------------------------------------------------------------------ for tests
    def add(self, ticket: Ticket) -> Ticket:
        """A ticket as if committed earlier (no effects, no events)."""
        self.tickets[ticket.ref] = ticket
        return ticket

    def events(self) -> list[DomainEvent]:
        return list(self.bus.events)

    def hold(self, agent: str, *tickets: Ticket) -> None:
        """``agent`` holds ``tickets`` (added as if committed earlier, with their slots)."""
        for ticket in tickets:
            self.add(replace(ticket, assignee=agent))
            self.loads[agent] += 1
            self.holdings.setdefault(agent, set()).add(ticket.ref)

    # ------------------------------------------------------------------ report figures
    def read_day(self, day: date) -> DayFigures:
        """The figures a report reads for ``day`` (helpdesk.ports.ReportFigures)."""
        figures = DayFigures(day.isoformat())
        figures.counters.update(self.counters.get(day.isoformat(), Counter()))
        for (fact_day, kind, _), attributes in sorted(self.facts.items()):
            if fact_day == day.isoformat():
                figures.facts.setdefault(kind, []).append(dict(attributes))
        return figures

    def open_tickets(self, team: str) -> list[Ticket]:
        """``team``'s active tickets: waiting in its queue or held by its agents."""
        refs = {ref for ref, entry in self.queue.items() if entry.team == team}
        for agent in self.config.agents_of(team):
            refs |= self.holdings.get(agent.email, set())
        found = [self.tickets[ref] for ref in refs if ref in self.tickets]
        return sorted(
            (t for t in found if t.team == team and t.status in ACTIVE_STATUSES),
            key=lambda t: (t.created_at, t.ref),
        )

    def read_backlog(self, team: str) -> dict[str, int]:
        """``team``'s backlog by creation day: its tickets that count in it, as the
        BacklogIndex lists them (the key a ticket carries while in_backlog)."""
        return backlog_by_day(
            (t.created_at for t in self.tickets.values() if t.team == team and in_backlog(t)),
            self.config,
        )


def fake_uow(uow: TicketUnitOfWork) -> FakeUnitOfWork:
    """The fake behind a service's unit of work (which the service holds as the port), for
    a test to look into or change."""
    assert isinstance(uow, FakeUnitOfWork)
    return uow


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
            raise TransientError("ses: throttled")
        self.sent.append(SentMail(raw, sender, list(recipients)))
        return f"ses-{len(self.sent)}"

    @property
    def parsed(self) -> list[tuple[email.message.EmailMessage, list[str]]]:
        """Each mail as a mail client reads it (decoded headers, ``get_content``), with
        the recipients SES was given."""
        read = []
        for mail in self.sent:
            message = message_from_bytes(mail.raw, policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            read.append((message, mail.recipients))
        return read

    def kinds(self) -> list[tuple[str, tuple[str, ...]]]:
        """(kind, recipients) of each mail sent, in order."""
        return [(mail_kind(message), tuple(to)) for message, to in self.parsed]


def mail_kind(mail: email.message.EmailMessage) -> str:
    """The kind of a mail the desk sent, from its Message-ID:
    ``hd.<ticket>.<kind>.<digest>@<domain>`` (helpdesk.mail.compose.make_message_id)."""
    return str(mail["Message-ID"]).strip("<>").split(".")[2]


@dataclass
class FakeMailStore:
    """S3: objects by key, and the Content-Type each was written with."""

    objects: dict[str, bytes] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def read(self, key: str) -> bytes:
        if key not in self.objects:
            raise NotStored(f"object {key}")
        return self.objects[key]

    def write(self, key: str, data: bytes, content_type: str) -> str:
        self.objects[key] = data
        self.types[key] = content_type
        return key


@dataclass
class FakeSentMail:
    """The records of sent mail, with the promises of helpdesk.aws.sent_mail: a claim and
    its counts are written all or nothing; a record is taken over only from the attempt
    that was read."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def record(self, message_id: str) -> outbound.SentRecord | None:
        item = self.records.get(message_id)
        if item is None:
            return None
        if item["state"] != "pending":
            return outbound.SentRecord("sent")
        return outbound.SentRecord("pending", item["attempt"], item["lease_until"])

    def claim(
        self, claim: outbound.Claim, quotas: Sequence[Quota], *, replacing: str | None
    ) -> None:
        item = self.records.get(claim.message_id)
        if (replacing is None and item is not None) or (
            replacing is not None and (item is None or item.get("attempt") != replacing)
        ):
            raise outbound.MailClaimed(claim.message_id)
        for quota in quotas:
            if self.counts.get((quota.scope, quota.window), 0) >= quota.limit:
                raise outbound.QuotaSpent(quota)
        for quota in quotas:
            self.counts[quota.scope, quota.window] = (
                self.counts.get((quota.scope, quota.window), 0) + 1
            )
        self.records[claim.message_id] = {
            "state": "pending",
            "attempt": claim.attempt,
            "lease_until": claim.lease_until,
            "ticket": claim.ticket,
            "to": claim.to,
            "cc": claim.cc,
        }

    def mark_sent(self, message_id: str, at: datetime) -> None:
        self.records[message_id]["state"] = "sent"

    def release(self, message_id: str) -> None:
        self.records.pop(message_id, None)


@dataclass
class FakeRecords:
    """What services keep beside the tickets (the rest of ``DynamoRepository``): thread
    lookups, hourly counters, suppressed mail, the timer index, the teams' queues and the
    agents' loads, kept on the unit of work's state so that both tell one story."""

    uow: FakeUnitOfWork
    suppressed: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    windows: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    turns: Counter[str] = field(default_factory=Counter)
    # contact -> (when, which ticket) of the contact's last survey (take_survey_slot)
    survey_slots: dict[str, tuple[str, str]] = field(default_factory=dict)
    # What an eventually consistent read still returns for a ticket (None: not there yet),
    # as a replica that has not seen the last write would ("Read consistency", DynamoDB
    # Developer Guide); a strongly consistent read always returns the ticket as it is.
    lagging: dict[str, Ticket | None] = field(default_factory=dict)
    # The same for a contact (its item is read in the same batch, but apart).
    lagging_contacts: dict[str, Contact] = field(default_factory=dict)
    # Each routing read, whether it was strongly consistent.
    views: list[bool] = field(default_factory=list)
    # How many backlog tickets each page of the agent API's queue walked (held_page).
    backlog_walks: list[int] = field(default_factory=list)
    # The records of the mail the desk sent, on the same table in AWS (desk_mail).
    sent_mail: FakeSentMail = field(default_factory=FakeSentMail)

    # ------------------------------------------------------------------ tickets
    def find_ticket(self, ref: str) -> Ticket | None:
        return self.uow.find(ref)

    def find_tickets(self, refs: Sequence[str]) -> dict[str, Ticket]:
        """The tickets of ``refs`` that exist (the adapter: BatchGetItem, 100 at a time)."""
        return {ref: ticket for ref in refs if (ticket := self.uow.find(ref)) is not None}

    def get_ticket(self, ref: str) -> Ticket:
        return self.uow.load(ref)

    def get_contact(self, email: str) -> Contact | None:
        return self.uow.contact(email)

    def messages(self, ref: str) -> list[Message]:
        return self.uow.messages(ref)

    def message(self, ref: str, message_id: str, *, newest: int | None = None) -> Message | None:
        """As the adapter: among the ``newest`` messages only, when given."""
        thread = sorted(self.uow.messages(ref), key=lambda m: (m.at, m.id), reverse=True)
        looked_at = thread if newest is None else thread[:newest]
        return next((m for m in looked_at if m.id == message_id), None)

    def thread_tail(
        self, ref: str, *, count: int, before: str | None = None, customer_side: bool = False
    ) -> ThreadTail | None:
        """As the adapter: the newest ``count`` (before ``before``), oldest first, and how
        many older ones there are."""
        # The table's order: the instant, then the id (the sort key MSG#<at>#<id>).
        thread = sorted(self.uow.messages(ref), key=lambda m: (m.at, m.id))
        if before is not None:
            ids = [m.id for m in thread]
            if before not in ids:
                return None
            thread = thread[: ids.index(before)]
        if customer_side:
            thread = [
                m
                for m in thread
                if m.direction in ("in", "out") and not ROBOT_FLAGS.intersection(m.flags)
            ]
        newest = thread[-count:] if count > 0 else []
        return ThreadTail(newest, len(thread) - len(newest))

    def contact_tickets(self, email: str, *, limit: int = 6) -> list[Ticket]:
        # The adapter lists a ticket by an entry its opening writes: none for a forger's.
        mine = [
            t
            for t in self.uow.tickets.values()
            if t.contact_email == email.lower() and t.ref not in self.uow.unlisted
        ]
        return sorted(mine, key=lambda t: t.created_at, reverse=True)[:limit]

    def desk_mail(self, message_id: str) -> DeskMail | None:
        item = self.sent_mail.records.get(message_id)
        if item is None:
            return None
        cc = item.get("cc")  # absent: a record written before the Cc was kept
        return DeskMail(item["ticket"], tuple(item["to"]), None if cc is None else tuple(cc))

    def ticket_for_message_id(self, message_id: str) -> str | None:
        """The desk's own mail's ticket, else the first ticket that carried the ID (claims
        are kept in the order they were made; the adapter keeps a first-writer pointer)."""
        sent = self.desk_mail(message_id)
        if sent is not None and sent.ticket is not None:
            return sent.ticket
        # A desk mail about no ticket (a report) holds no pointer: as on the table, the
        # first received mail carrying its ID points it at its ticket.
        return next(
            (
                ref
                for (kind, key, _), ref in self.uow.claims.items()
                if kind == "message" and key == message_id
            ),
            None,
        )

    # ------------------------------------------------------------------ requests
    def request_page_links(self, event: DomainEvent, *, now: datetime) -> None:
        """On the bus, as the stream relays the request's own outbox item."""
        self.uow.bus.publish([(event.kind, to_detail(event))])

    # ------------------------------------------------------------------ hourly counters
    def count_in_window(self, scope: str, window: str, *, limit: int, expires_at: int) -> bool:
        hits = self.windows.setdefault((scope, window), [])
        if len(hits) >= limit:
            return False
        hits.append(str(len(hits)))
        return True

    def count_once_in_window(
        self,
        scope: str,
        window: str,
        member: str,
        *,
        limit: int,
        expires_at: int,
        within: tuple[str, int] | None = None,
    ) -> bool:
        counts = [(self.windows.setdefault((scope, window), []), limit)]
        if within is not None:
            counts.append((self.windows.setdefault((scope, window, within[0]), []), within[1]))
        if any(member not in members and len(members) >= cap for members, cap in counts):
            return False
        for members, _ in counts:
            if member not in members:
                members.append(member)
        return True

    def record_suppressed(self, **listing: Any) -> None:
        """Takes exactly the keywords the adapter takes: they are bound to its signature, so
        the fake cannot drift from ``DynamoRepository.record_suppressed``."""
        given = inspect.signature(DynamoRepository.record_suppressed).bind(self, **listing)
        given.apply_defaults()
        entry = given.arguments
        ident = entry["raw_key"] or entry["message_id"] or entry["at"].isoformat()
        self.suppressed[(ident, entry["reason"])] = {
            "reason": entry["reason"],
            "from": entry["sender"],
            "subject": entry["subject"],
            "ref": entry["ref"],
        }

    def suppressed_reasons(self, ref: str) -> list[str]:
        return sorted(entry["reason"] for entry in self.suppressed.values() if entry["ref"] == ref)

    # ------------------------------------------------------------------ the timer index
    def due_timers(self, kind: str, now_key: str, *, page_size: int = 100) -> Iterator[DueTimer]:
        due = sorted(
            (timer_kinds.due_key(at), ref)
            for (ref, timer_kind), at in self.uow.timers.items()
            if timer_kind == kind
        )
        for key, ref in due:
            if key <= now_key:
                yield DueTimer(ref=ref, kind=kind, due_key=key)

    def remove_timer(self, ref: str, kind: str) -> None:
        self.uow.timers.pop((ref, kind), None)

    def take_survey_slot(self, contact_email: str, ref: str, *, at: str, free_since: str) -> bool:
        """The contact's survey slot, as the adapter's conditional update takes it."""
        key = contact_email.lower()
        taken = self.survey_slots.get(key)
        if taken is not None and taken[0] > free_since and taken[1] != ref:
            return False
        self.survey_slots[key] = (at, ref)
        # The adapter's update writes last_survey_at on the contact's item, which the
        # notices' served standing reads (attack 18, F5).
        contact = self.uow.contacts.get(key)
        if contact is not None:
            contact.last_survey_at = parse_iso(at)
        return True

    def move_timer(self, ref: str, kind: str, *, expected_key: str, due: datetime | None) -> bool:
        current = self.uow.timers.get((ref, kind))
        if current is None or timer_kinds.due_key(current) != expected_key:
            return False
        if due is None:
            del self.uow.timers[(ref, kind)]
        else:
            self.uow.timers[(ref, kind)] = due
        return True

    # ------------------------------------------------------------------ the teams' queues
    def waiting(
        self, team: str, *, limit: int | None = None, after: QueuePosition | None = None
    ) -> Iterator[effects.StartWaiting]:
        """``team``'s queue entries, oldest first (after ``after``, as the adapter's key
        condition on the index's sort key)."""
        start = (after.created_at, after.ref) if after else None
        entries = sorted(
            (
                entry
                for entry in self.uow.queue.values()
                if entry.team == team and (start is None or (entry.created_at, entry.ref) > start)
            ),
            key=lambda entry: (entry.created_at, entry.ref),
        )
        yield from entries[:limit]

    def held_page(
        self, team: str, *, after: QueuePosition | None, limit: int, walk: int
    ) -> HeldPage:
        """As the adapter: the backlog's tickets walked oldest first, at most ``walk`` of
        them (``backlog_walks`` records how many each page walked)."""
        start = (after.created_at, after.ref) if after else None
        agents = {agent.email.lower() for agent in self.uow.config.agents_of(team)}
        backlog = sorted(
            (
                self.uow.load(t.ref)
                for t in self.uow.tickets.values()
                if t.team == team
                and in_backlog(t)
                and (start is None or (t.created_at, t.ref) > start)
            ),
            key=lambda t: (t.created_at, t.ref),
        )
        held: list[Ticket] = []
        if walk <= 0:
            self.backlog_walks.append(0)
            return HeldPage(held, last=after, paused=True)
        last: QueuePosition | None = None
        for count, ticket in enumerate(backlog, start=1):
            last = QueuePosition(ticket.created_at, ticket.ref)
            if (effects.holder(ticket) or "").lower() in agents:
                held.append(ticket)
            if len(held) == limit:
                self.backlog_walks.append(count)
                return HeldPage(held, walked=count, last=last)
            if count == walk:
                self.backlog_walks.append(count)
                return HeldPage(held, walked=count, last=last, paused=True)
        self.backlog_walks.append(len(backlog))
        return HeldPage(held, walked=len(backlog), last=last)

    # ------------------------------------------------------------------ agents' loads
    def agent_loads(
        self, agents: Iterable[str], *, contact_email: str | None = None
    ) -> tuple[dict[str, int], Contact | None]:
        contact = self.uow.contact(contact_email) if contact_email else None
        return {agent: self.uow.loads[agent] for agent in agents}, contact

    def routing_view(
        self, ref: str, agents: Iterable[str], known: Known, *, consistent: bool = True
    ) -> RoutingView:
        self.views.append(consistent)
        ticket = self.uow.find(ref) if consistent or ref not in self.lagging else self.lagging[ref]
        loads, contact = self.agent_loads(agents, contact_email=known.contact_email)
        if not consistent and known.contact_email in self.lagging_contacts:
            contact = self.lagging_contacts[known.contact_email]
        first_message = known.first_message
        message = next(
            (
                m
                for m in self.uow.messages(ref)
                if first_message and (m.at.isoformat(), m.id) == first_message
            ),
            None,
        )
        return RoutingView(ticket, loads, contact, message)

    def next_turn(self, team: str) -> int:
        self.turns[team] += 1
        return self.turns[team] - 1


@dataclass(frozen=True)
class FakeNotifier(Notifier):
    """The notifier with its language and address rules, keeping each mail instead of
    sending it, once per (ticket, kind, key) as ``send_once`` does."""

    outbox: dict[tuple[str | None, str, str], OutboundMail] = field(default_factory=dict)
    # The hourly counts of the ``quotas`` a notice names itself (send_once's, all or
    # nothing); the per-recipient and per-ticket limits Notifier.send adds are not kept.
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def send(
        self,
        mail: OutboundMail,
        *,
        key: str,
        now: datetime,
        ticket_limit: bool = False,
        quotas: Sequence[Quota] = (),
        recipient_limit: bool = True,
    ) -> SendResult:
        message_id = f"<{mail.kind}.{key}@fake>"
        if (mail.ticket, mail.kind, key) in self.outbox:
            return SendResult(False, message_id, "already_sent")
        for quota in quotas:
            if self.counts[quota.scope, quota.window] >= quota.limit:
                return SendResult(False, message_id, quota.reason)
        # The mailer may fail (FakeMailer.fail_next): then nothing is recorded and a retry
        # sends the mail, as send_once releases its claim.
        self.mailer.send(mail.text.encode(), sender=mail.sender, recipients=[*mail.to, *mail.cc])
        self.outbox[(mail.ticket, mail.kind, key)] = mail
        self.counts.update((quota.scope, quota.window) for quota in quotas)
        return SendResult(True, message_id)

    def mails(self) -> list[OutboundMail]:
        return list(self.outbox.values())


def fake_notifier(records: FakeRecords, config: Config) -> FakeNotifier:
    return FakeNotifier(
        repo=records,
        mailer=FakeMailer(),
        config=config,
        signing_key=b"unit-test-signing-key",
        # The same records the intake reads (DynamoDB: one table): a reply naming a mail
        # the notices sent finds it (FakeRecords.desk_mail).
        sent_mail=records.sent_mail,
    )


# The desk's signing key in the notices' tests.
NOTICE_KEY = b"k" * 32


@dataclass
class NoticeDesk:
    """The real Notifier over the fakes, as the notices' tests drive it: tickets and their
    messages in the store, an event in as the bus delivers it, the mails SES took out."""

    config: Config = CONFIG
    # When an event is delivered, unless the test says otherwise.
    at: datetime = MONDAY_MORNING
    uow: FakeUnitOfWork = field(init=False)
    tickets: FakeRecords = field(init=False)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    # The records of sent mail, the ones the intake reads too (FakeRecords.sent_mail).
    sent_mail: FakeSentMail = field(init=False)

    def __post_init__(self) -> None:
        self.uow = FakeUnitOfWork(self.config)
        self.tickets = FakeRecords(self.uow)
        self.sent_mail = self.tickets.sent_mail

    @property
    def notifier(self) -> Notifier:
        return Notifier(
            repo=self.tickets,
            mailer=self.mailer,
            config=self.config,
            signing_key=NOTICE_KEY,
            sent_mail=self.sent_mail,
        )

    def on(self, detail_type: str, now: datetime | None = None, /, **detail: Any) -> None:
        """Deliver an event as the bus does: its detail-type and JSON detail, at ``now``
        (else :attr:`at`)."""
        from helpdesk.notices import handle

        event = parse(detail_type, detail)
        assert event is not None
        handle(event, self.notifier, now=now or self.at)

    def add(self, ticket: Ticket, *messages: Message) -> Ticket:
        """``ticket`` with ``messages``, as if committed earlier."""
        self.uow.add(ticket)
        self.uow.conversation[ticket.ref] = list(messages)
        return ticket


def fake_router(uow: FakeUnitOfWork, config: Config) -> Router:
    """Routing on the fakes, its notifier a ``FakeNotifier`` that keeps the mail it sends."""
    records = FakeRecords(uow)
    return Router(
        uow=uow,
        repo=records,
        notifier=fake_notifier(records, config),
        config=config,
    )


def acknowledgement_mail(**changes: Any) -> OutboundMail:
    """An acknowledgement from the desk to Anna (fields replaced by ``changes``)."""
    return replace(
        OutboundMail(
            kind="acknowledgement",
            ticket="HD-AAAAAA",
            sender="support@support.example",
            sender_name="Example Support",
            to=("anna@example.com",),
            subject="[#HD-AAAAAA] We have your request",
            text="Thank you.\n",
        ),
        **changes,
    )


if TYPE_CHECKING:
    from helpdesk.ports import (
        MailStore,
        Publisher,
        ReportFigures,
        RoutingRecords,
        TicketUnitOfWork,
        TimerIndex,
    )
    from helpdesk.services.agent_api import AgentRecords
    from helpdesk.services.email_intake import MailRecords
    from helpdesk.services.form_intake import FormRecords
    from helpdesk.services.message_intake import ChannelRecords
    from helpdesk.services.portal import PortalRecords
    from helpdesk.services.surveys import SurveyPageRecords, SurveyRecords

    def _the_fakes_as_ports(
        records: FakeRecords, uow: FakeUnitOfWork, store: FakeMailStore
    ) -> tuple[
        AgentRecords,
        MailRecords,
        FormRecords,
        ChannelRecords,
        PortalRecords,
        SurveyPageRecords,
        SurveyRecords,
        TimerIndex,
        RoutingRecords,
        TicketUnitOfWork,
        ReportFigures,
        Publisher,
        MailStore,
    ]:
        """Never run: mypy checks here that each fake still offers what the services call
        on the port the unit tests pass it as (composition.py checks the adapters)."""
        return (
            records,
            records,
            records,
            records,
            records,
            records,
            records,
            records,
            records,
            uow,
            uow,
            uow.bus,
            store,
        )
