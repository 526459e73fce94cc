"""Business-hours calendars: how much working time lies between two instants.

Opening hours are wall-clock times in the calendar's IANA zone, so "09:00-17:00" means nine
in the morning all year round, in winter and in summer time. Every computation first turns a
local day's opening hours into real instants and then works on those instants only, which
keeps ``add``, ``elapsed``, ``is_open`` and ``open_intervals`` consistent with each other.

How a wall-clock time becomes an instant (the DST choice):
a wall-clock time maps to the *first instant whose local time is at or after it*.

- An ordinary time has exactly one instant.
- An ambiguous time (fall-back: 02:30 happens twice in Berlin on the last Sunday of October)
  takes its first occurrence, ``fold=0`` in PEP 495 terms. An interval 01:00-04:00 that day
  is therefore four real hours long, and an interval 02:15-02:45 is open during the first
  02:30 only.
- A nonexistent time (spring-forward gap: 02:30 never happens in Berlin on the last Sunday
  of March) takes the instant right after the gap, 03:00 CEST. An interval 01:00-04:00 that
  day is two real hours long; 02:15-02:45 that day has no open time at all.

The open time of an interval is the real time elapsed between its two instants.

No library on our pinned dependency list computes working time in a zone with DST, which is
why this is written out here; it iterates over days and intervals, never over minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["MINUTES_PER_DAY", "BusinessCalendar"]

MINUTES_PER_DAY = 1440

# ``add`` and ``next_open`` give up after this many consecutive days without open time, so
# that a calendar whose holidays or weekly hours leave nothing open fails instead of looping.
_CLOSED_HORIZON_DAYS = 2 * 366

# Days whose intervals are kept; a year of ``elapsed`` needs 366, the horizon about 730.
_DAY_CACHE_LIMIT = 4096

_ONE_DAY = timedelta(days=1)
_SMALLEST_STEP = timedelta(microseconds=1)

Interval = tuple[datetime, datetime]


class BusinessCalendar:
    """Weekly opening hours plus holidays in one time zone.

    ``weekly`` maps Monday=0 .. Sunday=6 to sorted, non-overlapping, half-open
    minute-of-day intervals ``[start, end)`` with ``0 <= start < end <= 1440`` (1440 is
    24:00, the end of the day). A day missing from ``weekly`` is closed, and so is every
    local date in ``holidays``. Inputs must be timezone-aware; every returned instant is
    in UTC.
    """

    def __init__(
        self,
        timezone: str,
        weekly: Mapping[int, Sequence[tuple[int, int]]],
        holidays: Iterable[date] = (),
    ) -> None:
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {timezone!r}") from error
        unknown_days = set(weekly) - set(range(7))
        if unknown_days:
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), got {sorted(unknown_days)}")
        self._timezone = timezone
        self._weekly = tuple(
            _validated_intervals(weekday, weekly.get(weekday, ())) for weekday in range(7)
        )
        self._holidays = frozenset(holidays)
        self._day_cache: dict[date, tuple[Interval, ...]] = {}

    @classmethod
    def always(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A calendar that is open around the clock, every day (24x7)."""
        return cls(timezone, {weekday: [(0, MINUTES_PER_DAY)] for weekday in range(7)})

    @property
    def timezone(self) -> str:
        """The IANA zone name the opening hours are read in."""
        return self._timezone

    @property
    def weekly(self) -> Mapping[int, tuple[tuple[int, int], ...]]:
        """Opening hours per weekday (Monday=0), as minute-of-day intervals; closed days omitted."""
        return {weekday: hours for weekday, hours in enumerate(self._weekly) if hours}

    @property
    def holidays(self) -> frozenset[date]:
        """The local dates on which the calendar is closed all day."""
        return self._holidays

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self._timezone!r}, {dict(self.weekly)!r}, "
            f"holidays={sorted(self._holidays)!r})"
        )

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The first instant at which ``duration`` of business time has elapsed since ``start``.

        A duration used up exactly at the end of an interval gives that end (17:00), not the
        next opening, so ``add(add(t, a), b) == add(t, a + b)`` and
        ``elapsed(t, add(t, d)) == d``. A zero duration returns ``start`` itself (in UTC),
        even when the calendar is closed then. Raises ValueError for a negative duration and
        when there is no open time within two years.
        """
        origin = _as_utc(start)
        if duration < timedelta(0):
            raise ValueError(f"cannot add a negative business duration ({duration})")
        if not duration:
            return origin
        self._require_some_open_time()
        remaining = duration
        intervals = self._intervals_from(origin, until=None)
        while True:
            opens, closes = next(intervals)
            length = closes - opens
            if remaining <= length:
                return opens + remaining
            remaining -= length

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants; zero when ``end`` is not after ``start``."""
        origin, until = _as_utc(start), _as_utc(end)
        total = timedelta(0)
        if until <= origin:
            return total
        for opens, closes in self._intervals_from(origin, until=until):
            total += closes - opens
        return total

    def is_open(self, at: datetime) -> bool:
        """Whether the calendar is open at this instant (an interval's start is, its end not)."""
        instant = _as_utc(at)
        return any(True for _ in self._intervals_from(instant, until=instant + _SMALLEST_STEP))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) when open, otherwise the next opening.

        Raises ValueError when there is no open time within two years.
        """
        instant = _as_utc(at)
        self._require_some_open_time()
        opens, _ = next(self._intervals_from(instant, until=None))
        return opens

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals ``[opens, closes)`` within ``[start, end)``, clipped to it.

        Intervals that touch (22:00-24:00 then 00:00-02:00 the next day) come out as one.
        """
        origin, until = _as_utc(start), _as_utc(end)
        pending: Interval | None = None
        for opens, closes in self._intervals_from(origin, until=until):
            if pending is None:
                pending = (opens, closes)
            elif opens <= pending[1]:
                pending = (pending[0], max(pending[1], closes))
            else:
                yield pending
                pending = (opens, closes)
        if pending is not None:
            yield pending

    def _require_some_open_time(self) -> None:
        if not any(self._weekly):
            raise ValueError("the calendar has no opening hours on any weekday")

    def _intervals_from(self, start: datetime, until: datetime | None) -> Iterator[Interval]:
        """Non-empty open intervals clipped to ``[start, until)``, in order.

        Without ``until`` the iterator is endless, except that it raises ValueError after
        ``_CLOSED_HORIZON_DAYS`` days in a row without open time.
        """
        # Earlier local dates end by this date's midnight instant, which is never after
        # ``start``. The day after ``until``'s local date is still read: in a zone that falls
        # back across midnight the next day's 00:00 first occurs before the repeated hour ends.
        day = start.astimezone(self._zone).date()
        last_day = None if until is None else until.astimezone(self._zone).date() + _ONE_DAY
        closed_days = 0
        while last_day is None or day <= last_day:
            found = False
            for opens, closes in self._day_intervals(day):
                clipped_opens = max(opens, start)
                clipped_closes = closes if until is None else min(closes, until)
                if clipped_opens < clipped_closes:
                    found = True
                    yield clipped_opens, clipped_closes
            if until is None:
                closed_days = 0 if found else closed_days + 1
                if closed_days > _CLOSED_HORIZON_DAYS:
                    raise ValueError(
                        f"no open time in the {_CLOSED_HORIZON_DAYS} days after {start.isoformat()}"
                    )
            day += _ONE_DAY

    def _day_intervals(self, day: date) -> tuple[Interval, ...]:
        """One local date's open intervals as UTC instants; empty ones (inside a gap) dropped."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        intervals: tuple[Interval, ...] = ()
        if day not in self._holidays:
            midnight = datetime.combine(day, time())
            instants = (
                (
                    self._first_instant_at_or_after(midnight + timedelta(minutes=start)),
                    self._first_instant_at_or_after(midnight + timedelta(minutes=end)),
                )
                for start, end in self._weekly[day.weekday()]
            )
            intervals = tuple((opens, closes) for opens, closes in instants if opens < closes)
        if len(self._day_cache) >= _DAY_CACHE_LIMIT:
            self._day_cache.clear()
        self._day_cache[day] = intervals
        return intervals

    def _first_instant_at_or_after(self, wall: datetime) -> datetime:
        """The instant of a naive local wall-clock time, by the rule in the module docstring."""
        # PEP 495: fold=0 is the first occurrence of an ambiguous time.
        instant = wall.replace(tzinfo=self._zone, fold=0).astimezone(UTC)
        if instant.astimezone(self._zone).replace(tzinfo=None) == wall:
            return instant
        return self._end_of_gap(wall)

    def _end_of_gap(self, wall: datetime) -> datetime:
        """The transition instant that skips over the nonexistent wall time ``wall``."""
        # In a gap, PEP 495 maps fold=0 with the offset before the transition (an instant
        # after it) and fold=1 with the offset after it (an instant before it), so the
        # transition lies in (after_gap_offset, before_gap_offset]; tzdata transitions fall
        # on whole seconds, so a binary search over seconds finds it.
        earlier = wall.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        later = wall.replace(tzinfo=self._zone, fold=0).astimezone(UTC)
        offset_before = earlier.astimezone(self._zone).utcoffset()
        low, high = 0, int((later - earlier).total_seconds())
        while high - low > 1:
            middle = (low + high) // 2
            probe = earlier + timedelta(seconds=middle)
            if probe.astimezone(self._zone).utcoffset() == offset_before:
                low = middle
            else:
                high = middle
        return earlier + timedelta(seconds=high)


def _validated_intervals(
    weekday: int, intervals: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """The day's intervals as a tuple, or ValueError if they are out of range or overlap."""
    checked: list[tuple[int, int]] = []
    previous_end = 0
    for start, end in intervals:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(
                f"weekday {weekday}: interval ({start}, {end}) must satisfy "
                f"0 <= start < end <= {MINUTES_PER_DAY}"
            )
        if start < previous_end:
            raise ValueError(f"weekday {weekday}: intervals must be sorted and not overlap")
        checked.append((start, end))
        previous_end = end
    return tuple(checked)


def _as_utc(instant: datetime) -> datetime:
    """The same instant in UTC; ValueError for a naive datetime, whose instant is unknown."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)
