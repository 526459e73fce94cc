"""The interfaces between the domain services and the AWS adapters, named in domain terms.

Unit tests pass the fakes of ``tests/fakes.py``; the composition root passes the adapters
of ``helpdesk.aws``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.events import TeamChanged, TicketOpened

if TYPE_CHECKING:
    from datetime import date, datetime

    from helpdesk.effects import StartWaiting
    from helpdesk.events import TicketEscalated
    from helpdesk.model import Contact, Message, Ticket
    from helpdesk.services.stats import DayFigures
    from helpdesk.timers import DueTimer
    from helpdesk.unit_of_work import Claim, TicketChange


class TicketUnitOfWork(Protocol):
    """Tickets, read and changed all or nothing.

    :meth:`commit` writes the ticket, its messages, claims, history, the effects
    the change derives (timers, load, report figures) and its events (the outbox) in one
    transaction, and raises :class:`~helpdesk.unit_of_work.StaleTicket` when the ticket
    changed since it was read, :class:`~helpdesk.unit_of_work.ReferenceTaken` when a new
    ticket's reference exists, :class:`~helpdesk.unit_of_work.AlreadyClaimed` when a claim
    was made before, and :class:`~helpdesk.unit_of_work.NoCapacity` when a slot taken
    under a capacity is gone. The events are published after the commit, however the
    process ends (the outbox).
    """

    def load(self, ref: str) -> Ticket: ...

    def find(self, ref: str) -> Ticket | None: ...

    def commit(self, change: TicketChange) -> Ticket: ...

    def claimed(self, claims: Iterable[Claim]) -> str | None:
        """The ticket the first of ``claims`` that was made belongs to, if any."""
        ...

    def messages(self, ref: str) -> list[Message]: ...

    def count_opening(self, contact: Contact, claims: Sequence[Claim]) -> Contact:
        """Write the contact of a ticket about to open (a stored name, language, creation
        time and zone are kept) and count the opening on it once per ``claims``, before
        the opening's commit; returns the contact as stored. The same claims again (the
        opening tried again) count nothing. ``ticket_count`` may end above the contact's
        tickets (an opening that never commits), never below."""
        ...


class MailStore(Protocol):
    def read(self, key: str) -> bytes:
        """The object's bytes; NotStored when nothing is under ``key``."""
        ...

    def write(self, key: str, data: bytes, content_type: str) -> str: ...


class Mailer(Protocol):
    def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> str: ...


