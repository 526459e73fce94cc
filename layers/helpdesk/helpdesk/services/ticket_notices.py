"""Mail that follows from what agents do: relayed replies, progress notices, command errors
and hand-made assignments (the acknowledge function calls these through notify.NOTICES).

A relayed reply is a person's answer: it is sent from the desk's address with the agent's
name ("Lena via Example Support"), threaded under the customer's last message, and NOT
marked automatic, so the customer's autoresponder may answer it as it would any person.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.mail.compose import OutboundMail, subject_with_token, valid_address

if TYPE_CHECKING:
    from helpdesk.model import Message
    from helpdesk.services.notify import Notifier

PROGRESS_STATUSES = frozenset({"pending", "solved"})


def relay_agent_reply(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """AgentReplied: send the agent's text to the customer (and the people on Cc)."""
    from helpdesk.render import render

    config = notifier.config
    ticket = notifier.repo.get_ticket(str(detail["ref"]))
    if not valid_address(ticket.contact_email):
        return  # nobody to relay to (the ticket keeps the reply for a person to see)
    messages = notifier.repo.messages(ticket.ref)
    reply = next((m for m in messages if m.id == detail.get("message")), None)
    body = reply.text if reply is not None else str(detail.get("text", ""))
    agent_email = str(detail.get("from", ""))
    agent_name = _agent_name(notifier, agent_email)
    rendered = render(
        "reply",
        notifier.language(ticket.language),
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "body": body,
            "agent_name": agent_name,
            "helpdesk_name": config.helpdesk.name,
        },
        fallback_language=config.default_language,
    )
    parent, references = _thread(notifier, messages)
    mail = OutboundMail(
        kind="reply",
        ticket=ticket.ref,
        sender=config.helpdesk.address,
        sender_name=f"{agent_name} via {config.helpdesk.name}",
        to=(ticket.contact_email,),
        cc=tuple(p for p in ticket.participants if valid_address(p)),
        subject=subject_with_token(rendered.subject, ticket.ref),
        text=rendered.text,
        html=rendered.html,
        reply_to=notifier.plus_address(ticket.ref),
        in_reply_to=parent,
        references=references,
        automatic=False,
    )
    notifier.send(mail, key=str(detail.get("message") or detail.get("text", "")), now=now)


def notify_progress(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """StatusChanged: tell the customer when the ticket waits on them or is solved."""
    from helpdesk.render import render

    status = str(detail.get("status", ""))
    if status not in PROGRESS_STATUSES:
        return
    config = notifier.config
    ticket = notifier.repo.get_ticket(str(detail["ref"]))
    if not valid_address(ticket.contact_email):
        return
    key = f"{status}#{detail.get('version', '')}"
    if not _within_ticket_limit(notifier, ticket.ref, "notification", key, now):
        return
    agent_email = str(detail.get("by") or ticket.assignee or "")
    rendered = render(
        f"progress_{status}",
        notifier.language(ticket.language),
        {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "customer_name": ticket.contact_name,
            "agent_name": _agent_name(notifier, agent_email),
            "helpdesk_name": config.helpdesk.name,
        },
        fallback_language=config.default_language,
    )
    parent, references = _thread(notifier, notifier.repo.messages(ticket.ref))
    mail = OutboundMail(
        kind="notification",
        ticket=ticket.ref,
        sender=config.helpdesk.address,
        sender_name=config.helpdesk.name,
        to=(ticket.contact_email,),
        subject=subject_with_token(rendered.subject, ticket.ref),
        text=rendered.text,
        html=rendered.html,
        reply_to=notifier.plus_address(ticket.ref),
        in_reply_to=parent,
        references=references,
        automatic=True,
    )
    notifier.send(mail, key=key, now=now)


def reject_commands(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """CommandRejected: tell the agent what was wrong (nothing was changed or sent)."""
    from helpdesk.render import render

    config = notifier.config
    ref = str(detail["ref"])
    agent_email = str(detail["agent"])
    agent = config.agent(agent_email)
    language = notifier.language(config.languages_of(agent)[0] if agent else "")
    rendered = render(
        "command_error",
        language,
        {
            "ref": ref,
            "errors": list(detail.get("errors", [])),
            "original_commands": list(detail.get("commands", [])),
        },
        fallback_language=config.default_language,
    )
    incoming = detail.get("message_id")
    mail = OutboundMail(
        kind="error",
        ticket=ref,
        sender=config.helpdesk.address,
        sender_name=config.helpdesk.name,
        to=(agent_email,),
        subject=subject_with_token(rendered.subject, ref),
        text=rendered.text,
        html=rendered.html,
        reply_to=notifier.plus_address(ref),
        in_reply_to=str(incoming) if incoming else None,
        automatic=True,
    )
    notifier.send(mail, key=str(detail.get("key", "")), now=now)


def tell_assignee(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """TicketAssigned (by a colleague): the new assignee gets the assignment mail."""
    from helpdesk.services.routing import assignment_mail

    ticket = notifier.repo.get_ticket(str(detail["ref"]))
    agent = str(detail["agent"])
    if ticket.assignee != agent:
        return  # reassigned again meanwhile: the later event tells the later agent
    mail = assignment_mail(notifier, ticket, agent)
    notifier.send(mail, key=f"{agent}#{detail.get('version', '')}", now=now)


# ---------------------------------------------------------------------- helpers
def _agent_name(notifier: Notifier, email: str) -> str:
    agent = notifier.config.agent(email) if email else None
    return agent.name if agent else notifier.config.helpdesk.name


def _thread(notifier: Notifier, messages: list[Message]) -> tuple[str | None, tuple[str, ...]]:
    """What a mail to the customer answers (RFC 5322 §3.6.4): their last message, or, for a
    web-form ticket that has none, our acknowledgement, so their mail client threads it."""
    inbound = [m.message_id for m in messages if m.direction == "in" and m.message_id]
    if inbound:
        return inbound[-1], tuple(inbound[:-1])
    ref = messages[0].ticket if messages else ""
    acknowledgement = notifier.repo.get_item(f"TICKET#{ref}", "OUT#acknowledgement#first")
    if acknowledgement and acknowledgement.get("message_id"):
        return str(acknowledgement["message_id"]), ()
    return None, ()


def _within_ticket_limit(notifier: Notifier, ref: str, kind: str, key: str, now: datetime) -> bool:
    """At most ``limits.outbound_per_ticket_per_hour`` automatic mails per ticket, so that
    no loop of status changes can flood a customer. A mail already sent (a redelivered
    event) is not counted again: send_once skips it anyway."""
    if notifier.repo.get_item(f"TICKET#{ref}", f"OUT#{kind}#{key}") is not None:
        return True
    return notifier.repo.count_in_window(
        f"OUTTICKET#{ref}",
        now.strftime("%Y%m%d%H"),
        limit=notifier.config.limits.outbound_per_ticket_per_hour,
        expires_at=int(now.timestamp()) + 7200,
    )
