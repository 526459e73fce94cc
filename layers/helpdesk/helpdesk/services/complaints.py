"""A voice to the top: the customer complains to the team lead about how a ticket goes.

From the customer's page (``source="portal"``) or the survey page (``source="survey"``),
each behind a signed link its route has verified, :meth:`ComplaintDesk.complain` keeps the
customer's words on the ticket as a customer message (``kind="complaint"``, ``channel`` =
the source), flags the ticket ``complaint``, runs its complaint clock (the config's
``complaints.respond_within`` or the policy's ``complaint`` target, in the policy's business
hours: helpdesk.sla) and records :class:`~helpdesk.events.ComplaintMade`, whose notice
mails the team's lead(s) the thread and the words (helpdesk.notices.complaints). A lead
answers from their mailbox like any agent; their public reply stops the clock
(helpdesk.services.commands).

Idempotent-ish, decided here and documented in docs/ARCHITECTURE.md:

- A complaint while the complaint clock runs adds its words to the ticket but never
  restarts the clock nor moves its due time.
- The leads are mailed for the first complaint of a clock run, and again for a later
  complaint of the same run only when no complaint was made on the ticket in that clock
  hour (a double submission or a second thought in the same breath mails nobody twice).
- At most ``complaints.per_ticket_per_hour`` complaints per ticket and clock hour are
  taken; beyond, :class:`~helpdesk.errors.RateLimited` (429) until the next hour. Each
  complaint takes one numbered slot of its hour: a claim (``FORM#complaint:<ref>:<hour>:
  <n>``) written in the same transaction as the complaint, so the count can never drift
  from the words kept, and the route needs no grant beyond the ticket's own write.
- At most ``complaints.per_contact_per_day`` complaints of one contact (the ticket's
  customer, over all their tickets) per UTC day; beyond, :class:`RateLimited` (429) until
  the next day. Tickets opened only to complain would otherwise mail the leads without end
  and use up their hourly mail count (A18-8). Counted on a counter beside the tickets
  (``RATE#complaint-contact#<address>#<yyyymmdd>``) before the complaint is taken: every
  try counts, also one the ticket's hourly count then refuses.

A solved or pending ticket reopens (as a customer's message reopens it). A closed ticket
is final (agents cannot act on it), so a complaint about it opens a new ticket linked to
it (``linked_to``), as a customer's mail about a closed ticket does: nothing is lost, and
the lead has a ticket to answer on. One such ticket per closed ticket and clock hour (a
claim): a further complaint in that hour adds its words to it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk import sla
from helpdesk.characters import typed_text
from helpdesk.clock import hour_window
from helpdesk.errors import InvalidInput, RateLimited, TooLarge
from helpdesk.events import ComplaintMade, StatusChanged, event_text, status_changes
from helpdesk.mail.mailbox import mailbox_key
from helpdesk.model import Message
from helpdesk.services.clocks import Change, apply
from helpdesk.services.rate_limits import DAY, WindowCounter, limit_rate
from helpdesk.services.tickets import NewRequest, open_ticket, page_message
from helpdesk.unit_of_work import AlreadyClaimed, Claim, TicketChange, change_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Ticket
    from helpdesk.ports import TicketUnitOfWork

__all__ = ["COMPLAINT_KIND", "SOURCES", "ComplaintDesk", "clean_complaint"]

# The kind of the message that keeps a complaint's words (the state JSON shows messages'
# channel; the lead's mail and the reports tell a complaint by this kind).
COMPLAINT_KIND = "complaint"
SOURCES = frozenset({"portal", "survey"})


def clean_complaint(text: object, *, max_chars: int, field: str = "complaint") -> str:
    """The customer's words as they are kept: line breaks as ``\\n``, no control or
    directional override characters, trimmed. :class:`InvalidInput` (422) when there are
    none or it is not text, :class:`TooLarge` (413) beyond ``max_chars`` characters, each
    naming ``field``."""
    if not isinstance(text, str):
        raise InvalidInput(field, "must be text")
    if len(text) > max_chars:
        raise TooLarge(field, f"is too long (at most {max_chars} characters)")
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = lines.replace("\u2028", "\n").replace("\u2029", "\n\n")
    # No control character, and no directional override: the lead's mail would read reversed.
    cleaned = typed_text(unicodedata.normalize("NFC", lines)).strip()
    if not cleaned:
        raise InvalidInput(field, "is required: tell the team lead what went wrong")
    return cleaned


@dataclass(frozen=True)
class ComplaintDesk:
    """Complaints to the team lead, from the customer's page and the survey page."""

    uow: TicketUnitOfWork
    config: Config
    counters: WindowCounter

    def complain(self, ref: str, text: str, *, now: datetime, source: str) -> Ticket:
        """Take the complaint of ticket ``ref``'s customer (the caller has verified its
        signed link): the ticket as it now is (a new ticket linked to ``ref`` when ``ref``
        is closed). :class:`InvalidInput`/:class:`TooLarge` name the field ``complaint``;
        :class:`RateLimited` past the hourly count of the ticket or the daily count of its
        contact; NotFound for no ticket."""
        if source not in SOURCES:
            raise ValueError(f"a complaint comes from one of {sorted(SOURCES)}, not {source!r}")
        words = clean_complaint(text, max_chars=self.config.complaints.text_max_chars)
        ticket = self.uow.load(ref)
        self._count_for_contact(ticket.contact_email, now)
        if ticket.status == "closed":
            return self._on_closed(ticket, words, now=now, source=source)
        return self._take(ref, words, now=now, source=source)

    def _count_for_contact(self, contact: str, now: datetime) -> None:
        """One more complaint of ``contact`` today (UTC); :class:`RateLimited` once over."""
        limit_rate(
            self.counters,
            # Per mailbox, not per spelling: "+tags" are one inbox (attack 3, F9).
            f"complaint-contact#{mailbox_key(contact)}",
            limit=self.config.complaints.per_contact_per_day,
            what="complaint",
            now=now,
            per=DAY,
        )

    def _take(
        self, ref: str, words: str, *, now: datetime, source: str, written: Message | None = None
    ) -> Ticket:
        """The complaint on an open ticket, in the first free slot of the hour."""
        hour = hour_window(now)
        for slot in range(self.config.complaints.per_ticket_per_hour):

            def decide(current: Ticket, slot: int = slot) -> TicketChange:
                return self._decide(
                    current, words, slot=slot, hour=hour, now=now, source=source, written=written
                )

            try:
                return change_ticket(self.uow, ref, decide)
            except AlreadyClaimed:
                continue  # that slot of the hour is taken: the next one
        next_hour = now.replace(minute=0, second=0, microsecond=0).timestamp() + 3600
        raise RateLimited("complaint", max(1, int(next_hour - now.timestamp())))

    # ------------------------------------------------------------------ one complaint
    def _decide(
        self,
        ticket: Ticket,
        words: str,
        *,
        slot: int,
        hour: str,
        now: datetime,
        source: str,
        written: Message | None,
    ) -> TicketChange:
        """The complaint in slot ``slot`` of the hour; ``written``: its words are the
        ticket's first message already (a complaint about a closed ticket)."""
        message = written or page_message(
            ticket,
            words,
            id=f"complaint-{hour}-{slot}",
            at=now,
            channel=source,
            kind=COMPLAINT_KIND,
        )
        updated = apply(ticket, Change(complaint=True), at=now, config=self.config)
        # A complaint starts its clock, on a ticket nobody was promised anything on too.
        assert updated.sla is not None
        clock = updated.sla.clocks[sla.COMPLAINT]
        new_run = _run_started_now(ticket, clock.started_at)
        events: list[ComplaintMade | StatusChanged] = [
            ComplaintMade(
                ref=ticket.ref,
                sender=message.author,
                message=message.id,
                text=event_text(words),
                source=source,
                # The first complaint of the hour on this run; a new run always mails.
                notify=new_run or slot == 0,
                due=clock.due.isoformat() if clock.due else "",
                at=now.isoformat(),
            )
        ]
        events += status_changes(ticket, updated, by=message.author)
        return TicketChange(
            before=ticket,
            after=updated,
            at=now,
            messages=[] if written is not None else [message],
            events=events,
            history=[("complaint", {"from": message.author, "source": source, "new": new_run})],
            claims=[Claim("submission", f"complaint:{ticket.ref}:{hour}:{slot}")],
        )

    def _on_closed(self, closed: Ticket, words: str, *, now: datetime, source: str) -> Ticket:
        """A complaint about a closed ticket: a new ticket linked to it, flagged and timed
        like any complaint, whose customer is acknowledged as for any new request."""
        hour = hour_window(now)
        # The first message of the new ticket (open_ticket files it under the new reference).
        message = page_message(
            closed,
            words,
            id=f"complaint-{hour}-0",
            at=now,
            channel=source,
            kind=COMPLAINT_KIND,
            subject=closed.subject,
        )
        try:
            opened = open_ticket(
                NewRequest(
                    channel=source,
                    subject=closed.subject,
                    text=words,
                    contact_email=closed.contact_email,
                    contact_name=closed.contact_name,
                    language=closed.language,
                    category=closed.category,
                    linked_to=closed.ref,
                ),
                uow=self.uow,
                config=self.config,
                now=now,
                first_message=message,
                # One new ticket per closed ticket and hour: a second complaint in the hour
                # adds its words to the ticket the first one opened.
                claims=[Claim("submission", f"complaint:{closed.ref}:{hour}:closed")],
            )
        except AlreadyClaimed as opened_before:
            if opened_before.ref is None:
                raise
            return self._take(opened_before.ref, words, now=now, source=source)
        first = replace(message, ticket=opened.ref)
        return self._take(opened.ref, words, now=now, source=source, written=first)


def _run_started_now(before: Ticket, started_at: datetime) -> bool:
    """Whether the complaint clock's run at ``started_at`` is new with this change (not the
    run the ticket already had)."""
    if not before.sla:
        return True
    current = before.sla.clocks.get(sla.COMPLAINT)
    return current is None or current.started_at != started_at
