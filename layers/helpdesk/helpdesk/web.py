"""What the HTTP API's edges share: the request body as text, and the pages it serves (the
web form, the survey page and its answers). Bounded JSON is helpdesk.json_input: services
read their bodies with it, and nothing here is imported by a service."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from helpdesk.characters import cut_at_word
from helpdesk.errors import HelpdeskError, InvalidInput, RateLimited, TooLarge

if TYPE_CHECKING:
    from markupsafe import Markup

    from helpdesk.config import Config, Knowledge
    from helpdesk.model import Contact, Ticket
    from helpdesk.services.self_service import AnswerPage
    from helpdesk.services.surveys import SurveyForm

# The page's own inline <script> and <style> elements; their hashes are the only code and
# styles its Content-Security-Policy allows (CSP Level 3 §8.4 hash-source).
_INLINE_ELEMENT = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
# The rules each field of the form can break (helpdesk.services.form_intake.FieldRefused),
# so that the page carries the words of exactly these for its script.
_FIELD_RULES: dict[str, tuple[str, ...]] = {
    "name": ("required", "text", "too_long"),
    "email": ("required", "text", "too_long", "email"),
    "subject": ("required", "text", "too_long"),
    "category": ("text", "too_long", "choice"),
    "urgency": ("text", "too_long", "choice"),
    "order_id": ("text", "too_long", "characters"),
    "message": ("required", "text", "too_long"),
}
_PLACE = re.compile(r"\{([a-z_]+)\}")


def pick_language(config: Config, *, language: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the best served language of ``Accept-Language`` (RFC 9110
    §12.5.4 q-values), then the desk's first language."""
    served = config.helpdesk.languages
    # "zh-CN" (the html lang of a page, a browser's tag) reads zh.
    primary = (language or "").replace("_", "-").split("-", 1)[0].strip().lower()
    if primary in served:
        return primary
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.split("-", 1)[0].lower()
        if primary in served and quality > 0:
            ranked.append((quality, primary))
    if ranked:
        return max(ranked, key=lambda item: item[0])[1]
    return config.default_language


def page_language(
    config: Config, ticket_language: str | None, *, lang: str | None, accept_language: str | None
) -> str:
    """The language of a customer's page about a ticket (the ticket's page, a survey, an
    answer link, and each one's refusal): the ticket's own when the desk serves it, else
    ``?lang=``, else the browser's ``Accept-Language``, else the desk's first language. So
    a refused link that names no ticket (forged, altered) speaks as its reader's browser
    asks."""
    return pick_language(config, language=ticket_language or lang, accept_language=accept_language)


def form_page(
    config: Config,
    *,
    language: str | None,
    accept_language: str | None,
    knowledge_path: str | None = None,
) -> str:
    """The localized, accessible web form.

    Its script posts JSON to ``tickets``, relative to the page, so the form works behind
    any stage or path prefix of the API. With the knowledge bundle at ``knowledge_path``,
    the page carries its language's search data and suggests articles as the customer
    types the subject (:func:`form_suggestions`); with ``knowledge.help_centre_url`` it
    links to the help centre and the suggestions to their pages.
    """
    from helpdesk.model import EMAIL_MAX, PRIORITIES
    from helpdesk.render import language_words, render_page
    from helpdesk.services.form_intake import (
        FORM_CATEGORIES,
        NAME_MAX,
        ORDER_ID_MAX,
        ORDER_ID_RULE,
        SUBJECT_MAX,
    )

    chosen = pick_language(config, language=language, accept_language=accept_language)
    return render_page(
        "form_page",
        chosen,
        {
            "helpdesk_name": config.helpdesk.name,
            "helpdesk_address": config.helpdesk.address,
            "language": chosen,
            # The page's script formats the promised time with Intl, in the reader's own
            # zone and in the locale the language's words name (en-GB: day-month, 24-hour).
            "intl_locale": language_words(
                "form_page", chosen, fallback_language=config.default_language
            )["intl_locale"],
            "languages": [
                {"code": code, "name": language_name(code)} for code in config.helpdesk.languages
            ],
            "action_url": "tickets",
            "categories": list(FORM_CATEGORIES),
            "urgencies": list(PRIORITIES),
            "default_urgency": "normal",
            "name_max": NAME_MAX,
            "email_max": EMAIL_MAX,
            "subject_max": SUBJECT_MAX,
            "order_id_max": ORDER_ID_MAX,
            "order_id_pattern": ORDER_ID_RULE.html_pattern(),
            "message_max": config.limits.form_message_max_chars,
            "field_errors": form_field_errors(config, chosen),
            "help_centre_url": config.knowledge.help_centre_page(chosen) or "",
            "suggestions": _suggestions_block(config, knowledge_path, chosen),
        },
        fallback_language=config.default_language,
    )


