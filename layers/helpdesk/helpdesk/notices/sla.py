"""Mail about SLA events: a warning to whoever works on the ticket, an escalation on a breach.

Each reader gets their own mail in their own language (:func:`audience.reader_language`),
with the due time in the SLA policy's calendar zone, since that is the clock the promise was
made in. The events carry a snapshot of the ticket (see :mod:`helpdesk.services.sla_sweep`),
so nothing here reads it again. A mail is sent once per (ticket, kind, clock, due, reader):
the sweep may publish an event twice after a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.clock import parse_iso
from helpdesk.events import SlaBreached
from helpdesk.notices import audience
from helpdesk.sla import COMPLAINT

if TYPE_CHECKING:
    from helpdesk.events import SlaWarning, TicketEscalated
    from helpdesk.notices.desk import Notifier


def warning(notifier: Notifier, event: SlaWarning, now: datetime) -> None:
    """SlaWarning: tell whoever should act that a deadline is close: for a complaint the
    team's lead(s), whose answer it awaits (helpdesk.services.complaints)."""
    config = notifier.config
    recipients = (
        audience.leads_or_every_lead(event.team, config)
        if event.clock == COMPLAINT
        else audience.warning_recipients(event.assignee, event.team, config)
    )
    _send_each(notifier, event, now, kind="warning", recipients=recipients, context=lambda: {})


def breached(notifier: Notifier, event: SlaBreached, now: datetime) -> None:
    """SlaBreached: the team lead(s) and the assignee learn that a promise was broken."""
    config = notifier.config

    def context() -> dict[str, Any]:
        return {
            "team": event.team or "",
            "new_team": event.new_team,
            "assignee": audience.agent_label(event.assignee, config) if event.assignee else None,
            "customer_name": event.contact.name,
        }

    _send_each(
        notifier,
        event,
        now,
        kind="escalation",
        recipients=audience.escalation_recipients(
            event.assignee, event.team, event.new_team, config
        ),
        context=context,
    )


def escalated(
    notifier: Notifier, event: TicketEscalated, *, holder: str | None, now: datetime
) -> None:
    """TicketEscalated, once route has decided who takes the ticket (``holder``, or None
    while it waits in the new team's queue): the new team's leads hear of it, except the
    one who holds it (their assignment mail says why) and those the breach told already.
    The mail is the breach's escalation mail, sent under the same key as
    :func:`breached`'s, so that a lead of both teams hears once."""
    config = notifier.config
    due, policy = event.due, event.policy
    if not due or not policy:
        # An event of the version before they were carried: its event_id is
        # "<clock>:<kind>:<due>" (the due has colons), and the policy is the ticket's.
        due = event.event_id.split(":", 2)[2]
        policy = notifier.repo.get_ticket(event.ref).policy
    told = audience.escalation_recipients(event.assignee, event.previous_team, None, config)

    def context() -> dict[str, Any]:
        return {
            "team": event.previous_team or "",
            "new_team": event.team,
            "assignee": audience.agent_label(holder, config) if holder else None,
            "customer_name": event.contact.name,
        }

    breach = SlaBreached(
        ref=event.ref,
        event_id=event.event_id,
        kind_of_event="breach",
        clock=event.clock,
        due=due,
        priority=event.priority,
        subject=event.subject,
        contact=event.contact,
        policy=policy,
    )
    _send_each(
        notifier,
        breach,
        now,
        kind="escalation",
        recipients=audience.new_team_leads(event.team, holder=holder, told=told, config=config),
        context=context,
    )


def _send_each(
    notifier: Notifier,
    event: SlaWarning | SlaBreached,
    now: datetime,
    *,
    kind: str,
    recipients: Iterable[str],
    context: Callable[[], Mapping[str, Any]],
) -> None:
    from helpdesk.render import format_local_datetime

    config = notifier.config
    for recipient in recipients:
        language = audience.reader_language(recipient, config)
        timezone = audience.reader_timezone(recipient, event.policy, config)
        rendered = notifier.render(
            # The templates are named after the mail: "warning", "escalation".
            kind,
            language,
            {
                "ref": event.ref,
                "subject": event.subject or "",
                "clock": event.clock,
                "due": format_local_datetime(parse_iso(event.due), timezone, language),
                "priority": event.priority or "",
                # The agent who held the ticket reads what it means for them, not the
                # lead's to-do (a lead who held it reads the lead's).
                "for_assignee": _held_by(event, recipient) and not config.is_lead(recipient),
                **context(),
            },
        )
        mail = notifier.mail(kind, event.ref, (recipient,), rendered)
        # One mail per reader and deadline: a republished event finds it sent. A ticket
        # from outside raised it: within what its contact's organization may raise to a
        # lead an hour (review 18, #1); to an agent, uncounted.
        notifier.send_raised_by(
            mail, event.contact, key=f"{event.clock}:{event.due}:{recipient}", now=now
        )


def _held_by(event: SlaWarning | SlaBreached, recipient: str) -> bool:
    holder = getattr(event, "assignee", None)
    return bool(holder) and str(holder).lower() == recipient.lower()
