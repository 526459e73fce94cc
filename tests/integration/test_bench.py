"""`helpdesk bench`: every figure of the contract, measured on a tiny size (no timing asserted)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk_local.bench import (
    PipelineFigures,
    cost_per_ticket,
    floor_cost_per_ticket,
    render_table,
    run_bench,
    targets,
)

CONTRACT_KEYS = {
    "import_ms",
    "import_floor_ms",
    "aws_calls_per_ticket",
    "cost_per_1000_tickets_usd",
    "cost_floor_per_1000_tickets_usd",
    "sla_sweep_items_read",
    "pipeline_tickets_per_s",
    "floor_tickets_per_s",
    "own_ms_per_ticket",
    "intake_peak_rss_mb",
    "layer_unzipped_mb",
    "parse_hostile_ratio",
    "parse_slowest_s_per_mb",
    "dynamodb_write_units_per_ticket",
}
CLOSED = 40
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result() -> Iterator[dict[str, Any]]:
    yield run_bench(
        import_runs=1,
        pipeline_tickets=1,
        throughput_tickets=2,
        closed_tickets=CLOSED,
        rss_sizes={"mail_100kb": 20 * 1024, "mail_25mb": 300 * 1024},
        parse_size=20 * 1024,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_the_bench_answers_every_contract_key_with_numbers(result: dict[str, Any]) -> None:
    assert result.keys() >= CONTRACT_KEYS
    assert {"email_intake", "acknowledge", "route", "sla_check"} <= result["import_ms"].keys()
    assert set(result["aws_calls_per_ticket"]) == {
        "dynamodb",
        "sqs",
        "events",
        "ses",
        "s3",
        "lambda_invocations",
    }
    assert set(result["intake_peak_rss_mb"]) == {"mail_100kb", "mail_25mb"}
    for key in CONTRACT_KEYS:
        value = result[key]
        numbers = value.values() if isinstance(value, dict) else [value]
        assert all(_is_number(n) for n in numbers), (key, value)


def test_an_email_ticket_reads_its_mail_once_and_sends_through_ses(
    result: dict[str, Any],
) -> None:
    calls = result["aws_calls_per_ticket"]
    assert calls["s3"] >= 1 and calls["ses"] >= 1 and calls["events"] >= 1
    assert calls["lambda_invocations"] >= 2
    assert result["cost_per_1000_tickets_usd"] > result["cost_floor_per_1000_tickets_usd"] > 0


def test_an_email_ticket_pays_no_sqs_request(result: dict[str, Any]) -> None:
    # The bucket invokes the intake and the bus's rules acknowledge and route, each
    # directly: no queue, no send, receive or delete; four invocations.
    assert result["details"]["sqs_trigger_requests_per_ticket"] == 0
    assert result["aws_calls_per_ticket"]["lambda_invocations"] == 4


def test_the_sla_sweep_reads_as_much_with_closed_tickets_as_without(
    result: dict[str, Any],
) -> None:
    sweep = result["sla_sweep_items_read"]
    assert sweep["history_0"] == sweep[f"history_{CLOSED}"]


def test_the_table_names_each_figure_and_its_target(result: dict[str, Any]) -> None:
    table = render_table(result)
    assert "import email_intake (ms)" in table
    assert "USD per 1000 tickets" in table
    assert "<= 14" in table and "<= 160" in table
    # Issue 15's goals, each next to its figure.
    assert "DynamoDB write units per email ticket" in table and "<= 25" in table
    assert "<= 1.05" in table and "<= 8 " in table


def test_the_json_says_which_goals_hold_as_the_table_does(result: dict[str, Any]) -> None:
    goals = result["targets"]
    assert {"cost_ratio", "aws_calls_per_ticket", "dynamodb_write_units_per_ticket"} <= set(goals)
    assert all(
        isinstance(goal["met"], bool) and _is_number(goal["value"]) for goal in goals.values()
    )
    assert goals["cost_ratio"]["target"] == "<= 1.05"
    assert result["targets_missed"] == [name for name, goal in goals.items() if not goal["met"]]
    table = render_table(result)
    assert "floor: the same work without the desk" in table  # what a first reader asks
    last = table.splitlines()[-1]
    missed = result["targets_missed"]
    assert last == (f"goals missed: {', '.join(missed)}" if missed else "every goal met")


def test_a_figure_past_its_goal_is_missed_in_the_json_and_the_table(
    result: dict[str, Any],
) -> None:
    dearer = dict(
        result, cost_per_1000_tickets_usd=result["cost_floor_per_1000_tickets_usd"] * 1.06
    )
    goal = targets(dearer)["cost_ratio"]
    assert (goal.value, goal.met) == (1.06, False)
    table = render_table(dearer)
    assert "<= 1.05 MISSED" in table
    assert "cost_ratio" in table.splitlines()[-1]

    # Judged as measured, not as shown: 1.0504 shows as 1.05 and still misses.
    floor = result["cost_floor_per_1000_tickets_usd"]
    barely = dict(result, cost_per_1000_tickets_usd=floor * 1.0504)
    assert targets(barely)["cost_ratio"].met is False


def test_the_floor_is_what_ses_and_s3_charge_for_one_mail_in_and_two_out() -> None:
    figures = PipelineFigures(
        tickets=1,
        calls={"dynamodb": 0, "sqs": 0, "events": 0, "ses": 2, "s3": 1},
        operations={},
        lambda_invocations=0,
        sqs_trigger_requests=0,
        gb_seconds=0,
        read_units=0,
        write_units=0,
        events_billed=0,
        mails_out=2,
        mail_in_bytes=5_000,
        mail_out_bytes=20_000,
        s3_puts=0,
        s3_gets=1,
        function_ms={},
        operations_by_function={},
        write_units_by_function={},
    )
    # SES: $0.10 a mail in, $0.09 per 256 KB chunk, $0.10 a mail out; S3: $0.005 a PUT,
    # $0.0004 a GET; all per 1,000.
    assert floor_cost_per_ticket(figures) * 1000 == pytest.approx(0.3954)
    assert sum(cost_per_ticket(figures).values()) * 1000 == pytest.approx(0.3954)


def test_the_bench_times_every_hostile_mail_against_a_benign_one(result: dict[str, Any]) -> None:
    hostile = result["details"]["parse_hostile"]
    assert {
        "nested_divs",
        "from_of_many_at_signs",
        "script_openers_before_gmail_quote",
        "pre_of_spaces",
        "many_small_parts",
        "big_table",
    } <= hostile["ratios"].keys()
    assert result["parse_hostile_ratio"] == max(hostile["ratios"].values()) > 0
    assert result["parse_slowest_s_per_mb"] == max(hostile["s_per_mb"].values()) > 0


def test_the_bench_reports_the_knowledge_base_figures_with_the_set_size_per_language(
    result: dict[str, Any],
) -> None:
    assert 0 <= result["knowledge_precision_at_3"] <= 1
    assert 0 <= result["knowledge_offtopic_suggestion_rate"] <= 1
    sizes = result["details"]["knowledge"]["set_size"]
    assert set(sizes) == {"en", "zh", "ru"}
    assert all(n["on_topic"] + n["off_topic"] >= 30 for n in sizes.values())
    assert result["details"]["knowledge"]["cold_start_ms"] > 0
    table = render_table(result)
    assert "knowledge: right article in top 3" in table and ">= 0.85" in table
    assert "knowledge: off-topic questions given a suggestion" in table and "<= 0.1" in table
