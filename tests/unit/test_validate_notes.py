"""What the commands say of the ops config before they act: `helpdesk validate` notes what
a valid config lets happen that its operator would not want, without refusing it, and the
demo names a broken one before it starts (first-user run 14, #4 and #11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_local.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"
TIER2 = "  - {name: tier2, lead: omar@support.example}\n"


def with_team(folder: Path, entry: str) -> tuple[Path, int]:
    """The bundled config with the team ``entry`` after tier2, written in ``folder``; its
    file and the entry's line."""
    text = CONFIG.read_text(encoding="utf-8")
    assert text.count(TIER2) == 1, "the bundled config's tier2 line moved"
    config = folder / "helpdesk.yaml"
    config.write_text(text.replace(TIER2, TIER2 + entry + "\n"), encoding="utf-8")
    return config, config.read_text(encoding="utf-8").splitlines().index(entry) + 1


def test_a_team_no_agent_works_in_is_noted_on_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tickets routed to such a team waited unassigned, and the first anyone heard of one
    # was its SLA warning to the lead.
    config, line = with_team(tmp_path, "  - {name: returns, lead: omar@support.example}")

    code = main(["validate", str(config)])

    captured = capsys.readouterr()
    assert code == 0 and captured.out.startswith("OK ")
    assert f"{config}:{line}: teams[3]: note: no agent works in team 'returns'" in captured.err


def test_the_bundled_config_has_no_note(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CONFIG)]) == 0
    assert "note:" not in capsys.readouterr().err


def test_the_demo_names_a_broken_config_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # First-user run 14, #11: the demo printed its banner and first step, then the error.
    from helpdesk_local import cli

    broken = tmp_path / "helpdesk.yaml"
    broken.write_text(CONFIG.read_text(encoding="utf-8").replace("capacity: 8", "capacity: 0", 1))
    monkeypatch.setattr(cli, "DEFAULT_CONFIG", broken)

    code = main(["demo", "--fast"])

    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert f"{broken}:" in captured.err and "capacity" in captured.err


def test_a_team_nobody_works_in_or_leads_is_refused_on_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Newuser 15, #2: its tickets reached nobody (no agent's queue, no lead's warning), and
    # the note said they waited for a lead it did not have.
    config, line = with_team(tmp_path, "  - {name: returns}")

    code = main(["validate", str(config)])

    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert f"{config}:{line}: teams[3]: nobody works in or leads team 'returns'" in captured.err
    assert "note:" not in captured.err
