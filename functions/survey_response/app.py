"""survey_response: the page behind each survey score link (GET), its form (POST), and
its "tell the team lead" box (POST /survey/{token}/complaint)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = APIGatewayHttpResolver()
root = Composition()
REFUSED = "survey link refused"


@app.get("/survey/<token>")
def survey_page(token: str) -> Response[str]:
    from helpdesk.http import observed, survey_page_response

    event = app.current_event
    page = survey_page_response(
        root.survey_desk,
        token,
        (event.query_string_parameters or {}).get("score"),
        now=clock.now(),
        accept_language=event.headers.get("accept-language"),
    )
    return observed(page, logger, refusal=REFUSED, method="GET")


@app.post("/survey/<token>")
def survey_submit(token: str) -> Response[str]:
    from helpdesk.http import FormPost, observed, survey_answer_response

    post = FormPost.of(app.current_event)
    page = survey_answer_response(root.survey_desk, token, post, now=clock.now())
    return observed(page, logger, refusal=REFUSED, method="POST", metric="CsatAnswers")


@app.post("/survey/<token>/complaint")
def survey_complaint(token: str) -> Response[str]:
    """The survey page's "tell the team lead" box (helpdesk.services.complaints)."""
    from helpdesk.http import FormPost, observed, survey_complaint_response

    post = FormPost.of(app.current_event)
    page = survey_complaint_response(
        root.survey_desk, root.complaints, token, post, now=clock.now()
    )
    # Counted as Complaints by the publish function, with the customer's page's.
    return observed(page, logger, refusal=REFUSED, method="POST", form="complaint")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
