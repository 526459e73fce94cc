"""Mail about a ticket's conversation: the acknowledgement, relayed replies, progress
notices, command errors and assignments.

A relayed reply is a person's answer: it is sent from the desk's address with the agent's
name ("Lena via Example Support"), threaded under the customer's last message, and NOT
marked automatic, so the customer's autoresponder may answer it as it would any person.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.characters import cut_at_word
from helpdesk.clock import hour_window, parse_iso
from helpdesk.errors import NotFound
from helpdesk.model import listed_as_the_contacts, reads_unverified
from helpdesk.notices import audience, conversation

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.events import (
        AgentReplied,
        CommandRejected,
        StatusChanged,
        TicketAssigned,
        TicketOpened,
    )
    from helpdesk.mail.compose import OutboundMail
    from helpdesk.model import AttachmentMeta, Contact, Message, Ticket
    from helpdesk.notices.desk import Notifier
    from helpdesk.notices.outbound import SendResult

# The statuses the customer is told about: the ticket waits on them, or is solved.
PROGRESS_STATUSES = frozenset({"pending", "solved"})
EARLIER_TICKETS_SHOWN = 5
# A ticket handed over carries its conversation since the opening: its newest messages, each
# cut to a screenful (first-user run 16, #2: the new agent saw the opening alone, not the
# colleague's answer nor the note that the refund was done, and could refund twice).
SO_FAR_SHOWN = 5
SO_FAR_TEXT_MAX = 1000
ACKNOWLEDGEMENT = ("acknowledgement", "first")  # (kind, key): one per ticket
# The last lines of an agent's text searched for their sign-off (signed_by).
SIGN_OFF_LINES = 2
# The files relayed with one reply, in raw bytes. SES's SendRawEmail (v1, which the desk
# uses) takes a message of at most 10 MB after base64 encoding ("Service quotas in Amazon
# SES"); base64 turns 3 bytes into 4 (RFC 2045 section 6.8), so 10 MB carries 7.5 MB of
# files; 7 MB leaves room for the text, the HTML and the headers. A larger file stays on
# the ticket and the reply names it.
RELAY_ATTACHMENTS_MAX_BYTES = 7 * 1024 * 1024


def acknowledge(notifier: Notifier, event: TicketOpened, now: datetime) -> SendResult | None:
    """TicketOpened: tell the customer that the request arrived, its reference and by when
    a person will answer (a local date and time with its zone, in the customer's language);
    nothing when intake decided that nobody is to be answered."""
    if event.notify is False:
        return None
    if not event.contact.email:
        # Intake never opens a ticket without one: a malformed event fails, so that it is
        # retried and then kept in AcknowledgeDLQ (alarmed), not refused unheard.
        raise ValueError(f"{event.ref}: no address to acknowledge")
    from helpdesk.render import format_local_datetime

    config = notifier.config
    language = audience.customer_language(event.language, config)
    due = (event.sla or {}).get("first_response_due")
    policy = config.policy(event.policy or config.sla_policies[-1].name)
    # The customer's own zone when their browser gave it (now or on an earlier ticket), as
    # the event carries it from the contact's write; an event written before it carried
    # the zone (queued by the previous release) has it read from the contact.
    zone = event.timezone
    if zone is None:
        contact = notifier.repo.get_contact(event.contact.email)
        zone = contact.timezone if contact is not None else None
    timezone = audience.customer_zone(zone, audience.ticket_timezone(policy.name, config))
    rendered = notifier.render(
        "acknowledgement",
        language,
        {
            "ref": event.ref,
            "subject": event.subject or "",
            "customer_name": event.contact.name,
            "promised_by": format_local_datetime(parse_iso(due), timezone, language) if due else "",
            "helpdesk_name": config.helpdesk.name,
            "reply_hint": notifier.plus_address(event.ref),
            "articles": _suggested_articles(notifier, event),
        },
    )
    incoming = event.first_message.message_id
    mail = notifier.mail(
        ACKNOWLEDGEMENT[0],
        event.ref,
        (event.contact.email,),
        rendered,
        in_reply_to=incoming,
        references=(incoming,) if incoming else (),
    )
    return notifier.send(
        mail, key=ACKNOWLEDGEMENT[1], now=now, recipient_limit=not _counted_this_hour(event, now)
    )


def _counted_this_hour(event: TicketOpened, now: datetime) -> bool:
    """Counted already by intake's caps (``acknowledgement_counted``), in the hour it goes
    out: the recipient's count of that hour keeps room for it (Limits.
    counted_outbound_per_recipient_per_hour). Sent in a later hour (a delivery that waited,
    a redrive), it counts in that hour's as any mail does (attack 4, F1)."""
    if not event.acknowledgement_counted:
        return False
    return hour_window(parse_iso(event.created_at)) == hour_window(now)


