"""The agent API's answer about one ticket on the fakes: a conversation of long messages
fits one Lambda response, and a client pages back through it (attack 8, F1)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from agent_callers import LENA

from fakes import (
    CONFIG,
    MONDAY_MORNING,
    FakeMailStore,
    FakeRecords,
    FakeUnitOfWork,
    fake_uow,
    ticket,
)
from helpdesk.errors import InvalidInput
from helpdesk.model import Message
from helpdesk.services.agent_api import AgentDesk
from helpdesk.services.message_bodies import SHOWN_TEXT_MAX_BYTES
from helpdesk.services.message_bodies import THREAD_MESSAGES_MAX as TICKET_MESSAGES


def desk(texts: list[str]) -> AgentDesk:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket())
    uow.conversation["HD-7K3M9Q"] = [
        Message(
            id=f"m{n}",
            ticket="HD-7K3M9Q",
            direction="in",
            author="anna@example.com",
            at=MONDAY_MORNING + timedelta(minutes=n),
            text=text,
        )
        for n, text in enumerate(texts)
    ]
    return AgentDesk(uow=uow, repo=FakeRecords(uow), config=CONFIG, store=FakeMailStore())


def test_long_messages_are_cut_and_the_answer_fits_a_lambda_response() -> None:
    # Quotes and control characters grow the most on the way: JSON in JSON makes a
    # control character 7 bytes ("\\u0001") and a quote 4 ('\\"').
    assert LENA is not None
    answer = desk(['"\x01' * 200_000] * 60).ticket(LENA, "HD-7K3M9Q")

    body = json.dumps(answer, ensure_ascii=False)
    assert len(json.dumps({"statusCode": 200, "body": body}).encode()) < 5_000_000
    assert answer["messages"][-1]["id"] == "m59"
    assert all(m["text_cut"] and m["text_bytes"] == 400_000 for m in answer["messages"])
    assert all(len(m["text"].encode()) <= SHOWN_TEXT_MAX_BYTES for m in answer["messages"])
    assert answer["older_messages"] == 60 - len(answer["messages"]) > 0


def test_a_client_pages_back_through_a_long_conversation_with_before() -> None:
    assert LENA is not None
    agents = desk([f"Any news? ({n})" for n in range(TICKET_MESSAGES + 7)])

    newest = agents.ticket(LENA, "HD-7K3M9Q")
    older = agents.ticket(LENA, "HD-7K3M9Q", before=newest["messages"][0]["id"])

    assert [m["id"] for m in newest["messages"]][:1] == ["m7"]
    assert (len(newest["messages"]), newest["older_messages"]) == (TICKET_MESSAGES, 7)
    assert [m["id"] for m in older["messages"]] == [f"m{n}" for n in range(7)]
    assert older["older_messages"] == 0
    assert older["messages"][0] | {"at": None} == {
        "id": "m0",
        "direction": "in",
        "from": "anna@example.com",
        "name": "",
        "at": None,
        "text": "Any news? (0)",
        "text_bytes": 13,
        "text_cut": False,
        "attachments": [],
        "flags": [],
        "channel": None,
    }
    with pytest.raises(InvalidInput):
        agents.ticket(LENA, "HD-7K3M9Q", before="m999")


def test_a_message_says_what_the_intake_could_not_prove_about_it() -> None:
    # Attack 16, F2: a follow-up SES did not authenticate for the customer's own domain
    # answered exactly as her real message did; the relay mail says "Sender not verified".
    assert LENA is not None
    agents = desk(["Where is my order?", "I moved: send it to 1 Evil Road."])
    conversation = fake_uow(agents.uow).conversation["HD-7K3M9Q"]
    conversation[1] = replace(conversation[1], flags=("unauthenticated",))

    answer = agents.ticket(LENA, "HD-7K3M9Q")

    assert [m["flags"] for m in answer["messages"]] == [[], ["unauthenticated"]]


def test_a_ticket_says_whether_the_customers_next_mail_still_joins_it() -> None:
    # Review 17, #1c: a ticket full of forged mail sent her next mail to a new ticket, and
    # the agent answering on the old one had no way to know.
    from helpdesk.model import UNPROVEN_MESSAGES_MAX

    assert LENA is not None
    agents = desk(["Where is my order?"])
    uow = fake_uow(agents.uow)
    ref = "HD-7K3M9Q"
    uow.tickets[ref] = replace(uow.tickets[ref], messages_in=3, messages_unproven=1)
    assert agents.ticket(LENA, ref)["thread"] == {
        "proven": 3, "proven_max": 1000, "unproven": 1, "unproven_max": 200,
        "takes_mail": True, "takes_unverified_mail": True,
    }  # fmt: skip

    uow.tickets[ref] = replace(uow.tickets[ref], messages_unproven=UNPROVEN_MESSAGES_MAX)
    thread = agents.ticket(LENA, ref)["thread"]

    assert (thread["takes_mail"], thread["takes_unverified_mail"]) == (True, False)


def test_the_ticket_names_the_people_copied_in_who_get_every_reply() -> None:
    # Attack 21, F2: a customer's Cc made participants, and each reply went to them too,
    # while nothing the agent reads named them.
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket(participants=["cfo@victim.example", "bob@example.com"]))
    agents = AgentDesk(uow=uow, repo=FakeRecords(uow), config=CONFIG, store=FakeMailStore())
    assert LENA is not None

    answer = agents.ticket(LENA, "HD-7K3M9Q")

    assert answer["participants"] == ["cfo@victim.example", "bob@example.com"]