def _suggestions_block(config: Config, knowledge_path: str | None, language: str) -> Any:
    if not knowledge_path:
        return None
    return _cached_block(config.knowledge, knowledge_path, language)


@lru_cache(maxsize=8)
def _cached_block(knowledge: Knowledge, knowledge_path: str, language: str) -> Markup | None:
    """The page's data block, made once per container and language: the same for every
    request (the config and the bundle change only with a deployment)."""
    suggestions = form_suggestions(knowledge, knowledge_path, language)
    return json_data_block(suggestions) if suggestions else None


# A suggestion's summary: the opening of its article, as plain text, cut at a word.
SUMMARY_MAX_CHARS = 200
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_MARKS = re.compile(r"[*_`>#|]+")


def form_suggestions(
    knowledge: Knowledge, knowledge_path: str, language: str
) -> dict[str, Any] | None:
    """What the form page's script suggests from as the customer types the subject: the
    help centre's search data of ``language`` (the same index and ranking,
    helpdesk.knowledge.index.search_layer), each article with a summary and, when a help
    centre is configured, the address of its page; None when the language has no published
    article."""
    layer = _search_layer(knowledge_path, language)
    if layer is None:
        return None
    articles = [
        article | {"url": knowledge.help_centre_page(language, article["slug"]) or ""}
        for article in layer["articles"]
    ]
    return layer | {"articles": articles}


def json_data_block(value: Any) -> Markup:
    """``value`` as JSON for a ``<script type="application/json">`` element: ``<``, ``>`` and
    ``&`` escaped, so no text in it can close the element or open a comment (HTML Living
    Standard, "Restrictions for contents of script elements"); other characters as they are,
    which keeps Chinese and Russian at a third of their \\u-escaped size."""
    import json

    from markupsafe import Markup

    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for character, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(character, escaped)
    return Markup(text)  # noqa: S704 - JSON with every markup character escaped above


