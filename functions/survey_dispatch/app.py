"""survey_dispatch: every 5 minutes, send the surveys that are due and close quiet solved
tickets (both found through the timer index)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
root = Composition()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from helpdesk.runtime import end_sweep

    result = root.survey_dispatch.sweep(now=clock.now())
    metrics.add_metric(name="SurveysSent", unit=MetricUnit.Count, value=len(result.surveys_sent))
    metrics.add_metric(name="TicketsAutoClosed", unit=MetricUnit.Count, value=len(result.closed))
    summary = {
        "surveys_sent": len(result.surveys_sent),
        "skipped": len(result.skipped),
        "closed": len(result.closed),
    }
    refs = {"surveyed": result.surveys_sent, "skipped": result.skipped, "closed": result.closed}
    return end_sweep(
        logger, "survey sweep", summary, due=result.due, failed=result.failed, details=refs
    )
