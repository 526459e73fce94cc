"""An event of the desk's bus as a rule's Lambda target receives it: the one place that
reads it.

EventBridge invokes a rule's Lambda target asynchronously with the matched event itself,
in the documented shape: ``version``, ``id``, ``detail-type``, ``source``, ``account``,
``time``, ``region``, ``resources`` and ``detail`` ("Event structure reference",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html). The
acknowledge and route functions are those targets (template.yaml: AcknowledgeRule,
RouteRule); they read only the kind (``detail-type``), the ``detail`` (the wire format of
:mod:`helpdesk.events`) and the ``id``, which names the event across every delivery of it:
EventBridge and Lambda's asynchronous queue deliver at least once, and the consumers claim
their work by it.

An event that is not of this shape raises :class:`NotABusEvent`: the invocation fails, so
Lambda retries it and then leaves it, whole, in the function's on-failure destination
(alarmed), rather than dropping it unread.

For this release only, the functions also drain what the previous release left in
AcknowledgeQueue and RouteQueue, where the rules used to send the events: their SQS event
source mappings stay until those queues are empty, and the next release removes both
(docs/DEPLOY.md, section 10). EventBridge's SQS target sends the matched event, as JSON, as
the message body ("Amazon EventBridge targets", eb-targets.html), so each record's body is
read here as the same bus event (:func:`bus_event_in_body`), and :func:`handle_delivery`
answers the batch with the failed records, as the mapping's ``ReportBatchItemFailures``
expects ("Handling errors for an SQS event source in Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# The source the publish function puts the desk's events under (the rules match it). Kept
# here, not imported from the publisher (helpdesk.aws.events), whose boto3 client module
# the senders' cold start does not need.
DESK_SOURCE = "helpdesk"

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext


class NotABusEvent(ValueError):
    """The invocation's event is not one of the desk's bus events; names what is wrong."""


@dataclass(frozen=True)
class BusEvent:
    """What a consumer needs of one delivered event."""

    id: str  # EventBridge's event id: the same in every delivery of the event
    kind: str  # the detail-type: a class name of helpdesk.events
    detail: dict[str, Any]


def bus_event(event: Mapping[str, Any]) -> BusEvent:
    """The event a rule's Lambda target was invoked with, checked and read."""
    if not isinstance(event, Mapping):
        raise NotABusEvent(f"expected an EventBridge event object, got {type(event).__name__}")
    source = event.get("source")
    if source != DESK_SOURCE:
        raise NotABusEvent(f"source: expected {DESK_SOURCE!r}, got {source!r}")
    event_id, kind, detail = event.get("id"), event.get("detail-type"), event.get("detail")
    if not isinstance(event_id, str) or not event_id:
        raise NotABusEvent("id: missing or not a string")
    if not isinstance(kind, str) or not kind:
        raise NotABusEvent("detail-type: missing or not a string")
    if not isinstance(detail, Mapping):
        raise NotABusEvent(f"detail: expected an object, got {type(detail).__name__}")
    return BusEvent(id=event_id, kind=kind, detail=dict(detail))


def bus_event_in_body(body: Any) -> BusEvent:
    """The bus event an SQS message carries as its body (an EventBridge rule's SQS target:
    the previous release's path), read as :func:`bus_event` reads a direct one.

    The body may also be Lambda's invocation record of a direct event the function failed
    on (``requestContext``, ``requestPayload``: the event; invocation-async-retain-records):
    the queue's DLQ is also the function's on-failure destination, and a message-move task
    started by hand moves records back to the queue with the rest. (`helpdesk redrive`
    never does: it replays those DLQs on the function, through its checks.) The record's
    event is handled as when it was first invoked."""
    if not isinstance(body, str):
        raise NotABusEvent(f"body: expected the event's JSON text, got {type(body).__name__}")
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise NotABusEvent(f"body: not JSON ({error})") from error
    if isinstance(parsed, Mapping) and "requestContext" in parsed and "requestPayload" in parsed:
        return bus_event(parsed["requestPayload"])
    return bus_event(parsed)


def is_sqs_batch(event: Any) -> bool:
    """Whether the invocation is an SQS event source mapping's batch (``Records``), not a
    bus event (which always has a ``source``)."""
    return isinstance(event, Mapping) and "Records" in event and "source" not in event


def handle_delivery(
    event: Any, handle: Callable[[BusEvent], None], context: LambdaContext
) -> PartialItemFailureResponse | None:
    """Run ``handle`` on the bus event the function was invoked with, or on each bus event
    of an SQS batch. A direct event's error is raised (Lambda retries, then keeps it in the
    on-failure destination); a batch's failed records are reported as batch item failures,
    so SQS redelivers only those, and after maxReceiveCount moves them to the queue's DLQ."""
    if not is_sqs_batch(event):
        handle(bus_event(event))
        return None
    from helpdesk.aws.sqs_batch import process_while_time_remains

    return process_while_time_remains(
        event, lambda record: handle(bus_event_in_body(record.body)), context
    )
