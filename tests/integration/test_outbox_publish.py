"""The transactional outbox's carrier on the local stack: an outbox item committed in a
transaction reaches the bus's targets through the table's stream and the relay; a malformed
one is kept in PublishFailureDLQ, never lost; a failed batch is replayed from the stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.cfn import function_properties, load_template
from helpdesk_local.faults import outage
from helpdesk_local.redrive import redrive
from helpdesk_local.stack import LocalStack, filter_matches
from helpdesk_local.state import build_state

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
LENA = "lena@support.example"
DAYS_14 = 14 * 24 * 3600


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING) as local:
        yield local


def table(stack: LocalStack) -> str:
    assert stack.resolver is not None
    return stack.resolver.ref("DomainTable")


def commit_outbox_item(
    stack: LocalStack, ref: str, version: int, events: list[dict[str, Any]] | str
) -> None:
    """What a commit with events writes (DESIGN, issue 15): the outbox item, in a
    transaction beside the ticket's other items (here one history item)."""
    text = events if isinstance(events, str) else json.dumps(events)
    items = [
        {
            "PK": {"S": f"TICKET#{ref}"},
            "SK": {"S": f"PUB#{version:010d}"},
            "type": {"S": "outbox"},
            "events": {"S": text},
            "expires_at": {"N": str(int(time.time()) + DAYS_14)},
        },
        {
            "PK": {"S": f"TICKET#{ref}"},
            "SK": {"S": f"HIST#{version:010d}"},
            "type": {"S": "history"},
        },
    ]
    stack.dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table(stack), "Item": item}} for item in items]
    )


def rejected(ref: str, key: str) -> dict[str, Any]:
    """A CommandRejected event: the acknowledge function mails the agent what was wrong."""
    return {
        "kind": "CommandRejected",
        "detail": {
            "ref": ref,
            "agent": LENA,
            "errors": ["#status: 'sovled' is not a status"],
            "commands": ["#status sovled"],
            "key": key,
        },
    }


def error_mails(stack: LocalStack, ref: str) -> list[dict[str, Any]]:
    return [m for m in build_state(stack)["outbox"] if m["kind"] == "error" and m["ticket"] == ref]


def test_an_outbox_item_committed_in_a_transaction_reaches_the_bus_targets(
    stack: LocalStack,
) -> None:
    commit_outbox_item(stack, "HD-OUTBX1", 1, [rejected("HD-OUTBX1", "reject-1")])
    stack.drain()
    mails = error_mails(stack, "HD-OUTBX1")
    assert [m["to"] for m in mails] == [[LENA]]
    assert "sovled" in mails[0]["text"]
    assert stack.functions["publish"].invocations == 1
    assert stack.invocation_errors == [] and stack.dead_letters() == []


def test_only_inserts_of_outbox_items_reach_the_relay(stack: LocalStack) -> None:
    commit_outbox_item(stack, "HD-OUTBX2", 1, [rejected("HD-OUTBX2", "reject-2")])
    stack.drain()
    # The same item changed, and another kind of item written: both filtered out.
    stack.dynamodb.update_item(
        TableName=table(stack),
        Key={"PK": {"S": "TICKET#HD-OUTBX2"}, "SK": {"S": "PUB#0000000001"}},
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": "touched"}},
    )
    stack.dynamodb.put_item(
        TableName=table(stack),
        Item={
            "PK": {"S": "TICKET#HD-OUTBX2"},
            "SK": {"S": "HIST#0000000002"},
            "type": {"S": "history"},
        },
    )
    stack.drain()
    assert stack.functions["publish"].invocations == 1
    assert len(error_mails(stack, "HD-OUTBX2")) == 1


def test_twelve_events_of_one_commit_all_reach_the_bus(stack: LocalStack) -> None:
    events = [rejected(f"HD-OUTB{n:03d}", f"reject-many-{n}") for n in range(12)]
    commit_outbox_item(stack, "HD-OUTBX3", 1, events)
    stack.drain()
    sent = {m["ticket"] for m in build_state(stack)["outbox"] if m["kind"] == "error"}
    assert sent == {f"HD-OUTB{n:03d}" for n in range(12)}


