"""Tickets, messages and contacts: the nouns of the help desk.

Plain dataclasses (no pydantic) because every handler imports them on its cold-start path.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from helpdesk.sla import SlaState, Status

Direction = Literal["in", "out", "note"]

# A ticket is active (someone owes the customer an answer, an agent holds it, it counts in
# its team's backlog) while it is new, open or pending.
ACTIVE_STATUSES = frozenset({"new", "open", "pending"})
# Mail from machines (bounces, auto-replies), spam and viruses, and mail that claimed an
# internal sender without authenticating: kept for a human to look at, but nobody was
# promised an answer (no SLA clock) and no agent's capacity goes to it (never routed).
UNATTENDED_FLAGS = frozenset({"auto_reply", "bounce", "spam", "virus", "spoofed"})
# Mail machines wrote on their own (an out-of-office notice, a delivery report): kept for
# someone to look through, but nobody's request: while no agent takes one up, it stays out
# of the new-ticket counts and the backlog, and closes after ``robots.close_after`` quiet.
ROBOT_FLAGS = frozenset({"auto_reply", "bounce"})
# Openings that do not show their contact wrote them: the desk answers none of them on its
# own, and none is listed among the contact's tickets (her page's other requests, the
# fresh-links mail, the agent's view of her history). Listed, a forger's mails in her name
# would reach her from the desk's own domain, his subject and name in them, with working
# links (attack 15, F1; attack 10, F1 stopped their acknowledgement for that reason).
UNLISTED_FLAGS = UNATTENDED_FLAGS | {"forged"}
# A ticket's flags that say its contact did not write it, whatever its message proves: mail
# proven forged for its From domain, and mail that claimed a staff address unauthenticated.
DISOWNING_FLAGS = frozenset({"forged", "spoofed"})
# The statuses are defined once, in helpdesk.sla (Status, STATUSES).
# The most messages from outside one ticket takes, in two shares: those that prove their
# author (mail SES authenticated for its From domain, the customer's page, a channel's
# handle or verified address) and the rest (unauthenticated or forged mail, the web form's,
# an address typed into a chat, robots' mail). Past its share,
# a message goes on in a new ticket linked to this one, as after a close. Every view
# counts a ticket's older messages inside DynamoDB, and some 3,000 forged follow-ups had
# made one view read 37 MB (attack 12, F2); counted in one share, they would take the
# customer's own place and split her conversation (review 17, #1). Zendesk stops a ticket
# at 5,000 comments of either side (its Ticket Comments API); the desk bounds only the
# side outsiders write.
MESSAGES_IN_MAX = 1000
UNPROVEN_MESSAGES_MAX = 200
# A channel's message whose address its visitor typed (the channel does not verify it:
# ``channels[].verifies_email``): anyone can type anyone's (attack 19, F1).
TYPED_ADDRESS_FLAG = "typed_address"
# A message's flags that say it does not prove who wrote it (email_intake._unvouched, the
# robots' flags the intake gives a robot's mail, and a channel's typed address).
UNPROVEN_MESSAGE_FLAGS = frozenset({"unauthenticated", "auto_reply", "bounce", TYPED_ADDRESS_FLAG})
# A mail SES did not authenticate that answers a mail the desk sent its sender alone about
# this ticket (In-Reply-To or References names its Message-ID, which the desk keys and
# mailed nobody else): it proves its author as well as the conversation can, and takes the
# proven share, so that a stranger's forgeries filling the other share do not split the
# thread of a customer whose domain cannot authenticate (attack 16, F3).
REPLIES_TO_DESK_FLAG = "replies_to_desk"
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")

# An address is at most 254 characters: RFC 5321
# §4.5.3.1.3 allows a path of 256 octets, its angle brackets included.
EMAIL_MAX = 254

# Crockford-style alphabet without 0/O, 1/I/L and U: a reference is read over the phone and
# typed from a printed mail, so nothing in it may be mistaken for something else.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6


def new_reference() -> str:
    """A short, random, human-friendly ticket reference such as ``HD-7K3M9Q``.

    Random rather than sequential: no global counter (a hot key at scale) and nothing a
    stranger can guess. 30**6 ≈ 7.3e8 values; the repository creates tickets with a
    conditional put and draws again on the rare collision.
    """
    return "HD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def is_reference(text: str) -> bool:
    """True when ``text`` has the shape of a ticket reference (case-insensitive)."""
    text = text.upper()
    return (
        len(text) == 3 + REFERENCE_LENGTH
        and text.startswith("HD-")
        and all(ch in REFERENCE_ALPHABET for ch in text[3:])
    )


@dataclass(frozen=True)
class SurveyRecord:
    """What became of a ticket's satisfaction survey (helpdesk.services.surveys): when it
    went out, or why not, and the customer's answer."""

    sent_at: datetime | None = None
    # Why no survey went out: "fatigue" (the contact had one within surveys.fatigue), or
    # "unlisted" (its opening does not show who wrote it: model.listed_as_the_contacts).
    skipped: str | None = None
    score: int | None = None
    effort: int | None = None
    comment: str | None = None
    answered_at: datetime | None = None
    # A later answer replaces the first; the report counts it on the first one's day.
    first_answered_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for storage (ISO 8601 instants), without the unset fields."""
        values: dict[str, Any] = {
            "sent_at": self.sent_at,
            "skipped": self.skipped,
            "score": self.score,
            "effort": self.effort,
            "comment": self.comment,
            "answered_at": self.answered_at,
            "first_answered_at": self.first_answered_at,
        }
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in values.items()
            if value is not None
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurveyRecord:
        def instant(name: str) -> datetime | None:
            value = data.get(name)
            return datetime.fromisoformat(str(value)) if value else None

        def number(name: str) -> int | None:
            value = data.get(name)
            return int(value) if value is not None else None  # DynamoDB gives Decimal

        comment, skipped = data.get("comment"), data.get("skipped")
        return cls(
            sent_at=instant("sent_at"),
            skipped=str(skipped) if skipped else None,
            score=number("score"),
            effort=number("effort"),
            comment=str(comment) if comment is not None else None,
            answered_at=instant("answered_at"),
            first_answered_at=instant("first_answered_at"),
        )


@dataclass(frozen=True)
class AttachmentMeta:
    """What a message says about one of its attachments; the bytes live in S3 (``key``)."""

    filename: str
    content_type: str
    size: int
    key: str | None = None
    inline: bool = False
    content_id: str | None = None
    dropped: str | None = None

    def public(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size}


@dataclass
class Contact:
    """A customer, found by address."""

    email: str
    name: str
    tier: str
    language: str
    created_at: datetime
    ticket_count: int = 0
    last_survey_at: datetime | None = None
    # The IANA zone the customer's browser reported (the web form), e.g. "Europe/Berlin":
    # every mail to them shows times in it. None until a browser told us.
    timezone: str | None = None


@dataclass
class Message:
    """One entry in a ticket's conversation: a customer mail, an agent reply or a note."""

    id: str
    ticket: str
    direction: Direction
    author: str
    at: datetime
    text: str
    author_name: str = ""
    full_text: str | None = None
    html: str | None = None
    subject: str | None = None
    message_id: str | None = None
    raw_key: str | None = None
    kind: str | None = None
    attachments: tuple[AttachmentMeta, ...] = ()
    flags: tuple[str, ...] = ()
    # Where the whole text and HTML are kept when they are too large for the message's
    # item (then ``text``, ``full_text`` and ``html`` hold excerpts): read through
    # helpdesk.services.message_bodies.
    body_key: str | None = None
    # How many attachments the mail had, when more than ``attachments`` lists.
    attachments_total: int | None = None
    # True when ``text`` is an excerpt of a mail whose whole text (and HTML) is read again
    # from the raw mail at ``raw_key`` (helpdesk.services.message_bodies.whole).
    excerpt: bool = False
    # Bytes of the raw mail at ``raw_key`` (whether reading it again is affordable).
    raw_size: int | None = None
    # Bytes of the whole text in UTF-8, kept for a mail whose item keeps an excerpt:
    # whether the excerpt is all of its text (the HTML made it one), or how much more a
    # mail too large to be read again had (message_bodies.WHOLE_MAIL_MAX_BYTES). None on
    # items written before it was kept.
    text_bytes: int | None = None
    # Where a customer's message came in when not by email: "form", "portal" (the
    # customer's page) or a configured channel's name (POST /intake/messages). None for
    # mail, and for everything written before messages said so.
    channel: str | None = None

    @property
    def holds_whole_text(self) -> bool:
        """Whether ``text`` is all of the message's text although it is an excerpt (its
        HTML or quoted text made it one; ``text_bytes`` says how long the whole is): what
        shows it need not read the raw mail again."""
        from helpdesk.sizes import utf8_size

        return self.text_bytes is not None and utf8_size(self.text) >= self.text_bytes


