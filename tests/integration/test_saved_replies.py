"""An agent answers with a saved reply (issue 17): "#reply <slug>" becomes the reply in the
customer's language, with her name, the reference, the promised time and the agent's name
filled in; a slug that names no saved reply reaches nobody but the agent, with the close
match. Played from tests/scenarios/knowledge_saved_replies.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "knowledge_saved_replies.yaml"


@cache
def state() -> dict[str, Any]:
    scenario = load_scenario(SCENARIO)
    with LocalStack(start=scenario.start, config_path=scenario.config) as stack:
        played = Player(stack, scenario).play()
        assert stack.invocation_errors == []
        return played


def replies_to(address: str) -> list[dict[str, Any]]:
    return [m for m in state()["outbox"] if m["kind"] == "reply" and m["to"] == [address]]


def test_a_saved_reply_reaches_a_chinese_customer_in_chinese_with_her_ticket_filled_in() -> None:
    li = state()["tickets"][0]
    [reply] = replies_to("li@example.cn")

    assert "很抱歉您的订单比预期慢了" in reply["text"]
    assert "李娜，您好！" in reply["text"]
    assert f"工单号：{li['ref']}" in reply["text"]
    assert "柏林时间" in reply["text"]  # the promised time, named in her language
    assert "{" not in reply["text"] and "#reply" not in reply["text"]


def test_a_saved_reply_reaches_a_russian_customer_in_russian_with_the_agents_words_after_it() -> (
    None
):
    olga = state()["tickets"][1]
    [reply] = replies_to("olga@example.ru")

    assert "Здравствуйте, Ольга!" in reply["text"]
    assert "заказ идёт дольше, чем должен" in reply["text"]
    assert olga["ref"] in reply["text"]
    assert reply["text"].index("заказ идёт дольше") < reply["text"].index("Номер заказа")
    assert olga["status"] == "pending"


def test_a_saved_reply_that_does_not_exist_reaches_only_the_agent_with_the_close_match() -> None:
    li = state()["tickets"][0]
    errors = [m for m in state()["outbox"] if m["kind"] == "error" and m["ticket"] == li["ref"]]

    assert len(replies_to("li@example.cn")) == 1  # the first reply only
    [error] = errors
    assert "#reply reply-order-delay" in error["text"]
    assert "#reply reply-order-delayed" in error["text"]
