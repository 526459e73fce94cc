"""report: hourly; sends the daily and weekly reports to team leads when the config says
they are due (reports.daily_at in the report time zone), each once per lead and period."""

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
    sent = root.report_desk.run(now=clock.now())
    if sent:
        logger.info("reports sent", extra={"reports": [f"{lead} {key}" for lead, key in sent]})
    return {"sent": len(sent)}