@lru_cache(maxsize=8)
def _search_layer(knowledge_path: str, language: str) -> dict[str, Any] | None:
    """The search data of ``language`` with each article's summary, read from the bundle
    once per container and language (about 10 ms: a JSON parse, no tokenising)."""
    import json
    from pathlib import Path

    from helpdesk.knowledge.index import search_layer

    try:
        bundle = json.loads(Path(knowledge_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None  # no articles written yet: a form without suggestions
    data = bundle["languages"].get(language)
    if data is None:
        return None
    layer = search_layer(data)
    if not layer["articles"]:
        return None
    bodies = {article["slug"]: article["body"] for article in data["articles"]}
    layer["articles"] = [
        article | {"summary": _summary(bodies[article["slug"]])} for article in layer["articles"]
    ]
    return layer


_TABLE_ROW = re.compile(r"\s*\|")
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+")


def _summary(markdown: str) -> str:
    """The article's first paragraph of prose as plain text, at most SUMMARY_MAX_CHARS long:
    never a table or a list, and a paragraph that leads into a list ("... with:") goes on
    with its items (first-user run 16, #8: a table read "Destination Standard Express ---
    --- ---", a lead-in stopped at its colon)."""
    blocks = [block.strip() for block in markdown.strip().split("\n\n") if block.strip()]

    def is_a(row: re.Pattern[str], block: str) -> bool:
        # Each line a row, or the indented rest of the row above (a list item that wraps).
        first, *rest = block.splitlines()
        return bool(row.match(first)) and all(
            row.match(line) or line.startswith((" ", "\t")) for line in rest
        )

    prose = [
        index
        for index, block in enumerate(blocks)
        if not is_a(_TABLE_ROW, block) and not is_a(_LIST_ITEM, block)
    ]
    if not prose:
        return ""
    paragraph = blocks[prose[0]]
    following = blocks[prose[0] + 1] if prose[0] + 1 < len(blocks) else ""
    if paragraph.endswith((":", "：")) and following and is_a(_LIST_ITEM, following):
        items: list[str] = []
        for line in following.splitlines():
            if _LIST_ITEM.match(line):
                items.append(_LIST_ITEM.sub("", line, count=1).strip())
            else:  # the indented rest of the item above (review 21, #12)
                items[-1] += " " + line.strip()
        items = [item.rstrip(",;.，；。") for item in items]
        # Chinese goes on with its own full-width marks.
        wide = paragraph.endswith("：")
        paragraph += "；".join(items) + "。" if wide else f" {'; '.join(items)}."
    text = " ".join(_MARKDOWN_MARKS.sub("", _MARKDOWN_LINK.sub(r"\1", paragraph)).split())
    return cut_at_word(text, SUMMARY_MAX_CHARS)


def form_field_errors(config: Config, language: str) -> dict[str, dict[str, str]]:
    """What the form says next to a field that breaks a rule, in ``language``: field ->
    rule -> text, each naming the field by its label (and its limit where it has one).

    One set of words for both sides: the page carries them for its script's own checks,
    and the route answers a refused submission with the same text.
    """
    from helpdesk.model import EMAIL_MAX
    from helpdesk.render import language_words
    from helpdesk.services.form_intake import NAME_MAX, ORDER_ID_MAX, SUBJECT_MAX

    words = language_words("form_page", language, fallback_language=config.default_language)
    limits = {
        "name": NAME_MAX,
        "email": EMAIL_MAX,
        "subject": SUBJECT_MAX,
        "category": 64,
        "urgency": 16,
        "order_id": ORDER_ID_MAX,
        "message": config.limits.form_message_max_chars,
    }
    return {
        field: {
            rule: _filled(words["errors"][rule], field=words[field], limit=limits[field])
            for rule in rules
        }
        for field, rules in _FIELD_RULES.items()
    }


def form_refusal(
    config: Config,
    error: HelpdeskError,
    *,
    body: str | None,
    is_base64_encoded: bool | None,
    accept_language: str | None,
) -> dict[str, str]:
    """``{"message": ...}``: what the form page shows for a refused submission, in the
    page's language (the form's ``language`` field, else Accept-Language), naming the
    field when one is at fault. The JSON answer keeps its English ``detail`` and its
    ``field`` and ``reason`` for other clients; this is added to it."""
    from helpdesk.render import language_words
    from helpdesk.services.form_intake import FieldRefused

    language = pick_language(
        config,
        language=_posted_language(config, body, is_base64_encoded=is_base64_encoded),
        accept_language=accept_language,
    )
    words = language_words("form_page", language, fallback_language=config.default_language)
    if isinstance(error, RateLimited):
        return {"message": words["too_many"]}
    if not isinstance(error, InvalidInput):
        return {"message": words["failed"]}
    by_rule = form_field_errors(config, language).get(error.field, {})
    if isinstance(error, TooLarge):
        return {"message": by_rule.get("too_long", words["too_large"])}
    if isinstance(error, FieldRefused) and error.rule == "reload":
        return {"message": words["errors"]["reload"]}
    if isinstance(error, FieldRefused) and error.rule in by_rule:
        return {"message": by_rule[error.rule]}
    # The body itself (not JSON, not an object, not JSON at all): the page did not send it.
    return {"message": words["unsupported"]}


def _posted_language(config: Config, body: str | None, *, is_base64_encoded: bool | None) -> str:
    """The ``language`` field of a form post, or "" when the body cannot tell."""
    from helpdesk.json_input import json_body
    from helpdesk.post_input import request_text

    try:
        data = json_body(
            request_text(body, is_base64_encoded=is_base64_encoded),
            max_bytes=config.limits.form_body_max_bytes,
        )
    except InvalidInput:
        return ""
    language = data.get("language") if isinstance(data, dict) else None
    return language if isinstance(language, str) else ""


def _filled(words: str, **values: object) -> str:
    """``words`` with each ``{name}`` replaced by ``values[name]`` (plain text: the page's
    script shows it with textContent, and autoescaping escapes it in an attribute)."""
    return _PLACE.sub(lambda place: str(values[place[1]]), words)


@lru_cache(maxsize=16)
def language_name(code: str) -> str:
    """A language's name in itself ("English", "中文", "русский"), for a language switch."""
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(code).get_display_name(code) or code)
    except (UnknownLocaleError, ValueError):
        return code


def page_headers(html: str) -> dict[str, str]:
    """Security headers for a rendered page: a Content-Security-Policy that allows only the
    page's own inline script and styles (by hash), requests to its own origin and nothing
    from elsewhere; no framing, no sniffing, no referrer.

    The page templates write their ``<script>`` and ``<style>`` elements without attributes,
    which is what is hashed here.
    """
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for element, content in _INLINE_ELEMENT.findall(html):
        digest = base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode()
        hashes[element].append(f"'sha256-{digest}'")
    policy = {
        "default-src": "'none'",
        "script-src": " ".join(hashes["script"]) or "'none'",
        "style-src": " ".join(hashes["style"]) or "'none'",
        "connect-src": "'self'",
        "img-src": "'self' data:",
        "form-action": "'self'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }
    return {
        "Content-Security-Policy": "; ".join(f"{k} {v}" for k, v in policy.items()),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


# ---------------------------------------------------------------------------- survey pages


def _ticket_language(config: Config, ticket: Ticket | None) -> str:
    """The ticket's language if the desk serves it, else the desk's first language."""
    language = ticket.language if ticket is not None else ""
    return language if language in config.helpdesk.languages else config.default_language


def survey_page(
    config: Config,
    form: SurveyForm,
    *,
    answer_problem: HelpdeskError | None = None,
    complaint_problem: HelpdeskError | None = None,
    complaint_text: str = "",
) -> str:
    """The survey of one ticket, ``form.score`` pre-selected; with ``answer_problem`` the
    localized line that says what was wrong with the posted answer: too many answers this
    hour (:class:`RateLimited`), else the line that asks for a score (the form's only
    required answer). Below it the box that tells the team lead (helpdesk.services.
    complaints), with the line that says what was wrong with ``complaint_problem`` and the
    words ``complaint_text`` kept."""
    from helpdesk.render import language_words, render_page, score_labels

    language = _ticket_language(config, form.ticket)
    error = None
    if isinstance(answer_problem, RateLimited):
        words = language_words("survey_page", language, fallback_language=config.default_language)
        error = str(words["error_rate_limited"])
    elif answer_problem is not None:
        error = render_page(
            "survey_invalid",
            language,
            {"ref": form.ticket.ref},
            fallback_language=config.default_language,
        ).strip()
    labels = score_labels(language, fallback_language=config.default_language)
    complaint_words = language_words(
        "survey_complaint", language, fallback_language=config.default_language
    )
    return render_page(
        "survey_page",
        language,
        {
            "ref": form.ticket.ref,
            "score": form.score,
            # Relative: the page lives at /survey/<token>, so the form posts back to the
            # same path whatever host or stage the API is served under.
            "action_url": form.token,
            "scores": [{"score": s, "label": labels[s]} for s in range(1, 6)],
            "message": None,
            "error": error,
            "complaint": {
                "words": complaint_words,
                # Relative, as the survey's own: /survey/<token>/complaint.
                "action_url": f"{form.token}/complaint",
                "max_chars": config.complaints.text_max_chars,
                "error": _complaint_error(complaint_words, complaint_problem, config),
                "text": complaint_text,
            },
        },
        fallback_language=config.default_language,
    )


def _complaint_error(
    words: Mapping[str, Any], problem: HelpdeskError | None, config: Config
) -> str | None:
    """What the complaint box says about ``problem``, in the page's words."""
    if problem is None:
        return None
    if isinstance(problem, RateLimited):
        return str(words["error_rate_limited"])
    if isinstance(problem, TooLarge) and problem.field == "complaint":
        return str(words["error_too_long"]).format(limit=config.complaints.text_max_chars)
    if isinstance(problem, InvalidInput) and problem.field == "complaint":
        return str(words["error_required"])
    return str(words["error_reload"])


def survey_complaint_page(config: Config, ticket: Ticket, contact: Contact | None) -> str:
    """The page after a complaint was taken: it reached the team lead, who answers by the
    complaint clock's due time, in the customer's zone and language."""
    from helpdesk.notices.audience import customer_timezone, ticket_timezone
    from helpdesk.render import format_local_datetime, render_page
    from helpdesk.sla import COMPLAINT

    language = _ticket_language(config, ticket)
    clock = ticket.sla.clocks.get(COMPLAINT) if ticket.sla else None
    due = None
    if clock is not None and clock.due is not None and not clock.is_finished:
        zone = customer_timezone(contact, ticket_timezone(ticket.policy, config))
        due = format_local_datetime(clock.due, zone, language)
    return render_page(
        "survey_complaint",
        language,
        {"ref": ticket.ref, "due": due, "helpdesk_name": config.helpdesk.name},
        fallback_language=config.default_language,
    )


def survey_thanks_page(config: Config, ticket: Ticket) -> str:
    """The page after an answer was recorded."""
    from helpdesk.render import render_page

    return render_page(
        "survey_thanks",
        _ticket_language(config, ticket),
        {"ref": ticket.ref, "helpdesk_name": config.helpdesk.name},
        fallback_language=config.default_language,
    )


# ---------------------------------------------------------------------------- self-service pages


def answer_page(config: Config, page: AnswerPage, *, ask: bool, error: bool = False) -> str:
    """A suggested article in its ticket's language, with the "this answered my question"
    button while the ticket is open (``ask``: the button comes first)."""
    from markupsafe import Markup

    from helpdesk.knowledge.markdown import article_html
    from helpdesk.render import render_page

    # The page has no other article to link to: a link between articles stays its text.
    body = article_html(page.article.body, article_link=lambda *_: None)
    return render_page(
        "answer_page",
        _ticket_language(config, page.ticket),
        {
            "ref": page.ticket.ref,
            "title": page.article.title,
            "body": Markup(body),  # noqa: S704 - no raw HTML, cleaned by nh3 (article_html)
            # Relative: the page lives at /answer/<token> under any host or stage.
            "action_url": page.token,
            "open": page.open,
            "status": page.ticket.status,
            "ask": ask,
            "error": error,
            "helpdesk_name": config.helpdesk.name,
        },
        fallback_language=config.default_language,
    )


def answer_thanks_page(config: Config, page: AnswerPage, *, solved: bool) -> str:
    """The page after a confirmation: solved now, or already solved or closed before."""
    from helpdesk.render import render_page

    return render_page(
        "answer_thanks",
        _ticket_language(config, page.ticket),
        {
            "ref": page.ticket.ref,
            "article": page.article.title,
            "solved": solved,
            "status": page.ticket.status,
            "helpdesk_name": config.helpdesk.name,
        },
        fallback_language=config.default_language,
    )


def link_refused_page(
    config: Config,
    page: Literal["survey_refused", "answer_refused"],
    reason: str,
    ticket: Ticket | None,
    *,
    accept_language: str | None,
) -> str:
    """Why a survey link or an answer link is not honoured (``reason``: expired, forged,
    malformed, or gone for an article no longer published), in its ticket's language when
    it names one, else in the language the browser asks for (:func:`page_language`)."""
    from helpdesk.render import render_page

    return render_page(
        page,
        page_language(
            config, ticket.language if ticket else None, lang=None, accept_language=accept_language
        ),
        {
            "reason": reason,
            "ref": ticket.ref if ticket else None,
            "helpdesk_name": config.helpdesk.name,
        },
        fallback_language=config.default_language,
    )
