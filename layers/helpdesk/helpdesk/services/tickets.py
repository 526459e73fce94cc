"""Opening a ticket: the one path that email and form intake share.

Triage runs here so that a ticket is born with its priority, team and SLA deadlines, and
the acknowledgement and the form's answer can both state the promise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk import sla, timers
from helpdesk.errors import Conflict
from helpdesk.model import Contact, Message, Ticket, new_reference
from helpdesk.services.stats import ticket_changes
from helpdesk.triage import TriageInput, tier_for, triage

if TYPE_CHECKING:
    from helpdesk.aws.dynamodb import DynamoRepository
    from helpdesk.config import Config

MAX_REFERENCE_ATTEMPTS = 5
UNPROMISED_FLAGS = frozenset({"auto_reply", "bounce", "spam", "virus", "spoofed"})
EVENT_TEXT_LIMIT = 4000  # characters of the first message carried in TicketOpened


@dataclass(frozen=True)
class NewRequest:
    """Everything intake knows about a request that becomes a new ticket."""

    channel: str
    subject: str
    text: str
    contact_email: str
    contact_name: str
    language: str | None = None
    category: str | None = None
    urgency: str | None = None
    form: Mapping[str, str] = field(default_factory=dict)
    flags: Sequence[str] = ()
    participants: Sequence[str] = ()
    linked_to: str | None = None


@dataclass(frozen=True)
class Opened:
    ticket: Ticket
    duplicate: bool = False


class DuplicateDelivery(Conflict):
    """The request was already taken in (same delivery, Message-ID or submission)."""

    def __init__(self, ref: str | None) -> None:
        super().__init__(f"already taken in as {ref}")
        self.ref = ref


def sla_calendar(ticket_policy: str, config: Config) -> Any:
    """The business calendar of an SLA policy."""
    policy = config.policy(ticket_policy)
    return config.calendar(policy.calendar).to_calendar()


def open_ticket(
    request: NewRequest,
    *,
    repo: DynamoRepository,
    config: Config,
    now: datetime,
    first_message: Message,
    claims: Iterable[tuple[str, str, Mapping[str, Any]]] = (),
    detect_language: bool = True,
) -> Ticket:
    """Create a ticket with its contact, first message, deadlines and running timers.

    ``claims`` are the dedupe markers of this delivery; if any exists already the request
    was taken in before and :class:`DuplicateDelivery` is raised (nothing is written).
    """
    claims = list(claims)
    # The stored contact only matters for a request that brings no name: the contact write
    # below keeps a stored name, language and creation time (if_not_exists) either way.
    existing = None if request.contact_name else repo.get_contact(request.contact_email)
    tier = tier_for(request.contact_email, config)
    language = request.language or (
        _detect(request.subject + "\n" + request.text, config)
        if detect_language
        else config.default_language
    )
    if language not in config.helpdesk.languages:
        language = config.default_language
    decision = triage(
        TriageInput(
            subject=request.subject,
            text=request.text,
            channel=request.channel,
            tier=tier,
            language=language,
            category=request.category,
            urgency=request.urgency,
        ),
        config,
    )
    policy = config.policy(decision.policy)
    calendar = config.calendar(policy.calendar).to_calendar()
    clocks = sla.start(now, policy.name, policy.target(decision.priority), policy.warn_at, calendar)
    contact = Contact(
        email=request.contact_email.lower(),
        name=(existing.name if existing and existing.name else request.contact_name),
        tier=tier,
        language=existing.language if existing and existing.language else language,
        created_at=existing.created_at if existing else now,
    )
    # Mail from robots (and mail we could not trust) is kept for a human to look at, but
    # nobody was promised an answer: no SLA clock runs, so no warning, breach or
    # escalation is ever raised for an out-of-office note.
    promised = not (set(request.flags) & UNPROMISED_FLAGS)
    next_due = sla.next_due(clocks) if promised else None
    for _ in range(MAX_REFERENCE_ATTEMPTS):
        ref = new_reference()
        ticket = Ticket(
            ref=ref,
            status="new",
            priority=decision.priority,
            channel=request.channel,
            subject=request.subject,
            created_at=now,
            contact_email=request.contact_email.lower(),
            contact_name=request.contact_name or contact.name,
            tier=tier,
            language=decision.language,
            team=decision.team,
            policy=policy.name,
            category=decision.category,
            flags=list(dict.fromkeys(request.flags)),
            tags=list(decision.tags),
            participants=[p.lower() for p in request.participants],
            sla=clocks.to_dict() if promised else {},
            linked_to=request.linked_to,
            form=dict(request.form),
            updated_at=now,
        )
        message = Message(**{**first_message.__dict__, "ticket": ref})
        ticket_claims = [(pk, sk, {**attrs, "ref": ref}) for pk, sk, attrs in claims]
        try:
            return repo.commit(
                ticket,
                creating=True,
                messages=[message],
                timers={timers.SLA: next_due},
                claims=ticket_claims,
                contact=contact,
                history=[("created", {"channel": request.channel, "priority": ticket.priority})],
                also=ticket_changes(None, ticket, at=now, config=config),
            )
        except Conflict as conflict:
            reasons = getattr(conflict, "reasons", [])
            if reasons and reasons[0] == "ConditionalCheckFailed":
                continue  # the random reference is taken: draw another
            duplicate_of = _first_claimed(repo, claims)
            raise DuplicateDelivery(duplicate_of) from conflict
    raise Conflict("could not find a free ticket reference")


def _first_claimed(
    repo: DynamoRepository, claims: Iterable[tuple[str, str, Mapping[str, Any]]]
) -> str | None:
    for pk, sk, _ in claims:
        item = repo.get_item(pk, sk)
        if item and item.get("ref"):
            return str(item["ref"])
    return None


def _detect(text: str, config: Config) -> str:
    from helpdesk.language import detect_language

    return detect_language(text, config.helpdesk.languages, config.default_language)


def opened_event(ticket: Ticket, message: Message, *, notify: bool) -> tuple[str, dict[str, Any]]:
    """The TicketOpened event: a snapshot that lets consumers act without re-reading."""
    return (
        "TicketOpened",
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "team": ticket.team,
            "category": ticket.category,
            "language": ticket.language,
            "channel": ticket.channel,
            "tier": ticket.tier,
            "policy": ticket.policy,
            "contact": {"email": ticket.contact_email, "name": ticket.contact_name},
            "created_at": ticket.created_at.isoformat(),
            "sla": sla.SlaState.from_dict(ticket.sla).public_view() if ticket.sla else {},
            "flags": list(ticket.flags),
            "notify": notify,
            "message": {
                "id": message.id,
                "message_id": message.message_id,
                "text": message.text[:EVENT_TEXT_LIMIT],
                "attachments": [a.public() for a in message.attachments],
            },
        },
    )
