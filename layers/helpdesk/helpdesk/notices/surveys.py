"""Mail about satisfaction surveys: the invitation to the customer, and the alert that
brings an unhappy answer to the team's leads the same day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.events import EventContact
from helpdesk.model import reads_unverified
from helpdesk.notices import audience

if TYPE_CHECKING:
    from helpdesk.events import SurveyAnswered
    from helpdesk.model import Message, Ticket
    from helpdesk.notices.desk import Notifier
    from helpdesk.notices.outbound import SendResult

SUMMARY_MESSAGES = 6  # the latest messages shown; the lead opens the ticket for the rest
EXCERPT_CHARS = 300
SCORES = range(1, 6)


def invitation(
    notifier: Notifier, ticket: Ticket, score_url: Callable[[int], str], *, now: datetime
) -> SendResult:
    """The survey: one link per score (``score_url``), once per ticket."""
    from helpdesk.render import score_labels

    config = notifier.config
    language = audience.customer_language(ticket.language, config)
    labels = score_labels(language, fallback_language=config.default_language)
    rendered = notifier.render(
        "survey",
        language,
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "customer_name": ticket.contact_name,
            "score_links": [
                {"score": score, "url": score_url(score), "label": labels[score]}
                for score in SCORES
            ],
            "helpdesk_name": config.helpdesk.name,
        },
    )
    mail = notifier.mail("survey", ticket.ref, (ticket.contact_email,), rendered)
    return notifier.send(mail, key="survey", now=now)


def low_score_alert(notifier: Notifier, event: SurveyAnswered, now: datetime) -> None:
    """SurveyAnswered with a low score (``low``: decided by the survey, see
    :data:`helpdesk.services.surveys.LOW_SCORES`): mail each lead of the ticket's team (every
    lead when it has none) an ``alert`` with the ticket's summary and the customer's
    comment; once per (ticket, lead), however often the customer resubmits."""
    if not event.low:
        return
    ticket = notifier.repo.get_ticket(event.ref)
    config = notifier.config
    rendered = notifier.render(
        "alert",
        # One text for every lead, in the desk's language.
        config.default_language,
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "customer_name": ticket.contact_name,
            "customer_email": ticket.contact_email,
            "score": event.score,
            "effort": event.effort,
            "comment": event.comment,
            "assignee": ticket.assignee,
            "ticket_summary": ticket_summary(
                ticket,
                notifier.repo.messages(ticket.ref),
                language=config.default_language,
                timezone=audience.ticket_timezone(ticket.policy, config),
            ),
        },
    )
    for lead in audience.leads_or_every_lead(ticket.team, config):
        mail = notifier.mail("alert", ticket.ref, (lead,), rendered)
        # The customer's words: within what her organization may raise to a lead an hour.
        notifier.send_raised_by(
            mail, EventContact.of(ticket), key=f"survey-low#{lead.lower()}", now=now
        )


def ticket_summary(
    ticket: Ticket, messages: list[Message], *, language: str = "en", timezone: str = "UTC"
) -> str:
    """A few lines a lead reads in ten seconds: the ticket's facts, then its latest messages.

    Times are in ``timezone`` (the ticket's calendar) and named, to the minute; the
    status, priority and category are in ``language``'s words (helpdesk.render.term).
    """
    from helpdesk.render import format_local_short, language_words, term

    words = language_words("alert", language)

    def when(instant: datetime) -> str:
        return format_local_short(instant, timezone, language)

    opened = words["summary_opened"].format(
        when=when(ticket.created_at),
        channel=term("channel", ticket.channel, language),
        status=term("status", ticket.status, language),
        priority=term("priority", ticket.priority, language),
        team=ticket.team,
    )
    if ticket.category:
        opened += words["summary_category"].format(
            category=term("category", ticket.category, language)
        )
    if ticket.solved_at:
        opened += words["summary_solved"].format(when=when(ticket.solved_at))
    lines = [opened + words["summary_end"], words["summary_messages"].format(count=len(messages))]
    shown = messages[-SUMMARY_MESSAGES:]
    if len(messages) > len(shown):
        lines.append(words["summary_earlier"].format(count=len(messages) - len(shown)))
    for message in shown:
        who = words.get(f"summary_{message.direction}", "")
        if message.direction == "in" and reads_unverified(message):
            # SES did not authenticate it, or the address was typed into the form or a chat:
            # it may not be its author's (attack 16, F2; attack 17, F5; attack 19, F1).
            # Staff read this; the customer's page says it of mail only, not to tell her
            # her own form or chat is unverified.
            who = words["summary_in_unverified"]
        text = " ".join(message.text.split())
        if len(text) > EXCERPT_CHARS:
            text = text[: EXCERPT_CHARS - 1] + "…"
        lines.append(f"- {when(message.at)} {who} {message.author}: {text}")
    return "\n".join(lines)
