"""An agent answers with a saved reply (issue 17): "#reply <slug>" becomes the reply in the
customer's language, with her name, the reference, the promised time and the agent's name
filled in; a slug that names no saved reply reaches nobody but the agent, with the close
match. Played from tests/scenarios/knowledge_saved_replies.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from desk_support import played


@cache  # played once for the module's tests
def state() -> dict[str, Any]:
    return played("knowledge_saved_replies.yaml")


def replies_to(address: str) -> list[dict[str, Any]]:
    return [m for m in outbox() if m["kind"] == "reply" and m["to"] == [address]]


def outbox() -> list[dict[str, Any]]:
    """The mail sent, its text with the line ends a reader's client shows (MIME's CRLF)."""
    return [m | {"text": m["text"].replace("\r\n", "\n")} for m in state()["outbox"]]


def test_a_saved_reply_reaches_a_chinese_customer_in_chinese_with_her_ticket_filled_in() -> None:
    li = state()["tickets"][0]
    [reply] = replies_to("li@example.cn")

    assert "很抱歉您的订单比预期慢了" in reply["text"]
    assert "李娜，您好！" in reply["text"]
    assert f"工单号：{li['ref']}" in reply["text"]
    assert "柏林时间" in reply["text"]  # the promised time, named in her language
    assert "祝好，\nWei" in reply["text"]  # signed with the agent's name from the config
    assert "{" not in reply["text"] and "#reply" not in reply["text"]


def test_a_saved_reply_reaches_a_russian_customer_in_russian_with_the_agents_words_after_it() -> (
    None
):
    olga = state()["tickets"][1]
    [reply] = replies_to("olga@example.ru")

    assert "Здравствуйте, Ольга!" in reply["text"]
    assert "заказ идёт дольше, чем должен" in reply["text"]
    assert f"Номер обращения: {olga['ref']}." in reply["text"]
    # The promised time in her language, and the agent's name from the config.
    assert "Срок моего ответа: понедельник, 23 ноября 2026" in reply["text"]
    assert "13:55 (часовой пояс: Берлин)" in reply["text"]
    assert "С уважением,\nLena" in reply["text"]
    assert reply["text"].index("заказ идёт дольше") < reply["text"].index("Номер заказа")
    assert olga["status"] == "pending"


def test_a_saved_reply_that_does_not_exist_reaches_only_the_agent_with_the_close_match() -> None:
    li = state()["tickets"][0]
    errors = [m for m in outbox() if m["kind"] == "error" and m["ticket"] == li["ref"]]

    assert len(replies_to("li@example.cn")) == 1  # the first reply only
    [error] = errors
    # In the agent's language (Wei's first is Chinese), the slugs as written.
    assert "#reply reply-order-delay：zh 中没有这个名称的预设回复" in error["text"]
    assert "您是不是指：#reply reply-order-delayed" in error["text"]
    # The line the agent wrote is listed among what they sent, to correct and send again.
    assert "您发送的命令：\n\n  #reply reply-order-delay\n" in error["text"]


def test_a_misspelt_saved_reply_in_russian_sends_nothing_and_tells_the_agent_the_close_match() -> (
    None
):
    olga = state()["tickets"][1]
    errors = [m for m in outbox() if m["kind"] == "error" and m["ticket"] == olga["ref"]]

    assert len(replies_to("olga@example.ru")) == 1  # "Скоро всё выясним" never left alone
    [error] = errors
    assert error["to"] == ["lena@support.example"]
    assert "#reply reply-order-dealyed: no saved reply of that name in ru" in error["text"]
    assert "did you mean: #reply reply-order-delayed" in error["text"]
    assert "Your commands were:\n\n  #reply reply-order-dealyed\n" in error["text"]


# Attack 21, F1: a stranger typed Anna's address into the form with a lure for a name; the
# assistant offered the password-reset reply, and the agent's one line "#reply ..." mailed
# Anna "Hello Anna. Our reset page moved to https://evil.example/reset ...", from the desk.
LURE = "Anna. Our reset page moved to https://evil.example/reset - use only that one"


def test_a_lure_typed_as_the_name_never_reaches_the_customer_in_a_saved_reply(
    tmp_path: Path,
) -> None:
    form = {
        "name": LURE,
        "email": "anna@example.com",
        "subject": "Cannot log in",
        "message": "I forgot my password, please send me a reset link.",
        "language": "en",
    }
    steps = [
        {"form": form},
        {"reply": {"ticket": 1, "from": "agent", "text": "#reply reply-password-reset"}},
    ]
    scenario = tmp_path / "lure.yaml"
    scenario.write_text(
        yaml.safe_dump({"start": "2026-11-23T08:55:00+00:00", "steps": steps}), encoding="utf-8"
    )

    lured = played(scenario)

    to_anna = [m for m in lured["outbox"] if m["to"] == ["anna@example.com"]]
    assert {m["kind"] for m in to_anna} == {"acknowledgement", "reply"}
    assert not any("evil.example" in m["text"] or "evil.example" in m["html"] for m in to_anna)
    [reply] = [m for m in to_anna if m["kind"] == "reply"]
    assert "Hello anna@example.com," in reply["text"]
    assert "I have just sent a link to choose a new password" in reply["text"]
