"""An SQS batch handled record by record while the Lambda has time for one more.

Used this release only, by the email intake, acknowledge and route, to drain what the
previous release left in EmailIntakeQueue, AcknowledgeQueue and RouteQueue (the bucket and
the rules now invoke the functions directly; the queues go in the next release,
docs/DEPLOY.md, section 10).

Lambda hands a function up to ten records (BatchSize) and the handler works through them in
series. Were the invocation to time out, its partial-failure report would never reach
Lambda: every record of the batch, handled or not, would come back after the queue's
visibility timeout with one more receive counted towards maxReceiveCount, and a few slow
records would march the others beside them to the dead-letter queue. So a record is begun
only while the time left covers one more at its slowest (``reserve_ms``); the others are
reported as batch item failures, the handled ones are deleted, and SQS hands the reported
ones out again when their visibility timeout ends ("Handling errors for an SQS event source
in Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html,
ReportBatchItemFailures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# What one send may take when SES throttles: helpdesk/aws/clients.py gives SES six retries
# in botocore's standard mode, each waiting a random time below 1, 2, 4, 8, 16 and 20 s
# (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html), about 25 s
# on average when every attempt is refused. With the senders' 30 s timeout (template.yaml),
# a batch goes on past its first record only while sends are quick; under throttling the
# rest go back to the queue at once instead of timing out with the batch.
ONE_SEND_MS = 25_000
# What one mail may take the intake at the most: a 38 MiB mail of nested tables, the slowest
# of the hostile mails of docs/PERFORMANCE.md at the size SES stores (40 MB), takes 4.6 s of
# CPU on a core of the 2-core machine; the intake's 1,024 MB give it 1024/1769 of a vCPU
# ("Configure Lambda function memory": 1,769 MB is one vCPU), about 8 s, and reading the
# mail and writing the ticket add well under a second; 20 s leave room for what no
# measurement has found yet. With the intake's 30 s timeout, a
# batch of the draining queue goes on past a slow mail only while another would still fit.
ONE_MAIL_MS = 20_000


class OutOfTime(RuntimeError):
    """Not begun: the time left would not cover one more send."""


def is_sqs_batch(event: Any) -> bool:
    """Whether an SQS event source mapping invoked the function: every record is from
    ``aws:sqs`` (an S3 notification's are from ``aws:s3``)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def process_while_time_remains(
    event: dict[str, Any],
    record_handler: Callable[[SQSRecord], None],
    context: LambdaContext,
    *,
    reserve_ms: int = ONE_SEND_MS,
) -> PartialItemFailureResponse:
    """Handle the batch's records in order, beginning each only while more than
    ``reserve_ms`` remain; failed and unbegun records are reported for redelivery."""

    def within_time(record: SQSRecord) -> None:
        remaining = context.get_remaining_time_in_millis()
        if remaining < reserve_ms:
            raise OutOfTime(f"{remaining} ms left, {reserve_ms} ms reserved for one send")
        record_handler(record)

    # Loaded for a batch only: a function that drains a queue this release is mostly
    # invoked without one.
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    # One processor per invocation: it keeps the batch's results, and a warm container may
    # run several invocations at once (the local concurrency test does).
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event, record_handler=within_time, processor=processor, context=context
    )
