"""The HTTP edge of the customer's page (helpdesk.services.portal): its pages, and the
service's results and errors as statuses, headers and bodies.

Every answer is a page in the customer's language (the ticket's; else ``?lang=``, then
Accept-Language, RFC 9110 §12.5.4), never cached (``no-store``: it is one customer's
ticket), never framed, with a Content-Security-Policy that allows only the page's own
inline styles by hash and no script at all (helpdesk.web.page_headers). Statuses follow RFC
9110 §15: 303 after a post that was taken (§15.4.4, the page then shows what happened),
400/413/415/422 naming the field, 403 for a refused link, 404 for a file that is not the
page's, 409 for a closed ticket (or a reply to one holding its most messages), 429 with
Retry-After (RFC 6585 §4).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from aws_lambda_powertools.event_handler import Response

from helpdesk.errors import InvalidInput, MalformedInput, NotFound, RateLimited
from helpdesk.http import download_response, private_page, retry_after, status_of
from helpdesk.links import LOOPBACK_HOSTS, LinkRefused
from helpdesk.services.portal import ACTIONS, FormProblem, PostRefused

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.http import FormPost
    from helpdesk.services.portal import PortalDesk, PortalView

# Limits the page names in bytes (shown as "4 MB"), the others are counts.
_BYTE_LIMITS = frozenset({"file_too_large", "body_too_large"})


def _language(config: Config, ticket_language: str | None, lang: str | None,
              accept_language: str | None) -> str:  # fmt: skip
    from helpdesk.web import page_language

    return page_language(config, ticket_language, lang=lang, accept_language=accept_language)


# ---------------------------------------------------------------------------- pages
def ticket_page(
    config: Config,
    view: PortalView,
    *,
    language: str,
    error: FormProblem | None = None,
    action: str = "",
    text: str = "",
) -> str:
    """The page of one ticket; with ``error`` the reason the last post was refused, next to
    the form it came from (``action``), what was written kept in its field."""
    from helpdesk.render import format_local_datetime, format_local_short, render_page

    promise = None
    if view.promise is not None:
        kind, due = view.promise
        promise = {"kind": kind, "due": format_local_datetime(due, view.timezone, language)}
    token = quote(view.token, safe="")
    return render_page(
        "portal",
        language,
        {
            "view": "ticket",
            "helpdesk_name": config.helpdesk.name,
            "ref": view.ticket.ref,
            "subject": view.ticket.subject,
            "status": view.ticket.status,
            "promise": promise,
            "messages": [
                {
                    "mine": message.mine,
                    "in_your_name": message.in_your_name,
                    "unverified": message.unverified,
                    "from_desk": message.from_desk,
                    "author": message.author,
                    "at": format_local_short(message.at, view.timezone, language),
                    "text": message.text,
                    "cut": message.cut,
                    "files": [
                        {
                            "filename": link.filename,
                            "size": link.size,
                            # Relative to /ticket/<token>: the same path whatever the host.
                            "url": f"{token}/files/{quote(message.id, safe='')}-{link.number}"
                            if link.number is not None
                            else None,
                            "held": link.held,
                        }
                        for link in message.files
                    ],
                }
                for message in view.messages
            ],
            "older_messages": view.older_messages,
            "others": [
                {
                    "ref": other.ref,
                    "subject": other.subject,
                    "status": other.status,
                    "url": quote(other.token, safe=""),
                }
                for other in view.others
            ],
            "open": view.open_to_actions,
            "replies": view.open_to_replies,
            "action_url": token,
            "submission": view.submission,
            "notice": view.notice if view.notice in ACTIONS else None,
            "error": _error(error, action),
            "text": text,
            "files_max": config.portal.attachments_max_count,
            # One file can be no larger than the whole post the page takes, and the files
            # together are what binds (first-user run 14, #1: "4 MB each" read as per file).
            "file_max_size": min(config.limits.attachment_max_bytes, config.portal.body_max_bytes),
            "body_max_size": config.portal.body_max_bytes,
            "message_max": config.portal.message_max_chars,
            "complaint_max": config.complaints.text_max_chars,
        },
        fallback_language=config.default_language,
    )


def ask_page(
    config: Config, *, language: str, sent_to: str | None = None, error: str | None = None
) -> str:
    """The page that asks for the contact's address to mail fresh links (``sent_to``: the
    answer to a request, the same whether the address is known or not)."""
    from helpdesk.render import render_page

    return render_page(
        "portal",
        language,
        {
            "view": "ask",
            "helpdesk_name": config.helpdesk.name,
            # The page lives at /ticket: its form posts to itself.
            "action_url": "ticket",
            "sent_to": sent_to,
            "error": {"field": "email", "rule": error, "limit": None, "bytes": False}
            if error
            else None,
        },
        fallback_language=config.default_language,
    )


def refused_page(config: Config, refused: LinkRefused, *, language: str, ask_url: str) -> str:
    """Why a page link is not honoured, and where to ask for a fresh one."""
    from helpdesk.render import render_page

    return render_page(
        "portal",
        language,
        {
            "view": "refused",
            "helpdesk_name": config.helpdesk.name,
            "reason": refused.reason,
            "ask_url": ask_url,
        },
        fallback_language=config.default_language,
    )


def _error(problem: FormProblem | None, action: str) -> dict[str, Any] | None:
    if problem is None:
        return None
    limit: Any = problem.limit
    return {
        # Which form the error belongs to: its field is marked invalid, its text kept.
        "field": action if action in ("reply", "complain") else "",
        "rule": problem.rule,
        "limit": limit,
        "bytes": problem.rule in _BYTE_LIMITS,
    }


# ---------------------------------------------------------------------------- responses
def page_response(
    desk: PortalDesk,
    token: str,
    *,
    now: datetime,
    done: str | None,
    lang: str | None,
    accept_language: str | None,
) -> Response[str]:
    """GET /ticket/{token}: the ticket's page (``done``: the action just taken, from the
    redirect after a post), or the link's refusal (403). Reads only."""
    try:
        view = desk.view(token, now=now, notice=done if done in ACTIONS else None)
    except LinkRefused as refused:
        return _refused(desk.config, refused, lang, accept_language, ask_url="../ticket")
    language = _language(desk.config, view.ticket.language, lang, accept_language)
    return private_page(200, ticket_page(desk.config, view, language=language))


