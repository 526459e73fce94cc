"""SurveyAnswered: an unhappy customer (score 1 or 2) reaches the team lead the same day.

Listed in :data:`helpdesk.services.notify.NOTICES`; runs in the acknowledge function.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.clock import iso

if TYPE_CHECKING:
    from helpdesk.model import Message, Ticket
    from helpdesk.services.notify import Notifier

LOW_SCORE = 2
SUMMARY_MESSAGES = 6  # the latest messages shown; the lead opens the ticket for the rest
EXCERPT_CHARS = 300


def alert_low_score(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """Mail each lead of the ticket's team an ``alert`` with the ticket's summary and the
    customer's comment; once per (ticket, lead), however often the customer resubmits."""
    from helpdesk.mail.compose import OutboundMail, subject_with_token
    from helpdesk.render import render

    score = int(detail.get("score") or 0)
    if not 1 <= score <= LOW_SCORE:
        return
    ticket = notifier.repo.get_ticket(str(detail["ref"]))
    config = notifier.config
    leads = config.team(ticket.team).leads if ticket.team in config.team_names else ()
    if not leads:
        leads = tuple(dict.fromkeys(lead for team in config.teams for lead in team.leads))
    language = config.default_language
    rendered = render(
        "alert",
        language,
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "customer_name": ticket.contact_name,
            "customer_email": ticket.contact_email,
            "score": score,
            "effort": detail.get("effort"),
            "comment": detail.get("comment"),
            "assignee": ticket.assignee,
            "ticket_summary": ticket_summary(ticket, notifier.repo.messages(ticket.ref)),
        },
        fallback_language=config.default_language,
    )
    for lead in leads:
        mail = OutboundMail(
            kind="alert",
            ticket=ticket.ref,
            sender=config.helpdesk.address,
            sender_name=config.helpdesk.name,
            to=(lead,),
            subject=subject_with_token(rendered.subject, ticket.ref),
            text=rendered.text,
            html=rendered.html,
            reply_to=notifier.plus_address(ticket.ref),
            automatic=True,
        )
        notifier.send(mail, key=f"survey-low#{lead.lower()}", now=now)


def ticket_summary(ticket: Ticket, messages: list[Message]) -> str:
    """A few lines a lead reads in ten seconds: the ticket's facts, then its latest messages."""
    lines = [
        f"Opened {iso(ticket.created_at)} by {ticket.channel}; status {ticket.status}, "
        f"priority {ticket.priority}, team {ticket.team}"
        + (f", category {ticket.category}" if ticket.category else "")
        + (f"; solved {iso(ticket.solved_at)}" if ticket.solved_at else "")
        + ".",
        f"{len(messages)} message(s) in the conversation.",
    ]
    shown = messages[-SUMMARY_MESSAGES:]
    if len(messages) > len(shown):
        lines.append(f"(the {len(messages) - len(shown)} earlier ones are on the ticket)")
    for message in shown:
        who = {"in": "customer", "out": "agent", "note": "note"}.get(message.direction, "")
        text = " ".join(message.text.split())
        if len(text) > EXCERPT_CHARS:
            text = text[: EXCERPT_CHARS - 1] + "…"
        lines.append(f"- {iso(message.at)} {who} {message.author}: {text}")
    return "\n".join(lines)
