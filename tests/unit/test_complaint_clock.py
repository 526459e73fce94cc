"""The complaint clock in the SLA engine and the config: its target, what never restarts
it, what answers it, how a priority change moves it, and how it is stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpdesk import sla
from helpdesk.aws import sla_codec
from helpdesk.calendar import BusinessCalendar
from helpdesk.config import ConfigError, load_config, parse_config

OFFICE = BusinessCalendar("Europe/Berlin", {weekday: [(9 * 60, 17 * 60)] for weekday in range(5)})
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
CONFIG_PATH = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"


@dataclass(frozen=True)
class Targets:
    first_response: timedelta | None = timedelta(hours=4)
    next_response: timedelta | None = timedelta(hours=8)
    resolution: timedelta | None = timedelta(hours=40)


def with_complaints(config_text: str, section: str) -> str:
    """The config file's text with its ``complaints:`` section replaced by ``section``."""
    start = config_text.index("\ncomplaints:")
    end = config_text.index("\nrobots:", start)
    return config_text[:start] + "\n" + section + "\n" + config_text[end:]


def opened() -> sla.SlaState:
    return sla.start(MONDAY, "standard", Targets(), 0.8, OFFICE)


def test_a_complaint_runs_its_clock_in_business_hours() -> None:
    # Friday 16:00 in Berlin: one business hour left that day, three on Monday.
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    state, started = sla.complained(opened(), friday, timedelta(hours=4), OFFICE)

    assert started is True
    clock = state.clocks["complaint"]
    assert clock.due == datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # Monday 12:00 Berlin
    assert state.public_view()["complaint_due"] == clock.due.isoformat()


def test_a_second_complaint_never_restarts_nor_moves_the_running_clock() -> None:
    state, _ = sla.complained(opened(), MONDAY, timedelta(hours=4), OFFICE)

    again, started = sla.complained(state, MONDAY + timedelta(hours=2), timedelta(hours=1), OFFICE)

    assert started is False
    assert again == state


def test_answering_the_complaint_records_a_run_met_before_its_due() -> None:
    state, _ = sla.complained(opened(), MONDAY, timedelta(hours=4), OFFICE)

    answered = sla.complaint_answered(state, MONDAY + timedelta(hours=1), OFFICE)

    [run] = [r for r in answered.history if r.name == "complaint"]
    assert (run.breached, run.achieved_at) == (False, MONDAY + timedelta(hours=1))
    # The other clocks still run: answering a complaint is not the first response.
    assert answered.clocks["first_response"].achieved_at is None


def test_the_complaint_clock_keeps_running_while_the_ticket_is_pending() -> None:
    state, _ = sla.complained(opened(), MONDAY, timedelta(hours=4), OFFICE)

    pending = sla.status_changed(state, "open", "pending", MONDAY + timedelta(hours=1), OFFICE)

    assert pending.clocks["complaint"].is_running
    assert not pending.clocks["resolution"].is_running


def test_solving_the_ticket_stops_the_complaint_clock_and_reopening_does_not_restart_it() -> None:
    state, _ = sla.complained(opened(), MONDAY, timedelta(hours=4), OFFICE)
    solved = sla.status_changed(state, "open", "solved", MONDAY + timedelta(hours=1), OFFICE)

    reopened = sla.status_changed(solved, "solved", "open", MONDAY + timedelta(hours=2), OFFICE)

    assert solved.clocks["complaint"].is_finished
    assert reopened.clocks["complaint"].is_finished


def test_a_priority_change_gives_the_running_complaint_the_new_target_with_the_time_used() -> None:
    state, _ = sla.complained(opened(), MONDAY, timedelta(hours=4), OFFICE)

    moved = sla.retarget(
        state,
        "standard",
        Targets(),
        warn_at=0.8,
        at=MONDAY + timedelta(hours=1),
        calendar=OFFICE,
        complaint_target=timedelta(hours=2),
    )

    assert moved.clocks["complaint"].due == MONDAY + timedelta(hours=2)
    assert moved.targets["complaint"] == timedelta(hours=2)


def test_a_ticket_without_a_complaint_stores_no_complaint_target() -> None:
    stored = opened().to_dict()

    assert "complaint" not in stored["targets"]
    assert "complaint" not in sla_codec.pack(stored)


def test_a_complaint_clock_survives_the_stored_form_exactly_in_fewer_bytes() -> None:
    state, _ = sla.complained(opened(), MONDAY, timedelta(hours=4), OFFICE)
    state = sla.complaint_answered(state, MONDAY + timedelta(minutes=30), OFFICE)
    stored = state.to_dict()

    packed = sla_codec.pack(stored)

    assert sla_codec.unpack(packed) == stored
    assert sla.SlaState.from_dict(sla_codec.unpack(packed)) == state
    assert len(packed) < len(json.dumps(stored, separators=(",", ":")))


def test_the_complaint_target_is_the_policys_own_else_the_desks() -> None:
    config = load_config(CONFIG_PATH)
    text = CONFIG_PATH.read_text(encoding="utf-8").replace(
        "urgent: {first_response: 15m, next_response: 30m, resolution: 4h}",
        "urgent: {first_response: 15m, next_response: 30m, resolution: 4h, complaint: 1h}",
    )
    own = parse_config(
        with_complaints(text, "complaints: {respond_within: 2h, per_ticket_per_hour: 3}")
    )

    assert config.complaint_target("standard", "normal") == timedelta(hours=4)
    assert own.complaint_target("vip", "urgent") == timedelta(hours=1)
    assert own.complaint_target("vip", "normal") == timedelta(hours=2)
    assert own.complaint_target("gone", "normal") == timedelta(hours=2)
    assert own.complaints.per_ticket_per_hour == 3


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ("complaints: {respond_within: -1h}", "respond_within"),
        ("complaints: {per_ticket_per_hour: 0}", "per_ticket_per_hour"),
        ("complaints: {respond_in: 2h}", "respond_in"),
    ],
)
def test_a_wrong_complaints_section_is_refused_naming_the_key(section: str, named: str) -> None:
    text = with_complaints(CONFIG_PATH.read_text(encoding="utf-8"), section)

    with pytest.raises(ConfigError) as refused:
        parse_config(text)

    assert named in str(refused.value)


def test_events_carry_the_clocks_keys_only_once_they_are_set() -> None:
    # A new ticket's TicketOpened is written into its outbox item: its nulls cost a write
    # unit per ticket (helpdesk bench).
    view = opened().event_view()
    assert "complaint_due" not in view and "first_response_at" not in view
    assert "breaches" not in view
    assert view["first_response_due"] == opened().public_view()["first_response_due"]
    assert opened().public_view()["complaint_due"] is None

    state, _ = sla.complained(opened(), MONDAY, timedelta(hours=4), OFFICE)

    assert state.event_view() == {
        key: value
        for key, value in state.public_view().items()
        if value is not None and value != []
    }
    assert state.event_view()["complaint_due"] == (MONDAY + timedelta(hours=4)).isoformat()
