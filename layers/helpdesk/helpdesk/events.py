"""What happened to a ticket: one frozen dataclass per event kind.

An event's kind is its class name; it is the EventBridge detail-type, and the consumers'
tables and the template's rules speak of the same names.
Route and the mails about a new ticket or a deadline act on an event's snapshot without
reading the ticket; the mails that relay a conversation read it once, for what an event
does not repeat (docs/ARCHITECTURE.md, "Who hears which event").

Events are recorded by a change to a ticket and written with it, in the same transaction,
as the commit's outbox item; the publish function puts them on the bus from the table's
stream (docs/ARCHITECTURE.md, "One publish mechanism: the transactional outbox").
:func:`to_detail` and :func:`parse` are the two directions of the wire format: the keys
are the ones the consumers read since the first wave (``from`` is spelled ``sender`` in
Python).
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any

from helpdesk.sizes import cut_utf8

if TYPE_CHECKING:
    from helpdesk.model import Ticket

# Bytes of a message's text an event carries: a notice's excerpt, small enough that the
# commit's outbox item stays within a write unit or two (a limit of 4,000 characters had
# let one agent reply in Chinese add 12 KB to its outbox item, 24 write units in its
# transaction). Whoever needs the whole message reads it (helpdesk.services.message_bodies).
EVENT_TEXT_BYTES = 300


def event_text(text: str) -> str:
    """``text`` as an event carries it: at most :data:`EVENT_TEXT_BYTES` of UTF-8."""
    return cut_utf8(text, EVENT_TEXT_BYTES)


def _wire(key: str) -> Any:
    """A field whose key on the wire differs from its Python name (``from``)."""
    return field(metadata={"key": key})


@dataclass(frozen=True)
class EventContact:
    """Who a ticket is from, as its events carry them (``{"email", "name", "shown"}`` on
    the wire): ``shown`` when the ticket's opening shows its contact wrote it
    (model.speaks_for_its_contact), so that a consumer weighing her standing reads no
    ticket (notices.desk.Notifier.send_raised_by)."""

    email: str = ""
    name: str = ""
    shown: bool = False

    @classmethod
    def of(cls, ticket: Ticket) -> EventContact:
        """Whom ``ticket`` is from."""
        from helpdesk.model import speaks_for_its_contact

        return cls(ticket.contact_email, ticket.contact_name, speaks_for_its_contact(ticket))

    @classmethod
    def read(cls, value: Any) -> EventContact:
        """The wire's contact; an absent or garbled one reads as nobody (""), and one of
        an event written before ``shown`` was carried as not shown."""
        if isinstance(value, cls):
            return value
        data = value if isinstance(value, dict) else {}
        return cls(
            email=str(data.get("email") or ""),
            name=str(data.get("name") or ""),
            shown=data.get("shown") is True,
        )


# The metadata of a field holding the ticket's contact: ``parse`` reads it with this.
_CONTACT: dict[str, Any] = {"read": EventContact.read}


@dataclass(frozen=True)
class FirstMessage:
    """Where a new ticket's first message is: its id and time on the ticket (route reads
    the message item by them, with its text and files, for the agent) and its Message-ID
    (the acknowledgement answers it). Nothing of the message itself is repeated here,
    where it would be written a second time, in the outbox item, billed per started KB."""

    id: str = ""
    at: str = ""
    message_id: str | None = None

    @classmethod
    def read(cls, value: Any) -> FirstMessage:
        """The wire's ``message``; an absent or garbled one reads as no message ("")."""
        if isinstance(value, cls):
            return value
        data = value if isinstance(value, dict) else {}
        return cls(
            id=str(data.get("id") or ""),
            at=str(data.get("at") or ""),
            message_id=str(data["message_id"]) if data.get("message_id") else None,
        )


@dataclass(frozen=True)
class DomainEvent:
    ref: str

    @property
    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class TicketOpened(DomainEvent):
    subject: str
    status: str
    priority: str
    team: str
    category: str | None
    language: str
    channel: str
    tier: str
    policy: str
    contact: EventContact = field(metadata=_CONTACT)
    created_at: str
    sla: dict[str, Any]
    flags: list[str]
    # False when intake decided that nobody is to be answered (a robot, a loop, a cap).
    notify: bool
    first_message: FirstMessage = field(metadata={"key": "message", "read": FirstMessage.read})
    # The knowledge articles offered in the acknowledgement (slugs, best first, as the
    # ticket keeps them in ``suggested``), so it lists them without reading the ticket.
    # Slugs, not titles: this event is written once more in the commit's outbox item,
    # which is billed per KB (the titles come from the bundle the acknowledge function
    # loads when a ticket has suggestions). Empty when none was confident, and in events
    # written before self-service.
    suggested: list[str] = field(default_factory=list)
    # The zone the customer's browser gave, as their contact keeps it ("" when it keeps
    # none): the contact's write before the opening returns it, so the acknowledgement
    # reads no contact. None in an event written before it was carried: the
    # acknowledgement then reads the contact's.
    timezone: str | None = None
    # True when intake counted this acknowledgement in the sender's hourly caps
    # (helpdesk.services.acknowledgement_caps, at most acknowledgements_per_sender_per_hour
    # per mailbox): the acknowledgement is then not counted again in the recipient's
    # hourly count, which keeps the rest of the hour for every other mail (Limits.
    # counted_outbound_per_recipient_per_hour). False from an intake without the caps (a
    # complaint's new ticket) and in an event written before it was carried: the
    # acknowledgement is counted with the recipient's mail.
    acknowledgement_counted: bool = False


