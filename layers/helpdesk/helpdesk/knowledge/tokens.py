"""Language-aware terms for retrieval: what a customer's words and an article's share.

Tokenised by writing system rather than by the ticket's language, so that a Russian
customer who writes "trackинг" or a Chinese one who types an order number in Latin letters
is still read word by word:

* Latin and Cyrillic words are stemmed with the Snowball stemmers (English, Russian;
  snowballstemmer, pure Python) so that "refunds"/"refunded" and "заказ"/"заказа"/"заказом"
  meet. ``ё`` is written ``е`` first (Russian customers type either).
* Chinese has no spaces: each run of Han characters gives its overlapping character
  bigrams, the usual dictionary-free way to index Chinese ("退款多久到账" -> 退款 款多 多久
  久到 到账), which finds a two-character word wherever it stands.
* Misspellings: a second, fuzzy layer of character n-grams (trigrams of each Latin or
  Cyrillic word padded with ``#``, single Han characters), on which "pasword" and "пороль"
  still share most of their grams with the right word. The browser's search in the help
  centre uses this layer alone (it needs no stemmer).

Stop words (the few dozen most frequent function words of each language) are left out of
both layers: they say nothing about which article is meant, and leaving them in makes
every question look a little like every article.

A query needs all three readings (terms, words, grams) of the same text: :func:`analyse`
splits it once and treats each distinct word once (a mail repeats its words), and the
stems of short words are kept between queries (:data:`STEM_CACHE_SIZE`), because the
pure-Python stemmer is most of retrieval's time and a desk's mail repeats its words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = [
    "GRAM_SIZE",
    "STOP_HAN",
    "STOP_WORDS",
    "Analysis",
    "analyse",
    "is_han",
    "normalise",
    "stem_word",
    "terms",
    "word_grams",
]

GRAM_SIZE = 3
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN}]+|[^\W\d_{_HAN}]+|\d+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")
# _TOKEN on a case-folded ASCII text (most mail in a Latin script): no Han, and the word
# characters that are neither digits nor "_" are a-z. The same tokens, without testing
# every character against Unicode's classes (half the time on the bench's mail).
_ASCII_TOKEN = re.compile(r"[a-z]+|[0-9]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

_ENGLISH_STOP_WORDS = (
    "a an and are as at be been but by can could do does did for from had has have how i i'm"
    " if in into is it its me my no not of on or our please so that the their them then there"
    " this to was we were what which who why will with would you your hi hello"
    " thanks thank regards dear am any some just get got"
)
# Written with е for ё, as normalise() leaves them.
_RUSSIAN_STOP_WORDS = (
    "а без бы был была были было в вам вас во вот все вы да для до его ее если есть еще же за"
    " здравствуйте и из или им их к как какой какая какое какого ко кто ли мне можно мой моя"
    " мое мои меня мы на над не нет ни но о об от по под пожалуйста при про с со спасибо так"
    " там то тоже у уже чем что чтобы это я добрый день"
)
STOP_WORDS = frozenset(f"{_ENGLISH_STOP_WORDS} {_RUSSIAN_STOP_WORDS}".split())
# Han characters that carry grammar, not topic (particles, pronouns, the copula).
STOP_HAN = frozenset("的了吗呢吧啊呀我你您他她们是在有和就也都很还这那么什个请问好")
_STOP_HAN_SPLIT = re.compile(f"[{''.join(sorted(STOP_HAN))}]+")
# Stems kept between queries: a few thousand words cover a desk's everyday vocabulary, and
# only words up to STEM_CACHE_WORD_MAX letters are kept, so that hostile mail of endless
# "words" cannot make the cache large (at most about 4096 * 2 * 40 characters).
STEM_CACHE_SIZE = 4096
STEM_CACHE_WORD_MAX = 40


@cache
def _stemmer(script: str) -> Callable[[str], str]:
    # The stemmer modules directly: the package's __init__ imports all 30 languages.
    if script == "cyrillic":
        from snowballstemmer.russian_stemmer import RussianStemmer

        return RussianStemmer().stemWord  # type: ignore[no-any-return]
    from snowballstemmer.english_stemmer import EnglishStemmer

    return EnglishStemmer().stemWord  # type: ignore[no-any-return]


def normalise(text: str) -> str:
    """Compatibility forms folded (full-width letters, ligatures), case folded, ё as е."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


def _words(text: str) -> list[str]:
    folded = normalise(text)
    return (_ASCII_TOKEN if folded.isascii() else _TOKEN).findall(folded)


def is_han(token: str) -> bool:
    return _HAN_RUN.fullmatch(token) is not None


def _han_bigrams(run: str) -> list[str]:
    """Bigrams within the stretches between grammatical characters ("订单还没发货" ->
    订单 | 没发货), a lone character where a stretch has only one ("杯子碎了" -> 杯子, 碎)."""
    found: list[str] = []
    for stretch in _STOP_HAN_SPLIT.split(run):
        if len(stretch) == 1:
            found.append(stretch)
        else:
            found += [stretch[i : i + 2] for i in range(len(stretch) - 1)]
    return found


@dataclass(frozen=True)
class Analysis:
    """The three readings of one text, as :func:`terms`, :func:`words` and :func:`grams`
    give them one at a time; ``stems`` holds the stem of each of ``words``."""

    terms: list[str]
    words: list[str]
    stems: list[str]
    grams: list[str]


def analyse(text: str) -> Analysis:
    """:func:`terms`, :func:`words` (with their stems) and :func:`grams` of ``text`` from
    one split, each distinct token read once."""
    found_terms: list[str] = []
    found_words: list[str] = []
    found_stems: list[str] = []
    found_grams: list[str] = []
    readings: dict[str, _Reading] = {}
    for token in _words(text):
        reading = readings.get(token)
        if reading is None:
            reading = readings[token] = _read(token)
        token_terms, stem, token_grams = reading
        found_terms += token_terms
        found_grams += token_grams
        if stem is not None:
            found_words.append(token)
            found_stems.append(stem)
    return Analysis(found_terms, found_words, found_stems, found_grams)


# A token's terms, its stem when it is one of words(), and its grams.
_Reading = tuple[list[str], str | None, list[str]]


def _read(token: str) -> _Reading:
    if is_han(token):
        return _han_bigrams(token), None, [char for char in token if char not in STOP_HAN]
    if token.isdigit() or token in STOP_WORDS or len(token) < 2:
        return [], None, []
    stem = stem_word(token)
    # "какого" -> "как": a stem that is a stop word is no term.
    token_terms = [] if stem in STOP_WORDS else [stem]
    if len(token) < 3:
        return token_terms, None, []
    padded = f"#{token}#"
    token_grams = [padded[i : i + GRAM_SIZE] for i in range(len(padded) - GRAM_SIZE + 1)]
    return token_terms, stem, token_grams


def terms(text: str) -> list[str]:
    """The stemmed words and Han bigrams of ``text``, in order, stop words left out."""
    return analyse(text).terms


def stem_word(word: str) -> str:
    """The Snowball stem of one normalised Latin or Cyrillic word."""
    if len(word) <= STEM_CACHE_WORD_MAX:
        return _cached_stem(word)
    return _stem(word)


def _stem(word: str) -> str:
    return _stemmer("cyrillic" if _CYRILLIC.search(word) else "latin")(word)


_cached_stem = lru_cache(maxsize=STEM_CACHE_SIZE)(_stem)


def word_grams(word: str) -> set[str]:
    padded = f"#{word}#"
    return {padded[i : i + GRAM_SIZE] for i in range(len(padded) - GRAM_SIZE + 1)}
