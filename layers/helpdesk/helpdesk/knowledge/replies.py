"""Saved replies: an article with ``reply: true``, inserted by an agent with placeholders filled.

A placeholder is a name in single braces, as in the desk's own words files:

=====================  ================================================  ==============
placeholder            what it becomes                                   example
=====================  ================================================  ==============
``{customer_name}``    the contact's name (the address when unknown)     Anna
``{reference}``        the ticket's reference                            HD-7K3M9Q
``{promised_time}``    the promised answer time, as the mail states it   Mon 23 Nov, 13:00
``{agent_name}``       the agent's name from the config                  Lena
=====================  ================================================  ==============

``{{`` and ``}}`` write a literal brace. Any other name in braces is refused by
``helpdesk validate`` (a typo would otherwise reach a customer as ``{custmer_name}``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PLACEHOLDERS", "ReplyValues", "fill", "placeholders_in"]

PLACEHOLDERS: tuple[str, ...] = ("customer_name", "reference", "promised_time", "agent_name")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}\s]*)\}")


@dataclass(frozen=True)
class ReplyValues:
    """What the placeholders of a saved reply become for one ticket."""

    customer_name: str
    reference: str
    promised_time: str
    agent_name: str

    def as_mapping(self) -> Mapping[str, str]:
        return {name: getattr(self, name) for name in PLACEHOLDERS}


def placeholders_in(text: str) -> list[tuple[str, int]]:
    """Each ``{name}`` of ``text`` with its line (from 1), literal braces left out."""
    found = []
    for match in _PLACEHOLDER.finditer(text):
        if match[1] is not None:
            found.append((match[1], text.count("\n", 0, match.start()) + 1))
    return found


def fill(text: str, values: ReplyValues) -> str:
    """``text`` with every placeholder replaced; an unknown one is left as written (validate
    refuses it before it can ship)."""
    mapping = values.as_mapping()

    def replace(match: re.Match[str]) -> str:
        if match[0] in ("{{", "}}"):
            return match[0][0]
        return mapping.get(match[1], match[0])

    return _PLACEHOLDER.sub(replace, text)
