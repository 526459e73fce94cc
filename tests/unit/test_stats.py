"""Report aggregates: what each ticket change adds to the day's counters, facts and backlog."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakes import MONDAY_MORNING, sla_of, started_clocks, ticket
from helpdesk import sla
from helpdesk.aws.dynamodb import backlog_key, ticket_item
from helpdesk.config import Config, load_config
from helpdesk.effects import Count, Effect, RecordFact
from helpdesk.model import SurveyRecord, Ticket
from helpdesk.services import stats
from helpdesk.services.clocks import Change, apply

CONFIG_PATH = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"
OPENED = MONDAY_MORNING  # 09:55 in Berlin: office hours


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG_PATH)


def new_ticket(config: Config, *, at: datetime = OPENED, tags: list[str] | None = None) -> Ticket:
    return ticket(
        channel="form",
        created_at=at,
        tags=tags or [],
        sla=started_clocks(config, at),
        assignee="lena@support.example",
    )


def counters(effects: list[Effect], *, team: str | None = None) -> dict[str, int]:
    """Counter name -> amount, from the change's Count: the desk's counters, or with
    ``team`` that team's own (named as the desk's)."""
    found: dict[str, int] = {}
    prefix = f"team#{team}#" if team else None
    for effect in effects:
        if isinstance(effect, Count):
            for counted, n in effect.counts.items():
                if prefix is None and counted.startswith("team#"):
                    continue
                if prefix is not None and not counted.startswith(prefix):
                    continue
                name = counted.removeprefix(prefix) if prefix else counted
                found[name] = found.get(name, 0) + n
    return found


def days(effects: list[Effect]) -> set[str]:
    """The report days the change counts on."""
    return {e.day for e in effects if isinstance(e, Count | RecordFact)}


def facts(effects: list[Effect]) -> dict[str, dict[str, Any]]:
    return {e.kind: dict(e.attributes) for e in effects if isinstance(e, RecordFact)}


def backlog(config: Config, *tickets: Ticket, team: str = "general") -> dict[str, int]:
    """``team``'s backlog by creation day as a report reads it from the BacklogIndex: the
    tickets whose stored item carries the team's backlog key, aged by their creation."""
    listed = [t.created_at for t in tickets if ticket_item(t).get("BPK") == backlog_key(team)]
    return stats.backlog_by_day(listed, config)


def test_a_new_ticket_is_counted_once_in_each_dimension_and_joins_its_teams_backlog(
    config: Config,
) -> None:
    ticket = new_ticket(config, tags=["vip-customer"])

    effects = stats.ticket_figures(None, ticket, at=OPENED, config=config)

    assert counters(effects) == {
        "created": 1,
        "created#channel#form": 1,
        "created#category#none": 1,
        "created#tier#standard": 1,
        "created#language#en": 1,
        "created#team#general": 1,
        "tag#vip-customer": 1,
    }
    assert backlog(config, ticket) == {"2026-11-23": 1}
    assert days(effects) == {"2026-11-23"}


def test_a_ticket_opened_late_in_the_utc_evening_counts_on_the_next_berlin_day(
    config: Config,
) -> None:
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)

    opened = new_ticket(config, at=late)
    effects = stats.ticket_figures(None, opened, at=late, config=config)

    assert days(effects) == {"2026-11-24"}
    # The backlog is kept by the day the ticket was created, in the report time zone too.
    assert backlog(config, opened) == {"2026-11-24": 1}


def test_the_first_reply_records_its_business_minutes_and_who_answered(config: Config) -> None:
    ticket = new_ticket(config)
    at = OPENED + timedelta(minutes=30)
    replied = apply(ticket, Change(agent_reply=True), at=at, config=config)

    effects = stats.ticket_figures(ticket, replied, at=at, config=config, actor="wei@x.example")

    fact = facts(effects)["first_response"]
    assert (fact["seconds"], fact["breached"], fact["agent"]) == (1800, False, "wei@x.example")
    assert (fact["policy"], fact["priority"]) == ("standard", "normal")
    assert counters(effects) == {}


def test_a_second_reply_records_no_second_first_response(config: Config) -> None:
    ticket = new_ticket(config)
    first = apply(ticket, Change(agent_reply=True), at=OPENED + timedelta(minutes=5), config=config)
    later = OPENED + timedelta(hours=1)
    second = apply(first, Change(agent_reply=True), at=later, config=config)

    assert stats.ticket_figures(first, second, at=later, config=config) == []


def test_solving_leaves_the_backlog_with_the_resolution_time_and_a_reply_brings_it_back(
    config: Config,
) -> None:
    ticket = new_ticket(config)
    solved_at = OPENED + timedelta(hours=2)
    solved = apply(ticket, Change(status="solved"), at=solved_at, config=config)

    leaving = stats.ticket_figures(ticket, solved, at=solved_at, config=config)
    reopened_at = solved_at + timedelta(hours=1)
    reopened = apply(solved, Change(customer_message=True), at=reopened_at, config=config)
    returning = stats.ticket_figures(solved, reopened, at=reopened_at, config=config)

    assert facts(leaving)["resolution"]["seconds"] == 2 * 3600
    assert backlog(config, solved) == {}
    assert backlog(config, reopened) == {"2026-11-23": 1}
    assert "resolution" not in facts(returning)