def action_response(
    desk: PortalDesk, token: str, post: FormPost, *, now: datetime, lang: str | None
) -> Response[str]:
    """POST /ticket/{token}: 303 to the page saying what was done; else the page again
    naming the field (4xx), the refusal (403) or the rate limit (429)."""
    accept_language = post.accept_language
    try:
        body, content_type = post.body_bytes(), post.content_type
    except MalformedInput:
        # Broken base64 is read as an empty body of no type: the page says reload.
        body, content_type = b"", ""
    try:
        action, _ = desk.perform(token, body, content_type, source_ip=post.source_ip, now=now)
    except LinkRefused as refused:
        return _refused(desk.config, refused, lang, accept_language, ask_url="../ticket")
    except PostRefused as refused:
        language = _language(desk.config, refused.view.ticket.language, lang, accept_language)
        page = ticket_page(
            desk.config,
            refused.view,
            language=language,
            error=refused.problem,
            action=refused.action,
            text=refused.text,
        )
        return private_page(status_of(refused.problem.error), page)
    except RateLimited as limited:
        view = desk.view(token, now=now)
        language = _language(desk.config, view.ticket.language, lang, accept_language)
        page = ticket_page(
            desk.config, view, language=language, error=FormProblem(limited, "too_many")
        )
        return private_page(429, page, retry_after(limited))
    # Post/redirect/get: reloading the page after it does not post again (RFC 9110
    # §15.4.4); the Location is relative to /ticket/{token} (RFC 9110 §10.2.2).
    return Response(
        status_code=303,
        headers={"Location": f"{quote(token, safe='')}?done={action}", "Cache-Control": "no-store"},
    )


