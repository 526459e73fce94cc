"""Every scenario under tests/scenarios is played by a test of the suite (docs/SCENARIOS.md
says each is one): a scenario file that no test names would never run (nextdev 12, #9)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _strings_in(path: Path) -> set[str]:
    """The string literals of a module: a name in a comment or a docstring's prose
    plays nothing (review 17, #7)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_every_scenario_file_is_named_by_a_test_module() -> None:
    named = set().union(
        *(_strings_in(path) for path in TESTS.rglob("*.py") if path.name != Path(__file__).name)
    )
    scenarios = sorted((TESTS / "scenarios").glob("*.yaml"))

    unplayed = [path.name for path in scenarios if path.name not in named]

    assert scenarios and unplayed == [], (
        "no test plays these scenarios: name each in the test that asserts what it shows"
    )
