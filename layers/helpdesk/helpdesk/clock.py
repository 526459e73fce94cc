"""The one seam through which the domain reads the time.

Deployed code always reads the system clock. The local stack replaces the source so that a
scenario can start at a given instant and `advance: 3h` moves every function's idea of now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    if _source is not None:
        return _source()
    return datetime.now(UTC)


def set_source(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (local stack and tests only); None restores the system clock."""
    global _source  # noqa: PLW0603 - a process-wide seam is the point of this module
    _source = source


def iso(instant: datetime) -> str:
    """ISO 8601 with offset, in UTC, to the second: the format of every stored time."""
    return instant.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    """Inverse of :func:`iso`; naive values are taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def hour_window(instant: datetime) -> str:
    """The UTC clock hour of ``instant`` (``2026112308``): the window of every hourly count
    (the acknowledgement caps, the mail sent to an address, complaints), so that an
    acknowledgement intake counted goes out in the same hour's count or in a later one."""
    return instant.astimezone(UTC).strftime("%Y%m%d%H")