def file_response(desk: PortalDesk, token: str, number: str, *, now: datetime,
                  lang: str | None, accept_language: str | None) -> Response[Any]:  # fmt: skip
    """GET /ticket/{token}/files/{number}: one file of the page's conversation, as a
    download (never shown inline: a file a customer or agent sent may be HTML)."""
    try:
        found = desk.download(token, number, now=now)
    except LinkRefused as refused:
        return _refused(desk.config, refused, lang, accept_language, ask_url="../../../ticket")
    except NotFound:
        return Response(
            status_code=404,
            content_type="text/plain; charset=utf-8",
            body="no such file on this page",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )
    return download_response(found)


def ask_response(config: Config, *, lang: str | None, accept_language: str | None) -> Response[str]:
    """GET /ticket: the page that asks for the address to mail fresh links to."""
    language = _language(config, None, lang, accept_language)
    return private_page(200, ask_page(config, language=language))


def resend_response(
    desk: PortalDesk, post: FormPost, *, base_url: str, now: datetime, lang: str | None
) -> Response[str]:
    """POST /ticket: the same page whether the address is known or not (a mail goes only to
    a known one); the page again naming the field (4xx), or the rate limit (429). The
    mailed links point at ``base_url`` (:func:`request_link_base`)."""
    language = _language(desk.config, None, lang, post.accept_language)
    try:
        text = post.text()
    except MalformedInput:
        text = ""  # the page again, asking for the address
    try:
        email = desk.resend(
            text, post.content_type, source_ip=post.source_ip, base_url=base_url, now=now
        )
    except RateLimited as limited:
        page = ask_page(desk.config, language=language, error="too_many")
        return private_page(429, page, retry_after(limited))
    except InvalidInput as invalid:
        rule = "email" if invalid.field == "email" else "failed"
        return private_page(
            status_of(invalid), ask_page(desk.config, language=language, error=rule)
        )
    return private_page(200, ask_page(desk.config, language=language, sent_to=email))


def request_link_base(
    public_url: str | None, *, domain_name: str, stage: str, forwarded_proto: str | None
) -> str:
    """Where the links of a re-sent mail point, as the page asks for them: the desk's
    ``PUBLIC_URL`` when the template gives one (the PublicUrl parameter), else where the
    request came in: API Gateway's ``requestContext.domainName`` (its own or a custom
    domain) and ``requestContext.stage``, a named stage being the first part of the path
    and ``$default`` none ("Working with stages for HTTP APIs"; payload format 2.0).

    Always https: the scheme is never taken from the client's X-Forwarded-Proto (a mailed
    link downgraded to http would carry the token in clear, attack I-2); only a loopback
    host (``helpdesk local``, plain http) keeps the ``http`` it names. The mail's side of
    the rule is :func:`helpdesk.notices.portal.link_base`: it keeps this address only when
    it is the desk's own or this machine."""
    configured = (public_url or "").strip()
    if configured:
        return configured.rstrip("/")
    loopback = urlsplit(f"//{domain_name}").hostname in LOOPBACK_HOSTS
    scheme = "http" if loopback and forwarded_proto == "http" else "https"
    prefix = "" if stage in ("", "$default") else f"/{stage}"
    return f"{scheme}://{domain_name}{prefix}"


def _refused(
    config: Config,
    refused: LinkRefused,
    lang: str | None,
    accept_language: str | None,
    *,
    ask_url: str,
) -> Response[str]:
    ticket = refused.ticket
    language = _language(config, ticket.language if ticket else None, lang, accept_language)
    return private_page(403, refused_page(config, refused, language=language, ask_url=ask_url))


__all__ = [
    "action_response",
    "ask_page",
    "ask_response",
    "file_response",
    "page_response",
    "refused_page",
    "request_link_base",
    "resend_response",
    "ticket_page",
]
