"""The retrieval index: built from the articles at build time, loaded and queried at run time.

Ranking is Okapi BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework:
BM25 and Beyond", 2009; the idf is Lucene's ``ln(1 + (N - df + 0.5) / (df + 0.5))``, never
negative) over two layers of :mod:`helpdesk.knowledge.tokens`: stemmed words and Han
bigrams, and the fuzzy character n-grams, weighted :data:`GRAM_WEIGHT`. The title counts
three times and the tags twice, as a short and deliberate description of the article.

A suggestion must be *confident*, because an acknowledgement that offers a wrong article
is worse than one that offers none. The confidence of an article is its score divided by
the score the query would get against a perfect match of its known words: the share of
what the customer wrote, weighted by how telling each word is, that the article answers.
Words that no article has (names, product words, "weather") do not lower it, so a long
mail is not punished for being long; but at least :data:`MIN_KNOWN_IDF` of telling words
must match, so a question sharing one common word with an article ("order" in "I want to
order pizza") is not enough. Thresholds were set on tests/data/knowledge_questions.yaml;
docs/KNOWLEDGE.md gives the figures.

The built bundle is plain JSON (:data:`BUNDLE_NAME`, next to the config in the layer):
the articles and their term counts; document frequencies are summed at load, a few
milliseconds for a few hundred articles.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from helpdesk.knowledge.articles import Article
from helpdesk.knowledge.tokens import (
    STEM_CACHE_WORD_MAX,
    STOP_HAN,
    STOP_WORDS,
    Analysis,
    analyse,
    is_han,
    word_grams,
)

__all__ = [
    "BUNDLE_NAME",
    "FORMAT",
    "LanguageIndex",
    "Scored",
    "build_bundle",
    "index_text",
    "search_layer",
]

BUNDLE_NAME = "knowledge.json"
FORMAT = 1
K1 = 1.2
B = 0.75
# The fuzzy layer's share of the score (it also finds what stems miss: "杯子碎了" and 碎).
GRAM_WEIGHT = 0.3
# How much a word that no article has counts against a question (see the module doc).
UNKNOWN_WEIGHT = 0.1
# How alike (shared trigrams / all trigrams) a misspelt word and an article's word must be
# (0.45, as docs/KNOWLEDGE.md says: at 0.4 "weather" became "rather" at 0.44, and the subject
# "Weather in Berlin", read on its own, was offered an order article).
FUZZY_MIN = 0.45
# How many article words sharing a trigram with a misspelt word are compared with it.
FUZZY_CANDIDATES = 40
# How many words' nearest article word a language's index keeps between queries.
NEAREST_CACHE_SIZE = 4096
# How many times a word of the subject counts: the subject is the customer's own summary of
# the request, the text around it tells the story ("It has been two weeks."). A query-side
# field boost, as Lucene's "subject^2" (Elasticsearch multi_match field boosts).
SUBJECT_BOOST = 2.0
TITLE_REPEAT = 3
TAG_REPEAT = 2
# A suggestion needs this share of the query's known, weighted words ...
MIN_CONFIDENCE = 0.34
# ... and at least this much idf among the words it matches (about two telling words).
MIN_KNOWN_IDF = 1.2
# A customer is offered a further article only when it is at least this share as sure as
# the first (KnowledgeBase.suggest): on tests/data/knowledge_questions.yaml this leaves out
# 10 of the 35 wrong articles offered beside the right one and loses no right one (3/4
# loses one).
MIN_SHARE_OF_BEST = 0.67
# Markdown that is not words: link targets, emphasis and heading marks, code fences.
_MARKUP = re.compile(r"\]\([^)]*\)|[`*_#>|~\[\]]+")


def index_text(article: Article) -> str:
    """What of an article is searched: title and tags weighted by repetition, then the body."""
    parts = [article.title] * TITLE_REPEAT + [" ".join(article.tags)] * TAG_REPEAT
    parts.append(_MARKUP.sub(" ", article.body))
    return "\n".join(parts)


def build_bundle(articles: Iterable[Article]) -> dict[str, Any]:
    """The JSON-ready bundle of ``articles``: per language, each article and its counts."""
    languages: dict[str, dict[str, Any]] = {}
    for article in sorted(articles, key=lambda a: (a.language, a.slug)):
        entry = languages.setdefault(
            article.language, {"articles": [], "terms": [], "grams": [], "words": {}}
        )
        analysis = analyse(index_text(article))
        entry["articles"].append(
            {
                "slug": article.slug,
                "title": article.title,
                "tags": list(article.tags),
                "reply": article.reply,
                "body": article.body,
            }
        )
        entry["terms"].append(dict(sorted(Counter(analysis.terms).items())))
        entry["grams"].append(dict(sorted(Counter(analysis.grams).items())))
        entry.setdefault("words", {}).update(zip(analysis.words, analysis.stems, strict=True))
    return {"format": FORMAT, "languages": languages}


def write_bundle(bundle: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(bundle, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        encoding="utf-8",
    )


@dataclass(frozen=True)
class Scored:
    """An article's rank for a query: its index in the language's list and its confidence."""

    position: int
    score: float
    confidence: float


class _Layer:
    """One BM25 field over a language's articles."""

    def __init__(self, counts: Sequence[Mapping[str, int]]) -> None:
        self.counts = counts
        self.lengths = [sum(c.values()) for c in counts]
        self.average = (sum(self.lengths) / len(counts)) if counts else 1.0
        document_frequency: Counter[str] = Counter()
        for count in counts:
            document_frequency.update(count.keys())
        total = len(counts)
        self.idf = {
            term: math.log(1 + (total - df + 0.5) / (df + 0.5))
            for term, df in document_frequency.items()
        }
        # What a word no article has would weigh: the idf of a word in no document.
        self.unknown_idf = math.log(1 + (total + 0.5) / 0.5)
        # BM25's length normalisation of each article, and each term's postings (the
        # articles that have it, with its count, in article order): a query visits only
        # the articles that have its words, instead of every article for every word.
        self.norms = [K1 * (1 - B + B * length / self.average) for length in self.lengths]
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for position, count in enumerate(counts):
            for term, frequency in count.items():
                if frequency:
                    self.postings.setdefault(term, []).append((position, frequency))

    def known(self, query: Sequence[str]) -> list[str]:
        """The distinct words of ``query`` that some article has, in their first order."""
        return [term for term in dict.fromkeys(query) if term in self.idf]

    def scores_and_matched(
        self, query: Sequence[str], boosted: Collection[str] = ()
    ) -> tuple[list[float], list[float]]:
        """Each article's BM25 for the distinct words of ``query``, the words of the subject
        (``boosted``) counted :data:`SUBJECT_BOOST` times, and the idf of those words it
        has (how much telling matches it, see :data:`MIN_KNOWN_IDF`)."""
        scores = [0.0] * len(self.counts)
        matched = [0.0] * len(self.counts)
        norms = self.norms
        # Term by term: each article still adds its terms in the query's order, so every
        # score is the same float as when summed article by article.
        for term in self.known(query):
            idf = self.idf[term]
            weight = idf * SUBJECT_BOOST if term in boosted else idf
            for position, frequency in self.postings.get(term, ()):
                scores[position] += weight * frequency * (K1 + 1) / (frequency + norms[position])
                matched[position] += idf
        return scores, matched

    def ceiling(self, query: Sequence[str], boosted: Collection[str] = ()) -> float:
        """The score an article answering every known word would approach, with the
        unknown words at :data:`UNKNOWN_WEIGHT` of the rarest possible word (the subject's
        words ``boosted`` as in :meth:`scores_and_matched`)."""
        distinct = list(dict.fromkeys(query))
        known = sum(
            self.idf[term] * (SUBJECT_BOOST if term in boosted else 1.0)
            for term in distinct
            if term in self.idf
        )
        # An unknown Han bigram is most often the seam of two words ("美国要交关税": 国要,
        # 要交, 交关), not a word the articles lack, so it does not count against the query.
        unknown = sum(
            SUBJECT_BOOST if t in boosted else 1.0
            for t in distinct
            if t not in self.idf and not is_han(t)
        )
        return (known + UNKNOWN_WEIGHT * unknown * self.unknown_idf) * (K1 + 1)


