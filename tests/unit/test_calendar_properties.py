"""Properties of BusinessCalendar on random calendars around DST transitions.

The reference is deliberately naive: it walks UTC minute by minute, reads each minute's
local wall-clock time, and opens the minutes from the first one whose wall time is at or
after an interval's start up to the first one at or after its end, which is the rule the
calendar documents. Windows stay within a few days so the walk stays cheap.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpdesk.calendar import MINUTES_PER_DAY, BusinessCalendar

MINUTE = timedelta(minutes=1)

# Instants around which the zones change offset in 2026 (and a year end for all), so that
# random windows keep crossing spring-forward and fall-back gaps and folds.
ANCHORS: Mapping[str, Sequence[datetime]] = {
    "Europe/Berlin": [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
    ],
    "America/New_York": [
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
        datetime(2027, 1, 1, 5, 0, tzinfo=UTC),
    ],
    # Lord Howe Island moves its clocks by only 30 minutes.
    "Australia/Lord_Howe": [
        datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 13, 0, tzinfo=UTC),
    ],
    "Asia/Kolkata": [datetime(2026, 12, 31, 18, 30, tzinfo=UTC)],
    "UTC": [datetime(2027, 1, 1, 0, 0, tzinfo=UTC)],
}

# Boundaries near the local transition times (01:00-03:00) and the ends of the day.
INTERESTING_MINUTES = [0, 60, 90, 120, 135, 150, 165, 180, 240, 540, 1020, 1380, 1440]


@dataclass(frozen=True)
class CalendarSpec:
    """The inputs of a BusinessCalendar, kept so the reference can read them too."""

    timezone: str
    weekly: dict[int, list[tuple[int, int]]]
    holidays: frozenset[date]

    def build(self) -> BusinessCalendar:
        return BusinessCalendar(self.timezone, self.weekly, self.holidays)


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Sorted non-overlapping intervals for one day, often empty, sometimes up to 24:00."""
    minute = st.one_of(st.sampled_from(INTERESTING_MINUTES), st.integers(0, MINUTES_PER_DAY))
    boundaries = sorted(draw(st.lists(minute, max_size=6, unique=True)))
    return list(zip(boundaries[::2], boundaries[1::2], strict=False))


@st.composite
def calendars_and_windows(draw: st.DrawFn) -> tuple[CalendarSpec, datetime, datetime]:
    """A random calendar and a window of up to two days near one of its zone's anchors."""
    timezone = draw(st.sampled_from(sorted(ANCHORS)))
    anchor = draw(st.sampled_from(ANCHORS[timezone]))
    if draw(st.booleans()):
        weekly = {weekday: draw(day_hours()) for weekday in range(7)}
    else:
        # The same hours every day, so that the transition day itself is surely open.
        hours = draw(day_hours())
        weekly = {weekday: hours for weekday in range(7)}
    anchor_date = anchor.date()
    holidays = frozenset(
        draw(
            st.lists(
                st.integers(-3, 3).map(lambda days: anchor_date + timedelta(days=days)),
                max_size=2,
            )
        )
    )
    start = anchor + draw(st.integers(-2 * MINUTES_PER_DAY, MINUTES_PER_DAY)) * MINUTE
    end = start + draw(st.integers(0, 2 * MINUTES_PER_DAY)) * MINUTE
    return CalendarSpec(timezone, weekly, holidays), start, end


def reference_open_minutes(spec: CalendarSpec, start: datetime, end: datetime) -> list[bool]:
    """For each UTC minute in [start, end), whether it is open, found by walking minutes."""
    zone = ZoneInfo(spec.timezone)
    margin = 2 * timedelta(days=1)
    first = start - margin
    count = int((end + margin - first) / MINUTE)
    walls = [
        (first + index * MINUTE).astimezone(zone).replace(tzinfo=None) for index in range(count)
    ]
    highest_so_far = []
    highest = walls[0]
    for wall in walls:
        highest = max(highest, wall)
        highest_so_far.append(highest)
    opened = [False] * count
    day = walls[0].date()
    while day <= walls[-1].date():
        if day not in spec.holidays:
            midnight = datetime.combine(day, time())
            for opens, closes in spec.weekly.get(day.weekday(), []):
                first_open = bisect_left(highest_so_far, midnight + opens * MINUTE)
                first_closed = bisect_left(highest_so_far, midnight + closes * MINUTE)
                for index in range(first_open, first_closed):
                    opened[index] = True
        day += timedelta(days=1)
    offset = int(margin / MINUTE)
    return opened[offset : offset + int((end - start) / MINUTE)]


@settings(max_examples=200, deadline=None)
@given(calendars_and_windows())
def test_elapsed_and_add_agree_with_a_minute_by_minute_walk(
    case: tuple[CalendarSpec, datetime, datetime],
) -> None:
    spec, start, end = case
    calendar = spec.build()
    opened = reference_open_minutes(spec, start, end)

    assert calendar.elapsed(start, end) == opened.count(True) * MINUTE

    open_minute_ends = [
        start + (index + 1) * MINUTE for index, is_open in enumerate(opened) if is_open
    ]
    # Every 37th open minute, plus each last minute before a closing: there ``add`` must
    # return the closing instant itself, not the next opening.
    closing_minutes = {
        minutes
        for minutes, minute_end in enumerate(open_minute_ends, start=1)
        if minutes == len(open_minute_ends) or open_minute_ends[minutes] != minute_end + MINUTE
    }
    for minutes, expected in enumerate(open_minute_ends, start=1):
        if minutes % 37 and minutes not in closing_minutes:
            continue
        result = calendar.add(start, minutes * MINUTE)
        assert result == expected
        assert calendar.elapsed(start, result) == minutes * MINUTE


@settings(max_examples=200, deadline=None)
@given(calendars_and_windows(), st.data())
def test_is_open_next_open_and_open_intervals_agree_with_a_minute_by_minute_walk(
    case: tuple[CalendarSpec, datetime, datetime], data: st.DataObject
) -> None:
    spec, start, end = case
    assume(end > start)
    calendar = spec.build()
    opened = reference_open_minutes(spec, start, end)

    intervals = list(calendar.open_intervals(start, end))
    from_intervals = [
        any(opens <= start + index * MINUTE < closes for opens, closes in intervals)
        for index in range(len(opened))
    ]
    assert from_intervals == opened
    assert all(earlier[1] < later[0] for earlier, later in pairwise(intervals))

    index = data.draw(st.integers(0, len(opened) - 1))
    probe = start + index * MINUTE
    assert calendar.is_open(probe) == opened[index]
    if True in opened[index:]:
        assert calendar.next_open(probe) == start + opened.index(True, index) * MINUTE


@settings(max_examples=200, deadline=None)
@given(
    calendars_and_windows(),
    st.integers(0, 4 * MINUTES_PER_DAY),
    st.integers(0, 4 * MINUTES_PER_DAY),
)
def test_adding_in_two_steps_equals_adding_at_once_and_lands_in_open_hours(
    case: tuple[CalendarSpec, datetime, datetime], first_minutes: int, second_minutes: int
) -> None:
    spec, start, _ = case
    calendar = spec.build()
    assume(any(spec.weekly.values()))
    first, second = first_minutes * MINUTE, second_minutes * MINUTE

    at_once = calendar.add(start, first + second)

    assert calendar.add(calendar.add(start, first), second) == at_once
    assert calendar.elapsed(start, at_once) == first + second
    if first + second:
        around = list(
            calendar.open_intervals(at_once - timedelta(days=1), at_once + timedelta(days=1))
        )
        assert calendar.is_open(at_once) or any(closes == at_once for _, closes in around)
