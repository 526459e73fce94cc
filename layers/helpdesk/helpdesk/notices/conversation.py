"""Mail that brings the conversation to the agent: a customer's message, a colleague's note.

Agents work from their mailbox, so every customer message on a ticket reaches whoever works
on it: the assignee, or, while nobody holds the ticket, the team as its config says
(``teams[].notify_unassigned``: the lead(s) by default, or every member who is not away).
An internal note reaches the assignee when a colleague wrote it (nobody needs their own
note mailed back).

The mail shows the new text on top (the quoted history is already cut off by the intake),
the ticket's status, what is due and when, and the customer's attachments: attached while
they fit ``limits.relay_attachment_max_bytes`` together, listed beyond it (they stay with
the ticket; docs/SECURITY.md says why no download link is mailed). It is the desk's mail,
sent once per message and reader through :meth:`Notifier.send`, so its Message-ID is the
desk's own: the agent's answer threads onto the ticket by it (and by the Reply-To
plus-address) and goes the agent-mail way to the customer, commands and all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.clock import parse_iso
from helpdesk.errors import NotFound
from helpdesk.notices import audience

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.events import CustomerReplied, NoteAdded
    from helpdesk.mail.compose import OutboundMail
    from helpdesk.model import AttachmentMeta, Direction, Message, Ticket
    from helpdesk.notices.desk import Notifier

# The mail kind (the Message-ID's and X-Helpdesk-Kind's): the desk relays words to an agent.
RELAY = "relay"
TEMPLATE = "customer_message"
NO_DUE = "-"


@dataclass(frozen=True)
class RelayedFile:
    """An attachment as the relay mail names it: ``state`` is ``attached``, ``kept`` (with
    the ticket, over the relay's limit) or ``dropped`` (never kept: the intake's reason)."""

    filename: str
    content_type: str
    size: int
    state: str
    data: bytes = b""


def customer_message(notifier: Notifier, event: CustomerReplied, now: datetime) -> None:
    """CustomerReplied: whoever works on the ticket reads the customer's new message."""
    ticket = notifier.repo.get_ticket(event.ref)
    message = _message(
        notifier,
        ticket.ref,
        message_id=event.message,
        sender=event.sender,
        text=event.text,
        direction="in",
        now=now,
    )
    recipients = customer_message_recipients(ticket, notifier.config)
    _relay(notifier, ticket, message, recipients, now=now)


def colleague_note(notifier: Notifier, event: NoteAdded, now: datetime) -> None:
    """NoteAdded: the assignee reads a note a colleague left on their ticket."""
    ticket = notifier.repo.get_ticket(event.ref)
    if not ticket.assignee or ticket.assignee.lower() == event.sender.lower():
        return  # nobody holds it, or the assignee wrote it: nobody to tell
    message = _message(
        notifier,
        ticket.ref,
        message_id=event.message,
        sender=event.sender,
        text=event.text,
        direction="note",
        now=now,
    )
    _relay(notifier, ticket, message, (ticket.assignee.lower(),), now=now)


def customer_message_recipients(ticket: Ticket, config: Config) -> tuple[str, ...]:
    """Who reads a customer's message: the assignee; while nobody holds the ticket, the
    team's lead(s), or with ``notify_unassigned: members`` every member not away (the
    leads when none is in); a ticket of a team no longer in the config reaches every lead.

    One accountable reader is the default: a message mailed to a whole team is a message
    each member may assume another answers, and the lead is who assigns it.
    """
    if ticket.assignee:
        return (ticket.assignee.lower(),)
    try:
        team = config.team(ticket.team)
    except KeyError:
        return audience.every_lead(config)
    if team.notify_unassigned == "members":
        members = tuple(a.email for a in config.agents_of(team.name) if not a.away)
        if members:
            return members
    return team.leads or audience.every_lead(config)