def _suggested_articles(notifier: Notifier, event: TicketOpened) -> list[dict[str, str]]:
    """The articles intake suggested, each with its title in the ticket's language (from
    the knowledge bundle, loaded only for a ticket with suggestions) and its signed "this
    answered my question" page (helpdesk.services.self_service); none without a public
    address to link to. An article unpublished since is left out. The links expire
    ``knowledge.answer_link_ttl`` after the ticket was opened, so a resent acknowledgement
    carries the same links."""
    if not event.suggested or not notifier.public_url or notifier.knowledge is None:
        return []
    from helpdesk.services.self_service import answer_links

    knowledge = notifier.knowledge()
    articles = [knowledge.article(str(slug), event.language) for slug in event.suggested]
    return answer_links(
        event.ref,
        [(a.slug, a.title) for a in articles if a is not None and not a.reply],
        public_url=notifier.public_url,
        key=notifier.signing_key,
        expires=parse_iso(event.created_at) + notifier.config.knowledge.answer_link_ttl,
    )


def relay_agent_reply(notifier: Notifier, event: AgentReplied, now: datetime) -> None:
    """AgentReplied: send the agent's text and files to the customer (and the people on
    Cc), in one mail that also says what a status change of the same answer means (the
    progress notice of that change is not sent: one mail per person per event)."""
    ticket = notifier.repo.get_ticket(event.ref)
    to, cc = audience.customer_and_participants(ticket)
    if not to:
        return  # nobody to relay to (the ticket keeps the reply for a person to see)
    messages = notifier.repo.messages(ticket.ref)
    reply = next((m for m in messages if m.id == event.message), None)
    agent_name = audience.agent_name(event.sender, notifier.config)
    body = reply.text if reply is not None else event.text
    attached, not_attached = _files_to_send(notifier, reply)
    rendered = notifier.render(
        "reply",
        audience.customer_language(ticket.language, notifier.config),
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "body": body,
            "agent_name": agent_name,
            "helpdesk_name": notifier.config.helpdesk.name,
            "status": _announced_status(event),
            "signed": signed_by(body, agent_name),
            "attachments": [{"filename": name, "size": len(data)} for name, _, data in attached],
            "not_attached": [{"filename": a.filename, "size": a.size} for a in not_attached],
        },
    )
    parent, references = customer_thread(notifier, messages)
    mail = notifier.mail(
        "reply",
        ticket.ref,
        to,
        rendered,
        cc=cc,
        sender_name=f"{agent_name} via {notifier.config.helpdesk.name}",
        in_reply_to=parent,
        references=references,
        automatic=False,
    )
    mail = replace(mail, attachments=tuple(attached))
    notifier.send(mail, key=str(event.message or event.text or ""), now=now)


def _announced_status(event: AgentReplied) -> str:
    """The status the reply announces: pending or solved, when the same answer set it."""
    changed = event.status and event.status != event.previous_status
    return event.status if changed and event.status in PROGRESS_STATUSES else ""


def signed_by(text: str, name: str) -> bool:
    """Whether ``text`` ends with the agent's own sign-off: one of its last
    :data:`SIGN_OFF_LINES` non-blank lines holds the agent's configured name, or its first
    word, as a word of its own ("Best, Lena", "Lena Berg", "-- Lena"). Then the relayed
    reply adds only the desk's name below it, never the agent's name a second time."""
    name_words = re.findall(r"\w+", name.casefold())
    names = {" ".join(name_words), *name_words[:1]} - {""}
    lines = [line for line in text.casefold().splitlines() if line.strip()]
    for line in lines[-SIGN_OFF_LINES:]:
        spaced = " ".join(re.findall(r"\w+", line))
        if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", spaced) for n in names):
            return True
    return False


