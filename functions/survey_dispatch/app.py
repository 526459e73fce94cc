"""survey_dispatch: every 5 minutes, send the surveys that are due and close quiet solved
tickets (both found through the timer index)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from helpdesk import clock
from helpdesk.settings import require

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.services.surveys import SurveyDispatch

logger = Logger()
metrics = Metrics()


class SweepIncomplete(RuntimeError):
    """Some due tickets could not be swept. Failing the invocation raises the function
    errors alarm; Lambda retries it (the sweep is idempotent) and records it in the
    on-failure destination when every attempt failed."""


@cache
def dispatch() -> SurveyDispatch:
    from helpdesk.aws.ses import SesMailer
    from helpdesk.aws.ssm import secret_parameter
    from helpdesk.runtime import load_config_once, ticket_store
    from helpdesk.services.surveys import SurveyDispatch

    return SurveyDispatch(
        uow=ticket_store(),
        repo=ticket_store(),
        mailer=SesMailer(),
        config=load_config_once(require("HELPDESK_CONFIG")),
        # Read once per container: the key changes only with a deployment.
        signing_key=secret_parameter(require("SIGNING_KEY_PARAMETER")),
        public_url=require("PUBLIC_URL"),
    )


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = dispatch().sweep(now=clock.now())
    metrics.add_metric(name="SurveysSent", unit=MetricUnit.Count, value=len(result.surveys_sent))
    metrics.add_metric(name="TicketsAutoClosed", unit=MetricUnit.Count, value=len(result.closed))
    logger.info(
        "survey sweep done",
        extra={"surveyed": result.surveys_sent, "skipped": result.skipped, "closed": result.closed},
    )
    for ref, error in result.failed:
        # Its timer stays due: a retry, or the next sweep five minutes on, tries it again.
        logger.warning("ticket not swept", extra={"ticket": ref, "error": str(error)})
    if result.failed:
        due = len(result.surveys_sent) + len(result.skipped) + len(result.closed)
        raise SweepIncomplete(
            f"{len(result.failed)} of {due + len(result.failed)} due tickets not swept"
        )
    return {
        "surveys_sent": len(result.surveys_sent),
        "skipped": len(result.skipped),
        "closed": len(result.closed),
        "failed": len(result.failed),
    }
