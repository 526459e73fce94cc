"""email_intake: SES stored a raw message in S3; S3 queued its key; make it a ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from helpdesk import clock
from helpdesk.aws.sqs_batch import ONE_MAIL_MS, process_while_time_remains
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
root = Composition()


def s3_keys(body: dict[str, Any]) -> list[str]:
    """Keys of the mail objects an S3 event notification names.

    The notification's format is in the S3 User Guide ("Event message structure"): keys
    arrive URL-encoded, sizes in bytes. The ``s3:TestEvent`` S3 sends when the notification
    is configured has no ``Records``; folder markers, empty objects, SES's setup notice and
    objects outside the inbound prefix are not mail (``is_mail_object``) and are skipped.
    """
    from helpdesk.services.email_intake import is_mail_object

    keys = []
    for record in body.get("Records", []):
        if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith(
            "ObjectCreated"
        ):
            continue
        s3_object = record.get("s3", {}).get("object", {})
        key = unquote_plus(str(s3_object.get("key", "")))
        size = s3_object.get("size")
        if is_mail_object(key, size if isinstance(size, int) else None):
            keys.append(key)
        else:
            logger.info("not a mail: skipped", extra={"key": key[:300], "size": size})
    return keys


def record_handler(record: SQSRecord) -> None:
    for key in s3_keys(record.json_body):
        result = root.email_intake.take_in(key, now=clock.now())
        logger.info(
            "inbound mail taken in",
            extra={
                "ticket": result.ref,
                "outcome": result.outcome,
                "suppressed": result.suppressed,
            },
        )
        # The ticket is counted (TicketsCreated) by the publish function, for every intake.


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # A mail is begun only while the slowest one would still fit (helpdesk.aws.sqs_batch).
    return process_while_time_remains(event, record_handler, context, reserve_ms=ONE_MAIL_MS)
