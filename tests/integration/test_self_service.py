"""Self-service in the acknowledgement (issue 17, CONTRACT section 7), played from
tests/scenarios/knowledge_self_service.yaml on the local stack: what the customers and the
agents see. Anna (en, form), Li (zh, form) and Olga (ru, mail) are offered the article
that answers them; Tom's question about the weather is offered nothing. Anna and Li
confirm "this answered my question"; Anna writes again afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from desk_support import playing

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "knowledge_self_service.yaml"
FORM = {"content-type": "application/x-www-form-urlencoded"}
LINK = re.compile(r"https?://\S+?(/answer/[A-Za-z0-9_.-]+)\?answered=yes")


@pytest.fixture(scope="module")
def played() -> Iterator[tuple[LocalStack, dict[str, Any]]]:
    with playing(SCENARIO) as stack_and_state:
        yield stack_and_state


def tickets(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["contact"]["email"]: t for t in state["tickets"]}


def acknowledgement(state: dict[str, Any], email: str) -> dict[str, Any]:
    mail: dict[str, Any]
    [mail] = [m for m in state["outbox"] if m["kind"] == "acknowledgement" and m["to"] == [email]]
    return mail | {"text": mail["text"].replace("\r\n", "\n")}


def answer_path(state: dict[str, Any], email: str) -> str:
    path: str = LINK.findall(acknowledgement(state, email)["text"])[0]
    return path


def forged_path(state: dict[str, Any], email: str) -> str:
    """The answer link of ``email``'s acknowledgement with its signature altered."""
    path = answer_path(state, email)
    return path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")


def loads(stack: LocalStack) -> dict[str, int]:
    return {
        i["PK"].removeprefix("AGENT#"): int(i.get("open", 0))
        for i in scan_items(stack)
        if i["PK"].startswith("AGENT#") and i["SK"] == "LOAD"
    }


