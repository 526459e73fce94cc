"""DynamoDB adapter: the single-table repository of tickets, messages, contacts and timers.

One table holds tickets (``TICKET#<ref>``/``META``), their messages, history, outbound
records and timers (same partition), contacts (``CONTACT#<email>``), threading markers
(``MSGID#<Message-ID>``), delivery markers (``RAW#<key>``, ``FORM#<id>``), suppressed mail
(``SUPPRESSED#<day>``) and rate counters (``RATE#...``, TTL). docs/ARCHITECTURE.md keeps
the access-pattern table.

Every AWS error leaves this module as a domain error (``raise ... from``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from helpdesk.aws import sla_codec
from helpdesk.aws.clients import client
from helpdesk.clock import parse_iso
from helpdesk.errors import AlreadyDone, Conflict, NotFound, TransientError
from helpdesk.model import (
    ROBOT_FLAGS,
    AttachmentMeta,
    Contact,
    Message,
    SurveyRecord,
    Ticket,
    in_backlog,
)
from helpdesk.ports import ThreadTail
from helpdesk.sizes import cut_utf8, utf8_size
from helpdesk.timers import DueTimer, partition, shard_of, sort_key

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from helpdesk.events import PageLinksRequested
    from helpdesk.ports import DeskMail
    from helpdesk.sla import SlaState

# Seconds a request for fresh page links is kept (the stream keeps records 24 hours).
PAGE_LINKS_REQUEST_LIFETIME = 86_400
# Keys one BatchGetItem may ask for ("BatchGetItem", DynamoDB API Reference).
BATCH_GET_MAX_KEYS = 100
# Message items one request reads when a message is looked for by its id, newest first.
MESSAGE_LOOKUP_PAGE = 10
# What the customer sees of a thread (helpdesk.services.portal): what went to or came from
# her, and no mail machines wrote (model.ROBOT_FLAGS), as a Query's filter.
_ROBOTS = {f":robot{n}": flag for n, flag in enumerate(sorted(ROBOT_FLAGS))}
_CUSTOMER_SIDE = "#direction IN (:in, :out)" + "".join(
    f" AND NOT contains(#flags, {name})" for name in _ROBOTS
)
_CUSTOMER_SIDE_NAMES = {"#direction": "direction", "#flags": "flags"}
_CUSTOMER_SIDE_VALUES = {":in": {"S": "in"}, ":out": {"S": "out"}} | {
    name: {"S": flag} for name, flag in _ROBOTS.items()
}

_THROTTLING = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


_NUMBERS = (int, float, Decimal)


class ConditionFailed(Conflict):
    """A single write's condition failed; ``item`` is the item as it stood when the write
    asked for it (``ReturnValuesOnConditionCheckFailure = ALL_OLD``), else None."""

    def __init__(self, message: str, item: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.item = item


def _to_attr(value: Any) -> dict[str, Any]:
    # A small codec instead of boto3's TypeSerializer: that one rejects float and returns
    # Decimal, and the domain speaks int/float/str.
    if type(value) is str:  # most values, first (a str subclass is caught below)
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, _NUMBERS):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, datetime):
        return {"S": value.isoformat()}
    if isinstance(value, Mapping):
        return {"M": {str(k): _to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def _from_attr(attr: Mapping[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        if value.isdecimal():  # a whole number, most of them: the int Decimal would give
            return int(value)
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [_from_attr(v) for v in value]
    if kind == "SS":
        return set(value)
    raise TypeError(f"unexpected DynamoDB type {kind}")


def encode(item: Mapping[str, Any]) -> dict[str, Any]:
    """A Python mapping as a DynamoDB item (None values are left out)."""
    # A string, most of an item's values, is written here rather than in a call of
    # _to_attr per value: the same {"S": value}, for a fraction of the cost.
    return {
        k: {"S": v} if type(v) is str else _to_attr(v) for k, v in item.items() if v is not None
    }


def decode(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as a Python dict."""
    # A string attribute ({"S": value}, the only key of its map) is read here rather than
    # in a call of _from_attr per attribute (as encode writes it).
    return {k: v["S"] if "S" in v and len(v) == 1 else _from_attr(v) for k, v in item.items()}


def _time(value: Any) -> datetime | None:
    return parse_iso(value) if value else None


def _sla_state(stored: Any) -> SlaState | None:
    """A ticket item's SLA clocks (sla_codec's string, or the map of older items), parsed
    once here, where the ticket is read."""
    data = sla_codec.unpack(stored or {})
    if not data:
        return None
    from helpdesk.sla import SlaState

    return SlaState.from_dict(data)


