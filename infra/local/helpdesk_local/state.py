"""The state JSON (docs/SCENARIOS.md): what the desk holds and sent, read off the stack.

This is developer tooling: it may scan the local table (deployed code never scans).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from helpdesk.aws.dynamodb import decode, message_from_item, ticket_from_item
from helpdesk.clock import iso, parse_iso
from helpdesk.model import Message
from helpdesk.services.message_bodies import whole

if TYPE_CHECKING:
    from helpdesk_local.stack import LocalStack

OUTBOX_HEADERS = (
    "Message-ID",
    "In-Reply-To",
    "References",
    "Reply-To",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
    "X-Helpdesk-Kind",
    "X-Helpdesk-Ticket",
    "Date",
    "Cc",
)


def scan_items(stack: LocalStack) -> list[dict[str, Any]]:
    """Every item of the domain table, in the order a Scan returns them.

    Read from moto's table itself (``Table.all_items``, the list moto's Scan pages
    through), not through a Scan request: the state is read after nearly every step of
    every scenario and test, and a Scan through botocore and moto serialises and parses
    the whole table each time (most of ``build_state``'s cost). The stack's own reads
    are no part of what is tested: the functions still reach DynamoDB through the SDK.
    """
    from moto.dynamodb.models import dynamodb_backends

    from helpdesk_local.stack import ACCOUNT, REGION

    name = stack.resolver.ref("DomainTable") if stack.resolver else ""
    table = dynamodb_backends[ACCOUNT][REGION].get_table(name)
    return [decode(item.to_json()["Attributes"]) for item in table.all_items()]


def scan_items_through_the_sdk(stack: LocalStack) -> list[dict[str, Any]]:
    """:func:`scan_items` by Scan requests (what it must always equal)."""
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        response = stack.dynamodb.scan(**kwargs)
        items.extend(decode(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _contact_view(
    items_by_key: dict[tuple[str, str], dict[str, Any]], email: str, name: str, tier: str
) -> dict[str, Any]:
    contact = items_by_key.get((f"CONTACT#{email.lower()}", "META"), {})
    return {"email": email, "name": contact.get("name") or name, "tier": tier}


def _message_view(message: Message) -> dict[str, Any]:
    view: dict[str, Any] = {
        "direction": message.direction,
        "from": message.author,
        "at": iso(message.at),
        "text": message.text,
        "attachments": [a.public() for a in message.attachments if not a.inline]
        + [{**a.public(), "inline": True} for a in message.attachments if a.inline],
    }
    if message.channel is not None:
        # Written on the customer's page ("portal"), the form or a configured channel.
        view["channel"] = message.channel
    if message.kind is not None:
        # What the message is beyond its direction: "complaint" (helpdesk.services.complaints).
        view["kind"] = message.kind
    if message.attachments_total is not None:
        # More attachments than the message lists: the raw mail in S3 has them all.
        view["attachments_total"] = message.attachments_total
    return view


def ticket_views(
    items: list[dict[str, Any]], read: Callable[[str], bytes] | None = None
) -> list[dict[str, Any]]:
    """The tickets of the state JSON; ``read`` fetches an S3 object, for the messages
    whose whole text is kept there (without it, their excerpts are shown)."""
    by_key = {(i["PK"], i["SK"]): i for i in items}
    tickets = sorted(
        (ticket_from_item(i) for i in items if i.get("type") == "ticket"),
        key=lambda t: (t.created_at, t.ref),
    )
    views = []
    for ticket in tickets:
        messages = sorted(
            (
                message_from_item(i)
                for i in items
                if i.get("type") == "message" and i["PK"] == f"TICKET#{ticket.ref}"
            ),
            key=lambda m: m.at,
        )
        sla_view = ticket.sla.public_view() if ticket.sla else None
        survey = ticket.survey
        views.append(
            {
                "ref": ticket.ref,
                "status": ticket.status,
                "priority": ticket.priority,
                "channel": ticket.channel,
                "category": ticket.category,
                "team": ticket.team,
                "assignee": ticket.assignee,
                "language": ticket.language,
                "subject": ticket.subject,
                "created_at": iso(ticket.created_at),
                "contact": _contact_view(
                    by_key, ticket.contact_email, ticket.contact_name, ticket.tier
                ),
                "flags": list(ticket.flags),
                "suggested": list(ticket.suggested),
                "tags": list(ticket.tags),
                "linked_to": ticket.linked_to,
                "continued_in": ticket.continued_in,
                "participants": list(ticket.participants),
                "sla": sla_view,
                "survey": {
                    "sent_at": survey.sent_at.isoformat() if survey.sent_at else None,
                    "score": survey.score,
                    "effort": survey.effort,
                    "comment": survey.comment,
                },
                "messages": [
                    _message_view(whole(m, read, bounded=False) if read is not None else m)
                    for m in messages
                ],
            }
        )
        if ticket.self_served_article:
            # The article the customer confirmed answered the question (flag self_served).
            views[-1]["self_served_article"] = ticket.self_served_article
    return views


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


def outbox(stack: LocalStack) -> list[dict[str, Any]]:
    """Every mail SES (moto) accepted, in the order it was sent."""
    from moto.ses.models import ses_backends

    backend = ses_backends["123456789012"]["us-east-1"]
    mails = []
    for sent in backend.sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        # A copy: the caller owns what it is given, the cache keeps its own.
        mails.append(copy.deepcopy(_mail_view(data)))
    return mails


# The state is read after nearly every step, and each read used to parse every mail sent so
# far again; a mail's view depends on its bytes alone.
@functools.lru_cache(maxsize=1024)
def _mail_view(data: bytes) -> dict[str, Any]:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    headers = {name: str(message[name]) for name in OUTBOX_HEADERS if message[name] is not None}
    date = message["Date"]
    view: dict[str, Any] = {
        "kind": str(message.get("X-Helpdesk-Kind", "")),
        "ticket": str(message["X-Helpdesk-Ticket"]) if message["X-Helpdesk-Ticket"] else None,
        "to": [str(a.addr_spec) for a in message["To"].addresses] if message["To"] else [],
        "from": str(message["From"].addresses[0].addr_spec) if message["From"] else "",
        # A folded long subject reads back with the fold's leading space.
        "subject": str(message["Subject"] or "").strip(),
        "at": iso(parse_iso(date.datetime.isoformat()))
        if date is not None and date.datetime
        else None,
        "text": _body(message, "plain") or "",
        "html": _body(message, "html"),
        "headers": headers,
        "attachments": [
            {
                "filename": part.get_filename() or "",
                "content_type": part.get_content_type(),
                "size": len(part.get_payload(decode=True) or b""),
            }
            for part in message.iter_attachments()
            if isinstance(part, EmailMessage)
        ],
    }
    return view


def suppressed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = sorted((i for i in items if i.get("type") == "suppressed"), key=lambda i: i["at"])
    return [
        {
            "reason": i["reason"],
            "from": i.get("from", ""),
            "subject": i.get("subject", ""),
            "ticket": i.get("ref"),
            "at": iso(parse_iso(i["at"])),
        }
        for i in entries
    ]


def object_reader(stack: LocalStack) -> Callable[[str], bytes]:
    """Reads an object of the stack's mail bucket (where long message bodies are kept)."""

    def read(key: str) -> bytes:
        response = stack.s3.get_object(Bucket=stack.raw_bucket, Key=key)
        return bytes(response["Body"].read())

    return read


def build_state(
    stack: LocalStack, *, rejected: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The whole state JSON (docs/SCENARIOS.md)."""
    items = scan_items(stack)
    return {
        "clock": iso(stack.clock.peek()),
        "tickets": ticket_views(items, object_reader(stack)),
        "outbox": outbox(stack),
        "suppressed": suppressed(items),
        "rejected": list(rejected or []),
        "dead_letters": stack.dead_letters(),
    }
