"""The bench's DynamoDB write units count what AWS bills for a write: the table's (an item's
larger size, before or after, per started KB; twice in a transaction) and each global
secondary index's (the projected entry's size; a changed index key is a delete and a put),
as "Provisioned throughput considerations for global secondary indexes" (DynamoDB developer
guide) counts them. Checked with real requests on the local stack's table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from helpdesk_local.bench import AwsMeter, IndexSpec, index_write_units, metered, table_indexes
from helpdesk_local.stack import LocalStack

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
GSI1 = IndexSpec("GSI1", ("GSI1PK", "GSI1SK"), keys_only=False)
TIMERS = IndexSpec("TimerIndex", ("TPK", "TSK"), keys_only=True)
BACKLOG = IndexSpec("BacklogIndex", ("BPK", "GSI1SK"), keys_only=True)
KEYS = ("PK", "SK")


def s(text: str) -> dict[str, str]:
    return {"S": text}


def ticket(**extra: Any) -> dict[str, Any]:
    return {"PK": s("TICKET#HD-W1"), "SK": s("META"), "type": s("ticket"), **extra}


def test_the_template_declares_the_indexes_the_bench_prices() -> None:
    with LocalStack(start=MONDAY_MORNING) as stack:
        assert table_indexes(stack.template) == (KEYS, (GSI1, TIMERS, BACKLOG))


def test_an_item_entering_an_index_is_one_write_of_its_projected_size() -> None:
    item = ticket(GSI1PK=s("TEAM#general"), GSI1SK=s("2026"), body=s("x" * 1500))
    assert [units for units, _ in index_write_units(GSI1, KEYS, None, item)] == [2]
    # Not in the timer index at all: no write there.
    assert index_write_units(TIMERS, KEYS, None, item) == []


def test_a_changed_index_key_is_a_delete_and_a_put_in_the_index() -> None:
    before = ticket(GSI1PK=s("TEAM#general"), GSI1SK=s("a"))
    after = ticket(GSI1PK=s("AGENT#lena"), GSI1SK=s("a"))
    assert [units for units, _ in index_write_units(GSI1, KEYS, before, after)] == [1, 1]


def test_a_changed_attribute_is_written_to_an_all_index_but_not_to_a_keys_only_one() -> None:
    before = ticket(GSI1PK=s("T"), GSI1SK=s("a"), TPK=s("TIMER#sla#1"), TSK=s("t"), n=s("1"))
    after = {**before, "n": s("2")}
    assert len(index_write_units(GSI1, KEYS, before, after)) == 1
    assert index_write_units(TIMERS, KEYS, before, after) == []


def test_a_keys_only_entry_costs_its_keys_and_leaving_the_index_is_one_write() -> None:
    before = ticket(TPK=s("TIMER#sla#1"), TSK=s("t"), body=s("x" * 5000))
    after = ticket(body=s("x" * 5000))
    ((units, entry),) = index_write_units(TIMERS, KEYS, before, after)
    assert units == 1 and set(entry) == {"PK", "SK", "TPK", "TSK"}


@pytest.fixture
def meter() -> Iterator[tuple[AwsMeter, Any, str]]:
    with LocalStack(start=MONDAY_MORNING) as stack, metered(stack, detailed=True) as (meter, _):
        assert stack.resolver is not None
        yield meter, boto3.client("dynamodb"), stack.resolver.ref("DomainTable")


def test_a_transaction_writes_the_table_twice_per_kb_and_each_index_once(
    meter: tuple[AwsMeter, Any, str],
) -> None:
    counted, client, table = meter
    item = ticket(
        GSI1PK=s("TEAM#general"), GSI1SK=s("2026"), TPK=s("TIMER#sla#1"), TSK=s("t"),
        body=s("x" * 2500),
    )  # fmt: skip
    client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}])
    assert dict(counted.write_units_by_target) == {"table": 6, "GSI1": 3, "TimerIndex": 1}
    assert counted.write_units == 10


def test_an_update_is_billed_at_the_larger_of_the_item_before_and_after(
    meter: tuple[AwsMeter, Any, str],
) -> None:
    counted, client, table = meter
    client.put_item(TableName=table, Item=ticket(body=s("x" * 3000)))
    counted.reset()
    client.update_item(
        TableName=table,
        Key={"PK": s("TICKET#HD-W1"), "SK": s("META")},
        UpdateExpression="REMOVE body",
    )
    assert dict(counted.write_units_by_target) == {"table": 3}


def test_a_batch_read_costs_each_item_its_4_kb_steps_at_the_consistency_it_asked(
    meter: tuple[AwsMeter, Any, str],
) -> None:
    # "BatchGetItem: DynamoDB processes each item in the batch as an individual GetItem
    # request", each rounded up to 4 KB; a strongly consistent read of up to 4 KB is one
    # read unit, an eventually consistent one half ("DynamoDB read and write operations",
    # developer guide). The table's ConsistentRead sits in RequestItems, not at the top.
    counted, client, table = meter
    client.put_item(TableName=table, Item=ticket(body=s("x" * 100)))
    client.put_item(TableName=table, Item={**ticket(body=s("x" * 5000)), "SK": s("BIG")})
    keys = [{"PK": s("TICKET#HD-W1"), "SK": s("META")}, {"PK": s("TICKET#HD-W1"), "SK": s("BIG")}]
    counted.reset()
    client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
    assert counted.read_units == 3  # 1 + 2
    counted.reset()
    client.batch_get_item(RequestItems={table: {"Keys": keys}})
    assert counted.read_units == 1.5