@dataclass
class Ticket:
    """A customer's request and everything the desk knows and promised about it."""

    ref: str
    status: Status
    priority: str
    channel: str
    subject: str
    created_at: datetime
    contact_email: str
    contact_name: str
    tier: str
    language: str
    team: str
    policy: str
    category: str | None = None
    assignee: str | None = None
    flags: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    # Its SLA clocks, read once where the ticket is read; None when nothing was promised
    # (a robot's ticket, a spoofed one).
    sla: SlaState | None = None
    survey: SurveyRecord = field(default_factory=SurveyRecord)
    linked_to: str | None = None
    # The ticket its contact's mail goes on in since this one was full (MESSAGES_IN_MAX,
    # UNPROVEN_MESSAGES_MAX): the first one a mail of hers opened past it. Her later mail
    # naming this ticket joins that one while it takes follow-ups, so that a full thread
    # forks once, not at every exchange (review 17, #1b).
    continued_in: str | None = None
    form: dict[str, str] = field(default_factory=dict)
    updated_at: datetime | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    # The event that last assigned the ticket by routing: a redelivered event finds its
    # work done on the ticket itself (and tells the agent again), with no marker item.
    routed_by: str | None = None
    # In its team's queue, waiting for an agent with room (the queue entry exists).
    waiting: bool = False
    # The knowledge articles offered to the customer in the acknowledgement, best first
    # (slugs; empty when none was confident enough or suggestions are off).
    suggested: list[str] = field(default_factory=list)
    # The suggested article whose "this answered my question" the customer confirmed (its
    # slug; the flag ``self_served`` says that it happened): the reports count which
    # articles solved most (helpdesk.services.self_service).
    self_served_article: str | None = None
    # Messages from outside on it, the opening one included, that prove their author and
    # that do not (MESSAGES_IN_MAX, UNPROVEN_MESSAGES_MAX); counted by the unit of work
    # (unit_of_work.plan), 0 on a ticket stored before it counted.
    messages_in: int = 0
    messages_unproven: int = 0
    # Its opening message proved its author (mail SES authenticated, a channel's handle or
    # verified address; not an address typed into the form or a chat): whether the ticket
    # shows its contact wrote it, for what outsiders may raise to a lead
    # (speaks_for_its_contact). Kept from the opening alone:
    # a later reply of hers shows she takes part, not that the opening was hers. False on
    # a ticket stored before it was kept.
    opening_proven: bool = False
    version: int = 0

    def involves(self, address: str) -> bool:
        """True when ``address`` is the ticket's contact or one of its participants (Cc)."""
        key = address.lower()
        return key == self.contact_email.lower() or key in (p.lower() for p in self.participants)