def test_each_question_is_offered_the_article_that_answers_it_in_its_own_language(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    _, state = played
    by_contact = tickets(state)

    assert by_contact["anna@example.com"]["suggested"][0] == "order-status"
    assert by_contact["li@example.cn"]["suggested"][0] == "returns"
    assert by_contact["olga@example.ru"]["suggested"][0] == "reset-password"
    anna, li, olga = (
        acknowledgement(state, a) for a in ("anna@example.com", "li@example.cn", "olga@example.ru")
    )
    assert "these articles may already answer your question" in anna["text"]
    assert "- Where is my order?\n  Read it: http" in anna["text"]
    assert "This answered my question: http" in anna["text"]
    assert "以下文章也许已经能解答您的问题" in li["text"] and "怎么退货、换货？" in li["text"]
    assert "这篇文章解答了我的问题</a>" in li["html"]
    assert "Статья ответила на мой вопрос: http" in olga["text"]
    assert "/answer/" in olga["html"]


def test_an_off_topic_question_is_offered_nothing_and_its_acknowledgement_lists_nothing(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    _, state = played

    assert tickets(state)["tom@example.org"]["suggested"] == []
    tom = acknowledgement(state, "tom@example.org")
    assert "/answer/" not in tom["text"] and "/answer/" not in (tom["html"] or "")
    assert "articles may already answer" not in tom["text"]


def test_confirming_solves_the_ticket_as_self_served_and_tells_the_assignee_in_one_line(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    stack, state = played
    li = tickets(state)["li@example.cn"]

    assert li["status"] == "solved" and "self_served" in li["flags"]
    assert li["self_served_article"] == "returns"
    assert li["sla"]["resolved_at"] is not None  # the resolution clock stopped
    told = [m for m in state["outbox"] if m["ticket"] == li["ref"] and m["to"] == [li["assignee"]]]
    assert told[-1]["subject"].startswith(f"[#{li['ref']}] 客户已通过文章自行解决")
    assert "确认文章“怎么退货、换货？”解答了" in told[-1]["text"]
    # The customer saw the thanks page: no "your request is solved" mail on top of it.
    assert not [
        m
        for m in state["outbox"]
        if m["to"] == ["li@example.cn"] and m["kind"] != "acknowledgement"
    ]
    # Wei's slot went back: he holds Tom's ticket only.
    held = [
        t["ref"]
        for t in state["tickets"]
        if t["assignee"] == li["assignee"] and t["status"] in ("new", "open", "pending")
    ]
    assert loads(stack)[li["assignee"]] == len(held) == 1


def test_a_reply_after_a_self_served_solve_reopens_the_ticket_for_its_agent(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    _, state = played
    anna = tickets(state)["anna@example.com"]

    assert anna["status"] == "open" and anna["self_served_article"] == "order-status"
    relayed = [m for m in state["outbox"] if m["ticket"] == anna["ref"] and m["kind"] == "relay"]
    assert relayed and relayed[-1]["to"] == [anna["assignee"]]
    assert "the parcel was returned to you" in relayed[-1]["text"]


def test_following_the_link_shows_the_article_in_russian_and_records_nothing(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    stack, state = played
    path = answer_path(state, "olga@example.ru")

    page = stack.http("GET", f"{path}?answered=yes")

    assert page.status == 200
    assert '<html lang="ru"' in page.body
    assert "Статья ответила на мой вопрос</button>" in page.body
    assert '<input type="hidden" name="answered" value="yes">' in page.body
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert tickets(build_state(stack))["olga@example.ru"]["status"] == "new"


def test_a_second_confirmation_changes_nothing_and_says_so(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    stack, state = played
    path = answer_path(state, "li@example.cn")
    sent = len(build_state(stack)["outbox"])

    again = stack.http("POST", path, body="answered=yes", headers=FORM)
    stack.drain()

    assert again.status == 409
    assert "此前已经解决，没有任何更改" in again.body
    assert len(build_state(stack)["outbox"]) == sent


@pytest.mark.parametrize(
    ("accept_language", "refusal", "lang"),
    [
        (None, "This link is not valid", "en"),
        # A forged link names no ticket: its refusal speaks as the browser asks.
        ("zh-CN,zh;q=0.9,en;q=0.5", "此链接无效", "zh"),
    ],
)
def test_a_forged_link_gets_a_clear_refusal_page_in_the_browsers_language(
    played: tuple[LocalStack, dict[str, Any]], accept_language: str | None, refusal: str, lang: str
) -> None:
    stack, state = played
    forged = forged_path(state, "olga@example.ru")
    browser = {"accept-language": accept_language} if accept_language else {}

    shown = stack.http("GET", forged, headers=browser)
    posted = stack.http("POST", forged, body="answered=yes", headers={**FORM, **browser})

    assert shown.status == posted.status == 403
    assert refusal in shown.body and refusal in posted.body
    assert f'<html lang="{lang}' in shown.body
    assert shown.headers["cache-control"] == "no-store"
    assert tickets(build_state(stack))["olga@example.ru"]["status"] == "new"


def test_only_the_pages_form_is_taken(played: tuple[LocalStack, dict[str, Any]]) -> None:
    stack, state = played
    path = answer_path(state, "olga@example.ru")

    as_json = stack.http(
        "POST", path, body='{"answered": "yes"}', headers={"content-type": "application/json"}
    )
    too_large = stack.http("POST", path, body="answered=yes&x=" + "a" * 5000, headers=FORM)

    assert (as_json.status, too_large.status) == (415, 413)
    assert "Статья ответила на мой вопрос</button>" in as_json.body
    assert tickets(build_state(stack))["olga@example.ru"]["status"] == "new"


def test_the_link_in_the_mail_opens_the_page_the_scenario_step_confirms(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    _, state = played
    url = LINK.search(acknowledgement(state, "anna@example.com")["text"])
    assert url is not None and urlsplit(url[0]).path.startswith("/answer/")


def test_a_ticket_offered_three_articles_is_solved_by_the_one_its_customer_confirmed(
    played: tuple[LocalStack, dict[str, Any]],
) -> None:
    _, state = played
    jonas = tickets(state)["jonas@example.de"]

    assert len(jonas["suggested"]) == 3
    assert jonas["self_served_article"] == jonas["suggested"][1]
    assert jonas["status"] == "solved"
