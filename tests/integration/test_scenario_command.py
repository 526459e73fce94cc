"""`helpdesk scenario FILE`: plays a scenario, prints the state JSON; bad files are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk_local.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_a_one_form_scenario_prints_one_ticket_and_one_acknowledgement(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scenario", str(SCENARIOS / "one_form.yaml")]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["clock"].startswith("2026-11-23T08:55")
    [ticket] = state["tickets"]
    assert ticket["ref"].startswith("HD-") and len(ticket["ref"]) == 9
    assert ticket["status"] == "new"
    assert ticket["channel"] == "form"
    assert ticket["subject"] == "Where is my order?"
    assert ticket["contact"] == {
        "email": "anna@example.com",
        "name": "Anna Schmidt",
        "tier": "standard",
    }
    assert ticket["messages"][0]["text"] == "It has been two weeks."
    assert ticket["sla"]["first_response_due"] is not None
    [ack] = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert ack["to"] == ["anna@example.com"]
    assert ticket["ref"] in ack["subject"] and ticket["ref"] in ack["text"]
    assert ack["headers"]["Auto-Submitted"] == "auto-replied"
    assert state["suppressed"] == [] and state["rejected"] == [] and state["dead_letters"] == []


def test_a_missing_scenario_file_exits_non_zero_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["scenario", str(missing)]) != 0
    error = capsys.readouterr().err
    assert str(missing) in error and "no such file" in error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps:\n  - form: [unclosed\n", ":2: not valid YAML"),
        ("steps:\n  - advance: 2x\n", ":2: steps[0].advance: '2x' is not a duration"),
        (
            "steps:\n  - survey: {ticket: 1, score: 9}\n",
            ":2: steps[0].survey.score: must be between 1 and 5",
        ),
        ("steps:\n  - teleport: now\n", ":2: steps[0]: a step is exactly one of"),
        ("start: yesterday\nsteps: []\n", ":1: start: must be an ISO 8601 time"),
        ("steps:\n  - email: {file: missing.eml}\n", ":2: steps[0].email.file: file not found"),
        ("steps:\n  - reply: {ticket: 1, from: agent}\n", ":2: steps[0].reply.text: is required"),
        ("faults: {rate: 2}\nsteps: []\n", ":1: faults.rate: must be a number"),
        ("stepz: []\n", ":1: stepz: unknown key"),
    ],
)
def test_a_malformed_scenario_exits_non_zero_with_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["scenario", str(path)]) != 0
    error = capsys.readouterr().err
    assert str(path) + expected in error, error


def test_the_report_of_a_one_day_scenario_counts_the_tickets_it_opened(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # one_form.yaml plays a single morning: the report covers the scenario's own day, today
    # as far as it has gone, instead of the full day before it (which would be empty).
    assert main(["report", "--scenario", str(SCENARIOS / "one_form.yaml")]) == 0
    text = capsys.readouterr().out
    assert "Example Support: report for Mon 23 Nov 2026" in text
    assert "TICKETS CREATED: 1" in text
    assert "NEW TICKETS BY CHANNEL: form 1 (100%)" in text


def test_the_report_of_a_scenario_with_days_given_is_of_the_full_days_before_its_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", "--days", "1", "--scenario", str(SCENARIOS / "one_form.yaml")]) == 0
    text = capsys.readouterr().out
    assert "Example Support: daily report for Sun 22 Nov 2026" in text
    assert "TICKETS CREATED: 0" in text
