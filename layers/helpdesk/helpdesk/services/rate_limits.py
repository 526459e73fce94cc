"""The desk's rate limits: one counter per scope and window (an hour, or a UTC day) beside
the tickets, for the web form, the channels, the customer's page and complaints.

A counter is keyed by its window, so an old one is never read again; it is kept one window
past its own (``expires_at``, the table's TTL attribute) and DynamoDB deletes it then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from helpdesk.errors import RateLimited

__all__ = ["DAY", "HOUR", "WindowCounter", "limit_rate"]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class WindowCounter(Protocol):
    """The counters kept beside the tickets (``DynamoRepository.count_in_window``)."""

    def count_in_window(self, scope: str, window: str, *, limit: int, expires_at: int) -> bool:
        """One more in ``scope`` for ``window``; False once over ``limit``."""
        ...


def limit_rate(
    counters: WindowCounter,
    scope: str,
    *,
    limit: int,
    what: str,
    now: datetime,
    per: timedelta = HOUR,
) -> None:
    """One more hit on the counter of ``scope`` in the current window of length ``per``;
    :class:`RateLimited` naming ``what`` once over ``limit``, to be retried when the next
    window starts. Windows start at whole multiples of ``per`` since the Unix epoch: the
    hour, or the UTC day (Unix time counts no leap seconds)."""
    length = int(per.total_seconds())
    at = int(now.timestamp())
    start = at - at % length
    end = start + length
    window = datetime.fromtimestamp(start, UTC).strftime("%Y%m%d%H" if length < 86400 else "%Y%m%d")
    if not counters.count_in_window(scope, window, limit=limit, expires_at=end + length):
        raise RateLimited(what, max(1, end - at))
