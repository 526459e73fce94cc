"""acknowledge: mails customers, agents and leads as events about tickets arrive."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from helpdesk import clock
from helpdesk.aws.sqs_batch import process_while_time_remains
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.notices import Notifier

logger = Logger()
root = Composition()


@cache
def notifier() -> Notifier:
    # A customer's message relayed to the agent carries her files and her whole text, both
    # read from the raw-mail bucket.
    return replace(root.notifier, mail_store=root.mail_store)


def record_handler(record: SQSRecord) -> None:
    event = EventBridgeEvent(record.json_body)
    logger.append_keys(ticket=event.detail.get("ref"))
    from helpdesk import events, notices

    typed = events.parse(event.detail_type, event.detail)
    if typed is not None:
        notices.handle(typed, notifier(), now=clock.now())


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Records are begun only while one more send fits in the time left (helpdesk.aws.sqs_batch).
    return process_while_time_remains(event, record_handler, context)