@dataclass(frozen=True)
class _Written(DomainEvent):
    """Something written on the ticket's conversation, by ``sender``."""

    sender: str = _wire("from")
    # The id of the message on the ticket (its attachments and whole text are read from
    # it); empty in a customer's reply of the version before issue 16.
    message: str = ""
    # The message's text, cut by event_text: for when the message cannot be read.
    text: str = ""


@dataclass(frozen=True)
class _Reply(_Written):
    # The status after the reply and before it (equal when it changed none): an agent's
    # relayed reply says in its own words what a change to pending or solved means, so
    # no second mail is sent.
    status: str = ""
    previous_status: str = ""


@dataclass(frozen=True)
class CustomerReplied(_Reply):
    """The customer wrote on their ticket (a mail, the customer's page, a channel)."""


@dataclass(frozen=True)
class AgentReplied(_Reply):
    """An agent answered the customer; the acknowledge function relays the reply."""

    # When this was the ticket's first response: the business seconds its clock ran (the
    # publish function's FirstResponseMinutes, the dashboard's median and 90th percentile).
    first_response_seconds: int | None = None


@dataclass(frozen=True)
class NoteAdded(_Written):
    """An agent wrote an internal note (by ``#note`` or the agent API); the customer never
    sees it, the assignee hears of it when a colleague wrote it."""


@dataclass(frozen=True)
class StatusChanged(DomainEvent):
    status: str
    previous_status: str
    by: str
    version: int | None = None
    # True when an agent's reply of the same action tells the customer (AgentReplied), or
    # the page where the customer solved it did (self-service): no progress mail then.
    in_reply: bool = False


def status_changes(
    before: Ticket, after: Ticket, *, by: str, in_reply: bool = False
) -> list[StatusChanged]:
    """The StatusChanged a change from ``before`` to ``after`` records: none when the
    status stays; ``version`` is the one the change's commit writes."""
    if after.status == before.status:
        return []
    changed = StatusChanged(
        ref=before.ref,
        status=after.status,
        previous_status=before.status,
        by=by,
        version=before.version + 1,
        in_reply=in_reply,
    )
    return [changed]


@dataclass(frozen=True)
class TicketAssigned(DomainEvent):
    agent: str
    by: str
    version: int | None = None


@dataclass(frozen=True)
class TeamChanged(DomainEvent):
    team: str
    previous_team: str


@dataclass(frozen=True)
class CapacityFreed(DomainEvent):
    """An agent's open load went down (``ref`` is the ticket that left it): route fills
    the slot from the agent's teams."""

    agent: str
    teams: list[str]


@dataclass(frozen=True)
class CommandRejected(DomainEvent):
    agent: str
    errors: list[str]
    commands: list[str]
    key: str
    message_id: str | None
    # An agent's mail that was valid but changed nothing: ``empty`` when it held no text, no
    # note, no command and no file; ``unchanged`` the command lines already in effect.
    empty: bool = False
    unchanged: list[str] = field(default_factory=list)
    # Each error's words, in order ({"key", "values"} of ``[command_errors]``; {} for one
    # without), so the agent reads them in their language; empty in events written before.
    said: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _SlaNotice(DomainEvent):
    event_id: str
    kind_of_event: str = _wire("kind")
    clock: str = ""
    due: str = ""
    at: str = ""
    priority: str = ""
    status: str = ""
    team: str = ""
    new_team: str | None = None
    assignee: str | None = None
    subject: str = ""
    contact: EventContact = field(default_factory=EventContact, metadata=_CONTACT)
    language: str = ""
    policy: str = ""


@dataclass(frozen=True)
class SlaWarning(_SlaNotice):
    pass


@dataclass(frozen=True)
class SlaBreached(_SlaNotice):
    pass


@dataclass(frozen=True)
class TicketEscalated(DomainEvent):
    event_id: str
    team: str
    previous_team: str
    reason: str
    clock: str
    assignee: str | None
    priority: str
    status: str
    category: str | None
    language: str
    channel: str
    tier: str
    subject: str
    contact: EventContact = field(metadata=_CONTACT)
    # The breached clock's due and the ticket's SLA policy (whose calendar zone the leads'
    # mail states it in); empty in an event of the version before them.
    due: str = ""
    policy: str = ""


