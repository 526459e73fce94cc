"""survey_response: the page behind each survey score link (GET) and its form (POST)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from helpdesk import clock
from helpdesk.settings import require

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.services.surveys import Page, SurveyDesk

logger = Logger()
app = APIGatewayHttpResolver()

# The page is about one customer's ticket: never cached by a proxy, never framed, and it
# loads nothing from elsewhere (the layout inlines its styles).
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def desk() -> SurveyDesk:
    from helpdesk.aws.ssm import secret_parameter
    from helpdesk.runtime import load_config_once, ticket_store
    from helpdesk.services.surveys import SurveyDesk

    return SurveyDesk(
        uow=ticket_store(),
        repo=ticket_store(),
        config=load_config_once(require("HELPDESK_CONFIG")),
        # Read once per container: the key changes only with a deployment.
        signing_key=secret_parameter(require("SIGNING_KEY_PARAMETER")),
    )


def _html(page: Page) -> Response[str]:
    return Response(
        status_code=page.status,
        content_type="text/html; charset=utf-8",
        body=page.html,
        headers=dict(_HEADERS),
    )


@app.get("/survey/<token>")
def survey_page(token: str) -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    page = desk().page(token, query.get("score"), now=clock.now())
    if page.status == 403:
        logger.warning("survey link refused", extra={"method": "GET"})
    return _html(page)


@app.post("/survey/<token>")
def survey_submit(token: str) -> Response[str]:
    from helpdesk.errors import InvalidInput
    from helpdesk.services.surveys import Page
    from helpdesk.web import request_text

    event = app.current_event
    try:
        body = request_text(event.body, is_base64_encoded=event.is_base64_encoded)
    except InvalidInput:
        # A body that is not UTF-8 form fields: the page again (or its refusal) with a 400.
        page = desk().page(token, None, now=clock.now())
        return _html(Page(400, page.html) if page.status == 200 else page)
    page = desk().submit(token, body, event.headers.get("content-type", ""), now=clock.now())
    if page.status == 200:
        # One metric, and only on an answer: most requests are page views that count nothing.
        with single_metric(name="CsatAnswers", unit=MetricUnit.Count, value=1):
            pass
    elif page.status == 403:
        logger.warning("survey link refused", extra={"method": "POST"})
    return _html(page)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
