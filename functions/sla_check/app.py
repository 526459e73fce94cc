"""sla_check: every minute, the SLA timers that are due become warnings, breaches and
escalations (helpdesk.services.sla_sweep)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from helpdesk import clock
from helpdesk.settings import require

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.services.sla_sweep import SlaSweep

logger = Logger()

# Stop taking new tickets this long before the Lambda timeout: the ticket in hand still
# commits and publishes, and the next minute's sweep picks up the rest.
SAFETY_MARGIN_MS = 10_000


class SweepIncomplete(RuntimeError):
    """Some due tickets could not be swept; failing the invocation makes the Scheduler
    retry (the sweep is idempotent) and, after its retries, raises the DLQ alarm."""


@cache
def sweep() -> SlaSweep:
    from helpdesk.runtime import load_config_once, ticket_store
    from helpdesk.services.sla_sweep import SlaSweep

    return SlaSweep(
        uow=ticket_store(),
        repo=ticket_store(),
        config=load_config_once(require("HELPDESK_CONFIG")),
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = sweep().run(
        clock.now(),
        keep_going=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS,
    )
    summary = {
        "due": result.due,
        "warnings": result.warnings,
        "breaches": result.breaches,
        "escalations": result.escalations,
        "recovered": result.recovered,
        "stopped_early": result.stopped_early,
        "failed": len(result.failed),
    }
    for ref, error in result.failed:
        logger.error("ticket not swept", extra={"ticket": ref}, exc_info=error)
    logger.info("sla sweep done", extra=summary)
    if result.breaches:
        # EMF (Helpdesk/SlaBreaches): the template's breach-rate alarm divides it by
        # TicketsCreated. Imported only when there is something to count (cold start).
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(name="SlaBreaches", unit=MetricUnit.Count, value=result.breaches):
            pass
    if result.failed:
        raise SweepIncomplete(f"{len(result.failed)} of {result.due} due tickets not swept")
    return summary
