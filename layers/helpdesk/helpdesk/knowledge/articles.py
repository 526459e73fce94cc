"""Articles as ops write them: ``<knowledge>/<lang>/<slug>.md``, YAML front matter, Markdown.

::

    ---
    title: Where is my order?          # required
    tags: [order, tracking, delivery]  # optional
    reply: true                        # optional: agents may insert it with #reply <slug>
    ---
    The body, in Markdown. A link to another article: [Returns](returns.md).

A saved reply's body may use the placeholders of :data:`PLACEHOLDERS` (``{customer_name}``
and so on, see :mod:`helpdesk.knowledge.replies`). Reading is strict and every problem is
reported with its file, line and key (``helpdesk validate``), never skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpdesk.problems import FileProblem

__all__ = [
    "Article",
    "ArticleProblem",
    "read_article",
    "read_articles",
]

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_FENCE = "---"
# [text](target.md) or [text](../zh/target.md#part): Markdown inline links to articles.
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+?\.md)(?:#[^)\s>]*)?>?\s*(?:\"[^\"]*\")?\s*\)")
_KEYS = frozenset({"title", "tags", "reply"})


@dataclass(frozen=True)
class Article:
    """One article in one language."""

    slug: str
    language: str
    title: str
    body: str  # Markdown, front matter removed
    tags: tuple[str, ...] = ()
    reply: bool = False
    # (target slug, target language, line) of each link to another article, for validation.
    links: tuple[tuple[str, str, int], ...] = field(default=(), compare=False, repr=False)
    source: str = field(default="", compare=False, repr=False)


# One thing wrong with an article file: where (file, line, key) and why.
ArticleProblem = FileProblem


def read_articles(
    folder: Path, shown: Callable[[Path], str] | None = None
) -> tuple[list[Article], list[ArticleProblem]]:
    """Every article under ``folder`` (one subfolder per language), and what is wrong;
    ``shown`` writes a file's path in the problems (default: from ``folder``'s name)."""
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    for path in _article_files(folder):
        where = shown(path) if shown else _shown(path, folder)
        article, found = read_article(path, language=path.parent.name, shown=where)
        problems += found
        if article is not None:
            articles.append(article)
    return articles, problems


def _article_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for language in sorted(p for p in folder.iterdir() if p.is_dir()):
        yield from sorted(language.glob("*.md"))


def _shown(path: Path, folder: Path) -> str:
    return f"{folder.name}/{path.relative_to(folder).as_posix()}"


def read_article(
    path: Path, *, language: str, shown: str | None = None
) -> tuple[Article | None, list[ArticleProblem]]:
    """The article in ``path``, or None and why not."""
    where = shown or str(path)
    slug = path.stem
    problems: list[ArticleProblem] = []
    if not SLUG.fullmatch(slug):
        problems.append(
            ArticleProblem(
                where,
                None,
                "",
                f"{slug!r} is not a slug: use lowercase letters, digits and"
                " hyphens (the name is the article's address and its #reply name)",
            )
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [*problems, ArticleProblem(where, None, "", f"cannot read it: {error}")]
    lines = text.splitlines()
    if not lines or lines[0].strip() != _FENCE:
        problems.append(
            ArticleProblem(
                where,
                1,
                "",
                "no front matter: the file must start with a line '---', then"
                " 'title: ...', then '---'",
            )
        )
        return None, problems
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == _FENCE), None)
    if end is None:
        problems.append(
            ArticleProblem(where, 1, "", "the front matter is never closed: add a line '---'")
        )
        return None, problems
    try:
        meta: Any = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(error, "problem", None) or str(error)
        problems.append(ArticleProblem(where, line, "", f"broken front matter: {reason}"))
        return None, problems
    if not isinstance(meta, dict):
        problems.append(
            ArticleProblem(where, 2, "", "the front matter must be keys like 'title: ...'")
        )
        return None, problems
    key_lines = _key_lines(lines[1:end])
    for key in sorted(set(map(str, meta)) - _KEYS):
        problems.append(
            ArticleProblem(
                where, key_lines.get(key), key, "unknown key: an article has title, tags, reply"
            )
        )
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(
            ArticleProblem(
                where, key_lines.get("title", 2), "title",
                "missing: every article needs a title" if title is None else "must be text",
            )
        )  # fmt: skip
    tags = meta.get("tags", [])
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        problems.append(
            ArticleProblem(where, key_lines.get("tags"), "tags", "must be a list of words")
        )
        tags = []
    reply = meta.get("reply", False)
    if not isinstance(reply, bool):
        problems.append(
            ArticleProblem(where, key_lines.get("reply"), "reply", "must be true or false")
        )
        reply = False
    body = "\n".join(lines[end + 1 :]).strip() + "\n"
    links = tuple(
        _link(target, language, end + 2 + number)
        for number, line in enumerate(lines[end + 1 :])
        for target in _LINK.findall(line)
    )
    if problems or not isinstance(title, str):
        return None, problems
    article = Article(
        slug=slug,
        language=language,
        title=title.strip(),
        body=body,
        tags=tuple(tags),
        reply=reply,
        links=links,
        source=where,
    )
    return article, problems


def _link(target: str, language: str, line: int) -> tuple[str, str, int]:
    """``returns.md`` -> (returns, <this language>); ``../zh/returns.md`` -> (returns, zh)."""
    parts = target.split("/")
    slug = parts[-1].removesuffix(".md")
    other = parts[-2] if len(parts) >= 2 and parts[-2] not in ("", ".", "..") else language
    return slug, other, line


def _key_lines(lines: list[str]) -> dict[str, int]:
    """The line in the file (from 1; the opening fence is line 1) of each top-level key."""
    found: dict[str, int] = {}
    for number, line in enumerate(lines, 2):
        match = re.match(r"([A-Za-z_][\w-]*)\s*:", line)
        if match:
            found.setdefault(match[1], number)
    return found
