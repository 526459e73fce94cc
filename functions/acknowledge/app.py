"""acknowledge: mails customers, agents and leads as events about tickets arrive.

AcknowledgeRule invokes it asynchronously with one event of the bus (helpdesk.aws.bus_event).
An error is raised, never swallowed: Lambda retries the event and then records it in
AcknowledgeDLQ (template.yaml, EventInvokeConfig). Until the next release it also drains
AcknowledgeQueue, where the previous release's rule sent the events (SQS batches of the same
events; docs/DEPLOY.md, section 10). A repeated delivery sends nothing twice:
each mail is claimed by its Message-ID before it is sent (notices/outbound.send_once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from helpdesk import clock
from helpdesk.aws.bus_event import BusEvent, handle_delivery
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
root = Composition()


def acknowledge(delivered: BusEvent) -> None:
    logger.append_keys(ticket=delivered.detail.get("ref"), event_id=delivered.id)
    from helpdesk import events, notices

    typed = events.parse(delivered.kind, delivered.detail)
    if typed is not None:
        notices.handle(typed, root.acknowledge_notifier, now=clock.now())


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | None:
    # A bus event from AcknowledgeRule; until the next release also a batch that the previous
    # release left in AcknowledgeQueue (helpdesk.aws.bus_event.handle_delivery).
    return handle_delivery(event, acknowledge, context)
