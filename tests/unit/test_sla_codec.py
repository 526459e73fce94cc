"""The ticket's SLA clocks survive the compact stored form exactly, and take less room."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk import sla
from helpdesk.aws import sla_codec
from helpdesk.calendar import BusinessCalendar

OFFICE = BusinessCalendar("Europe/Berlin", {weekday: [(9 * 60, 17 * 60)] for weekday in range(5)})
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, 0, 123456, tzinfo=UTC)


@dataclass(frozen=True)
class Targets:
    first_response: timedelta | None = timedelta(hours=4)
    next_response: timedelta | None = timedelta(hours=8)
    resolution: timedelta | None = timedelta(hours=40)


def a_ticket_that_lived_a_little() -> dict[str, Any]:
    """Clocks started, answered, paused, reopened and warned: every field in use."""
    state = sla.start(MONDAY_MORNING, "normal", Targets(), 0.8, OFFICE)
    state = sla.agent_replied(state, MONDAY_MORNING + timedelta(hours=1), OFFICE)
    state = sla.customer_replied(state, MONDAY_MORNING + timedelta(hours=2), OFFICE)
    state, _ = sla.sweep(state, MONDAY_MORNING + timedelta(days=3))
    return state.to_dict()


def test_the_clocks_of_a_ticket_come_back_exactly_as_they_were_stored() -> None:
    stored = a_ticket_that_lived_a_little()

    assert sla_codec.unpack(sla_codec.pack(stored)) == stored
    assert sla.SlaState.from_dict(sla_codec.unpack(sla_codec.pack(stored))) == (
        sla.SlaState.from_dict(stored)
    )


def test_the_stored_clocks_take_at_most_60_percent_of_the_room_of_the_plain_json() -> None:
    stored = a_ticket_that_lived_a_little()

    plain = json.dumps(stored, separators=(",", ":"))
    assert len(sla_codec.pack(stored).encode()) <= len(plain.encode()) * 0.6


def test_clocks_stored_as_a_map_before_are_read_as_they_are() -> None:
    legacy = {"policy": "standard", "warn_at": Decimal("0.8"), "clocks": {}}

    assert sla_codec.unpack(legacy) == legacy


def test_a_name_that_is_a_stored_short_name_is_refused_rather_than_misread() -> None:
    with pytest.raises(ValueError, match="'p'"):
        sla_codec.pack({"p": 1})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text().filter(lambda key: len(key) > 2), children, max_size=4)
    ),
    max_leaves=12,
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda at: at.isoformat())


# Generating nested JSON is slow on a loaded machine (2 cores, two workers): the health
# check then fails a test whose property held (seen in a full run); the examples stay.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["due", "started_at", "x-y", "~", "name"]), json_values | instants
    )
)
def test_any_json_mapping_comes_back_unchanged(value: dict[str, Any]) -> None:
    assert sla_codec.unpack(sla_codec.pack(value)) == value
