"""Routing: who gets a new ticket (least loaded, round robin, language, away, team)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "config"
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
ENGLISH = {"subject": "Where is my order?", "message": "It has been two weeks, please help."}
CHINESE = {
    "subject": "我的订单在哪里？",
    "message": "我两周前订购了一个水壶，到现在还没有收到，请帮我查一下。",
}


@pytest.fixture
def round_robin_stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING, config_path=CONFIGS / "round_robin.yaml") as local:
        yield local


def open_ticket(stack: LocalStack, number: int, text: dict[str, str]) -> str:
    response = stack.post_form(
        {"name": f"Customer {number}", "email": f"c{number}@example.com", **text}
    )
    assert response.status == 201, response.body
    return str(response.json()["ref"])


def assignees(stack: LocalStack) -> list[str | None]:
    return [t["assignee"] for t in build_state(stack)["tickets"]]


def load_of(stack: LocalStack, agent: str) -> int:
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    item = stack.dynamodb.get_item(
        TableName=table, Key={"PK": {"S": f"AGENT#{agent}"}, "SK": {"S": "LOAD"}}
    ).get("Item")
    return int(item["open"]["N"]) if item else 0


def agent_mail(stack: LocalStack, kind: str) -> list[dict[str, Any]]:
    return [m for m in build_state(stack)["outbox"] if m["kind"] == kind]


def test_least_loaded_spreads_tickets_and_prefers_agents_who_speak_the_language(
    stack: LocalStack,
) -> None:
    for number in range(4):
        open_ticket(stack, number, ENGLISH)
    # Lena and Wei both answer in English: one each, in turn.
    assert assignees(stack) == [
        "lena@support.example",
        "wei@support.example",
        "lena@support.example",
        "wei@support.example",
    ]
    # Only Wei answers in Chinese: both Chinese tickets go to Wei, though Lena has room.
    open_ticket(stack, 4, CHINESE)
    open_ticket(stack, 5, CHINESE)
    assert assignees(stack)[4:] == ["wei@support.example", "wei@support.example"]
    assert load_of(stack, "lena@support.example") == 2
    assert load_of(stack, "wei@support.example") == 4
    assert stack.invocation_errors == []


def test_round_robin_takes_turns_in_config_order_and_skips_an_agent_who_is_away(
    round_robin_stack: LocalStack,
) -> None:
    for number in range(5):
        open_ticket(round_robin_stack, number, ENGLISH)
    assert assignees(round_robin_stack) == [
        "ann@support.example",
        "bob@support.example",
        "cid@support.example",
        "ann@support.example",
        "bob@support.example",
    ]
    assert load_of(round_robin_stack, "eve@support.example") == 0


def test_each_assignment_mails_the_agent_the_customer_and_their_earlier_tickets(
    stack: LocalStack,
) -> None:
    open_ticket(stack, 2, ENGLISH)
    first = open_ticket(stack, 1, {"subject": "Broken lid", "message": "The lid broke."})
    second = open_ticket(stack, 1, ENGLISH)
    mails = agent_mail(stack, "assignment")
    # Wei reads his in Chinese, his first language; Lena, who has the third, in English.
    assert "分配给您的工单" in mails[1]["subject"]
    assert (mails[2]["ticket"], mails[2]["to"]) == (second, ["lena@support.example"])
    text = mails[2]["text"]
    assert "Customer:        Customer 1 <c1@example.com>" in text
    assert "Tier:            standard" in text
    assert "Language:        English" in text  # the language in the agent's words
    # Due times in the policy's zone (Europe/Berlin), as a person reads them.
    assert "First response:  due Monday, 23 November 2026, 13:55 Berlin time" in text
    assert "> It has been two weeks, please help." in text
    assert f"- {first}  new  2026-11-23  Broken lid" in text
    assert "#status new|open|pending|solved" in text
    assert mails[2]["headers"]["Reply-To"] == f"support+{second.lower()}@support.example"
    assert mails[2]["headers"]["Auto-Submitted"] == "auto-generated"


def test_mail_from_robots_takes_no_agent_capacity(stack: LocalStack) -> None:
    stack.deliver_email(
        b"From: Shop Notifications <notify@shop.example>\r\n"
        b"To: support@support.example\r\n"
        b"Subject: Your weekly digest\r\n"
        b"Auto-Submitted: auto-generated\r\n"
        b"Message-ID: <digest-1@shop.example>\r\n"
        b"Date: Mon, 23 Nov 2026 08:55:00 +0000\r\n"
        b"\r\n"
        b"Nothing new this week.\r\n"
    )
    stack.drain()
    [ticket] = build_state(stack)["tickets"]
    assert ticket["flags"] == ["auto_reply"]
    assert ticket["assignee"] is None
    assert agent_mail(stack, "assignment") == []
    assert load_of(stack, "lena@support.example") == 0


def test_moving_a_ticket_to_another_team_routes_it_to_that_team(stack: LocalStack) -> None:
    import json

    ref = open_ticket(stack, 1, ENGLISH)
    token = stack.agent_token("lena@support.example")
    response = stack.http(
        "PATCH",
        f"/agent/tickets/{ref}",
        body=json.dumps({"team": "tier2"}),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status == 200, response.body
    [ticket] = build_state(stack)["tickets"]
    assert ticket["team"] == "tier2"
    assert ticket["assignee"] == "omar@support.example"
    assert load_of(stack, "lena@support.example") == 0
    assert load_of(stack, "omar@support.example") == 1
    assert [m["to"] for m in agent_mail(stack, "assignment")] == [
        ["lena@support.example"],
        ["omar@support.example"],
    ]


def test_an_escalated_ticket_moves_to_an_agent_of_the_new_team(stack: LocalStack) -> None:
    from datetime import timedelta

    # A VIP ticket (policy vip: first response within 30 minutes, escalates to tier2).
    ref = stack.post_form({"name": "Vera", "email": "vera@bigcorp.example", **ENGLISH}).json()[
        "ref"
    ]
    assert assignees(stack) == ["lena@support.example"]
    stack.advance(timedelta(minutes=45))
    [ticket] = build_state(stack)["tickets"]
    assert ticket["team"] == "tier2"
    assert ticket["assignee"] == "omar@support.example"
    assert load_of(stack, "lena@support.example") == 0
    assert load_of(stack, "omar@support.example") == 1
    assert [m["to"] for m in agent_mail(stack, "assignment") if m["ticket"] == ref] == [
        ["lena@support.example"],
        ["omar@support.example"],
    ]
    assert stack.invocation_errors == []