# ---------------------------------------------------------------------- codecs
def backlog_key(team: str) -> str:
    """The BacklogIndex partition of ``team``'s open tickets."""
    return f"BACKLOG#{team}"


def contact_entry_key(email: str) -> str:
    """The BacklogIndex partition that lists ``email``'s tickets (the openings' history
    items, :func:`contact_entry`)."""
    return f"CONTACT#{email.lower()}"


def created_key(ticket: Ticket) -> str:
    """The sort key of a ticket in BacklogIndex: its creation instant and reference."""
    return created_sort_key(ticket.created_at, ticket.ref)


def created_sort_key(created_at: datetime, ref: str) -> str:
    """``<created>#<ref>``: the sort key of a ticket in BacklogIndex and of its queue entry
    in GSI1, in the order of creation (ISO 8601 in UTC sorts as time does), and where a
    page of the agent API's queue goes on from."""
    return f"{created_at.isoformat()}#{ref}"


def contact_entry(ticket: Ticket) -> dict[str, str]:
    """The keys that list ``ticket`` among its contact's tickets in BacklogIndex (keys only):
    set on an item written once, when the ticket opens (its opening's history item), so
    that none of the ticket's later changes writes an index entry for it. On the ticket's
    own item, as GSI1 (projection ALL) had them, every change of the ticket wrote the whole
    ticket into the index again: one write unit per change (helpdesk bench: route)."""
    return {"BPK": contact_entry_key(ticket.contact_email), "GSI1SK": created_key(ticket)}


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    """The stored form of a ticket (META item) with, while someone owes work on it, its
    BacklogIndex key (``BPK``; the index's sort key is ``GSI1SK``, the creation instant and
    the reference). Its contact lists it through its opening's history item
    (:func:`contact_entry`), not through this item, which every change rewrites."""
    return {
        "PK": f"TICKET#{ticket.ref}",
        "SK": "META",
        "type": "ticket",
        "GSI1SK": created_key(ticket),
        "BPK": backlog_key(ticket.team) if in_backlog(ticket) else None,
        "ref": ticket.ref,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "subject": ticket.subject,
        "created_at": ticket.created_at.isoformat(),
        "contact_email": ticket.contact_email,
        "contact_name": ticket.contact_name,
        "tier": ticket.tier,
        "language": ticket.language,
        "team": ticket.team,
        "policy": ticket.policy,
        "category": ticket.category,
        "assignee": ticket.assignee,
        # Empty collections are left out (ticket_from_item reads them as empty): the item
        # is written at every change, and each KB of it is billed twice in a transaction.
        "flags": list(ticket.flags) or None,
        "tags": list(ticket.tags) or None,
        "participants": list(ticket.participants) or None,
        "sla": sla_codec.pack(ticket.sla.to_dict()) if ticket.sla else None,
        "survey": ticket.survey.to_dict() or None,
        "linked_to": ticket.linked_to,
        "continued_in": ticket.continued_in,
        "form": ticket.form or None,
        "updated_at": ticket.updated_at.isoformat() if ticket.updated_at else None,
        "solved_at": ticket.solved_at.isoformat() if ticket.solved_at else None,
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
        "routed_by": ticket.routed_by,
        "waiting": ticket.waiting or None,
        "suggested": list(ticket.suggested) or None,
        "self_served_article": ticket.self_served_article,
        "messages_in": ticket.messages_in,
        "messages_unproven": ticket.messages_unproven,
        "opening_proven": ticket.opening_proven or None,
        "version": ticket.version,
    }


def ticket_from_item(data: Mapping[str, Any]) -> Ticket:
    return Ticket(
        ref=data["ref"],
        status=data["status"],
        priority=data["priority"],
        channel=data["channel"],
        subject=data.get("subject", ""),
        created_at=parse_iso(data["created_at"]),
        contact_email=data["contact_email"],
        contact_name=data.get("contact_name", ""),
        tier=data.get("tier", ""),
        language=data.get("language", ""),
        team=data.get("team", ""),
        policy=data.get("policy", ""),
        category=data.get("category"),
        assignee=data.get("assignee"),
        flags=list(data.get("flags", [])),
        tags=list(data.get("tags", [])),
        participants=list(data.get("participants", [])),
        sla=_sla_state(data.get("sla")),
        survey=SurveyRecord.from_dict(data.get("survey") or {}),
        linked_to=data.get("linked_to"),
        continued_in=data.get("continued_in"),
        form=dict(data.get("form") or {}),
        updated_at=_time(data.get("updated_at")),
        solved_at=_time(data.get("solved_at")),
        closed_at=_time(data.get("closed_at")),
        routed_by=data.get("routed_by"),
        waiting=bool(data.get("waiting", False)),
        suggested=list(data.get("suggested", [])),
        self_served_article=data.get("self_served_article"),
        messages_in=int(data.get("messages_in") or 0),
        messages_unproven=int(data.get("messages_unproven") or 0),
        opening_proven=bool(data.get("opening_proven")),
        version=int(data.get("version", 0)),
    )


