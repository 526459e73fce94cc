"""email_intake: SES stored a raw message in S3; S3 invoked this function with its key; make
it a ticket.

S3 invokes it asynchronously with the bucket's event notification, one object a delivery
("Using AWS Lambda with Amazon S3", template.yaml: RawMailBucket's LambdaConfigurations).
An error is raised, never swallowed: Lambda retries the event twice and then records it in
EmailIntakeDLQ (EventInvokeConfig); `helpdesk redrive EmailIntakeDLQ` invokes it again.
Until the next release it also drains EmailIntakeQueue, where the previous release's
bucket notification queued the keys (SQS batches of the same notifications; docs/DEPLOY.md,
section 10). A repeated delivery makes no second ticket: the intake claims each mail by
its Message-ID (services/email_intake.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
root = Composition()


def s3_keys(body: dict[str, Any]) -> list[str]:
    """Keys of the mail objects an S3 event notification names (or Lambda's record of an
    invocation with one, ``requestPayload``: what EmailIntakeDLQ holds, moved back to
    EmailIntakeQueue by `helpdesk redrive` while that queue drains).

    The notification's format is in the S3 User Guide ("Event message structure"): keys
    arrive URL-encoded, sizes in bytes. The ``s3:TestEvent`` S3 sends when the notification
    is configured has no ``Records``; folder markers, empty objects, SES's setup notice and
    objects outside the inbound prefix are not mail (``is_mail_object``) and are skipped.
    """
    from helpdesk.services.email_intake import is_mail_object

    keys: list[str] = []
    notification = body.get("requestPayload", body)
    if not isinstance(notification, dict):
        return keys
    for record in notification.get("Records", []):
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


def take_in(notification: dict[str, Any]) -> None:
    for key in s3_keys(notification):
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


def is_s3_notification(event: dict[str, Any]) -> bool:
    """Whether S3 invoked the function (its records come from ``aws:s3``), not the SQS
    mapping of the queue being drained (records from ``aws:sqs``)."""
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:s3" for r in records)
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | None:
    if is_s3_notification(event):
        take_in(event)
        return None
    # The previous release's queue: a mail is begun only while the slowest one would still
    # fit (helpdesk.aws.sqs_batch, loaded only for a batch).
    from helpdesk.aws.sqs_batch import ONE_MAIL_MS, process_while_time_remains

    return process_while_time_remains(
        event, lambda record: take_in(record.json_body), context, reserve_ms=ONE_MAIL_MS
    )
