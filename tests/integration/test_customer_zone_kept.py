"""The contact's stored time zone is kept (security review F7), through the DynamoDB
adapter on the local stack: a later form naming another zone changes no promise."""

from __future__ import annotations

from pathlib import Path

from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_a_strangers_form_in_a_customers_name_moves_none_of_her_promised_times() -> None:
    scenario = load_scenario(SCENARIOS / "customer_zone_kept.yaml")
    with LocalStack(start=scenario.start, config_path=scenario.config) as stack:
        state = Player(stack, scenario).play()
        assert stack.invocation_errors == []

    acknowledgements = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert len(acknowledgements) == 3
    for mail in acknowledgements:
        assert "New York time" in " ".join(mail["text"].split())
        assert "Kiritimati" not in mail["text"]
