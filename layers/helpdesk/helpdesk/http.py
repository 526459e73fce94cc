"""The HTTP edge: the one place where domain results and errors become status codes,
headers and bodies, for the web form, the survey page, the self-service page and the
agents' API.

Services raise domain errors (helpdesk.errors) and return domain results; the routes'
handlers hand both to the functions here. JSON errors carry ``{"detail", "field",
"reason"}`` for bad input and ``{"detail"}`` otherwise; the survey answers with pages.
Status codes follow RFC 9110 §15 (400, 401, 403, 404, 409, 413, 415, 422) and RFC 6585 §4 (429
with Retry-After).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.event_handler import Response

from helpdesk.errors import (
    Conflict,
    Forbidden,
    HelpdeskError,
    InvalidInput,
    MalformedInput,
    NotFound,
    NotSetUp,
    RateLimited,
    StateConflict,
    TooLarge,
    Unauthenticated,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from helpdesk.config import Config
    from helpdesk.files import DownloadedFile
    from helpdesk.links import LinkRefused
    from helpdesk.services.complaints import ComplaintDesk
    from helpdesk.services.self_service import ArticleGone, SelfServiceDesk
    from helpdesk.services.surveys import SurveyDesk

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"

# The first class an error is an instance of decides its status (subclasses first).
STATUS_OF_ERROR: tuple[tuple[type[HelpdeskError], int], ...] = (
    (Unauthenticated, 401),
    (MalformedInput, 400),
    (TooLarge, 413),
    (UnsupportedMediaType, 415),
    (InvalidInput, 422),
    (Forbidden, 403),
    (NotFound, 404),
    (StateConflict, 409),
    (Conflict, 409),
    (RateLimited, 429),
    (NotSetUp, 503),
)
ANSWERED = tuple(kind for kind, _ in STATUS_OF_ERROR)
# What no header value may hold in a quoted string (RFC 9110 section 5.6.4).
_UNSAFE_IN_QUOTES = re.compile(r'[\x00-\x1f\x7f"\\]')


@dataclass(frozen=True)
class FormPost:
    """A page's form as API Gateway hands its POST over (HTTP API payload format 2.0,
    "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway"): the body (base64
    when API Gateway did not take it for text), the Content-Type the browser named, the
    languages it asks for (``Accept-Language``, for a refusal that names no ticket) and the
    address it came from (``requestContext.http.sourceIp``, for the rate limits)."""

    body: str | None
    is_base64_encoded: bool | None
    content_type: str
    accept_language: str | None = None
    source_ip: str = ""

    @classmethod
    def of(cls, event: APIGatewayProxyEventV2) -> FormPost:
        headers = event.headers
        return cls(
            event.body,
            event.is_base64_encoded,
            headers.get("content-type", ""),
            headers.get("accept-language"),
            event.request_context.http.source_ip,
        )

    def text(self) -> str:
        """The body as text; MalformedInput when it is not UTF-8 (or broken base64)."""
        from helpdesk.post_input import request_text

        return request_text(self.body, is_base64_encoded=self.is_base64_encoded)

    def body_bytes(self) -> bytes:
        """The body as the browser sent its bytes (a form with files is not text);
        MalformedInput when its base64 is broken."""
        from helpdesk.post_input import request_bytes

        return request_bytes(self.body, is_base64_encoded=self.is_base64_encoded)


def status_of(error: HelpdeskError) -> int:
    """The HTTP status that answers ``error`` (500 for an error no client caused)."""
    for kind, status in STATUS_OF_ERROR:
        if isinstance(error, kind):
            return status
    return 500


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, ensure_ascii=False),
        headers=headers or {},
    )


def error_response(
    error: HelpdeskError, explained: Mapping[str, Any] | None = None
) -> Response[str]:
    """The JSON answer to a domain error: what is wrong, and for bad input which field and
    why; ``explained`` adds keys (the form's ``message`` in its reader's language)."""
    status = status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, InvalidInput):
        body = {"detail": str(error), "field": error.field, "reason": error.reason}
        if isinstance(error, Unauthenticated):
            # A 401 carries a challenge naming the scheme (RFC 9110 section 15.5.2).
            headers = {"WWW-Authenticate": f'{error.scheme} realm="helpdesk"'}
    elif isinstance(error, RateLimited):
        body = {"detail": f"{error}; try again later"}
        headers = {"Retry-After": str(error.retry_after_seconds)}
    elif isinstance(error, NotFound):
        body = {"detail": f"no {error}"}
    elif isinstance(error, NotSetUp):
        # What is missing is the operator's business (it is logged), not the caller's.
        body = {"detail": "this is not set up on the desk yet; try again later"}
        headers = {"Retry-After": str(error.retry_after_seconds)}
    else:
        body = {"detail": str(error)}
    return json_response(status, {**body, **(explained or {})}, headers)


def json_answer(
    status: int,
    work: Callable[[], dict[str, Any]],
    *,
    explain: Callable[[HelpdeskError], Mapping[str, Any]] | None = None,
) -> Response[str]:
    """``work``'s result as JSON with ``status``, or the answer to the domain error it
    raised (with what ``explain`` adds to it); any other error is the platform's 500."""
    try:
        return json_response(status, work())
    except ANSWERED as error:
        return error_response(error, explain(error) if explain else None)


