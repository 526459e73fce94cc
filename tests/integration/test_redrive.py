"""`helpdesk redrive`: dead letters go back to their queue once the cause is fixed, locally
and against a deployed stack (SQS message-move tasks from the DLQs in the outputs)."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from committing import kept_events_store
from desk_support import ANNAS_QUESTION, acknowledged_to, open_form_ticket

from helpdesk_local.cli import main
from helpdesk_local.faults import outage
from helpdesk_local.redrive import RedriveError, describe, redrive, redrive_aws
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

FORM = ANNAS_QUESTION
ANNAS_MAIL = (
    b"From: Anna Schmidt <anna@example.com>\r\nTo: support@support.example\r\n"
    b"Subject: Where is my order?\r\nMessage-ID: <anna-outage@example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nIt has been two weeks.\r\n"
)
ROOT = Path(__file__).resolve().parents[2]


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


def test_a_mail_the_intake_failed_on_during_an_outage_is_a_ticket_after_the_redrive(
    stack: LocalStack,
) -> None:
    """S3 invokes the intake asynchronously: Lambda retries a failed mail twice and then
    keeps its record, the notification inside, in EmailIntakeDLQ; the redrive invokes the
    intake again with the notification."""
    with outage(stack, "dynamodb"):
        stack.deliver_email(ANNAS_MAIL)
        stack.drain()
    [letter] = build_state(stack)["dead_letters"]
    assert letter["queue"] == "EmailIntakeDLQ"
    assert build_state(stack)["tickets"] == []

    [result] = redrive(stack, "EmailIntakeDLQ")

    state = build_state(stack)
    assert result.moved == 1 and state["dead_letters"] == []
    [ticket] = state["tickets"]
    assert ticket["contact"]["email"] == "anna@example.com"
    assert [m["to"] for m in state["outbox"] if m["kind"] == "acknowledgement"] == [
        ["anna@example.com"]
    ]


def test_a_notification_the_draining_intake_queue_gave_up_on_is_a_ticket_after_the_redrive(
    stack: LocalStack,
) -> None:
    """What EmailIntakeQueue (the previous release's, drained by this one) puts in
    EmailIntakeDLQ after five receives is S3's notification itself, not Lambda's record
    (SAM review 15, #2): the redrive hands it to the intake, the function the bucket
    notifies, and to nothing else."""
    stack.deliver_email(ANNAS_MAIL)
    [notification] = stack.take_bucket_events("email_intake", 1)
    dlq = stack.queue_urls["EmailIntakeDLQ"]
    stack.sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(notification))
    # The same notification planted in another function's failure queue is refused there.
    stack.sqs.send_message(
        QueueUrl=stack.queue_urls["AcknowledgeDLQ"], MessageBody=json.dumps(notification)
    )

    [intake] = redrive(stack, "EmailIntakeDLQ")
    [acknowledge] = redrive(stack, "AcknowledgeDLQ")

    assert intake.moved == 1 and intake.refused == ()
    assert acknowledge.moved == 0 and len(acknowledge.refused) == 1
    assert "S3 notification" in acknowledge.refused[0]
    [ticket] = build_state(stack)["tickets"]
    assert ticket["contact"]["email"] == "anna@example.com"


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


STACK_ID = "arn:aws:cloudformation:eu-west-1:111122223333:stack/helpdesk/0a1b2c3d-0000-0000-0000-1"
# The stack's physical names, as CloudFormation would have given them.
DEPLOYED = {
    "ReportFunction": ("AWS::Lambda::Function", "helpdesk-ReportFunction-XYZ"),
    "SlaCheckFunction": ("AWS::Lambda::Function", "helpdesk-SlaCheckFunction-ABC"),
    "SurveyDispatchFunction": ("AWS::Lambda::Function", "helpdesk-SurveyDispatchFunc-DEF"),
    "PublishFunction": ("AWS::Lambda::Function", "helpdesk-PublishFunction-Q"),
    "AgentApiFunction": ("AWS::Lambda::Function", "helpdesk-AgentApiFunction-R"),
    "DomainTable": ("AWS::DynamoDB::Table", "helpdesk-DomainTable-1"),
    "AcknowledgeFunction": ("AWS::Lambda::Function", "helpdesk-AcknowledgeFunction-S"),
    "EventBus": ("AWS::Events::EventBus", "helpdesk-events"),
    "AcknowledgeRule": ("AWS::Events::Rule", "helpdesk-events|helpdesk-AcknowledgeRule-T"),
}


def deployed_from_the_repos_template(cfn_stub: Stubber) -> None:
    """The stack's template as GetTemplate answers it (the SAM template as written: this
    repository's), and its resources' physical names."""
    cfn_stub.add_response(
        "get_template",
        {"TemplateBody": (ROOT / "template.yaml").read_text(encoding="utf-8")},
        {"StackName": "helpdesk", "TemplateStage": "Original"},
    )
    cfn_stub.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": logical_id,
                    "PhysicalResourceId": physical_id,
                    "ResourceType": kind,
                    "LastUpdatedTimestamp": "2026-11-01T00:00:00Z",
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
                for logical_id, (kind, physical_id) in DEPLOYED.items()
            ]
        },
        {"StackName": "helpdesk"},
    )


def moved_back_to_its_queue(sqs_stub: Stubber, task: str) -> None:
    """The answers SQS gives a redrive of the intake's DLQ: its source queue, its ARN, and
    the message-move task ``task`` that moves its messages back."""
    sqs_stub.add_response(
        "list_dead_letter_source_queues", {"queueUrls": ["q"]}, {"QueueUrl": DLQ_URL}
    )
    sqs_stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": DLQ_ARN}}, None)
    sqs_stub.add_response("start_message_move_task", {"TaskHandle": task}, None)


def redriven_against_aws(
    queue: str, cloudformation: Any, sqs: Any, lambda_client: Any, *stubs: Stubber
) -> list[Any]:
    """``helpdesk redrive <queue>`` against the stubbed clients; every answer the stubs
    hold is used (a request the test did not expect fails it)."""
    with contextlib.ExitStack() as active:
        for stub in stubs:
            active.enter_context(stub)
        results = redrive_aws(
            "helpdesk", queue, cloudformation=cloudformation, sqs=sqs, lambda_client=lambda_client
        )
        for stub in stubs:
            stub.assert_no_pending_responses()
    return list(results)


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
                    "StackId": STACK_ID,
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
    deployed_from_the_repos_template(cfn_stub)
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


def invoked_again_then_deleted(
    lambda_stub: Stubber, function_arn: str, event: Any, sqs_stub: Stubber, url: str
) -> None:
    """The redrive invokes ``function_arn`` with ``event`` asynchronously, as EventBridge and
    Scheduler invoke it, then deletes the letter (receipt r1, as these tests put every
    letter) from the queue at ``url``."""
    lambda_stub.add_response(
        "invoke",
        {"StatusCode": 202},
        {
            "FunctionName": function_arn,
            "InvocationType": "Event",
            "Payload": json.dumps(event).encode(),
        },
    )
    sqs_stub.add_response("delete_message", {}, {"QueueUrl": url, "ReceiptHandle": "r1"})


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
    deployed_from_the_repos_template(cfn_stub)
    # Invoked as Scheduler invoked it (asynchronously), with the event it failed on: the
    # stack's function, by the ARN the stack gives it.
    invoked_again_then_deleted(lambda_stub, REPORT_ARN, SCHEDULED_EVENT, sqs_stub, SWEEP_URL)
    sqs_stub.add_response("receive_message", {"Messages": []}, None)
    results = redriven_against_aws(
        "SweepFailureDLQ", cloudformation, sqs, lambda_client, sqs_stub, lambda_stub, cfn_stub
    )
    assert describe(results) == [
        "SweepFailureDLQ: 1 failed invocation(s) run again (helpdesk-ReportFunction-XYZ)"
    ]


def test_the_redrive_command_names_the_task_it_started(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients()
    moved_back_to_its_queue(sqs_stub, "task-7")
    deployed_from_the_repos_template(cfn_stub)
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
    take_in_form(
        validate_form(FORM, config, client="192.0.2.44", now=stack.clock.peek()),
        uow=store,
        config=config,
        now=stack.clock.peek(),
    )
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
    deployed_from_the_repos_template(cfn_stub)
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
    assert acknowledged_to(state) == [["anna@example.com"]]
    # A replayed letter vouches for nothing: its acknowledgement counted in Anna's hour,
    # though intake had counted it in its caps (attack 4, F2: a planted letter).
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    counts = [
        item
        for item in stack.dynamodb.scan(TableName=table)["Items"]
        if item["PK"]["S"].startswith("RATE#OUT#anna@example.com#")
    ]
    assert [int(item["hits"]["N"]) for item in counts] == [1]


# ---------------------------------------------------------------------- planted letters
def agent_api_call_with_forged_claims(ref: str) -> dict[str, Any]:
    """An HTTP API event for the agent API as API Gateway would hand it over after checking
    a lead's token: here made up, claims and all (attack review 3, F2)."""
    path = f"/agent/tickets/{ref}/replies"
    return {
        "version": "2.0", "routeKey": "POST /agent/tickets/{ref}/replies", "rawPath": path,
        "rawQueryString": "", "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "x", "domainName": "api.example",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "10.0.0.1", "userAgent": ""},
            "requestId": "b1d4c0de", "routeKey": "POST /agent/tickets/{ref}/replies",
            "stage": "$default", "time": "23/Nov/2026:09:10:00 +0000",
            "timeEpoch": 1795425000000,
            "authorizer": {"jwt": {"claims": {"sub": "x", "email": "maria@support.example",
                                              "email_verified": True}, "scopes": None}},
        },
        "pathParameters": {"ref": ref}, "isBase64Encoded": False,
        "body": json.dumps({"text": "Your refund needs a card check: https://evil.example/r"}),
    }  # fmt: skip


def planted_record(function_arn: str, payload: Any) -> dict[str, Any]:
    """A Lambda invocation record as anyone allowed sqs:SendMessage on a failure queue can
    write one: the documented fields, naming whatever function they like."""
    record: dict[str, Any] = json.loads(json.dumps(INVOCATION_RECORD))
    record["requestContext"]["functionArn"] = function_arn
    record["requestPayload"] = payload
    return record


def test_a_planted_record_naming_another_function_is_left_in_the_queue_and_never_run(
    stack: LocalStack,
) -> None:
    """Attack review 3, F2: a record in SweepFailureDLQ naming the agent API, with a lead's
    made-up claims, made the redrive reply to the customer as that lead. Only the sweeps
    send their failures to that queue; the letter names another function: it is refused,
    left where it is, and reported with its reason."""
    ref = open_form_ticket(stack)
    before = build_state(stack)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:agent_api:$LATEST"
    stack.sqs.send_message(
        QueueUrl=stack.queue_urls["SweepFailureDLQ"],
        MessageBody=json.dumps(planted_record(arn, agent_api_call_with_forged_claims(ref))),
    )

    [result] = redrive(stack, "SweepFailureDLQ")

    state = build_state(stack)
    assert state["outbox"] == before["outbox"]
    assert state["tickets"][0]["messages"] == before["tickets"][0]["messages"]
    assert [letter["queue"] for letter in state["dead_letters"]] == ["SweepFailureDLQ"]
    assert result.moved == 0
    [summary, refusal] = describe([result])
    assert summary == "SweepFailureDLQ: 1 letter(s) refused and left in the queue (below)"
    assert refusal.startswith("SweepFailureDLQ: refused, left in the queue: ")
    assert (
        "an invocation record naming function agent_api: not a function whose failures this"
        " queue holds" in refusal
    )


def planted_ticket_opened(ref: str, email: str, at: datetime) -> dict[str, Any]:
    """A TicketOpened as the bus hands it to acknowledge, made up: a ticket nobody opened,
    claiming that intake counted its acknowledgement (attack 4, F2; re-attack 4, R1)."""
    detail: dict[str, Any] = {
        "ref": ref, "subject": "Your order", "status": "new", "priority": "normal",
        "team": "general", "category": None, "language": "en", "channel": "email",
        "tier": "standard", "policy": "standard", "contact": {"email": email, "name": "X"},
        "created_at": at.isoformat(), "sla": {}, "flags": [], "notify": True,
        "message": {"message_id": f"{ref}@x.example"}, "acknowledgement_counted": True,
    }  # fmt: skip
    return {
        "version": "0", "id": f"e-{ref}", "detail-type": "TicketOpened", "source": "helpdesk",
        "account": "123456789012", "time": at.isoformat(), "region": "us-east-1",
        "resources": [], "detail": detail,
    }  # fmt: skip


def test_the_senders_failure_queues_are_replayed_through_the_checks_not_moved_back(
    stack: LocalStack,
) -> None:
    """AcknowledgeDLQ is still the dead-letter queue of the draining AcknowledgeQueue, but
    what fills it now is acknowledge's own failures: a redrive invokes the function again
    with each letter's event (a record's, or a bus event the draining queue gave up on),
    vetted and unvouched, and never moves a letter into the draining queue, where a planted
    event ran unchecked (re-attack 4, R1: 40 planted events had mailed one address 40
    times). Planted, each acknowledgement counts in the address's hour."""
    at = stack.clock.peek()
    arn = stack.resolver.get_att("AcknowledgeFunction", "Arn") if stack.resolver else ""
    url = stack.queue_urls["AcknowledgeDLQ"]
    stack.sqs.send_message(
        QueueUrl=url, MessageBody=json.dumps(planted_ticket_opened("HD-AAAAAB", "x@y.example", at))
    )
    stack.sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(
            planted_record(arn, planted_ticket_opened("HD-AAAAAC", "x@y.example", at))
        ),
    )

    [result] = redrive(stack, "AcknowledgeDLQ")

    state = build_state(stack)
    assert result.moved == 2
    assert [m["to"] for m in state["outbox"]] == [["x@y.example"], ["x@y.example"]]
    assert state["dead_letters"] == []
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    counted = [
        int(item["hits"]["N"])
        for item in stack.dynamodb.scan(TableName=table)["Items"]
        if item["PK"]["S"].startswith("RATE#OUT#x@y.example#")
    ]
    assert counted == [2]


