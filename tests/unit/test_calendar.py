"""BusinessCalendar on readable cases: office hours, weekends, holidays, DST, 24x7."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.calendar import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_FIVE = [(9 * 60, 17 * 60)]
WEEKDAYS = range(5)


def office(timezone: str = "Europe/Berlin", holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    """Monday to Friday, 09:00-17:00 local time."""
    return BusinessCalendar(timezone, dict.fromkeys(WEEKDAYS, NINE_TO_FIVE), holidays)


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """A Berlin wall-clock time as a UTC instant; fold=1 is a repeated time's second occurrence.

    In UTC because PEP 495 makes a fold=1 time unequal to every instant in another zone.
    """
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def new_york(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """A New York wall-clock time as a UTC instant; fold=1 is a repeated time's second occurrence.

    In UTC because PEP 495 makes a fold=1 time unequal to every instant in another zone.
    """
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK, fold=fold).astimezone(UTC)


hours = timedelta(hours=1)
minutes = timedelta(minutes=1)


# Weekends, evenings, exact ends


def test_a_friday_evening_ticket_is_answered_on_monday_morning() -> None:
    friday_evening = berlin(2026, 3, 13, 18, 30)

    assert office().add(friday_evening, 3 * hours + 30 * minutes) == berlin(2026, 3, 16, 12, 30)


def test_time_used_up_exactly_at_closing_ends_at_closing_not_at_the_next_opening() -> None:
    monday_morning = berlin(2026, 3, 16, 9, 0)

    assert office().add(monday_morning, 8 * hours) == berlin(2026, 3, 16, 17, 0)
    assert office().add(monday_morning, 8 * hours + minutes) == berlin(2026, 3, 17, 9, 1)


def test_a_ticket_opened_before_opening_starts_counting_at_opening() -> None:
    early_monday = berlin(2026, 3, 16, 6, 45)

    assert office().add(early_monday, 30 * minutes) == berlin(2026, 3, 16, 9, 30)
    assert office().elapsed(early_monday, berlin(2026, 3, 16, 9, 30)) == 30 * minutes


def test_elapsed_over_a_weekend_counts_only_office_hours() -> None:
    friday_morning = berlin(2026, 3, 13, 9, 0)
    monday_evening = berlin(2026, 3, 16, 17, 0)

    assert office().elapsed(friday_morning, monday_evening) == 16 * hours
    assert office().elapsed(monday_evening, friday_morning) == timedelta(0)


def test_adding_nothing_returns_the_same_instant_in_utc_even_when_closed() -> None:
    saturday = berlin(2026, 3, 14, 11, 0)

    result = office().add(saturday, timedelta(0))

    assert result == saturday
    assert result.tzinfo == UTC


def test_results_are_in_utc() -> None:
    result = office().add(berlin(2026, 3, 16, 9, 0), hours)

    assert result.tzinfo == UTC
    assert result == datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


# Holidays and year end


def test_christmas_holidays_push_a_wednesday_ticket_to_the_monday_after() -> None:
    christmas = (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26))
    wednesday_afternoon = berlin(2026, 12, 23, 16, 0)

    due = office(holidays=christmas).add(wednesday_afternoon, 4 * hours)

    assert due == berlin(2026, 12, 28, 12, 0)


def test_a_holiday_on_a_weekend_changes_nothing() -> None:
    saturday_holiday = (date(2026, 12, 26),)
    friday = berlin(2026, 12, 25, 15, 0)

    assert office(holidays=saturday_holiday).add(friday, 5 * hours) == office().add(
        friday, 5 * hours
    )
    assert office(holidays=saturday_holiday).elapsed(friday, berlin(2026, 12, 29)) == 10 * hours


def test_the_year_end_rolls_over_to_the_first_working_day_of_the_new_year() -> None:
    new_years_day = (date(2027, 1, 1),)
    new_years_eve = berlin(2026, 12, 31, 16, 0)

    assert office(holidays=new_years_day).add(new_years_eve, 2 * hours) == berlin(2027, 1, 4, 10, 0)


def test_eighty_hours_across_weeks_with_holidays_land_on_the_right_day() -> None:
    easter = (date(2026, 4, 3), date(2026, 4, 6))
    monday = berlin(2026, 3, 30, 9, 0)

    # 8 h a day: Mon-Thu (32 h), Tue-Fri after Easter Monday (64 h), then 16 h more.
    assert office(holidays=easter).add(monday, 80 * hours) == berlin(2026, 4, 14, 17, 0)


def test_elapsed_across_a_year_counts_every_working_day() -> None:
    calendar = office("UTC")
    working_days_in_2026 = 261

    elapsed = calendar.elapsed(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))

    assert elapsed == working_days_in_2026 * 8 * hours


# DST in Berlin (last Sundays of March and October 2026)


def test_two_hours_around_the_clock_over_the_berlin_spring_forward_land_at_half_past_four() -> None:
    one_thirty_winter_time = berlin(2026, 3, 29, 1, 30)

    due = BusinessCalendar.always("Europe/Berlin").add(one_thirty_winter_time, 2 * hours)

    assert due == berlin(2026, 3, 29, 4, 30)
    assert due - one_thirty_winter_time == 2 * hours


def test_two_hours_around_the_clock_over_the_berlin_fall_back_land_in_the_repeated_hour() -> None:
    one_thirty_summer_time = berlin(2026, 10, 25, 1, 30)

    due = BusinessCalendar.always("Europe/Berlin").add(one_thirty_summer_time, 2 * hours)

    assert due == berlin(2026, 10, 25, 2, 30, fold=1)
    assert due.astimezone(BERLIN).utcoffset() == hours


def test_an_office_day_keeps_eight_hours_across_the_berlin_clock_changes() -> None:
    friday_before_spring = berlin(2026, 3, 27, 16, 0)
    friday_before_autumn = berlin(2026, 10, 23, 16, 0)

    assert office().add(friday_before_spring, 2 * hours) == berlin(2026, 3, 30, 10, 0)
    assert office().add(friday_before_autumn, 2 * hours) == berlin(2026, 10, 26, 10, 0)
    assert office().elapsed(friday_before_spring, berlin(2026, 3, 30, 17, 0)) == 9 * hours


def test_night_hours_spanning_the_change_are_two_real_hours_in_spring_and_four_in_autumn() -> None:
    nights = BusinessCalendar("Europe/Berlin", {6: [(60, 240)]})

    spring = nights.elapsed(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 29, 6, 0))
    autumn = nights.elapsed(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 25, 6, 0))

    assert (spring, autumn) == (3 * hours - hours, 3 * hours + hours)


def test_hours_inside_the_repeated_hour_are_open_only_the_first_time_round() -> None:
    repeated_hour = BusinessCalendar("Europe/Berlin", {6: [(2 * 60 + 15, 2 * 60 + 45)]})

    assert repeated_hour.is_open(berlin(2026, 10, 25, 2, 30, fold=0))
    assert not repeated_hour.is_open(berlin(2026, 10, 25, 2, 30, fold=1))


def test_hours_that_fall_into_the_skipped_hour_have_no_open_time() -> None:
    skipped_hour = BusinessCalendar("Europe/Berlin", {6: [(2 * 60 + 15, 2 * 60 + 45)]})

    day = skipped_hour.elapsed(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0))

    assert day == timedelta(0)
    assert skipped_hour.next_open(berlin(2026, 3, 29, 0, 0)) == berlin(2026, 4, 5, 2, 15)


# DST in New York (second Sunday of March, first Sunday of November 2026)


def test_an_hour_around_the_clock_over_the_new_york_spring_forward_skips_two_oclock() -> None:
    due = BusinessCalendar.always("America/New_York").add(new_york(2026, 3, 8, 1, 30), hours)

    assert due == new_york(2026, 3, 8, 3, 30)


def test_an_hour_around_the_clock_over_the_new_york_fall_back_repeats_half_past_one() -> None:
    due = BusinessCalendar.always("America/New_York").add(new_york(2026, 11, 1, 1, 30), hours)

    assert due == new_york(2026, 11, 1, 1, 30, fold=1)


def test_hours_starting_in_the_new_york_gap_open_right_after_it() -> None:
    sunday_early = BusinessCalendar("America/New_York", {6: [(2 * 60 + 30, 5 * 60)]})

    assert sunday_early.next_open(new_york(2026, 3, 8, 0, 0)) == new_york(2026, 3, 8, 3, 0)
    assert sunday_early.elapsed(new_york(2026, 3, 8), new_york(2026, 3, 9)) == 2 * hours


def test_a_new_york_office_ticket_over_the_november_weekend_keeps_local_hours() -> None:
    friday = new_york(2026, 10, 30, 15, 0)

    assert office("America/New_York").add(friday, 4 * hours) == new_york(2026, 11, 2, 11, 0)


# Unusual calendars


def test_a_tuesday_only_calendar_carries_work_over_to_the_next_tuesday() -> None:
    tuesday_mornings = BusinessCalendar("Europe/Berlin", {1: [(10 * 60, 12 * 60)]})
    wednesday = berlin(2026, 3, 18, 9, 0)

    assert tuesday_mornings.add(wednesday, 3 * hours) == berlin(2026, 3, 31, 11, 0)
    assert tuesday_mornings.next_open(wednesday) == berlin(2026, 3, 24, 10, 0)


def test_around_the_clock_business_time_is_real_time() -> None:
    start = datetime(2026, 2, 27, 22, 15, tzinfo=UTC)
    always = BusinessCalendar.always()

    assert always.add(start, 100 * hours) == start + 100 * hours
    assert always.elapsed(start, start + 100 * hours) == 100 * hours
    assert always.is_open(start)


def test_split_shifts_count_both_halves_and_skip_lunch() -> None:
    split = BusinessCalendar("UTC", {0: [(8 * 60, 12 * 60), (13 * 60, 17 * 60)]})
    monday = datetime(2026, 3, 16, 11, 0, tzinfo=UTC)

    assert split.add(monday, 2 * hours) == datetime(2026, 3, 16, 14, 0, tzinfo=UTC)
    assert not split.is_open(datetime(2026, 3, 16, 12, 30, tzinfo=UTC))


def test_night_shifts_ending_at_midnight_continue_into_the_next_morning() -> None:
    nights = BusinessCalendar("UTC", {0: [(22 * 60, 24 * 60)], 1: [(0, 2 * 60)]})
    monday_night = datetime(2026, 3, 16, 23, 0, tzinfo=UTC)

    assert nights.add(monday_night, 2 * hours) == datetime(2026, 3, 17, 1, 0, tzinfo=UTC)
    assert list(nights.open_intervals(monday_night - 3 * hours, monday_night + 5 * hours)) == [
        (datetime(2026, 3, 16, 22, 0, tzinfo=UTC), datetime(2026, 3, 17, 2, 0, tzinfo=UTC))
    ]


def test_an_interval_opens_at_its_start_and_is_closed_at_its_end() -> None:
    assert office().is_open(berlin(2026, 3, 16, 9, 0))
    assert not office().is_open(berlin(2026, 3, 16, 17, 0))
    assert office().next_open(berlin(2026, 3, 16, 17, 0)) == berlin(2026, 3, 17, 9, 0)


# Refusals


def test_a_calendar_without_any_opening_hours_refuses_to_add_time() -> None:
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar("UTC", {}).add(datetime(2026, 1, 1, tzinfo=UTC), hours)


def test_a_calendar_closed_by_holidays_for_over_two_years_refuses_to_add_time() -> None:
    first = date(2026, 1, 1)
    holidays = [first + timedelta(days=offset) for offset in range(3 * 366)]
    closed = BusinessCalendar("UTC", {0: NINE_TO_FIVE}, holidays)

    with pytest.raises(ValueError, match="no open time"):
        closed.add(datetime(2026, 1, 1, tzinfo=UTC), hours)


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        office().add(datetime(2026, 3, 16, 9, 0), hours)
    with pytest.raises(ValueError, match="negative"):
        office().add(berlin(2026, 3, 16, 9, 0), -hours)


@pytest.mark.parametrize(
    "weekly",
    [
        {0: [(600, 540)]},
        {0: [(0, 1441)]},
        {0: [(540, 720), (700, 1020)]},
        {7: NINE_TO_FIVE},
    ],
    ids=["end-before-start", "past-midnight", "overlapping", "no-such-weekday"],
)
def test_invalid_opening_hours_are_refused(weekly: dict[int, list[tuple[int, int]]]) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar("UTC", weekly)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        BusinessCalendar("Mars/Olympus_Mons", {0: NINE_TO_FIVE})
