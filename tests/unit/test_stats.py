"""Report aggregates: what each ticket change adds to the day's counters, facts and backlog."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpdesk import sla
from helpdesk.config import Config, load_config
from helpdesk.model import Ticket
from helpdesk.services import stats
from helpdesk.services.clocks import Change, apply

CONFIG_PATH = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"
# Monday 23 November 2026, 09:55 in Berlin (office hours 09:00-17:00).
OPENED = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG_PATH)


def new_ticket(config: Config, *, at: datetime = OPENED, tags: list[str] | None = None) -> Ticket:
    policy = config.policy("standard")
    calendar = config.calendar(policy.calendar).to_calendar()
    clocks = sla.start(at, policy.name, policy.targets["normal"], policy.warn_at, calendar)
    return Ticket(
        ref="HD-7K3M9Q",
        status="new",
        priority="normal",
        channel="form",
        subject="Where is my order?",
        created_at=at,
        contact_email="anna@example.com",
        contact_name="Anna",
        tier="standard",
        language="en",
        team="general",
        policy="standard",
        tags=tags or [],
        sla=clocks.to_dict(),
        assignee="lena@support.example",
    )


def counters(operations: list[dict[str, Any]]) -> dict[str, int]:
    """Counter name -> amount, from the ADD updates on STATS# items."""
    found: dict[str, int] = {}
    for op in operations:
        key = op.get("update", {})
        if str(key.get("PK", "")).startswith("STATS#"):
            name = str(key["SK"])[2:].rsplit("#", 1)[0]
            found[name] = found.get(name, 0) + int(op["values"][":n"])
    return found


def facts(operations: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        str(op["put"]["SK"]).split("#")[1]: op["put"]
        for op in operations
        if "put" in op and str(op["put"]["SK"]).startswith("F#")
    }


def backlog(operations: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [
        (op["update"]["PK"], op["update"]["SK"].split("#")[0], op["values"][":n"])
        for op in operations
        if "update" in op and str(op["update"]["PK"]).startswith("BACKLOG#")
    ]


def test_a_new_ticket_is_counted_once_in_each_dimension_and_joins_its_teams_backlog(
    config: Config,
) -> None:
    ticket = new_ticket(config, tags=["vip-customer"])

    operations = stats.ticket_changes(None, ticket, at=OPENED, config=config)

    assert counters(operations) == {
        "created": 1,
        "created#channel#form": 1,
        "created#category#none": 1,
        "created#tier#standard": 1,
        "created#language#en": 1,
        "created#team#general": 1,
        "tag#vip-customer": 1,
    }
    assert backlog(operations) == [("BACKLOG#general", "2026-11-23", 1)]
    assert {op["update"]["PK"] for op in operations if "update" in op} >= {"STATS#2026-11-23"}


def test_a_ticket_opened_late_in_the_utc_evening_counts_on_the_next_berlin_day(
    config: Config,
) -> None:
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)

    operations = stats.ticket_changes(None, new_ticket(config, at=late), at=late, config=config)

    assert {op["update"]["PK"] for op in operations if "update" in op} == {
        "STATS#2026-11-24",
        "BACKLOG#general",
    }


def test_the_first_reply_records_its_business_minutes_and_who_answered(config: Config) -> None:
    ticket = new_ticket(config)
    at = OPENED + timedelta(minutes=30)
    replied, _ = apply(ticket, Change(agent_reply=True), at=at, config=config)

    operations = stats.ticket_changes(ticket, replied, at=at, config=config, actor="wei@x.example")

    fact = facts(operations)["first_response"]
    assert (fact["seconds"], fact["breached"], fact["agent"]) == (1800, False, "wei@x.example")
    assert (fact["policy"], fact["priority"]) == ("standard", "normal")
    assert counters(operations) == {} and backlog(operations) == []


def test_a_second_reply_records_no_second_first_response(config: Config) -> None:
    ticket = new_ticket(config)
    first, _ = apply(
        ticket, Change(agent_reply=True), at=OPENED + timedelta(minutes=5), config=config
    )
    later = OPENED + timedelta(hours=1)
    second, _ = apply(first, Change(agent_reply=True), at=later, config=config)

    assert stats.ticket_changes(first, second, at=later, config=config) == []


def test_solving_leaves_the_backlog_with_the_resolution_time_and_a_reply_brings_it_back(
    config: Config,
) -> None:
    ticket = new_ticket(config)
    solved_at = OPENED + timedelta(hours=2)
    solved, _ = apply(ticket, Change(status="solved"), at=solved_at, config=config)

    leaving = stats.ticket_changes(ticket, solved, at=solved_at, config=config)
    reopened_at = solved_at + timedelta(hours=1)
    reopened, _ = apply(solved, Change(customer_message=True), at=reopened_at, config=config)
    returning = stats.ticket_changes(solved, reopened, at=reopened_at, config=config)

    assert facts(leaving)["resolution"]["seconds"] == 2 * 3600
    assert backlog(leaving) == [("BACKLOG#general", "2026-11-23", -1)]
    assert backlog(returning) == [("BACKLOG#general", "2026-11-23", 1)]
    assert "resolution" not in facts(returning)


