"""Localized mail and page texts: Jinja2 templates per language, dates and durations by Babel.

A mail is ``<language>/<name>.subject.txt`` and ``<language>/<name>.txt`` (plain text is
prose, written per language) and an HTML part. HTML exists once: ``_<name>.html`` holds the
markup of a mail or web page for every language and takes its words from the ``[<name>]``
section of ``<language>/words.toml``, where ``{value}`` marks the place of a value, so a
translator never reads markup. Words shared by several templates of a language (names of
SLA clocks, survey labels) are in that folder's ``_words.jinja``. HTML is always autoescaped;
every template runs with ``StrictUndefined`` so a view model missing a variable fails
loudly instead of sending a blank. templates/README.md says how to add a language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import jinja2
    from babel import Locale
    from markupsafe import Markup

__all__ = [
    "RenderedMail",
    "available_languages",
    "effort_labels",
    "format_duration_words",
    "format_local_datetime",
    "page_words",
    "render",
    "render_page",
    "score_labels",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"

_TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGE_FOLDER = re.compile(r"[a-z]{2,3}")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Babel's bare "en" is US English (12-hour clock). Readers of a help desk are everywhere;
# British English gives the day-month order and 24-hour clock most of them read without
# thinking. A caller who wants US English asks for "en-US".
_DEFAULT_REGION = {"en": "en_GB"}
_DURATION_UNITS: tuple[tuple[Literal["day", "hour", "minute"], int], ...] = (
    ("day", 86_400),
    ("hour", 3_600),
    ("minute", 60),
)


@dataclass(frozen=True)
class RenderedMail:
    """A rendered mail: a one-line subject, the text/plain body and the text/html body."""

    subject: str
    text: str
    html: str


def render(
    template: str,
    language: str,
    context: Mapping[str, Any],
    *,
    fallback_language: str = "en",
) -> RenderedMail:
    """Render the mail ``template`` in ``language`` (or ``fallback_language``) with ``context``.

    ``language`` may carry a region or script ("zh-CN", "ru_RU"); a language without
    templates falls back. Raises ``jinja2.UndefinedError`` when ``context`` lacks a
    variable the template uses and LookupError when neither language has the template.
    """
    folder = _template_language(template, ".subject.txt", language, fallback_language)
    environment = _environment()
    subject = environment.get_template(f"{folder}/{template}.subject.txt").render(context)
    text = environment.get_template(f"{folder}/{template}.txt").render(context)
    html = _render_html(template, folder, context)
    # A subject is one header line whatever the template or the data did with whitespace.
    return RenderedMail(subject=" ".join(subject.split()), text=_tidy_text(text), html=html)


def render_page(
    template: str,
    language: str,
    context: Mapping[str, Any],
    *,
    fallback_language: str = "en",
) -> str:
    """Render the web page ``template`` to an HTML string: ``_<template>.html`` with the
    language's words, or, for a page that is words alone, ``<language>/<template>.html``."""
    if _TEMPLATE_NAME.fullmatch(template) is None:
        raise ValueError(f"{template!r} is not a template name")
    if f"_{template}.html" in _template_names():
        for candidate in (_language_folder(language), _language_folder(fallback_language)):
            if template in _catalogue(candidate):
                return _render_html(template, candidate, context)
        raise LookupError(f"no words for {template!r} in {language!r} nor in {fallback_language!r}")
    folder = _template_language(template, ".html", language, fallback_language)
    return _environment().get_template(f"{folder}/{template}.html").render(context)


def page_words(template: str, language: str, *, fallback_language: str = "en") -> Mapping[str, Any]:
    """The words of the page ``template`` in ``language`` (else ``fallback_language``): its
    ``[template]`` section of words.toml, for what a page's route says outside its markup
    (the form's refusals, in the JSON its script shows)."""
    for candidate in (_language_folder(language), _language_folder(fallback_language)):
        if template in _catalogue(candidate):
            return _html_words(candidate, template)
    raise LookupError(f"no words for {template!r} in {language!r} nor in {fallback_language!r}")


@lru_cache(maxsize=1)
def available_languages() -> frozenset[str]:
    """The languages that have a template folder, e.g. ``frozenset({"en", "ru", "zh"})``."""
    return frozenset(
        folder.name
        for folder in TEMPLATES_DIR.iterdir()
        if folder.is_dir() and _LANGUAGE_FOLDER.fullmatch(folder.name)
    )


