"""customer_page: the customer's page of a ticket behind the signed link in every mail to
them (GET shows, POST answers, solves or complains), its files, and the page that mails
fresh links (GET/POST /ticket)."""

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


def _query(name: str) -> str | None:
    return (app.current_event.query_string_parameters or {}).get(name)


def _accept_language() -> str | None:
    return app.current_event.headers.get("accept-language")


def _refusal_logged(page: Response[Any], method: str, metric: str | None = None) -> Response[Any]:
    from helpdesk.http import observed

    # An action counts when it is done (303 to the page again).
    return observed(
        page, logger, refusal="page link refused", method=method, metric=metric, done=303
    )


@app.get("/ticket/<token>")
def ticket_page(token: str) -> Response[str]:
    from helpdesk.portal_web import page_response

    page = page_response(
        root.portal_desk,
        token,
        now=clock.now(),
        done=_query("done"),
        lang=_query("lang"),
        accept_language=_accept_language(),
    )
    return _refusal_logged(page, "GET")


@app.post("/ticket/<token>")
def ticket_action(token: str) -> Response[str]:
    from helpdesk.http import FormPost
    from helpdesk.portal_web import action_response

    post = FormPost.of(app.current_event)
    page = action_response(root.portal_desk, token, post, now=clock.now(), lang=_query("lang"))
    return _refusal_logged(page, "POST", metric="PortalActions")


@app.get("/ticket/<token>/files/<number>")
def ticket_file(token: str, number: str) -> Response[Any]:
    from helpdesk.portal_web import file_response

    page = file_response(
        root.portal_desk,
        token,
        number,
        now=clock.now(),
        lang=_query("lang"),
        accept_language=_accept_language(),
    )
    return _refusal_logged(page, "GET")


@app.get("/ticket")
def ask_page() -> Response[str]:
    from helpdesk.portal_web import ask_response

    return ask_response(root.config, lang=_query("lang"), accept_language=_accept_language())


@app.post("/ticket")
def resend_links() -> Response[str]:
    from helpdesk.http import FormPost
    from helpdesk.portal_web import request_link_base, resend_response

    event = app.current_event
    base_url = request_link_base(
        root.environment.given("public_url"),
        domain_name=event.request_context.domain_name,
        stage=event.request_context.stage,
        forwarded_proto=event.headers.get("x-forwarded-proto"),
    )
    post = FormPost.of(event)
    return resend_response(
        root.portal_desk, post, base_url=base_url, now=clock.now(), lang=_query("lang")
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
