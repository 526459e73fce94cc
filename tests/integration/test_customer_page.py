"""A reply from the customer's page, what the page shows, and a forged or expired link
(tests/scenarios/portal_reply.yaml)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from customer_page_support import (
    assert_unchanged,
    link_of,
    played_fixture,
    reply_post,
    state,
    text_of,
)

from helpdesk_local.scenario import Player, multipart_body

pytestmark = pytest.mark.slow


replied = played_fixture("portal_reply.yaml")


# ---------------------------------------------------------------------- a reply from the page
def test_a_reply_from_the_page_lands_on_the_ticket_with_channel_portal(replied: Any) -> None:
    stack, _ = replied
    ticket = state(stack)["tickets"][0]
    last = ticket["messages"][-1]
    assert last["direction"] == "in"
    assert last["channel"] == "portal"
    assert last["from"] == "anna@example.com"
    assert last["text"] == "Here is my receipt, the order number is 1234."
    assert last["attachments"] == [
        {"filename": "receipt.txt", "content_type": "text/plain", "size": 28}
    ]


def test_a_reply_from_the_page_reopens_the_ticket_and_restarts_its_clock(replied: Any) -> None:
    stack, _ = replied
    ticket = state(stack)["tickets"][0]
    assert ticket["status"] == "open"
    assert ticket["sla"]["next_response_due"] is not None


def test_a_reply_from_the_page_is_relayed_to_the_assignee_by_mail(replied: Any) -> None:
    stack, _ = replied
    current = state(stack)
    assignee = current["tickets"][0]["assignee"]
    relays = [m for m in current["outbox"] if m["kind"] == "relay"]
    assert [m["to"] for m in relays] == [[assignee]]
    assert "Here is my receipt, the order number is 1234." in relays[0]["text"]
    # Nobody scanned a file uploaded on the page: the agent's mail lists it, unattached.
    assert "receipt.txt" in relays[0]["text"]


def test_the_page_shows_the_conversation_with_its_files_and_the_promise(replied: Any) -> None:
    stack, _ = replied
    page = stack.http("GET", link_of(stack))
    assert page.status == 200
    words = text_of(page)
    assert "Hello Anna, could you send us your receipt?" in words
    assert "Here is my receipt, the order number is 1234." in words
    assert "in progress" in words  # the status in words
    assert "We promised you our next answer by" in words
    assert "Berlin time" in words  # the customer's zone: the office's, none given
    download = re.search(r'href="([^"]+/files/[^"]+)"', page.body)
    assert download is not None
    path = link_of(stack) + "/files/" + download[1].split("/files/", 1)[1]
    file = stack.http("GET", path)
    assert file.status == 200
    assert file.body == "Order 1234, paid 23 November"
    assert file.headers["content-disposition"].startswith("attachment;")


def test_the_page_never_shows_an_internal_note(replied: Any) -> None:
    stack, player = replied
    player.run(99, _note_step(player))
    ticket = state(stack)["tickets"][0]
    assert any(m["direction"] == "note" for m in ticket["messages"])
    page = stack.http("GET", link_of(stack))
    assert "Only for colleagues: customer seems upset" not in text_of(page)


def _note_step(player: Player) -> Any:
    from helpdesk_local.scenario import ReplyStep

    return ReplyStep(
        ticket=1,
        sender="agent",
        text="#note Only for colleagues: customer seems upset",
        headers={},
    )


def test_opening_the_page_changes_nothing(replied: Any) -> None:
    stack, _ = replied
    before = state(stack)
    for _ in range(3):
        assert stack.http("GET", link_of(stack)).status == 200
    assert_unchanged(stack, before)


def test_the_same_form_posted_twice_adds_the_reply_once(replied: Any) -> None:
    stack, _ = replied
    path = link_of(stack)
    body, headers = reply_post(stack, path, "Sent twice by a double tap")
    for _ in range(2):
        answer = stack.http("POST", path, body=body, headers=headers)
        assert answer.status == 303
    texts = [m["text"] for m in state(stack)["tickets"][0]["messages"]]
    assert texts.count("Sent twice by a double tap") == 1


# ---------------------------------------------------------------------- refused links
def test_a_forged_page_link_is_refused_and_changes_nothing(replied: Any) -> None:
    stack, _ = replied
    genuine = link_of(stack)
    payload, _, signature = genuine.rsplit("/", 1)[1].partition(".")
    forged = f"/ticket/{payload}.{signature[::-1]}"
    before = state(stack)
    page = stack.http("GET", forged)
    assert page.status == 403
    assert "This link is not valid" in text_of(page)
    assert "Where is my order?" not in text_of(page)
    body, content_type = multipart_body(
        {"action": "reply", "submission": "x" * 32, "text": "forged"}, ()
    )
    post = stack.http("POST", forged, body=body, headers={"content-type": content_type})
    assert post.status == 403
    assert stack.http("GET", forged + "/files/x-1").status == 403
    assert_unchanged(stack, before)


def test_an_expired_page_link_is_refused_with_a_way_to_a_fresh_one(replied: Any) -> None:
    stack, _ = replied
    path = link_of(stack)
    stack.advance(timedelta(days=31))
    page = stack.http("GET", path)
    assert page.status == 403
    assert "This link has expired. Nothing was changed." in text_of(page)
    assert 'href="../ticket"' in page.body
