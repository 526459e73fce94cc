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
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

__all__ = [
    "GRAM_SIZE",
    "STOP_HAN",
    "STOP_WORDS",
    "grams",
    "is_han",
    "normalise",
    "stem_word",
    "terms",
    "word_grams",
    "words",
]

GRAM_SIZE = 3
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN}]+|[^\W\d_{_HAN}]+|\d+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")
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
    return _TOKEN.findall(normalise(text))


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


def terms(text: str) -> list[str]:
    """The stemmed words and Han bigrams of ``text``, in order, stop words left out."""
    found: list[str] = []
    for token in _words(text):
        if is_han(token):
            found += _han_bigrams(token)
        elif token.isdigit() or token in STOP_WORDS or len(token) < 2:
            continue
        else:
            stem = stem_word(token)
            if stem not in STOP_WORDS:  # "какого" -> "как"
                found.append(stem)
    return found


def stem_word(word: str) -> str:
    """The Snowball stem of one normalised Latin or Cyrillic word."""
    return _stemmer("cyrillic" if _CYRILLIC.search(word) else "latin")(word)


def words(text: str) -> list[str]:
    """The Latin and Cyrillic words of ``text`` that carry meaning, normalised, unstemmed
    (what the fuzzy layer corrects)."""
    return [
        token
        for token in _words(text)
        if not is_han(token) and not token.isdigit() and token not in STOP_WORDS and len(token) >= 3
    ]


def word_grams(word: str) -> set[str]:
    padded = f"#{word}#"
    return {padded[i : i + GRAM_SIZE] for i in range(len(padded) - GRAM_SIZE + 1)}


def grams(text: str) -> list[str]:
    """The fuzzy layer: character trigrams of each word (padded), single Han characters."""
    found: list[str] = []
    for token in _words(text):
        if is_han(token):
            found += [char for char in token if char not in STOP_HAN]
        elif token.isdigit() or token in STOP_WORDS or len(token) < 3:
            continue
        else:
            padded = f"#{token}#"
            found += [padded[i : i + GRAM_SIZE] for i in range(len(padded) - GRAM_SIZE + 1)]
    return found