class LanguageIndex:
    """The articles of one language, their words' stems and the fuzzy layer."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.articles: list[dict[str, Any]] = list(data["articles"])
        self.terms = _Layer(data["terms"])
        self.grams = _Layer(data["grams"])
        # surface word -> stem, for every Latin and Cyrillic word of the articles
        self.vocabulary: dict[str, str] = dict(data.get("words", {}))
        self._by_gram: dict[str, list[str]] = {}
        for word in self.vocabulary:
            for gram in word_grams(word):
                self._by_gram.setdefault(gram, []).append(word)
        self._cached_nearest = lru_cache(maxsize=NEAREST_CACHE_SIZE)(self._nearest)

    def query_terms(self, text: str) -> list[str]:
        """The terms of ``text``, each misspelt word replaced by the stem of the article
        word it is closest to (character trigrams, Jaccard >= :data:`FUZZY_MIN`)."""
        return self._query_terms(analyse(text))

    def _query_terms(self, analysis: Analysis) -> list[str]:
        found = list(analysis.terms)
        known = self.terms.idf
        nearest_of: dict[str, str | None] = {}
        for word, stem in zip(analysis.words, analysis.stems, strict=True):
            if stem in known:
                continue
            if word not in nearest_of:
                nearest_of[word] = self.nearest(word)
            nearest = nearest_of[word]
            if nearest is not None and stem in found:
                found[found.index(stem)] = self.vocabulary[nearest]
        return found

    def nearest(self, word: str) -> str | None:
        """:meth:`_nearest`, kept for :data:`NEAREST_CACHE_SIZE` words of at most
        :data:`~helpdesk.knowledge.tokens.STEM_CACHE_WORD_MAX` letters: the words no
        article has (names, everyday words) recur from mail to mail."""
        if len(word) > STEM_CACHE_WORD_MAX:
            return self._nearest(word)
        return self._cached_nearest(word)

    def _nearest(self, word: str) -> str | None:
        """The article word most like ``word``: by shared trigrams (a missing or doubled
        letter), else within one edit, two for long words, a swap of neighbours counting
        as one ("refnud", "пароьл", which share few trigrams with the right word).

        Ties are broken by a rule, never by set or hash order (which differs between
        processes with ``PYTHONHASHSEED``, so two containers would answer alike questions
        differently): the :data:`FUZZY_CANDIDATES` words sharing the most trigrams,
        alphabetically first at equal count; of those, a close one first, then the more
        alike, then the more telling (the higher idf of its stem: "card" in one article
        before "cart" in many), then the alphabetically first."""
        grams_of_word = word_grams(word)
        shared: Counter[str] = Counter()
        for gram in grams_of_word:
            shared.update(self._by_gram.get(gram, ()))
        candidates = heapq.nsmallest(
            FUZZY_CANDIDATES, shared.items(), key=lambda item: (-item[1], item[0])
        )
        idf, vocabulary = self.terms.idf, self.vocabulary
        best: str | None = None
        best_key: tuple[int, float, float] = (0, 0.0, 0.0)
        allowed = 1 if len(word) < 8 else 2
        for candidate, common in candidates:
            similarity = common / len(grams_of_word | word_grams(candidate))
            close = edit_distance(word, candidate, limit=allowed) <= allowed
            if similarity >= FUZZY_MIN or close:
                key = (int(close), similarity, idf.get(vocabulary[candidate], 0.0))
                # Candidates come alphabetically at equal count, but not overall: an equal
                # key keeps the alphabetically first.
                if key > best_key or (key == best_key and best is not None and candidate < best):
                    best, best_key = candidate, key
        return best

    def rank(self, text: str) -> list[Scored]:
        """Every article that shares a word with ``text``, best first, with confidence.

        The first line of a text of several lines is its subject (intake and the assistant
        ask with ``subject + "\n" + text``), read twice, as a search engine reads two
        fields: with the rest, its words counting :data:`SUBJECT_BOOST` times, and on its
        own; an article keeps the better confidence of the two (Elasticsearch's
        ``multi_match`` ``best_fields``: the best field's score). So "Where is my order?"
        finds its article however long the story after it, and two words of the story
        ("It has been two weeks.") cannot outweigh the subject."""
        subject, newline, rest = text.partition("\n")
        if not (newline and rest.strip() and subject.strip()):
            return self._ranked(analyse(text))
        in_subject = analyse(subject)
        boosted = {*self._query_terms(in_subject), *in_subject.grams}
        alone = {scored.position: scored for scored in self._ranked(in_subject)}
        ranked = []
        for whole in self._ranked(analyse(text), boosted):
            subject_only = alone.get(whole.position)
            if subject_only is not None and subject_only.confidence > whole.confidence:
                ranked.append(Scored(whole.position, whole.score, subject_only.confidence))
            else:
                ranked.append(whole)
        ranked.sort(key=lambda scored: (-scored.confidence, -scored.score, scored.position))
        return ranked

    def _ranked(self, analysis: Analysis, boosted: Collection[str] = ()) -> list[Scored]:
        """The articles sharing a word with ``analysis``, by score, with confidence."""
        query, query_grams = self._query_terms(analysis), analysis.grams
        term_scores, matched_idf = self.terms.scores_and_matched(query, boosted)
        gram_scores = self.grams.scores_and_matched(query_grams, boosted)[0]
        ceiling = self.terms.ceiling(query, boosted) + GRAM_WEIGHT * self.grams.ceiling(
            query_grams, boosted
        )
        ranked = []
        for position, term_score in enumerate(term_scores):
            score = term_score + GRAM_WEIGHT * gram_scores[position]
            if score <= 0:
                continue
            confidence = score / ceiling if ceiling else 0.0
            if matched_idf[position] < MIN_KNOWN_IDF:
                confidence = 0.0
            ranked.append(Scored(position, score, min(confidence, 1.0)))
        ranked.sort(key=lambda scored: (-scored.score, scored.position))
        return ranked


def edit_distance(first: str, second: str, *, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein with adjacent transpositions, after
    Damerau 1964), or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(first) - len(second)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i] + [0] * len(second)
        for j, b in enumerate(second, 1):
            cost = 0 if a == b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def search_layer(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the help centre's browser search needs of one language's bundle: the published
    articles (saved replies are for agents), their gram layer and the stop words, so that
    the browser splits a query into the ``grams`` :func:`helpdesk.knowledge.tokens.analyse`
    gives (the stemmer stays on the server)."""
    published = [i for i, article in enumerate(data["articles"]) if not article["reply"]]
    return {
        "articles": [
            {"slug": data["articles"][i]["slug"], "title": data["articles"][i]["title"]}
            for i in published
        ],
        "grams": [data["grams"][i] for i in published],
        "stop": sorted(STOP_WORDS),
        "stop_han": "".join(sorted(STOP_HAN)),
        "k1": K1,
        "b": B,
    }
