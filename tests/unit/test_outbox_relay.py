"""The outbox relay reads stream records of outbox items and publishes their events in order,
reporting the first record it could not publish (never skipping one)."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from helpdesk.aws.outbox_relay import (
    MalformedOutboxItem,
    decode_outbox_item,
    is_outbox_insert,
    relay,
)

EVENTS = Path(__file__).resolve().parents[1] / "data" / "events"
Events = Sequence[tuple[str, dict[str, Any]]]


def documented_record() -> dict[str, Any]:
    event = json.loads((EVENTS / "dynamodb_stream_outbox.json").read_text())
    record: dict[str, Any] = event["Records"][0]
    return record


def outbox_record(sequence: int, events: Any, *, ref: str = "HD-7K3M9Q") -> dict[str, Any]:
    record = documented_record()
    record["dynamodb"]["SequenceNumber"] = str(sequence)
    image = record["dynamodb"]["NewImage"]
    image["PK"] = {"S": f"TICKET#{ref}"}
    image["SK"] = {"S": f"PUB#{sequence:010d}"}
    image["events"] = {"S": events if isinstance(events, str) else json.dumps(events)}
    return record


class Bus:
    """Collects what was published; refuses what ``refuse`` says."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[list[tuple[str, dict[str, Any]]]] = []
        self.refuse = refuse

    def publish(self, events: Events) -> None:
        if any(kind == self.refuse for kind, _ in events):
            raise RuntimeError(f"put_events: 1 entries failed ({self.refuse})")
        self.calls.append(list(events))


def test_the_documented_stream_record_decodes_to_its_ticket_and_events_in_order() -> None:
    item = decode_outbox_item(documented_record())
    assert item.partition_key == "TICKET#HD-7K3M9Q"
    assert item.sort_key == "PUB#0000000001"
    assert item.events == (
        ("TicketOpened", {"ref": "HD-7K3M9Q", "channel": "email"}),
        ("CustomerReplied", {"ref": "HD-7K3M9Q"}),
    )


def test_a_batch_is_published_record_by_record_and_answers_no_failure() -> None:
    bus = Bus()
    records = [
        outbox_record(11, [{"kind": "TicketOpened", "detail": {"ref": "HD-A"}}]),
        outbox_record(12, [{"kind": "TicketAssigned", "detail": {"ref": "HD-A", "to": "x"}}]),
    ]
    result = relay(records, bus.publish)
    assert bus.calls == [
        [("TicketOpened", {"ref": "HD-A"})],
        [("TicketAssigned", {"ref": "HD-A", "to": "x"})],
    ]
    assert result.response() == {"batchItemFailures": []}
    assert (result.published, result.events) == (2, 2)


@pytest.mark.parametrize(
    "events",
    [
        "not json at all",
        json.dumps({"kind": "TicketOpened", "detail": {}}),
        json.dumps([{"kind": "TicketOpened"}]),
        json.dumps([{"kind": "", "detail": {}}]),
        json.dumps([{"kind": "TicketOpened", "detail": "HD-A"}]),
    ],
    ids=["not-json", "not-a-list", "no-detail", "empty-kind", "detail-not-an-object"],
)
def test_a_malformed_outbox_item_is_reported_by_its_sequence_number_and_stops_the_batch(
    events: str,
) -> None:
    bus = Bus()
    records = [
        outbox_record(21, [{"kind": "TicketOpened", "detail": {"ref": "HD-A"}}]),
        outbox_record(22, events),
        outbox_record(23, [{"kind": "TicketOpened", "detail": {"ref": "HD-B"}}]),
    ]
    result = relay(records, bus.publish)
    # Lambda retries from 22, so 23 waits for it rather than going out of order (or twice).
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "22"}]}
    assert bus.calls == [[("TicketOpened", {"ref": "HD-A"})]]
    assert result.failure is not None and "MalformedOutboxItem" in result.failure
    assert "TICKET#HD-7K3M9Q PUB#0000000022" in result.failure


def test_an_outbox_item_without_its_events_attribute_is_malformed() -> None:
    record = outbox_record(31, [])
    del record["dynamodb"]["NewImage"]["events"]
    with pytest.raises(MalformedOutboxItem, match="events"):
        decode_outbox_item(record)
    assert relay([record], Bus().publish).response() == {
        "batchItemFailures": [{"itemIdentifier": "31"}]
    }


def test_a_refused_put_events_is_reported_at_its_record_and_nothing_after_it_goes_out() -> None:
    bus = Bus(refuse="SlaBreached")
    records = [
        outbox_record(41, [{"kind": "SlaWarning", "detail": {"ref": "HD-A"}}]),
        outbox_record(42, [{"kind": "SlaBreached", "detail": {"ref": "HD-A"}}]),
        outbox_record(43, [{"kind": "TicketOpened", "detail": {"ref": "HD-C"}}]),
    ]
    result = relay(records, bus.publish)
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "42"}]}
    assert bus.calls == [[("SlaWarning", {"ref": "HD-A"})]]


