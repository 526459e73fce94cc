"""self_service: the article behind an acknowledgement's "this answered my question" link
(GET, records nothing) and its confirmation (POST, solves the ticket as self-served)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = APIGatewayHttpResolver()
root = Composition()


@app.get("/answer/<token>")
def answer_page(token: str) -> Response[str]:
    from helpdesk.http import answer_page_response

    query = app.current_event.query_string_parameters or {}
    page = answer_page_response(
        root.self_service_desk, token, ask="answered" in query, now=clock.now()
    )
    if page.status_code == 403:
        logger.warning("answer link refused", extra={"method": "GET"})
    return page


@app.post("/answer/<token>")
def answer_confirm(token: str) -> Response[str]:
    from helpdesk.http import answer_confirm_response

    event = app.current_event
    page = answer_confirm_response(
        root.self_service_desk,
        token,
        event.body,
        is_base64_encoded=event.is_base64_encoded,
        content_type=event.headers.get("content-type", ""),
        now=clock.now(),
    )
    if page.status_code == 200:
        # One metric, and only on a solve: page views count nothing.
        with single_metric(name="SelfServed", unit=MetricUnit.Count, value=1):
            pass
    elif page.status_code == 403:
        logger.warning("answer link refused", extra={"method": "POST"})
    return page


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
