"""route: decides who works on a ticket (on TicketOpened, escalation, team change, freed
capacity) and sends the agent the assignment mail.

RouteRule invokes it asynchronously with one event of the bus (helpdesk.aws.bus_event). An
error is raised, never swallowed: Lambda retries the event and then records it in RouteDLQ
(template.yaml, EventInvokeConfig). Until the next release it also drains RouteQueue, where
the previous release's rule sent the events (SQS batches of the same events; docs/DEPLOY.md,
section 10). A repeated delivery is a no-op: the routing claims its work by the event's id
(services/routing.py)."""

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


def route(delivered: BusEvent) -> None:
    logger.append_keys(ticket=delivered.detail.get("ref"), event_id=delivered.id)
    result = root.router.handle(
        delivered.kind, delivered.detail, event_id=delivered.id, now=clock.now()
    )
    logger.info("routed", extra={"outcome": result.outcome, "kind": delivered.kind})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | None:
    # A bus event from RouteRule; until the next release also a batch that the previous
    # release left in RouteQueue (helpdesk.aws.bus_event.handle_delivery).
    return handle_delivery(event, route, context)
