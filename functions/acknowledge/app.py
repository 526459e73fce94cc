"""acknowledge: mails customers, agents and leads as events about tickets arrive."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from helpdesk import clock
from helpdesk.aws.sqs_batch import process_while_time_remains
from helpdesk.settings import require

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.notices import Notifier

logger = Logger()


@cache
def notifier() -> Notifier:
    from helpdesk.aws.dynamodb import DynamoRepository
    from helpdesk.aws.ses import SesMailer
    from helpdesk.aws.ssm import secret_parameter
    from helpdesk.notices import Notifier
    from helpdesk.runtime import load_config_once

    return Notifier(
        repo=DynamoRepository(require("TABLE_NAME"), timer_shards=int(require("TIMER_SHARDS"))),
        mailer=SesMailer(),
        config=load_config_once(require("HELPDESK_CONFIG")),
        # Read once per container: it keys the Message-IDs of the mail sent.
        signing_key=secret_parameter(require("SIGNING_KEY_PARAMETER")),
    )


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
