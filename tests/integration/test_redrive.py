"""`helpdesk redrive`: dead letters go back to their queue once the cause is fixed, locally
and against a deployed stack (SQS message-move tasks from the DLQs in the outputs)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from helpdesk_local.cli import main
from helpdesk_local.faults import faults_on
from helpdesk_local.redrive import RedriveError, redrive, redrive_aws
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
    with faults_on(stack, rate=1.0, services=("ses",)):
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
    with faults_on(stack, rate=1.0, services=("ses",)):
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


def stubbed_clients() -> tuple[Any, Any, Stubber, Stubber]:
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
                        {"OutputKey": "EmailIntakeDLQUrl", "OutputValue": DLQ_URL},
                        {"OutputKey": "ScheduleDLQUrl", "OutputValue": SCHEDULE_URL},
                        {"OutputKey": "ApiUrl", "OutputValue": "https://example.com"},
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
    with cfn_stub, sqs_stub:
        results = redrive_aws("helpdesk", cloudformation=cloudformation, sqs=sqs)
        sqs_stub.assert_no_pending_responses()
    assert [(r.dead_letter_queue, r.task) for r in results] == [
        ("EmailIntakeDLQ", "task-1"),
        ("ScheduleDLQ", None),
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