def download_response(found: DownloadedFile) -> Response[Any]:
    """A file as a download, never shown inline (a file a customer or agent sent may be
    HTML): the customer's page's and the agent API's."""
    from urllib.parse import quote

    # RFC 6266 §4.3: filename* (RFC 8187) carries any name; the plain one is ASCII only.
    # A name that came by mail may hold anything: no control character, quote or backslash
    # reaches the header (no header injection), the UTF-8 form is percent-encoded.
    ascii_name = _UNSAFE_IN_QUOTES.sub("_", found.filename.encode("ascii", "replace").decode())
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found.filename)}"
    return Response(
        status_code=200,
        content_type="application/octet-stream",
        # Bytes: powertools answers them base64-encoded (isBase64Encoded), as API Gateway
        # needs a binary body.
        body=found.data,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
        compress=False,
    )


def download_answer(work: Callable[[], DownloadedFile]) -> Response[Any]:
    """``work``'s file as a download, or the JSON answer to the domain error it raised."""
    try:
        return download_response(work())
    except ANSWERED as error:
        return error_response(error)


def html_response(status: int, html: str, headers: dict[str, str]) -> Response[str]:
    return Response(status_code=status, content_type=HTML, body=html, headers=headers)


def private_page(status: int, html: str, extra: dict[str, str] | None = None) -> Response[str]:
    """A page about one customer's ticket (the customer's page, the survey, an answer
    link): only its own inline styles and script run, by hash (web.page_headers), nothing
    loads from elsewhere, it is never framed, and no cache keeps it (no-store); its words
    follow the browser's languages when the link names none (Vary)."""
    from helpdesk.web import page_headers

    headers = {**page_headers(html), "Cache-Control": "no-store", "Vary": "Accept-Language"}
    return html_response(status, html, {**headers, **(extra or {})})


def retry_after(problem: HelpdeskError) -> dict[str, str] | None:
    """The Retry-After header of a refusal for too many requests, else none."""
    if isinstance(problem, RateLimited):
        return {"Retry-After": str(problem.retry_after_seconds)}
    return None


def form_page_response(
    config: Config,
    *,
    language: str | None,
    accept_language: str | None,
    knowledge_path: str | None = None,
) -> Response[str]:
    """The web form in the language asked for (suggesting articles from the knowledge
    bundle at ``knowledge_path``), with the headers that let only its own script and
    styles run."""
    from helpdesk.web import form_page, page_headers

    page = form_page(
        config, language=language, accept_language=accept_language, knowledge_path=knowledge_path
    )
    # The language follows Accept-Language unless ?lang= says otherwise (RFC 9110 §12.5.5).
    headers = {**page_headers(page), "Vary": "Accept-Language"}
    return html_response(200, page, headers)


def survey_page_response(
    desk: SurveyDesk,
    token: str,
    score: str | None,
    *,
    now: datetime,
    accept_language: str | None = None,
    status: int = 200,
) -> Response[str]:
    """The survey behind a score link (``status`` 200, or 400 for a post that could not be
    read), or its refusal (403)."""
    from helpdesk.links import LinkRefused
    from helpdesk.web import survey_page

    try:
        form = desk.open(token, score, now=now)
    except LinkRefused as refused:
        return refused_link_response(desk.config, "survey_refused", refused, accept_language)
    return private_page(status, survey_page(desk.config, form))


def refused_link_response(
    config: Config,
    page: Literal["survey_refused", "answer_refused"],
    refused: LinkRefused | ArticleGone,
    accept_language: str | None,
) -> Response[str]:
    """The refusal of a survey or an answer link: 403 for a forged or expired link, 404 for
    an article no longer published, in the ticket's language when the link names one, else
    in the browser's (helpdesk.web.page_language)."""
    from helpdesk.links import LinkRefused
    from helpdesk.web import link_refused_page

    status, reason = (403, refused.reason) if isinstance(refused, LinkRefused) else (404, "gone")
    html = link_refused_page(config, page, reason, refused.ticket, accept_language=accept_language)
    return private_page(status, html)


def _survey_post(
    desk: SurveyDesk,
    token: str,
    post: FormPost,
    *,
    now: datetime,
    take: Callable[[str], Response[str]],
) -> Response[str]:
    """What every form of the survey page answers before its own: ``take``'s answer to
    the posted text; the survey again for a body that is not UTF-8 form fields (400), or
    the link's refusal (403)."""
    from helpdesk.links import LinkRefused

    try:
        text = post.text()
    except MalformedInput:
        return survey_page_response(
            desk, token, None, now=now, accept_language=post.accept_language, status=400
        )
    try:
        return take(text)
    except LinkRefused as refused:
        return refused_link_response(desk.config, "survey_refused", refused, post.accept_language)


