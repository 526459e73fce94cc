"""A function's log line names only what its own invocation is about: the ticket and event
that acknowledge and route add to their lines do not stay on the next invocation's lines
(first-user review S13: a refused customer-page link logged the ticket of the last
acknowledgement, sending whoever reads the logs to the wrong ticket). Powertools keeps
appended keys for the life of the logger unless ``inject_lambda_context(clear_state=True)``
clears them at each invocation ("Logger", Powertools for AWS Lambda (Python): "Clearing
all state")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "one_form.yaml"


def test_a_refused_page_link_logs_no_ticket_of_an_earlier_invocation(
    capfd: pytest.CaptureFixture[str],
) -> None:
    scenario = load_scenario(SCENARIO)
    with LocalStack(start=scenario.start) as stack:
        Player(stack, scenario).play()  # acknowledge and route log the new ticket
        capfd.readouterr()
        assert stack.http("GET", "/ticket/not-a-link").status == 403
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    [refused] = [line for line in lines if line.get("message") == "page link refused"]
    assert refused["function_name"] == "customer_page"
    assert "ticket" not in refused and "event_id" not in refused
