"""Which of the desk's languages a customer wrote in.

Two steps. First the writing system: it alone settles most cases (Chinese, Russian and
English on a desk that serves those three), and it is right even on a two-character
message, where a statistical model has too little to go on. Text in a script that no served
language uses (Japanese kana, Arabic on such a desk) falls back to the default instead of
being forced onto the nearest served language. Only when the script leaves more than one
served language (English or German, both Latin) does a model decide: Google's Compact
Language Detector 2 (pycld2), whose tables are compiled into its extension. It replaced
py3langid, which needs numpy: 74 MB of the Lambda layer, a second of model loading at a
cold start and about 118 MB of memory (docs/PERFORMANCE.md, "Layer"). The model's own
verdict is kept: when it finds a language the desk does not serve, or is not sure, the
default is used rather than the nearest served language.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from helpdesk.characters import CONTROL_CHARACTERS

__all__ = ["detect_language"]

# Below this many letters (a CJK character counts as three, it carries a word's worth of
# meaning) a message says too little about its language: "ok", "Hi", "?".
_MIN_LETTERS = 4
# CLD2's share of the text in its top language, in percent, below which it is guessing.
_MIN_PERCENT = 50
# CLD2's codes that are not the ISO 639-1 code the desk's config uses.
_CLD2_CODES = {"iw": "he", "jw": "jv", "zh-Hant": "zh"}
_CJK_WEIGHT = 3

# Languages written in a script other than Latin, by the first word of the Unicode
# character names of that script; any other language is taken to be written in Latin.
_SCRIPT_LANGUAGES: dict[str, frozenset[str]] = {
    "CJK": frozenset({"zh", "ja"}),
    "KANA": frozenset({"ja"}),
    "HANGUL": frozenset({"ko"}),
    "CYRILLIC": frozenset(
        {"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn", "tg", "tt", "ba", "cv"}
    ),
    "GREEK": frozenset({"el"}),
    "ARABIC": frozenset({"ar", "fa", "ur", "ps", "ug", "ckb", "sd"}),
    "HEBREW": frozenset({"he", "yi"}),
    "DEVANAGARI": frozenset({"hi", "mr", "ne", "sa"}),
    "BENGALI": frozenset({"bn", "as"}),
    "GURMUKHI": frozenset({"pa"}),
    "GUJARATI": frozenset({"gu"}),
    "ORIYA": frozenset({"or"}),
    "TAMIL": frozenset({"ta"}),
    "TELUGU": frozenset({"te"}),
    "KANNADA": frozenset({"kn"}),
    "MALAYALAM": frozenset({"ml"}),
    "SINHALA": frozenset({"si"}),
    "THAI": frozenset({"th"}),
    "LAO": frozenset({"lo"}),
    "KHMER": frozenset({"km"}),
    "MYANMAR": frozenset({"my"}),
    "GEORGIAN": frozenset({"ka"}),
    "ARMENIAN": frozenset({"hy"}),
    "ETHIOPIC": frozenset({"am", "ti"}),
}
_NON_LATIN = frozenset().union(*_SCRIPT_LANGUAGES.values())
# Serbian is written in both alphabets.
_ALSO_LATIN = frozenset({"sr"})
_CJK_SCRIPTS = frozenset({"CJK", "KANA", "HANGUL"})
_KANA_NAMES = frozenset({"HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA"})

# Addresses and links are Latin whatever language surrounds them. Each side is bounded
# (RFC 5321 section 4.5.3.1: 64-octet local parts, 255-octet domains) so that a long run
# without white space costs linear time, not a rescan from every position.
_ADDRESSES_AND_LINKS = re.compile(
    r"\S{1,64}@\S{1,255}|(?:https?://|www\.)\S{0,2048}", re.IGNORECASE
)
# The language of a request shows in its first lines; what follows (quoted history,
# signatures, pasted logs) only costs time. Also bounds the work on a hostile mail.
_SAMPLE_CHARS = 4000


def detect_language(text: str, allowed: Sequence[str], default: str | None = None) -> str:
    """The language of ``text`` among ``allowed``; ``default`` (else ``allowed[0]``) when
    the text is too short, is in a script none of them uses, or the model finds another
    language or is unsure.
    """
    if not allowed and default is None:
        raise ValueError("no languages to choose from")
    fallback = default if default is not None else allowed[0]
    # NFKC turns full-width Latin and half-width katakana into their ordinary forms.
    text = unicodedata.normalize("NFKC", text[:_SAMPLE_CHARS])
    if _may_hold_address_or_link(text):
        text = _ADDRESSES_AND_LINKS.sub(" ", text)
    script, letters = _dominant_script(text)
    if script is None or letters < _MIN_LETTERS:
        return fallback
    candidates = sorted({language for language in allowed if _writes(language, script)})
    if len(candidates) <= 1:
        return candidates[0] if candidates else fallback
    language = _model_language(text)
    return language if language in candidates else fallback


def _may_hold_address_or_link(text: str) -> bool:
    """False only when :data:`_ADDRESSES_AND_LINKS` cannot match in ``text``: each of its
    matches holds "@", "://" or "www." in some case (only "W" matches "w" when the case is
    ignored), and three substring searches spare the slow search, which tries its first
    branch at every position."""
    return "@" in text or "://" in text or "www." in text.lower()


# A text repeats a few dozen letters; unicodedata.name is looked up once per letter, not
# once per occurrence (bounded: a hostile text of many scripts cannot grow it without end).
@lru_cache(maxsize=4096)
def _script_of(character: str) -> str:
    first_word = unicodedata.name(character, "").split(" ", 1)[0]
    return "KANA" if first_word in _KANA_NAMES else first_word


_ASCII_NOT_LETTERS = bytes(octet for octet in range(128) if not chr(octet).isalpha())


def _dominant_script(text: str) -> tuple[str | None, int]:
    """The script with the most letters, and how many letters there are in all."""
    if text.isascii():
        # Every ASCII letter is Latin: the letters are counted in C (the octets left once
        # all others are deleted), where Counter looks up every character.
        letters = len(text.encode("ascii").translate(None, _ASCII_NOT_LETTERS))
        return ("LATIN", letters) if letters else (None, 0)
    counts: Counter[str] = Counter()
    # Each distinct character once (counted in C), not each occurrence in a Python loop.
    for character, occurrences in Counter(text).items():
        if character.isalpha():
            script = _script_of(character)
            counts[script] += occurrences * (_CJK_WEIGHT if script in _CJK_SCRIPTS else 1)
    if not counts:
        return None, 0
    # Japanese mixes kanji with kana; Chinese never uses kana, so any kana makes it Japanese.
    if counts["KANA"] and counts["CJK"]:
        counts["KANA"] += counts.pop("CJK")
    script, _ = counts.most_common(1)[0]
    return script, sum(counts.values())


def _writes(language: str, script: str) -> bool:
    if script == "LATIN":
        return language not in _NON_LATIN or language in _ALSO_LATIN
    return language in _SCRIPT_LANGUAGES.get(script, frozenset())


def _model_language(text: str) -> str | None:
    """CLD2's language for ``text`` (ISO 639-1), or None when it is unsure."""
    import pycld2

    try:
        reliable, _, details = pycld2.detect(
            # Control characters (a stray NUL or escape in a mail): CLD2 refuses them.
            CONTROL_CHARACTERS.sub(" ", text).encode("utf-8", "replace"),
            isPlainText=True,
            bestEffort=True,
        )
    except pycld2.error:  # input CLD2 still refuses: no verdict, the default answers
        return None
    _, code, percent, _ = details[0]
    if not reliable or code == "un" or percent < _MIN_PERCENT:
        return None
    return _CLD2_CODES.get(str(code), str(code).split("-", 1)[0].lower())
