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

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    "format_local_short",
    "is_utc_zone",
    "known_timezone",
    "language_words",
    "render",
    "render_page",
    "score_labels",
    "term",
    "zone_label",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"

_TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGE_FOLDER = re.compile(r"[a-z]{2,3}")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Babel's bare "en" is US English (12-hour clock). Readers of a help desk are everywhere;
# British English gives the day-month order and 24-hour clock most of them read without
# thinking. A caller who wants US English asks for "en-US".
_DEFAULT_REGION = {"en": "en_GB"}
# IANA zone names as browsers report them (Intl.DateTimeFormat().resolvedOptions().timeZone):
# "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC". The longest IANA
# name has 32 characters; anything longer, or not shaped like one, is not a zone.
MAX_TIMEZONE_LENGTH = 64
_TIMEZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){1,2}")
_BARE_TIMEZONES = frozenset({"UTC", "GMT"})
# Zones that are Coordinated Universal Time by another name: named "UTC", not a city.
_UTC_ZONES = frozenset(
    {"UTC", "GMT", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/GMT0",
     "Etc/GMT+0", "Etc/GMT-0", "Etc/Greenwich"}
)  # fmt: skip
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
    # The folder tells the "term" filter whose words to use.
    context = {**context, "language_folder": folder}
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
        folder = _folder_with_words(template, language, fallback_language)
        return _render_html(template, folder, context)
    folder = _template_language(template, ".html", language, fallback_language)
    return _environment().get_template(f"{folder}/{template}.html").render(context)


@lru_cache(maxsize=1)
def available_languages() -> frozenset[str]:
    """The languages that have a template folder, e.g. ``frozenset({"en", "ru", "zh"})``."""
    return frozenset(
        folder.name
        for folder in TEMPLATES_DIR.iterdir()
        if folder.is_dir() and _LANGUAGE_FOLDER.fullmatch(folder.name)
    )


def language_words(
    section: str, language: str, *, fallback_language: str = "en"
) -> Mapping[str, Any]:
    """The ``[section]`` of ``language``'s ``words.toml`` (else the fallback language's),
    with its ``lang``: the words that code passes on rather than a template reading them,
    such as the reply-command help lines (``[assignment] commands_help``) and the locale a
    page's script formats times in (``[form_page] intl_locale``). Everything a language says
    lives in its folder, so that a new language is one folder (templates/README.md)."""
    return _html_words(_folder_with_words(section, language, fallback_language), section)


def score_labels(language: str, *, fallback_language: str = "en") -> dict[int, str]:
    """Survey scores 1..5 and their words in ``language`` (1 is "very unsatisfied")."""
    return _words(language, fallback_language, "score_labels")


def effort_labels(language: str, *, fallback_language: str = "en") -> dict[int, str]:
    """Customer effort answers 1..5 and their words in ``language`` (1 is "very easy")."""
    return _words(language, fallback_language, "effort_labels")


def known_timezone(name: object) -> str | None:
    """``name`` when it is an IANA time zone the desk can show times in, else None.

    What a browser reports is a hint the customer never typed: a name of the wrong shape,
    too long, or unknown to the tz database is no zone (the caller keeps the request and
    shows the calendar's zone instead). Only names with an area ("Europe/Berlin") and the
    bare "UTC" and "GMT" are taken: the database's other files ("localtime", "posixrules",
    "Factory") are not places anybody lives.
    """
    if not isinstance(name, str) or not 0 < len(name) <= MAX_TIMEZONE_LENGTH:
        return None
    if name not in _BARE_TIMEZONES and _TIMEZONE_NAME.fullmatch(name) is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def format_local_datetime(instant: datetime, timezone: str, language: str) -> str:
    """``instant`` in ``timezone`` as a full date, a short time and the zone, in ``language``.

    For 2026-11-23 11:30 UTC in Europe/Berlin: "Monday, 23 November 2026, 12:30 Berlin
    time", "2026年11月23日星期一 12:30 柏林时间", "понедельник, 23 ноября 2026 г., 12:30
    (часовой пояс: Берлин)": the zone is named by its place (:func:`zone_label`), which a
    reader anywhere understands, rather than by an abbreviation ("CET") that few do.
    ``instant`` must be aware.
    """
    return _format_local(instant, timezone, language, "full")


def format_local_short(instant: datetime, timezone: str, language: str) -> str:
    """``instant`` in ``timezone`` with a medium date, a short time and the zone: "23 Nov
    2026, 09:55 Berlin time" (lists of events, where a full date would crowd the line)."""
    return _format_local(instant, timezone, language, "medium")


def _format_local(
    instant: datetime, timezone: str, language: str, width: Literal["full", "medium"]
) -> str:
    from babel.dates import format_date, format_time

    local = _local(instant, timezone)
    locale = _babel_locale(language)
    date_text = format_date(local, width, locale=locale)
    # A short time always: a person reads a promise to the minute, not the second.
    time_text = format_time(local, "short", tzinfo=local.tzinfo, locale=locale)
    # The locale decides how date and time join ("{1}, {0}" in Russian, "{1} {0}" in Chinese).
    joined = str(locale.datetime_formats[width]).replace("'", "")
    when = joined.replace("{1}", date_text).replace("{0}", time_text)
    return f"{when} {zone_label(timezone, language, at=local)}"


