"""sla_check on the local stack: nothing is mailed twice, and the sweep's reads do not grow
with the history."""

from __future__ import annotations

import json
import threading
import types
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk.aws.dynamodb import encode
from helpdesk.aws.events import EventBridgePublisher
from helpdesk.aws.ticket_store import DynamoTicketStore
from helpdesk.config import load_config
from helpdesk.services.sla_sweep import SlaSweep
from helpdesk_local.stack import ACCOUNT, REGION, LocalStack
from helpdesk_local.state import build_state, scan_items

# Monday 23 November 2026, 09:55 in Berlin (the stack fixture's start).
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
# A normal ticket opened on MONDAY_MORNING (09:55 CET) is warned at 13:07 CET and its
# first response is due at 13:55 CET.
WARNING_AT = MONDAY_MORNING + timedelta(hours=3, minutes=12)
DUE = MONDAY_MORNING + timedelta(hours=4)
SCHEDULED = {
    "version": "0",
    "id": "2b1e4a4e-0d0a-4c53-9a43-5f6f4a1c7f10",
    "detail-type": "Scheduled Event",
    "source": "aws.scheduler",
    "account": "123456789012",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


def open_ticket(stack: LocalStack, number: int = 1) -> str:
    response = stack.post_form(
        {
            "name": f"Customer {number}",
            "email": f"customer{number}@example.com",
            "subject": "Where is my order?",
            "message": "It has been two weeks and the tracking page shows nothing.",
        }
    )
    assert response.status == 201, response.body
    return str(response.json()["ref"])


def sla_mail(stack: LocalStack) -> Counter[tuple[str, str]]:
    """(kind, recipient) of every warning and escalation sent, with how often."""
    return Counter(
        (mail["kind"], mail["to"][0])
        for mail in build_state(stack)["outbox"]
        if mail["kind"] in ("warning", "escalation")
    )


def sweep_at(stack: LocalStack, instant: datetime) -> SlaSweep:
    """The sweep service on the stack's table, with the stack's clock moved to ``instant``."""
    assert stack.resolver is not None
    stack.clock.set(instant)
    store = CountingStore(
        stack.resolver.ref("DomainTable"),
        config=load_config(stack.config_path),
        timer_shards=int(stack.functions["sla_check"].environment["TIMER_SHARDS"]),
    )
    return SlaSweep(uow=store, repo=store, config=store.config)


class CountingStore(DynamoTicketStore):
    """The repository, counting every item DynamoDB reads for it (ScannedCount of each
    query page, one per item fetched by key)."""

    items_read = 0

    def _call(self, operation: str, **kwargs: Any) -> Any:
        response = super()._call(operation, **kwargs)
        if operation == "query":
            self.items_read += int(response.get("ScannedCount", 0))
        elif operation == "get_item" and "Item" in response:
            self.items_read += 1
        return response


@pytest.fixture
def one_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto answers requests from several threads at once and its tables are plain dicts
    (a transaction deep-copies a table while another thread writes to it). DynamoDB
    serialises the requests on an item; here every request waits for the one before, while
    the invocations still interleave between requests, where the races of sla_check are."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    unlocked = BotocoreStubber.__call__

    def serialised(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return unlocked(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialised)
    yield


@pytest.fixture
def cheap_transactions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto deep-copies the whole table before each item of a transaction, to roll back on
    failure: seconds per write once 20,000 tickets are in it, for an emulation artefact
    (DynamoDB keeps no such copy). No transaction fails in the test that uses this, so the
    backup may be the table itself; every other copy moto makes is still a deep copy."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    def backup(value: Any) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value)

    monkeypatch.setattr(models, "copy", types.SimpleNamespace(deepcopy=backup))
    yield


@pytest.mark.usefixtures("one_request_at_a_time")
def test_running_sla_check_again_or_overlapping_sends_nothing_twice(stack: LocalStack) -> None:
    ref = open_ticket(stack)
    assignee = build_state(stack)["tickets"][0]["assignee"] or "maria@support.example"

    stack.clock.set(WARNING_AT)
    runs = [stack.invoke("sla_check", SCHEDULED), stack.invoke("sla_check", SCHEDULED)]
    runs += stack.invoke_concurrently("sla_check", [SCHEDULED] * 4)
    stack.drain()
    assert sla_mail(stack) == Counter({("warning", assignee): 1})
    assert sum(run["warnings"] + run["recovered"] for run in runs) == 1

    stack.clock.set(DUE)
    runs = stack.invoke_concurrently("sla_check", [SCHEDULED] * 4)
    runs.append(stack.invoke("sla_check", SCHEDULED))
    stack.drain()
    escalations = {("escalation", "maria@support.example"): 1, ("escalation", assignee): 1}
    assert sla_mail(stack) == Counter({("warning", assignee): 1, **escalations})
    assert sum(run["breaches"] + run["recovered"] for run in runs) == 1
    assert stack.invocation_errors == []
    [ticket] = build_state(stack)["tickets"]
    assert ticket["ref"] == ref and ticket["sla"]["breaches"] == ["first_response"]


def test_an_sla_event_delivered_again_mails_nobody_again(stack: LocalStack) -> None:
    ref = open_ticket(stack)
    sweep_at(stack, WARNING_AT).run(stack.clock.read())
    stack.drain()
    recorded = [
        (entry["kind"], entry["detail"])
        for item in scan_items(stack)
        if item["PK"] == f"TICKET#{ref}" and item.get("type") == "outbox"
        for entry in json.loads(item["events"])
        if entry["kind"] == "SlaWarning"
    ]
    assert len(recorded) == 1

    # EventBridge delivers at least once: the same event again changes nothing.
    bus = EventBridgePublisher(stack.resolver.ref("EventBus") if stack.resolver else "")
    bus.publish(recorded)
    stack.drain()

    assert sum(sla_mail(stack).values()) == 1
    assert stack.invocation_errors == []


@pytest.mark.usefixtures("cheap_transactions")
def test_the_sweep_reads_as_many_items_with_20000_closed_tickets_as_with_none(
    stack: LocalStack,
) -> None:
    # Two tickets a minute apart: each is warned on its own, one before the history
    # arrives and one after.
    open_ticket(stack, 1)
    stack.clock.set(MONDAY_MORNING + timedelta(minutes=1))
    open_ticket(stack, 2)

    def items_read(at: datetime) -> int:
        sweep = sweep_at(stack, at)
        result = sweep.run(stack.clock.read())
        assert (result.due, result.warnings, result.failed) == (1, 1, [])
        assert isinstance(sweep.repo, CountingStore)
        return sweep.repo.items_read

    without_history = items_read(WARNING_AT)
    put_closed_tickets(stack, 20_000)
    with_history = items_read(WARNING_AT + timedelta(minutes=1))

    assert with_history == without_history
    # The due timer in the index and the ticket: nothing else.
    assert without_history == 2


def put_closed_tickets(stack: LocalStack, count: int) -> None:
    """``count`` closed tickets in the table (closed: no timer items), put through moto's
    backend: its HTTP emulation would take most of a minute for 20,000 items."""
    from moto.dynamodb.models import dynamodb_backends

    assert stack.resolver is not None
    table = stack.resolver.ref("DomainTable")
    backend = dynamodb_backends[ACCOUNT][REGION]
    created = (MONDAY_MORNING - timedelta(days=400)).isoformat()
    for number in range(count):
        ref = f"HD-C{number:05d}"
        backend.put_item(
            table,
            encode(
                {
                    "PK": f"TICKET#{ref}",
                    "SK": "META",
                    "type": "ticket",
                    "ref": ref,
                    "status": "closed",
                    "GSI1PK": f"CONTACT#old{number}@example.com",
                    "GSI1SK": f"{created}#{ref}",
                    "closed_at": created,
                }
            ),
        )
