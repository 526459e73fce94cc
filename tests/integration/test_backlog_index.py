"""A team's backlog on the local stack's table: the tickets in it carry the BacklogIndex key,
so a report reads the backlog and the open tickets from one Query of keys, and the one-off
backfill gives a desk's older tickets the key (docs/DEPLOY.md, "The backlog index")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from committing import set_status, ticket_store

from helpdesk.model import Contact
from helpdesk.unit_of_work import Claim
from helpdesk_local.backlog_index import backfill_backlog_index
from helpdesk_local.stack import LocalStack


def mail(message_id: str, subject: str, body: str, *, sender: str, extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@support.example\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n{extra}Date: Mon, 23 Nov 2026 09:50:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


# Both tests' desk holds these two: a person's question and a robot's auto-reply.
ANNAS_ORDER = mail(
    "<order-1@x.example>", "Where is my order?", "It has not arrived.",
    sender="Anna Schmidt <anna@example.com>",
)  # fmt: skip
PAULS_OUT_OF_OFFICE = mail(
    "<ooo-1@x.example>", "Out of office", "Back on 30 November.",
    sender="Paul Weber <paul@example.com>", extra="Auto-Submitted: auto-replied\r\n",
)  # fmt: skip


def opened(stack: LocalStack, raw: bytes) -> str:
    stack.deliver_email(raw)
    stack.drain()
    refs = [str(i["ref"]["S"]) for i in _tickets(stack)]
    return max(refs, key=lambda ref: _ticket(stack, ref)["created_at"]["S"])


def _tickets(stack: LocalStack) -> list[dict[str, Any]]:
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    items = stack.dynamodb.scan(TableName=table)["Items"]
    return [i for i in items if i["SK"]["S"] == "META" and i["PK"]["S"].startswith("TICKET#")]


def _ticket(stack: LocalStack, ref: str) -> dict[str, Any]:
    return next(i for i in _tickets(stack) if i["ref"]["S"] == ref)


def test_a_robot_ticket_a_person_wrote_on_joins_the_backlog_though_route_never_took_it(
    stack: LocalStack,
) -> None:
    store = ticket_store(stack)
    anna = opened(stack, ANNAS_ORDER)
    robot = opened(stack, PAULS_OUT_OF_OFFICE)
    # The robot's ticket awaits review: in no backlog.
    assert store.read_backlog("general") == {"2026-11-23": 1}

    stack.deliver_email(
        mail("<paul-2@x.example>", f"Re: [#{robot}] Out of office",
             "I am back early: my parcel never arrived.", sender="Paul Weber <paul@example.com>")
    )  # fmt: skip
    stack.drain()

    # Paul wrote himself: his ticket is a person's now, and counts, though route (which acts
    # on new tickets and team moves) never queued it nor gave it an agent.
    assert store.read_backlog("general") == {"2026-11-23": 2}
    # The report's "needs attention" list stays the tickets waiting or held, as before.
    assert [t.ref for t in store.open_tickets("general")] == [anna]
    held = store.held_page("general", after=None, limit=10, walk=1_000)
    assert ([t.ref for t in held.tickets], held.paused) == ([anna], False)

    set_status(stack, anna, "solved")
    assert store.read_backlog("general") == {"2026-11-23": 1}
    assert store.open_tickets("general") == []


def test_the_backfill_keys_a_desks_older_open_tickets_once_and_leaves_the_others(
    stack: LocalStack,
) -> None:
    store = ticket_store(stack)
    table = store.table
    anna = opened(stack, ANNAS_ORDER)
    bob = opened(
        stack,
        mail("<invoice-1@x.example>", "Invoice", "The address is wrong.",
             sender="Bob Meyer <bob@example.com>"),
    )  # fmt: skip
    opened(stack, PAULS_OUT_OF_OFFICE)
    set_status(stack, bob, "solved")
    # A desk before the index: no ticket carries the key.
    for item in _tickets(stack):
        stack.dynamodb.update_item(
            TableName=table, Key={"PK": item["PK"], "SK": item["SK"]}, UpdateExpression="REMOVE BPK"
        )
    assert store.read_backlog("general") == {}

    first = backfill_backlog_index(stack.dynamodb, table)
    again = backfill_backlog_index(stack.dynamodb, table)

    assert (first.looked_at, first.keyed) == (3, 1)  # Bob's is solved, Paul's awaits review
    assert again.keyed == 0
    assert store.read_backlog("general") == {"2026-11-23": 1}
    assert [t.ref for t in store.open_tickets("general")] == [anna]


def test_the_backfill_gives_an_older_contact_no_zone_so_a_strangers_form_sets_none(
    stack: LocalStack,
) -> None:
    # A contact first seen by mail stores "" (no zone), so that a form anyone can file in
    # her name gives her none (attack 8, F2). A contact stored before that release has no
    # zone attribute at all, and the next opening's zone would take (review 8, #1).
    store = ticket_store(stack)
    table = store.table
    opened(stack, ANNAS_ORDER)
    key = {"PK": {"S": "CONTACT#anna@example.com"}, "SK": {"S": "META"}}
    stack.dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="REMOVE #z",
        ExpressionAttributeNames={"#z": "timezone"},
    )

    first = backfill_backlog_index(stack.dynamodb, table)
    again = backfill_backlog_index(stack.dynamodb, table)

    assert (first.zoned, again.zoned) == (1, 0)
    strangers_form = Contact(
        email="anna@example.com", name="Anna", tier="", language="en",
        created_at=datetime(2026, 11, 23, 10, tzinfo=UTC), timezone="Pacific/Kiritimati",
    )  # fmt: skip
    assert store.count_opening(strangers_form, [Claim("submission", "s-1")]).timezone == ""
