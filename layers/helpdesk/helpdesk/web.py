"""Pages served by the HTTP API (the web form)."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk.config import Config

# The page's own inline <script> and <style> elements; their hashes are the only code and
# styles its Content-Security-Policy allows (CSP Level 3 §8.4 hash-source).
_INLINE_ELEMENT = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
# The page's script formats the promised time with Intl, in the reader's own time zone and
# in these locales (British English: day-month order and a 24-hour clock, as in the mails).
_INTL_LOCALES = {"en": "en-GB", "zh": "zh-CN", "ru": "ru-RU"}


def pick_language(config: Config, *, language: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the best served language of ``Accept-Language`` (RFC 9110
    §12.5.4 q-values), then the desk's first language."""
    served = config.helpdesk.languages
    if language and language.lower() in served:
        return language.lower()
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


def form_page(config: Config, *, language: str | None, accept_language: str | None) -> str:
    """The localized, accessible web form.

    Its script posts JSON to ``tickets``, relative to the page, so the form works behind
    any stage or path prefix of the API.
    """
    from helpdesk.model import PRIORITIES
    from helpdesk.render import render_page
    from helpdesk.services.form_intake import (
        EMAIL_MAX,
        FORM_CATEGORIES,
        NAME_MAX,
        ORDER_ID_MAX,
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
            "intl_locale": _INTL_LOCALES.get(chosen, chosen),
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
            "message_max": config.limits.form_message_max_chars,
        },
        fallback_language=config.default_language,
    )


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
