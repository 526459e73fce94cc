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
from helpdesk.aws.sqs_batch import ONE_MAIL_MS, is_sqs_batch, process_while_time_remains
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
root = Composition()


# S3 object keys are at most 1,024 bytes of UTF-8 ("Naming Amazon S3 objects", S3 user
# guide): a longer one names nothing S3 could have stored.
S3_KEY_MAX_BYTES = 1024


def s3_keys(body: Any) -> list[str]:
    """Keys of the mail objects an S3 event notification names (or Lambda's record of an
    invocation with one, ``requestPayload``: what EmailIntakeDLQ holds, should an operator
    move it back to EmailIntakeQueue with SQS's own DLQ redrive while that queue drains;
    `helpdesk redrive` invokes the intake with the notification instead).

    The notification's format is in the S3 User Guide ("Event message structure"): keys
    arrive URL-encoded, sizes in bytes. The ``s3:TestEvent`` S3 sends when the notification
    is configured has no ``Records``; folder markers, empty objects, SES's setup notice and
    objects outside the inbound prefix are not mail (``is_mail_object``), and neither is
    a record of another bucket, of another source or of a shape S3 never sends: each is
    logged and skipped, never raised, so that it cannot fail its retries and every redrive
    after them (attack 13, F4 and F5).
    """
    from helpdesk.services.email_intake import is_mail_object

    keys: list[str] = []
    notification = body.get("requestPayload", body) if isinstance(body, dict) else None
    records = notification.get("Records") if isinstance(notification, dict) else None
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            continue
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = _member(record, "s3")
        bucket, s3_object = _member(s3, "bucket"), _member(s3, "object")
        key = unquote_plus(str(s3_object.get("key", "")))
        size = s3_object.get("size")
        if bucket.get("name", root.environment.raw_bucket) != root.environment.raw_bucket:
            logger.warning("another bucket's object: skipped", extra={"bucket": str(bucket)[:300]})
        elif _s3_key_bytes(key) <= S3_KEY_MAX_BYTES and is_mail_object(
            key, size if isinstance(size, int) else None
        ):
            keys.append(key)
        else:
            logger.info("not a mail: skipped", extra={"key": key[:300], "size": size})
    return keys


def _s3_key_bytes(key: str) -> int:
    """The UTF-8 size of ``key``; past any key's for one that is no text (a lone surrogate
    from a JSON escape: attack 14, F6)."""
    try:
        return len(key.encode())
    except UnicodeEncodeError:
        return S3_KEY_MAX_BYTES + 1


def _member(value: dict[str, Any], name: str) -> dict[str, Any]:
    """``value[name]`` when it is an object, else an empty one."""
    member = value.get(name)
    return member if isinstance(member, dict) else {}


def take_in(notification: Any) -> None:
    from helpdesk.errors import NotStored

    keys = s3_keys(notification)
    if not keys:
        logger.info("no mail in the event")
    for key in keys:
        try:
            result = root.email_intake.take_in(key, now=clock.now())
        except NotStored:
            # S3 reads its own writes, so a notified key that is not there was never stored
            # (a forged event) or was deleted: retrying cannot help. Only the mail store's
            # miss: a ticket not found is a failure, retried and kept.
            logger.warning("notified mail not in the bucket: skipped", extra={"key": key[:300]})
            continue
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
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | None:
    if not is_sqs_batch(event):  # S3's notification: its records are read one by one
        take_in(event)
        return None
    # The previous release's queue: a mail is begun only while the slowest one would still
    # fit (helpdesk.aws.sqs_batch).
    return process_while_time_remains(
        event, lambda record: take_in(record.json_body), context, reserve_ms=ONE_MAIL_MS
    )