@dataclass(frozen=True)
class SurveyAnswered(DomainEvent):
    score: int
    effort: int | None
    comment: str | None
    low: bool
    team: str
    answered_at: str


@dataclass(frozen=True)
class ComplaintMade(DomainEvent):
    """The customer complained to the team lead (their page or the survey page): the
    ticket is flagged ``complaint`` and its complaint clock runs (helpdesk.services.
    complaints). ``notify`` is False for a complaint in the same hour as an earlier one
    on the same run: its words are on the ticket, the leads were mailed already."""

    sender: str = _wire("from")
    message: str = ""
    text: str = ""
    # Where the complaint was made: "portal" (the customer's page) or "survey".
    source: str = ""
    notify: bool = True
    # When a lead must have answered (ISO 8601), "" when the ticket has no complaint target.
    due: str = ""
    at: str = ""


@dataclass(frozen=True)
class SelfServed(DomainEvent):
    """The customer confirmed that a suggested article answered the question: the ticket
    is solved (a StatusChanged of the same change says so); the assignee hears it in one
    line (helpdesk.notices.self_service)."""

    article: str
    title: str
    assignee: str | None
    subject: str
    contact: EventContact = field(metadata=_CONTACT)


@dataclass(frozen=True)
class PageLinksRequested(DomainEvent):
    """Someone asked the customer's page to mail fresh links to the tickets of ``email``
    (helpdesk.services.portal.PortalDesk.resend). ``ref`` is empty: the request names an
    address, not a ticket. Whether the address is a contact's is found out only after the
    page has answered, by the notice that mails the links (helpdesk.notices.portal), so
    that the answer and the work before it are the same for every address (attack A18-7:
    mailing inside the request took 91 ms for a contact against 29 ms for a stranger)."""

    email: str
    # Where the request came in: the links point there unless PUBLIC_URL is set.
    base_url: str
    at: str


KINDS: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        TicketOpened,
        CustomerReplied,
        AgentReplied,
        NoteAdded,
        StatusChanged,
        TicketAssigned,
        TeamChanged,
        CapacityFreed,
        CommandRejected,
        SlaWarning,
        SlaBreached,
        TicketEscalated,
        SurveyAnswered,
        ComplaintMade,
        SelfServed,
        PageLinksRequested,
    )
}


# Events no consumer acts on yet, and why: each is still recorded in the outbox and on the
# bus (an ops tool or a later consumer may subscribe without a change here).
UNCONSUMED: dict[str, str] = {}


def ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    """The fields of a ticket that events about its routing carry (TicketOpened,
    TicketEscalated): who it is from, what it is about, where it is."""
    return {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "team": ticket.team,
        "category": ticket.category,
        "language": ticket.language,
        "channel": ticket.channel,
        "tier": ticket.tier,
        "contact": EventContact.of(ticket),
    }


def _key(name: str, metadata: Any) -> str:
    return str(metadata.get("key", name))


def to_detail(event: DomainEvent) -> dict[str, Any]:
    """The event's detail as the bus carries it (JSON-ready)."""
    return {_key(f.name, f.metadata): _on_the_wire(getattr(event, f.name)) for f in fields(event)}


def _on_the_wire(value: Any) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value


def parse(kind: str, detail: dict[str, Any]) -> DomainEvent | None:
    """The event of detail-type ``kind``; None for a kind this desk does not know.

    Keys the class does not have are ignored and missing optional ones take their
    defaults, so that an event written by the previous version still reads.
    """
    cls = KINDS.get(kind)
    if cls is None:
        return None
    values: dict[str, Any] = {}
    for f in fields(cls):
        key = _key(f.name, f.metadata)
        read = f.metadata.get("read")
        if read is not None:
            values[f.name] = read(detail.get(key))
        elif key in detail:
            values[f.name] = detail[key]
        elif f.default is MISSING and f.default_factory is MISSING:
            values[f.name] = None
    return cls(**values)


def with_kind(event: DomainEvent) -> dict[str, Any]:
    """``{"kind": ..., "detail": ...}``: one entry of a commit's outbox item."""
    return {"kind": event.kind, "detail": to_detail(event)}


__all__ = [
    "EVENT_TEXT_BYTES",
    "KINDS",
    "UNCONSUMED",
    "AgentReplied",
    "CapacityFreed",
    "CommandRejected",
    "ComplaintMade",
    "CustomerReplied",
    "DomainEvent",
    "EventContact",
    "FirstMessage",
    "NoteAdded",
    "PageLinksRequested",
    "SelfServed",
    "SlaBreached",
    "SlaWarning",
    "StatusChanged",
    "SurveyAnswered",
    "TeamChanged",
    "TicketAssigned",
    "TicketEscalated",
    "TicketOpened",
    "event_text",
    "parse",
    "ticket_snapshot",
    "to_detail",
    "with_kind",
]
