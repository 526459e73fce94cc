"""publish: the outbox relay. Each committed outbox item arrives from the table's stream
(filtered to outbox INSERTs by the event source mapping) and its events go on the bus
(helpdesk.aws.outbox_relay)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from helpdesk.aws.outbox_relay import relay
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
root = Composition()

# What one PutEvents may take when EventBridge throttles: helpdesk/aws/clients.py gives it
# five retries in botocore's standard mode, each waiting a random time below 1, 2, 4, 8 and
# 16 s (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html). A record
# is begun only while this much time is left (template.yaml: Timeout 60).
ONE_PUBLISH_MS = 31_000


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    records = event.get("Records") or []
    result = relay(
        records,
        root.publisher.publish,
        time_for_one_more=lambda: context.get_remaining_time_in_millis() > ONE_PUBLISH_MS,
    )
    if result.failed_sequence_number is not None:
        # Lambda retries from this record and, after the mapping's retries, sends the
        # batch's position to PublishFailureDLQ, whose alarm then fires.
        logger.error(
            "outbox record not published",
            extra={
                "sequence_number": result.failed_sequence_number,
                "failure": result.failure,
                "published": result.published,
            },
        )
    else:
        logger.info("published", extra={"items": result.published, "events": result.events})
    # The desk's figures, counted once their events are on the bus, whichever service made
    # the change; only what happened (a metric is billed for a month it has a data point).
    from helpdesk.runtime import count_metric, measure_metric

    if result.opened:
        # Chat and complaint tickets included: the breach-rate alarm divides SlaBreaches by it.
        count_metric("TicketsCreated", result.opened)
    if result.complaints:
        count_metric("Complaints", result.complaints)  # from the customer's page or the survey
    if result.first_responses:
        # The dashboard's "First response (business minutes)": median and 90th percentile.
        measure_metric("FirstResponseMinutes", [s / 60 for s in result.first_responses])
    return result.response()
