"""`helpdesk local` over real sockets: the form over HTTP, mail over SMTP, the clock and the
developer pages, as a developer's browser and mail client meet them."""

from __future__ import annotations

import json
import re
import signal
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from desk_support import ANNAS_QUESTION
from local_servers import server, start_command

from helpdesk.clock import parse_iso
from helpdesk_local.server import LocalServer

__all__ = ["server"]  # the fixture of local_servers.py, used by name

FORM = ANNAS_QUESTION | {
    "submission_id": "0d6f6a3e-5b1c-4d0e-8f4e-2b7c9a1d3e5f",
}


def request(
    server: LocalServer, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], str]:
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    call = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def state(server: LocalServer) -> dict[str, Any]:
    status, _, body = request(server, "GET", "/_local/state")
    assert status == 200
    return dict(json.loads(body))


def customer_mail(sender: str, subject: str, to: str = "support@support.example") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Carol <{sender}>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{subject.replace(' ', '.')}@example.org>"
    mail.set_content("The printer says PC LOAD LETTER.")
    return mail


def test_the_form_page_is_served_over_http(server: LocalServer) -> None:
    status, headers, body = request(server, "GET", "/form?lang=zh")

    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert '<html lang="zh">' in body
    assert "Content-Security-Policy" in headers or "content-security-policy" in headers


def test_a_form_posted_over_http_becomes_a_ticket(server: LocalServer) -> None:
    status, _, body = request(server, "POST", "/tickets", FORM)

    assert status == 201
    ref = json.loads(body)["ref"]
    [ticket] = [t for t in state(server)["tickets"] if t["ref"] == ref]
    assert ticket["channel"] == "form"
    assert ticket["subject"] == "Where is my order?"


def test_a_mail_to_the_smtp_port_becomes_a_ticket_with_an_acknowledgement(
    server: LocalServer,
) -> None:
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
        smtp.send_message(customer_mail("carol@example.org", "Printer on fire"))

    now = state(server)
    [ticket] = [t for t in now["tickets"] if t["subject"] == "Printer on fire"]
    assert ticket["channel"] == "email"
    assert ticket["contact"]["email"] == "carol@example.org"
    [ack] = [
        m for m in now["outbox"] if m["ticket"] == ticket["ref"] and m["kind"] == "acknowledgement"
    ]
    assert ack["to"] == ["carol@example.org"]
    assert server.stack.invocation_errors == []


