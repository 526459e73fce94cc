"""A contact's tickets, newest first, on the local stack's table: the opening's history item
carries the contact's entry in the keys-only BacklogIndex (``CONTACT#<email>``), written
once when the ticket opens and never again, so a ticket's later changes write no index entry
for it; the tickets are then read by key, in their current state. A desk's older tickets,
listed by their own item in GSI1 before, get an entry from the one-off backfill
(docs/DEPLOY.md, "Upgrading to this release")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from committing import set_status, ticket_store
from desk_support import events_held_back

from helpdesk_local.backlog_index import backfill_backlog_index
from helpdesk_local.bench import metered
from helpdesk_local.stack import LocalStack


def mail(message_id: str, subject: str, *, sender: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@support.example\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Mon, 23 Nov 2026 09:50:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Where is it?\r\n"
    ).encode()


def _ticket_items(stack: LocalStack) -> list[dict[str, Any]]:
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    items = stack.dynamodb.scan(TableName=table)["Items"]
    return [i for i in items if i["SK"]["S"] == "META" and i["PK"]["S"].startswith("TICKET#")]


def test_a_contacts_tickets_are_listed_newest_first_in_their_current_state(
    stack: LocalStack,
) -> None:
    store = ticket_store(stack)
    for n in range(3):
        stack.deliver_email(mail(f"<order-{n}@x.example>", f"Order {n}", sender="anna@example.com"))
        stack.advance(timedelta(minutes=1))
        stack.drain()
    stack.deliver_email(mail("<bob-1@x.example>", "Invoice", sender="bob@example.com"))
    stack.drain()
    annas = store.contact_tickets("Anna@Example.com")
    assert [t.subject for t in annas] == ["Order 2", "Order 1", "Order 0"]
    set_status(stack, annas[1].ref, "solved")

    listed = store.contact_tickets("anna@example.com", limit=2)

    assert [(t.subject, t.status) for t in listed] == [("Order 2", "new"), ("Order 1", "solved")]
    assert all(t.assignee for t in listed)


def test_a_tickets_changes_after_its_opening_write_no_index_entry(stack: LocalStack) -> None:
    store = ticket_store(stack)
    with events_held_back(stack, "route"):
        stack.deliver_email(mail("<order-1@x.example>", "Order 1", sender="anna@example.com"))
        stack.drain()
    with metered(stack, detailed=True) as (meter, _):
        stack.drain()  # route: the assignment changes the ticket
        (ticket,) = store.contact_tickets("anna@example.com")
        assert ticket.assignee is not None
        solved = set_status(stack, ticket.ref, "solved")
        assert solved.status == "solved"
        written = dict(meter.write_units_by_target)
    assert written["table"] > 0
    # The ticket left its team's backlog (one BacklogIndex write); nothing else moved.
    assert (written.get("GSI1", 0), written.get("BacklogIndex", 0)) == (0, 1)


def test_the_backfill_lists_a_desks_older_tickets_under_their_contact_once(
    stack: LocalStack,
) -> None:
    store = ticket_store(stack)
    table = store.table
    for n in range(2):
        stack.deliver_email(mail(f"<order-{n}@x.example>", f"Order {n}", sender="anna@example.com"))
        stack.advance(timedelta(minutes=1))
        stack.drain()
    # A desk before the entries: its tickets were listed by their own item in GSI1, and
    # nothing else lists them.
    items = stack.dynamodb.scan(TableName=table)["Items"]
    for item in items:
        if item.get("BPK", {}).get("S", "").startswith("CONTACT#"):
            stack.dynamodb.update_item(
                TableName=table,
                Key={"PK": item["PK"], "SK": item["SK"]},
                UpdateExpression="REMOVE BPK",
            )
    for item in _ticket_items(stack):
        stack.dynamodb.update_item(
            TableName=table,
            Key={"PK": item["PK"], "SK": item["SK"]},
            UpdateExpression="SET GSI1PK = :c",
            ExpressionAttributeValues={":c": {"S": "CONTACT#anna@example.com"}},
        )
    assert store.contact_tickets("anna@example.com") == []

    first = backfill_backlog_index(stack.dynamodb, table)
    again = backfill_backlog_index(stack.dynamodb, table)

    assert (first.listed, again.listed) == (2, 0)
    assert [t.subject for t in store.contact_tickets("anna@example.com")] == ["Order 1", "Order 0"]


def test_a_forgers_openings_in_a_contacts_name_are_not_listed_as_hers(stack: LocalStack) -> None:
    # Attack 15, F1: listed, they reached her in the fresh-links mail with working links.
    store = ticket_store(stack)
    dmarc_fail = (
        "Authentication-Results: amazonses.com; spf=fail; dkim=none;"
        " dmarc=fail header.from=example.com\r\n"
    )
    stack.deliver_email(mail("<order-1@x.example>", "Order 1", sender="anna@example.com"))
    stack.deliver_email(
        dmarc_fail.encode()
        + mail("<f-1@x.example>", "Confirm your card", sender="anna@example.com")
    )
    stack.deliver_email(
        b"Auto-Submitted: auto-replied\r\n"
        + mail("<r-1@x.example>", "Your account is locked", sender="anna@example.com")
    )
    stack.drain()
    assert len(_ticket_items(stack)) == 3
    assert [t.subject for t in store.contact_tickets("anna@example.com")] == ["Order 1"]
    # The upgrade's backfill lists only hers too.
    table = store.table
    for item in stack.dynamodb.scan(TableName=table)["Items"]:
        if item.get("BPK", {}).get("S", "").startswith("CONTACT#"):
            stack.dynamodb.update_item(
                TableName=table,
                Key={"PK": item["PK"], "SK": item["SK"]},
                UpdateExpression="REMOVE BPK",
            )

    assert backfill_backlog_index(stack.dynamodb, table).listed == 1
    assert [t.subject for t in store.contact_tickets("anna@example.com")] == ["Order 1"]


def test_a_ticket_mistaken_for_a_robots_is_listed_once_a_person_takes_it_up(
    stack: LocalStack,
) -> None:
    # Review 17, #2: the entry is written by the commit that makes the ticket hers.
    from helpdesk.services.commands import EVERY_TEAM, AgentAction, carry_out

    store = ticket_store(stack)
    stack.deliver_email(
        b"Auto-Submitted: auto-replied\r\n"
        + mail("<r-1@x.example>", "Where is my order?", sender="anna@example.com")
    )
    stack.drain()
    [item] = _ticket_items(stack)
    ref = item["ref"]["S"]
    assert store.contact_tickets("anna@example.com") == []

    lena = AgentAction(scope=EVERY_TEAM, agent="lena@support.example", reply="It left today.")
    carry_out(lena, ref, uow=store, config=store.config, now=stack.clock.read())

    assert [t.ref for t in store.contact_tickets("anna@example.com")] == [ref]


def test_while_the_index_is_being_built_a_contact_has_no_other_tickets_to_show(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The deploy that adds BacklogIndex leaves it backfilling for a while, and DynamoDB
    # refuses its queries until it is ACTIVE ("Cannot read from backfilling global
    # secondary index", a ValidationException; AWS::DynamoDB::Table, GlobalSecondaryIndexes).
    # The list is extra information: the assignment mail, the customer's page and the links
    # mail go on without it instead of failing into a dead-letter queue.
    from botocore.exceptions import ClientError

    store = ticket_store(stack)
    stack.deliver_email(mail("<order-1@x.example>", "Order 1", sender="anna@example.com"))
    stack.drain()

    def backfilling(**_: Any) -> Any:
        raise ClientError(
            {
                "Error": {
                    "Code": "ValidationException",
                    "Message": "Cannot read from backfilling global secondary index: BacklogIndex",
                }
            },
            "Query",
        )

    monkeypatch.setattr(store._db, "query", backfilling)
    assert store.contact_tickets("anna@example.com") == []
