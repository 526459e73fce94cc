"""An in-place update from the previous release, where the rules sent the ticket events to
AcknowledgeQueue and RouteQueue: this release keeps both queues and the functions' SQS
mappings so that what they hold when the update runs is still handled (docs/DEPLOY.md,
section 10). An EventBridge rule's SQS target sends the matched event as the message body
("Amazon EventBridge targets", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html),
so each record is handled exactly as the same event invoked directly; a record that is not
one is reported as a batch item failure (ReportBatchItemFailures,
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html) and, after the
queue's maxReceiveCount, kept in the function's DLQ.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_sender_retries import mails, ticket_opened

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

QUEUES = {"acknowledge": "AcknowledgeQueue", "route": "RouteQueue"}
DLQS = {"acknowledge": "AcknowledgeDLQ", "route": "RouteDLQ"}
KINDS = {"acknowledge": "acknowledgement", "route": "assignment"}


def left_in_queue(stack: LocalStack, queue: str, body: str) -> None:
    """A message as the previous release's rule left it: the event's JSON as the body."""
    stack.sqs.send_message(QueueUrl=stack.queue_urls[queue], MessageBody=body)


def messages_in(stack: LocalStack, queue: str) -> int:
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(count) for count in attributes.values())


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": message_id, "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"}  # fmt: skip


def test_an_event_left_in_the_old_queues_is_acknowledged_and_routed_once(
    stack: LocalStack,
) -> None:
    event = ticket_opened(stack)
    for queue in QUEUES.values():
        left_in_queue(stack, queue, json.dumps(event))

    stack.drain()

    assert stack.invocation_errors == []
    assert mails(stack, "acknowledgement") == [["anna@example.com"]]
    assert len(mails(stack, "assignment")) == 1
    [ticket] = build_state(stack)["tickets"]
    assert ticket["assignee"]
    assert all(messages_in(stack, queue) == 0 for queue in QUEUES.values())
    # The rule's direct invocation of the same event (the update switched the rule while
    # the event was in flight) sends nothing twice: the same event id, the same claims.
    for function in QUEUES:
        stack.deliver_bus_event(function, event)
    stack.drain()
    assert mails(stack, "acknowledgement") == [["anna@example.com"]]
    assert len(mails(stack, "assignment")) == 1
    assert build_state(stack)["dead_letters"] == []


@pytest.mark.parametrize("function", sorted(QUEUES))
def test_a_record_that_is_not_a_bus_event_is_reported_alone_and_the_others_handled(
    stack: LocalStack, function: str
) -> None:
    event = ticket_opened(stack)
    not_ours = json.dumps({**event, "source": "aws.s3"})
    batch = {"Records": [sqs_record("not-json", "{truncated"),
                         sqs_record("the-event", json.dumps(event)),
                         sqs_record("not-ours", not_ours)]}  # fmt: skip

    response = stack.invoke(function, batch)

    assert response == {
        "batchItemFailures": [{"itemIdentifier": "not-json"}, {"itemIdentifier": "not-ours"}]
    }
    assert len(mails(stack, KINDS[function])) == 1


@pytest.mark.parametrize("function", sorted(QUEUES))
def test_a_message_that_is_not_a_bus_event_ends_in_the_dlq_after_its_receives(
    stack: LocalStack, function: str
) -> None:
    left_in_queue(stack, QUEUES[function], "{truncated")

    stack.drain()

    letters = [d for d in build_state(stack)["dead_letters"] if d["queue"] == DLQS[function]]
    assert [letter["body"] for letter in letters] == ["{truncated"]
    assert messages_in(stack, QUEUES[function]) == 0


@pytest.mark.parametrize("function", sorted(QUEUES))
def test_lambdas_record_of_a_failed_event_moved_back_to_the_queue_is_handled_as_the_event(
    stack: LocalStack, function: str
) -> None:
    """`helpdesk redrive AcknowledgeDLQ` moves the DLQ's messages back to its source queue
    while the old queue is kept: Lambda's invocation records of direct events too."""
    event = ticket_opened(stack)
    record = {"version": "1.0", "requestContext": {"condition": "RetriesExhausted",
              "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST",
              "approximateInvokeCount": 3}, "requestPayload": event,
              "responsePayload": {"errorMessage": "Throttling"}}  # fmt: skip
    left_in_queue(stack, QUEUES[function], json.dumps(record))

    stack.drain()

    assert len(mails(stack, KINDS[function])) == 1
    assert build_state(stack)["dead_letters"] == []


def test_nothing_may_send_to_the_draining_queues_once_the_rules_have_moved() -> None:
    # Re-attack 3, N3: a message sent to a draining queue by anyone in the account would
    # reach acknowledge or route as if the desk had published it. An explicit Deny for
    # every principal, applied after both rules target their functions.
    from helpdesk_local.cfn import load_template
    from helpdesk_local.stack import REPO_ROOT

    policy = load_template(REPO_ROOT / "template.yaml")["Resources"]["EventQueuesPolicy"]
    assert set(policy["DependsOn"]) == {"AcknowledgeRule", "RouteRule"}
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "sqs:SendMessage",
    )
    assert len(statement["Resource"]) == 2
    assert "Condition" not in statement
