"""agent_api: the agents' JSON API (queue, ticket, reply, change) behind the JWT authorizer.

API Gateway has already checked the token (401 never reaches this code); here its verified
identity claim must name a configured agent or team lead, and the ticket must be in one of
their teams (403 otherwise); domain errors become status codes with a ``{"detail": ...}``
body, and a body that cannot be read is a 400, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from helpdesk import clock
from helpdesk.settings import require

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from helpdesk.services.agent_api import AgentDesk, Caller

logger = Logger()
app = APIGatewayHttpResolver()


@cache
def desk() -> AgentDesk:
    from helpdesk.runtime import load_config_once, ticket_store
    from helpdesk.services.agent_api import AgentDesk

    return AgentDesk(
        uow=ticket_store(),
        repo=ticket_store(),
        config=load_config_once(require("HELPDESK_CONFIG")),
    )


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json; charset=utf-8",
        body=json.dumps(body, ensure_ascii=False),
    )


def _caller() -> Caller:
    context = app.current_event.raw_event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    return desk().caller(claims)


def _body() -> str:
    from helpdesk.web import request_text

    event = app.current_event
    return request_text(event.body, is_base64_encoded=event.is_base64_encoded)


def _answer(status: int, work: Callable[[], dict[str, Any]]) -> Response[str]:
    """Run ``work`` and turn domain errors into HTTP answers (only handlers do that)."""
    from helpdesk.errors import Conflict, InvalidInput, NotFound
    from helpdesk.services.agent_api import NotAnAgent, OutOfScope
    from helpdesk.services.commands import TicketClosed

    try:
        return _json(status, work())
    except (NotAnAgent, OutOfScope) as error:
        return _json(403, {"detail": str(error)})
    except NotFound as error:
        return _json(404, {"detail": f"no {error}"})
    except InvalidInput as error:
        return _json(
            error.status,
            {
                "detail": f"{error.field}: {error.reason}",
                "field": error.field,
                "reason": error.reason,
            },
        )
    except (TicketClosed, Conflict) as error:
        return _json(409, {"detail": str(error)})


@app.get("/agent/queue")
def queue() -> Response[str]:
    team = (app.current_event.query_string_parameters or {}).get("team")

    def work() -> dict[str, Any]:
        return desk().queue(_caller(), team)

    return _answer(200, work)


@app.get("/agent/tickets/<ref>")
def ticket(ref: str) -> Response[str]:
    def work() -> dict[str, Any]:
        return desk().ticket(_caller(), ref)

    return _answer(200, work)


@app.post("/agent/tickets/<ref>/replies")
def reply(ref: str) -> Response[str]:
    return _answer(201, lambda: desk().reply(_caller(), ref, _body(), now=clock.now()))


@app.patch("/agent/tickets/<ref>")
def change(ref: str) -> Response[str]:
    return _answer(200, lambda: desk().change(_caller(), ref, _body(), now=clock.now()))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