def score_labels(language: str, *, fallback_language: str = "en") -> dict[int, str]:
    """Survey scores 1..5 and their words in ``language`` (1 is "very unsatisfied")."""
    return _words(language, fallback_language, "score_labels")


def effort_labels(language: str, *, fallback_language: str = "en") -> dict[int, str]:
    """Customer effort answers 1..5 and their words in ``language`` (1 is "very easy")."""
    return _words(language, fallback_language, "effort_labels")


def format_local_datetime(instant: datetime, timezone: str, language: str) -> str:
    """``instant`` in ``timezone`` as a full date, a short time and the zone, in ``language``.

    For 2026-11-23 11:30 UTC in Europe/Berlin: "Monday, 23 November 2026, 12:30 CET",
    "2026年11月23日星期一 12:30 CET", "понедельник, 23 ноября 2026 г., 12:30 CET". Zones
    without a letter abbreviation show their offset ("GMT+04:00"). ``instant`` must be aware.
    """
    from babel.dates import format_date, format_time, get_timezone_gmt

    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a time to show to people needs a time zone")
    locale = _babel_locale(language)
    local = instant.astimezone(ZoneInfo(timezone))
    zone_name = local.tzname() or ""
    if not zone_name.isalpha():
        # tzdata writes "+04" where a zone has no abbreviation in use; CLDR's GMT format
        # is what each locale's readers expect instead.
        zone_name = get_timezone_gmt(local, width="long", locale=locale)
    date_text = format_date(local, "full", locale=locale)
    time_text = format_time(local, "short", tzinfo=local.tzinfo, locale=locale)
    # The locale decides how date and time join ("{1}, {0}" in Russian, "{1} {0}" in Chinese).
    joined = str(locale.datetime_formats["full"]).replace("'", "")
    return f"{joined.replace('{1}', date_text).replace('{0}', time_text)} {zone_name}"


def format_duration_words(td: timedelta, language: str) -> str:
    """``td`` in words, to the minute: "4 hours", "1 hour, 30 minutes", "4小时", "4 часа".

    Each unit is exact: Babel's ``format_timedelta`` alone rounds 1h30m up to "2 hours",
    which would make an SLA look longer than it is. Negative durations raise ValueError.
    """
    from babel.dates import format_timedelta
    from babel.lists import format_list

    if td < timedelta(0):
        raise ValueError(f"{td} is negative; say 'overdue by' with a positive duration")
    locale = _babel_locale(language)
    remaining = round(td.total_seconds() / 60) * 60
    parts = []
    for unit, size in _DURATION_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            # granularity plus an infinite threshold pins Babel to exactly this unit.
            parts.append(
                format_timedelta(
                    timedelta(seconds=count * size),
                    granularity=unit,
                    threshold=float("inf"),
                    locale=locale,
                )
            )
    if not parts:
        return str(
            format_timedelta(
                timedelta(0), granularity="minute", threshold=float("inf"), locale=locale
            )
        )
    return str(format_list(parts, style="unit", locale=locale))


def _render_html(template: str, folder: str, context: Mapping[str, Any]) -> str:
    """``_<template>.html``, the one markup for every language, with ``folder``'s words."""
    return (
        _environment()
        .get_template(f"_{template}.html")
        .render({**context, "words": _html_words(folder, template), "language_folder": folder})
    )


@lru_cache(maxsize=128)
def _html_words(folder: str, template: str) -> Mapping[str, Any]:
    """The ``[template]`` section of ``folder``'s words, with its ``lang`` (the html tag)."""
    catalogue = _catalogue(folder)
    if template not in catalogue:
        raise LookupError(f"{folder}/words.toml has no [{template}] section")
    return MappingProxyType({"lang": catalogue["lang"], **catalogue[template]})


@lru_cache(maxsize=16)
def _catalogue(folder: str) -> Mapping[str, Any]:
    """The words of ``folder``'s HTML mails and pages (``<folder>/words.toml``), or none."""
    import tomllib

    path = TEMPLATES_DIR / folder / "words.toml"
    if not _LANGUAGE_FOLDER.fullmatch(folder) or not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _template_language(template: str, suffix: str, language: str, fallback: str) -> str:
    if _TEMPLATE_NAME.fullmatch(template) is None:
        raise ValueError(f"{template!r} is not a template name")
    return _folder_with(f"{template}{suffix}", language, fallback)