def test_mail_for_another_domain_is_refused_like_ses_would(server: LocalServer) -> None:
    mail = customer_mail("carol@example.org", "Lost", to="someone@elsewhere.example")

    with (
        smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        smtp.send_message(mail)


def test_a_downloaded_file_comes_back_byte_for_byte(server: LocalServer) -> None:
    # Newuser 15, #1: the server wrote the answer's bytes as text, so every byte that is
    # no UTF-8 came back as U+FFFD: a 592-byte PDF downloaded as 600 bytes.
    scan = bytes(range(256)) * 3
    mail = customer_mail("erin@example.org", "Scan attached")
    mail.set_content("The scan.")
    mail.add_attachment(scan, maintype="application", subtype="pdf", filename="scan.pdf")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
        smtp.send_message(mail)
    [ticket] = [t for t in state(server)["tickets"] if t["subject"] == "Scan attached"]
    token = server.stack.agent_token("lena@support.example")
    auth = {"Authorization": f"Bearer {token}"}
    _, _, body = request(server, "GET", f"/agent/tickets/{ticket['ref']}", **auth)
    [listed] = json.loads(body)["messages"][0]["attachments"]

    call = urllib.request.Request(server.url + listed["download"], headers=auth)
    with urllib.request.urlopen(call, timeout=60) as response:
        downloaded = response.read()

    assert downloaded == scan


def test_advancing_moves_the_clock_and_answers_the_new_time(server: LocalServer) -> None:
    before = parse_iso(state(server)["clock"])

    status, _, body = request(server, "POST", "/_local/advance", {"by": "1h30m"})

    assert status == 200
    assert parse_iso(json.loads(body)["clock"]) == before + timedelta(hours=1, minutes=30)
    assert parse_iso(state(server)["clock"]) == before + timedelta(hours=1, minutes=30)


@pytest.mark.parametrize("body", [{"by": "soon"}, {"until": "1h"}, ["1h"]])
def test_advancing_by_something_that_is_not_a_duration_answers_422(
    server: LocalServer, body: Any
) -> None:
    status, _, answer = request(server, "POST", "/_local/advance", body)

    assert status == 422
    assert json.loads(answer)["field"] == "by"


def test_a_form_body_sent_as_json_is_told_what_to_send(server: LocalServer) -> None:
    # First-user run 14, #11: it answered the JSON decoder's "Expecting value: line 1".
    call = urllib.request.Request(
        server.url + "/_local/advance",
        data=b"by=1h",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(call, timeout=60)

    assert refused.value.code == 422
    assert json.loads(refused.value.read()) == {
        "detail": 'by: the body is not JSON: send {"by": "1h"}',
        "field": "by",
    }


def test_the_clock_runs_at_the_given_speed(server: LocalServer) -> None:
    before = parse_iso(state(server)["clock"])
    server.speed = 3600.0  # an hour a second
    try:
        deadline = time.monotonic() + 30
        while parse_iso(state(server)["clock"]) < before + timedelta(hours=1):
            assert time.monotonic() < deadline, "the clock did not move"
            time.sleep(0.2)
    finally:
        server.speed = 0.0


def test_the_outbox_page_shows_the_mails_newest_first_in_a_sandboxed_frame(
    server: LocalServer,
) -> None:
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
        smtp.send_message(customer_mail("dave@example.org", "First <b>question</b>"))
        smtp.send_message(customer_mail("erin@example.org", "Second question"))

    status, headers, body = request(server, "GET", "/_local/outbox")

    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body.index("Second question") < body.index("First &lt;b&gt;question&lt;/b&gt;")
    assert "<b>question</b>" not in body.split("<iframe")[0]
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in body
    assert "srcdoc=" in body


def test_the_tickets_page_shows_each_ticket_with_its_messages(server: LocalServer) -> None:
    request(server, "POST", "/tickets", {**FORM, "submission_id": "5e0c1b11-aaaa-4bbb-8ccc"})

    status, _, body = request(server, "GET", "/_local/tickets")

    assert status == 200
    assert "Where is my order?" in body
    assert "It has been two weeks." in body


def test_the_tickets_page_links_each_ticket_to_its_customers_page(server: LocalServer) -> None:
    # newuser 12, #16: the customer's page was reachable only through a mail's link.
    _, _, posted = request(
        server, "POST", "/tickets", {**FORM, "submission_id": "5e0c1b11-aaaa-4bbb-8ccd"}
    )
    ref = json.loads(posted)["ref"]

    _, _, body = request(server, "GET", "/_local/tickets")

    [link] = re.findall(rf'<article id="{ref}">.*?href="(/ticket/[^"]+)"', body, re.DOTALL)
    status, _, page = request(server, "GET", link)
    assert status == 200 and "Where is my order?" in page


def test_the_states_mails_link_to_this_server(server: LocalServer) -> None:
    # newuser 12, #16: a script reading the state got links to the deployed API's host.
    _, _, body = request(
        server, "POST", "/tickets", {**FORM, "submission_id": "5e0c1b11-aaaa-4bbb-8cce"}
    )
    ref = json.loads(body)["ref"]

    [acknowledgement] = [
        m for m in state(server)["outbox"] if m["kind"] == "acknowledgement" and m["ticket"] == ref
    ]

    links = re.findall(r"https?://[^\s\"'<>]+/ticket/[^\s\"'<>]+", acknowledgement["text"])
    assert links and all(link.startswith(server.url + "/ticket/") for link in links)
    status, _, page = request(server, "GET", links[0].removeprefix(server.url))
    assert status == 200 and "Where is my order?" in page


def test_the_log_keeps_to_events_and_names_only_the_requests_that_failed(
    server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: `helpdesk local` prints one line per ticket, mail and SLA event. A page view,
    a favicon or a poll of the state is no event; a request that failed is worth a line."""
    capsys.readouterr()
    for path in ("/", "/favicon.ico", "/_local/state", "/form"):
        assert request(server, "GET", path)[0] in (200, 204)
    assert request(server, "GET", "/nothing-here")[0] == 404

    logged = capsys.readouterr().err.splitlines()
    assert len(logged) == 1 and '"GET /nothing-here HTTP/1.1" 404' in logged[0]
    # First-user run 15, LOW 9: stamped with the desk's clock as the event lines are.
    desk_time = server.stack.clock.peek().astimezone(UTC)
    assert logged[0].startswith(f"{desk_time:%Y-%m-%d %H:%M}Z  127.0.0.1 "), logged[0]


def test_an_unknown_path_answers_404_as_api_gateway_does(server: LocalServer) -> None:
    status, _, body = request(server, "GET", "/nowhere")

    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}


@pytest.mark.slow
def test_the_command_prints_its_urls_and_ctrl_c_stops_it_cleanly() -> None:
    process, http_port, smtp_port = start_command(stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if "Ctrl-C" in line:
                break
        output = "".join(printed)
        assert f"http://127.0.0.1:{http_port}/form" in output
        assert f"smtp://127.0.0.1:{smtp_port}" in output

        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "stopped" in rest
    for port in (http_port, smtp_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_fresh_page_links_mailed_by_the_local_desk_open_on_it(server: LocalServer) -> None:
    # First-user review S7: the links pointed at https://127.0.0.1:<port>, which this
    # plain-HTTP server cannot answer.
    form = FORM | {
        "email": "links@example.com",
        "submission_id": "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    }
    assert request(server, "POST", "/tickets", form)[0] == 201
    asked = urllib.request.Request(
        server.url + "/ticket",
        data=b"email=links%40example.com",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(asked, timeout=60) as answer:
        assert answer.status == 200
    [mail] = [m for m in state(server)["outbox"] if m["kind"] == "links"]
    [link] = re.findall(r"https?://\S+/ticket/[^\s\"'<>]+", mail["text"])
    assert link.startswith(server.url + "/ticket/")
    status, _, page = request(server, "GET", link.removeprefix(server.url))
    assert status == 200 and "Where is my order?" in page
