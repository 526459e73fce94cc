"""The local stack refuses what AWS refuses: items, transactions, events, mail and payloads
over AWS's documented limits fail here as they would fail in AWS.

The functions' clients (helpdesk.aws.clients) carry the limits of
helpdesk_local.aws_limits; where moto already enforces a limit, a test below shows moto
doing it. The stack's own clients (``stack.dynamodb``...) are plain moto, which lets a test
show what moto alone would have accepted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from helpdesk.aws.clients import client
from helpdesk.aws.dynamodb import DynamoRepository
from helpdesk.aws.events import EventBridgePublisher
from helpdesk.aws.ses import SesMailer
from helpdesk.errors import TransientError
from helpdesk_local.aws_limits import (
    ITEM_MAX_BYTES,
    ITEM_TOO_LARGE,
    LimitExceeded,
    item_size,
    value_size,
)
from helpdesk_local.stack import LocalStack

KB = 1024


def repository(stack: LocalStack) -> DynamoRepository:
    assert stack.resolver is not None
    return DynamoRepository(stack.resolver.ref("DomainTable"))


def error_of(raised: pytest.ExceptionInfo[Any]) -> tuple[str, str]:
    error = raised.value
    while not isinstance(error, ClientError) and error.__cause__ is not None:
        error = error.__cause__
    assert isinstance(error, ClientError), raised.value
    details = error.response["Error"]
    return details["Code"], details["Message"]


# ---------------------------------------------------------------------- item size rules
def test_an_item_is_measured_as_dynamodb_documents_it() -> None:
    # "DynamoDB item sizes and formats": names and values in UTF-8 bytes; a number is one
    # byte per two significant digits plus one; a list or map 3 bytes plus 1 per element.
    assert item_size({"PK": {"S": "ab"}}) == 4
    assert item_size({"name": {"S": "Zoë"}}) == 4 + 4
    assert value_size({"N": "123.45"}) == 4  # 12345: (5 + 1) // 2 + 1
    assert value_size({"N": "1000"}) == 2  # trailing zeros trimmed: 1
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"B": b"\x00\x01\x02"}) == 3  # raw bytes, not base64
    assert value_size({"L": [{"S": "ab"}, {"S": "c"}]}) == 3 + (2 + 1) + (1 + 1)
    assert value_size({"M": {"k": {"S": "v"}}}) == 3 + (1 + 1 + 1)
    assert value_size({"L": []}) == 3


# ---------------------------------------------------------------------- DynamoDB
def test_an_item_over_400_kb_is_refused_through_the_adapter(stack: LocalStack) -> None:
    repo = repository(stack)
    # (moto refuses from 405,000 bytes by its own count, below AWS's 409,600.)
    repo.put({"PK": "BIG#ok", "SK": "X", "text": "x" * 400_000})
    with pytest.raises(ClientError) as raised:
        repo.put({"PK": "BIG#1", "SK": "X", "text": "x" * (401 * KB)})
    assert error_of(raised) == ("ValidationException", ITEM_TOO_LARGE)


def test_a_large_item_of_many_small_elements_is_refused_although_moto_takes_it(
    stack: LocalStack,
) -> None:
    # moto does not count a list's or map's overhead; DynamoDB does (3 bytes + 1 each).
    table = repository(stack).table
    entries = {"L": [{"M": {"k": {"S": "x" * 10}}}] * 26_000}  # 286 KB for moto, 416 KB
    item: dict[str, Any] = {"PK": {"S": "BIG#2"}, "SK": {"S": "X"}, "entries": entries}
    assert item_size(item) > ITEM_MAX_BYTES
    stack.dynamodb.put_item(TableName=table, Item=item)  # moto alone: accepted
    with pytest.raises(ClientError) as raised:
        client("dynamodb").put_item(TableName=table, Item=item)
    assert error_of(raised) == ("ValidationException", ITEM_TOO_LARGE)


def test_a_key_over_its_limit_is_refused_on_a_read_as_well(stack: LocalStack) -> None:
    repo = repository(stack)
    with pytest.raises(ClientError) as raised:
        repo.get_item("P" * 2049, "META")
    assert error_of(raised)[0] == "ValidationException"
    assert "2048 bytes" in error_of(raised)[1]
    with pytest.raises(ClientError) as raised:
        repo.get_item("P", "S" * 1025)
    assert "1024 bytes" in error_of(raised)[1]
    assert repo.get_item("P" * 2048, "S" * 1024) is None


def test_moto_refuses_a_written_key_over_its_limit(stack: LocalStack) -> None:
    with pytest.raises(ClientError) as raised:
        repository(stack).put({"PK": "P" * 2049, "SK": "X"})
    assert "Size of hashkey has exceeded" in error_of(raised)[1]


def test_a_transaction_over_4_mb_is_refused(stack: LocalStack) -> None:
    repo = repository(stack)
    operations = [
        {"put": {"PK": f"BIG#{i}", "SK": "X", "text": "x" * (390 * KB)}} for i in range(11)
    ]
    stack.dynamodb.transact_write_items(  # moto alone: accepted
        TransactItems=[
            {"Put": {"TableName": repo.table, "Item": {k: {"S": v} for k, v in o["put"].items()}}}
            for o in operations
        ]
    )
    with pytest.raises(ClientError) as raised:
        repo.transact(operations)
    assert error_of(raised)[0] == "ValidationException"


def test_moto_refuses_a_transaction_of_more_than_100_actions(stack: LocalStack) -> None:
    operations = [{"put": {"PK": f"T#{i}", "SK": "X"}} for i in range(101)]
    with pytest.raises(ClientError) as raised:
        repository(stack).transact(operations)
    assert "less than or equal to 100" in error_of(raised)[1]
    repository(stack).transact(operations[:100])


def test_moto_refuses_a_batch_get_of_more_than_100_keys(stack: LocalStack) -> None:
    table = repository(stack).table
    keys = [{"PK": {"S": f"K#{i}"}, "SK": {"S": "X"}} for i in range(101)]
    with pytest.raises(ClientError) as raised:
        client("dynamodb").batch_get_item(RequestItems={table: {"Keys": keys}})
    assert error_of(raised)[0] == "ValidationException"


def test_moto_refuses_an_update_that_grows_an_item_past_400_kb(stack: LocalStack) -> None:
    repo = repository(stack)
    repo.put({"PK": "GROW", "SK": "X", "a": "x" * (300 * KB)})
    with pytest.raises(ClientError) as raised:
        repo.update("GROW", "X", "SET b = :b", values={":b": "x" * (200 * KB)})
    assert error_of(raised) == (
        "ValidationException",
        "Item size to update has exceeded the maximum allowed size",
    )


# ---------------------------------------------------------------------- EventBridge, SQS
def test_events_over_1_mb_in_one_put_events_are_refused(stack: LocalStack) -> None:
    assert stack.resolver is not None
    publisher = EventBridgePublisher(stack.resolver.ref("EventBus"))
    publisher.publish([("TicketOpened", {"text": "x" * (500 * KB)})])
    with pytest.raises(ClientError) as raised:
        publisher.publish([("TicketOpened", {"text": "x" * (600 * KB)})] * 2)
    assert error_of(raised) == (
        "ValidationException",
        "Total size of the entries in the request is over the limit.",
    )


def test_moto_refuses_an_sqs_message_over_1_mib(stack: LocalStack) -> None:
    url = stack.queue_urls["EmailIntakeQueue"]
    client("sqs").send_message(QueueUrl=url, MessageBody="x" * (1024 * KB))
    with pytest.raises(ClientError) as raised:
        client("sqs").send_message(QueueUrl=url, MessageBody="x" * (1024 * KB + 1))
    assert "Message must be shorter than 1048576 bytes" in error_of(raised)[1]


# ---------------------------------------------------------------------- SES
def test_a_mail_over_10_mb_is_refused_by_ses(stack: LocalStack) -> None:
    head = b"From: support@support.example\r\nTo: anna@example.com\r\nSubject: x\r\n\r\n"
    mailer = SesMailer()
    mailer.send(
        head + b"x" * (9 * 1024 * KB),
        sender="support@support.example",
        recipients=["anna@example.com"],
    )
    with pytest.raises(TransientError) as raised:
        mailer.send(
            head + b"x" * (10 * 1024 * KB),
            sender="support@support.example",
            recipients=["anna@example.com"],
        )
    code, message = error_of(raised)
    assert code == "MessageRejected"
    assert message.startswith("Message length is more than 10485760 bytes long")


# ---------------------------------------------------------------------- Lambda
def test_an_invocation_payload_over_6_mb_is_refused(stack: LocalStack) -> None:
    event = {"Records": [{"body": "x" * (6 * 1024 * KB)}]}
    with pytest.raises(LimitExceeded):
        stack.invoke("route", event)


def test_an_asynchronous_invoke_over_1_mb_is_refused() -> None:
    from helpdesk_local.aws_limits import Limits

    class Model:
        name = "Invoke"

    limits = Limits(dynamodb=None)
    payload = json.dumps({"x": "x" * (1024 * KB)}).encode()
    limits.lambda_invoke({"Payload": payload, "InvocationType": "RequestResponse"}, Model())
    with pytest.raises(ClientError) as raised:
        limits.lambda_invoke({"Payload": payload, "InvocationType": "Event"}, Model())
    assert error_of(raised)[0] == "RequestEntityTooLargeException"