def survey_answer_response(
    desk: SurveyDesk,
    token: str,
    post: FormPost,
    *,
    now: datetime,
) -> Response[str]:
    """The thanks page for a recorded answer; else the survey again asking for a score
    (415, 422) or saying to come back later (429 with Retry-After: too many answers from
    the client or to the ticket this hour), the survey again for a body that is not UTF-8
    form fields (400), or the link's refusal (403)."""
    from helpdesk.services.surveys import AnswerNotTaken
    from helpdesk.web import survey_page, survey_thanks_page

    def answer(text: str) -> Response[str]:
        try:
            stored = desk.submit(token, text, post.content_type, source_ip=post.source_ip, now=now)
        except AnswerNotTaken as not_taken:
            page = survey_page(desk.config, not_taken.form, answer_problem=not_taken.problem)
            return private_page(status_of(not_taken.problem), page, retry_after(not_taken.problem))
        return private_page(200, survey_thanks_page(desk.config, stored))

    return _survey_post(desk, token, post, now=now, take=answer)


def survey_complaint_response(
    desk: SurveyDesk,
    complaints: ComplaintDesk,
    token: str,
    post: FormPost,
    *,
    now: datetime,
) -> Response[str]:
    """The page saying the complaint reached the team lead (and by when one answers);
    else the survey again with the complaint box saying what was wrong (413, 415, 422,
    429 with Retry-After), the survey again for a body that is not UTF-8 form fields
    (400), or the link's refusal (403)."""
    from helpdesk.services.surveys import ComplaintNotTaken
    from helpdesk.web import survey_complaint_page, survey_page

    def complain(text: str) -> Response[str]:
        try:
            stored = desk.complain(token, text, post.content_type, now=now, complaints=complaints)
        except ComplaintNotTaken as not_taken:
            page = survey_page(
                desk.config,
                not_taken.form,
                complaint_problem=not_taken.problem,
                complaint_text=not_taken.words,
            )
            return private_page(status_of(not_taken.problem), page, retry_after(not_taken.problem))
        contact = desk.repo.get_contact(stored.contact_email)
        page = survey_complaint_page(desk.config, stored, contact)
        return private_page(200, page)

    return _survey_post(desk, token, post, now=now, take=complain)


def answer_page_response(
    desk: SelfServiceDesk,
    token: str,
    *,
    ask: bool,
    now: datetime,
    accept_language: str | None = None,
    status: int = 200,
    error: bool = False,
) -> Response[str]:
    """The article behind an answer link (``status`` 200, or the 4xx of a post that was
    not the page's form), or its refusal: 403 for a forged or expired link, 404 for an
    article no longer published. Records nothing."""
    from helpdesk.links import LinkRefused
    from helpdesk.services.self_service import ArticleGone
    from helpdesk.web import answer_page

    try:
        page = desk.open(token, now=now)
    except (LinkRefused, ArticleGone) as refused:
        return refused_link_response(desk.config, "answer_refused", refused, accept_language)
    html = answer_page(desk.config, page, ask=ask or error, error=error)
    return private_page(status, html)


def answer_confirm_response(
    desk: SelfServiceDesk, token: str, post: FormPost, *, now: datetime
) -> Response[str]:
    """The thanks page for a confirmation (200), the "nothing changed" page for a ticket
    already solved or closed (409), the page again for a post that is not its form
    (400, 413, 415, 422), or the link's refusal (403, 404)."""
    from helpdesk.links import LinkRefused
    from helpdesk.services.self_service import (
        ANSWER_BODY_MAX_BYTES,
        ArticleGone,
        ConfirmationNotTaken,
    )
    from helpdesk.web import answer_page, answer_thanks_page

    def again(status: int) -> Response[str]:
        return answer_page_response(
            desk,
            token,
            ask=True,
            now=now,
            accept_language=post.accept_language,
            status=status,
            error=True,
        )

    # Bounded before it is decoded: base64 makes 4 characters of 3 bytes.
    if post.body and len(post.body) > 2 * ANSWER_BODY_MAX_BYTES:
        return again(413)
    try:
        text = post.text()
    except MalformedInput:
        return again(400)
    try:
        done = desk.confirm(token, text, post.content_type, now=now)
    except (LinkRefused, ArticleGone) as refused:
        return refused_link_response(desk.config, "answer_refused", refused, post.accept_language)
    except ConfirmationNotTaken as not_taken:
        page = answer_page(desk.config, not_taken.page, ask=True, error=True)
        return private_page(status_of(not_taken.problem), page)
    html = answer_thanks_page(desk.config, done.page, solved=done.solved)
    return private_page(200 if done.solved else 409, html)


def observed(
    page: Response[Any],
    logger: Logger,
    *,
    refusal: str,
    method: str,
    metric: str | None = None,
    done: int = 200,
    **extra: str,
) -> Response[Any]:
    """``page`` as answered, with what the operator sees of it: the one ``metric`` when the
    request did what it asked (status ``done``; only then, as most requests are page views
    that count nothing) and the ``refusal`` warning for a refused link (403)."""
    if metric is not None and page.status_code == done:
        from helpdesk.runtime import count_metric

        count_metric(metric)
    elif page.status_code == 403:
        logger.warning(refusal, extra={"method": method, **extra})
    return page
