"""Self-service: the one line the assignee gets when the customer solved the ticket with a
suggested article (helpdesk.services.self_service)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.notices import audience

if TYPE_CHECKING:
    from helpdesk.events import SelfServed
    from helpdesk.notices.desk import Notifier


def self_served(notifier: Notifier, event: SelfServed, now: datetime) -> None:
    """SelfServed: tell the assignee, in their language, that the customer confirmed an
    article answered the question and the ticket is solved (their slot is free again).
    Nobody is told about an unassigned ticket: no agent was working on it."""
    if not event.assignee:
        return
    rendered = notifier.render(
        "self_served",
        audience.reader_language(event.assignee, notifier.config),
        {
            "ref": event.ref,
            "subject": event.subject or "",
            "customer": event.contact.name or event.contact.email,
            "article": event.title or event.article,
        },
    )
    mail = notifier.mail("notification", event.ref, (event.assignee,), rendered)
    notifier.send(mail, key=f"self_served#{event.article}", now=now)
