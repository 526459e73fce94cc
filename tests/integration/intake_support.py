"""Helpers shared by the email intake tests that reuse one local stack for many inputs."""

from __future__ import annotations

from helpdesk_local.stack import ACCOUNT, REGION, LocalStack
from helpdesk_local.state import scan_items


def forget_everything(stack: LocalStack) -> None:
    """Empty the domain table, the outbox and the dead-letter queues, so that the next
    input meets a desk that has seen nothing: no duplicates of an earlier input, no
    loop-limit counts, no tickets to thread into, no mail sent, no dead letters."""
    from moto.ses.models import ses_backends

    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    keys = [{"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}} for item in scan_items(stack)]
    for start in range(0, len(keys), 25):  # BatchWriteItem takes at most 25 requests
        stack.dynamodb.batch_write_item(
            RequestItems={
                table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            }
        )
    for queue_id in set(stack.dead_letter_queues.values()):
        url = stack.queue_urls[queue_id]
        # Not PurgeQueue: SQS allows one purge a minute per queue.
        while letters := stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for letter in letters:
                stack.sqs.delete_message(QueueUrl=url, ReceiptHandle=letter["ReceiptHandle"])
    # The outbox is what moto's SES accepted (helpdesk_local.state.outbox reads it there).
    ses_backends[ACCOUNT][REGION].sent_messages.clear()
