"""The senders (acknowledge, route) stop taking records when the time left could not cover
one more send, and hand the rest back to the queue as batch item failures.

A Lambda that runs out of time never returns its partial-failure report: every record of the
batch, sent or not, comes back after the visibility timeout ("Handling errors for an SQS
event source in Lambda", ReportBatchItemFailures). A record it never started comes back at
once instead, and no record is half-done when the timeout strikes.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk.config import load_config
from helpdesk.notices.outbound import LEASE
from helpdesk.services.form_intake import take_in_form, validate_form
from helpdesk_local.cfn import load_template
from helpdesk_local.stack import LambdaContext, LocalStack
from helpdesk_local.state import build_state

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(REPO / "template.yaml")
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


@dataclass
class DwindlingContext(LambdaContext):
    """A Lambda context whose remaining time is ``remaining[0]`` at the first question,
    then ``remaining[1]``, and so on (the last value repeats)."""

    remaining: list[int] = field(default_factory=lambda: [30_000])
    asked: int = 0

    def get_remaining_time_in_millis(self) -> int:
        value = self.remaining[min(self.asked, len(self.remaining) - 1)]
        self.asked += 1
        return value


def ticket_opened_batch(stack: LocalStack, customers: list[str], queue: str) -> dict[str, Any]:
    """One SQS batch holding the TicketOpened event of a new ticket per customer, in the
    EventBridge envelope the rule delivers (tests/data/events)."""
    from committing import kept_events_store

    assert stack.resolver is not None
    config = load_config(stack.config_path)
    store = kept_events_store(stack, config)
    for customer in customers:
        fields = {"name": "Anna", "email": customer, "subject": "Where is my order?",
                  "message": "It has been two weeks."}  # fmt: skip
        submission = validate_form(fields, config)
        take_in_form(submission, uow=store, config=config, now=MONDAY_MORNING)
    events = REPO / "tests" / "data" / "events"
    envelope = json.loads((events / "eventbridge_envelope.json").read_text(encoding="utf-8"))
    [record] = json.loads((events / "sqs_event.json").read_text(encoding="utf-8"))["Records"]
    records = []
    for detail_type, detail in store.events:
        body = {**envelope, "id": str(uuid.uuid4()), "detail-type": detail_type,
                "detail": detail}  # fmt: skip
        one = copy.deepcopy(record)
        one["messageId"] = str(uuid.uuid4())
        one["body"] = json.dumps(body)
        one["eventSourceARN"] = stack.resolver.get_att(queue, "Arn")
        records.append(one)
    return {"Records": records}


@pytest.mark.parametrize(("function", "queue"), [("acknowledge", "AcknowledgeQueue"),
                                                  ("route", "RouteQueue")])  # fmt: skip
def test_a_sender_short_of_time_hands_the_records_it_did_not_start_back_as_failures(
    stack: LocalStack, function: str, queue: str
) -> None:
    customers = ["anna@example.com", "ben@example.com", "chloe@example.com"]
    batch = ticket_opened_batch(stack, customers, queue)
    # Enough time for the first record; then less than one throttled send may take.
    context = DwindlingContext(function_name=function, remaining=[29_000, 12_000])

    answer = stack.invoke_with_context(function, batch, context)

    unstarted = [{"itemIdentifier": record["messageId"]} for record in batch["Records"][1:]]
    assert answer == {"batchItemFailures": unstarted}
    state = build_state(stack)
    if function == "acknowledge":
        acknowledged = {m["to"][0] for m in state["outbox"] if m["kind"] == "acknowledgement"}
        assert acknowledged == {"anna@example.com"}
    else:
        assigned = [t for t in state["tickets"] if t["assignee"] is not None]
        assert [t["contact"]["email"] for t in assigned] == ["anna@example.com"]


def test_a_sender_with_time_to_spare_handles_the_whole_batch(stack: LocalStack) -> None:
    customers = ["anna@example.com", "ben@example.com", "chloe@example.com"]
    batch = ticket_opened_batch(stack, customers, "AcknowledgeQueue")
    context = DwindlingContext(function_name="acknowledge", remaining=[29_000])

    assert stack.invoke_with_context("acknowledge", batch, context) == {"batchItemFailures": []}
    acknowledged = {
        m["to"][0] for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"
    }
    assert acknowledged == set(customers)


@pytest.mark.parametrize("queue", ["AcknowledgeQueue", "RouteQueue"])
def test_a_redelivered_message_finds_the_outbound_lease_run_out(queue: str) -> None:
    """SQS hides a received message for the queue's visibility timeout; the sender claims
    its mail (notices/outbound.py) at most one function timeout later. Were the lease longer,
    the redelivery would find the claim still held and fail again ("another delivery is
    sending it")."""
    visibility = TEMPLATE["Resources"][queue]["Properties"]["VisibilityTimeout"]
    consumers = [
        resource
        for resource in TEMPLATE["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(
            source.get("Properties", {}).get("Queue") == {"Fn::GetAtt": [queue, "Arn"]}
            for source in resource["Properties"].get("Events", {}).values()
        )
    ]
    assert consumers, queue
    for consumer in consumers:
        timeout = consumer["Properties"].get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"])
        assert visibility >= LEASE.total_seconds() + timeout


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING) as local:
        yield local
