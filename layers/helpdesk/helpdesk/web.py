"""Pages served by the HTTP API (the web form)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk.config import Config


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
    """The localized, accessible web form."""
    from helpdesk.render import render_page

    chosen = pick_language(config, language=language, accept_language=accept_language)
    return render_page(
        "form_page",
        chosen,
        {
            "helpdesk_name": config.helpdesk.name,
            "language": chosen,
            "languages": list(config.helpdesk.languages),
            "action_url": "tickets",
            "message_max": config.limits.form_message_max_chars,
        },
    )