def test_a_planted_invocation_record_naming_the_relay_is_not_run_as_a_stream_batch(
    stack: LocalStack,
) -> None:
    """The publish function's queue holds stream batches (positions in the stream, read
    again by the redrive), never events: a record handing it made-up stream records, which
    it would put on the bus, is refused like any other."""
    records = {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": {}}}]}
    arn = "arn:aws:lambda:us-east-1:123456789012:function:publish:$LATEST"
    stack.sqs.send_message(
        QueueUrl=stack.queue_urls["PublishFailureDLQ"],
        MessageBody=json.dumps(planted_record(arn, records)),
    )

    [result] = redrive(stack, "PublishFailureDLQ")

    assert result.moved == 0
    assert [letter["queue"] for letter in build_state(stack)["dead_letters"]] == [
        "PublishFailureDLQ"
    ]
    [_, refusal] = describe([result])
    assert "an invocation record naming function publish: not a function" in refusal


def test_a_batch_from_another_tables_stream_is_not_replayed(stack: LocalStack) -> None:
    """A stream batch is read again from the stream its letter names: only the desk's own
    table's stream, which the relay's mapping reads, is read."""
    letter = json.loads(json.dumps(STREAM_FAILURE))
    letter["requestContext"]["functionArn"] = (
        "arn:aws:lambda:us-east-1:123456789012:function:publish"
    )
    letter["DDBStreamBatchInfo"]["streamArn"] = (
        "arn:aws:dynamodb:us-east-1:123456789012:table/someone-elses/stream/2026-11-01T00:00:00.000"
    )
    stack.sqs.send_message(
        QueueUrl=stack.queue_urls["PublishFailureDLQ"], MessageBody=json.dumps(letter)
    )

    [result] = redrive(stack, "PublishFailureDLQ")

    [_, refusal] = describe([result])
    assert result.moved == 0
    assert "table/someone-elses/stream/" in refusal and "not the stream of the table" in refusal


def test_an_eventbridge_letter_naming_a_function_the_rules_do_not_target_is_refused(
    stack: LocalStack,
) -> None:
    assert stack.resolver is not None
    ref = open_form_ticket(stack)
    before = build_state(stack)

    def text(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    stack.sqs.send_message(
        QueueUrl=stack.queue_urls["EventDeliveryDLQ"],
        MessageBody=json.dumps(agent_api_call_with_forged_claims(ref)),
        MessageAttributes={
            "RULE_ARN": text(stack.resolver.get_att("AcknowledgeRule", "Arn")),
            "TARGET_ARN": text(stack.resolver.get_att("AgentApiFunction", "Arn")),
            "ERROR_CODE": text("ResourceNotFoundException"),
        },
    )

    [result] = redrive(stack, "EventDeliveryDLQ")

    state = build_state(stack)
    assert result.moved == 0 and state["outbox"] == before["outbox"]
    assert [letter["queue"] for letter in state["dead_letters"]] == ["EventDeliveryDLQ"]
    [_, refusal] = describe([result])
    assert "an EventBridge dead letter naming function agent_api" in refusal


@pytest.mark.parametrize(
    "named",
    [
        # Another function of the same stack: its failures never go to this queue.
        "arn:aws:lambda:eu-west-1:111122223333:function:helpdesk-AgentApiFunction-R:$LATEST",
        # The sweep's name, in another account.
        "arn:aws:lambda:eu-west-1:444455556666:function:helpdesk-ReportFunction-XYZ",
    ],
)
def test_against_aws_a_letter_naming_what_does_not_fail_into_the_queue_is_never_invoked(
    named: str,
) -> None:
    """Attack review 3, F2, against a deployed stack: the lambda client has no answer for
    an Invoke (the stub would fail the test on one), and the letter is not deleted."""
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients({"SweepFailureDLQUrl": SWEEP_URL})
    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    lambda_stub = Stubber(lambda_client)
    record = planted_record(named, agent_api_call_with_forged_claims("HD-AAAAAA"))
    failure_queue_holds(sqs_stub, SWEEP_URL, record)
    deployed_from_the_repos_template(cfn_stub)
    sqs_stub.add_response("receive_message", {"Messages": []}, None)
    # The lambda stub holds no answer: an Invoke would fail the test.
    results = redriven_against_aws(
        "SweepFailureDLQ", cloudformation, sqs, lambda_client, sqs_stub, lambda_stub, cfn_stub
    )
    function = named.split(":")[6]
    assert describe(results) == [
        "SweepFailureDLQ: 1 letter(s) refused and left in the queue (below)",
        "SweepFailureDLQ: refused, left in the queue: m1: an invocation record naming function"
        f" {function}: not a function whose failures this queue holds (a function whose"
        " on-failure destination it is)",
    ]


# ---------------------------------------------------------------------- the commands
@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An operator's shell with no AWS region anywhere: no environment variable, no
    profile that names one."""
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.mark.parametrize("command", ["redrive", "backfill-backlog"])
@pytest.mark.usefixtures("no_region")
def test_without_a_region_the_operator_commands_say_what_is_missing_in_one_line(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: no AWS region: give --region REGION or set AWS_REGION"
        " (the region the stack helpdesk is deployed in)\n"
    )


@pytest.mark.parametrize("command", ["redrive", "backfill-backlog"])
def test_the_operator_commands_help_shows_the_default_stack_name_and_the_region_flag(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--stack-name STACK_NAME" in shown and "(default: helpdesk)" in shown
    assert "--region REGION" in shown


def test_an_aws_refusal_of_the_backfill_is_one_line_naming_the_stack_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Review ops 4: credentials without cloudformation:DescribeStacks, or a stack name
    # that is not there, printed botocore's traceback (redrive said it in one line).
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    stub = Stubber(cloudformation)
    stub.add_client_error(
        "describe_stacks",
        service_error_code="AccessDenied",
        service_message="User: arn:aws:iam::111122223333:user/ops is not authorized",
        http_status_code=403,
    )
    monkeypatch.setattr(boto3, "client", lambda name, **_: cloudformation)
    with stub:
        assert main(["backfill-backlog", "--region", "eu-west-1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: stack helpdesk: ") and "AccessDenied" in line


@pytest.mark.usefixtures("no_region")
def test_a_region_given_on_the_command_line_is_the_one_the_redrive_asks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients()
    moved_back_to_its_queue(sqs_stub, "task-8")
    deployed_from_the_repos_template(cfn_stub)
    regions: list[str | None] = []

    def client(name: str, region_name: str | None = None, **_: Any) -> Any:
        regions.append(region_name)
        return {"cloudformation": cloudformation, "sqs": sqs}[name]

    monkeypatch.setattr(boto3, "client", client)
    with cfn_stub, sqs_stub:
        assert main(["redrive", "EmailIntakeDLQ", "--region", "eu-west-1"]) == 0
    assert regions == ["eu-west-1", "eu-west-1"]
    assert capsys.readouterr().out.strip() == "EmailIntakeDLQ: move task started (task-8)"


DELIVERY_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/helpdesk-EventDeliveryDLQ-U"
ACKNOWLEDGE_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:helpdesk-AcknowledgeFunction-S"
RULE_ARN = "arn:aws:events:eu-west-1:111122223333:rule/helpdesk-events/helpdesk-AcknowledgeRule-T"


@pytest.mark.parametrize(
    ("rule", "replayed"),
    [(RULE_ARN, True), (RULE_ARN.replace("helpdesk-events/", "other-bus/"), False)],
)
def test_against_aws_an_eventbridge_letter_is_replayed_only_from_the_stacks_own_rule(
    rule: str, replayed: bool
) -> None:
    """EventBridge's dead letter: the event, with RULE_ARN and TARGET_ARN attributes
    (eb-rule-dlq.html). The rule's ARN is built from the stack's resources: its bus's name
    and its own (``<bus>|<name>``, the physical id of a rule on a custom bus)."""
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients({"EventDeliveryDLQUrl": DELIVERY_URL})
    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    lambda_stub = Stubber(lambda_client)
    sqs_stub.add_response(
        "list_dead_letter_source_queues", {"queueUrls": []}, {"QueueUrl": DELIVERY_URL}
    )
    event = {"version": "0", "id": "e-1", "detail-type": "TicketOpened", "source": "helpdesk",
             "detail": {"ref": "HD-AAAAAA"}}  # fmt: skip

    def text(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    letter = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": json.dumps(event),
        "MessageAttributes": {"RULE_ARN": text(rule), "TARGET_ARN": text(ACKNOWLEDGE_ARN)},
    }
    sqs_stub.add_response("receive_message", {"Messages": [letter]}, None)
    deployed_from_the_repos_template(cfn_stub)
    if replayed:
        invoked_again_then_deleted(lambda_stub, ACKNOWLEDGE_ARN, event, sqs_stub, DELIVERY_URL)
    sqs_stub.add_response("receive_message", {"Messages": []}, None)
    [result] = redriven_against_aws(
        "EventDeliveryDLQ", cloudformation, sqs, lambda_client, sqs_stub, lambda_stub, cfn_stub
    )
    assert (result.moved, bool(result.refused)) == (1 if replayed else 0, not replayed)


ACK_DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/helpdesk-AcknowledgeDLQ-V"


def test_against_aws_acknowledges_failure_queue_is_replayed_though_a_draining_queue_names_it() -> (
    None
):
    """AcknowledgeDLQ still has a source queue (the draining AcknowledgeQueue), but it holds
    acknowledge's own failures: the redrive reads and vets them, invokes the function with
    the record's event, unvouched, and starts no move task into the draining queue, which
    denies every sender anyway (re-attack 4, R1)."""
    cloudformation, sqs, cfn_stub, sqs_stub = stubbed_clients({"AcknowledgeDLQUrl": ACK_DLQ_URL})
    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    lambda_stub = Stubber(lambda_client)
    sqs_stub.add_response(
        "list_dead_letter_source_queues",
        {"queueUrls": [ACK_DLQ_URL.replace("DLQ", "Queue")]},
        {"QueueUrl": ACK_DLQ_URL},
    )
    deployed_from_the_repos_template(cfn_stub)
    event = planted_ticket_opened("HD-AAAAAC", "x@y.example", datetime(2026, 11, 24, 7, tzinfo=UTC))
    record = planted_record(ACKNOWLEDGE_ARN, event)
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": json.dumps(record)}
    sqs_stub.add_response("receive_message", {"Messages": [message]}, None)
    unvouched_event = {**event, "detail": {**event["detail"]}}
    del unvouched_event["detail"]["acknowledgement_counted"]
    invoked_again_then_deleted(lambda_stub, ACKNOWLEDGE_ARN, unvouched_event, sqs_stub, ACK_DLQ_URL)
    sqs_stub.add_response("receive_message", {"Messages": []}, None)

    [result] = redriven_against_aws(
        "AcknowledgeDLQ", cloudformation, sqs, lambda_client, cfn_stub, sqs_stub, lambda_stub
    )

    assert (result.dead_letter_queue, result.task, result.moved) == ("AcknowledgeDLQ", None, 1)


@pytest.mark.parametrize(
    "command",
    [["redrive"], ["backfill-backlog"], ["report", "--table", "helpdesk-DomainTable"]],
)
def test_an_aws_that_cannot_be_reached_is_one_line_naming_the_region_not_a_traceback(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Newuser 12, #8: a mistyped region, a proxy or no network printed 30 lines of
    # botocore's EndpointConnectionError; missing credentials already said it in one line.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    assert main([*command, "--region", "eu-wset-1"]) == 2

    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith("error: ") and "eu-wset-1" in line and "connect" in line.lower()