def test_a_malformed_outbox_item_lands_in_the_publish_dead_letter_queue_with_its_position(
    stack: LocalStack,
) -> None:
    commit_outbox_item(stack, "HD-OUTBX4", 1, "[{'kind': not json")
    stack.drain()
    letters = [d for d in stack.dead_letters() if d["queue"] == "PublishFailureDLQ"]
    assert len(letters) == 1
    record = json.loads(letters[0]["body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    # The first invocation and the mapping's ten retries.
    assert record["requestContext"]["approximateInvokeCount"] == 11
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert stack.resolver is not None
    assert info["streamArn"] == stack.resolver.get_att("DomainTable", "StreamArn")
    assert stack.functions["publish"].invocations == 11
    # The desk goes on: a later commit is published.
    commit_outbox_item(stack, "HD-OUTBX5", 1, [rejected("HD-OUTBX5", "reject-5")])
    stack.drain()
    assert len(error_mails(stack, "HD-OUTBX5")) == 1


def test_a_batch_the_bus_refused_is_replayed_from_the_stream_by_redrive(
    stack: LocalStack,
) -> None:
    # EventBridge refuses every attempt of every call while the item is first relayed.
    with outage(stack, "events"):
        commit_outbox_item(stack, "HD-OUTBX6", 1, [rejected("HD-OUTBX6", "reject-6")])
        stack.drain()
    assert error_mails(stack, "HD-OUTBX6") == []
    assert [d["queue"] for d in stack.dead_letters()] == ["PublishFailureDLQ"]

    (result,) = redrive(stack, "PublishFailureDLQ")
    assert result.moved == 1
    assert [m["to"] for m in error_mails(stack, "HD-OUTBX6")] == [[LENA]]
    assert stack.dead_letters() == []


def test_a_batch_whose_records_still_fail_stays_in_the_dead_letter_queue(
    stack: LocalStack,
) -> None:
    commit_outbox_item(stack, "HD-OUTBX7", 1, "not json")
    stack.drain()
    (result,) = redrive(stack, "PublishFailureDLQ")
    assert result.moved == 0
    assert result.note is not None and result.note.startswith("1 stream batch(es) not replayed")
    assert [d["queue"] for d in stack.dead_letters()] == ["PublishFailureDLQ"]


def test_a_batch_whose_records_the_stream_has_trimmed_stays_and_is_reported(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk_local import stack as local_stack

    # The stream keeps nothing once read: as AWS after 24 hours.
    monkeypatch.setattr(local_stack, "STREAM_RECORDS_KEPT", 0)
    with outage(stack, "events"):
        commit_outbox_item(stack, "HD-OUTBX8", 1, [rejected("HD-OUTBX8", "reject-8")])
        stack.drain()
    (result,) = redrive(stack, "PublishFailureDLQ")
    assert result.moved == 0 and result.note is not None and "not replayed" in result.note
    assert error_mails(stack, "HD-OUTBX8") == []
    assert [d["queue"] for d in stack.dead_letters()] == ["PublishFailureDLQ"]


# ---------------------------------------------------------------------- the filter
DESIGNED_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["outbox"]}}}}


def template_filters() -> list[dict[str, Any]]:
    template = load_template(Path(__file__).resolve().parents[2] / "template.yaml")
    (event,) = function_properties(template, "PublishFunction")["Events"].values()
    assert event["Type"] == "DynamoDB"
    return [json.loads(f["Pattern"]) for f in event["Properties"]["FilterCriteria"]["Filters"]]


def documented_record() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "data" / "events" / "dynamodb_stream_outbox.json"
    record: dict[str, Any] = json.loads(path.read_text())["Records"][0]
    return record


def test_the_mapping_filters_exactly_as_designed() -> None:
    assert template_filters() == [DESIGNED_FILTER]


def test_the_filter_passes_an_outbox_insert_and_drops_every_other_record() -> None:
    insert = documented_record()
    assert filter_matches(DESIGNED_FILTER, insert)
    modify = {**insert, "eventName": "MODIFY"}
    history = json.loads(json.dumps(insert))
    history["dynamodb"]["NewImage"]["type"] = {"S": "history"}
    removed = {**insert, "eventName": "REMOVE", "dynamodb": {"Keys": insert["dynamodb"]["Keys"]}}
    assert not any(filter_matches(DESIGNED_FILTER, r) for r in (modify, history, removed))


def test_a_filter_operator_the_stack_does_not_emulate_is_refused_not_ignored() -> None:
    with pytest.raises(NotImplementedError):
        filter_matches({"eventName": [{"anything-but": ["REMOVE"]}]}, documented_record())