def test_a_breach_is_counted_once_by_policy_and_priority(config: Config) -> None:
    ticket = new_ticket(config)
    late = OPENED + timedelta(hours=5)
    swept, _ = sla.sweep(sla_of(ticket), late)
    breached = replace(ticket, sla=swept)
    again, _ = sla.sweep(swept, late + timedelta(minutes=1))

    first = stats.ticket_figures(ticket, breached, at=late, config=config)
    second = stats.ticket_figures(breached, replace(breached, sla=again), at=late, config=config)

    assert counters(first) == {
        "breach": 1,
        "breach#clock#first_response": 1,
        "breach#policy#standard/normal": 1,
    }
    assert counters(second) == {}


def test_only_tags_that_were_added_are_counted(config: Config) -> None:
    ticket = new_ticket(config, tags=["refund"])
    tagged = replace(ticket, tags=["refund", "late-shipper"])

    effects = stats.ticket_figures(ticket, tagged, at=OPENED, config=config)

    assert counters(effects) == {"tag#late-shipper": 1}


def test_a_ticket_awaiting_review_counts_in_no_backlog_and_open_ones_by_their_day(
    config: Config,
) -> None:
    monday = replace(new_ticket(config), status="open")
    tuesday = new_ticket(config, at=OPENED + timedelta(days=1))
    bounce = replace(new_ticket(config), flags=["auto_reply"], sla=None, assignee=None)

    assert backlog(config, tuesday, bounce, monday) == {"2026-11-23": 1, "2026-11-24": 1}


def test_a_team_move_moves_the_ticket_between_backlogs(config: Config) -> None:
    ticket = replace(new_ticket(config), status="open")
    moved = replace(ticket, team="tier2")

    assert backlog(config, moved, team="general") == {}
    assert backlog(config, moved, team="tier2") == {"2026-11-23": 1}


def test_one_change_names_each_report_item_once(config: Config) -> None:
    # DynamoDB refuses a transaction that names one item twice: the counters of one change
    # travel as one Count, and no fact is named twice.
    ticket = new_ticket(config, tags=["a", "b", "a"])
    at = OPENED + timedelta(minutes=30)
    answered_and_solved = replace(
        apply(ticket, Change(agent_reply=True, status="solved"), at=at, config=config),
        tags=["a", "b", "late-shipper", "late-shipper"],
    )

    for effects in (
        stats.ticket_figures(None, ticket, at=OPENED, config=config),
        stats.ticket_figures(ticket, answered_and_solved, at=at, config=config),
    ):
        assert len([e for e in effects if isinstance(e, Count)]) == 1
        fact_keys = [(e.day, e.kind, e.key) for e in effects if isinstance(e, RecordFact)]
        assert len(fact_keys) == len(set(fact_keys))
    assert counters(stats.ticket_figures(None, ticket, at=OPENED, config=config))["tag#a"] == 1
    assert set(facts(effects)) == {"first_response", "resolution", "target"}


def test_a_survey_answer_is_keyed_by_the_day_of_the_first_answer_so_resubmitting_replaces_it(
    config: Config,
) -> None:
    ticket = replace(
        new_ticket(config),
        survey=SurveyRecord(
            score=2,
            effort=4,
            first_answered_at=datetime(2026, 11, 23, 22, 30, tzinfo=UTC),
            answered_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        ),
    )

    [fact] = stats.survey_answered(ticket, config=config)

    assert isinstance(fact, RecordFact)
    # The first answer came 23:30 in Berlin on the 23rd; the later submit replaces it there.
    assert (fact.day, fact.kind, fact.key) == ("2026-11-23", "survey", "HD-7K3M9Q")
    assert (fact.attributes["score"], fact.attributes["effort"]) == (2, 4)


def targets(effects: list[Effect]) -> list[tuple[str, str, bool]]:
    """(day, clock, met) of each settled SLA target the effects record."""
    return [
        (e.day, e.attributes["clock"], e.attributes["met"])
        for e in effects
        if isinstance(e, RecordFact) and e.kind == "target"
    ]


def test_an_answer_in_time_settles_its_target_as_met(config: Config) -> None:
    ticket = new_ticket(config)
    at = OPENED + timedelta(minutes=30)
    replied = apply(ticket, Change(agent_reply=True), at=at, config=config)

    assert targets(stats.ticket_figures(ticket, replied, at=at, config=config)) == [
        ("2026-11-23", "first_response", True)
    ]


def test_a_breach_recorded_by_the_sweep_is_a_missed_target_and_the_late_answer_adds_none(
    config: Config,
) -> None:
    ticket = new_ticket(config)
    sweep_at = OPENED + timedelta(hours=5)
    swept, _ = sla.sweep(sla_of(ticket), sweep_at)
    breached = replace(ticket, sla=swept)
    answered_at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    answered = apply(breached, Change(agent_reply=True), at=answered_at, config=config)

    at_breach = stats.ticket_figures(ticket, breached, at=sweep_at, config=config)
    at_answer = stats.ticket_figures(breached, answered, at=answered_at, config=config)

    assert targets(at_breach) == [("2026-11-23", "first_response", False)]
    assert targets(at_answer) == []
    assert counters(at_answer) == {}


