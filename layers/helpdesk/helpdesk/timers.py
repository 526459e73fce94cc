"""Keys of the sparse timer index.

A timer item exists only while a clock runs (an SLA clock, a survey waiting to be sent, a
solved ticket waiting to auto-close). Its index keys are ``TPK = TIMER#<kind>#<shard>`` and
``TSK = <due>#<ref>``, so a sweep asks each shard for ``TSK <= now`` and reads exactly the
work that is due: its cost grows with the work, never with the history. Shards spread the
writes of a busy desk over several partitions (one partition takes ~1,000 writes a second).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

SLA = "sla"
SURVEY = "survey"
AUTOCLOSE = "autoclose"
KINDS: tuple[str, ...] = (SLA, SURVEY, AUTOCLOSE)


@dataclass(frozen=True)
class DueTimer:
    """A timer the index lists as due: its ticket, its kind and the due key it was seen
    with (a sweep moves it only if it still has that key)."""

    ref: str
    kind: str
    due_key: str


def shard_of(ref: str, shards: int) -> int:
    """A stable shard for a ticket (crc32: the same on every host, unlike hash())."""
    return zlib.crc32(ref.encode("ascii")) % max(shards, 1)


def partition(kind: str, shard: int) -> str:
    return f"TIMER#{kind}#{shard}"


def due_key(due: datetime) -> str:
    """Sortable text of an instant (UTC, fixed width), the first part of TSK."""
    return due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sort_key(due: datetime, ref: str) -> str:
    return f"{due_key(due)}#{ref}"
