"""An SQS batch handled record by record while the Lambda has time for one more.

Used this release only by acknowledge and route, to drain what the previous release left in
AcknowledgeQueue and RouteQueue (helpdesk.aws.bus_event.handle_delivery); it goes with the
queues in the next release (docs/DEPLOY.md, section 10).

Lambda hands a sender up to ten records (BatchSize) and the handler works through them in
series. A throttled send can take about 25 s (ONE_SEND_MS below); were the invocation to time
out, its partial-failure report would never reach Lambda and every record of the batch, sent
or not, would come back only after the queue's visibility timeout. So a record is begun only
while the time left covers one more send; the others are reported as batch item failures
and SQS makes them visible again at once ("Handling errors for an SQS event source in
Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html,
ReportBatchItemFailures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

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


class OutOfTime(RuntimeError):
    """Not begun: the time left would not cover one more send."""


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

    # One processor per invocation: it keeps the batch's results, and a warm container may
    # run several invocations at once (the local concurrency test does).
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event, record_handler=within_time, processor=processor, context=context
    )
