"""Does every configured language have its templates? (part of ``helpdesk validate``)

A language is one folder under ``helpdesk/templates/``, named with its ISO 639 code, and
English (``en/``) is the reference: a language's folder needs every file ``en/`` has,
every section and key of ``en/words.toml`` (a list with as many lines), every name that
``en/_words.jinja`` sets, and no value the English texts never receive. Without this
check a configured language with no folder, or a half-copied one, silently falls back to
English (a German customer reads English with a German date) or fails at the first mail
of a kind that is missing. docs/LANGUAGES.md walks through adding a language.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk.config import ConfigProblem, problem_at
from helpdesk.problems import FileProblem

if TYPE_CHECKING:
    import jinja2

REFERENCE = "en"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_TOML_TABLE = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?")
_TOML_KEY = re.compile(r"\s*\"?([A-Za-z0-9_-]+)\"?\s*=")
_LANGUAGE_PATH = re.compile(r"[a-z]{2,3}/")
_TOML_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'")
_TOML_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")
# What Jinja reads of a language's folder (words.toml is data, read above).
_JINJA_SUFFIXES = (".txt", ".jinja", ".html")

# One thing missing or wrong in a language's folder: where (file, line, key) and why.
TemplateProblem = FileProblem


def language_problems(
    config_path: Path, languages: Sequence[str], templates: Path | None = None
) -> list[ConfigProblem | TemplateProblem]:
    """Everything that keeps a language of ``helpdesk.languages`` (in the config file at
    ``config_path``) from being written to in its own words, in ``templates`` (default:
    the templates of the ``helpdesk`` package in use)."""
    if templates is None:
        from helpdesk.render import TEMPLATES_DIR

        templates = TEMPLATES_DIR
    reference = templates / REFERENCE
    problems: list[ConfigProblem | TemplateProblem] = []
    for index, language in enumerate(languages):
        folder = templates / language
        if not folder.is_dir():
            problems.append(
                problem_at(
                    config_path,
                    ("helpdesk", "languages", index),
                    f"no templates for {language!r}: {_shown(folder)}/ does not exist. A"
                    f" language is one folder: copy {_shown(reference)}/ to {language}/ and"
                    " translate it (docs/LANGUAGES.md), or remove the language here",
                )
            )
        elif language != REFERENCE:
            problems += folder_problems(folder, reference)
    return problems


def folder_problems(folder: Path, reference: Path) -> list[TemplateProblem]:
    """What ``folder`` (a language) lacks that ``reference`` (English) has, or breaks."""
    environment = _checking_environment(folder.parent)
    problems: list[TemplateProblem] = []
    for name in sorted(_files(reference)):
        if not (folder / name).is_file():
            problems.append(
                TemplateProblem(
                    _shown(folder / name),
                    None,
                    "",
                    f"missing: every language needs the files {reference.name}/ has; copy"
                    f" {reference.name}/{name} and translate it",
                )
            )
    if (folder / "words.toml").is_file():
        problems += _words_problems(folder / "words.toml", reference / "words.toml")
    english_variables = _variables_by_mail(environment, reference)
    for name in sorted(_files(folder)):
        if name.endswith(_JINJA_SUFFIXES) and (reference / name).is_file():
            problems += _template_problems(environment, folder, name, english_variables)
    if (folder / "_words.jinja").is_file():
        problems += _shared_words_problems(environment, folder, reference)
    return problems


# --------------------------------------------------------------------------- words.toml
def _words_problems(path: Path, reference_path: Path) -> list[TemplateProblem]:
    text = path.read_text(encoding="utf-8")
    try:
        words = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        position = _TOML_ERROR_LINE.search(str(error))
        return [
            TemplateProblem(
                _shown(path),
                int(position[1]) if position else None,
                "",
                f"not valid TOML: {error}",
            )
        ]
    english = tomllib.loads(reference_path.read_text(encoding="utf-8"))
    lines = _toml_lines(text)
    problems = []
    language = path.parent.name
    for keys in _LANGUAGE_TAGS:
        tag = _lookup(words, keys)
        if isinstance(tag, str) and tag.replace("_", "-").split("-")[0].lower() != language:
            problems.append(
                TemplateProblem(
                    _shown(path),
                    _nearest_line(lines, keys),
                    _toml_key(keys),
                    f"{tag!r} is not a tag of {language!r} (left from the copied folder?):"
                    f" write {language!r} or {language!r} with a region, like"
                    f" {language}-{language.upper()}",
                )
            )
    for keys, expected in _leaves(english):
        where = _toml_key(keys)
        line = _nearest_line(lines, keys)
        found = _lookup(words, keys)
        if found is _MISSING:
            problems.append(
                TemplateProblem(
                    _shown(path),
                    line,
                    where,
                    f"missing: {reference_path.parent.name}/words.toml has it"
                    f" ({_described(expected)}); translate it here",
                )
            )
        elif isinstance(expected, str):
            if not isinstance(found, str):
                problems.append(
                    TemplateProblem(_shown(path), line, where, "must be text, as in English")
                )
                continue
            unknown = set(_PLACEHOLDER.findall(found)) - set(_PLACEHOLDER.findall(expected))
            if unknown:
                names = ", ".join(f"{{{name}}}" for name in sorted(unknown))
                problems.append(
                    TemplateProblem(
                        _shown(path),
                        line,
                        where,
                        f"uses {names}, which the English text does not: there is no value"
                        f" for it (the English text has {_places(expected)})",
                    )
                )
        elif isinstance(expected, list) and (
            not isinstance(found, list)
            or len(found) != len(expected)
            or not all(isinstance(item, str) for item in found)
        ):
            count = len(found) if isinstance(found, list) else "no list"
            problems.append(
                TemplateProblem(
                    _shown(path),
                    line,
                    where,
                    f"must be a list of {len(expected)} lines of text, one per English line"
                    f" (found {count})",
                )
            )
    return problems


_MISSING = object()
# Keys of words.toml that name the language itself (BCP 47): the html lang attribute and
# the locale of the form's script.
_LANGUAGE_TAGS: tuple[tuple[str, ...], ...] = (("lang",), ("form_page", "intl_locale"))


def _leaves(
    table: Mapping[str, Any], keys: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*keys, key))
        else:
            yield (*keys, key), value


def _lookup(table: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = table
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _toml_key(keys: tuple[str, ...]) -> str:
    """``("assignment", "commands_help")`` as a reader finds it: ``[assignment] commands_help``."""
    if len(keys) == 1:
        return keys[0]
    return f"[{'.'.join(keys[:-1])}] {keys[-1]}"


def _toml_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of each table header and key of a words file, by its key path.

    tomllib gives no positions; a words file is tables of ``key = "text"`` lines (a list
    may run over several lines), which a line scan finds."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth = 0  # how deep inside a list that runs over lines, where no key starts
    for number, line in enumerate(text.splitlines(), 1):
        if depth == 0:
            if header := _TOML_TABLE.fullmatch(line):
                table = tuple(part.strip().strip('"') for part in header[1].split("."))
                lines.setdefault(table, number)
                continue
            if key := _TOML_KEY.match(line):
                lines.setdefault((*table, key[1]), number)
        # Brackets inside text ("[Ticket HD-1]") or a comment open no list.
        bare = _TOML_STRING.sub("", line).split("#", 1)[0]
        depth = max(depth + bare.count("[") - bare.count("]"), 0)
    return lines


def _nearest_line(lines: Mapping[tuple[str, ...], int], keys: tuple[str, ...]) -> int | None:
    """The line of ``keys``, else of its nearest table that the file has (where to add it)."""
    for end in range(len(keys), 0, -1):
        if keys[:end] in lines:
            return lines[keys[:end]]
    return None


# --------------------------------------------------------------------------- Jinja files
def _template_problems(
    environment: jinja2.Environment,
    folder: Path,
    name: str,
    english_variables: Mapping[str, frozenset[str]],
) -> list[TemplateProblem]:
    import jinja2
    from jinja2 import meta

    path = folder / name
    source = path.read_text(encoding="utf-8")
    try:
        tree = environment.parse(source, name=f"{folder.name}/{name}")
        environment.compile(source, name=f"{folder.name}/{name}")
    except jinja2.TemplateSyntaxError as error:
        return [TemplateProblem(_shown(path), error.lineno, "", f"cannot be read: {error.message}")]
    problems = [
        TemplateProblem(
            _shown(path),
            _first_line_using(source, other),
            "",
            f'takes words from {other}: write "./{other.split("/", 1)[1]}" so that they'
            f" are the words of {folder.name}/",
        )
        for other in sorted(_other_languages_used(tree, folder.name))
    ]
    known = english_variables.get(_mail_of(name), frozenset())
    unknown = meta.find_undeclared_variables(tree) - known
    return problems + [
        TemplateProblem(
            _shown(path),
            _first_line_using(source, variable),
            variable,
            f"the English templates of this mail never use {variable!r}, so no mail passes"
            " it (a typo? keep the names the English file uses)",
        )
        for variable in sorted(unknown)
    ]


def _other_languages_used(tree: jinja2.nodes.Template, language: str) -> set[str]:
    """Templates of another language's folder that ``tree`` imports or includes by name
    ("en/_words.jinja" left in a copy of en/)."""
    from jinja2 import meta

    return {
        name
        for name in meta.find_referenced_templates(tree)
        if name is not None and _LANGUAGE_PATH.match(name) and name.split("/", 1)[0] != language
    }


def _variables_by_mail(
    environment: jinja2.Environment, reference: Path
) -> dict[str, frozenset[str]]:
    """Per mail or page (``reply``, ``survey_invalid``), the variables that its English
    files and its shared markup (``_reply.html``) use: what the code passes it."""
    from jinja2 import meta

    used: dict[str, set[str]] = {}
    sources = [reference / name for name in _files(reference)]
    sources += sorted(reference.parent.glob("_*.html"))
    for path in sources:
        if not path.name.endswith(_JINJA_SUFFIXES):
            continue
        tree = environment.parse(path.read_text(encoding="utf-8"))
        mail = _mail_of(path.name.removeprefix("_") if path.parent != reference else path.name)
        used.setdefault(mail, set()).update(meta.find_undeclared_variables(tree))
    return {mail: frozenset(names) for mail, names in used.items()}


def _mail_of(name: str) -> str:
    """``reply.subject.txt``, ``reply.txt`` and ``reply.html`` all belong to ``reply``."""
    return name.split(".", 1)[0]


def _first_line_using(source: str, variable: str) -> int | None:
    pattern = re.compile(rf"\b{re.escape(variable)}\b")
    for number, line in enumerate(source.splitlines(), 1):
        if pattern.search(line):
            return number
    return None


def _shared_words_problems(
    environment: jinja2.Environment, folder: Path, reference: Path
) -> list[TemplateProblem]:
    """The names ``_words.jinja`` sets (clock names, survey labels) and, for a mapping,
    its keys: as in English, so that every template and render.py find them."""
    import jinja2

    path = folder / "_words.jinja"
    try:
        module = environment.get_template(f"{folder.name}/_words.jinja").module
    except jinja2.TemplateError:
        return []  # reported by _template_problems with its line
    english = environment.get_template(f"{reference.name}/_words.jinja").module
    problems = []
    source = path.read_text(encoding="utf-8")
    for name, expected in vars(english).items():
        if name.startswith("_"):
            continue
        found = getattr(module, name, _MISSING)
        if found is _MISSING:
            problems.append(
                TemplateProblem(
                    _shown(path),
                    None,
                    name,
                    f"missing: {reference.name}/_words.jinja sets it; translate it here",
                )
            )
        elif isinstance(expected, dict) and (
            not isinstance(found, dict) or found.keys() != expected.keys()
        ):
            keys = ", ".join(str(key) for key in expected)
            problems.append(
                TemplateProblem(
                    _shown(path),
                    _first_line_using(source, name),
                    name,
                    f"needs the keys English has ({keys}), each with its words",
                )
            )
    return problems


# --------------------------------------------------------------------------- helpers
def _files(folder: Path) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def _checking_environment(templates: Path) -> jinja2.Environment:
    """The desk's template environment (its filters, autoescape, StrictUndefined) reading
    ``templates`` instead of the package's own folder."""
    import jinja2

    from helpdesk.render import _environment

    return _environment().overlay(loader=jinja2.FileSystemLoader(templates))


def _places(text: str) -> str:
    names = sorted(set(_PLACEHOLDER.findall(text)))
    return ", ".join(f"{{{name}}}" for name in names) if names else "no values"


def _described(value: object) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)} lines"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (what a person at
    the shell types), else as it is."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)
