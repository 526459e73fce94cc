"""What a command's ticket change does to agents' loads (committed with the change)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from helpdesk.model import Ticket
from helpdesk.services.routing import load_change

TICKET = Ticket(
    ref="HD-7K3M9Q",
    status="open",
    priority="normal",
    channel="email",
    subject="Where is my order?",
    created_at=datetime(2026, 11, 23, 8, 55, tzinfo=UTC),
    contact_email="anna@example.com",
    contact_name="Anna",
    tier="standard",
    language="en",
    team="general",
    policy="standard",
    assignee="lena@support.example",
)


def keys(operations: list[dict[str, object]]) -> list[tuple[str, object]]:
    return [
        (kind, op[kind]) for op in operations for kind in ("put", "update", "delete") if kind in op
    ]


def test_solving_a_ticket_gives_its_agents_slot_back_and_says_whose() -> None:
    change = load_change(TICKET, replace(TICKET, status="solved"))
    assert change.released == ("lena@support.example",)
    assert [kind for kind, _ in keys(change.operations)] == ["delete", "update", "delete"]
    [release] = [op for op in change.operations if "update" in op]
    assert release["values"] == {":minus": -1}
    # The ticket no longer waits anywhere either.
    assert {"delete": {"PK": "TICKET#HD-7K3M9Q", "SK": "QUEUE"}} in change.operations


def test_reassigning_moves_the_slot_from_one_agent_to_the_other() -> None:
    change = load_change(TICKET, replace(TICKET, assignee="wei@support.example"))
    assert change.released == ("lena@support.example",)
    updated = [op["update"] for op in change.operations if "update" in op]
    assert updated == [
        {"PK": "AGENT#lena@support.example", "SK": "LOAD"},
        {"PK": "AGENT#wei@support.example", "SK": "LOAD"},
    ]


def test_a_reopened_ticket_goes_back_to_its_agent_whatever_their_load() -> None:
    solved = replace(TICKET, status="solved")
    change = load_change(solved, replace(solved, status="open"))
    assert change.released == ()
    [take] = [op for op in change.operations if "update" in op]
    assert take["values"] == {":one": 1, ":type": "agent_load"}
    assert "condition" not in take


def test_a_change_that_keeps_the_same_holder_touches_no_load() -> None:
    for changed in (replace(TICKET, priority="high"), replace(TICKET, status="pending")):
        assert load_change(TICKET, changed).operations == []
