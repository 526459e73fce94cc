"""EventBridge adapter: publishes domain events on the helpdesk bus."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from helpdesk.aws.bus_event import DESK_SOURCE as SOURCE
from helpdesk.aws.clients import client
from helpdesk.errors import TransientError

_BATCH = 10  # PutEvents takes at most ten entries


class EventBridgePublisher:
    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name
        self._events = client("events")

    def publish(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Publish ``(detail_type, detail)`` pairs; raise if any entry was not accepted."""
        for start in range(0, len(events), _BATCH):
            entries = [
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str, ensure_ascii=False),
                    "EventBusName": self.bus_name,
                }
                for detail_type, detail in events[start : start + _BATCH]
            ]
            response = self._events.put_events(Entries=entries)
            # PutEvents answers 200 even when some entries failed; they must be retried.
            if response.get("FailedEntryCount"):
                raise TransientError(f"put_events: {response['FailedEntryCount']} entries failed")
