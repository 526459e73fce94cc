"""Surveys after resolution and auto-close, as the customer and the team lead see them.

Each test plays a scenario from tests/scenarios/survey_*.yaml on the local stack. An agent
solves a ticket by replying "#status solved"; where the agent commands are not in the
build yet, the same change is made through the clocks and the repository, as the command
would (``solve``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from committing import set_status

from helpdesk.aws.dynamodb import DynamoRepository
from helpdesk_local.scenario import Player, ReplyStep, load_scenario
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LINK = re.compile(r"https?://\S+/survey/[^\s\"'<>]+")
FORM = {"content-type": "application/x-www-form-urlencoded"}

# Every test starts a local stack; the auto-close ones play days of schedules.
pytestmark = pytest.mark.slow


def repository(stack: LocalStack) -> DynamoRepository:
    shards = int(stack.functions["survey_dispatch"].environment["TIMER_SHARDS"])
    return DynamoRepository(
        stack.resolver.ref("DomainTable") if stack.resolver else "", timer_shards=shards
    )


def solve(stack: LocalStack, ref: str) -> None:
    """What ``#status solved`` does: the change committed with everything that follows."""
    set_status(stack, ref, "solved")


def play(stack: LocalStack, name: str) -> Player:
    """Play a scenario file step by step; an agent's "#status solved" always solves."""
    scenario = load_scenario(SCENARIOS / name)
    player = Player(stack, scenario)
    for number, (_, step) in enumerate(scenario.steps, start=1):
        player.run(number, step)
        if isinstance(step, ReplyStep) and step.sender == "agent" and "#status solved" in step.text:
            ticket = player.ticket(step.ticket)
            if ticket["status"] != "solved":
                solve(stack, ticket["ref"])
    assert stack.invocation_errors == []
    return player


def mails(stack: LocalStack, kind: str) -> list[dict[str, Any]]:
    return [m for m in build_state(stack)["outbox"] if m["kind"] == kind]


def ticket(stack: LocalStack, number: int) -> dict[str, Any]:
    tickets: list[dict[str, Any]] = build_state(stack)["tickets"]
    return tickets[number - 1]


def score_links(survey: dict[str, Any]) -> dict[int, str]:
    links = LINK.findall(survey["text"])
    return {int(re.search(r"[?&]score=(\d)", u).group(1)): u for u in links}  # type: ignore[union-attr]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# ---------------------------------------------------------------------- sending
def test_the_survey_goes_out_an_hour_after_solving_and_not_before(stack: LocalStack) -> None:
    play(stack, "survey_solved.yaml")
    stack.advance(timedelta(minutes=50))
    assert mails(stack, "survey") == []

    stack.advance(timedelta(minutes=15))

    [survey] = mails(stack, "survey")
    solved = ticket(stack, 1)
    assert survey["to"] == ["anna@example.com"] and survey["ticket"] == solved["ref"]
    assert solved["ref"] in survey["subject"]
    assert sorted(score_links(survey)) == [1, 2, 3, 4, 5]
    assert "Very satisfied" in survey["text"]
    assert solved["survey"]["sent_at"] is not None and solved["survey"]["score"] is None


def test_a_contact_with_two_solved_tickets_gets_one_survey_in_the_fatigue_window(
    stack: LocalStack,
) -> None:
    play(stack, "survey_fatigue.yaml")
    stack.advance(timedelta(hours=2))

    surveys = mails(stack, "survey")
    assert len(surveys) == 1
    first, second = build_state(stack)["tickets"]
    assert {first["status"], second["status"]} == {"solved"}
    assert [first["survey"]["sent_at"] is not None, second["survey"]["sent_at"] is not None].count(
        True
    ) == 1


def test_a_survey_is_in_the_customers_language(stack: LocalStack) -> None:
    play(stack, "survey_russian.yaml")
    stack.advance(timedelta(hours=2))

    [survey] = mails(stack, "survey")
    assert ticket(stack, 1)["language"] == "ru"
    assert "5 – Отлично" in survey["text"] and "1 – Очень плохо" in survey["text"]


# ---------------------------------------------------------------------- answering
def test_a_low_score_is_recorded_and_alerts_the_team_lead_with_the_comment(
    stack: LocalStack,
) -> None:
    play(stack, "survey_low_score.yaml")

    answered = ticket(stack, 1)
    assert answered["survey"]["score"] == 2
    assert answered["survey"]["effort"] == 4
    assert answered["survey"]["comment"] == "The kettle arrived broken <again>."
    [alert] = mails(stack, "alert")
    assert alert["to"] == ["maria@support.example"]
    assert answered["ref"] in alert["subject"] and "2/5" in alert["subject"]
    assert "> The kettle arrived broken <again>." in alert["text"]
    assert "Where is my order?" in alert["text"]
    assert "&lt;again&gt;" in (alert["html"] or "") and "<again>" not in (alert["html"] or "")


