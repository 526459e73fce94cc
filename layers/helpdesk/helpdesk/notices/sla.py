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
from helpdesk.notices import audience

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.events import SlaBreached, SlaWarning
    from helpdesk.notices.desk import Notifier


def warning(notifier: Notifier, event: SlaWarning, now: datetime) -> None:
    """SlaWarning: tell whoever should act that a deadline is close."""
    _send_each(
        notifier,
        event,
        now,
        kind="warning",
        recipients=audience.warning_recipients(event.assignee, event.team, notifier.config),
        context=lambda: {},
    )


def breached(notifier: Notifier, event: SlaBreached, now: datetime) -> None:
    """SlaBreached: the team lead(s) and the assignee learn that a promise was broken."""
    config = notifier.config

    def context() -> dict[str, Any]:
        return {
            "team": event.team or "",
            "new_team": event.new_team,
            "assignee": audience.agent_label(event.assignee, config) if event.assignee else None,
            "customer_name": (event.contact or {}).get("name") or "",
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
    timezone = _policy_timezone(event.policy or "", config)
    for recipient in recipients:
        language = audience.reader_language(recipient, config)
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
                **context(),
            },
        )
        mail = notifier.mail(kind, event.ref, (recipient,), rendered)
        # One mail per reader and deadline: a republished event finds it sent.
        notifier.send(mail, key=f"{event.clock}:{event.due}:{recipient}", now=now)


def _policy_timezone(policy: str, config: Config) -> str:
    try:
        return config.calendar(config.policy(policy).calendar).timezone
    except KeyError:
        return config.report_timezone  # a policy since removed: the desk's first zone
