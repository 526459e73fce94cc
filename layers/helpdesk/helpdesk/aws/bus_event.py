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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The source the publish function puts the desk's events under (the rules match it).
from helpdesk.aws.events import SOURCE as DESK_SOURCE


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
