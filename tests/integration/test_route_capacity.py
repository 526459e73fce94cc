"""Capacity: a full agent's tickets wait in the team queue, freed capacity takes the oldest,
and routers running at once never push an agent over capacity."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "config"
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
LENA = "lena@support.example"  # the only agent of one_agent.yaml, capacity 3


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING, config_path=CONFIGS / "one_agent.yaml") as local:
        yield local


def table(stack: LocalStack) -> str:
    return stack.resolver.ref("DomainTable") if stack.resolver else ""


def load_of(stack: LocalStack, agent: str) -> int:
    item = stack.dynamodb.get_item(
        TableName=table(stack), Key={"PK": {"S": f"AGENT#{agent}"}, "SK": {"S": "LOAD"}}
    ).get("Item")
    return int(item["open"]["N"]) if item else 0


def agent_headers(stack: LocalStack) -> dict[str, str]:
    return {
        "authorization": f"Bearer {stack.agent_token(LENA)}",
        "content-type": "application/json",
    }


def route_event(
    ref: str, *, event_id: str | None = None, kind: str = "TicketOpened"
) -> dict[str, Any]:
    """The event RouteRule invokes the route function with, for one ticket."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": kind,
        "source": "helpdesk",
        "account": "123456789012",
        "time": "2026-11-23T08:55:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"ref": ref},
    }


def unrouted_tickets(stack: LocalStack, count: int) -> list[str]:
    """Tickets written straight to the table, with no TicketOpened published: only the
    test's own route invocations decide who gets them."""
    from committing import KeptEventsStore

    from helpdesk.config import load_config
    from helpdesk.model import Message
    from helpdesk.services.tickets import NewRequest, open_ticket

    config = load_config(CONFIGS / "one_agent.yaml")
    store = KeptEventsStore(table(stack), config=config)
    refs = []
    for number in range(count):
        now = stack.clock.read()
        ticket = open_ticket(
            NewRequest(
                channel="form",
                subject=f"Order {number}",
                text="Where is it?",
                contact_email=f"c{number}@example.com",
                contact_name=f"Customer {number}",
                language="en",
            ),
            uow=store,
            config=config,
            now=now,
            first_message=Message(
                id=f"m{number}", ticket="", direction="in", author="", at=now, text="Where?"
            ),
            detect_language=False,
        )
        refs.append(ticket.ref)
    return refs


def test_a_full_agents_next_ticket_waits_and_is_assigned_when_one_is_solved(
    stack: LocalStack,
) -> None:
    refs = [
        stack.post_form(
            {"name": "C", "email": f"c{n}@example.com", "subject": "Order", "message": "Where?"}
        ).json()["ref"]
        for n in range(4)
    ]
    tickets = build_state(stack)["tickets"]
    assert [t["assignee"] for t in tickets] == [LENA, LENA, LENA, None]
    assert load_of(stack, LENA) == 3
    queue = stack.http("GET", "/agent/queue?team=general", headers=agent_headers(stack)).json()
    assert [t["ref"] for t in queue["tickets"]] == [refs[3], *refs[:3]]
    assert queue["tickets"][0]["assignee"] is None

    solved = stack.http(
        "PATCH",
        f"/agent/tickets/{refs[0]}",
        body=json.dumps({"status": "solved"}),
        headers=agent_headers(stack),
    )
    assert solved.status == 200, solved.body
    tickets = build_state(stack)["tickets"]
    assert [t["assignee"] for t in tickets] == [LENA, LENA, LENA, LENA]
    assert load_of(stack, LENA) == 3
    mails = [m for m in build_state(stack)["outbox"] if m["kind"] == "assignment"]
    assert [m["ticket"] for m in mails] == refs
    assert stack.invocation_errors == []


@pytest.mark.usefixtures("atomic_aws")
def test_routers_running_at_once_never_push_an_agent_over_capacity(stack: LocalStack) -> None:
    refs = unrouted_tickets(stack, 12)
    stack.invoke_concurrently("route", [route_event(ref) for ref in refs])
    tickets = build_state(stack)["tickets"]
    assert sum(t["assignee"] == LENA for t in tickets) == 3
    assert load_of(stack, LENA) == 3
    waiting = stack.http("GET", "/agent/queue?team=general", headers=agent_headers(stack)).json()
    assert sum(t["assignee"] is None for t in waiting["tickets"]) == 9


def assert_assigned_and_mailed_once(stack: LocalStack, ref: str) -> None:
    """Lena holds ``ref`` in one slot, and one assignment mail went out for it."""
    assert load_of(stack, LENA) == 1
    assignments = [m for m in build_state(stack)["outbox"] if m["kind"] == "assignment"]
    assert [m["ticket"] for m in assignments] == [ref]


def test_a_redelivered_routing_event_assigns_and_mails_once(stack: LocalStack) -> None:
    [ref] = unrouted_tickets(stack, 1)
    event = route_event(ref, event_id="same-event")
    stack.invoke("route", event)
    stack.invoke("route", event)
    assert_assigned_and_mailed_once(stack, ref)


@pytest.mark.usefixtures("atomic_aws")
def test_one_event_in_several_route_containers_at_once_assigns_and_mails_once(
    stack: LocalStack,
) -> None:
    [ref] = unrouted_tickets(stack, 1)
    event = route_event(ref, event_id="delivered-to-four")
    # A container that lost the ticket's version race re-reads and decides again; one that
    # still loses fails, and Lambda retries it (redelivered below).
    with contextlib.suppress(Exception):
        stack.invoke_concurrently("route", [event] * 4)
    stack.invoke("route", event)
    assert_assigned_and_mailed_once(stack, ref)


@pytest.mark.usefixtures("atomic_aws")
def test_two_events_for_one_ticket_routed_at_once_leave_one_assignee_and_one_slot(
    stack: LocalStack,
) -> None:
    [ref] = unrouted_tickets(stack, 1)
    opened, moved = route_event(ref), route_event(ref, kind="TeamChanged")
    with contextlib.suppress(Exception):
        stack.invoke_concurrently("route", [opened, moved])
    # Each is delivered again, as Lambda retries a failed one (and may repeat one).
    stack.invoke("route", opened)
    stack.invoke("route", moved)
    [ticket] = build_state(stack)["tickets"]
    assert ticket["assignee"] == LENA
    assert load_of(stack, LENA) == 1
