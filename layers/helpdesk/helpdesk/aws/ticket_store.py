"""The unit of work on DynamoDB: a ticket change, its effects and its events in one
transaction.

Every key a commit writes is made here (docs/ARCHITECTURE.md keeps the access patterns):

| item | PK | SK |
| --- | --- | --- |
| message | ``TICKET#<ref>`` | ``MSG#<at>#<id>`` |
| history + outbox | ``TICKET#<ref>`` | ``EVT#<at>#<version>`` (one per commit) |
| ticket | ``TICKET#<ref>`` | ``META`` (its SLA clock: TimerIndex ``TPK``/``TSK``) |
| survey / auto-close timer | ``TICKET#<ref>`` | ``TIMER#<kind>`` (TimerIndex: ``TPK``/``TSK``) |
| queue entry | ``TICKET#<ref>`` | ``QUEUE`` (GSI1: ``QUEUE#<team>``) |
| delivery | ``RAW#<key>`` | ``RAW`` |
| Message-ID: thread pointer (first ticket) and each sender's claim | ``MSGID#<id>`` | ``MSGID`` |
| form submission | ``FORM#<id>`` | ``FORM`` |
| a channel's message | ``CHANMSG#<channel>#<id>`` | ``CHANMSG`` |
| a channel's conversation: its ticket | ``CONV#<channel>#<conversation>`` | ``CONV`` |
| contact (before an opening's transaction) | ``CONTACT#<email>`` | ``META`` |
| agent's load | ``AGENT#<email>`` | ``LOAD`` |
| report counters | ``STATS#<day>`` | ``C#<shard>`` (one attribute per counter) |
| report fact | ``STATS#<day>`` | ``F#<kind>#<key>`` |

A ticket in its team's backlog (:func:`helpdesk.model.in_backlog`) carries ``BPK =
BACKLOG#<team>`` on its META item (``helpdesk.aws.dynamodb.ticket_item``): the sparse,
keys-only ``BacklogIndex`` (sort key ``GSI1SK``, ``<created>#<ref>``) lists a team's open
tickets, from which a report ages its backlog and finds the tickets that need attention,
and the agent API the tickets a team's agents hold. Nothing else counts them: a ticket
entering or leaving is one index write, a change that keeps it in is none.

The outbox: a commit with events writes them into its history item, marked
``type = "outbox"``; the table's stream carries that insert to the publish function,
which puts the events on the bus. The events are published if and only if the change
was committed, whatever happens to the process after the commit (AWS Prescriptive
Guidance, "Transactional outbox pattern"; the stream keeps records for 24 hours).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, assert_never

from helpdesk import effects, timers
from helpdesk.aws.dynamodb import (
    BATCH_GET_MAX_KEYS,
    ConditionFailed,
    DynamoRepository,
    Timer,
    backlog_key,
    contact_entry,
    contact_from_item,
    created_sort_key,
    message_from_item,
    message_item,
    ticket_from_item,
    ticket_item,
)
from helpdesk.aws.outbox_relay import OUTBOX_TYPE, encode_events
from helpdesk.clock import parse_iso
from helpdesk.effects import (
    Count,
    Effect,
    GiveBackSlot,
    RecordFact,
    StartWaiting,
    StopWaiting,
    TakeSlot,
    holder,
)
from helpdesk.errors import Conflict
from helpdesk.model import ACTIVE_STATUSES, Contact, Ticket, in_backlog, listed_as_the_contacts
from helpdesk.ports import HeldPage, Known, QueuePosition, RoutingView
from helpdesk.unit_of_work import (
    AlreadyClaimed,
    Claim,
    NoCapacity,
    ReferenceTaken,
    StaleTicket,
    TicketChange,
    plan,
)

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.services.stats import DayFigures


# Report items are spread over this many shards (crc32 of the reference): two
# transactions on one item conflict, and a report reads a day's partition whole anyway.
STATS_SHARDS = 8

Operation = dict[str, Any]


def claim_key(claim: Claim) -> tuple[str, str]:
    """The (PK, SK) of a claim's marker item."""
    if claim.kind == "delivery":
        return f"RAW#{claim.key}", "RAW"
    if claim.kind == "message":
        return f"MSGID#{claim.key}", "MSGID"
    if claim.kind == "channel_message":
        return f"CHANMSG#{claim.key}", "CHANMSG"
    if claim.kind == "conversation":
        return f"CONV#{claim.key}", "CONV"
    if claim.kind == "submission":
        return f"FORM#{claim.key}", "FORM"
    # A new kind must be given keys of its own here (mypy refuses to reach this line), or
    # its markers would meet another kind's: the collision the channel recipe warns of.
    assert_never(claim.kind)


