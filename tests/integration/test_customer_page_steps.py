"""The customer's page in the ticket's language, and the scenario step that acts on it."""

from __future__ import annotations

import pytest
from customer_page_support import link_of, play, state, text_of
from desk_support import SCENARIOS

from helpdesk_local.scenario import PortalStep, load_scenario
from helpdesk_local.stack import LocalStack

pytestmark = pytest.mark.slow


def test_the_page_speaks_the_tickets_language() -> None:
    scenario = load_scenario(SCENARIOS / "portal_other_tickets.yaml")
    with LocalStack(start=scenario.start) as stack:
        stack.post_form(
            {
                "name": "王伟",
                "email": "wang@example.cn",
                "subject": "订单在哪里？",
                "message": "我两周前订的水壶还没有到。",
                "language": "zh",
            }
        )
        page = stack.http("GET", link_of(stack))
        assert page.status == 200
        assert '<html lang="zh' in page.body
        assert "您的请求" in page.body


def test_a_portal_step_acts_like_a_browser_on_the_page() -> None:
    """The scenario step opens the page from the mail and posts its form: its own test."""
    for stack, player in play("portal_other_tickets.yaml"):
        answer = player.run(4, PortalStep(ticket=2, action="reply", text="From Bob's page"))
        assert answer.status == 200
        assert "Thank you: your message is now part of your request" in text_of(answer)
        bob = state(stack)["tickets"][1]
        assert bob["messages"][-1]["text"] == "From Bob's page"
        assert bob["messages"][-1]["channel"] == "portal"


# ---------------------------------------------------------------------- a complaint
def test_a_complaint_from_the_page_flags_the_ticket_and_mails_the_lead() -> None:
    for stack, _ in play("portal_complaint.yaml"):
        current = state(stack)
        ticket = current["tickets"][0]
        assert "complaint" in ticket["flags"]
        words = "Nobody has told me anything for a day. I want to speak to someone in charge."
        last = ticket["messages"][-1]
        assert (last["text"], last["channel"], last["direction"]) == (words, "portal", "in")
        lead_mails = [m for m in current["outbox"] if m["kind"] == "complaint"]
        assert [m["to"] for m in lead_mails] == [["maria@support.example"]]
        assert words in lead_mails[0]["text"]
        page = stack.http("GET", link_of(stack) + "?done=complain")
        assert "the team lead has your message and will look into it" in text_of(page)


def test_a_portal_step_the_page_refuses_is_listed_as_rejected_with_the_pages_words() -> None:
    for stack, player in play("portal_other_tickets.yaml"):
        before = state(stack)["tickets"][0]
        player.run(4, PortalStep(ticket=1, action="complain", text="   "))
        assert player.rejected == [
            {
                "step": 4,
                "status": 422,
                "body": {"detail": "That did not work: please tell us what is going wrong."},
            }
        ]
        assert state(stack)["tickets"][0] == before
