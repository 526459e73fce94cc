"""A forged delivery report quoting one of the desk's Message-IDs (known to whoever saw one
mail of the conversation) is filed on the customer's ticket for the agents, and never
shows on her page (attack 3, F4)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from customer_page_support import link_of, play, state, text_of

from helpdesk_local.stack import LocalStack

pytestmark = pytest.mark.slow

LURE = "your refund is on hold. Confirm your card at https://evil.example/refund"


def forged_bounce(quoted_message_id: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.attacker.example>\r\n"
        "To: support@support.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Return-Path: <>\r\n"
        "Message-ID: <fake-dsn-1@mx.attacker.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        f"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIMPORTANT: {LURE}\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.attacker.example\r\n\r\n"
        "Final-Recipient: rfc822; anna@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {quoted_message_id}\r\nSubject: x\r\n\r\n--B--\r\n"
    ).encode()


@pytest.fixture(scope="module")
def bounced() -> Iterator[LocalStack]:
    for stack, _ in play("portal_reply.yaml"):
        [ack] = [m for m in state(stack)["outbox"] if m["kind"] == "acknowledgement"]
        stack.deliver_email(forged_bounce(ack["headers"]["Message-ID"]))
        stack.drain()
        yield stack


def test_a_forged_bounce_is_kept_on_the_ticket_for_the_agents(bounced: LocalStack) -> None:
    [ticket] = state(bounced)["tickets"]
    assert any(LURE in m["text"] for m in ticket["messages"])


def test_the_customers_page_never_shows_the_forged_bounce(bounced: LocalStack) -> None:
    page = bounced.http("GET", link_of(bounced))
    assert page.status == 200
    assert "Here is my receipt, the order number is 1234." in text_of(page)
    assert "evil.example" not in page.body
    assert "mailer-daemon" not in page.body.lower()