def survey_of_a_solved_ticket(stack: LocalStack) -> dict[str, Any]:
    """The survey mail of the ticket survey_solved.yaml solves, two hours on (past the
    configured surveys.delay)."""
    play(stack, "survey_solved.yaml")
    stack.advance(timedelta(hours=2))
    [survey] = mails(stack, "survey")
    return survey


def test_a_good_score_alerts_nobody(stack: LocalStack) -> None:
    play(stack, "survey_good_score.yaml")

    assert ticket(stack, 1)["survey"]["score"] == 5
    assert mails(stack, "alert") == []


def test_following_a_score_link_shows_the_page_with_that_score_and_records_nothing(
    stack: LocalStack,
) -> None:
    survey = survey_of_a_solved_ticket(stack)

    page = stack.http("GET", path_of(score_links(survey)[4]))

    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert re.search(r'value="4" required checked', page.body)
    assert 'name="effort"' in page.body and 'name="comment"' in page.body
    assert ticket(stack, 1)["survey"]["score"] is None
    assert mails(stack, "alert") == []


def test_a_later_answer_replaces_the_earlier_one(stack: LocalStack) -> None:
    play(stack, "survey_good_score.yaml")
    [survey] = mails(stack, "survey")
    path = urlsplit(score_links(survey)[3]).path

    answer = stack.http("POST", path, body=urlencode({"score": "3", "comment": "ok"}), headers=FORM)

    assert answer.status == 200 and "Thank you" in answer.body
    assert ticket(stack, 1)["survey"] | {"sent_at": None} == {
        "sent_at": None,
        "score": 3,
        "effort": None,
        "comment": "ok",
    }


def test_a_submission_without_a_score_asks_for_one_and_stores_nothing(stack: LocalStack) -> None:
    survey = survey_of_a_solved_ticket(stack)
    path = urlsplit(score_links(survey)[5]).path

    answer = stack.http("POST", path, body=urlencode({"score": "9"}), headers=FORM)

    assert answer.status == 422 and "from 1 to 5" in answer.body
    assert ticket(stack, 1)["survey"]["score"] is None


# ---------------------------------------------------------------------- refusing
def _forgeries(url: str) -> list[str]:
    """The link with its token altered: another ticket named, a flipped signature, a cut."""
    import base64

    path = urlsplit(url).path
    token = path.rsplit("/", 1)[1]
    payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    other = base64.urlsafe_b64encode(("HD-222222" + raw[9:]).encode()).rstrip(b"=").decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    base = path.rsplit("/", 1)[0]
    return [f"{base}/{other}.{signature}", f"{base}/{payload}.{flipped}", f"{base}/{payload}"]


def test_a_forged_or_altered_link_is_refused_with_403_and_stores_nothing(
    stack: LocalStack,
) -> None:
    survey = survey_of_a_solved_ticket(stack)

    chinese = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}
    for forged in _forgeries(score_links(survey)[1]):
        page = stack.http("GET", forged + "?score=1")
        answer = stack.http("POST", forged, body=urlencode({"score": "1"}), headers=FORM)
        assert page.status == 403 and answer.status == 403, forged
        assert "not valid" in answer.body and "Nothing was recorded" in answer.body
        # A forged link names no ticket: its refusal speaks as the browser asks.
        in_chinese = stack.http("GET", forged, headers=chinese)
        answered_in_chinese = stack.http(
            "POST", forged, body=urlencode({"score": "1"}), headers={**FORM, **chinese}
        )
        assert in_chinese.status == answered_in_chinese.status == 403, forged
        assert "此调查链接无效" in in_chinese.body and "此调查链接无效" in answered_in_chinese.body

    assert ticket(stack, 1)["survey"]["score"] is None
    assert mails(stack, "alert") == []


def test_an_expired_link_is_refused_with_403_and_stores_nothing(stack: LocalStack) -> None:
    survey = survey_of_a_solved_ticket(stack)
    stack.advance(timedelta(days=15))

    answer = stack.http(
        "POST", urlsplit(score_links(survey)[1]).path, body=urlencode({"score": "1"}), headers=FORM
    )

    assert answer.status == 403 and "expired" in answer.body
    assert ticket(stack, 1)["survey"]["score"] is None


# ---------------------------------------------------------------------- auto-close
def test_a_solved_ticket_closes_after_four_quiet_days(stack: LocalStack) -> None:
    play(stack, "survey_solved.yaml")
    stack.advance(timedelta(days=3, hours=23))
    assert ticket(stack, 1)["status"] == "solved"

    stack.advance(timedelta(hours=1, minutes=5))

    assert ticket(stack, 1)["status"] == "closed"
    assert stack.invocation_errors == []


def test_a_customer_reply_before_the_quiet_period_ends_reopens_and_nothing_closes(
    stack: LocalStack,
) -> None:
    play(stack, "survey_reopened.yaml")
    assert ticket(stack, 1)["status"] == "open"

    stack.advance(timedelta(days=5))

    assert ticket(stack, 1)["status"] == "open"
    assert mails(stack, "survey") == []
