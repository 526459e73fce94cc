"""form_intake: the web form page (GET /form) and its submissions (POST /tickets)."""

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


@app.get("/form")
def form_page() -> Response[str]:
    from helpdesk.http import form_page_response

    query = app.current_event.query_string_parameters or {}
    return form_page_response(
        root.config,
        language=query.get("lang"),
        accept_language=app.current_event.headers.get("accept-language"),
        # The articles the page suggests as the customer types the subject.
        knowledge_path=root.knowledge_bundle,
    )


@app.post("/tickets")
def submit() -> Response[str]:
    from helpdesk.http import json_answer
    from helpdesk.post_input import request_text
    from helpdesk.web import form_refusal

    event = app.current_event

    def work() -> dict[str, Any]:
        answer = root.form_desk.submit(
            # API Gateway base64-encodes a body it does not take for text; JSON must be
            # UTF-8 (RFC 8259 §8.1): request_text refuses anything else (400).
            body=request_text(event.body, is_base64_encoded=event.is_base64_encoded),
            content_type=event.headers.get("content-type", ""),
            source_ip=event.request_context.http.source_ip,
            now=clock.now(),
        )
        if answer["ref"] is not None:
            # Counted (TicketsCreated) by the publish function, as every intake's tickets.
            logger.info("form ticket opened", extra={"ticket": answer["ref"]})
        return answer

    # A refusal also says what is wrong in the page's language, for the page to show.
    return json_answer(
        201,
        work,
        explain=lambda error: form_refusal(
            root.config,
            error,
            body=event.body,
            is_base64_encoded=event.is_base64_encoded,
            accept_language=event.headers.get("accept-language"),
        ),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
