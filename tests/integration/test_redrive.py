"""`helpdesk redrive`: dead letters go back to their queue once the cause is fixed, locally
and against a deployed stack (SQS message-move tasks from the DLQs in the outputs)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from committing import kept_events_store

from helpdesk_local.cli import main
from helpdesk_local.faults import outage
from helpdesk_local.redrive import RedriveError, describe, redrive, redrive_aws
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

FORM = {
    "name": "Anna Schmidt",
    "email": "anna@example.com",
    "subject": "Where is my order?",
    "message": "It has been two weeks.",
}


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
    """CloudFormation and SQS clients, stubbed; the stack "helpdesk" describes itself once,
    with ``outputs`` (by default two dead-letter queues and the API's URL)."""
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
                    "Outputs": [
                        {"OutputKey": key, "OutputValue": value} for key, value in outputs.items()
                    ],
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
    sqs_stub.add_response(
        "list_dead_letter_source_queues", {"queueUrls": []}, {"QueueUrl": SWEEP_URL}
    )
    sqs_stub.add_response(
        "receive_message",
        {
            "Messages": [
                {"MessageId": "m1", "ReceiptHandle": "r1", "Body": json.dumps(INVOCATION_RECORD)}
            ]
        },
        None,
    )
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


def test_an_event_eventbridge_could_not_deliver_reaches_its_target_queue_after_the_redrive(
    stack: LocalStack,
) -> None:
    """EventBridge's dead letter is the event itself with RULE_ARN, TARGET_ARN, ERROR_CODE
    and ERROR_MESSAGE message attributes (https://docs.aws.amazon.com/eventbridge/latest/
    userguide/eb-rule-dlq.html); the redrive sends it to the target queue it missed."""
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
            "TARGET_ARN": text(stack.resolver.get_att("AcknowledgeQueue", "Arn")),
            "ERROR_CODE": text("SQS.AWS.SQS.NonExistentQueue"),
            "ERROR_MESSAGE": text("The specified queue does not exist."),
        },
    )
    assert build_state(stack)["outbox"] == []

    [result] = redrive(stack, "EventDeliveryDLQ")

    assert result.moved == 1
    state = build_state(stack)
    assert state["dead_letters"] == []
    [acknowledgement] = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert acknowledgement["to"] == ["anna@example.com"]
