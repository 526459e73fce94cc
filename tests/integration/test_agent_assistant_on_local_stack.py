"""The agent's assistant on the local stack (issue 17): route's assignment and acknowledge's
relay of a customer message show the saved replies and articles that may answer the
ticket, read from the bundle the stack builds as the layer does; a question nothing
answers shows nothing. Played from tests/scenarios/knowledge_agent_assistant.yaml."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from desk_support import played

# The assistant's heading in each language an agent reads (templates/<lang>/*.txt).
HEADINGS = ("From the knowledge base", "知识库推荐", "Из базы знаний")


@cache  # played once for the module's tests
def state() -> dict[str, Any]:
    return played("knowledge_agent_assistant.yaml")


def mail(kind: str, ticket: int) -> dict[str, Any]:
    ref = state()["tickets"][ticket - 1]["ref"]
    found: dict[str, Any]
    [found] = [m for m in state()["outbox"] if m["kind"] == kind and m["ticket"] == ref]
    return found


def test_the_assignment_offers_the_saved_reply_line_for_a_forgotten_password() -> None:
    text = mail("assignment", 1)["text"]

    assert "#reply reply-password-reset" in text
    assert any(heading in text for heading in HEADINGS)


def test_the_relayed_chinese_message_offers_the_saved_reply_for_a_late_order() -> None:
    relays = [
        m
        for m in state()["outbox"]
        if m["kind"] == "relay" and m["ticket"] == state()["tickets"][1]["ref"]
    ]

    assert relays, "the customer's message reached nobody"
    for relay in relays:
        assert "订单延误了" in relay["text"]
        assert "#reply reply-order-delayed" in relay["text"]


def test_a_question_no_article_answers_shows_the_agent_nothing() -> None:
    text = mail("assignment", 3)["text"]

    # No saved reply offered: the commands the mail explains name "#reply <saved reply>",
    # a saved reply would be "#reply <its slug>".
    assert re.findall(r"#reply \S+", text) == ["#reply <saved"]
    assert not any(heading in text for heading in HEADINGS)