def opening_key(claims: Sequence[Claim]) -> str | None:
    """A short name of the opening ``claims`` let happen once, the same each time it is
    tried (None without claims): 16 characters of a BLAKE2b digest of the claims, so that
    a long Message-ID does not grow the contact's item."""
    if not claims:
        return None
    text = "\n".join(sorted(f"{c.kind}\t{c.key}\t{c.qualifier}" for c in claims))
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def claim_attribute(claim: Claim) -> str:
    """The attribute of a claim's item that holds the ticket it went to.

    A Message-ID's item is shared: its ``ref`` is the thread pointer (the first ticket that
    carried the ID, which replies naming it find), and each sender that used the ID claims
    it in an attribute of its own (``from:<sender>``), so a forged copy from someone else
    neither blocks the real mail nor takes the thread. One item instead of two saves two
    write units per mail in the commit's transaction (issue 15).
    """
    return f"from:{claim.qualifier.lower()}" if claim.kind == "message" else "ref"


class DynamoTicketStore(DynamoRepository):
    """Tickets on DynamoDB, changed through :meth:`commit` (the unit of work)."""

    def __init__(self, table: str, *, config: Config, timer_shards: int = 4) -> None:
        super().__init__(table, timer_shards=timer_shards)
        self.config = config

    # ------------------------------------------------------------------ reads
    def load(self, ref: str) -> Ticket:
        return self.get_ticket(ref)

    def find(self, ref: str) -> Ticket | None:
        return self.find_ticket(ref)

    # ------------------------------------------------------------------ the contact
    def count_opening(self, contact: Contact, claims: Sequence[Claim]) -> Contact:
        """Write the contact of a ticket about to open, count the opening on it once per
        ``claims`` (the opening's own: its mail, submission or channel message), and return
        the contact as stored: one UpdateItem before the opening's transaction.

        Not in the transaction: there it costs two write units, here one, and what the
        write returns (``ReturnValues``: no read units, strongly consistent; DynamoDB API
        Reference, UpdateItem), the zone a browser gave before, rides on TicketOpened, so the
        acknowledgement reads no contact (docs/ARCHITECTURE.md, "The contact: written
        before the opening"). It may be repeated: the name, language, creation time and zone are
        kept (if_not_exists; a name only once one is given), and the opening's claims name the
        last opening counted, so the same mail, submission or message again (an at-least-once
        delivery, a failed transaction retried) counts nothing and is handed the contact as it
        stands (``ReturnValuesOnConditionCheckFailure``, DynamoDB API Reference, UpdateItem).
        What it cannot tell: the same mail again after another opening of the contact was
        counted, and an opening whose transaction never commits, count one too many:
        ``ticket_count`` may be above the contact's tickets, never below (its one reader, the
        assignment mail, looks the contact's tickets up unless it is 1).
        """
        opening = opening_key(claims)
        # An alias, as for name and language: DynamoDB reserves many plain words.
        names = {"#n": "name", "#l": "language", "#z": "timezone"}
        values: dict[str, Any] = {
            ":e": contact.email.lower(),
            ":t": contact.tier,
            ":l": contact.language,
            ":c": contact.created_at.isoformat(),
            # Anyone can file the form with a customer's address: a stranger's zone must
            # not move her promised times (security review F7). So the contact's first
            # opening decides, and one without a zone (a mail) keeps "" (none): a form
            # filed later in her name gives her no zone either (attack 8, F2).
            ":z": contact.timezone or "",
            ":one": 1,
        }
        if opening is not None:
            names["#o"], values[":o"] = "last_opening", opening
        # A contact without a name (an opening that does not show she wrote it gives none)
        # leaves the name for the first that does: a forger's must not greet her.
        if contact.name:
            values[":n"] = contact.name
        else:
            del names["#n"]
        expression = (
            "SET email = :e, tier = :t, "
            + ("#n = if_not_exists(#n, :n), " if contact.name else "")
            + "#l = if_not_exists(#l, :l), created_at = if_not_exists(created_at, :c), "
            "#z = if_not_exists(#z, :z)"
            + (", #o = :o" if opening is not None else "")
            + " ADD ticket_count :one"
        )
        try:
            item = self.update(
                f"CONTACT#{contact.email.lower()}",
                "META",
                expression,
                values=values,
                names=names,
                condition="attribute_not_exists(#o) OR #o <> :o" if opening is not None else None,
                return_new=True,
                old_on_failure=True,
            )
        except ConditionFailed as counted_before:
            if counted_before.item is None:
                raise
            item = counted_before.item
        assert item is not None  # return_new
        return contact_from_item(item)

    def claimed(self, claims: Iterable[Claim]) -> str | None:
        for claim in claims:
            item = self.get_item(*claim_key(claim))
            ref = str(item.get(claim_attribute(claim)) or "") if item else ""
            # A conversation moving on from the ticket it names is not made by that ticket.
            if ref and not (claim.kind == "conversation" and ref == claim.qualifier):
                return ref
        return None

    # ------------------------------------------------------------------ the commit
    def commit(self, change: TicketChange) -> Ticket:
        """Write ``change`` whole, or raise the domain error that says why not."""
        derived = plan(change, self.config)
        after = derived.ticket
        creating = change.before is None
        stored = replace(after, version=0 if creating else after.version + 1)
        roles: list[str] = []
        operations: list[Operation] = []

        def add(role: str, operation: Operation) -> None:
            roles.append(role)
            operations.append(operation)

        ticket_put: Operation = {"put": ticket_item(stored)}
        # The SLA clock rides on the ticket's own item (TimerIndex is sparse: a ticket whose
        # clocks are all stopped is not in it): its due instant follows from the ticket, so
        # every commit writes it as it is, and no timer item costs two more write units.
        sla_due = effects.sla_due(stored)
        if sla_due is not None:
            ticket_put["put"] |= self.timer_keys(after.ref, Timer(timers.SLA, sla_due))
        if creating:
            ticket_put["condition"] = "attribute_not_exists(PK)"
        else:
            ticket_put |= {
                "condition": "#v = :v",
                "names": {"#v": "version"},
                "values": {":v": after.version},
            }
        add("ticket", ticket_put)
        for claim in change.claims:
            if claim.kind == "message":
                add("claim", _message_claim(claim, after.ref, change.at))
                continue
            pk, sk = claim_key(claim)
            attributes: dict[str, Any] = {"ref": after.ref, "at": change.at.isoformat()}
            claim_put: Operation = {
                "put": {"PK": pk, "SK": sk, **attributes},
                "condition": "attribute_not_exists(PK)",
            }
            if claim.kind == "conversation" and claim.qualifier:
                # The conversation moves on from its closed ticket: only if it still points
                # there (two messages at once must not open two tickets).
                claim_put |= {
                    "condition": "#ref = :previous",
                    "names": {"#ref": "ref"},
                    "values": {":previous": claim.qualifier},
                }
            add("claim", claim_put)
        for message in change.messages:
            add("message", {"put": message_item(message)})
        for kind, due in derived.timers.items():
            if kind == timers.SLA:
                continue  # on the ticket's item (above)
            if due is None:
                add("timer", {"delete": {"PK": f"TICKET#{after.ref}", "SK": f"TIMER#{kind}"}})
            else:
                add("timer", {"put": self.timer_item(after.ref, Timer(kind, due))})
        record = self._history_item(stored, change, derived.events)
        if record is not None:
            add("history", {"put": record})
        for effect in derived.effects:
            for operation in self._effect_operations(effect):
                add(
                    "slot" if isinstance(effect, TakeSlot) and effect.capacity else "effect",
                    operation,
                )
        try:
            self.transact(operations)
        except Conflict as conflict:
            raise self._why(conflict, roles, change, creating) from conflict
        return stored

    def _why(
        self, conflict: Conflict, roles: list[str], change: TicketChange, creating: bool
    ) -> Conflict:
        """The domain error of a cancelled transaction, from the first failed condition."""
        reasons: list[str] = list(getattr(conflict, "reasons", []))
        failed = next(
            (roles[i] for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"),
            "ticket",
        )
        if failed == "claim":
            return AlreadyClaimed(self.claimed(change.claims))
        if failed == "slot":
            return NoCapacity(f"{change.after.ref}: the agent's last slot is gone")
        if failed == "ticket":
            return ReferenceTaken(change.after.ref) if creating else StaleTicket(change.after.ref)
        return conflict

    def _history_item(
        self, stored: Ticket, change: TicketChange, events: list[Any]
    ) -> dict[str, Any] | None:
        """The commit's audit entries and, when it has events, its outbox (one item); and,
        on the commit that makes the ticket its contact's (its opening, or the one that took
        the robot's flags away: review 17, #2), its entry among the contact's tickets."""
        listing = listed_as_the_contacts(stored) and (
            change.before is None or not listed_as_the_contacts(change.before)
        )
        if not change.history and not events and not listing:
            return None
        at = change.at.isoformat()
        item: dict[str, Any] = {
            "PK": f"TICKET#{stored.ref}",
            "SK": f"EVT#{at}#{stored.version:010d}",
            "at": at,
            "entries": [{"kind": kind, "detail": dict(detail)} for kind, detail in change.history],
        }
        if listing:
            # Never changed: the ticket's entry among its contact's tickets (a second one,
            # were it ever written, lists it once: contact_tickets).
            item |= contact_entry(stored)
        if events:
            item["type"] = OUTBOX_TYPE
            item["events"] = encode_events(events)
        return item

    def _effect_operations(self, effect: Effect) -> list[Operation]:
        if isinstance(effect, TakeSlot):
            update: Operation = {
                "update": {"PK": f"AGENT#{effect.agent.lower()}", "SK": "LOAD"},
                "expression": "ADD #open :one SET #type = :type",
                "names": {"#open": "open", "#type": "type"},
                "values": {":one": 1, ":type": "agent_load"},
            }
            if effect.capacity is not None:
                update["condition"] = "attribute_not_exists(#open) OR #open < :capacity"
                update["values"] = {**update["values"], ":capacity": effect.capacity}
            # Which tickets the agent holds is the ticket's own ``assignee`` (the team's
            # held tickets: :meth:`held_page`); only the count needs an item of its own.
            return [update]
        if isinstance(effect, GiveBackSlot):
            return [
                {
                    "update": {"PK": f"AGENT#{effect.agent.lower()}", "SK": "LOAD"},
                    "expression": "ADD #open :minus",
                    "names": {"#open": "open"},
                    "values": {":minus": -1},
                },
            ]
        if isinstance(effect, StopWaiting):
            return [{"delete": {"PK": f"TICKET#{effect.ref}", "SK": "QUEUE"}}]
        if isinstance(effect, StartWaiting):
            return [
                {
                    "put": {
                        "PK": f"TICKET#{effect.ref}",
                        "SK": "QUEUE",
                        "type": "queued",
                        "GSI1PK": f"QUEUE#{effect.team}",
                        "GSI1SK": created_sort_key(effect.created_at, effect.ref),
                        "ref": effect.ref,
                        "team": effect.team,
                    }
                }
            ]
        if isinstance(effect, Count):
            names = {f"#c{i}": name for i, name in enumerate(effect.counts)}
            values = {f":c{i}": n for i, n in enumerate(effect.counts.values())}
            return [
                {
                    "update": {
                        "PK": f"STATS#{effect.day}",
                        "SK": f"C#{timers.shard_of(effect.ref, STATS_SHARDS)}",
                    },
                    "expression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(names))),
                    "names": names,
                    "values": values,
                }
            ]
        assert isinstance(effect, RecordFact)
        return [
            {
                "put": {
                    "PK": f"STATS#{effect.day}",
                    "SK": f"F#{effect.kind}#{effect.key}",
                    **effect.attributes,
                }
            }
        ]

    # ------------------------------------------------------------------ the queue
    def waiting(
        self, team: str, *, limit: int | None = None, after: QueuePosition | None = None
    ) -> Iterator[StartWaiting]:
        """Tickets waiting in ``team``'s queue, oldest first; only those after ``after``
        (a key condition on the index's sort key: the Query reads from there on)."""
        start = created_sort_key(after.created_at, after.ref) if after else None
        for item in self.index_items(f"QUEUE#{team}", limit=limit, after=start):
            created, _, ref = str(item["GSI1SK"]).rpartition("#")
            yield StartWaiting(ref, team, parse_iso(created))

    # ------------------------------------------------------------------ the backlog
    def backlog_entries(
        self, team: str, *, after: QueuePosition | None = None
    ) -> Iterator[tuple[str, datetime]]:
        """(reference, creation instant) of each ticket in ``team``'s backlog, oldest first
        (only those after ``after``): one Query of the sparse BacklogIndex (keys only,
        eventually consistent, as every index read is), paginated."""
        condition, values = "BPK = :pk", {":pk": {"S": backlog_key(team)}}
        if after is not None:
            condition += " AND GSI1SK > :after"
            values[":after"] = {"S": created_sort_key(after.created_at, after.ref)}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "BacklogIndex",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        for item in self._paginate(kwargs, None):
            created, _, ref = str(item["GSI1SK"]).rpartition("#")
            yield ref, parse_iso(created)

    def backlog_tickets(self, team: str) -> list[Ticket]:
        """The tickets of ``team``'s backlog, oldest first: the index's keys, then
        BatchGetItem by key, 100 at a time (never a scan). The cost follows the team's open
        work. A ticket that left the backlog since the index was updated is left out."""
        tickets = (ticket for _, ticket in self._backlog_walk(team) if ticket is not None)
        return sorted(tickets, key=lambda t: (t.created_at, t.ref))

    def held_page(
        self, team: str, *, after: QueuePosition | None, limit: int, walk: int
    ) -> HeldPage:
        """The tickets of ``team`` that one of its agents holds, oldest first (in the
        index's order, which the cursor ``after`` follows): at most ``limit``, read through
        the backlog's keys 100 at a time, and no more than ``walk`` of them: where they run
        out before ``limit`` tickets are found, the page says where it paused."""
        held: list[Ticket] = []
        if walk <= 0:
            return HeldPage(held, last=after, paused=True)
        walked = self._backlog_walk(team, after=after, batch=min(walk, BATCH_GET_MAX_KEYS))
        count, last = 0, None
        for count, (last, ticket) in enumerate(walked, start=1):
            if ticket is not None and self._held_in(ticket, team):
                held.append(ticket)
                if len(held) == limit:
                    return HeldPage(held, walked=count, last=last)
            if count == walk:
                return HeldPage(held, walked=count, last=last, paused=True)
        return HeldPage(held, walked=count, last=last)

    def _backlog_walk(
        self, team: str, *, after: QueuePosition | None = None, batch: int = BATCH_GET_MAX_KEYS
    ) -> Iterator[tuple[QueuePosition, Ticket | None]]:
        """Each entry of ``team``'s backlog in the index's order (after ``after``), with its
        ticket, read ``batch`` keys at a time as they are asked for; None for a ticket
        that left the backlog since the index was updated."""
        entries = self.backlog_entries(team, after=after)
        while chunk := list(islice(entries, batch)):
            keys = [(f"TICKET#{ref}", "META") for ref, _ in chunk]
            found = self.get_items(keys, consistent=False)
            for key, (ref, created_at) in zip(keys, chunk, strict=True):  # the index's order
                item = found.get(key)
                ticket = ticket_from_item(item) if item else None
                in_it = ticket is not None and ticket.team == team and in_backlog(ticket)
                yield QueuePosition(created_at, ref), ticket if in_it else None

    def _held_in(self, ticket: Ticket, team: str) -> bool:
        agent = holder(ticket)
        return agent is not None and any(
            a.email.lower() == agent.lower() for a in self.config.agents_of(team)
        )

    # ------------------------------------------------------------------ agents
    def agent_loads(
        self, agents: Iterable[str], *, contact_email: str | None = None
    ) -> tuple[dict[str, int], Contact | None]:
        """The open tickets each agent holds (and a contact, when asked), in one request."""
        keys = {agent: (f"AGENT#{agent.lower()}", "LOAD") for agent in agents}
        if contact_email is None:
            contact, items = None, self.get_items(keys.values())
        else:
            contact, items = self.get_contact_and_items(contact_email, keys.values())
        return {
            agent: int(items.get(key, {}).get("open", 0)) for agent, key in keys.items()
        }, contact

    def routing_view(
        self, ref: str, agents: Iterable[str], known: Known, *, consistent: bool = True
    ) -> RoutingView:
        """What routing reads about one ticket, in one BatchGetItem: the ticket, the loads
        of ``agents``, and its contact and first message when the event named them
        (``known``). An eventually consistent read costs half the read units ("Read
        consistency", DynamoDB Developer Guide) and may miss the last writes."""
        contact_email, first_message = known.contact_email, known.first_message
        ticket_key = (f"TICKET#{ref}", "META")
        load_keys = {agent: (f"AGENT#{agent.lower()}", "LOAD") for agent in agents}
        contact_key = (f"CONTACT#{contact_email.lower()}", "META") if contact_email else None
        message_key = (
            (f"TICKET#{ref}", f"MSG#{first_message[0]}#{first_message[1]}")
            if first_message
            else None
        )
        keys = [ticket_key, *load_keys.values(), *(k for k in (contact_key, message_key) if k)]
        found = self.get_items(keys, consistent=consistent)
        ticket = found.get(ticket_key)
        contact = found.get(contact_key) if contact_key else None
        message = found.get(message_key) if message_key else None
        return RoutingView(
            ticket=ticket_from_item(ticket) if ticket else None,
            loads={a: int(found.get(k, {}).get("open", 0)) for a, k in load_keys.items()},
            contact=contact_from_item(contact) if contact else None,
            first_message=message_from_item(message) if message else None,
        )

    def next_turn(self, team: str) -> int:
        """The team's round-robin turn (an atomic counter: two routers never share a turn)."""
        item = self.update(
            f"TEAM#{team}",
            "CURSOR",
            "ADD #turn :one",
            names={"#turn": "turn"},
            values={":one": 1},
            return_new=True,
        )
        return int((item or {}).get("turn", 1)) - 1

    # ------------------------------------------------------------------ report figures
    def read_day(self, day: date) -> DayFigures:
        """One day's figures (one Query of the day's partition, paginated)."""
        from helpdesk.services.stats import DayFigures

        figures = DayFigures(day.isoformat())
        for item in self.query_partition(f"STATS#{day.isoformat()}"):
            key = str(item["SK"])
            if key.startswith("C#"):
                figures.counters.update(
                    {
                        name: int(value)
                        for name, value in item.items()
                        if name not in ("PK", "SK") and isinstance(value, int)
                    }
                )
            elif key.startswith("F#"):
                kind = key[2:].split("#", 1)[0]
                figures.facts.setdefault(kind, []).append(item)
        return figures

    def open_tickets(self, team: str) -> list[Ticket]:
        """The active tickets of ``team`` that wait in its queue or that its agents hold
        (the report's "needs attention" list), read through its backlog
        (:meth:`backlog_tickets`): a ticket in neither, such as a robot's ticket a person
        wrote on, which route never sees, is in the backlog but not listed here."""
        return [
            t
            for t in self.backlog_tickets(team)
            if t.status in ACTIVE_STATUSES and (t.waiting or self._held_in(t, team))
        ]

    def read_backlog(self, team: str) -> dict[str, int]:
        """Open tickets of ``team`` by the report day they were created on (days with none
        left out): the keys of its BacklogIndex partition, no ticket read."""
        from helpdesk.services.stats import backlog_by_day

        return backlog_by_day((created for _, created in self.backlog_entries(team)), self.config)


def _message_claim(claim: Claim, ref: str, at: datetime) -> Operation:
    """Claim a Message-ID for its sender, and point the ID's thread at ``ref`` unless a
    ticket holds it already: the first ticket that carried the ID keeps it (if_not_exists,
    so a later mail reusing the ID, forged or not, never takes the thread over). The
    desk's own mail (sent-mail records) holds the pointer already. Only the sender's own
    claim is a condition: the same mail delivered twice fails here."""
    pk, sk = claim_key(claim)
    return {
        "update": {"PK": pk, "SK": sk},
        "expression": (
            "SET #ref = if_not_exists(#ref, :ref), #at = if_not_exists(#at, :at), #from = :ref"
        ),
        "condition": "attribute_not_exists(#from)",
        "names": {"#ref": "ref", "#at": "at", "#from": claim_attribute(claim)},
        "values": {":ref": ref, ":at": at.isoformat()},
    }


__all__ = ["STATS_SHARDS", "DynamoTicketStore", "claim_attribute", "claim_key"]
