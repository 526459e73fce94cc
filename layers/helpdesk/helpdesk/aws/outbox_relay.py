"""The transactional outbox's relay: stream records of outbox items -> events on the bus.

Every commit that has events writes them, in its own DynamoDB transaction, into its history
item under the ticket (``PK = TICKET#<ref>``, ``SK = EVT#<at>#<version>``, ``type =
"outbox"``, ``events`` a JSON string of ``[{"kind": ..., "detail": {...}}, ...]``;
helpdesk.aws.ticket_store). The table's
stream (NEW_IMAGE) hands the INSERT of each such item to ``functions/publish``; Lambda's
filter has already dropped every other write (template.yaml, PublishFunction).

Records are published in stream order, each record's events with one PutEvents call per ten
(:class:`helpdesk.aws.events.EventBridgePublisher`: a refused entry raises). At the first
record that cannot be published the relay stops and reports that record's sequence number:
Lambda checkpoints before the lowest reported number and retries from it, in order, so the
records after it are not published now (they would be published twice)
("Configuring partial batch response with DynamoDB and Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).

A malformed outbox item is never skipped: it fails like a refused PutEvents, so that after
the mapping's retries its batch lands in PublishFailureDLQ (alarmed), where
``helpdesk redrive`` can replay it once the cause is fixed.

The record shape is the documented DynamoDB Streams event ("Using AWS Lambda with Amazon
DynamoDB", https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html; attribute values in
DynamoDB JSON, "Data type descriptors" of the DynamoDB developer guide).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from helpdesk.events import AgentReplied, ComplaintMade, DomainEvent, TicketOpened, parse

OUTBOX_TYPE = "outbox"


class MalformedOutboxItem(ValueError):
    """A stream record that claims to be an outbox item but cannot be read as one."""


@dataclass(frozen=True)
class OutboxItem:
    """One committed outbox item: where it sits and the events it carries, in order."""

    partition_key: str
    sort_key: str
    events: tuple[tuple[str, dict[str, Any]], ...]  # (detail-type, detail)


Publish = Callable[[Sequence[tuple[str, dict[str, Any]]]], None]


def _string(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name)
    if not isinstance(value, Mapping) or not isinstance(value.get("S"), str):
        raise MalformedOutboxItem(f"attribute {name!r} is not a string: {value!r}"[:300])
    text: str = value["S"]
    return text


def encode_events(events: Sequence[DomainEvent]) -> str:
    """An outbox item's ``events``: ``[{"kind": ..., "detail": {...}}, ...]`` as one JSON
    string, which the relay passes on as it is. Compact separators: the item is billed per
    started KB (twice in a transaction), and a new ticket's outbox with the default ", " /
    ": " was ~1,050 bytes, ~60 over one unit."""
    from helpdesk.events import with_kind

    return json.dumps(
        [with_kind(event) for event in events],
        default=str,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def is_outbox_insert(record: Mapping[str, Any]) -> bool:
    """Whether a stream record is the INSERT of an outbox item (what the mapping's filter
    lets through; checked again so that a mapping without its filter publishes nothing
    else)."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    kind = image.get("type")
    return (
        record.get("eventName") == "INSERT"
        and isinstance(kind, Mapping)
        and kind.get("S") == OUTBOX_TYPE
    )


def decode_outbox_item(record: Mapping[str, Any]) -> OutboxItem:
    """The outbox item of one stream record (its NewImage), or MalformedOutboxItem."""
    image = (record.get("dynamodb") or {}).get("NewImage")
    if not isinstance(image, Mapping):
        raise MalformedOutboxItem("the record has no NewImage (is the stream NEW_IMAGE?)")
    partition_key, sort_key = _string(image, "PK"), _string(image, "SK")
    where = f"{partition_key} {sort_key}"
    try:
        listed = json.loads(_string(image, "events"))
    except ValueError as error:
        raise MalformedOutboxItem(f"{where}: events is not JSON ({error})") from error
    if not isinstance(listed, list):
        raise MalformedOutboxItem(f"{where}: events is not a list")
    events: list[tuple[str, dict[str, Any]]] = []
    for position, entry in enumerate(listed):
        kind = entry.get("kind") if isinstance(entry, dict) else None
        detail = entry.get("detail") if isinstance(entry, dict) else None
        if not isinstance(kind, str) or not kind or not isinstance(detail, dict):
            raise MalformedOutboxItem(
                f"{where}: event {position} is not {{'kind': <name>, 'detail': {{...}}}}"
            )
        events.append((kind, detail))
    return OutboxItem(partition_key, sort_key, tuple(events))


@dataclass(frozen=True)
class RelayResult:
    """What one batch did: items published, and the first record left for Lambda to retry."""

    published: int
    events: int
    failed_sequence_number: str | None = None
    failure: str | None = None
    # The events put on the bus, as the desk reads them (events.parse): the publish function
    # counts the desk's figures from them, once each, whatever service made the change.
    put: tuple[DomainEvent, ...] = ()

    @property
    def opened(self) -> int:
        """Tickets created, whatever the intake (TicketsCreated)."""
        return sum(isinstance(event, TicketOpened) for event in self.put)

    @property
    def first_responses(self) -> tuple[int, ...]:
        """Business seconds of each first answer (FirstResponseMinutes)."""
        return tuple(
            event.first_response_seconds
            for event in self.put
            # parse keeps what the wire holds: only a whole number of seconds, not negative,
            # is measured (a negative value would end the dashboard's percentiles).
            if isinstance(event, AgentReplied)
            and type(event.first_response_seconds) is int
            and event.first_response_seconds >= 0
        )

    @property
    def complaints(self) -> int:
        """Complaints to a team lead, from the customer's page or the survey (Complaints)."""
        return sum(isinstance(event, ComplaintMade) for event in self.put)

    def response(self) -> dict[str, list[dict[str, str]]]:
        """The partial batch response Lambda reads (ReportBatchItemFailures)."""
        if self.failed_sequence_number is None:
            return {"batchItemFailures": []}
        return {"batchItemFailures": [{"itemIdentifier": self.failed_sequence_number}]}


def relay(
    records: Sequence[Mapping[str, Any]],
    publish: Publish,
    *,
    time_for_one_more: Callable[[], bool] = lambda: True,
) -> RelayResult:
    """Publish the events of each outbox record in order; stop at the first that fails.

    A record is begun only while ``time_for_one_more()``: were the invocation to time out,
    Lambda would retry the whole batch (the records already published included); the
    records not begun are reported from the first, and Lambda hands them over again."""
    published = events = 0
    put: list[DomainEvent] = []
    for record in records:
        if not is_outbox_insert(record):
            continue  # not ours: another write the filter should have dropped
        sequence_number = str((record.get("dynamodb") or {}).get("SequenceNumber") or "")
        if sequence_number and not time_for_one_more():
            failure = "not begun: out of time"
            return RelayResult(published, events, sequence_number, failure, tuple(put))
        try:
            item = decode_outbox_item(record)
            # Read before publishing: whatever fails here fails the record unpublished,
            # never after (Lambda would publish the batch again).
            read = [parse(kind, dict(detail)) for kind, detail in item.events]
            if item.events:
                publish(item.events)
        except Exception as error:  # every failure is reported by its record, none swallowed
            if not sequence_number:
                raise  # nothing to report it by: fail the whole batch instead
            failure = f"{type(error).__name__}: {error}"
            return RelayResult(published, events, sequence_number, failure, tuple(put))
        published += 1
        events += len(item.events)
        put += [event for event in read if event is not None]  # None: a kind we do not know
    return RelayResult(published, events, put=tuple(put))
