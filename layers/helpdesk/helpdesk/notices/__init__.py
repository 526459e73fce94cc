"""Notices: the mail that follows from what happens to a ticket, in one package.

:func:`handle` is the one dispatcher: :data:`NOTICES` maps each kind of event (a class of
:mod:`helpdesk.events`) to the functions that mail about it; an event no notice follows
mails nobody. Who hears about an event and in which language is decided in
:mod:`~helpdesk.notices.audience`; each family of notices is a module with one function per
notice (:mod:`~.tickets`, :mod:`~.conversation`, :mod:`~.sla`, :mod:`~.surveys`,
:mod:`~.reports`, :mod:`~.portal`); every mail is put together by :meth:`Notifier.mail`
and sent once by :meth:`Notifier.send` (:mod:`~.outbound`). The acknowledge function feeds
every event here; route, the survey dispatch and the report run call their family's
function directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk import events
from helpdesk.notices import (
    complaints,
    conversation,
    portal,
    self_service,
    sla,
    surveys,
    tickets,
)
from helpdesk.notices.desk import Notifier

# The event's class -> the notices it calls for, in order; each takes (notifier, event,
# now). A second notice on an event is one more entry in its tuple.
Notice = Callable[[Notifier, Any, datetime], object]
NOTICES: dict[type[events.DomainEvent], tuple[Notice, ...]] = {
    events.TicketOpened: (tickets.acknowledge,),
    events.AgentReplied: (tickets.relay_agent_reply,),
    events.StatusChanged: (tickets.progress,),
    events.CommandRejected: (tickets.command_rejected,),
    events.TicketAssigned: (tickets.assigned_by_colleague,),
    events.SlaWarning: (sla.warning,),
    events.SlaBreached: (sla.breached,),
    events.SurveyAnswered: (surveys.low_score_alert,),
    events.CustomerReplied: (conversation.customer_message,),
    events.NoteAdded: (conversation.colleague_note,),
    events.ComplaintMade: (complaints.complaint_made,),
    events.SelfServed: (self_service.self_served,),
    events.PageLinksRequested: (portal.page_links,),
}


def handle(event: events.DomainEvent, notifier: Notifier, *, now: datetime) -> None:
    """Send what ``event`` calls for (nothing for events that mail nobody). A notice that
    fails fails the delivery, which is retried whole: each mail is sent once (its claim),
    so the notices before it send nothing again."""
    for notice in NOTICES.get(type(event), ()):
        notice(notifier, event, now)


__all__ = ["NOTICES", "Notifier", "handle"]
