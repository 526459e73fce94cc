"""Durations as ops write them in the config file: ``15m``, ``2h``, ``1h30m``, ``4d``.

A deliberately small grammar instead of ISO 8601 (``PT1H30M``): the people editing
``helpdesk.yaml`` read it at a glance and cannot confuse minutes with months.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))

# Units in falling order, each at most once: "1h30m" but never "30m1h" or "1h1h", so that
# every duration has exactly one spelling and a typo cannot pass as something else.
_DURATION = re.compile(
    r"""\s*
    (?:(?P<d>\d+)\s*d)?\s*
    (?:(?P<h>\d+)\s*h)?\s*
    (?:(?P<m>\d+)\s*m)?\s*
    (?:(?P<s>\d+)\s*s)?\s*""",
    re.VERBOSE,
)

_HOW_TO_WRITE = "write it like 15m, 2h, 1h30m or 4d"


def parse_duration(text: str) -> timedelta:
    """Parse ``"1h30m"``-style text (units d, h, m, s in that order) into a timedelta.

    Raises ValueError naming the text and the expected form; a bare number is refused
    because nobody can tell whether ``90`` means seconds or minutes.
    """
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text.strip()!r} is not a duration: {_HOW_TO_WRITE}")
    seconds = sum(int(match[unit] or 0) * size for unit, size in _UNIT_SECONDS)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text.strip()!r} is too long a duration") from None


def format_duration(duration: timedelta) -> str:
    """The canonical spelling of ``duration``: ``timedelta(seconds=5400)`` gives ``"1h30m"``.

    The inverse of :func:`parse_duration` for whole, non-negative seconds (zero is ``"0s"``).
    """
    if duration < timedelta(0):
        raise ValueError(f"{duration} is negative; durations in the config are never negative")
    if duration.microseconds:
        raise ValueError(f"{duration} is not a whole number of seconds")
    remaining = int(duration.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
