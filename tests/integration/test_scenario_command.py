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


def broken_config(folder: Path) -> Path:
    """The example config with an SLA policy's warning share out of range, on line 49 of
    the file as in the example (a first-time user's first edit, newuser 12, #1)."""
    example = (Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml").read_text()
    assert "warn_at: 0.8" in example
    path = folder / "helpdesk.yaml"
    path.write_text(example.replace("warn_at: 0.8", "warn_at: 1.8", 1))
    return path


def problem_line(path: Path) -> str:
    number = next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if "warn_at: 1.8" in line
    )
    return f"{path}:{number}:"


@pytest.mark.parametrize("command", ["local", "scenario", "report"])
def test_a_broken_config_is_named_by_file_line_and_key_before_anything_runs(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # newuser 12, #1: `helpdesk local` printed its banner and answered 500 to everything;
    # a scenario naming the file ended in a traceback.
    import helpdesk_local.server

    def served(**_: object) -> int:
        raise AssertionError("the desk was served on a broken config")

    monkeypatch.setattr(helpdesk_local.server, "run_local", served)
    config = broken_config(tmp_path)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text((SCENARIOS / "one_form.yaml").read_text() + f"config: {config}\n")
    argv = {
        "local": ["local", "--config", str(config), "--port", "0", "--smtp-port", "0"],
        "scenario": ["scenario", str(scenario)],
        "report": [
            "report",
            "--scenario",
            str(SCENARIOS / "one_form.yaml"),
            "--config",
            str(config),
        ],
    }[command]

    assert main(argv) == 2

    err = capsys.readouterr().err
    assert f"{problem_line(config)} sla_policies" in err and "warn_at" in err
    assert "Traceback" not in err


def test_a_step_that_names_a_ticket_not_yet_made_is_named_by_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Newuser 12, #13: "ticket 3 does not exist (only 1 so far)" named the file only.
    path = tmp_path / "bad.yaml"
    lines = (SCENARIOS / "one_form.yaml").read_text().rstrip("\n").splitlines()
    path.write_text("\n".join([*lines, "  - reply: {ticket: 3, from: agent, text: Hello}"]) + "\n")

    assert main(["scenario", str(path)]) == 2

    error = capsys.readouterr().err
    assert f"{path}:{len(lines) + 1}: steps[" in error
    assert "ticket 3 does not exist (only 1 so far)" in error
