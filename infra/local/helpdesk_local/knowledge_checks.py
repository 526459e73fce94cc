"""Are the knowledge base's articles fit to ship? (part of ``helpdesk validate``)

Every problem names the file, the line and the key: a missing title, broken front matter,
a saved reply that a configured language lacks (``#reply <slug>`` would fail for a
customer of that language), a link to an article that does not exist in that language,
and a placeholder that no ticket fills. docs/KNOWLEDGE.md is the authoring guide.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpdesk.config import Config, ConfigProblem, problem_at
from helpdesk.knowledge.articles import Article, ArticleProblem, read_articles
from helpdesk.knowledge.replies import PLACEHOLDERS, placeholders_in


def knowledge_problems(config_path: Path, config: Config) -> list[ConfigProblem | ArticleProblem]:
    """Everything wrong with the articles of the config file at ``config_path``."""
    folder = config.knowledge.folder(config_path)
    if not folder.is_dir():
        if "path" in config.knowledge.model_fields_set:
            return [
                problem_at(
                    config_path,
                    ("knowledge", "path"),
                    f"{_shown(folder)}/ does not exist (relative to this file); create it with"
                    " one folder per language, or remove the key",
                )
            ]
        return []  # no articles yet: nothing to suggest, nothing wrong
    articles, problems = read_articles(folder, _shown)
    return [*problems, *article_set_problems(articles, config.helpdesk.languages)]


def knowledge_summary(config_path: Path, config: Config) -> str:
    """What the knowledge base holds, for ``helpdesk validate``'s summary: its articles and
    saved replies per language, or that there are none (then nothing is suggested to
    customers: a config copied elsewhere loses the articles, whose folder is relative to
    the config file, and "sound" alone would hide that)."""
    folder = config.knowledge.folder(config_path)
    articles = read_articles(folder, _shown)[0] if folder.is_dir() else []
    answers = [article for article in articles if not article.reply]
    if not answers:
        return (
            f"the knowledge base has no articles ({_shown(folder)}/, relative to the config"
            " file): customers are offered none"
        )
    per_language = ", ".join(
        f"{language} {sum(1 for a in answers if a.language == language)}"
        for language in config.helpdesk.languages
    )
    replies = len({article.slug for article in articles if article.reply})
    return (
        f"the knowledge base's {len(answers)} articles ({per_language}) and {replies} saved"
        " replies are sound"
    )


def article_set_problems(
    articles: Sequence[Article], languages: Sequence[str]
) -> list[ArticleProblem]:
    """What is wrong between articles: saved replies missing in a language, links to
    unknown articles, unknown placeholders."""
    problems: list[ArticleProblem] = []
    known = {(article.language, article.slug): article for article in articles}
    replies: dict[str, Article] = {}
    for article in articles:
        if article.reply:
            replies.setdefault(article.slug, article)
    for slug, example in sorted(replies.items()):
        for language in languages:
            found = known.get((language, slug))
            if found is None:
                problems.append(
                    ArticleProblem(
                        _expected(example, language),
                        None,
                        "reply",
                        f"saved reply {slug!r} ({example.source}) is missing in {language!r}:"
                        f" an agent's #reply {slug} would fail for a customer writing"
                        f" {language}; write it",
                    )
                )
            elif not found.reply:
                problems.append(
                    ArticleProblem(
                        found.source,
                        2,
                        "reply",
                        f"{slug!r} is a saved reply in {example.language!r}: set 'reply: true'"
                        " here too",
                    )
                )
    for article in articles:
        for target, language, line in article.links:
            if (language, target) not in known:
                problems.append(
                    ArticleProblem(
                        article.source,
                        line,
                        "link",
                        f"links to {target}.md, but there is no article {target!r} in {language!r}",
                    )
                )
        if article.reply:
            for name, line in placeholders_in(article.body):
                if name not in PLACEHOLDERS:
                    allowed = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    problems.append(
                        ArticleProblem(
                            article.source,
                            _body_line(article, line),
                            f"{{{name}}}",
                            f"unknown placeholder: a saved reply can use {allowed}"
                            " (write {{ and }} for a literal brace)",
                        )
                    )
    return problems


def _expected(example: Article, language: str) -> str:
    """Where the missing translation of ``example`` belongs."""
    parts = example.source.rsplit("/", 2)
    if len(parts) == 3:
        return f"{parts[0]}/{language}/{parts[2]}"
    return f"{language}/{example.slug}.md"


def _body_line(article: Article, body_line: int) -> int | None:
    """The file line of a body line: the body follows the front matter."""
    try:
        lines = Path(article.source).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    fences = [i for i, line in enumerate(lines) if line.strip() == "---"][:2]
    if len(fences) < 2:
        return None
    start = fences[1] + 1
    while start < len(lines) and not lines[start].strip():
        start += 1  # the body is stripped of its leading blank lines
    return start + body_line


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def build_bundle_for(config_path: Path, destination: Path) -> int:
    """Check the articles of the config at ``config_path`` and write their bundle to
    ``destination`` (infra/lambda_build.py, the local stack); SystemExit naming every
    problem if they are not fit to ship. Answers how many articles it holds."""
    from helpdesk.config import load_config
    from helpdesk.knowledge.index import build_bundle, write_bundle

    config = load_config(config_path)
    folder = config.knowledge.folder(config_path)
    key = (str(config_path), *_stamps(config_path, folder))
    if key not in _BUILT:
        problems = knowledge_problems(config_path, config)
        if problems:
            raise SystemExit("\n".join(["the knowledge base has problems:", *map(str, problems)]))
        articles, _ = read_articles(folder, _shown) if folder.is_dir() else ([], [])
        _BUILT[key] = (build_bundle(articles), len(articles))
    bundle, count = _BUILT[key]
    write_bundle(bundle, destination)
    return count


# Bundles already built in this process, by the files they were built from (the tests
# start hundreds of local stacks on the same articles).
_BUILT: dict[tuple[object, ...], tuple[dict[str, Any], int]] = {}


def _stamps(config_path: Path, folder: Path) -> list[tuple[str, int, int]]:
    files = [config_path, *sorted(folder.rglob("*.md"))] if folder.is_dir() else [config_path]
    return [(str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files]