def _files_to_send(
    notifier: Notifier, reply: Message | None
) -> tuple[list[tuple[str, str, bytes]], list[AttachmentMeta]]:
    """The reply's files that go with the mail (read from S3, in order, while they fit
    within :data:`RELAY_ATTACHMENTS_MAX_BYTES`), and those kept on the ticket only."""
    files = [a for a in (reply.attachments if reply else ()) if not a.inline]
    attached: list[tuple[str, str, bytes]] = []
    left: list[AttachmentMeta] = []
    room = RELAY_ATTACHMENTS_MAX_BYTES
    for meta in files:
        if meta.key is None or meta.dropped is not None or notifier.mail_store is None:
            left.append(meta)
            continue
        if meta.size > room:
            left.append(meta)
            continue
        try:
            data = notifier.mail_store.read(meta.key)
        except NotFound:
            left.append(meta)  # gone from the bucket: the reply still goes, naming it
            continue
        attached.append((meta.filename, meta.content_type, data))
        room -= len(data)
    return attached, left


def progress(notifier: Notifier, event: StatusChanged, now: datetime) -> None:
    """StatusChanged: tell the customer when the ticket waits on them or is solved (at
    most ``limits.outbound_per_ticket_per_hour`` such mails per ticket and hour), unless
    the agent's reply of the same change tells them already (``in_reply``)."""
    if event.status not in PROGRESS_STATUSES or event.in_reply:
        return
    ticket = notifier.repo.get_ticket(event.ref)
    to, _ = audience.customer_and_participants(ticket)
    if not to or not listed_as_the_contacts(ticket):
        # Nobody to tell, or an opening that does not show who wrote it (forged, spam, a
        # robot's): the desk answers none of it on its own, and the notice would carry a
        # forger's subject to her with working links (attack 18, F2). An agent's reply
        # still goes: a person decided it.
        return
    rendered = notifier.render(
        f"progress_{event.status}",
        audience.customer_language(ticket.language, notifier.config),
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "customer_name": ticket.contact_name,
            "agent_name": audience.agent_name(event.by or ticket.assignee, notifier.config),
            "helpdesk_name": notifier.config.helpdesk.name,
        },
    )
    parent, references = customer_thread(notifier, notifier.repo.messages(ticket.ref))
    mail = notifier.mail(
        "notification", ticket.ref, to, rendered, in_reply_to=parent, references=references
    )
    version = "" if event.version is None else event.version
    notifier.send(mail, key=f"{event.status}#{version}", now=now, ticket_limit=True)


def command_rejected(notifier: Notifier, event: CommandRejected, now: datetime) -> None:
    """CommandRejected: tell the agent what was wrong (nothing was changed or sent), or,
    for a valid mail that changed nothing, why nothing happened."""
    language = audience.reader_language(event.agent, notifier.config)
    if event.errors:
        rendered = notifier.render(
            "command_error",
            language,
            {
                "ref": event.ref,
                "errors": _in_words(event.errors, event.said or [], language),
                "original_commands": list(event.commands or []),
            },
        )
    else:
        rendered = notifier.render(
            "nothing_changed",
            language,
            {
                "ref": event.ref,
                "empty": bool(event.empty) or not event.unchanged,
                "unchanged": list(event.unchanged or []),
            },
        )
    incoming = str(event.message_id) if event.message_id else None
    mail = notifier.mail("error", event.ref, (event.agent,), rendered, in_reply_to=incoming)
    notifier.send(mail, key=str(event.key or ""), now=now)


def _in_words(errors: list[str], said: list[dict[str, Any]], language: str) -> list[str]:
    """Each error in ``language``'s ``[command_errors]`` words, where the event says which
    (``said``, in the errors' order); as written (English) otherwise: an event of the
    previous version, or a problem without words."""
    from helpdesk.render import language_words

    words = language_words("command_errors", language)
    shown = []
    for position, error in enumerate(errors):
        entry = said[position] if position < len(said) else {}
        template = words.get(str(entry.get("key", ""))) if entry else None
        try:
            shown.append(str(template).format(**entry["values"]) if template else error)
        except (KeyError, IndexError, ValueError):
            shown.append(error)  # words that name a value the event lacks: as written
    return shown


def assigned_by_colleague(notifier: Notifier, event: TicketAssigned, now: datetime) -> None:
    """TicketAssigned (by a colleague): the new assignee gets the assignment mail."""
    ticket = notifier.repo.get_ticket(event.ref)
    if ticket.assignee != event.agent:
        return  # reassigned again meanwhile: the later event tells the later agent
    version = "" if event.version is None else event.version
    assignment(notifier, ticket, event.agent, key=f"{event.agent}#{version}", now=now, by=event.by)


