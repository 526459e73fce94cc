"""The typed environment and the composition root: read once, typed, and a missing
variable named at its first use."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.composition import Composition
from helpdesk.environment import Environment, MissingSetting

ROOT = Path(__file__).resolve().parents[2]
GLOBALS = {
    "TABLE_NAME": "helpdesk-DomainTable",
    "TIMER_SHARDS": "4",
    "HELPDESK_CONFIG": str(ROOT / "infra" / "helpdesk.yaml"),
}


def test_the_variables_a_function_is_given_are_read_typed() -> None:
    environment = Environment.from_os({**GLOBALS, "EVENT_BUS_NAME": "helpdesk-bus"})
    assert environment.table_name == "helpdesk-DomainTable"
    assert environment.timer_shards == 4
    assert environment.event_bus_name == "helpdesk-bus"


def test_a_variable_the_template_did_not_set_is_named_when_it_is_first_read() -> None:
    environment = Environment.from_os(GLOBALS)
    with pytest.raises(MissingSetting, match="environment variable RAW_BUCKET is not set"):
        _ = environment.raw_bucket
    assert environment.table_name == "helpdesk-DomainTable"
    assert "RAW_BUCKET" not in repr(environment) and "TABLE_NAME" in repr(environment)


@pytest.mark.parametrize("shards", ["0", "four", "-2"])
def test_timer_shards_must_be_a_whole_number_of_at_least_one(shards: str) -> None:
    with pytest.raises(
        MissingSetting, match=f"TIMER_SHARDS must be a whole number >= 1: '{shards}'"
    ):
        Environment.from_os({**GLOBALS, "TIMER_SHARDS": shards})


def test_the_environment_is_read_when_first_needed_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in GLOBALS.items():
        monkeypatch.setenv(name, value)
    root = Composition()
    monkeypatch.setenv("TABLE_NAME", "set-before-the-first-use")
    assert root.environment.table_name == "set-before-the-first-use"
    monkeypatch.setenv("TABLE_NAME", "changed-later")
    assert root.environment.table_name == "set-before-the-first-use"


def test_a_container_builds_each_piece_once_and_its_services_share_them() -> None:
    root = Composition(Environment.from_os({**GLOBALS, "EVENT_BUS_NAME": "helpdesk-bus"}))
    assert root.config is root.config
    assert root.form_desk is root.form_desk
    assert root.form_desk.config is root.config
    assert root.form_desk.repo is root.repository is root.sla_sweep.repo
    assert root.config.helpdesk.languages


def test_a_service_whose_variable_is_missing_fails_naming_it() -> None:
    root = Composition(Environment.from_os(GLOBALS))
    with pytest.raises(MissingSetting, match="RAW_BUCKET"):
        _ = root.email_intake
