"""What the browser tests do around the page: start `helpdesk local` on free ports, open a
watched page in Chromium, read the stack's state, file a request through the form's route
and answer it as the assigned agent from a mail client. One copy, so that the tests read
as what the customer does and sees.

The fixtures ``server`` and ``page`` are used by importing them into a test module
(``from pages import page, server``); Chromium itself is tests/browser/conftest.py's
``browser``.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from helpdesk_local.server import LocalServer, serve

# Monday 23 November 2026, 08:55 UTC: 09:55 in Berlin, inside office hours.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
# A common phone's CSS viewport (an iPhone 12-15's).
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """One `helpdesk local` per module on free ports, its clock standing still on Monday
    morning unless a test advances it. It trusts local agents (as `helpdesk local
    --trust-local-agents`): a test may answer as the assigned agent from a mail client; a
    test that sends no agent mail sees no difference."""
    running = serve(port=0, smtp_port=0, speed=0, start=MONDAY_MORNING, trust_local_agents=True)
    yield running
    running.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page of a reader in Berlin, its problems collected (:func:`watched_page`)."""
    with watched_page(browser, locale="en-GB", timezone_id="Europe/Berlin") as tab:
        yield tab


@contextmanager
def watched_page(browser: Any, **context_options: Any) -> Iterator[Any]:
    """A fresh page in a new browser context (``context_options``: locale, time zone,
    viewport); console errors (Content-Security-Policy violations among them) and uncaught
    exceptions are collected in ``page.problems``."""
    context = browser.new_context(**context_options)
    tab = context.new_page()
    tab.problems = []
    tab.on(
        "console",
        lambda message: tab.problems.append(message.text) if message.type == "error" else None,
    )
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    try:
        yield tab
    finally:
        context.close()


def phone_page(browser: Any, **context_options: Any) -> Any:
    """A :func:`watched_page` on a phone: its viewport, touch and mobile rendering."""
    return watched_page(browser, viewport=PHONE, is_mobile=True, has_touch=True, **context_options)


def state(server: LocalServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/_local/state", timeout=60) as response:
        return dict(json.loads(response.read()))


def tickets_of(server: LocalServer, email: str) -> list[dict[str, Any]]:
    return [t for t in state(server)["tickets"] if t["contact"]["email"] == email]


def ticket_of(server: LocalServer, email: str) -> dict[str, Any]:
    """The one ticket of the customer ``email``."""
    [ticket] = tickets_of(server, email)
    return ticket


def post(server: LocalServer, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
    """POST ``body`` as JSON to ``path``, as the form page and the local tools do; asserts
    the answer's ``status`` and returns its JSON body."""
    call = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(call, timeout=120) as response:
        assert response.status == status, response.status
        return dict(json.loads(response.read() or b"{}"))


def file_request(server: LocalServer, form: dict[str, str]) -> str:
    """A customer's request through the form's route, as the form page posts it; its
    reference."""
    return str(post(server, "/tickets", form, 201)["ref"])


def advance(server: LocalServer, by: str) -> None:
    """Move the stack's clock on by ``by`` (``1h30m``), running what falls due."""
    post(server, "/_local/advance", {"by": by}, 200)


def answer_by_mail(server: LocalServer, ref: str, text: str) -> None:
    """The assigned agent answers the assignment mail of ``ref`` with ``text`` (commands
    such as ``#status solved`` first), from a mail client over SMTP."""
    current = state(server)
    [ticket] = [t for t in current["tickets"] if t["ref"] == ref]
    agent = ticket["assignee"]
    assert agent, "the ticket was not assigned to anybody"
    [assignment, *_] = [
        m for m in reversed(current["outbox"]) if m["ticket"] == ref and agent in m["to"]
    ]
    reply = EmailMessage()
    reply["From"] = agent
    reply["To"] = assignment["headers"].get("Reply-To") or assignment["from"]
    reply["Subject"] = "Re: " + assignment["subject"]
    reply["In-Reply-To"] = assignment["headers"]["Message-ID"]
    reply["References"] = assignment["headers"]["Message-ID"]
    reply["Message-ID"] = f"<answer.{ref.lower()}@support.example>"
    reply.set_content(text)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
        smtp.send_message(reply)


def solve_by_mail(server: LocalServer, ref: str) -> None:
    """The assigned agent answers the assignment mail with ``#status solved``, over SMTP."""
    answer_by_mail(
        server, ref, "#status solved\nHello Anna, a new kettle left our warehouse today.\n"
    )


def send_form(
    page: Any, button: str, fields: dict[str, str], choices: dict[str, str] | None = None
) -> None:
    """Fill the form as a reader finds it: type each value into the field its label names,
    pick each choice in the list its label names, then press the button named ``button``."""
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    for label, option in (choices or {}).items():
        page.get_by_label(label).select_option(option)
    page.get_by_role("button", name=button).click()
