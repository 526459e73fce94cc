"""A conversation too long for one response: the customer's page and the agent API's ticket
stay within Lambda's 6 MB response (which the local stack enforces) and say what they cut.

Whoever knows a customer's address and a reference can add mail to her ticket
(docs/SECURITY.md): 24 forged mails of 300 KB had put her page and the agents' view of the
ticket over the limit for good (attack 8, F1). Customers who paste logs get there too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from customer_page_support import text_of
from desk_support import open_form_ticket

from helpdesk_local.aws_limits import LAMBDA_SYNC_PAYLOAD_MAX_BYTES
from helpdesk_local.scenario import page_link
from helpdesk_local.stack import HttpResponse, LocalStack

pytestmark = pytest.mark.slow

MAILS = 30
MAIL_TEXT_BYTES = 300_000
LENA = "lena@support.example"


def long_text(number: int) -> str:
    """About 300 KB of pasted log lines, its first and last lines naming it."""
    line = f"log line of mail {number}: " + "x" * 60 + "\n"
    filler = line * (MAIL_TEXT_BYTES // len(line))
    return f"Mail {number} begins here.\n{filler}Mail {number} ends here."


def long_mail(ref: str, number: int) -> bytes:
    """A plain-text mail of :func:`long_text` from Anna's address (anyone can forge it)
    joining ``ref``."""
    body = long_text(number).replace("\n", "\r\n") + "\r\n"
    return (
        "From: Anna Schmidt <anna@example.com>\r\n"
        "To: support@support.example\r\n"
        f"Subject: Re: [#{ref}] Where is my order?\r\n"
        f"Message-ID: <long-{number}@attacker.example>\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}"
    ).encode()


@pytest.fixture(scope="module")
def long_thread() -> Iterator[tuple[LocalStack, str, str]]:
    """Anna's ticket from the form, then 30 mails of 300 KB on it; her page's path."""
    with LocalStack() as stack:
        ref = open_form_ticket(stack)
        path = page_link(stack, ref, "anna@example.com")
        assert path is not None
        for number in range(1, MAILS + 1):
            stack.deliver_email(long_mail(ref, number))
        stack.drain()
        assert stack.invocation_errors == []
        yield stack, ref, path


def response_size(response: HttpResponse) -> int:
    return len(response.body.encode("utf-8"))


def test_the_customers_page_answers_within_the_limit_and_says_what_it_cut(
    long_thread: tuple[LocalStack, str, str],
) -> None:
    stack, _, path = long_thread
    page = stack.http("GET", path)
    assert page.status == 200
    assert response_size(page) < LAMBDA_SYNC_PAYLOAD_MAX_BYTES // 2
    words = text_of(page)
    # The newest mail is shown, cut, with a note that it goes on.
    assert f"Mail {MAILS} begins here." in words
    assert f"Mail {MAILS} ends here." not in words
    assert "This message is longer than this page shows" in words
    # Older messages left out are counted: the form's question and the oldest mails.
    shown = sum(f"Mail {n} begins here." in words for n in range(1, MAILS + 1))
    assert 0 < shown < MAILS
    assert f"Older messages not shown here: {MAILS + 1 - shown}." in words
    assert "It has been two weeks." not in words


def ticket_of(stack: LocalStack, path: str) -> dict[str, Any]:
    response = stack.call_agent_api("GET", path, agent=LENA)
    assert response.status == 200, response.body
    assert response_size(response) < LAMBDA_SYNC_PAYLOAD_MAX_BYTES // 2
    answer: dict[str, Any] = response.json()
    return answer


def test_the_agent_api_answers_the_newest_messages_cut_and_pages_back_to_the_oldest(
    long_thread: tuple[LocalStack, str, str],
) -> None:
    stack, ref, _ = long_thread
    newest = ticket_of(stack, f"/agent/tickets/{ref}")
    last = newest["messages"][-1]
    assert last["text"].startswith(f"Mail {MAILS} begins here.")
    assert f"Mail {MAILS} ends here." not in last["text"]
    assert last["text_cut"] is True
    assert last["text_bytes"] == len(long_text(MAILS).encode("utf-8"))
    assert newest["older_messages"] == MAILS + 1 - len(newest["messages"]) > 0

    # A client reads the rest page by page, each older than the first of the one before.
    pages = [newest]
    while pages[-1]["older_messages"]:
        before = pages[-1]["messages"][0]["id"]
        pages.append(ticket_of(stack, f"/agent/tickets/{ref}?before={before}"))
    messages = [m for page in reversed(pages) for m in page["messages"]]
    assert len({m["id"] for m in messages}) == len(messages) == MAILS + 1
    assert messages[0]["text"] == "It has been two weeks."
    assert messages[0]["text_cut"] is False
    assert [m["text"].split(" begins", 1)[0] for m in messages[1:]] == [
        f"Mail {n}" for n in range(1, MAILS + 1)
    ]


def test_the_agent_api_refuses_a_cursor_that_is_no_message_of_the_ticket(
    long_thread: tuple[LocalStack, str, str],
) -> None:
    stack, ref, _ = long_thread
    response = stack.call_agent_api("GET", f"/agent/tickets/{ref}?before=nope", agent=LENA)
    assert response.status == 422
    assert response.json()["field"] == "before"
