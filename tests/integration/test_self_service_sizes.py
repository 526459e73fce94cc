"""A new ticket offered the most articles an acknowledgement offers keeps its META item
within one 1 KB write unit (tests/integration/dynamodb_sizes.py, as AWS documents sizes).
Its own module: the local stack is one per process, and test_self_service.py keeps one."""

from __future__ import annotations

from pathlib import Path

from dynamodb_sizes import item_size

from helpdesk_local.scenario import FormStep, load_scenario
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import scan_items

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "knowledge_self_service.yaml"


def test_a_new_ticket_offered_three_articles_stays_within_one_write_unit() -> None:
    scenario = load_scenario(SCENARIO)
    [jonas] = [
        step
        for _, step in scenario.steps
        if isinstance(step, FormStep) and step.fields.get("name") == "Jonas Weber"
    ]
    with LocalStack(start=scenario.start, config_path=scenario.config) as stack:
        assert stack.post_form(jonas.fields).status == 201
        stack.drain()
        [meta] = [
            i for i in scan_items(stack) if i["PK"].startswith("TICKET#") and i["SK"] == "META"
        ]

    assert len(meta["suggested"]) == 3
    # The ticket's META item is written at every change: one 1 KB write unit (DynamoDB
    # Developer Guide, "Item sizes and formats"), three suggestions included.
    assert item_size(meta) <= 1024, item_size(meta)
