"""Every scenario under tests/scenarios is played by a test of the suite (docs/SCENARIOS.md
says each is one): a scenario file that no test names would never run (nextdev 12, #9)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_scenario_file_is_named_by_a_test_module() -> None:
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in TESTS.rglob("*.py")
        if path.resolve() != Path(__file__).resolve()
    )
    scenarios = sorted((TESTS / "scenarios").glob("*.yaml"))

    unplayed = [path.name for path in scenarios if path.name not in sources]

    assert scenarios and unplayed == [], (
        "no test plays these scenarios: name each in the test that asserts what it shows"
    )
