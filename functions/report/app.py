"""report: hourly; sends the daily and weekly reports to team leads when the config says
they are due (reports.daily_at in the report time zone), each once per lead and period."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from helpdesk import clock
from helpdesk.settings import require

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.services.reports import ReportDesk

logger = Logger()


@cache
def desk() -> ReportDesk:
    from helpdesk.aws.ses import SesMailer
    from helpdesk.aws.ssm import secret_parameter
    from helpdesk.runtime import load_config_once, ticket_store
    from helpdesk.services.reports import ReportDesk

    return ReportDesk(
        repo=ticket_store(),
        mailer=SesMailer(),
        config=load_config_once(require("HELPDESK_CONFIG")),
        # Read once per container: it keys the Message-IDs of the reports.
        signing_key=secret_parameter(require("SIGNING_KEY_PARAMETER")),
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sent = desk().run(now=clock.now())
    if sent:
        logger.info("reports sent", extra={"reports": [f"{lead} {key}" for lead, key in sent]})
    return {"sent": len(sent)}