def assignment(
    notifier: Notifier,
    ticket: Ticket,
    agent_email: str,
    *,
    key: str,
    now: datetime,
    contact: Contact | None = None,
    request: Message | None = None,
    by: str | None = None,
) -> SendResult:
    """The mail that gives an agent everything to answer without asking "who are you?"
    (``contact`` and ``request``, the first message: the ticket's, when already read),
    and, on a ticket that has gone on since its opening, the conversation so far. Sent by
    route as it assigns, and for an assignment by a colleague (``by``)."""
    from zoneinfo import ZoneInfo

    from helpdesk.notices.assistant import assistant
    from helpdesk.render import format_local_datetime, language_words

    config = notifier.config
    language = audience.reader_language(agent_email, config)
    timezone = audience.reader_timezone(agent_email, ticket.policy, config)
    sla = ticket.sla.public_view() if ticket.sla else {}

    def due(name: str) -> str:
        value = sla.get(name)
        return format_local_datetime(parse_iso(value), timezone, language) if value else "-"

    # The promises already broken and not kept since: an escalated ticket's new agent (who
    # may also lead the new team) learns it here, in the one mail they get for it.
    overdue = [
        {"clock": clock, "due": due(f"{clock}_due")}
        for clock in sla.get("breaches", ())
        if sla.get(f"{clock}_due") and not sla.get(f"{clock}_at")
    ]
    escalate_to = config.policy(ticket.policy).escalate_to

    if request is None:
        messages = notifier.repo.messages(ticket.ref)
        request = next((m for m in messages if m.direction == "in"), None)
        since = [m for m in messages if request is None or m.id != request.id]
    else:
        # Route's assignment of a ticket it knows by its TicketOpened: the opening is all
        # there is (a move, an escalation or a freed slot names no first message, and reads
        # the conversation above).
        since = []
    request = notifier.whole(request) if request is not None else None
    shown_so_far = _so_far_shown(since)
    # The request's files, as a relay carries a later message's: attached while they fit
    # the relay's limit, held when nobody vouched for the mail or they run code (first-user
    # run 14, #3: the agent read the receipt's name and had no way to open it).
    files = (
        conversation.relayed_files(
            notifier,
            request,
            config.limits.relay_attachment_max_bytes,
            # Held too when the desk answers the ticket not on its own (spam, forged, a
            # robot's): a spammer's own domain signs his mail (attack 20, F5).
            hold=bool(conversation.UNVOUCHED_FLAGS & set(request.flags))
            or not listed_as_the_contacts(ticket),
        )
        if request is not None
        else []
    )
    if contact is None:
        contact = notifier.repo.get_contact(ticket.contact_email)
    # Every new ticket is counted on its contact before its commit (count_opening), so a
    # count of one on a contact made by this ticket's opening is this ticket alone: there
    # is no history to look up. A count may be too high (an opening that never committed),
    # never too low as written; but the contact may come from an eventually consistent
    # read (routing's), one that predates her latest opening: a contact older than the
    # ticket has had a ticket before (review 10, #4), so her tickets are looked up.
    first_ticket = (
        contact is not None
        and contact.ticket_count == 1
        and contact.created_at >= ticket.created_at
    )
    earlier = (
        []
        if first_ticket
        else [t for t in notifier.repo.contact_tickets(ticket.contact_email) if t.ref != ticket.ref]
    )
    context = {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "customer_name": ticket.contact_name or (contact.name if contact else ""),
        "customer_email": ticket.contact_email,
        "tier": ticket.tier,
        "language": ticket.language,
        "priority": ticket.priority,
        "team": ticket.team,
        "due_first_response": due("first_response_due"),
        # Met already (a ticket handed over after its answer): said so, not as still due.
        "first_response_answered": due("first_response_at") if sla.get("first_response_at") else "",
        "assigned_by": audience.agent_label(by, config) if by else "",
        "so_far": [_said(m, ticket, config, timezone, language) for m in shown_so_far],
        "so_far_older": len(since) - len(shown_so_far),
        "so_far_each": SO_FAR_SHOWN,
        "due_resolution": due("resolution_due"),
        "message_text": request.text if request else "",
        # Nothing proves who wrote it: the mail, the form or the chat gave the name and
        # address (attack 20, F2).
        "unverified": request is not None and reads_unverified(request),
        "attachment_limit": config.limits.relay_attachment_max_bytes,
        "unreachable_channel": audience.unreachable_channel(ticket),
        "earlier_tickets": [
            {
                "ref": t.ref,
                "subject": t.subject,
                "status": t.status,
                "created": t.created_at.astimezone(ZoneInfo(timezone)).date().isoformat(),
            }
            for t in earlier[:EARLIER_TICKETS_SHOWN]
        ],
        # The reply commands explained in the agent's language (its folder's words).
        "commands_help": list(
            language_words("assignment", language, fallback_language=config.default_language)[
                "commands_help"
            ]
        ),
        "overdue": overdue,
        "escalated_to": ticket.team if overdue and ticket.team == escalate_to else "",
        # The articles and saved replies that may answer the request the mail shows.
        "assistant": assistant(notifier, ticket, request.text if request else ""),
        "assistant_words": language_words(
            "assistant", language, fallback_language=config.default_language
        ),
    }

    def assignment_mail(shown: list[conversation.RelayedFile]) -> OutboundMail:
        attachments = [{"filename": f.filename, "size": f.size, "state": f.state} for f in shown]
        rendered = notifier.render("assignment", language, context | {"attachments": attachments})
        # The agent's answer goes to the ticket's own address and threads by our Message-ID.
        mail = notifier.mail("assignment", ticket.ref, (agent_email,), rendered)
        return conversation.with_attachments(mail, shown)

    # Files in the first few mails of the ticket to this agent in an hour, as relays'.
    return conversation.send_carrying_files(
        notifier, assignment_mail, files, ticket=ticket.ref, reader=agent_email, key=key, now=now
    )


