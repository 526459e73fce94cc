"""sla_check: every minute, the SLA timers that are due become warnings, breaches and
escalations (helpdesk.services.sla_sweep)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
root = Composition()

# Stop taking new tickets this long before the Lambda timeout: the ticket in hand still
# commits and publishes, and the next minute's sweep picks up the rest.
SAFETY_MARGIN_MS = 10_000


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from helpdesk.runtime import end_sweep

    result = root.sla_sweep.run(
        clock.now(),
        keep_going=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS,
    )
    if result.breaches:
        # The template's breach-rate alarm divides it by TicketsCreated (publish).
        from helpdesk.runtime import count_metric

        count_metric("SlaBreaches", result.breaches)
    summary = {
        "warnings": result.warnings,
        "breaches": result.breaches,
        "escalations": result.escalations,
        "recovered": result.recovered,
        "stopped_early": result.stopped_early,
    }
    return end_sweep(logger, "sla sweep", summary, due=result.due, failed=result.failed)
