"""A batch of the intake queue (the previous release's, drained by this one: docs/DEPLOY.md,
section 10) is taken in mail by mail, and a mail is begun only while the
time left covers one more at its slowest. Were the invocation to time out instead, Lambda
would never see its partial-failure report: every mail of the batch, those already made
tickets included, would come back after the queue's visibility timeout with one more
receive counted towards maxReceiveCount, so that a few slow mails could march the innocent
ones beside them to the dead-letter queue ("Handling errors for an SQS event source in
Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from helpdesk.aws.sqs_batch import ONE_MAIL_MS
from helpdesk_local.bench import sample_mail
from helpdesk_local.stack import LambdaContext, LocalStack
from helpdesk_local.state import build_state

QUEUE = "EmailIntakeQueue"


@dataclass
class Dwindling(LambdaContext):
    """A context whose time left is ``answers``, one per question, then the last again."""

    answers: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_a_batch_short_of_time_takes_in_what_fits_and_hands_the_rest_back_untouched(
    stack: LocalStack,
) -> None:
    url = stack.queue_urls[QUEUE]
    for index in range(3):
        stack.deliver_email(sample_mail(index))
        # Queued as the previous release's bucket notification did.
        [notification] = stack.take_bucket_events("email_intake", 1)
        stack.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(notification))
    received = stack.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    assert len(received) == 3
    arn = stack.resolver.get_att(QUEUE, "Arn") if stack.resolver else ""
    event = {"Records": [stack._sqs_record(message, arn) for message in received]}

    # The whole timeout at the first mail; just enough for the slowest mail at the second;
    # just too little at the third.
    context = Dwindling(
        function_name="email_intake", answers=[30_000, ONE_MAIL_MS + 1, ONE_MAIL_MS - 1]
    )
    response = stack.invoke_with_context("email_intake", event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": received[2]["MessageId"]}]}
    assert len(build_state(stack)["tickets"]) == 2

    # As the event source mapping does: the mails taken in are deleted, the other comes back.
    for message in received[:2]:
        stack.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    stack.sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=received[2]["ReceiptHandle"], VisibilityTimeout=0
    )
    stack.drain()

    state = build_state(stack)
    assert stack.invocation_errors == []
    assert sorted(t["contact"]["email"] for t in state["tickets"]) == sorted(
        f"customer{index}@shop{index}.example" for index in range(3)
    )
    assert state["dead_letters"] == []
