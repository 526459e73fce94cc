"""Durations as ops write them in helpdesk.yaml, read and written back."""

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("4d", timedelta(days=4)),
        ("30d", timedelta(days=30)),
        ("90s", timedelta(seconds=90)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("0s", timedelta(0)),
    ],
)
def test_durations_are_read_as_written(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["2x", "90", "", "   ", "30m1h", "1h1h", "h", "1.5h", "-1h", "2 hours"]
)
def test_anything_else_is_refused_with_an_example_of_the_right_form(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration: write it like 15m, 2h, 1h30m or 4d"):
        parse_duration(text)


def test_the_refusal_quotes_what_was_written() -> None:
    with pytest.raises(ValueError, match=r"^'2x' is not a duration"):
        parse_duration("2x")


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(seconds=5400), "1h30m"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(minutes=15), "15m"),
        (timedelta(days=30), "30d"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(0), "0s"),
    ],
)
def test_durations_are_written_in_their_shortest_canonical_form(
    duration: timedelta, expected: str
) -> None:
    assert format_duration(duration) == expected


def test_negative_and_fractional_durations_have_no_spelling() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(minutes=-5))
    with pytest.raises(ValueError, match="whole number of seconds"):
        format_duration(timedelta(seconds=1.5))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10_000 * 86_400))
def test_writing_then_reading_a_duration_gives_it_back(seconds: int) -> None:
    duration = timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration)) == duration
