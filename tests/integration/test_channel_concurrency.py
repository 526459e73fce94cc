"""A channel's messages meeting at once, each in a container of its own: the first
messages of one new conversation make one ticket holding all of them (the conversation
pointer is a conditional write, the loser joins the winner's ticket), and the same message
handed to several containers makes one message."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from helpdesk.services.message_intake import signed_headers
from helpdesk_local.stack import LocalStack, local_channel_secret
from helpdesk_local.state import build_state

pytestmark = pytest.mark.usefixtures("atomic_aws")

EVENT = Path(__file__).resolve().parents[1] / "data" / "events" / "http_channel_post.json"


def channel_post(stack: LocalStack, message: dict[str, Any]) -> dict[str, Any]:
    """The documented payload 2.0 event of a signed channel post of ``message``."""
    event: dict[str, Any] = json.loads(EVENT.read_text(encoding="utf-8"))
    raw = json.dumps(message).encode()
    event["body"] = base64.b64encode(raw).decode("ascii")
    signed = signed_headers("chat", local_channel_secret("chat").encode(), raw, stack.clock.peek())
    event["headers"] |= {
        "content-length": str(len(raw)),
        "x-helpdesk-timestamp": signed["x-helpdesk-timestamp"],
        "x-helpdesk-signature": signed["x-helpdesk-signature"],
    }
    return event


def message(number: int) -> dict[str, Any]:
    return {
        "id": f"m-{number}",
        "conversation": "c-together",
        "from": {"email": "ann@example.com", "name": "Ann"},
        "text": f"Detail number {number} of my question.",
    }


def test_first_messages_of_a_new_conversation_at_once_make_one_ticket(
    stack: LocalStack,
) -> None:
    events = [channel_post(stack, message(n)) for n in range(1, 5)]

    answers = stack.invoke_concurrently("message_intake", events)
    stack.drain()

    [ticket] = build_state(stack)["tickets"]
    assert sorted(m["text"] for m in ticket["messages"]) == [
        f"Detail number {n} of my question." for n in range(1, 5)
    ]
    assert [a["statusCode"] for a in answers] == [200] * 4
    assert {json.loads(a["body"])["ref"] for a in answers} == {ticket["ref"]}


def test_the_same_message_in_several_containers_at_once_is_one_message(
    stack: LocalStack,
) -> None:
    events = [channel_post(stack, message(1)) for _ in range(4)]

    answers = stack.invoke_concurrently("message_intake", events)
    stack.drain()

    [ticket] = build_state(stack)["tickets"]
    assert len(ticket["messages"]) == 1
    assert [a["statusCode"] for a in answers] == [200] * 4
    assert {json.loads(a["body"])["ref"] for a in answers} == {ticket["ref"]}
    acknowledgements = [m for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"]
    assert len(acknowledgements) == 1