def is_utc_zone(timezone: str) -> bool:
    """Whether ``timezone`` is Coordinated Universal Time by one of its names."""
    return timezone in _UTC_ZONES


def zone_label(timezone: str, language: str, *, at: datetime | None = None) -> str:
    """``timezone`` named plainly in ``language``: its place and the word for time ("Berlin
    time", "北京时间", "часовой пояс: Берлин"), "UTC" for universal time, and the offset
    ("GMT-05:00") for a zone with no place (Etc/GMT+5), as of ``at`` (default: now).

    The place is the language's ``[zone.cities]`` word when it has one (Chinese readers
    know China's zone as Beijing time), else the CLDR exemplar city of the zone (Babel's
    data, by the zone's name or one of its aliases), else the zone name's last part.
    """
    from babel.dates import get_timezone_gmt

    if timezone in _UTC_ZONES:
        return "UTC"
    words = _zone_words(language)
    city = _zone_city(timezone, language, words)
    if city is None:
        local = (at or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(timezone))
        return str(get_timezone_gmt(local, width="long", locale=_babel_locale(language)))
    return str(words["named"]).replace("{city}", city)


def term(kind: str, value: object, language: str, *, fallback_language: str = "en") -> str:
    """The word ``language`` uses for the ``kind`` value ``value`` (``[terms.<kind>]`` of its
    words: a priority, a status, a category); the value itself when it has none (a
    category only this desk's config knows)."""
    text = str(value)
    for folder in (_language_folder(language), _language_folder(fallback_language)):
        terms = _catalogue(folder).get("terms", {}).get(kind)
        if terms is not None:
            return str(terms.get(text, text))
    return text


def _local(instant: datetime, timezone: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a time to show to people needs a time zone")
    return instant.astimezone(ZoneInfo(timezone))


def _zone_words(language: str) -> Mapping[str, Any]:
    for folder in (_language_folder(language), "en"):
        words = _catalogue(folder).get("zone")
        if words is not None:
            return cast("Mapping[str, Any]", words)
    return {"named": "{city} time", "cities": {}}


def _zone_city(timezone: str, language: str, words: Mapping[str, Any]) -> str | None:
    cities: Mapping[str, str] = words.get("cities", {})
    names = _zone_names(timezone)
    for name in names:
        if name in cities:
            return cities[name]
    zones = _babel_locale(language).time_zones
    for name in names:
        city = zones.get(name, {}).get("city")
        if city:
            return str(city)
    if "/" not in timezone or timezone.startswith("Etc/"):
        return None
    return timezone.rsplit("/", 1)[-1].replace("_", " ")


@lru_cache(maxsize=256)
def _zone_names(timezone: str) -> tuple[str, ...]:
    """``timezone`` and the names CLDR may file it under: the tz database renamed zones
    ("Asia/Calcutta" is now "Asia/Kolkata") and CLDR keeps some under the old name."""
    from babel.core import get_global

    aliases: Mapping[str, str] = get_global("zone_aliases")
    canonical = aliases.get(timezone, timezone)
    others = sorted(alias for alias, target in aliases.items() if target == canonical)
    return tuple(dict.fromkeys((timezone, canonical, *others)))


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


def _folder_with_words(section: str, language: str, fallback: str) -> str:
    """The folder whose ``words.toml`` has ``[section]``: the language's, else the fallback's
    (what :func:`_folder_with` is for a template file)."""
    for candidate in (_language_folder(language), _language_folder(fallback)):
        if section in _catalogue(candidate):
            return candidate
    raise LookupError(f"no [{section}] words in {language!r} nor in {fallback!r}")


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

    class Templates(jinja2.Environment):
        def join_path(self, template: str, parent: str) -> str:
            # "./_words.jinja" imported by de/alert.txt is de/_words.jinja: a language's
            # texts take the shared words of their own folder, so a copied folder needs no
            # edit of its imports (Jinja's documented hook for relative template names).
            if template.startswith("./"):
                return posixpath.join(posixpath.dirname(parent), template[2:])
            return template

    environment = Templates(
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
    environment.filters["columns"] = columns
    environment.filters["pad"] = _pad
    # A context filter: the language is the template's, not the caller's to pass.
    environment.filters["term"] = jinja2.pass_context(_term_filter)
    return environment


def columns(text: object) -> int:
    """The columns ``text`` takes on a terminal or in a fixed-width font: two for a wide or
    full-width character (CJK; Unicode Standard Annex #11, East Asian Width), none for a
    combining mark, one for the rest."""
    import unicodedata

    return sum(
        2
        if unicodedata.east_asian_width(char) in ("W", "F")
        else 0
        if unicodedata.combining(char)
        else 1
        for char in str(text)
    )


def _pad(text: object, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns (:func:`columns`): a report's names
    line up in Chinese as in English (review 20, #9)."""
    shown = str(text)
    return shown + " " * max(0, width - columns(shown))


def _one_line(value: object) -> str:
    """Collapse whitespace so that a name or subject cannot start lines of its own.

    In a text mail to an agent, a customer named "Lena\\nPriority: low" must not add a
    "Priority" line that looks like ours.
    """
    return " ".join(str(value).split())


def _term_filter(context: Mapping[str, Any], value: object, kind: str) -> str:
    """``{{ priority|term("priority") }}``: the word of the template's language for a value
    the desk stores in English (:func:`term`)."""
    return term(kind, value, str(context["language_folder"]))


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
