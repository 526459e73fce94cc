"""agent_api: the agents' JSON API (queue, ticket, its files, reply, change) behind the JWT
authorizer.

API Gateway has already checked the token (401 never reaches this code); here its verified
identity claim must name a configured agent or team lead, and the ticket must be in one of
their teams (403 otherwise); domain errors become status codes with a ``{"detail": ...}``
body (helpdesk.http), and a body that cannot be read is a 400, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.services.agent_api import Caller

logger = Logger()
app = APIGatewayHttpResolver()
root = Composition()


def _caller() -> Caller:
    context = app.current_event.raw_event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    return root.agent_desk.caller(claims)


def _body() -> str:
    from helpdesk.post_input import request_text

    event = app.current_event
    return request_text(event.body, is_base64_encoded=event.is_base64_encoded)


def _caller_reading(*parameters: str) -> Caller:
    """The caller, once the request names no query parameter but ``parameters`` (422
    naming it): ignored, "?assignee=me" looked like a filter and "?public=false" like a
    note (first-user runs 16 and 17). Who asks comes first: a stranger learns nothing of
    the routes."""
    from helpdesk.services.agent_api import only_parameters

    caller = _caller()
    only_parameters(_query(), parameters)
    return caller


def _query() -> dict[str, str]:
    return app.current_event.query_string_parameters or {}


def _answer(status: int, work: Callable[[], dict[str, Any]]) -> Response[str]:
    from helpdesk.http import json_answer

    return json_answer(status, work)


@app.get("/agent/queue")
def queue() -> Response[str]:
    # A page at a time: ``limit`` tickets (a bad one is a 422 naming it) from ``cursor``,
    # the ``next`` of the page before (a forged one is a 422 naming cursor).
    query = _query()

    def work() -> dict[str, Any]:
        return root.agent_desk.queue(
            _caller_reading("team", "limit", "cursor"),
            query.get("team"),
            limit=query.get("limit"),
            cursor=query.get("cursor"),
        )

    return _answer(200, work)


@app.get("/agent/tickets/<ref>")
def ticket(ref: str) -> Response[str]:
    query = _query()

    def work() -> dict[str, Any]:
        return root.agent_desk.ticket(_caller_reading("before"), ref, before=query.get("before"))

    return _answer(200, work)


@app.get("/agent/tickets/<ref>/files/<number>")
def ticket_file(ref: str, number: str) -> Response[Any]:
    # A file of the ticket as its ``download`` names it, as a download (docs/AGENT_API.md).
    from helpdesk.http import download_answer

    return download_answer(lambda: root.agent_desk.download(_caller_reading(), ref, number))


@app.post("/agent/tickets/<ref>/replies")
def reply(ref: str) -> Response[str]:
    # A client that may send the request again (a retry after a timeout) names it with an
    # Idempotency-Key: taken once, answered the same again (docs/AGENT_API.md).
    key = app.current_event.headers.get("idempotency-key")

    def work() -> dict[str, Any]:
        return root.agent_desk.reply(
            _caller_reading(), ref, _body(), now=clock.now(), idempotency_key=key
        )

    return _answer(201, work)


@app.patch("/agent/tickets/<ref>")
def change(ref: str) -> Response[str]:
    return _answer(
        200, lambda: root.agent_desk.change(_caller_reading(), ref, _body(), now=clock.now())
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