class Publisher(Protocol):
    """Puts ``(detail-type, detail)`` pairs on the bus. Only the outbox relay uses it:
    services record events on the change they commit instead (the outbox)."""

    def publish(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None: ...


class ReportFigures(Protocol):
    """The report figures the commits kept (helpdesk.services.stats)."""

    def read_day(self, day: date) -> DayFigures: ...

    def read_backlog(self, team: str) -> dict[str, int]: ...

    def open_tickets(self, team: str) -> list[Ticket]:
        """The active tickets of ``team`` (waiting in its queue or held by its agents),
        read by key: the overdue and at-risk lists of a lead's report."""
        ...


@dataclass(frozen=True)
class DeskMail:
    """A mail the desk sent: the ticket it was about and whom it went to (the email
    intake's ``MailRecords.desk_mail``)."""

    ticket: str | None
    to: tuple[str, ...]
    # Who it was copied to; None for a record written before that was kept.
    cc: tuple[str, ...] | None


class TicketFinder(Protocol):
    """A ticket read by its reference, None when there is none (the pages behind a
    customer's link, the intakes, the sweeps)."""

    def find_ticket(self, ref: str) -> Ticket | None: ...


class SuppressionList(Protocol):
    """The listing of inbound messages that got no automatic answer, with the reason
    (the intakes): idempotent per delivery."""

    def record_suppressed(
        self,
        *,
        at: datetime,
        reason: str,
        sender: str,
        subject: str,
        raw_key: str | None,
        ref: str | None = None,
        message_id: str | None = None,
    ) -> None: ...


class DeliveryCounter(Protocol):
    """Hourly counters on which a delivery counts once however often it is retried (the
    acknowledgement caps, helpdesk.services.acknowledgement_caps)."""

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
        """One more ``member`` in ``scope`` for ``window`` (and in ``within``'s own set,
        under its own limit, both or neither); True while it is among the first ``limit``."""
        ...


class TimerIndex(Protocol):
    """The due timers (the sparse timer index of helpdesk.timers): what the SLA sweep and
    the survey sweep read and move."""

    def due_timers(self, kind: str, now_key: str, *, page_size: int = 100) -> Iterator[DueTimer]:
        """Timers of ``kind`` due at or before ``now_key``, paginated."""
        ...

    def move_timer(self, ref: str, kind: str, *, expected_key: str, due: datetime | None) -> bool:
        """Move or stop a timer unless a writer changed it since it was seen."""
        ...


@dataclass(frozen=True)
class QueuePosition:
    """A place in a team's queue or backlog: just after the ticket ``ref`` created at
    ``created_at`` (the agent API's pages go on from there)."""

    created_at: datetime
    ref: str


@dataclass(frozen=True)
class ThreadTail:
    """The newest messages of a conversation (oldest first) and how many ``older`` ones
    there are."""

    messages: list[Message]
    older: int


@dataclass(frozen=True)
class HeldPage:
    """Held tickets of a team, oldest first; the backlog entries the walk read (what it
    spent of the page's share) and the place of the last of them; and whether it
    ``paused`` there, its share read before it found enough: the next page goes on from
    ``last``."""

    tickets: list[Ticket]
    walked: int = 0
    last: QueuePosition | None = None
    paused: bool = False


class TeamQueues(Protocol):
    """The teams' queues of tickets waiting for an agent."""

    def waiting(
        self, team: str, *, limit: int | None = None, after: QueuePosition | None = None
    ) -> Iterator[StartWaiting]:
        """``team``'s waiting tickets, oldest first (only those after ``after``)."""
        ...


class RoutingRecords(TeamQueues, Protocol):
    """What routing reads and counts beside the tickets (helpdesk.services.routing)."""

    def routing_view(
        self, ref: str, agents: Iterable[str], known: Known, *, consistent: bool = True
    ) -> RoutingView:
        """The ticket, the loads of ``agents``, and what ``known`` names, read at once;
        eventually consistent unless ``consistent`` (half the read units, perhaps stale)."""
        ...

    def agent_loads(
        self, agents: Iterable[str], *, contact_email: str | None = None
    ) -> tuple[dict[str, int], Contact | None]:
        """The open tickets each agent holds (and a contact, when asked)."""
        ...

    def next_turn(self, team: str) -> int:
        """The team's round-robin turn: two routers never share one."""
        ...


@dataclass(frozen=True)
class RoutingView:
    """What routing reads about one ticket at once: the ticket, its team's loads, its
    contact and its first message (the last two when the event named them)."""

    ticket: Ticket | None
    loads: dict[str, int]
    contact: Contact | None
    first_message: Message | None


@dataclass(frozen=True)
class Known:
    """What an event says about its ticket before the ticket is read (routing reads the
    rest with the ticket, in one request)."""

    team: str | None = None
    contact_email: str | None = None
    first_message: tuple[str, str] | None = None  # (at, id) of TicketOpened's message

    @classmethod
    def of(cls, event: TicketOpened | TicketEscalated | TeamChanged) -> Known:
        """What ``event`` says (a TeamChanged names only the team)."""
        contact = event.contact if not isinstance(event, TeamChanged) else None
        message = event.first_message if isinstance(event, TicketOpened) else None
        return cls(
            team=event.team or None,
            contact_email=contact.email or None if contact is not None else None,
            first_message=(message.at, message.id) if message and message.at else None,
        )