def proves_its_author(message: Message) -> bool:
    """Whether ``message`` proves who wrote it (UNPROVEN_MESSAGE_FLAGS), or answers the
    desk's mail to its sender (REPLIES_TO_DESK_FLAG; never a robot's). A web form's
    message proves nothing: its address is typed (review 18, #4)."""
    if message.channel == "form":
        return False
    if REPLIES_TO_DESK_FLAG in message.flags:
        return ROBOT_FLAGS.isdisjoint(message.flags)
    return UNPROVEN_MESSAGE_FLAGS.isdisjoint(message.flags)


def reads_unverified(message: Message) -> bool:
    """Whether staff read ``message`` as "not verified": mail SES did not authenticate, or an
    address typed into the form or a chat; what it says of its author is whatever someone
    typed (the relay, the assignment, a lead's summary). A robot's mail is told by its own
    flags, not as unverified."""
    return message.channel == "form" or not {"unauthenticated", TYPED_ADDRESS_FLAG}.isdisjoint(
        message.flags
    )


def has_room(ticket: Ticket, *, proven: bool) -> bool:
    """Whether ``ticket`` holds fewer messages from outside of that share than it takes."""
    if proven:
        return ticket.messages_in < MESSAGES_IN_MAX
    return ticket.messages_unproven < UNPROVEN_MESSAGES_MAX


