"""The agent API's queue in pages on the local stack's table (attack 11, F1): the cursor
continues in DynamoDB's own order (a key condition on the index's sort key), the waiting
tickets are read by BatchGetItem, and bad ``limit`` and ``cursor`` values are 422s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from committing import ticket_store

from fakes import MONDAY_MORNING, ticket
from helpdesk.aws.dynamodb import ticket_item
from helpdesk.aws.ticket_store import DynamoTicketStore
from helpdesk.ports import QueuePosition
from helpdesk_local.stack import LocalStack

LENA = "lena@support.example"


def put_waiting(store: DynamoTicketStore, ref: str, minutes: int, subject: str) -> None:
    """A ticket waiting in general's queue, written as a commit's StartWaiting writes it."""
    at = MONDAY_MORNING + timedelta(minutes=minutes)
    store.put(ticket_item(ticket(ref=ref, created_at=at, subject=subject)))
    store.put(
        {
            "PK": f"TICKET#{ref}",
            "SK": "QUEUE",
            "type": "queued",
            "GSI1PK": "QUEUE#general",
            "GSI1SK": f"{at.isoformat()}#{ref}",
            "ref": ref,
            "team": "general",
        }
    )


def put_held(store: DynamoTicketStore, ref: str, minutes: int) -> None:
    at = MONDAY_MORNING + timedelta(minutes=minutes)
    store.put(ticket_item(ticket(ref=ref, created_at=at, status="open", assignee=LENA)))


def get(stack: LocalStack, path: str) -> tuple[int, Any]:
    response = stack.call_agent_api("GET", path, agent=LENA)
    return response.status, response.json()


def test_the_queue_is_listed_in_pages_by_its_cursor(stack: LocalStack) -> None:
    store = ticket_store(stack)
    waiting = [f"HD-2222{c}{d}" for c in "23" for d in "23456"]
    for n, ref in enumerate(waiting):
        put_waiting(store, ref, 10 + n, '"' * 2040)
    held = ["HD-333332", "HD-333333"]
    for n, ref in enumerate(held):
        put_held(store, ref, n)

    listed: list[str] = []
    path = "/agent/queue?team=general&limit=3"
    pages = 0
    while True:
        status, page = get(stack, path)
        assert status == 200, page
        assert (page["team"], page["teams"]) == ("general", ["general"])
        assert len(page["tickets"]) <= 3
        listed += [t["ref"] for t in page["tickets"]]
        pages += 1
        if page["next"] is None:
            break
        path = f"/agent/queue?team=general&limit=3&cursor={quote(page['next'])}"

    assert listed == [*waiting, *held]
    assert pages == 4
    # The adapter's reads the pages stand on.
    after = QueuePosition(MONDAY_MORNING + timedelta(minutes=13), waiting[3])
    assert [e.ref for e in store.waiting("general", after=after, limit=2)] == waiting[4:6]
    assert sorted(store.find_tickets([*waiting, "HD-999999"])) == sorted(waiting)
    first = store.held_page("general", after=None, limit=1, walk=1_000).tickets
    assert [t.ref for t in first] == held[:1]
    after = QueuePosition(first[0].created_at, first[0].ref)
    rest = store.held_page("general", after=after, limit=10, walk=1_000)
    assert ([t.ref for t in rest.tickets], rest.paused) == (held[1:], False)
    # A walk that reads its share before it finds enough says where it paused: the
    # waiting tickets are in the backlog too, and a walk through them finds none held.
    paused = store.held_page("general", after=None, limit=10, walk=1)
    assert [t.ref for t in paused.tickets] == held[:1]
    assert (paused.paused, paused.last) == (True, QueuePosition(MONDAY_MORNING, held[0]))
    last_held = QueuePosition(MONDAY_MORNING + timedelta(minutes=1), held[1])
    among_waiting = store.held_page("general", after=last_held, limit=10, walk=2)
    assert among_waiting.tickets == []
    assert among_waiting.paused and among_waiting.last == QueuePosition(
        MONDAY_MORNING + timedelta(minutes=11), waiting[1]
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"), ("cursor=%21", "cursor")],
)
def test_a_bad_limit_or_cursor_is_a_422_naming_it(
    stack: LocalStack, query: str, field: str
) -> None:
    status, answer = get(stack, f"/agent/queue?team=general&{query}")
    assert (status, answer["field"]) == (422, field)
