"""survey_response: the page behind each survey score link (GET), its form (POST), and
its "tell the team lead" box (POST /survey/{token}/complaint)."""

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


@app.get("/survey/<token>")
def survey_page(token: str) -> Response[str]:
    from helpdesk.http import survey_page_response

    query = app.current_event.query_string_parameters or {}
    page = survey_page_response(root.survey_desk, token, query.get("score"), now=clock.now())
    if page.status_code == 403:
        logger.warning("survey link refused", extra={"method": "GET"})
    return page


@app.post("/survey/<token>")
def survey_submit(token: str) -> Response[str]:
    from helpdesk.errors import MalformedInput
    from helpdesk.http import survey_answer_response, survey_page_response
    from helpdesk.web import request_text

    event = app.current_event
    try:
        body = request_text(event.body, is_base64_encoded=event.is_base64_encoded)
    except MalformedInput:
        # A body that is not UTF-8 form fields: the page again (or its refusal) with a 400.
        page = survey_page_response(root.survey_desk, token, None, now=clock.now(), status=400)
    else:
        content_type = event.headers.get("content-type", "")
        page = survey_answer_response(root.survey_desk, token, body, content_type, now=clock.now())
    if page.status_code == 200:
        # One metric, and only on an answer: most requests are page views that count nothing.
        with single_metric(name="CsatAnswers", unit=MetricUnit.Count, value=1):
            pass
    elif page.status_code == 403:
        logger.warning("survey link refused", extra={"method": "POST"})
    return page


@app.post("/survey/<token>/complaint")
def survey_complaint(token: str) -> Response[str]:
    """The survey page's "tell the team lead" box (helpdesk.services.complaints)."""
    from helpdesk.errors import MalformedInput
    from helpdesk.http import survey_complaint_response, survey_page_response
    from helpdesk.web import request_text

    event = app.current_event
    try:
        body = request_text(event.body, is_base64_encoded=event.is_base64_encoded)
    except MalformedInput:
        page = survey_page_response(root.survey_desk, token, None, now=clock.now(), status=400)
    else:
        content_type = event.headers.get("content-type", "")
        page = survey_complaint_response(
            root.survey_desk, root.complaints, token, body, content_type, now=clock.now()
        )
    if page.status_code == 200:
        with single_metric(name="Complaints", unit=MetricUnit.Count, value=1):
            pass
    elif page.status_code == 403:
        logger.warning("survey link refused", extra={"method": "POST", "form": "complaint"})
    return page


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
