"""self_service: the article behind an acknowledgement's "this answered my question" link
(GET, records nothing) and its confirmation (POST, solves the ticket as self-served)."""

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
REFUSED = "answer link refused"


@app.get("/answer/<token>")
def answer_page(token: str) -> Response[str]:
    from helpdesk.http import answer_page_response, observed

    event = app.current_event
    page = answer_page_response(
        root.self_service_desk,
        token,
        ask="answered" in (event.query_string_parameters or {}),
        now=clock.now(),
        accept_language=event.headers.get("accept-language"),
    )
    return observed(page, logger, refusal=REFUSED, method="GET")


@app.post("/answer/<token>")
def answer_confirm(token: str) -> Response[str]:
    from helpdesk.http import FormPost, answer_confirm_response, observed

    post = FormPost.of(app.current_event)
    page = answer_confirm_response(root.self_service_desk, token, post, now=clock.now())
    # The metric counts a solve only: page views count nothing.
    return observed(page, logger, refusal=REFUSED, method="POST", metric="SelfServed")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
