"""A voice to the top, on the local stack: a complaint from the survey page flags the
ticket, starts its complaint clock (visible in the state's ``sla``), mails the team lead,
and the lead's answer by mail reaches the customer and stops the clock; unanswered, the
clock warns the lead and breaches. Each test plays a scenario from tests/scenarios/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from desk_support import playing

from helpdesk_local.scenario import Player, parse_scenario
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MARIA = "maria@support.example"  # the lead of team general
FORM = {"content-type": "application/x-www-form-urlencoded"}

pytestmark = pytest.mark.slow


def played(name: str) -> Iterator[tuple[LocalStack, dict[str, Any]]]:
    with playing(name) as stack_and_state:
        yield stack_and_state


# One local stack runs at a time in a process: the answered scenario's state is kept and
# its stack stopped; the unanswered scenario's stack stays up for the page's tests.
@pytest.fixture(scope="module")
def answered() -> dict[str, Any]:
    for _, state in played("complaint_from_the_survey.yaml"):
        return state
    raise AssertionError("the scenario did not play")


@pytest.fixture(scope="module")
def unanswered() -> Iterator[tuple[LocalStack, dict[str, Any]]]:
    yield from played("complaint_unanswered_breaches.yaml")


def of_kind(state: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [m for m in state["outbox"] if m["kind"] == kind]


def test_a_complaint_flags_the_ticket_reopens_it_and_keeps_the_customers_words(
    answered: dict[str, Any],
) -> None:
    state = answered
    [ticket] = state["tickets"]

    assert "complaint" in ticket["flags"]
    [said] = [m for m in ticket["messages"] if m.get("kind") == "complaint"]
    assert (said["direction"], said["channel"], said["from"]) == (
        "in",
        "survey",
        "anna@example.com",
    )
    assert said["text"] == (
        "Nobody told me the kettle was out of stock <for weeks>.\n"
        "I would like to talk to someone in charge."
    )
    assert state["rejected"] == [] and state["dead_letters"] == []


def test_the_complaint_clock_runs_on_business_hours_and_shows_in_the_sla(
    answered: dict[str, Any],
) -> None:
    state = answered
    [ticket] = state["tickets"]
    sla = ticket["sla"]

    # Complained Monday 10:30 UTC (11:30 Berlin): four business hours end 15:30 Berlin.
    assert sla["complained_at"].startswith("2026-11-23T10:30")
    assert sla["complaint_due"] == "2026-11-23T14:30:00+00:00"
    assert sla["complaint_answered_at"].startswith("2026-11-23T11:00")
    assert "complaint" not in sla["warnings"] + sla["breaches"]


def test_the_team_lead_is_mailed_the_words_the_thread_and_the_deadline_in_her_zone(
    answered: dict[str, Any],
) -> None:
    state = answered
    [ticket] = state["tickets"]
    [mail] = of_kind(state, "complaint")

    assert mail["to"] == [MARIA] and mail["ticket"] == ticket["ref"]
    assert f"[#{ticket['ref']}]" in mail["subject"] and "Anna Schmidt" in mail["subject"]
    assert "> Nobody told me the kettle was out of stock <for weeks>." in mail["text"]
    assert "It has been two weeks" in mail["text"]  # the thread
    assert "15:30 Berlin time" in mail["text"]
    assert "&lt;for weeks&gt;" in mail["html"] and "<for weeks>" not in mail["html"]
    assert mail["headers"]["Reply-To"] == f"support+{ticket['ref'].lower()}@support.example"


def test_the_leads_answer_from_her_mailbox_reaches_the_customer(
    answered: dict[str, Any],
) -> None:
    state = answered
    [ticket] = state["tickets"]

    [answer] = [m for m in ticket["messages"] if m["direction"] == "out" and m["from"] == MARIA]
    assert "I am the team lead" in answer["text"]
    replies = [m for m in of_kind(state, "reply") if "I am the team lead" in m["text"]]
    assert [m["to"] for m in replies] == [["anna@example.com"]]
    # Nothing in the desk mistook the lead's answer for a command error or a note.
    assert of_kind(state, "error") == []


def test_a_second_complaint_in_the_hour_keeps_its_words_without_a_second_mail_or_restart(
    unanswered: tuple[LocalStack, dict[str, Any]],
) -> None:
    _, state = unanswered
    [ticket] = state["tickets"]

    said = [m["text"] for m in ticket["messages"] if m.get("kind") == "complaint"]
    assert said == ["The new kettle never came either.", "And nobody answers my calls."]
    assert len(of_kind(state, "complaint")) == 1
    # Complained 10:25 UTC (11:25 Berlin): due 15:25 Berlin, not moved by the second.
    assert ticket["sla"]["complaint_due"] == "2026-11-23T14:25:00+00:00"


def test_an_unanswered_complaint_warns_the_lead_and_then_breaches(
    unanswered: tuple[LocalStack, dict[str, Any]],
) -> None:
    _, state = unanswered
    [ticket] = state["tickets"]

    assert ticket["sla"]["breaches"] == ["complaint"]
    warnings = [m for m in of_kind(state, "warning") if "complaint" in m["text"]]
    assert [m["to"] for m in warnings] == [[MARIA]]
    escalations = of_kind(state, "escalation")
    assert {tuple(m["to"]) for m in escalations} >= {(MARIA,)}
    assert all("answer to the complaint" in m["text"] for m in escalations)


def test_the_survey_page_offers_the_box_and_a_get_changes_nothing(
    unanswered: tuple[LocalStack, dict[str, Any]],
) -> None:
    stack, before = unanswered
    [survey] = of_kind(before, "survey")
    url = re.findall(r"https?://\S+/survey/[^\s\"'<>]+", survey["text"])[0]
    path = urlsplit(url).path

    page = stack.http("GET", path)
    complaint_get = stack.http("GET", path + "/complaint")

    assert page.status == 200
    assert 'action="' in page.body and '/complaint"' in page.body
    assert "Not happy with how this is going?" in page.body
    assert 'name="complaint"' in page.body and 'maxlength="4000"' in page.body
    assert complaint_get.status in (404, 405)
    assert build_state(stack)["tickets"] == before["tickets"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "said"),
    [
        (urlencode({"complaint": "  "}), FORM, 422, "Please write what went wrong"),
        (urlencode({"complaint": "x" * 4001}), FORM, 413, "at most 4000 characters"),
        ("complaint=hello", {"content-type": "text/plain"}, 415, "reload it"),
    ],
)
def test_a_bad_complaint_gets_the_page_again_saying_what_was_wrong(
    unanswered: tuple[LocalStack, dict[str, Any]],
    body: str,
    headers: dict[str, str],
    status: int,
    said: str,
) -> None:
    stack, before = unanswered
    [survey] = of_kind(before, "survey")
    path = urlsplit(re.findall(r"https?://\S+/survey/[^\s\"'<>]+", survey["text"])[0]).path

    refused = stack.http("POST", path + "/complaint", body=body, headers=headers)

    assert refused.status == status
    assert said in refused.body
    assert 'id="complaint-error"' in refused.body
    after = build_state(stack)["tickets"][0]
    assert len(after["messages"]) == len(before["tickets"][0]["messages"])


def test_a_forged_survey_link_cannot_complain(
    unanswered: tuple[LocalStack, dict[str, Any]],
) -> None:
    stack, before = unanswered

    refused = stack.http(
        "POST", "/survey/forged.token/complaint", body="complaint=hi", headers=FORM
    )

    assert refused.status == 403
    assert "Nothing was recorded" in refused.body
    assert build_state(stack)["tickets"] == before["tickets"]


def test_complaints_past_the_hourly_count_are_refused_with_retry_after(
    unanswered: tuple[LocalStack, dict[str, Any]],
) -> None:
    stack, _ = unanswered
    steps = "".join(f"  - survey: {{ticket: 1, complain: 'Again {n}'}}\n" for n in range(6))
    scenario = parse_scenario(f"steps:\n{steps}", source="t", base=SCENARIOS)
    player = Player(stack, scenario)

    for number, (_, step) in enumerate(scenario.steps, start=1):
        player.run(number, step)

    # A new hour: five complaints are taken (config complaints.per_ticket_per_hour), the
    # sixth is refused with a 429 naming when to come back, and nothing of it is kept.
    [refused] = player.rejected
    assert (refused["step"], refused["status"]) == (6, 429)
    assert "several messages" in refused["body"]["detail"]
    said = [
        m["text"]
        for m in build_state(stack)["tickets"][0]["messages"]
        if m.get("kind") == "complaint"
    ]
    assert said[-5:] == [f"Again {n}" for n in range(5)]
    assert "Again 5" not in said
    [survey] = of_kind(build_state(stack), "survey")
    path = urlsplit(re.findall(r"https?://\S+/survey/[^\s\"'<>]+", survey["text"])[0]).path
    again = stack.http("POST", path + "/complaint", body="complaint=more", headers=FORM)
    assert again.status == 429 and int(again.headers["retry-after"]) > 0