def _folder_with(filename: str, language: str, fallback: str) -> str:
    names = _template_names()
    for candidate in (_language_folder(language), _language_folder(fallback)):
        if f"{candidate}/{filename}" in names:
            return candidate
    raise LookupError(f"no template {filename!r} in {language!r} nor in {fallback!r}")


def _language_folder(language: str) -> str:
    """Map "zh-Hans-CN", "ru_RU", "EN" to "zh", "ru", "en": templates exist per language."""
    return language.replace("_", "-").split("-", 1)[0].strip().lower()


def _words(language: str, fallback: str, name: str) -> dict[int, str]:
    folder = _folder_with("_words.jinja", language, fallback)
    module = _environment().get_template(f"{folder}/_words.jinja").module
    words: Mapping[int, str] = getattr(module, name)
    return dict(words)


def _tidy_text(text: str) -> str:
    """Trailing spaces off every line except the RFC 3676 §4.3 signature separator "-- "."""
    lines = [line if line == "-- " else line.rstrip() for line in text.strip("\n").split("\n")]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def _template_names() -> frozenset[str]:
    return frozenset(_environment().list_templates())


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # The templates ship with the code and never change under a running process: no
        # stat of every template in a mail's chain on every render.
        auto_reload=False,
    )
    environment.filters["oneline"] = _one_line
    environment.filters["quoted"] = _quoted
    environment.filters["filesize"] = _file_size
    environment.filters["fill"] = _fill
    return environment


def _one_line(value: object) -> str:
    """Collapse whitespace so that a name or subject cannot start lines of its own.

    In a text mail to an agent, a customer named "Lena\\nPriority: low" must not add a
    "Priority" line that looks like ours.
    """
    return " ".join(str(value).split())


def _quoted(value: object) -> str:
    """Prefix every line with "> " (RFC 3676 §4.5) so quoted user text has a visible edge."""
    return "\n".join(f"> {line}".rstrip() for line in str(value).splitlines()) or ">"


def _fill(words: str, **values: object) -> Markup:
    """HTML of ``words`` with each ``{name}`` in it replaced by ``values[name]``, escaped.

    The shared markup of a mail or page passes the values (already wrapped in ``<strong>``
    where it emphasises them); the language's words say where they go, so that a
    translation keeps its own word order and never holds markup. A value that is already
    Markup stays as it is; everything else, the words included, is escaped. A name the
    words use and the markup does not pass is an error, as an undefined variable is.
    """
    from markupsafe import Markup, escape

    texts, names = _words_and_places(words)
    html = [texts[0]]
    for name, text in zip(names, texts[1:], strict=True):
        if name not in values:
            raise KeyError(f"the words {words!r} use {{{name}}}, which the template does not pass")
        html += [escape(values[name]), text]
    # Every piece is escaped above (the texts once, when cut): joined as they are.
    return Markup("".join(html))  # noqa: S704


@lru_cache(maxsize=2048)
def _words_and_places(words: str) -> tuple[tuple[Markup, ...], tuple[str, ...]]:
    """``words`` cut at its placeholders: the escaped texts around them, and their names.

    A translation is the same string at every render, so it is cut and escaped once.
    """
    from markupsafe import escape

    # split() with its one group alternates text and placeholder names: text, name, text...
    pieces = _PLACEHOLDER.split(words)
    return tuple(escape(text) for text in pieces[0::2]), tuple(pieces[1::2])


def _file_size(size: object, language: str) -> str:
    """A byte count in the largest fitting unit, in ``language`` ("1.2 MB", "1,2 МБ")."""
    from babel.units import format_unit

    if not isinstance(size, int):
        return str(size)
    locale = _babel_locale(language)
    for unit, factor in (("megabyte", 1_000_000), ("kilobyte", 1_000)):
        if size >= factor:
            return str(
                format_unit(
                    round(size / factor, 1), f"digital-{unit}", length="short", locale=locale
                )
            )
    return str(format_unit(size, "digital-byte", length="long", locale=locale))


@lru_cache(maxsize=32)
def _babel_locale(language: str) -> Locale:
    from babel import Locale, UnknownLocaleError

    tag = language.replace("-", "_").strip()
    tag = _DEFAULT_REGION.get(tag.lower(), tag)
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(_DEFAULT_REGION["en"])
