"""Opening a ticket: the one path that email and form intake share; and a customer's
message on a ticket, the one path that an emailed reply and the customer's page share.

Triage runs here so that a ticket is born with its priority, team and SLA deadlines, and
the acknowledgement and the form's answer can both state the promise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk import sla, timers
from helpdesk.errors import Conflict
from helpdesk.events import (
    CustomerReplied,
    DomainEvent,
    FirstMessage,
    TicketOpened,
    event_text,
    status_changes,
    ticket_snapshot,
)
from helpdesk.model import (
    UNATTENDED_FLAGS,
    AttachmentMeta,
    Contact,
    Message,
    Ticket,
    greets_as_typed,
    is_robot,
    opening_speaks_for_its_contact,
    proves_its_author,
    takes_follow_ups,
)
from helpdesk.services.clocks import Change, apply
from helpdesk.triage import TriageInput, tier_for, triage
from helpdesk.unit_of_work import Claim, TicketChange, commit_new_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.ports import TicketUnitOfWork


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
    # The customer's IANA zone (helpdesk.render.known_timezone), when their browser gave it.
    timezone: str | None = None
    # A zone for this ticket's own mails when the contact keeps none, never stored: the
    # offset a mail's Date header gives (email_intake.zone_of_date).
    zone_hint: str | None = None


def open_ticket(
    request: NewRequest,
    *,
    uow: TicketUnitOfWork,
    config: Config,
    now: datetime,
    first_message: Message,
    claims: Sequence[Claim] = (),
    detect_language: bool = True,
    notify: bool = True,
    acknowledgement_counted: bool = False,
    suggest: Callable[[str, str], list[str]] | None = None,
) -> Ticket:
    """Create a ticket with its contact, first message, deadlines and running timers, and
    record ``TicketOpened`` (``notify``: whether the customer is to be acknowledged;
    ``acknowledgement_counted``: intake counted that acknowledgement in the sender's caps).

    ``claims`` are the dedupe markers of this request; if any was made before, the request
    was taken in before and :class:`~helpdesk.unit_of_work.AlreadyClaimed` is raised
    (nothing is written).

    ``suggest(text, language)``: the knowledge articles to offer the customer in the
    acknowledgement (slugs, best first); asked only when someone is to be
    acknowledged and was promised an answer (never for a robot, spam or a capped sender).
    """
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
    calendar = config.calendar(policy.calendar).business_calendar
    clocks = sla.start(now, policy.name, policy.target(decision.priority), policy.warn_at, calendar)
    # The contact as this request knows it; a stored name, language, creation time and zone
    # are kept when it is written (:meth:`TicketUnitOfWork.count_opening`): the zone of the
    # contact's first opening too ("" for a mail), since anyone can file the form with a
    # customer's address and must not move her promised times (security review F7,
    # attack 8 F2). Her name only from an opening that shows she wrote it: a forgery or a
    # form typed in her name came first, and its lure greeted her on her own next request
    # that gave no name (attack 18, F1).
    shows_its_author = opening_speaks_for_its_contact(
        proves_its_author(first_message), request.flags
    )
    asked = Contact(
        email=request.contact_email.lower(),
        name=request.contact_name if shows_its_author else "",
        tier=tier,
        language=language,
        created_at=now,
        timezone=request.timezone,
    )
    # Mail from robots (and mail we could not trust) is kept for a human to look at, but
    # nobody was promised an answer: no SLA clock runs, so no warning, breach or
    # escalation is ever raised for an out-of-office note.
    promised = not (set(request.flags) & UNATTENDED_FLAGS)
    # Asked for every ticket a person opened, mailed about or not: a channel's caller
    # without an address gets the articles in the answer to the request, and the reports'
    # writing list must not take a question nobody asked the knowledge base about for one
    # it could not answer (first-user review).
    suggested = (
        suggest(request.subject + "\n" + request.text, decision.language)
        if suggest is not None and promised
        else []
    )
    # Written and counted before the opening's transaction, once however often the opening
    # is tried (its claims name it), the contact as stored comes back with it: its name
    # for a request without one, its zone for the acknowledgement (on TicketOpened).
    contact = uow.count_opening(asked, claims)

    def build(ref: str) -> TicketChange:
        ticket = Ticket(
            ref=ref,
            status="new",
            priority=decision.priority,
            channel=request.channel,
            subject=request.subject,
            created_at=now,
            contact_email=request.contact_email.lower(),
            # A name no one vouched for greets her only if it holds no lure (attack 21, F1).
            contact_name=(
                request.contact_name
                if shows_its_author or greets_as_typed(request.contact_name)
                else ""
            )
            or contact.name,
            tier=tier,
            language=decision.language,
            team=decision.team,
            policy=policy.name,
            category=decision.category,
            flags=list(dict.fromkeys(request.flags)),
            tags=list(decision.tags),
            participants=[p.lower() for p in request.participants],
            sla=clocks if promised else None,
            linked_to=request.linked_to,
            form=dict(request.form),
            updated_at=now,
            suggested=list(suggested),
            opening_proven=proves_its_author(first_message),
        )
        message = replace(first_message, ticket=ref)
        return TicketChange(
            before=None,
            after=ticket,
            at=now,
            messages=[message],
            events=[
                opened_event(
                    ticket,
                    message,
                    notify=notify,
                    # The zone the contact keeps, else the one this request gave (a
                    # form's, for its own ticket only), else its mail's Date offset.
                    timezone=contact.timezone or request.timezone or request.zone_hint,
                    acknowledgement_counted=notify and acknowledgement_counted,
                )
            ],
            history=[("created", {"channel": request.channel, "priority": ticket.priority})],
            claims=claims,
            # A robot's ticket waits for review, then closes when it stays quiet
            # (the survey sweep's auto-close, helpdesk.services.surveys).
            timers={timers.AUTOCLOSE: now + config.robots.close_after} if is_robot(ticket) else {},
        )

    return commit_new_ticket(uow, build)


def _detect(text: str, config: Config) -> str:
    from helpdesk.language import detect_language

    return detect_language(text, config.helpdesk.languages, config.default_language)


def opened_event(
    ticket: Ticket,
    message: Message,
    *,
    notify: bool,
    timezone: str | None,
    acknowledgement_counted: bool = False,
) -> TicketOpened:
    """TicketOpened: a snapshot that lets consumers act without re-reading (``timezone``:
    the contact's stored zone, None when it has none)."""
    return TicketOpened(
        **ticket_snapshot(ticket),
        policy=ticket.policy,
        created_at=ticket.created_at.isoformat(),
        sla=ticket.sla.event_view() if ticket.sla else {},
        flags=list(ticket.flags),
        notify=notify,
        first_message=FirstMessage(
            id=message.id,
            at=message.at.isoformat(),
            message_id=message.message_id,
        ),
        suggested=list(ticket.suggested),
        timezone=timezone or "",
        acknowledgement_counted=acknowledgement_counted,
    )


def page_message(
    ticket: Ticket,
    text: str,
    *,
    id: str,
    at: datetime,
    channel: str,
    kind: str | None = None,
    subject: str | None = None,
    attachments: tuple[AttachmentMeta, ...] = (),
) -> Message:
    """What the ticket's customer wrote on one of the desk's pages (``channel``: the
    customer's page, the survey's complaint box): written by the ticket's contact, under
    the name the ticket knows; the page's link proved the ticket, so nothing the post says
    names its author. Files are flagged ``unscanned``: SES scans only mail, so the relay to
    the agent lists them and attaches none (docs/SECURITY.md)."""
    return Message(
        id=id,
        ticket=ticket.ref,
        direction="in",
        author=ticket.contact_email.lower(),
        author_name=ticket.contact_name,
        at=at,
        text=text,
        subject=subject,
        kind=kind,
        attachments=attachments,
        flags=("unscanned",) if attachments else (),
        channel=channel,
    )


class NoLongerTakesFollowUps(Conflict):
    """The ticket a message from outside was meant for was closed, or its share of the
    thread filled, since it was read (``ticket``: as it now is): the message goes on in a
    new ticket linked to it, or, from the customer's page, is refused."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"{ticket.ref} takes no more messages from outside")
        self.ticket = ticket


def customer_follow_up(
    current: Ticket,
    message: Message,
    *,
    now: datetime,
    config: Config,
    claims: Sequence[Claim] = (),
    notify: bool = True,
) -> TicketChange:
    """A customer's message on an existing ticket: the one path that an emailed reply and a
    reply from the customer's page share (helpdesk.services.portal).

    The ticket reopens if it was pending or solved, its clocks move as for any customer
    message (helpdesk.services.clocks), and ``CustomerReplied`` (unless ``notify`` is
    false: a mail listed as suppressed) relays the message to the assignee, or the lead.
    :class:`NoLongerTakesFollowUps` when ``current`` (as it is committed on) is closed, or
    holds its most messages of the message's share (``model.takes_follow_ups``): each
    caller then goes where it would have gone a moment later (review 17, #4).
    """
    if not takes_follow_ups(current, proven=proves_its_author(message)):
        raise NoLongerTakesFollowUps(current)
    updated = apply(current, Change(customer_message=True), at=now, config=config)
    events: list[DomainEvent] = []
    if notify:
        events.append(
            CustomerReplied(
                ref=current.ref,
                sender=message.author,
                text=event_text(message.text),
                status=updated.status,
                previous_status=current.status,
                message=message.id,
            )
        )
    events += status_changes(current, updated, by=message.author)
    history: dict[str, str] = {"from": message.author}
    if message.channel:
        history["channel"] = message.channel
    return TicketChange(
        before=current,
        after=updated,
        at=now,
        messages=[message],
        events=events,
        claims=claims,
        history=[("customer_replied", history)],
    )