def test_a_breach_is_counted_once_by_policy_and_priority(config: Config) -> None:
    ticket = new_ticket(config)
    late = OPENED + timedelta(hours=5)
    swept, _ = sla.sweep(sla.SlaState.from_dict(ticket.sla), late)
    breached = replace(ticket, sla=swept.to_dict())
    again, _ = sla.sweep(swept, late + timedelta(minutes=1))

    first = stats.ticket_changes(ticket, breached, at=late, config=config)
    second = stats.ticket_changes(
        breached, replace(breached, sla=again.to_dict()), at=late, config=config
    )

    assert counters(first) == {
        "breach": 1,
        "breach#clock#first_response": 1,
        "breach#policy#standard/normal": 1,
    }
    assert counters(second) == {}


def test_only_tags_that_were_added_are_counted(config: Config) -> None:
    ticket = new_ticket(config, tags=["refund"])
    tagged = replace(ticket, tags=["refund", "late-shipper"])

    operations = stats.ticket_changes(ticket, tagged, at=OPENED, config=config)

    assert counters(operations) == {"tag#late-shipper": 1}


def test_a_team_move_moves_the_ticket_between_backlogs(config: Config) -> None:
    ticket = replace(new_ticket(config), status="open")
    moved = replace(ticket, team="tier2")

    operations = stats.ticket_changes(ticket, moved, at=OPENED, config=config)

    assert backlog(operations) == [
        ("BACKLOG#general", "2026-11-23", -1),
        ("BACKLOG#tier2", "2026-11-23", 1),
    ]


def test_one_change_never_writes_the_same_item_twice(config: Config) -> None:
    # DynamoDB refuses a transaction that names one item twice.
    ticket = new_ticket(config, tags=["a", "b", "a"])
    keys = [
        (op.get("update") or op["put"])["PK"] + "|" + (op.get("update") or op["put"])["SK"]
        for op in stats.ticket_changes(None, ticket, at=OPENED, config=config)
    ]

    assert len(keys) == len(set(keys))


def test_a_survey_answer_is_keyed_by_the_day_of_the_first_answer_so_resubmitting_replaces_it(
    config: Config,
) -> None:
    ticket = replace(
        new_ticket(config),
        survey={
            "score": 2,
            "effort": 4,
            "first_answered_at": "2026-11-23T22:30:00+00:00",
            "answered_at": "2026-11-25T10:00:00+00:00",
        },
    )

    [operation] = stats.survey_answered(ticket, config=config)

    assert operation["put"]["PK"] == "STATS#2026-11-23"
    assert operation["put"]["SK"] == "F#survey#HD-7K3M9Q"
    assert (operation["put"]["score"], operation["put"]["effort"]) == (2, 4)


def targets(operations: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(day, clock, met) of each settled SLA target the operations record."""
    return [
        (op["put"]["PK"].removeprefix("STATS#"), op["put"]["clock"], op["put"]["met"])
        for op in operations
        if "put" in op and str(op["put"]["SK"]).startswith("F#target#")
    ]


def test_an_answer_in_time_settles_its_target_as_met(config: Config) -> None:
    ticket = new_ticket(config)
    at = OPENED + timedelta(minutes=30)
    replied, _ = apply(ticket, Change(agent_reply=True), at=at, config=config)

    assert targets(stats.ticket_changes(ticket, replied, at=at, config=config)) == [
        ("2026-11-23", "first_response", True)
    ]


def test_a_breach_recorded_by_the_sweep_is_a_missed_target_and_the_late_answer_adds_none(
    config: Config,
) -> None:
    ticket = new_ticket(config)
    sweep_at = OPENED + timedelta(hours=5)
    swept, _ = sla.sweep(sla.SlaState.from_dict(ticket.sla), sweep_at)
    breached = replace(ticket, sla=swept.to_dict())
    answered_at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    answered, _ = apply(breached, Change(agent_reply=True), at=answered_at, config=config)

    at_breach = stats.ticket_changes(ticket, breached, at=sweep_at, config=config)
    at_answer = stats.ticket_changes(breached, answered, at=answered_at, config=config)

    assert targets(at_breach) == [("2026-11-23", "first_response", False)]
    assert targets(at_answer) == []
    assert counters(at_answer) == {}


def test_a_late_answer_no_sweep_saw_is_one_missed_target_and_one_breach(config: Config) -> None:
    ticket = new_ticket(config)
    late = OPENED + timedelta(hours=5)
    answered, _ = apply(ticket, Change(agent_reply=True), at=late, config=config)

    operations = stats.ticket_changes(ticket, answered, at=late, config=config)

    assert targets(operations) == [("2026-11-23", "first_response", False)]
    assert counters(operations)["breach#policy#standard/normal"] == 1
