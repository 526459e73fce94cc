"""The local stack's state view reads the domain table from moto directly (cheaper than a
Scan through the SDK, and the state is read after nearly every step): it must read exactly
what a Scan returns, in the same order, for every kind of item a desk writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import outbox, scan_items, scan_items_through_the_sdk

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("name", ["agent_lifecycle.yaml", "survey_low_score.yaml"])
def test_the_state_reads_every_item_a_scan_returns_in_the_same_order(name: str) -> None:
    scenario = load_scenario(SCENARIOS / name)
    with LocalStack(config_path=scenario.config, start=scenario.start) as stack:
        assert scan_items(stack) == scan_items_through_the_sdk(stack) == []
        Player(stack, scenario).play()
        items = scan_items(stack)

        assert items == scan_items_through_the_sdk(stack)
        kinds = {item["PK"].split("#")[0] for item in items}
        assert {"TICKET", "CONTACT"} <= kinds, kinds


def test_a_reader_changing_the_outbox_it_was_given_does_not_change_the_next_read() -> None:
    scenario = load_scenario(SCENARIOS / "agent_lifecycle.yaml")
    with LocalStack(config_path=scenario.config, start=scenario.start) as stack:
        Player(stack, scenario).play()
        first = outbox(stack)
        expected = [dict(mail, to=list(mail["to"])) for mail in first]
        first[0]["to"].append("someone@else.example")
        first[0]["subject"] = "changed"

        assert outbox(stack) == expected
