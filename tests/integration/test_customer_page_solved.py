"""\"This is solved\" on the customer's page, and the page link in every mail to the
customer (tests/scenarios/portal_solved.yaml)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from customer_page_support import LINK, link_of, played_fixture, state, text_of

from helpdesk_local.scenario import page_form

pytestmark = pytest.mark.slow


solved = played_fixture("portal_solved.yaml")


# ---------------------------------------------------------------------- "this is solved"
def test_this_is_solved_solves_the_ticket_and_thanks_the_customer(solved: Any) -> None:
    stack, _ = solved
    if True:
        current = state(stack)
        ticket = current["tickets"][0]
        assert ticket["status"] == "solved"
        # No progress mail tells the customer what they just did; the survey follows.
        kinds = [m["kind"] for m in current["outbox"] if m["to"] == ["anna@example.com"]]
        assert kinds == ["acknowledgement", "reply", "survey"]
        page = stack.http("GET", link_of(stack) + "?done=solved")
        assert "Thank you for letting us know: your request is marked solved." in text_of(page)
        assert page_form(page.body, "solved") is None  # solved already: no button


# ---------------------------------------------------------------------- the link in every mail
def test_every_mail_to_the_customer_carries_the_link_to_the_ticket_page(solved: Any) -> None:
    stack, _ = solved
    if True:
        to_customer = [m for m in state(stack)["outbox"] if m["to"] == ["anna@example.com"]]
        assert {m["kind"] for m in to_customer} == {"acknowledgement", "reply", "survey"}
        for mail in to_customer:
            assert LINK.search(mail["text"]), mail["kind"]
            assert LINK.search(mail["html"]), mail["kind"]
        to_agents = [m for m in state(stack)["outbox"] if m["to"] != ["anna@example.com"]]
        assert to_agents and not any(LINK.search(m["text"]) for m in to_agents)


def test_a_survey_link_does_not_open_the_page(solved: Any) -> None:
    stack, _ = solved
    if True:
        survey = next(m for m in state(stack)["outbox"] if m["kind"] == "survey")
        token = re.search(r"/survey/([^\s?\"'<>]+)", survey["text"])
        assert token is not None
        assert stack.http("GET", f"/ticket/{token[1]}").status == 403
