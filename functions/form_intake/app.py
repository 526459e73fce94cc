"""form_intake: the web form page (GET /form) and its submissions (POST /tickets)."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from helpdesk import clock
from helpdesk.errors import InvalidInput, RateLimited
from helpdesk.settings import require

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.services.form_intake import FormDesk

logger = Logger()
app = APIGatewayHttpResolver()


@cache
def desk() -> FormDesk:
    from helpdesk.runtime import load_config_once, ticket_store
    from helpdesk.services.form_intake import FormDesk

    return FormDesk(
        uow=ticket_store(),
        repo=ticket_store(),
        config=load_config_once(require("HELPDESK_CONFIG")),
    )


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json; charset=utf-8",
        body=json.dumps(body, ensure_ascii=False),
        headers=headers or {},
    )


@app.get("/form")
def form_page() -> Response[str]:
    from helpdesk.web import page_headers

    query = app.current_event.query_string_parameters or {}
    page = desk().page(
        language=query.get("lang"), accept_language=app.current_event.headers.get("accept-language")
    )
    # The language follows Accept-Language unless ?lang= says otherwise (RFC 9110 §12.5.5).
    headers = {**page_headers(page), "Vary": "Accept-Language"}
    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=page, headers=headers
    )


@app.post("/tickets")
def submit() -> Response[str]:
    from helpdesk.web import request_text

    event = app.current_event
    try:
        answer = desk().submit(
            # API Gateway base64-encodes a body it does not take for text; JSON must be
            # UTF-8 (RFC 8259 §8.1): request_text answers 400 for anything else.
            body=request_text(event.body, is_base64_encoded=event.is_base64_encoded),
            content_type=event.headers.get("content-type", ""),
            source_ip=event.request_context.http.source_ip,
            now=clock.now(),
        )
    except InvalidInput as error:
        return _json(
            error.status,
            {
                "detail": f"{error.field}: {error.reason}",
                "field": error.field,
                "reason": error.reason,
            },
        )
    except RateLimited as error:
        return _json(
            429,
            {"detail": f"{error}; try again later"},
            {"Retry-After": str(error.retry_after_seconds)},
        )
    if answer["ref"] is not None:
        logger.info("form ticket opened", extra={"ticket": answer["ref"]})
        _count_ticket_created()
    return _json(201, answer)


def _count_ticket_created() -> None:
    """One EMF metric (Helpdesk/TicketsCreated), flushed at once; imported on first use
    (cold start)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name="TicketsCreated", unit=MetricUnit.Count, value=1):
        pass


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
