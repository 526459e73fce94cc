"""Mail about a customer's complaint: the team's lead(s) read the customer's words, the
thread so far and by when a lead must answer.

Each lead gets their own mail in their own language (:func:`audience.reader_language`),
the deadline in their own zone (:func:`audience.reader_timezone`). The mail is the desk's,
sent through :meth:`Notifier.send` with the ticket's plus-address as Reply-To and a
Message-ID of the desk's own, so a lead's answer threads onto the ticket and goes the
agent-mail way (helpdesk.services.agent_mail): to the customer, commands and all, and a
lead's public reply stops the complaint clock. Once per complaint message and lead: a
redelivered event finds its mail sent. A complaint the service marked ``notify=False``
(another in the same hour of the same run) mails nobody: its words are on the ticket.

Every lead, an agent or not, gets at most ``complaints.lead_mails_per_sender_per_hour``
complaint mails an hour from one complainer (an organization, or a free-mail mailbox) and
``complaints.lead_mails_per_hour`` from all (Notifier.send_raised_by: by organization,
standing and lead), apart from their own ``OUT#<lead>`` count and from the alerts and
escalations a ticket raises to them (attack 16, F1): the words are those of whoever opened
a ticket (security review A18-8).
A mail the limits hold
back is not sent later: the complaint is on the ticket, and the ticket is in its leads'
next report's "needs attention" list while no lead has answered it
(helpdesk.services.reports.needs_attention).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.clock import parse_iso
from helpdesk.events import EventContact
from helpdesk.notices import audience
from helpdesk.notices.surveys import ticket_summary

if TYPE_CHECKING:
    from helpdesk.events import ComplaintMade
    from helpdesk.notices.desk import Notifier

# The mail kind (the Message-ID's and X-Helpdesk-Kind's) and its templates' name.
COMPLAINT = "complaint"


def complaint_made(notifier: Notifier, event: ComplaintMade, now: datetime) -> None:
    """ComplaintMade: each lead of the ticket's team (every lead when the team has none)
    reads the complaint, with the thread, and answers it from their mailbox."""
    if not event.notify:
        return
    from helpdesk.render import format_local_datetime

    config = notifier.config
    ticket = notifier.repo.get_ticket(event.ref)
    messages = notifier.repo.messages(event.ref)
    complaint = next((m for m in messages if m.id == event.message), None)
    words = notifier.whole(complaint).text if complaint is not None else event.text
    for lead in audience.leads_or_every_lead(ticket.team, config):
        language = audience.reader_language(lead, config)
        timezone = audience.reader_timezone(lead, ticket.policy, config)
        rendered = notifier.render(
            COMPLAINT,
            language,
            {
                "ref": ticket.ref,
                "subject": ticket.subject,
                "customer_name": ticket.contact_name,
                "customer_email": ticket.contact_email,
                "source": event.source,
                "complaint": words,
                "due": format_local_datetime(parse_iso(event.due), timezone, language)
                if event.due
                else None,
                "assignee": audience.agent_label(ticket.assignee, config)
                if ticket.assignee
                else None,
                "team": ticket.team,
                "ticket_summary": ticket_summary(
                    ticket, messages, language=language, timezone=timezone
                ),
                "helpdesk_name": config.helpdesk.name,
            },
        )
        mail = notifier.mail(COMPLAINT, ticket.ref, (lead,), rendered)
        # Counted although mail to the desk's agents is otherwise uncounted: a complaint
        # carries the words of whoever opened a ticket. Counted by the complainer's
        # organization and by lead, apart from the lead's own count (Notifier.
        # send_raised_by; attack 16, F1). A complaint past them is still on its ticket, its
        # clock running: the lead hears of it by the clock's warning.
        notifier.send_raised_by(
            mail, EventContact.of(ticket), key=f"{event.message}:{lead.lower()}", now=now,
            complaint=True,
        )  # fmt: skip