# ---------------------------------------------------------------------- helpers
def _so_far_shown(since: list[Message]) -> list[Message]:
    """What the handover shows of the conversation since the opening, oldest first: the
    newest SO_FAR_SHOWN of the desk's side (answers, notes) and of the customer's side
    each. The newest messages alone let five nudges, the customer's or a forger's, push
    a colleague's "refund done, do not refund again" note out of sight (attack 22, F1)."""
    desk = [m for m in since if m.direction != "in"][-SO_FAR_SHOWN:]
    outside = [m for m in since if m.direction == "in"][-SO_FAR_SHOWN:]
    kept = {m.id for m in desk + outside}
    return [m for m in since if m.id in kept]


def _said(
    message: Message, ticket: Ticket, config: Config, timezone: str, language: str
) -> dict[str, Any]:
    """One message of the conversation so far, as the assignment shows it: a colleague by
    name; anyone from outside by the name they gave and their address, marked when nothing
    proves it (a forged mail named "Wei, internal note" read as a colleague's note:
    review 21, #3); its text cut to SO_FAR_TEXT_MAX, or where the item keeps an excerpt
    of a longer mail, with "…" (``cut``)."""
    from helpdesk.render import format_local_datetime

    if message.direction == "in":
        name = conversation.writer(message, ticket)
        who = name if name == message.author else f"{name} <{message.author}>"
    else:
        who = audience.agent_name(message.author, config)
    text = cut_at_word(message.text, SO_FAR_TEXT_MAX)
    # An excerpt that holds all of the text (its HTML made it one) is no cut (newuser 17).
    excerpt = message.excerpt and not message.holds_whole_text
    cut = text != message.text or excerpt
    return {
        "who": who,
        "when": format_local_datetime(message.at, timezone, language),
        "note": message.direction == "note",
        "unverified": message.direction == "in" and reads_unverified(message),
        "text": text.rstrip() + "…" if excerpt and text == message.text else text,
        "cut": cut,
    }


def customer_thread(
    notifier: Notifier, messages: list[Message]
) -> tuple[str | None, tuple[str, ...]]:
    """What a mail to the customer answers (RFC 5322 §3.6.4): their last message, or, for a
    web-form ticket that has none, our acknowledgement, so their mail client threads it."""
    inbound = [m.message_id for m in messages if m.direction == "in" and m.message_id]
    if inbound:
        return inbound[-1], tuple(inbound[:-1])
    ref = messages[0].ticket if messages else ""
    acknowledgement = notifier.sent_message_id(ref, *ACKNOWLEDGEMENT) if ref else None
    return acknowledgement, ()
