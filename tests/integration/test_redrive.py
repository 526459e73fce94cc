"""`helpdesk redrive`: dead letters go back to their queue once the cause is fixed, locally
and against a deployed stack (SQS message-move tasks from the DLQs in the outputs)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from committing import kept_events_store
from desk_support import ANNAS_QUESTION

from helpdesk_local.cli import main
from helpdesk_local.faults import outage
from helpdesk_local.redrive import RedriveError, describe, redrive, redrive_aws
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

FORM = ANNAS_QUESTION


def test_mail_that_failed_during_an_ses_outage_is_sent_after_the_redrive(
    stack: LocalStack,
) -> None:
    with outage(stack, "ses"):
        assert stack.post_form(FORM).status == 201
    stranded = build_state(stack)
    assert stranded["outbox"] == []
    assert {letter["queue"] for letter in stranded["dead_letters"]} >= {"AcknowledgeDLQ"}

    results = redrive(stack)

    state = build_state(stack)
    assert state["dead_letters"] == []
    assert {r.dead_letter_queue: r.moved for r in results}["AcknowledgeDLQ"] == 1
    [acknowledgement] = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert acknowledgement["to"] == ["anna@example.com"]
    assert state["tickets"][0]["ref"] in acknowledgement["subject"]


def test_a_redrive_of_one_queue_leaves_the_others_alone(stack: LocalStack) -> None:
    with outage(stack, "ses"):
        stack.post_form(FORM)
    before = {letter["queue"] for letter in build_state(stack)["dead_letters"]}

    [result] = redrive(stack, "AcknowledgeDLQ")

    after = {letter["queue"] for letter in build_state(stack)["dead_letters"]}
    assert result.dead_letter_queue == "AcknowledgeDLQ" and result.moved == 1
    assert after == before - {"AcknowledgeDLQ"}


def test_the_source_queue_name_redrives_its_dead_letter_queue(stack: LocalStack) -> None:
    [result] = redrive(stack, "EmailIntakeQueue")
    assert (result.dead_letter_queue, result.moved) == ("EmailIntakeDLQ", 0)


def test_the_schedules_dead_letter_queue_has_nowhere_to_go_back_to(stack: LocalStack) -> None:
    [result] = redrive(stack, "ScheduleDLQ")
    assert result.moved == 0 and result.note is not None and "no queue sends to it" in result.note


def test_an_unknown_queue_is_named_with_the_ones_that_exist(stack: LocalStack) -> None:
    with pytest.raises(RedriveError, match=r"NopeDLQ: not a dead-letter queue.*EmailIntakeDLQ"):
        redrive(stack, "NopeDLQ")


# ---------------------------------------------------------------------- AWS
DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/helpdesk-EmailIntakeDLQ-ABC"
DLQ_ARN = "arn:aws:sqs:eu-west-1:111122223333:helpdesk-EmailIntakeDLQ-ABC"
SCHEDULE_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/helpdesk-ScheduleDLQ-DEF"


def stubbed_clients(
    outputs: dict[str, str] | None = None,
) -> tuple[Any, Any, Stubber, Stubber]:
    """CloudFormation and SQS clients of a deployed stack named helpdesk whose outputs are
    ``outputs`` (by default two DLQs and the API's URL)."""
    if outputs is None:
        outputs = {
            "EmailIntakeDLQUrl": DLQ_URL,
            "ScheduleDLQUrl": SCHEDULE_URL,
            "ApiUrl": "https://example.com",
        }
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    cfn_stub, sqs_stub = Stubber(cloudformation), Stubber(sqs)
    cfn_stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "helpdesk",
                    "CreationTime": "2026-11-01T00:00:00Z",
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": "helpdesk"},
    )
    return cloudformation, sqs, cfn_stub, sqs_stub


