"""`helpdesk local` tells the developer what happens, one line each (a ticket opened, a mail
sent and to whom, an SLA warning or breach), and its clock can be moved from a browser."""

from __future__ import annotations

import json
import queue
import smtplib
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import IO, Any

import pytest
from local_servers import local_server, start_command

from helpdesk.clock import parse_iso
from helpdesk_local.server import LocalServer


class Terminal:
    """What the server printed, one narration line per entry."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, line: str) -> None:
        self.lines.append(line)

    def about(self, ref: str) -> list[str]:
        return [line for line in self.lines if ref in line]


@pytest.fixture(scope="module")
def terminal() -> Terminal:
    return Terminal()


@pytest.fixture(scope="module")
def server(terminal: Terminal) -> Iterator[LocalServer]:
    with local_server(narrate=terminal.say) as running:
        yield running


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def request(
    server: LocalServer, method: str, path: str, data: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], str]:
    call = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(call, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def clock(server: LocalServer) -> str:
    _, _, body = request(server, "GET", "/_local/state")
    return str(json.loads(body)["clock"])


def mail_in(server: LocalServer, sender: str, subject: str) -> str:
    """Mail the SMTP port; the reference of the ticket it opened."""
    mail = EmailMessage()
    mail["From"] = f"Carol <{sender}>"
    mail["To"] = "support@support.example"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{abs(hash(subject))}@example.org>"
    mail.set_content("The printer says PC LOAD LETTER.")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
        smtp.send_message(mail)
    _, _, body = request(server, "GET", "/_local/state")
    [ticket] = [t for t in json.loads(body)["tickets"] if t["subject"] == subject]
    return str(ticket["ref"])


def told_after_lenas_change(
    server: LocalServer, terminal: Terminal, ref: str, change: dict[str, Any], awaited: str
) -> list[str]:
    """Lena's PATCH of ``ref`` with ``change`` through the agent API; the terminal's lines
    about ``ref`` once one holds ``awaited`` (``{ref}`` filled in)."""
    token = server.stack.agent_token("lena@support.example")
    status, _, body = request(
        server,
        "PATCH",
        f"/agent/tickets/{ref}",
        json.dumps(change).encode(),
        **{"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 200, body
    awaited = awaited.format(ref=ref)
    deadline = time.monotonic() + 30
    while not any(awaited in line for line in terminal.about(ref)):
        assert time.monotonic() < deadline, "\n".join(terminal.about(ref))
        time.sleep(0.2)
    return list(terminal.about(ref))


def form_post(fields: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# The terminal


def test_a_mail_in_is_told_as_a_ticket_opened_and_the_mails_sent(
    server: LocalServer, terminal: Terminal
) -> None:
    ref = mail_in(server, "carol@example.org", "Printer on fire")

    told = terminal.about(ref)
    [opened] = [line for line in told if f"ticket {ref} opened" in line]
    assert '"Printer on fire" from carol@example.org' in opened
    assert opened.startswith("2026-11-23 08:55Z")
    [ack] = [line for line in told if "mail sent: acknowledgement" in line]
    assert "to carol@example.org" in ack
    [assignment] = [line for line in told if "mail sent: assignment" in line]
    assert "to lena@support.example" in assignment
    assert told.index(opened) < told.index(ack)


def test_a_priority_or_tag_changed_with_a_status_is_told_too(
    server: LocalServer, terminal: Terminal
) -> None:
    # Review 20, #12: a commit with events told its events only, so a priority or a tag
    # changed in the same request was never told.
    ref = mail_in(server, "dora@example.org", "Scanner jams")
    change = {"status": "pending", "priority": "high", "tags": ["jam"]}

    told = told_after_lenas_change(server, terminal, ref, change, "priority normal -> high")

    assert any(
        f"ticket {ref}: status new -> pending (by lena@support.example)" in line for line in told
    ), told
    assert any("tagged jam (by lena@support.example)" in line for line in told)


def test_a_team_moved_with_its_new_assignee_is_told_as_both(
    server: LocalServer, terminal: Terminal
) -> None:
    # First-user run 15, LOW 9: the move to tier2 printed only "assigned to omar".
    ref = mail_in(server, "maria@example.org", "Invoice twice")
    change = {"team": "tier2", "assignee": "omar@support.example"}

    told = told_after_lenas_change(server, terminal, ref, change, "ticket {ref}: moved from team")

    assert any("to tier2 (by lena@support.example)" in line for line in told), told
    assigned = f"ticket {ref}: assigned to omar@support.example (by lena@support.example)"
    assert any(assigned in line for line in told), told


def test_sla_warnings_and_breaches_are_told_as_the_clock_passes_them(
    server: LocalServer, terminal: Terminal
) -> None:
    ref = mail_in(server, "dora@example.org", "Invoice missing")

    status, _, _ = request(
        server,
        "POST",
        "/_local/advance",
        json.dumps({"by": "8h"}).encode(),
        **{"Content-Type": "application/json"},
    )

    assert status == 200
    told = terminal.about(ref)
    [warning] = [line for line in told if line.split("  ", 1)[1].startswith("SLA warning")]
    assert f"SLA warning on {ref}: first response due" in warning
    assert any(f"SLA breached on {ref}: first response was due" in line for line in told)
    assert any("mail sent: warning to lena@support.example" in line for line in told)
    # Told in the order they happened, each at its own time.
    times = [line.split("  ", 1)[0] for line in told]
    assert times == sorted(times) and len(set(times)) > 1


# The clock from a browser


def test_a_browser_asking_for_the_advance_address_is_told_how_to_use_it(
    server: LocalServer,
) -> None:
    status, headers, body = request(server, "GET", "/_local/advance")

    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<form class="clock" method="post" action="/_local/advance">' in body
    assert f"curl -X POST {server.url}/_local/advance" in body
    assert "{&#34;by&#34;: &#34;1h&#34;}" in body or '{"by": "1h"}' in body


def test_the_outbox_page_has_a_form_that_moves_the_clock_and_comes_back(
    server: LocalServer,
) -> None:
    _, _, outbox = request(server, "GET", "/_local/outbox")
    assert 'action="/_local/advance"' in outbox and 'name="by"' in outbox
    before = parse_iso(clock(server))

    status, headers, _ = request(
        server,
        "POST",
        "/_local/advance",
        form_post({"by": "2h", "back": "/_local/outbox"}),
        Origin=server.url,
        **FORM,
    )

    assert status == 303 and headers["Location"] == "/_local/outbox"
    assert parse_iso(clock(server)) == before + timedelta(hours=2)


def test_the_form_goes_back_only_to_a_page_of_this_server(server: LocalServer) -> None:
    status, headers, _ = request(
        server,
        "POST",
        "/_local/advance",
        form_post({"by": "1m", "back": "https://elsewhere.example/"}),
        **FORM,
    )

    assert status == 303 and headers["Location"] == "/_local/outbox"


def test_the_form_with_something_that_is_not_a_duration_says_so_on_the_page(
    server: LocalServer,
) -> None:
    before = clock(server)

    status, headers, body = request(
        server, "POST", "/_local/advance", form_post({"by": "soon"}), **FORM
    )

    assert status == 422 and headers["Content-Type"].startswith("text/html")
    assert "&#39;soon&#39; is not a duration" in body
    assert clock(server) == before


def test_another_site_cannot_move_the_clock_through_the_browser(server: LocalServer) -> None:
    before = clock(server)

    status, _, _ = request(
        server,
        "POST",
        "/_local/advance",
        form_post({"by": "4d"}),
        Origin="https://evil.example",
        **FORM,
    )

    assert status == 403
    assert clock(server) == before


# The command in a terminal


def lines_of(stream: IO[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue[str], text: str, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        if text in seen[-1]:
            return seen
    raise AssertionError(f"{text!r} never printed; printed: {seen}")


@pytest.mark.slow
def test_the_command_prints_a_line_for_the_ticket_and_the_mails_it_sends() -> None:
    process, _, smtp_port = start_command(stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        printed = lines_of(process.stdout)
        wait_for(printed, "Ctrl-C")
        mail = EmailMessage()
        mail["From"] = "Erin <erin@example.org>"
        mail["To"] = "support@support.example"
        mail["Subject"] = "Scanner jammed"
        mail.set_content("It beeps.")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as smtp:
            smtp.send_message(mail)

        told = wait_for(printed, "mail sent: acknowledgement to erin@example.org")
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert any('opened: "Scanner jammed" from erin@example.org' in line for line in told)


def test_an_agents_spoofed_mail_is_told_with_the_flag_that_trusts_agent_mail(
    server: LocalServer, terminal: Terminal
) -> None:
    # Without --trust-local-agents the SMTP port stamps what SES would for an unsigned
    # client: Lena's own mail is spoofed, and the line says how to answer as her
    # (newuser 12, #7).
    ref = mail_in(server, "lena@support.example", "Re: hi")

    [suppressed] = [line for line in terminal.about(ref) if "not answered" in line]
    assert "mail from lena@support.example not answered: spoofed" in suppressed
    assert "restart with --trust-local-agents to answer as an agent" in suppressed


def test_a_spoofed_mail_from_somebody_not_on_the_staff_gets_no_such_hint(
    server: LocalServer, terminal: Terminal
) -> None:
    ref = mail_in(server, "billing@support.example", "Your invoice is overdue")

    [suppressed] = [line for line in terminal.about(ref) if "not answered" in line]
    assert "mail from billing@support.example not answered: spoofed" in suppressed
    assert "--trust-local-agents" not in suppressed