# A message's field names in their order, looked up once rather than per message.
_MESSAGE_FIELDS = dict.fromkeys(f.name for f in fields(Message))


# A write unit is 1 KB of item, attribute names included ("Item sizes and formats",
# Amazon DynamoDB Developer Guide); the opening's transaction bills each unit twice.
WRITE_UNIT_BYTES = 1024
# An excerpt is cut to fit the item into fewer units only while it keeps this much: a
# list or a notice still shows the start of the message.
FITTED_EXCERPT_MIN_BYTES = 300


def message_item(message: Message) -> dict[str, Any]:
    """The stored form of a message: its fields as they are (None left out by encode),
    the instant as ISO 8601, attachments as maps. A text that is an excerpt (the whole is
    in the raw mail) is cut further when that saves a write unit: a Gmail Message-ID and
    a long subject took a mail's item of a 600-byte excerpt to 1.1 KB, two units more.
    Never an excerpt that holds the whole text: every view would then read and parse its
    raw mail again, to show what the item had held (review 12, #3)."""
    stored = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
    stored.update(
        at=message.at.isoformat(),
        attachments=[asdict(a) for a in message.attachments],
        flags=list(message.flags),
        excerpt=message.excerpt or None,
    )
    item = {
        "PK": f"TICKET#{message.ticket}",
        "SK": f"MSG#{message.at.isoformat()}#{message.id}",
        "type": "message",
        **stored,
    }
    if message.excerpt and not message.holds_whole_text:
        over = item_bytes(encode(item)) % WRITE_UNIT_BYTES
        kept = utf8_size(message.text) - over
        if over and kept >= FITTED_EXCERPT_MIN_BYTES:
            item["text"] = cut_utf8(message.text, kept)
    return item


def item_bytes(item: Mapping[str, Any]) -> int:
    """An encoded item's size as DynamoDB bills it: names plus values ("Item sizes and
    formats"): a string its UTF-8 bytes, a number about a byte per two digits plus one,
    a Boolean or null one byte, a list or map 3 bytes plus one per element."""
    return sum(utf8_size(name) + _attribute_bytes(value) for name, value in item.items())


