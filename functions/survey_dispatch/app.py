"""survey_dispatch: every 5 minutes, send the surveys that are due and close quiet solved
tickets (both found through the timer index)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
root = Composition()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from helpdesk.runtime import count_metric, end_sweep

    result = root.survey_dispatch.sweep(now=clock.now())
    # Only what happened: a metric with a data point in a month is billed for that month,
    # so zeros every five minutes would bill an idle desk for both.
    for name, done in (("SurveysSent", result.surveys_sent), ("TicketsAutoClosed", result.closed)):
        if done:
            count_metric(name, len(done))
    summary = {
        "surveys_sent": len(result.surveys_sent),
        "skipped": len(result.skipped),
        "closed": len(result.closed),
    }
    refs = {"surveyed": result.surveys_sent, "skipped": result.skipped, "closed": result.closed}
    return end_sweep(
        logger, "survey sweep", summary, due=result.due, failed=result.failed, details=refs
    )
