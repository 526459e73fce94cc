"""SLA clocks of one ticket: first response, next response and resolution in business time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk import sla
from helpdesk.calendar import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar("Europe/Berlin", {weekday: [(9 * 60, 17 * 60)] for weekday in range(5)})
WARN_AT = 0.75

hours = timedelta(hours=1)
minutes = timedelta(minutes=1)


@dataclass(frozen=True)
class Targets:
    """Stands in for helpdesk.config.Targets: only the three attributes matter."""

    first_response: timedelta | None
    next_response: timedelta | None
    resolution: timedelta | None


NORMAL = Targets(first_response=4 * hours, next_response=8 * hours, resolution=24 * hours)
URGENT = Targets(first_response=1 * hours, next_response=2 * hours, resolution=8 * hours)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# Monday 16 March 2026 and the days around it.
FRIDAY = (2026, 3, 13)
MONDAY = (2026, 3, 16)
TUESDAY = (2026, 3, 17)
WEDNESDAY = (2026, 3, 18)


def ticket(
    created_at: datetime, targets: Targets = NORMAL, warn_at: float = WARN_AT
) -> sla.SlaState:
    return sla.start(created_at, "normal", targets, warn_at, OFFICE)


def due(state: sla.SlaState, key: str) -> datetime | None:
    value = state.public_view()[key]
    return None if value is None else datetime.fromisoformat(value)


# Warnings and breaches


def test_a_friday_evening_ticket_warns_on_monday_morning_and_breaches_at_half_past_twelve() -> None:
    state = ticket(berlin(*FRIDAY, 18, 30), Targets(3 * hours + 30 * minutes, None, None), 0.8)

    state, over_the_weekend = sla.sweep(state, berlin(2026, 3, 15, 23, 0))
    state, monday_morning = sla.sweep(state, berlin(*MONDAY, 11, 50))
    state, monday_noon = sla.sweep(state, berlin(*MONDAY, 12, 30))

    assert due(state, "first_response_due") == berlin(*MONDAY, 12, 30)
    assert over_the_weekend == []
    assert [(event.kind, event.clock, event.at) for event in monday_morning] == [
        ("warning", "first_response", berlin(*MONDAY, 11, 48))
    ]
    assert [(event.kind, event.clock, event.at) for event in monday_noon] == [
        ("breach", "first_response", berlin(*MONDAY, 12, 30))
    ]
    assert state.public_view()["breaches"] == ["first_response"]


def test_warnings_list_the_clocks_past_their_warning_point_until_they_breach() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    state, _ = sla.sweep(state, berlin(*MONDAY, 12, 0))
    assert state.public_view()["warnings"] == ["first_response"]

    state, _ = sla.sweep(state, berlin(*MONDAY, 13, 0))
    assert state.public_view()["warnings"] == []
    assert state.public_view()["breaches"] == ["first_response"]


def test_next_due_is_the_next_warning_or_breach_for_the_scheduler() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    assert sla.next_due(state) == berlin(*MONDAY, 12, 0)
    state, _ = sla.sweep(state, berlin(*MONDAY, 12, 0))
    assert sla.next_due(state) == berlin(*MONDAY, 13, 0)


def test_sweeping_twice_or_at_the_same_instant_reports_nothing_new() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state, first = sla.sweep(state, berlin(*MONDAY, 13, 0))

    again, same_instant = sla.sweep(state, berlin(*MONDAY, 13, 0))
    _, later = sla.sweep(again, berlin(*MONDAY, 16, 0))

    assert [event.kind for event in first] == ["breach"]
    assert same_instant == []
    assert later == []


def test_a_late_sweep_reports_only_the_breach_not_the_stale_warning() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    state, events = sla.sweep(state, berlin(*TUESDAY, 9, 0))

    assert [(event.kind, event.clock) for event in events] == [("breach", "first_response")]
    assert sla.sweep(state, berlin(*TUESDAY, 9, 0))[1] == []


def test_a_reply_after_the_due_time_is_recorded_as_breached_even_without_a_sweep() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    state = sla.agent_replied(state, berlin(*MONDAY, 14, 0), OFFICE)

    run = state.history[0]
    assert (run.name, run.due, run.achieved_at, run.used, run.breached) == (
        "first_response",
        berlin(*MONDAY, 13, 0),
        berlin(*MONDAY, 14, 0),
        5 * hours,
        True,
    )
    assert state.public_view()["breaches"] == ["first_response"]
    assert sla.sweep(state, berlin(*MONDAY, 14, 0))[1] == []


def test_a_reply_in_time_is_recorded_as_met() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    state = sla.agent_replied(state, berlin(*MONDAY, 10, 15), OFFICE)

    run = state.history[0]
    assert (run.used, run.target, run.breached) == (75 * minutes, 4 * hours, False)
    assert state.public_view()["first_response_at"] == "2026-03-16T09:15:00+00:00"


def test_a_clock_without_a_target_never_warns_or_breaches() -> None:
    state = ticket(berlin(*MONDAY, 9, 0), Targets(None, None, None))

    state, events = sla.sweep(state, berlin(2026, 4, 30, 12, 0))

    assert events == []
    assert sla.next_due(state) is None
    assert state.public_view()["first_response_due"] is None


# Pending, solved, reopened


def test_pending_pauses_resolution_and_the_customers_answer_resumes_it_with_the_time_used() -> None:
    state = ticket(berlin(*MONDAY, 9, 0), Targets(4 * hours, 8 * hours, 8 * hours))
    state = sla.agent_replied(state, berlin(*MONDAY, 10, 0), OFFICE)
    state = sla.status_changed(state, "open", "pending", berlin(*MONDAY, 11, 0), OFFICE)

    paused_view = state.public_view()
    state, while_waiting = sla.sweep(state, berlin(*TUESDAY, 17, 0))
    state = sla.customer_replied(state, berlin(*WEDNESDAY, 10, 0), OFFICE)
    state = sla.status_changed(state, "pending", "open", berlin(*WEDNESDAY, 10, 0), OFFICE)

    assert paused_view["resolution_due"] is None
    assert while_waiting == []
    assert state.clocks["resolution"].used == 2 * hours
    assert due(state, "resolution_due") == berlin(*WEDNESDAY, 16, 0)


def test_a_breach_that_happened_just_before_pending_is_still_reported() -> None:
    state = ticket(berlin(*MONDAY, 9, 0), Targets(None, None, 2 * hours))
    state = sla.status_changed(state, "open", "pending", berlin(*MONDAY, 11, 30), OFFICE)

    state, events = sla.sweep(state, berlin(*MONDAY, 11, 31))

    assert [(event.kind, event.clock, event.at) for event in events] == [
        ("breach", "resolution", berlin(*MONDAY, 11, 0))
    ]


def test_solving_stops_resolution_and_records_the_run() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.agent_replied(state, berlin(*MONDAY, 9, 30), OFFICE)

    state = sla.status_changed(state, "open", "solved", berlin(*MONDAY, 15, 0), OFFICE)
    state, events = sla.sweep(state, berlin(2026, 4, 30, 12, 0))

    assert state.public_view()["resolved_at"] == "2026-03-16T14:00:00+00:00"
    assert [(run.name, run.used, run.breached) for run in state.history] == [
        ("first_response", 30 * minutes, False),
        ("resolution", 6 * hours, False),
    ]
    assert events == []
    assert sla.next_due(state) is None


def test_solving_a_pending_ticket_records_resolution_as_met_with_time_to_spare() -> None:
    state = ticket(berlin(*MONDAY, 9, 0), Targets(None, None, 8 * hours))
    state = sla.status_changed(state, "open", "pending", berlin(*MONDAY, 10, 0), OFFICE)

    state = sla.status_changed(state, "pending", "solved", berlin(*WEDNESDAY, 12, 0), OFFICE)

    run = state.history[-1]
    assert (run.name, run.used, run.breached) == ("resolution", hours, False)
    assert run.due == berlin(2026, 3, 19, 11, 0)
    assert run.achieved_at < berlin(2026, 3, 19, 11, 0)


def test_solving_a_ticket_without_a_reply_also_stops_the_first_response_clock() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    state = sla.status_changed(state, "new", "solved", berlin(*MONDAY, 9, 45), OFFICE)

    assert state.public_view()["first_response_at"] == "2026-03-16T08:45:00+00:00"
    assert sla.next_due(state) is None


def test_a_reopened_ticket_resumes_resolution_with_the_time_already_used() -> None:
    state = ticket(berlin(*MONDAY, 9, 0), Targets(4 * hours, 8 * hours, 8 * hours))
    state = sla.agent_replied(state, berlin(*MONDAY, 10, 0), OFFICE)
    state = sla.status_changed(state, "open", "solved", berlin(*MONDAY, 12, 0), OFFICE)

    state = sla.status_changed(state, "solved", "open", berlin(*TUESDAY, 9, 0), OFFICE)
    reopened_view = state.public_view()
    state = sla.status_changed(state, "open", "solved", berlin(*TUESDAY, 10, 0), OFFICE)

    assert reopened_view["resolution_due"] == "2026-03-17T13:00:00+00:00"
    assert reopened_view["resolved_at"] is None
    resolution_runs = [run for run in state.history if run.name == "resolution"]
    assert [(run.used, run.achieved_at) for run in resolution_runs] == [
        (4 * hours, berlin(*TUESDAY, 10, 0))
    ]


@pytest.mark.parametrize("reopen_first", [True, False], ids=["reopen-first", "message-first"])
def test_a_customer_message_on_a_solved_ticket_starts_the_next_response_once_reopened(
    reopen_first: bool,
) -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.agent_replied(state, berlin(*MONDAY, 10, 0), OFFICE)
    state = sla.status_changed(state, "open", "solved", berlin(*MONDAY, 11, 0), OFFICE)
    message_at = berlin(*TUESDAY, 9, 0)

    if reopen_first:
        state = sla.status_changed(state, "solved", "open", message_at, OFFICE)
        state = sla.customer_replied(state, message_at, OFFICE)
    else:
        state = sla.customer_replied(state, message_at, OFFICE)
        state = sla.status_changed(state, "solved", "open", message_at, OFFICE)

    assert due(state, "next_response_due") == berlin(*TUESDAY, 17, 0)


def test_a_customer_message_on_a_solved_ticket_that_is_then_closed_awaits_no_answer() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.agent_replied(state, berlin(*MONDAY, 10, 0), OFFICE)
    state = sla.status_changed(state, "open", "solved", berlin(*MONDAY, 11, 0), OFFICE)

    state = sla.customer_replied(state, berlin(*MONDAY, 12, 0), OFFICE)
    state = sla.status_changed(state, "solved", "closed", berlin(2026, 3, 20, 12, 0), OFFICE)

    assert "next_response" not in state.clocks
    assert [run.name for run in state.history] == ["first_response", "resolution"]


# Next response


def test_next_response_runs_from_a_customer_message_after_a_reply_until_the_next_reply() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.customer_replied(state, berlin(*MONDAY, 9, 30), OFFICE)
    before_any_reply = state.public_view()["next_response_due"]
    state = sla.agent_replied(state, berlin(*MONDAY, 10, 0), OFFICE)

    state = sla.customer_replied(state, berlin(*MONDAY, 15, 0), OFFICE)
    state = sla.customer_replied(state, berlin(*MONDAY, 16, 0), OFFICE)
    waiting_view = state.public_view()
    state = sla.agent_replied(state, berlin(*TUESDAY, 10, 0), OFFICE)

    assert before_any_reply is None
    assert waiting_view["next_response_due"] == "2026-03-17T14:00:00+00:00"
    assert state.public_view()["next_response_due"] is None
    next_runs = [run for run in state.history if run.name == "next_response"]
    assert [(run.started_at, run.used, run.breached) for run in next_runs] == [
        (berlin(*MONDAY, 15, 0), 3 * hours, False)
    ]


def test_a_pending_ticket_does_not_pause_the_next_response_clock() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.agent_replied(state, berlin(*MONDAY, 10, 0), OFFICE)
    state = sla.customer_replied(state, berlin(*MONDAY, 11, 0), OFFICE)

    state = sla.status_changed(state, "open", "pending", berlin(*MONDAY, 11, 5), OFFICE)

    assert due(state, "next_response_due") == berlin(*TUESDAY, 11, 0)


# Priority and policy changes


def test_priority_urgent_recomputes_the_first_response_due_from_the_business_time_used() -> None:
    state = ticket(berlin(*FRIDAY, 16, 30))

    state = sla.retarget(
        state, "urgent", URGENT, warn_at=WARN_AT, at=berlin(*MONDAY, 8, 0), calendar=OFFICE
    )

    assert state.public_view()["policy"] == "urgent"
    assert state.clocks["first_response"].used == 30 * minutes
    assert due(state, "first_response_due") == berlin(*MONDAY, 9, 30)
    assert due(state, "resolution_due") == berlin(*MONDAY, 16, 30)


def test_a_priority_raised_past_the_time_used_is_due_at_once() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    state = sla.retarget(
        state, "urgent", URGENT, warn_at=WARN_AT, at=berlin(*MONDAY, 11, 0), calendar=OFFICE
    )
    state, events = sla.sweep(state, berlin(*MONDAY, 11, 0))

    assert due(state, "first_response_due") == berlin(*MONDAY, 11, 0)
    assert [(event.kind, event.clock) for event in events] == [("breach", "first_response")]


def test_a_policy_with_another_calendar_counts_the_time_used_in_the_old_one() -> None:
    around_the_clock = BusinessCalendar.always("Europe/Berlin")
    state = ticket(berlin(*FRIDAY, 16, 0))

    state = sla.retarget(
        state,
        "vip",
        URGENT,
        warn_at=WARN_AT,
        at=berlin(2026, 3, 14, 10, 0),
        calendar=around_the_clock,
        previous_calendar=OFFICE,
    )

    assert state.clocks["first_response"].used == hours
    assert due(state, "first_response_due") == berlin(2026, 3, 14, 10, 0)
    assert due(state, "resolution_due") == berlin(2026, 3, 14, 17, 0)


def test_retargeting_a_pending_ticket_keeps_resolution_paused() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.status_changed(state, "open", "pending", berlin(*MONDAY, 10, 0), OFFICE)

    state = sla.retarget(
        state, "urgent", URGENT, warn_at=WARN_AT, at=berlin(*MONDAY, 11, 0), calendar=OFFICE
    )
    paused_view = state.public_view()
    state = sla.status_changed(state, "pending", "open", berlin(*TUESDAY, 9, 0), OFFICE)

    assert paused_view["resolution_due"] is None
    assert due(state, "resolution_due") == berlin(*TUESDAY, 16, 0)


# Shape and storage


def test_the_public_view_has_exactly_the_documented_keys_with_iso_instants() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.agent_replied(state, berlin(*MONDAY, 9, 20), OFFICE)

    view = state.public_view()

    assert view == {
        "policy": "normal",
        "first_response_due": "2026-03-16T12:00:00+00:00",
        "first_response_at": "2026-03-16T08:20:00+00:00",
        "next_response_due": None,
        "resolution_due": "2026-03-18T16:00:00+00:00",
        "resolved_at": None,
        "complained_at": None,
        "complaint_due": None,
        "complaint_answered_at": None,
        "warnings": [],
        "breaches": [],
    }


def test_naive_datetimes_and_unknown_statuses_are_refused() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))

    with pytest.raises(ValueError, match="naive"):
        sla.agent_replied(state, datetime(2026, 3, 16, 10, 0), OFFICE)
    with pytest.raises(ValueError, match="archived"):
        sla.status_changed(state, "open", "archived", berlin(*MONDAY, 10, 0), OFFICE)


def test_a_state_survives_a_json_round_trip() -> None:
    state = ticket(berlin(*MONDAY, 9, 0))
    state = sla.agent_replied(state, berlin(*MONDAY, 14, 0), OFFICE)
    state = sla.customer_replied(state, berlin(*MONDAY, 15, 0), OFFICE)
    state = sla.status_changed(state, "open", "pending", berlin(*MONDAY, 16, 0), OFFICE)
    state, _ = sla.sweep(state, berlin(*TUESDAY, 12, 0))

    stored = json.loads(json.dumps(state.to_dict()))

    assert sla.SlaState.from_dict(stored) == state


# Random ticket lives

ACTIONS = st.sampled_from(
    ["agent", "customer", "open", "pending", "solved", "closed", "urgent", "normal", "sweep"]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(ACTIONS, st.integers(0, 36 * 60)), max_size=25),
    st.sampled_from([OFFICE, BusinessCalendar.always("America/New_York")]),
)
def test_any_ticket_life_round_trips_and_reports_each_warning_and_breach_once(
    steps: list[tuple[str, int]], calendar: BusinessCalendar
) -> None:
    now = berlin(*FRIDAY, 15, 0)
    state = sla.start(now, "normal", NORMAL, WARN_AT, calendar)
    status = "new"
    reported: list[tuple[str, str, datetime]] = []
    for action, wait_minutes in steps:
        now += wait_minutes * minutes
        if action == "agent":
            state = sla.agent_replied(state, now, calendar)
        elif action == "customer":
            state = sla.customer_replied(state, now, calendar)
        elif action in sla.STATUSES:
            state = sla.status_changed(state, status, action, now, calendar)
            status = action
        elif action in ("urgent", "normal"):
            targets = URGENT if action == "urgent" else NORMAL
            state = sla.retarget(state, action, targets, warn_at=WARN_AT, at=now, calendar=calendar)
        state, events = sla.sweep(state, now)
        assert all(event.at <= now for event in events)
        reported += [
            (event.kind, event.clock, state.clocks[event.clock].started_at) for event in events
        ]
        assert sla.sweep(state, now)[1] == []
        next_due = sla.next_due(state)
        assert next_due is None or next_due > now
        assert sla.SlaState.from_dict(json.loads(json.dumps(state.to_dict()))) == state

    assert len(reported) == len(set(reported))


def test_a_stored_sla_mapping_changed_in_place_is_read_as_it_now_is() -> None:
    stored = ticket(berlin(*MONDAY, 10)).to_dict()
    first = sla.SlaState.from_dict(stored)
    assert sla.SlaState.from_dict(stored) == first
    stored["clocks"]["first_response"]["due"] = "2026-03-20T09:00:00+00:00"
    stored["policy"] = "urgent"
    again = sla.SlaState.from_dict(stored)
    assert again.policy == "urgent"
    assert again.clocks["first_response"].due == datetime(2026, 3, 20, 9, tzinfo=ZoneInfo("UTC"))


# What the customer is owed next


def test_the_next_promise_is_the_first_answer_then_the_resolution_then_the_next_answer() -> None:
    opened = berlin(*MONDAY, 10)
    state = ticket(opened)
    assert state.next_promise() == ("first_response", due(state, "first_response_due"))

    answered = sla.agent_replied(state, berlin(*MONDAY, 11), OFFICE)
    # The first answer is given: its due is history, not a promise (a saved reply's
    # {promised_time} had offered it, already passed, after the first answer).
    assert answered.next_promise() == ("resolution", due(answered, "resolution_due"))
    assert answered.next_answer_due() is None

    asked_again = sla.customer_replied(answered, berlin(*MONDAY, 12), OFFICE)
    assert asked_again.next_promise() == ("next_response", due(asked_again, "next_response_due"))
    assert asked_again.next_answer_due() == due(asked_again, "next_response_due")


def test_nothing_is_promised_while_the_ticket_waits_for_the_customer() -> None:
    answered = sla.agent_replied(ticket(berlin(*MONDAY, 10)), berlin(*MONDAY, 11), OFFICE)
    pending = sla.status_changed(answered, "open", "pending", berlin(*MONDAY, 11), OFFICE)
    assert pending.next_promise() is None