def _attribute_bytes(value: Mapping[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return utf8_size(data)
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(utf8_size(k) + _attribute_bytes(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(_attribute_bytes(v) + 1 for v in data)
    if kind == "SS":
        return sum(utf8_size(element) for element in data)
    return len(data)  # B


def message_from_item(data: Mapping[str, Any]) -> Message:
    """The message :func:`message_item` stored (fields it left out take their defaults)."""
    values = {name: value for name, value in data.items() if name in _MESSAGE_FIELDS}
    values.update(
        at=parse_iso(data["at"]),
        author=data.get("author", ""),
        text=data.get("text", ""),
        attachments=tuple(
            AttachmentMeta(**{**a, "size": int(a["size"]), "inline": bool(a.get("inline"))})
            for a in data.get("attachments", [])
        ),
        flags=tuple(data.get("flags", [])),
        excerpt=bool(data.get("excerpt", False)),
    )
    return Message(**values)


def contact_from_item(data: Mapping[str, Any]) -> Contact:
    return Contact(
        email=data["email"],
        name=data.get("name", ""),
        tier=data.get("tier", ""),
        language=data.get("language", ""),
        created_at=parse_iso(data["created_at"]),
        ticket_count=int(data.get("ticket_count", 0)),
        last_survey_at=_time(data.get("last_survey_at")),
        timezone=data.get("timezone"),
    )


@dataclass(frozen=True)
class Timer:
    """A running clock's next due instant, as stored in the sparse timer index."""

    kind: str
    due: datetime


class DynamoRepository:
    """Tickets and everything around them, in one DynamoDB table."""

    def __init__(self, table: str, *, timer_shards: int = 4) -> None:
        self.table = table
        self.timer_shards = timer_shards
        self._db = client("dynamodb")

    # ------------------------------------------------------------------ errors
    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self._db, operation)(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                old = error.response.get("Item")
                raise ConditionFailed(
                    f"{operation}: condition failed", decode(old) if old else None
                ) from error
            if code == "TransactionCanceledException":
                reasons = [
                    r.get("Code", "None") for r in error.response.get("CancellationReasons", [])
                ]
                if "ConditionalCheckFailed" in reasons:
                    conflict = Conflict(f"{operation}: condition failed ({reasons})")
                    conflict.reasons = reasons  # type: ignore[attr-defined]
                    raise conflict from error
                raise TransientError(f"{operation}: transaction cancelled ({reasons})") from error
            if code in _THROTTLING:
                raise TransientError(f"{operation}: {code}") from error
            raise

    # ------------------------------------------------------------------ reads
    def get_item(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        response = self._call(
            "get_item",
            TableName=self.table,
            Key={"PK": {"S": pk}, "SK": {"S": sk}},
            ConsistentRead=consistent,
        )
        item = response.get("Item")
        return decode(item) if item else None

    def get_items(
        self, keys: Iterable[tuple[str, str]], *, consistent: bool = True
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Several items by (PK, SK), one BatchGetItem per 100 keys (its limit); missing
        items are absent. Keys DynamoDB leaves unprocessed (throttling) are asked for
        again."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(wanted), BATCH_GET_MAX_KEYS):
            chunk = wanted[start : start + BATCH_GET_MAX_KEYS]
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in chunk],
                    "ConsistentRead": consistent,
                }
            }
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table, []):
                    item = decode(raw)
                    found[(str(item["PK"]), str(item["SK"]))] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def get_contact_and_items(
        self, email: str, keys: Iterable[tuple[str, str]]
    ) -> tuple[Contact | None, dict[tuple[str, str], dict[str, Any]]]:
        """A contact and other items by (PK, SK), in one BatchGetItem."""
        contact_key = (f"CONTACT#{email.lower()}", "META")
        found = self.get_items([contact_key, *keys])
        data = found.get(contact_key)
        return (contact_from_item(data) if data else None), found

    def get_ticket(self, ref: str) -> Ticket:
        data = self.get_item(f"TICKET#{ref}", "META")
        if data is None:
            raise NotFound(f"ticket {ref}")
        return ticket_from_item(data)

    def find_ticket(self, ref: str) -> Ticket | None:
        data = self.get_item(f"TICKET#{ref}", "META")
        return ticket_from_item(data) if data else None

    def find_tickets(self, refs: Sequence[str]) -> dict[str, Ticket]:
        """The tickets of ``refs`` that exist, by reference: BatchGetItem, 100 keys at a
        time (strongly consistent, as :meth:`find_ticket`), not one GetItem each."""
        keys = [(f"TICKET#{ref}", "META") for ref in refs]
        tickets = (ticket_from_item(item) for item in self.get_items(keys).values())
        return {ticket.ref: ticket for ticket in tickets}

    def get_contact(self, email: str) -> Contact | None:
        data = self.get_item(f"CONTACT#{email.lower()}", "META")
        return contact_from_item(data) if data else None

    def desk_mail(self, message_id: str) -> DeskMail | None:
        """The mail the desk sent under ``message_id`` (its record in helpdesk.aws.sent_mail,
        ``type`` ``sent_mail``); a received mail's pointer on the same key is none. Its
        ticket is the one the desk wrote (``about``), never the thread pointer ``ref`` a
        received mail may have set; a record written before ``about`` was kept is about
        none."""
        from helpdesk.ports import DeskMail

        data = self.get_item(f"MSGID#{message_id}", "MSGID")
        if not data or data.get("type") != "sent_mail":
            return None
        cc = data.get("cc")
        return DeskMail(
            ticket=str(data["about"]) if data.get("about") else None,
            to=tuple(str(to) for to in data.get("to", ())),
            cc=None if cc is None else tuple(str(address) for address in cc),
        )

    def ticket_for_message_id(self, message_id: str) -> str | None:
        """The ticket a Message-ID belongs to: the desk's own mail, else the first ticket
        that carried it (the pointer is kept with ``if_not_exists``: a later mail reusing
        the ID never takes it over)."""
        data = self.get_item(f"MSGID#{message_id}", "MSGID")
        return str(data["ref"]) if data and data.get("ref") else None

    def _paginate(self, kwargs: dict[str, Any], limit: int | None) -> Iterator[dict[str, Any]]:
        """Every item a Query answers, page by page, up to ``limit``."""
        yielded = 0
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - yielded
            response = self._call("query", **kwargs)
            for item in response.get("Items", []):
                yield decode(item)
                yielded += 1
            if "LastEvaluatedKey" not in response or (limit is not None and yielded >= limit):
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def query_partition(
        self, pk: str, *, prefix: str = "", newest_first: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items of one partition (optionally a sort-key prefix), paginated."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk"
            + (" AND begins_with(SK, :prefix)" if prefix else ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}}
            | ({":prefix": {"S": prefix}} if prefix else {}),
            "ScanIndexForward": not newest_first,
        }
        return self._paginate(kwargs, limit)

    def messages(self, ref: str) -> list[Message]:
        return [message_from_item(d) for d in self.query_partition(f"TICKET#{ref}", prefix="MSG#")]

    def thread_tail(
        self, ref: str, *, count: int, before: str | None = None, customer_side: bool = False
    ) -> ThreadTail | None:
        """The newest ``count`` messages of ``ref``'s conversation (older than the message
        ``before``, when given; None when it is no message of it), oldest first, and how
        many older ones there are. ``customer_side``: only what went to or came from the
        customer, no notes and no mail machines wrote. Read newest first from ``before``'s
        place (found by a query that hands back its key alone), a page of ``count`` at a
        time, and the older ones counted by a query that hands back no item (Select
        COUNT): a thread of thousands of messages is not read into the function (attack
        12, F2)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"TICKET#{ref}"}, ":prefix": {"S": "MSG#"}},
            "ScanIndexForward": False,
        }
        upper: str | None = None
        if before is not None:
            upper = self._message_sort_key(ref, before)
            if upper is None:
                return None
            kwargs["KeyConditionExpression"] = "PK = :pk AND SK BETWEEN :prefix AND :upper"
            kwargs["ExpressionAttributeValues"][":upper"] = {"S": upper}
        if not customer_side:
            # The page, the one that says there is more, and ``before`` itself.
            kwargs["Limit"] = count + (2 if upper else 1)
        else:
            # Filtered after the read: a page is DynamoDB's 1 MB, so that a run of notes or
            # filed "bounces" between her messages costs few requests.
            kwargs["FilterExpression"] = _CUSTOMER_SIDE
            kwargs["ExpressionAttributeNames"] = _CUSTOMER_SIDE_NAMES
            kwargs["ExpressionAttributeValues"] |= _CUSTOMER_SIDE_VALUES
        taken: list[dict[str, Any]] = []
        for item in self._paginate(kwargs, None):
            if item["SK"] == upper:
                continue  # ``before`` itself: only what is older
            if len(taken) == count:
                # One more is there: it and the older ones are counted, not read.
                older = self._count_up_to(kwargs, str(item["SK"]))
                return ThreadTail([message_from_item(i) for i in reversed(taken)], older)
            taken.append(item)
        return ThreadTail([message_from_item(i) for i in reversed(taken)], 0)

    def _message_sort_key(self, ref: str, message_id: str) -> str | None:
        """The sort key of the message ``message_id`` of ``ref``, found newest first by a
        filtered query that hands back the key alone; None when there is no such one."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "FilterExpression": "#id = :id",
            "ProjectionExpression": "SK",
            "ExpressionAttributeNames": {"#id": "id"},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"TICKET#{ref}"},
                ":prefix": {"S": "MSG#"},
                ":id": {"S": message_id},
            },
            "ScanIndexForward": False,
        }
        return next((str(item["SK"]) for item in self._paginate(kwargs, None)), None)

    def _count_up_to(self, kwargs: Mapping[str, Any], sort_key: str) -> int:
        """How many items of the query ``kwargs`` sort at or before ``sort_key`` (its
        filter applied, ``sort_key`` itself counted), counted by DynamoDB: no item comes
        back."""
        counting = {
            **{k: v for k, v in kwargs.items() if k not in ("Limit", "ExclusiveStartKey")},
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :prefix AND :last",
            "ExpressionAttributeValues": {
                **{k: v for k, v in kwargs["ExpressionAttributeValues"].items() if k != ":upper"},
                ":last": {"S": sort_key},
            },
            "Select": "COUNT",
        }
        total = 0
        while True:
            response = self._call("query", **counting)
            total += int(response.get("Count", 0))
            if "LastEvaluatedKey" not in response:
                return total
            counting["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def message(self, ref: str, message_id: str, *, newest: int | None = None) -> Message | None:
        """The message ``message_id`` of ``ref``'s conversation, looked for newest first:
        what an event names (a reply being relayed, a note) is nearly always the newest,
        so the first request reads :data:`MESSAGE_LOOKUP_PAGE` items, strongly consistent
        (it was just written), and only a message further back costs more, DynamoDB's
        1 MB a request (attack 12, F2: thousands of forged follow-ups had made each relay
        read them all). ``newest``: looked for among that many newest items only, the
        rest never read (the customer's page serves only what it lists: attack 21, F4)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"TICKET#{ref}"}, ":prefix": {"S": "MSG#"}},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": MESSAGE_LOOKUP_PAGE,
        }
        read = 0
        while True:
            response = self._call("query", **kwargs)
            for raw in response.get("Items", []):
                item = decode(raw)
                if item.get("id") == message_id:
                    return message_from_item(item)
            read += len(response.get("Items", []))
            if "LastEvaluatedKey" not in response or (newest is not None and read >= newest):
                return None
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            kwargs.pop("Limit", None)
            if newest is not None:
                kwargs["Limit"] = newest - read

    def request_page_links(self, event: PageLinksRequested, *, now: datetime) -> None:
        """Record a request for fresh page links as an outbox item of its own
        (``LINKS#<mailbox>`` / ``EVT#<at>#<nonce>``, ``type = outbox``): the table's stream
        hands its insert to the publish function as it does a commit's outbox, and the
        request's work is this one write whatever the address. DynamoDB deletes it a day
        later (TTL ``expires_at``); the stream had it long before."""
        import uuid

        from helpdesk.aws.outbox_relay import OUTBOX_TYPE, encode_events
        from helpdesk.mail.mailbox import mailbox_key

        self.put(
            {
                "PK": f"LINKS#{mailbox_key(event.email)}",
                "SK": f"EVT#{now.isoformat()}#{uuid.uuid4().hex[:8]}",
                "type": OUTBOX_TYPE,
                "events": encode_events([event]),
                "expires_at": int(now.timestamp()) + PAGE_LINKS_REQUEST_LIFETIME,
            }
        )

    def contact_tickets(self, email: str, *, limit: int = 6) -> list[Ticket]:
        """A contact's tickets, newest first, as they are now: the contact's entries in
        BacklogIndex (keys only; :func:`contact_entry`), then the tickets by key in one
        BatchGetItem. A ticket listed twice (its opening's entry and one the upgrade's
        backfill wrote, ``helpdesk backfill-backlog``) counts once."""
        from botocore.exceptions import ClientError

        refs: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "BacklogIndex",
            "KeyConditionExpression": "BPK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": contact_entry_key(email)}},
            "ScanIndexForward": False,
            "Limit": limit,  # a page; a ticket listed twice asks for the next
        }
        try:
            for item in self._paginate(kwargs, None):
                ref = str(item["PK"]).removeprefix("TICKET#")
                if ref not in refs:
                    refs.append(ref)
                if len(refs) == limit:
                    break
        except ClientError as error:
            # After the deploy that adds the index DynamoDB refuses its queries until it is
            # ACTIVE ("Cannot read from backfilling global secondary index", a
            # ValidationException; AWS::DynamoDB::Table, GlobalSecondaryIndexes): the list
            # is extra information, so it reads as empty meanwhile.
            if "backfilling" not in str(error.response.get("Error", {}).get("Message", "")):
                raise
            logger.warning("BacklogIndex is still being built: a contact's tickets read as none")
            return []
        found = self.get_items([(f"TICKET#{ref}", "META") for ref in refs], consistent=False)
        return [
            ticket_from_item(found[key])
            for key in ((f"TICKET#{ref}", "META") for ref in refs)
            if key in found
        ]

    def due_timers(self, kind: str, now_key: str, *, page_size: int = 100) -> Iterator[DueTimer]:
        """Timers of ``kind`` due at or before ``now_key``, shard by shard, paginated."""
        for shard in range(self.timer_shards):
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "TimerIndex",
                "KeyConditionExpression": "TPK = :p AND TSK <= :n",
                "ExpressionAttributeValues": {
                    ":p": {"S": partition(kind, shard)},
                    ":n": {"S": now_key + "~"},
                },
                "Limit": page_size,
            }
            while True:
                response = self._call("query", **kwargs)
                for item in response.get("Items", []):
                    data = decode(item)
                    yield DueTimer(
                        ref=data["PK"].removeprefix("TICKET#"),
                        kind=kind,
                        due_key=data["TSK"].split("#", 1)[0],
                    )
                if "LastEvaluatedKey" not in response:
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ writes
    def timer_keys(self, ref: str, timer: Timer) -> dict[str, str]:
        """The TimerIndex keys of a running clock (on the item that carries it)."""
        return {
            "TPK": partition(timer.kind, shard_of(ref, self.timer_shards)),
            "TSK": sort_key(timer.due, ref),
        }

    def timer_item(self, ref: str, timer: Timer) -> dict[str, Any]:
        return {
            "PK": f"TICKET#{ref}",
            "SK": f"TIMER#{timer.kind}",
            **self.timer_keys(ref, timer),
            "due": timer.due.isoformat(),
        }

    def move_timer(self, ref: str, kind: str, *, expected_key: str, due: datetime | None) -> bool:
        """Move a timer to ``due`` (None: stop it) only while it is still due at ``expected_key``.

        ``expected_key`` is the due key a sweep saw (``DueTimer.due_key``). A writer that
        changed the timer in between computed it from newer state and wins: the move is
        then skipped and False returned. No ticket version is involved.
        """
        key = {"PK": {"S": f"TICKET#{ref}"}, "SK": {"S": f"TIMER#{kind}"}}
        condition = {
            "ConditionExpression": "TSK = :expected",
            "ExpressionAttributeValues": {":expected": {"S": f"{expected_key}#{ref}"}},
        }
        try:
            if due is None:
                self._call("delete_item", TableName=self.table, Key=key, **condition)
            else:
                item = encode(self.timer_item(ref, Timer(kind, due)))
                self._call("put_item", TableName=self.table, Item=item, **condition)
        except Conflict:
            return False
        return True

    def put(self, item: Mapping[str, Any], *, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": encode(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        self._call("put_item", **kwargs)

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        condition: str | None = None,
        return_new: bool = False,
        old_on_failure: bool = False,
    ) -> dict[str, Any] | None:
        """Update one item (``return_new``: and return it as written). ``old_on_failure``:
        a failed ``condition`` raises :class:`ConditionFailed` with the item as it stands,
        at no read's cost (UpdateItem, ``ReturnValuesOnConditionCheckFailure``, DynamoDB
        API Reference)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
            "UpdateExpression": expression,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = encode(values)
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if condition:
            kwargs["ConditionExpression"] = condition
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        if old_on_failure:
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        response = self._call("update_item", **kwargs)
        return decode(response["Attributes"]) if return_new else None

    def count_in_window(self, scope: str, window: str, *, limit: int, expires_at: int) -> bool:
        """Atomically count one more event in ``scope`` for ``window``; False once over ``limit``.

        A conditional ADD: two intakes at once can never both take the last slot.
        """
        try:
            self.update(
                f"RATE#{scope}#{window}",
                "RATE",
                "ADD hits :one SET expires_at = :exp",
                values={":one": 1, ":limit": limit, ":exp": expires_at},
                condition="attribute_not_exists(hits) OR hits < :limit",
            )
        except Conflict:
            return False
        return True

    def count_once_in_window(
        self,
        scope: str,
        window: str,
        member: str,
        *,
        limit: int,
        expires_at: int,
        within: tuple[str, int] | None = None,
    ) -> bool:
        """Like :meth:`count_in_window`, but ``member`` (a delivery, a Message-ID) counts
        once however often it is retried: True while it is among the first ``limit``.

        The members are a string set on the counter item, added and checked in one
        conditional update, so a redelivered message never takes a second slot.
        ``within`` = (name, limit) counts the member a second time, in a set of its own on
        the same item (a mailbox within its domain), under its own limit: both or neither,
        in the same single request.
        """
        if limit <= 0 or (within is not None and within[1] <= 0):
            return False
        names = {"#all": "members"}
        values: dict[str, Any] = {
            ":member": {"SS": [member]},
            ":one": {"S": member},
            ":limit": {"N": str(limit)},
            ":exp": {"N": str(expires_at)},
        }
        additions = ["#all :member"]
        condition = "(attribute_not_exists(#all) OR size(#all) < :limit OR contains(#all, :one))"
        if within is not None:
            names["#sub"] = f"members:{within[0]}"
            values[":sublimit"] = {"N": str(within[1])}
            additions.append("#sub :member")
            condition += (
                " AND (attribute_not_exists(#sub) OR size(#sub) < :sublimit"
                " OR contains(#sub, :one))"
            )
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key={"PK": {"S": f"RATE#{scope}#{window}"}, "SK": {"S": "RATE"}},
                # Names and values are placeholders: nothing of the input is in the text.
                UpdateExpression="ADD " + ", ".join(additions) + " SET expires_at = :exp",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Conflict:
            return False
        return True

    def transact(self, operations: Iterable[Mapping[str, Any]]) -> None:
        """One all-or-nothing write of several items.

        Each operation is ``{"put": item}``, ``{"update": key, "expression": ...}``,
        ``{"delete": key}`` or ``{"check": key}``, each with an optional ``condition``,
        ``names`` and ``values``.
        """
        items = []
        for op in operations:
            if "put" in op:
                kind, entry = "Put", {"TableName": self.table, "Item": encode(op["put"])}
            elif "update" in op:
                kind, entry = (
                    "Update",
                    {
                        "TableName": self.table,
                        "Key": encode(op["update"]),
                        "UpdateExpression": op["expression"],
                    },
                )
            elif "check" in op:
                kind, entry = (
                    "ConditionCheck",
                    {"TableName": self.table, "Key": encode(op["check"])},
                )
            else:
                kind, entry = "Delete", {"TableName": self.table, "Key": encode(op["delete"])}
            if op.get("condition"):
                entry["ConditionExpression"] = op["condition"]
            if op.get("names"):
                entry["ExpressionAttributeNames"] = op["names"]
            if op.get("values"):
                entry["ExpressionAttributeValues"] = encode(op["values"])
            items.append({kind: entry})
        self._call("transact_write_items", TransactItems=items)

    def record_suppressed(
        self,
        *,
        at: datetime,
        reason: str,
        sender: str,
        subject: str,
        raw_key: str | None,
        ref: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """List an inbound mail that got no automatic answer, with the reason (idempotent
        per delivery: the sort key is the raw object's key)."""
        ident = raw_key or message_id or at.isoformat()
        self.put(
            {
                "PK": f"SUPPRESSED#{at.date().isoformat()}",
                "SK": f"{ident}#{reason}",
                "type": "suppressed",
                "at": at.isoformat(),
                "reason": reason,
                "from": sender,
                "subject": subject,
                "raw_key": raw_key,
                "ref": ref,
            }
        )

    def delete(self, pk: str, sk: str) -> None:
        self._call("delete_item", TableName=self.table, Key={"PK": {"S": pk}, "SK": {"S": sk}})

    def remove_timer(self, ref: str, kind: str) -> None:
        """Remove ``ref``'s ``kind`` timer item whatever it holds (its ticket is gone)."""
        self.delete(f"TICKET#{ref}", f"TIMER#{kind}")

    def take_survey_slot(self, contact_email: str, ref: str, *, at: str, free_since: str) -> bool:
        """Give ``ref`` its contact's survey slot at ``at`` (timer keys, as the sweep
        writes them): a conditional update, so two sweeps (or two tickets of one contact)
        cannot both send. True when no other ticket of the contact was surveyed after
        ``free_since``, or the slot is ``ref``'s already (a retry)."""
        try:
            self.update(
                f"CONTACT#{contact_email.lower()}",
                "META",
                "SET last_survey_at = :now, last_survey_ref = :ref",
                values={":now": at, ":ref": ref, ":cutoff": free_since},
                condition=(
                    "attribute_not_exists(last_survey_at) OR last_survey_at <= :cutoff "
                    "OR last_survey_ref = :ref"
                ),
            )
        except Conflict:
            return False
        return True

    def index_items(
        self,
        gsi1pk: str,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        after: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Items of one GSI1 partition (a team's queue), in GSI1SK order, paginated; only
        those whose GSI1SK sorts after ``after`` when it is given."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk" + (" AND GSI1SK > :after" if after else ""),
            "ExpressionAttributeValues": {":pk": {"S": gsi1pk}}
            | ({":after": {"S": after}} if after else {}),
            "ScanIndexForward": not newest_first,
        }
        return self._paginate(kwargs, limit)


__all__ = [
    "AlreadyDone",
    "ConditionFailed",
    "DueTimer",
    "DynamoRepository",
    "Timer",
    "backlog_key",
    "contact_from_item",
    "decode",
    "encode",
    "message_from_item",
    "ticket_from_item",
    "ticket_item",
]