def test_against_aws_each_dead_letter_queue_gets_a_move_task_back_to_its_source() -> None:
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients()
    sqs_stub.add_response(
        "list_dead_letter_source_queues",
        {"queueUrls": [DLQ_URL.replace("DLQ", "Queue")]},
        {"QueueUrl": DLQ_URL},
    )
    sqs_stub.add_response(
        "get_queue_attributes",
        {"Attributes": {"QueueArn": DLQ_ARN}},
        {"QueueUrl": DLQ_URL, "AttributeNames": ["QueueArn"]},
    )
    # No DestinationArn: SQS moves each message back to the queue it came from.
    sqs_stub.add_response(
        "start_message_move_task", {"TaskHandle": "task-1"}, {"SourceArn": DLQ_ARN}
    )
    sqs_stub.add_response(
        "list_dead_letter_source_queues", {"queueUrls": []}, {"QueueUrl": SCHEDULE_URL}
    )
    # No queue sends to ScheduleDLQ: it is read for Lambda invocation records; it has none.
    sqs_stub.add_response("receive_message", {"Messages": []}, None)
    with cfn_stub, sqs_stub:
        results = redrive_aws(
            "helpdesk", cloudformation=cloudformation, sqs=sqs, lambda_client=object()
        )
        sqs_stub.assert_no_pending_responses()
    assert [(r.dead_letter_queue, r.task) for r in results] == [
        ("EmailIntakeDLQ", "task-1"),
        ("ScheduleDLQ", None),
    ]


def failure_queue_holds(sqs_stub: Stubber, url: str, record: dict[str, Any]) -> None:
    """A dead-letter queue no queue sends to (a failure destination), holding one record."""
    sqs_stub.add_response("list_dead_letter_source_queues", {"queueUrls": []}, {"QueueUrl": url})
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": json.dumps(record)}
    sqs_stub.add_response("receive_message", {"Messages": [message]}, None)


