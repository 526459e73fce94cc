"""A reply through the agent API that the client sends again (a retry after a timeout)
answers the customer once, when the client names the request with an Idempotency-Key
(the IETF httpapi working group's "The Idempotency-Key HTTP Header Field"); attack 16, I1:
a retried POST answered the customer twice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agent_callers import LENA, WEI

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
from helpdesk.events import AgentReplied
from helpdesk.services.agent_api import AgentDesk

REF = "HD-7K3M9Q"
ANSWER = json.dumps({"text": "It left our warehouse today."})


def desk() -> AgentDesk:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket(assignee="lena@support.example", status="open"))
    return AgentDesk(uow=uow, repo=FakeRecords(uow), config=CONFIG, store=FakeMailStore())


def replied(agents: AgentDesk) -> int:
    return sum(isinstance(e, AgentReplied) for e in fake_uow(agents.uow).events())


def test_a_reply_sent_again_with_its_key_answers_the_customer_once() -> None:
    agents = desk()

    first = agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-1")
    again = agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-1")

    assert again == first
    assert replied(agents) == 1


def test_two_keys_or_two_agents_are_two_replies() -> None:
    agents = desk()

    agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-1")
    agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-2")
    agents.reply(WEI, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-1")
    agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING)  # no key: each post is a reply

    assert replied(agents) == 4


@pytest.mark.parametrize("key", ["", "x" * 256, "k\r\nX-Injected: 1", "ключ"])
def test_a_key_that_is_no_key_is_refused_naming_the_header(key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        desk().reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key=key)
    assert refused.value.field == "Idempotency-Key"


def test_a_key_used_again_for_another_text_is_refused_and_nothing_is_sent() -> None:
    # Review 18, #3: the second text was dropped while the answer said 201.
    agents = desk()
    agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-1")
    other = json.dumps({"text": "Refund denied."})

    with pytest.raises(InvalidInput) as refused:
        agents.reply(LENA, REF, other, now=MONDAY_MORNING, idempotency_key="k-1")

    assert refused.value.field == "Idempotency-Key"
    assert replied(agents) == 1


def test_a_retry_after_the_ticket_was_closed_gets_the_first_answer() -> None:
    from dataclasses import replace

    agents = desk()
    first = agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-1")
    tickets = fake_uow(agents.uow).tickets
    tickets[REF] = replace(tickets[REF], status="closed")

    assert agents.reply(LENA, REF, ANSWER, now=MONDAY_MORNING, idempotency_key="k-1") == first


def handle_only_desk() -> AgentDesk:
    """Tom's chat ticket: the channel knows him by a handle, the desk has no address."""
    uow = FakeUnitOfWork(CONFIG)
    chat = {"channel": "chat", "contact_email": "chat:handle:12345678", "contact_name": "Tom"}
    uow.add(ticket(assignee="lena@support.example", status="open", **chat))
    return AgentDesk(uow=uow, repo=FakeRecords(uow), config=CONFIG, store=FakeMailStore())


@pytest.mark.parametrize(
    ("agents", "body", "by_email"),
    [
        (desk, ANSWER, True),
        (desk, json.dumps({"text": "Checked the batch.", "public": False}), False),
        # First-user run 16, #1: the answer said 201 and nothing told the agent that no
        # mail could carry the reply to a customer the chat knows by a handle alone.
        (handle_only_desk, ANSWER, False),
    ],
)
def test_the_answer_says_whether_mail_carries_the_reply_to_the_customer(
    agents: Any, body: str, by_email: bool
) -> None:
    answering = agents()

    answer = answering.reply(LENA, REF, body, now=MONDAY_MORNING, idempotency_key="k-1")
    again = answering.reply(LENA, REF, body, now=MONDAY_MORNING, idempotency_key="k-1")

    assert answer["by_email"] is by_email
    assert again == answer


@pytest.mark.parametrize(
    "text",
    [
        "#reply reply-refund-issued\n#status solved\nThank you.",
        "#status pending\nCould you send a photo?",
        "\n  #NOTE checked with the bank",
    ],
)
def test_mail_commands_in_an_api_reply_are_refused_not_mailed_to_the_customer(
    text: str,
) -> None:
    # First-user run 16, #3: an agent used to the mail commands posted them, and the
    # customer got "#reply reply-refund-issued" and "#status solved" word for word.
    agents = desk()

    with pytest.raises(InvalidInput) as refused:
        agents.reply(LENA, REF, json.dumps({"text": text}), now=MONDAY_MORNING)

    assert refused.value.field == "text"
    assert "mail" in refused.value.reason and "PATCH" in refused.value.reason
    assert replied(agents) == 0


def test_a_saved_reply_line_anywhere_in_an_api_reply_is_refused() -> None:
    # Review 21, #6: mail puts the saved reply in for "#reply <slug>" on any line of its
    # own; the API mailed the line to the customer as written.
    agents = desk()
    text = "Thanks for waiting.\n#reply reply-refund-issued\nLena"

    with pytest.raises(InvalidInput) as refused:
        agents.reply(LENA, REF, json.dumps({"text": text}), now=MONDAY_MORNING)

    assert refused.value.field == "text"
    assert "'#reply reply-refund-issued'" in refused.value.reason
    assert replied(agents) == 0


def test_a_mistyped_command_in_an_api_reply_is_refused_with_the_command_meant() -> None:
    # First-user run 17, #4: "#stauts pending" went to the customer word for word; by mail
    # it is refused with "did you mean #status?".
    agents = desk()
    slip = json.dumps({"text": "#stauts pending\nCould you send a photo?"})

    with pytest.raises(InvalidInput) as refused:
        agents.reply(LENA, REF, slip, now=MONDAY_MORNING)

    assert refused.value.field == "text"
    assert "did you mean #status?" in refused.value.reason
    assert replied(agents) == 0


def test_a_hash_that_is_no_command_is_prose() -> None:
    agents = desk()
    text = "#1 priority for us is your order.\n#hashtag"

    agents.reply(LENA, REF, json.dumps({"text": text}), now=MONDAY_MORNING)

    assert replied(agents) == 1