# ---------------------------------------------------------------------- the mail
def _relay(
    notifier: Notifier,
    ticket: Ticket,
    message: Message,
    recipients: tuple[str, ...],
    *,
    now: datetime,
) -> None:
    if not recipients:
        return
    config = notifier.config
    whole = notifier.whole(message)
    files = _files(notifier, message, config.limits.relay_attachment_max_bytes)
    note = message.direction == "note"
    author = audience.agent_name(message.author, config) if note else _writer(message, ticket)
    for recipient in recipients:
        language = audience.reader_language(recipient, config)
        due_reply, due_resolution = _due(ticket, config, language)
        rendered = notifier.render(
            TEMPLATE,
            language,
            {
                "ref": ticket.ref,
                "subject": ticket.subject,
                "note": note,
                "author": author,
                "author_email": message.author,
                "message_text": whole.text,
                "status": ticket.status,
                "due_reply": due_reply,
                "due_resolution": due_resolution,
                "attachments": [
                    {"filename": f.filename, "size": f.size, "state": f.state} for f in files
                ],
                "attachment_limit": config.limits.relay_attachment_max_bytes,
                "helpdesk_name": config.helpdesk.name,
            },
        )
        mail = notifier.mail(
            RELAY,
            ticket.ref,
            (recipient,),
            rendered,
            sender_name=f"{author} via {config.helpdesk.name}",
        )
        mail = _with_attachments(mail, files)
        # One mail per message and reader: a redelivered event finds it sent.
        notifier.send(mail, key=f"{message.id}:{recipient}", now=now)


def _writer(message: Message, ticket: Ticket) -> str:
    """How the mail names the customer who wrote: their name in the mail, else the
    contact's name when the contact wrote (a participant on Cc is not the contact)."""
    if message.author_name:
        return message.author_name
    if message.author.lower() == ticket.contact_email.lower() and ticket.contact_name:
        return ticket.contact_name
    return message.author


def _with_attachments(mail: OutboundMail, files: list[RelayedFile]) -> OutboundMail:
    attached = tuple((f.filename, f.content_type, f.data) for f in files if f.state == "attached")
    return replace(mail, attachments=attached)


def _message(
    notifier: Notifier,
    ref: str,
    *,
    message_id: str,
    sender: str,
    text: str,
    direction: Direction,
    now: datetime,
) -> Message:
    """The message the event is about, as the ticket keeps it; from the event alone when
    the ticket no longer lists it (or the event predates its ``message``)."""
    from helpdesk.model import Message

    if message_id:
        found = next((m for m in notifier.repo.messages(ref) if m.id == message_id), None)
        if found is not None:
            return found
    # Keyed by its text: the same event again is the same mail again.
    key = message_id or hashlib.sha256(f"{sender}\n{text}".encode()).hexdigest()[:20]
    return Message(
        id=key,
        ticket=ref,
        direction=direction,
        author=sender.lower(),
        at=now,
        text=text,
    )


def _files(notifier: Notifier, message: Message, limit: int) -> list[RelayedFile]:
    """The message's attachments (inline images aside: they belong to the HTML, which the
    relay does not carry), attached in the customer's order while they fit ``limit``."""
    files: list[RelayedFile] = []
    budget = limit
    for attachment in message.attachments:
        if attachment.inline:
            continue
        files.append(_file(notifier, attachment, budget))
        if files[-1].state == "attached":
            budget -= attachment.size
    return files


def _file(notifier: Notifier, attachment: AttachmentMeta, budget: int) -> RelayedFile:
    def named(state: str, data: bytes = b"") -> RelayedFile:
        return RelayedFile(
            attachment.filename, attachment.content_type, attachment.size, state, data
        )

    if attachment.dropped is not None or attachment.key is None:
        return named("dropped")
    if attachment.size > budget or notifier.mail_store is None:
        return named("kept")
    try:
        data = notifier.mail_store.read(attachment.key)
    except NotFound:
        return named("dropped")  # removed from the store since: nothing to attach or fetch
    # The size the intake recorded is what the budget counted; the bytes are what is sent.
    return RelayedFile(attachment.filename, attachment.content_type, len(data), "attached", data)


def _due(ticket: Ticket, config: Config, language: str) -> tuple[str, str]:
    """When the next answer and the resolution are due, as the agent's other mails say it
    ("-" when the clock does not run: achieved, or paused while the ticket is pending)."""
    from helpdesk.render import format_local_datetime
    from helpdesk.sla import SlaState

    sla = SlaState.from_dict(ticket.sla).public_view() if ticket.sla else {}
    try:
        timezone = config.calendar(config.policy(ticket.policy).calendar).timezone
    except KeyError:
        timezone = config.report_timezone  # a policy since removed: the desk's first zone

    def shown(value: object) -> str:
        return format_local_datetime(parse_iso(str(value)), timezone, language) if value else NO_DUE

    reply = (
        sla.get("next_response_due")
        if sla.get("first_response_at")
        else sla.get("first_response_due")
    )
    return shown(reply), shown(sla.get("resolution_due"))