def takes_follow_ups(ticket: Ticket, *, proven: bool = True) -> bool:
    """Whether a message from outside goes on in ``ticket`` (else in a new one, linked):
    while it is not closed and has room in the message's share (``proven``)."""
    return ticket.status != "closed" and has_room(ticket, proven=proven)


def speaks_for_its_contact(ticket: Ticket) -> bool:
    """Whether ``ticket`` shows that its contact wrote it: its opening proved its author
    (``opening_proven``) and it is not proven forged or spoofed. Not a later message: her
    reply on a ticket typed in her name shows she takes part, not that it is hers (review
    19, #3)."""
    return opening_speaks_for_its_contact(ticket.opening_proven, ticket.flags)


def opening_speaks_for_its_contact(proven: bool, flags: Iterable[str]) -> bool:
    """Whether an opening whose message ``proven`` its author (:func:`proves_its_author`),
    with the ticket ``flags`` it gets, shows that its contact wrote it."""
    return proven and DISOWNING_FLAGS.isdisjoint(flags)


# What a name no one vouched for may not hold if the desk is to greet its contact with it:
# a link, an address, a host name or a path ("x.com/reset"), three digits or more (a phone
# number; "Louis 14" is a name), or more than a name's length. Read after NFKC, so that
# full-width "ｅｖｉｌ．ｅｘａｍｐｌｅ" is a host name too. A name written "St.John" without
# its space is taken for a host and greets nobody; "St. John" greets.
# Attack 21, F1: a stranger typed Anna's address into the form and "Anna. Our reset page
# moved to https://evil.example/reset" as the name, and the agent's saved reply greeted her
# with it, from the desk. Unicode letters are a name's (\w without digits and "_").
NAME_GREETED_MAX = 64
_LURE_IN_A_NAME = re.compile(r"://|www\.|@|/|(?:\d\D*){3}|[\w-]\.[^\W\d_]{2,}", re.IGNORECASE)
# The full stops browsers read as a host's dots (UTS #46): the ideographic one and its
# half-width and small forms, which NFKC leaves as they are ("evil。example": attack 22).
_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\ufe52": "."})


def greets_as_typed(name: str) -> bool:
    """Whether the desk may greet a contact with ``name`` as an unproven opening gave it
    (the form's, a chat's typed address, unauthenticated mail): short, and holding nothing
    that points anywhere (:data:`_LURE_IN_A_NAME`)."""
    return (
        len(name) <= NAME_GREETED_MAX
        and _LURE_IN_A_NAME.search(unicodedata.normalize("NFKC", name).translate(_DOTS)) is None
    )


def listed_as_the_contacts(ticket: Ticket) -> bool:
    """Whether ``ticket`` is listed among its contact's tickets (UNLISTED_FLAGS)."""
    return UNLISTED_FLAGS.isdisjoint(ticket.flags)


def is_robot(ticket: Ticket) -> bool:
    """True when a machine opened ``ticket`` (an auto-reply or a bounce)."""
    return bool(ROBOT_FLAGS.intersection(ticket.flags))


def awaits_review(ticket: Ticket) -> bool:
    """A robot's ticket that no agent has taken up: kept, but nobody's work yet."""
    return is_robot(ticket) and not ticket.assignee


def flags_once_a_person_wrote(flags: list[str]) -> list[str]:
    """A ticket's flags once a person wrote on it (an agent's reply or note, or a mail the
    contact wrote without a robot's marks): whatever machine opened it, it is a person's
    conversation now, so the robot flags go. It then counts in the backlog and is never
    closed unanswered by the robots' quiet-period sweep (security review F1: a customer's
    "Non-delivery of my parcel" once taken for a bounce closed in silence)."""
    return [flag for flag in flags if flag not in ROBOT_FLAGS]


def in_backlog(ticket: Ticket) -> bool:
    """The ticket counts in its team's backlog: someone owes work on it."""
    return ticket.status in ACTIVE_STATUSES and not awaits_review(ticket)