def test_records_that_are_not_outbox_inserts_are_not_published() -> None:
    bus = Bus()
    modified = outbox_record(51, [{"kind": "TicketOpened", "detail": {}}])
    modified["eventName"] = "MODIFY"
    ticket = copy.deepcopy(outbox_record(52, [{"kind": "TicketOpened", "detail": {}}]))
    ticket["dynamodb"]["NewImage"]["type"] = {"S": "ticket"}
    assert not is_outbox_insert(modified) and not is_outbox_insert(ticket)
    assert relay([modified, ticket], bus.publish).response() == {"batchItemFailures": []}
    assert bus.calls == []


def test_an_outbox_item_with_no_events_publishes_nothing_and_succeeds() -> None:
    bus = Bus()
    assert relay([outbox_record(61, [])], bus.publish).response() == {"batchItemFailures": []}
    assert bus.calls == []


def test_records_not_begun_for_lack_of_time_are_reported_from_the_first() -> None:
    bus = Bus()
    records = [
        outbox_record(71, [{"kind": "TicketOpened", "detail": {"ref": "HD-A"}}]),
        outbox_record(72, [{"kind": "TicketOpened", "detail": {"ref": "HD-B"}}]),
        outbox_record(73, [{"kind": "TicketOpened", "detail": {"ref": "HD-C"}}]),
    ]
    budget = iter([True, False])
    result = relay(records, bus.publish, time_for_one_more=lambda: next(budget))
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "72"}]}
    assert bus.calls == [[("TicketOpened", {"ref": "HD-A"})]]


def test_the_tickets_opened_are_counted_as_published_whatever_the_intake() -> None:
    # TicketsCreated (the breach-rate alarm's denominator) was counted by the mail and form
    # handlers alone: a chat ticket's breach counted, its opening did not. Every opening's
    # TicketOpened passes here once it is on the bus; one that failed is not counted.
    bus = Bus(refuse="Boom")
    records = [
        outbox_record(21, [{"kind": "TicketOpened", "detail": {"ref": "HD-A", "channel": "chat"}}]),
        outbox_record(22, [{"kind": "CustomerReplied", "detail": {"ref": "HD-A"}}]),
        outbox_record(23, [{"kind": "TicketOpened", "detail": {"ref": "HD-B"}}]),
        outbox_record(
            24,
            [{"kind": "TicketOpened", "detail": {"ref": "HD-C"}}, {"kind": "Boom", "detail": {}}],
        ),
    ]

    result = relay(records, bus.publish)

    assert (result.published, result.opened) == (3, 2)


def test_the_first_responses_published_are_handed_over_in_business_seconds() -> None:
    # The publish function emits each as FirstResponseMinutes for the dashboard's median and
    # 90th percentile; a later reply (no figure) and an unpublished one are not measured.
    bus = Bus(refuse="Boom")
    records = [
        outbox_record(
            31,
            [{"kind": "AgentReplied", "detail": {"ref": "HD-A", "first_response_seconds": 1800}}],
        ),
        outbox_record(32, [{"kind": "AgentReplied", "detail": {"ref": "HD-A"}}]),
        outbox_record(
            35, [{"kind": "AgentReplied", "detail": {"ref": "HD-D", "first_response_seconds": "x"}}]
        ),
        outbox_record(
            36, [{"kind": "AgentReplied", "detail": {"ref": "HD-E", "first_response_seconds": -5}}]
        ),
        outbox_record(
            37,
            [{"kind": "AgentReplied", "detail": {"ref": "HD-F", "first_response_seconds": True}}],
        ),
        outbox_record(
            33, [{"kind": "AgentReplied", "detail": {"ref": "HD-B", "first_response_seconds": 90}}]
        ),
        outbox_record(
            34,
            [
                {"kind": "AgentReplied", "detail": {"ref": "HD-C", "first_response_seconds": 60}},
                {"kind": "Boom", "detail": {}},
            ],
        ),
    ]

    result = relay(records, bus.publish)

    assert (result.published, result.first_responses) == (6, (1800, 90))


def test_complaints_from_the_customers_page_and_the_survey_are_counted_as_published() -> None:
    # Complaints was counted by the survey page's handler alone: one made on the
    # customer's page counted only as a page action.
    records = [
        outbox_record(
            41, [{"kind": "ComplaintMade", "detail": {"ref": "HD-A", "source": "portal"}}]
        ),
        outbox_record(
            42, [{"kind": "ComplaintMade", "detail": {"ref": "HD-B", "source": "survey"}}]
        ),
        outbox_record(43, [{"kind": "SomethingNew", "detail": {"ref": "HD-C"}}]),
    ]

    result = relay(records, Bus().publish)

    assert (result.published, result.complaints, result.opened) == (3, 2, 0)