SWEEP_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/helpdesk-SweepFailureDLQ-GHI"
REPORT_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:helpdesk-ReportFunction-XYZ"
# An on-failure invocation record as Lambda writes it (the documented fields), written for
# this test: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
SCHEDULED_EVENT = {"source": "aws.scheduler", "time": "2026-11-24T07:00:00Z", "detail": {}}
INVOCATION_RECORD = {
    "version": "1.0",
    "timestamp": "2026-11-24T07:03:00.120Z",
    "requestContext": {
        "requestId": "c5b1a0e2-0d4f-4c1e-9a51-7b3e2f6d9a10",
        "functionArn": REPORT_ARN + ":$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    },
    "requestPayload": SCHEDULED_EVENT,
    "responseContext": {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    },
    "responsePayload": {"errorMessage": "ses send: throttled", "errorType": "TransientError"},
}


def test_against_aws_a_recorded_sweep_failure_is_invoked_again_with_its_event() -> None:
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients({"SweepFailureDLQUrl": SWEEP_URL})
    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    lambda_stub = Stubber(lambda_client)
    failure_queue_holds(sqs_stub, SWEEP_URL, INVOCATION_RECORD)
    # Invoked as Scheduler invoked it (asynchronously), with the event it failed on.
    lambda_stub.add_response(
        "invoke",
        {"StatusCode": 202},
        {
            "FunctionName": REPORT_ARN + ":$LATEST",
            "InvocationType": "Event",
            "Payload": json.dumps(SCHEDULED_EVENT).encode(),
        },
    )
    sqs_stub.add_response("delete_message", {}, {"QueueUrl": SWEEP_URL, "ReceiptHandle": "r1"})
    sqs_stub.add_response("receive_message", {"Messages": []}, None)
    with cfn_stub, sqs_stub, lambda_stub:
        results = redrive_aws(
            "helpdesk",
            "SweepFailureDLQ",
            cloudformation=cloudformation,
            sqs=sqs,
            lambda_client=lambda_client,
        )
        sqs_stub.assert_no_pending_responses()
        lambda_stub.assert_no_pending_responses()
    assert describe(results) == [
        "SweepFailureDLQ: 1 failed invocation(s) run again (helpdesk-ReportFunction-XYZ)"
    ]


def test_the_redrive_command_names_the_task_it_started(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients()
    sqs_stub.add_response(
        "list_dead_letter_source_queues", {"queueUrls": ["q"]}, {"QueueUrl": DLQ_URL}
    )
    sqs_stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": DLQ_ARN}}, None)
    sqs_stub.add_response("start_message_move_task", {"TaskHandle": "task-7"}, None)
    clients = {"cloudformation": cloudformation, "sqs": sqs}
    monkeypatch.setattr(boto3, "client", lambda name, **_: clients[name])
    with cfn_stub, sqs_stub:
        assert main(["redrive", "EmailIntakeDLQ", "--stack-name", "helpdesk"]) == 0
    assert capsys.readouterr().out.strip() == "EmailIntakeDLQ: move task started (task-7)"


def test_an_event_eventbridge_could_not_deliver_reaches_its_target_function_after_the_redrive(
    stack: LocalStack,
) -> None:
    """EventBridge's dead letter is the event itself with RULE_ARN, TARGET_ARN, ERROR_CODE
    and ERROR_MESSAGE message attributes (https://docs.aws.amazon.com/eventbridge/latest/
    userguide/eb-rule-dlq.html); the redrive invokes the target function it missed."""
    from helpdesk.config import load_config
    from helpdesk.services.form_intake import take_in_form, validate_form

    assert stack.resolver is not None
    config = load_config(stack.config_path)
    store = kept_events_store(stack, config)
    take_in_form(validate_form(FORM, config), uow=store, config=config, now=stack.clock.peek())
    [(detail_type, detail)] = store.events
    event = {
        "version": "0", "id": "5e1f0c2a-9d3b-4f6e-8a71-2c4b6d8e0f13",
        "detail-type": detail_type, "source": "helpdesk", "account": "123456789012",
        "time": "2026-11-23T08:55:00Z", "region": "us-east-1", "resources": [],
        "detail": detail,
    }  # fmt: skip

    def text(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    stack.sqs.send_message(
        QueueUrl=stack.queue_urls["EventDeliveryDLQ"],
        MessageBody=json.dumps(event),
        MessageAttributes={
            "RULE_ARN": text(stack.resolver.get_att("AcknowledgeRule", "Arn")),
            "TARGET_ARN": text(stack.resolver.get_att("AcknowledgeFunction", "Arn")),
            "ERROR_CODE": text("ResourceNotFoundException"),
            "ERROR_MESSAGE": text("Function not found"),
        },
    )
    assert build_state(stack)["outbox"] == []

    [result] = redrive(stack, "EventDeliveryDLQ")

    assert result.moved == 1 and result.note is not None and "acknowledge" in result.note
    state = build_state(stack)
    assert state["dead_letters"] == []
    [acknowledgement] = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert acknowledgement["to"] == ["anna@example.com"]


# ---------------------------------------------------------------------- against AWS
PUBLISH_DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/helpdesk-PublishFailureDLQ-J"
PUBLISH_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:helpdesk-PublishFunction-Q"
STREAM_ARN = (
    "arn:aws:dynamodb:eu-west-1:111122223333:table/helpdesk-DomainTable-1/stream/"
    "2026-11-01T00:00:00.000"
)
SHARD = "shardId-00000001762000000000-1a2b3c4d"
# Lambda's record of a stream batch it gave up on, with the documented fields, written for
# this test: https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
STREAM_FAILURE = {
    "requestContext": {
        "requestId": "4f7c2b1e-9d3a-4e8b-a1c2-0b9d8e7f6a51",
        "functionArn": PUBLISH_ARN,
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 11,
    },
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
    "version": "1.0",
    "timestamp": "2026-11-24T07:03:00.120Z",
    "DDBStreamBatchInfo": {
        "shardId": SHARD,
        "startSequenceNumber": "700000000000000000101",
        "endSequenceNumber": "700000000000000000102",
        "approximateArrivalOfFirstRecord": "2026-11-24T07:02:58Z",
        "approximateArrivalOfLastRecord": "2026-11-24T07:02:59Z",
        "batchSize": 2,
        "streamArn": STREAM_ARN,
    },
}


def api_record(sequence: int) -> dict[str, Any]:
    """A record as DynamoDB Streams' GetRecords answers it (StreamRecord, API reference)."""
    return {
        "eventID": f"e{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 11, 24, 7, 2, 58, tzinfo=UTC),
            "Keys": {"PK": {"S": "TICKET#HD-AWS"}, "SK": {"S": f"PUB#{sequence:010d}"}},
            "NewImage": {
                "PK": {"S": "TICKET#HD-AWS"},
                "SK": {"S": f"PUB#{sequence:010d}"},
                "type": {"S": "outbox"},
                "events": {
                    "S": json.dumps([{"kind": "CustomerReplied", "detail": {"ref": "HD-AWS"}}])
                },
            },
            "SequenceNumber": f"700000000000000000{sequence}",
            "SizeBytes": 200,
            "StreamViewType": "NEW_IMAGE",
        },
    }


def test_against_aws_a_failed_stream_batch_is_read_again_and_handed_to_the_relay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients(
        {"PublishFailureDLQUrl": PUBLISH_DLQ_URL}
    )
    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
    monkeypatch.setattr(boto3, "client", lambda name, **_: {"dynamodbstreams": streams}[name])
    lambda_stub, streams_stub = Stubber(lambda_client), Stubber(streams)
    stubs = [cfn_stub, sqs_stub, lambda_stub, streams_stub]
    failure_queue_holds(sqs_stub, PUBLISH_DLQ_URL, STREAM_FAILURE)
    # The range, from its first sequence number, over two pages; the second page goes past it.
    streams_stub.add_response(
        "get_shard_iterator",
        {"ShardIterator": "it-1"},
        {
            "StreamArn": STREAM_ARN,
            "ShardId": SHARD,
            "ShardIteratorType": "AT_SEQUENCE_NUMBER",
            "SequenceNumber": "700000000000000000101",
        },
    )
    streams_stub.add_response(
        "get_records",
        {"Records": [api_record(101)], "NextShardIterator": "it-2"},
        {"ShardIterator": "it-1", "Limit": 1000},
    )
    streams_stub.add_response(
        "get_records",
        {"Records": [api_record(102), api_record(103)], "NextShardIterator": "it-3"},
        {"ShardIterator": "it-2", "Limit": 1000},
    )
    # Handed to the relay synchronously, as the mapping would have: epoch seconds, the ARN.
    replayed = [api_record(101), api_record(102)]
    for record in replayed:
        record["dynamodb"]["ApproximateCreationDateTime"] = datetime(
            2026, 11, 24, 7, 2, 58, tzinfo=UTC
        ).timestamp()
        record["eventSourceARN"] = STREAM_ARN
    answer = b'{"batchItemFailures": []}'
    lambda_stub.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(answer), len(answer))},
        {
            "FunctionName": PUBLISH_ARN,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps({"Records": replayed}),
        },
    )
    sqs_stub.add_response(
        "delete_message", {}, {"QueueUrl": PUBLISH_DLQ_URL, "ReceiptHandle": "r1"}
    )
    sqs_stub.add_response("receive_message", {"Messages": []}, None)
    with cfn_stub, sqs_stub, lambda_stub, streams_stub:
        results = redrive_aws(
            "helpdesk",
            "PublishFailureDLQ",
            cloudformation=cloudformation,
            sqs=sqs,
            lambda_client=lambda_client,
        )
        for stub in stubs:
            stub.assert_no_pending_responses()
    assert describe(results) == [
        "PublishFailureDLQ: 1 failed invocation(s) run again (helpdesk-PublishFunction-Q)"
    ]


def test_an_event_whose_function_is_missing_waits_in_the_rules_dead_letter_queue_until_redriven(
    stack: LocalStack,
) -> None:
    """EventBridge cannot invoke a function that is not there (a deployment that removed
    it, say): after its retries the event goes to the rule's DeadLetterConfig queue, named
    with its rule and target, and nothing is sent; once the function is back the redrive
    invokes it with the event."""
    missing = stack.functions.pop("acknowledge")
    try:
        assert stack.post_form(FORM).status == 201
    finally:
        stack.functions["acknowledge"] = missing
    state = build_state(stack)
    assert [m["kind"] for m in state["outbox"]] == ["assignment"]
    letters = state["dead_letters"]
    assert {letter["queue"] for letter in letters} == {"EventDeliveryDLQ"}
    assert "TicketOpened" in {json.loads(letter["body"])["detail-type"] for letter in letters}

    [result] = redrive(stack, "EventDeliveryDLQ")

    state = build_state(stack)
    assert result.moved == len(letters) and state["dead_letters"] == []
    assert [m["to"] for m in state["outbox"] if m["kind"] == "acknowledgement"] == [
        ["anna@example.com"]
    ]