def test_a_late_answer_no_sweep_saw_is_one_missed_target_and_one_breach(config: Config) -> None:
    ticket = new_ticket(config)
    late = OPENED + timedelta(hours=5)
    answered = apply(ticket, Change(agent_reply=True), at=late, config=config)

    effects = stats.ticket_figures(ticket, answered, at=late, config=config)

    assert targets(effects) == [("2026-11-23", "first_response", False)]
    assert counters(effects)["breach#policy#standard/normal"] == 1


def test_a_new_ticket_is_counted_for_its_team_too(config: Config) -> None:
    effects = stats.ticket_figures(
        None, new_ticket(config, tags=["refund"]), at=OPENED, config=config
    )

    assert counters(effects, team="general") == {
        "created": 1,
        "created#channel#form": 1,
        "created#category#none": 1,
        "created#tier#standard": 1,
        "created#language#en": 1,
        "tag#refund": 1,
    }
    assert counters(effects, team="billing") == {}


def test_a_lead_reads_only_the_counters_and_facts_of_the_teams_they_lead(config: Config) -> None:
    general = stats.ticket_figures(None, new_ticket(config), at=OPENED, config=config)
    billing = stats.ticket_figures(
        None, replace(new_ticket(config), ref="HD-BBBBBB", team="billing"), at=OPENED, config=config
    )
    day = stats.DayFigures("2026-11-23")
    for effect in (*general, *billing):
        if isinstance(effect, Count):
            day.counters.update(effect.counts)
    day.facts["first_response"] = [{"ref": "HD-7K3M9Q", "team": "general", "seconds": 60}]

    mine = stats.for_teams(day, ["billing"], config.team_names)

    assert mine.counters["created"] == 1 and day.counters["created"] == 2
    assert "team#billing#created" not in mine.counters
    assert mine.facts == {}
    assert stats.for_teams(day, ["general", "billing"], config.team_names).counters["created"] == 2


def test_a_team_whose_name_extends_another_keeps_its_own_counters(config: Config) -> None:
    day = stats.DayFigures("d")
    day.counters.update({"team#a#created": 1, "team#a#b#created": 5})

    assert stats.for_teams(day, ["a"], ["a", "a#b"]).counters == {"created": 1}
    assert stats.for_teams(day, ["a#b"], ["a", "a#b"]).counters == {"created": 5}


def test_a_reply_before_opening_is_zero_business_minutes_and_its_calendar_time(
    config: Config,
) -> None:
    # Sunday 22:00 in Berlin: the office calendar opens on Monday at 09:00. Lena answers on
    # Monday at 06:22, before opening: 0 business minutes, 8h 22m of calendar time.
    sunday_night = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    opened = new_ticket(config, at=sunday_night)
    replied_at = datetime(2026, 11, 23, 5, 22, tzinfo=UTC)
    answered = apply(opened, Change(agent_reply=True), at=replied_at, config=config)

    fact = facts(stats.ticket_figures(opened, answered, at=replied_at, config=config))[
        "first_response"
    ]

    assert fact["seconds"] == 0
    assert fact["calendar_seconds"] == 8 * 3600 + 22 * 60


def test_a_missed_target_records_when_it_was_due(config: Config) -> None:
    opened = new_ticket(config)
    state = sla_of(opened)
    late = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    swept, _ = sla.sweep(state, late)

    fact = facts(stats.ticket_figures(opened, replace(opened, sla=swept), at=late, config=config))[
        "target"
    ]

    assert (fact["met"], fact["due"]) == (False, "2026-11-23T12:55:00+00:00")


def test_a_ticket_unchanged_changes_no_figure_timer_or_load_in_any_state(config: Config) -> None:
    """A commit that changes only a ticket's effects (routing queues it) passes the same
    ticket as before and after; effects.derive then skips the comparison, which must
    find nothing whatever state the ticket is in: new, answered, solved, breached,
    complained about, tagged, self-served, a robot's."""
    from helpdesk.effects import Derived, derive, load_effects, timer_changes

    opened = new_ticket(config, tags=["refund"])
    answered = apply(
        opened, Change(agent_reply=True), at=OPENED + timedelta(minutes=5), config=config
    )
    solved = apply(answered, Change(status="solved"), at=OPENED + timedelta(hours=2), config=config)
    swept, _ = sla.sweep(sla_of(opened), OPENED + timedelta(hours=5))
    breached = replace(opened, sla=swept)
    flagged = replace(opened, flags=["complaint", "self_served", "auto_reply"], waiting=True)
    for unchanged in (opened, answered, solved, breached, flagged):
        at = OPENED + timedelta(days=1)

        assert stats.ticket_figures(unchanged, unchanged, at=at, config=config) == []
        assert load_effects(unchanged, unchanged) == ([], ())
        assert timer_changes(unchanged, unchanged, config=config) == {}
        assert derive(unchanged, unchanged, at=at, config=config) == Derived()
