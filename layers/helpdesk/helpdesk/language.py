"""Which of the desk's languages a customer wrote in.

Two steps. First the writing system: it alone settles most cases (Chinese, Russian and
English on a desk that serves those three), and it is right even on a two-character
message, where a statistical model has too little to go on — py3langid reads "谢谢" as
Chinese with low confidence and "Hi" as Serbian. Text in a script that no served language
uses (Japanese kana, Arabic on such a desk) falls back to the default instead of being
forced onto the nearest served language. Only when the script leaves more than one served
language (English or German, both Latin) does py3langid decide, restricted to those.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = ["detect_language"]

# Below this many letters (a CJK character counts as three, it carries a word's worth of
# meaning) a message says too little about its language: "ok", "Hi", "?".
_MIN_LETTERS = 4
# py3langid's probability, normalised over the candidate languages, below which it is
# guessing (it gives "Bonjour ..." to English over German at about 0.67).
_MIN_CONFIDENCE = 0.8
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

# Addresses and links are Latin whatever language surrounds them.
_ADDRESSES_AND_LINKS = re.compile(r"\S+@\S+|(?:https?://|www\.)\S+", re.IGNORECASE)


def detect_language(text: str, allowed: Sequence[str], default: str | None = None) -> str:
    """The language of ``text`` among ``allowed``; ``default`` (else ``allowed[0]``) when
    the text is too short, is in a script none of them uses, or py3langid is unsure.
    """
    if not allowed and default is None:
        raise ValueError("no languages to choose from")
    fallback = default if default is not None else allowed[0]
    # NFKC turns full-width Latin and half-width katakana into their ordinary forms.
    text = _ADDRESSES_AND_LINKS.sub(" ", unicodedata.normalize("NFKC", text))
    script, letters = _dominant_script(text)
    if script is None or letters < _MIN_LETTERS:
        return fallback
    candidates = sorted({language for language in allowed if _writes(language, script)})
    if len(candidates) <= 1:
        return candidates[0] if candidates else fallback
    identifier = _identifier_for(tuple(candidates))
    if identifier is None:
        return fallback
    language, confidence = identifier.classify(text)
    return str(language) if confidence >= _MIN_CONFIDENCE else fallback


def _script_of(character: str) -> str:
    first_word = unicodedata.name(character, "").split(" ", 1)[0]
    return "KANA" if first_word in _KANA_NAMES else first_word


def _dominant_script(text: str) -> tuple[str | None, int]:
    """The script with the most letters, and how many letters there are in all."""
    counts: Counter[str] = Counter()
    for character in text:
        if character.isalpha():
            script = _script_of(character)
            counts[script] += _CJK_WEIGHT if script in _CJK_SCRIPTS else 1
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


@lru_cache(maxsize=1)
def _full_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=32)
def _identifier_for(languages: tuple[str, ...]) -> Any:
    """py3langid restricted to ``languages`` (those it knows), or None if it knows < 2."""
    full = _full_identifier()
    known = [language for language in languages if language in full.labels]
    if len(known) < 2:
        return None
    # A shallow copy shares the loaded model, which is read once (it takes about half a
    # second); set_languages then slices the copy's own view of it.
    restricted = copy.copy(full)
    restricted.set_languages(known)
    return restricted
