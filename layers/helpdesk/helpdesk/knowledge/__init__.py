"""The knowledge base: articles, the suggestions a customer or an agent gets, saved replies.

Plain Python, no AWS. Articles are written by ops under ``<knowledge>/<lang>/<slug>.md``
(:mod:`.articles`), built into one JSON bundle at build time (:func:`.index.build_bundle`,
called by infra/lambda_build.py and the local stack), and read here::

    kb = KnowledgeBase.load(path)                       # a few ms, once per container
    kb.suggest("where is my parcel", "en", limit=3)     # confident articles, best first
    kb.article("returns", "ru")                         # one article, or None
    kb.saved_reply("refund-issued", "zh", values)       # a saved reply, placeholders filled
    kb.close_matches("refund-isued", "en")              # for an unknown #reply slug

Handlers that suggest nothing never import this package (docs/KNOWLEDGE.md).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpdesk.knowledge.index import (
    BUNDLE_NAME,
    FORMAT,
    MIN_CONFIDENCE,
    MIN_SHARE_OF_BEST,
    LanguageIndex,
)
from helpdesk.knowledge.replies import PLACEHOLDERS, ReplyValues, fill

__all__ = [
    "BUNDLE_NAME",
    "PLACEHOLDERS",
    "KnowledgeBase",
    "KnowledgeError",
    "ReplyValues",
    "StoredArticle",
    "Suggestion",
    "bundle_path",
]


def bundle_path(config_path: str | Path) -> Path:
    """Where the layer build puts the bundle of the config at ``config_path``: beside it
    (``/opt/python/helpdesk/knowledge.json`` for the bundled config). The local stack
    builds its own and names it in ``HELPDESK_KNOWLEDGE`` for a function that declares it."""
    return Path(config_path).with_name(BUNDLE_NAME)


class KnowledgeError(ValueError):
    """The bundle cannot be used (a build from another version, a broken file)."""


@dataclass(frozen=True)
class StoredArticle:
    """An article as the desk serves it."""

    slug: str
    language: str
    title: str
    body: str  # Markdown
    tags: tuple[str, ...]
    reply: bool


@dataclass(frozen=True)
class Suggestion:
    """An article offered for a question, with how sure retrieval is (0..1)."""

    article: StoredArticle
    confidence: float


class KnowledgeBase:
    """Every article of every language, and the index to find them."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        if bundle.get("format") != FORMAT:
            raise KnowledgeError(
                f"knowledge bundle format {bundle.get('format')!r}, expected {FORMAT}: rebuild it"
            )
        self._indexes = {
            language: LanguageIndex(data) for language, data in bundle["languages"].items()
        }
        self._articles = {
            (language, raw["slug"]): _stored(language, raw)
            for language, index in self._indexes.items()
            for raw in index.articles
        }

    @classmethod
    def load(cls, path: str | Path) -> KnowledgeBase:
        """The bundle at ``path``; an absent file is an empty knowledge base (no articles
        written yet), a broken one an error."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls.empty()
        try:
            return cls(json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            raise KnowledgeError(f"{path}: not a knowledge bundle: {error}") from None

    @classmethod
    def empty(cls) -> KnowledgeBase:
        return cls({"format": FORMAT, "languages": {}})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._indexes))

    def articles(self, language: str) -> list[StoredArticle]:
        """Every article of ``language``, in slug order."""
        return [a for (lang, _), a in sorted(self._articles.items()) if lang == language]

    def article(self, slug: str, language: str) -> StoredArticle | None:
        """The article ``slug`` in ``language``, or None."""
        return self._articles.get((language, slug))

    def suggest(
        self, text: str, language: str, limit: int = 3, *, threshold: float = MIN_CONFIDENCE
    ) -> list[Suggestion]:
        """At most ``limit`` articles of ``language`` that answer ``text`` with confidence,
        best first; ``[]`` when none is confident (an off-topic question) or ``limit`` is 0.
        An article far less sure than the best (under :data:`MIN_SHARE_OF_BEST` of its
        confidence) is left out: it matched a side word ("аккаунт" in "Не могу войти в
        аккаунт", whose article is the password one), and a customer's one click on it
        solves the ticket. Saved replies are for agents and never suggested to customers."""
        index = self._indexes.get(language)
        if index is None or limit <= 0 or not text.strip():
            return []
        found: list[Suggestion] = []
        for scored in index.rank(text):
            article = self._articles[(language, index.articles[scored.position]["slug"])]
            if article.reply or scored.confidence < threshold:
                continue
            if found and scored.confidence < MIN_SHARE_OF_BEST * found[0].confidence:
                break
            found.append(Suggestion(article, round(scored.confidence, 3)))
            if len(found) == limit:
                break
        return found

    def assist(self, text: str, language: str, limit: int = 3) -> list[Suggestion]:
        """For the agent: the best articles and saved replies for ``text``, confident ones."""
        index = self._indexes.get(language)
        if index is None or limit <= 0 or not text.strip():
            return []
        found = []
        for scored in index.rank(text):
            if scored.confidence < MIN_CONFIDENCE:
                continue
            slug = index.articles[scored.position]["slug"]
            found.append(Suggestion(self._articles[(language, slug)], round(scored.confidence, 3)))
            if len(found) == limit:
                break
        return found

    def saved_reply(self, slug: str, language: str, values: ReplyValues) -> str | None:
        """The saved reply ``slug`` in ``language`` with its placeholders filled, or None
        when there is no such saved reply in that language."""
        article = self.article(slug, language)
        if article is None or not article.reply:
            return None
        return fill(article.body, values).strip()

    def close_matches(self, slug: str, language: str, limit: int = 3) -> list[str]:
        """Saved-reply slugs of ``language`` that look like ``slug`` (a typo in #reply)."""
        replies = [a.slug for a in self.articles(language) if a.reply]
        return difflib.get_close_matches(slug, replies, n=limit, cutoff=0.5)


def _stored(language: str, raw: Mapping[str, Any]) -> StoredArticle:
    return StoredArticle(
        slug=raw["slug"],
        language=language,
        title=raw["title"],
        body=raw["body"],
        tags=tuple(raw.get("tags", ())),
        reply=bool(raw.get("reply", False)),
    )
