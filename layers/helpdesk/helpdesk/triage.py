"""Triage: a new ticket's priority, category, team and SLA policy, from the config's rules.

A pure function of the ticket's facts, the contact's tier and the config, so that the
same ticket is always triaged the same way and every rule can be tested on its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from helpdesk.config import PRIORITY_ORDER, Config, RuleCondition, SlaPolicy

__all__ = ["Triage", "TriageInput", "keywords_match", "policy_for", "tier_for", "triage"]

# Han (with extensions and compatibility ideographs), Hiragana, Katakana and Hangul. These
# scripts do not put spaces between words, so their keywords match as substrings; the same
# characters do not count as word characters next to a keyword from a spaced script, so
# that "down" is found in "服务器down了".
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_HAS_CJK = re.compile(f"[{_CJK}]")
# A word character of a spaced script: \w without the CJK ranges.
_SPACED_WORD_CHAR = f"[^\\W{_CJK}]"


@dataclass(frozen=True)
class TriageInput:
    """What triage looks at: the first message and what is known about its sender."""

    subject: str
    text: str
    channel: str  # config.BUILT_IN_CHANNELS or a configured channel's name
    tier: str
    language: str
    category: str | None = None  # chosen on the form
    urgency: str | None = None  # chosen on the form: low|normal|high|urgent
    priority: str | None = None  # set by an agent's command: the base that rules may raise


@dataclass(frozen=True)
class Triage:
    """The outcome: how urgent the ticket is, where it goes and which SLA applies."""

    priority: str
    category: str | None
    team: str
    policy: str
    language: str
    tags: tuple[str, ...]


def tier_for(email: str, config: Config) -> str:
    """The first tier listing ``email`` or its domain (case-insensitive), else the last tier."""
    for tier in config.tiers:
        if tier.matches(email):
            return tier.name
    return config.tiers[-1].name


def policy_for(
    tier: str, priority: str, channel: str, category: str | None, config: Config
) -> SlaPolicy:
    """The first SLA policy whose ``when`` matches the ticket.

    A valid config always has one, because its last policy matches every ticket.
    """
    for policy in config.sla_policies:
        if policy.when.matches(tier, priority, channel, category):
            return policy
    raise LookupError(f"no SLA policy matches tier={tier} priority={priority} channel={channel}")


def triage(inp: TriageInput, config: Config) -> Triage:
    """Apply the routing rules in order; each matching rule applies its ``set``.

    A rule only ever raises the priority (the base is ``inp.priority`` when an agent set
    one, else what ``form.urgency`` makes of the form's urgency, else normal), the last
    rule that sets a team or a category wins (the team defaults to ``default_team``, the
    category to what ``form.topics`` makes of the form's topic, else ``default_category``),
    and tags accumulate.
    A rule's ``category`` condition sees the category as set by the rules before it.
    """
    if inp.priority is not None and inp.priority not in PRIORITY_ORDER:
        raise ValueError(f"unknown priority {inp.priority!r}")
    # The config says what the form's urgency and topic mean; a ticket no topic names gets
    # the desk's default category, whichever channel it came by.
    priority = inp.priority or config.form.priority_for(inp.urgency) or "normal"
    category = config.form.category_for(inp.category) or config.default_category
    team: str | None = None
    tags: dict[str, None] = {}
    searchable = _fold(f"{inp.subject}\n{inp.text}")
    for rule in config.routing:
        if not _rule_matches(rule.when, inp, category, searchable):
            continue
        chosen = rule.set_
        if (
            chosen.priority is not None
            and PRIORITY_ORDER[chosen.priority] > PRIORITY_ORDER[priority]
        ):
            priority = chosen.priority
        category = chosen.category or category
        team = chosen.team or team
        tags.update(dict.fromkeys(chosen.tags))
    language = (
        inp.language if inp.language in config.helpdesk.languages else config.default_language
    )
    policy = policy_for(inp.tier, priority, inp.channel, category, config)
    return Triage(
        priority=priority,
        category=category,
        team=team or config.default_team,
        policy=policy.name,
        language=language,
        tags=tuple(tags),
    )


def keywords_match(keywords: tuple[str, ...], text: str) -> bool:
    """True when any keyword occurs in ``text``.

    Case-insensitive, with ё read as е (Russian writes both for the same word). Keywords in
    spaced scripts match whole words only ("down" is not in "downtown"), or, ending in
    ``*``, the words they begin ("refund*": refunds, refunded; "возврат*": возврата);
    keywords in Chinese, Japanese or Korean match anywhere, since those scripts have no
    spaces.
    """
    return _keywords_found(keywords, _fold(text))


def _keywords_found(keywords: tuple[str, ...], folded: str) -> bool:
    """Whether a keyword's pattern matches in the folded text ``folded``. A match holds
    the keyword's first word as it is, so the text must hold one of those words first:
    a substring search, much cheaper than the pattern's, settles most mail (which names
    none of them) without the pattern."""
    first_words = _first_words(keywords)
    if first_words is not None and not any(word in folded for word in first_words):
        return False
    return _keyword_pattern(keywords).search(folded) is not None


def _rule_matches(
    condition: RuleCondition, inp: TriageInput, category: str | None, searchable: str
) -> bool:
    checks = (
        (condition.tier, inp.tier),
        (condition.channel, inp.channel),
        (condition.language, inp.language),
        (condition.category, category),
        (condition.urgency, inp.urgency),
    )
    if any(allowed is not None and actual not in allowed for allowed, actual in checks):
        return False
    return not condition.keywords or _keywords_found(condition.keywords, searchable)


def _fold(text: str) -> str:
    # NFKC first, so that full-width Latin (ＵＲＧＥＮＴ) and a decomposed ё compare equal.
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


@lru_cache(maxsize=256)
def _first_words(keywords: tuple[str, ...]) -> tuple[str, ...] | None:
    """The folded first word of each keyword (what :func:`_keyword_pattern` matches
    literally at the start of its alternative), or None when a keyword has none."""
    first_words = [_fold(keyword).rstrip("*").split()[:1] for keyword in keywords]
    if not all(first_words):
        return None
    return tuple(word for (word,) in first_words)


@lru_cache(maxsize=256)
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = []
    for keyword in keywords:
        folded = _fold(keyword).strip()
        # "refund*": the words it begins (config.Keyword allows the star only at the end).
        prefix = folded.endswith("*")
        folded = folded.rstrip("*").rstrip()
        # Words of a phrase may be separated by any run of white space, line breaks included.
        body = r"\s+".join(re.escape(word) for word in folded.split())
        if _HAS_CJK.search(folded):
            alternatives.append(body)
        elif prefix:
            first = re.escape(folded[0])
            alternatives.append(f"{first}(?<!{_SPACED_WORD_CHAR}{first}){body[len(first) :]}")
        else:
            # Not after a word character: written after the keyword's first letter, as a
            # look-behind over that letter and the one before it, so that every alternative
            # starts with a letter and the search skips ahead to those letters instead of
            # trying the look-behind at every position (ten times faster on a 5 KB mail).
            first = re.escape(folded[0])
            rest = body[len(first) :]
            alternatives.append(
                f"{first}(?<!{_SPACED_WORD_CHAR}{first}){rest}(?!{_SPACED_WORD_CHAR})"
            )
    # Matches nothing when there are no keywords: (?!) always fails.
    return re.compile("|".join(alternatives) or "(?!)")
