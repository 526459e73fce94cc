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


def _body_bytes() -> bytes | None:
    """The request body as bytes (helpdesk.post_input.request_bytes: API Gateway base64-encodes a
    body it does not take for text, a form with files); None when that encoding is
    broken."""
    from helpdesk.errors import MalformedInput
    from helpdesk.post_input import request_bytes

    event = app.current_event
    try:
        return request_bytes(event.body or "", is_base64_encoded=event.is_base64_encoded)
    except MalformedInput:
        return None


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
    from helpdesk.portal_web import action_response

    body = _body_bytes()
    page = action_response(
        root.portal_desk,
        token,
        body if body is not None else b"",
        # A broken base64 body is read as a body of another type: the page says reload.
        app.current_event.headers.get("content-type", "") if body is not None else "",
        source_ip=app.current_event.request_context.http.source_ip,
        now=clock.now(),
        lang=_query("lang"),
        accept_language=_accept_language(),
    )
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


def _base_url() -> str:
    """Where the links of a re-sent mail point: the deployment's ``PUBLIC_URL`` when the
    template gives one (the PublicUrl parameter), else where this request came in: API
    Gateway's ``requestContext.domainName`` (its own or a custom domain) and the stage, a
    named stage being the first part of the path ("Working with stages for HTTP APIs").
    Always https: the scheme is never taken from the client's X-Forwarded-Proto (a
    mailed link downgraded to http would carry the token in clear); only a loopback host
    (``helpdesk local``, plain http) keeps it."""
    from urllib.parse import urlsplit

    from helpdesk.environment import MissingSetting
    from helpdesk.links import LOOPBACK_HOSTS

    try:
        configured = root.environment.public_url.strip()
    except MissingSetting:
        configured = ""
    if configured:
        return configured.rstrip("/")
    context = app.current_event.request_context
    host = context.domain_name
    scheme = "https"
    if urlsplit(f"//{host}").hostname in LOOPBACK_HOSTS:
        claimed = app.current_event.headers.get("x-forwarded-proto", "https")
        scheme = claimed if claimed in ("http", "https") else "https"
    stage = "" if context.stage in ("", "$default") else f"/{context.stage}"
    return f"{scheme}://{host}{stage}"


@app.post("/ticket")
def resend_links() -> Response[str]:
    from helpdesk.errors import MalformedInput
    from helpdesk.portal_web import resend_response
    from helpdesk.post_input import request_text

    event = app.current_event
    try:
        text = request_text(event.body, is_base64_encoded=event.is_base64_encoded)
    except MalformedInput:
        text = ""  # the page again, asking for the address
    return resend_response(
        root.portal_desk,
        text,
        app.current_event.headers.get("content-type", ""),
        source_ip=app.current_event.request_context.http.source_ip,
        base_url=_base_url(),
        now=clock.now(),
        lang=_query("lang"),
        accept_language=_accept_language(),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
