"""The local SMTP listener stamps what SES would stamp for its client: a mail client on
127.0.0.1 signs nothing and no SPF record names it, so an agent's address written there has
no agent power, unless the developer starts `helpdesk local --trust-local-agents`."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from desk_support import ANNAS_QUESTION
from local_servers import local_server

from helpdesk.mail.auth import parse_auth
from helpdesk.mail.parse import parse_mail
from helpdesk_local.server import Connection, LocalServer, with_ses_headers

FORM = ANNAS_QUESTION


@pytest.fixture(scope="module", params=[False, True], ids=["default", "trusted"])
def local(request: pytest.FixtureRequest) -> Iterator[tuple[LocalServer, bool]]:
    """A local server, and whether it was started with --trust-local-agents."""
    trusted = bool(request.param)
    with local_server(trust_local_agents=trusted) as running:
        yield running, trusted


def state(server: LocalServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/_local/state", timeout=60) as response:
        return dict(json.loads(response.read()))


def post_form(server: LocalServer, submission: str) -> str:
    body = json.dumps({**FORM, "submission_id": submission}).encode()
    call = urllib.request.Request(
        server.url + "/tickets", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(call, timeout=60) as response:
        return str(json.loads(response.read())["ref"])


def agent_reply(server: LocalServer, ref: str, text: str) -> None:
    """Lena answers the assignment mail from her mail client, through the SMTP port."""
    [assignment] = [
        m for m in state(server)["outbox"] if m["ticket"] == ref and m["kind"] == "assignment"
    ]
    mail = EmailMessage()
    mail["From"] = "Lena <lena@support.example>"
    mail["To"] = assignment["headers"].get("Reply-To") or assignment["from"]
    mail["Subject"] = "Re: " + assignment["subject"]
    mail["In-Reply-To"] = assignment["headers"]["Message-ID"]
    mail["Message-ID"] = f"<{text.rsplit(maxsplit=1)[-1]}@support.example>"
    mail.set_content(text)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
        smtp.send_message(mail, from_addr="lena@support.example")


def test_an_agents_address_over_local_smtp_acts_only_when_the_developer_trusts_it(
    local: tuple[LocalServer, bool],
) -> None:
    server, trusted = local
    ref = post_form(server, "8c1d6c1e-1111-4a4a-9b9b-000000000001")
    agent_reply(server, ref, "#priority urgent\nWe are on it, reply-one")

    now = state(server)
    [ticket] = [t for t in now["tickets"] if t["ref"] == ref]
    relayed = [m for m in now["outbox"] if m["ticket"] == ref and m["kind"] == "reply"]
    if trusted:
        assert ticket["priority"] == "urgent"
        assert [m["to"] for m in relayed] == [["anna@example.com"]]
        assert not [s for s in now["suppressed"] if s["from"] == "lena@support.example"]
    else:
        assert ticket["priority"] == "normal"
        assert relayed == []
        [spoofed] = [t for t in now["tickets"] if "spoofed" in t["flags"]]
        assert spoofed["contact"]["email"] == "lena@support.example"
        assert [s["reason"] for s in now["suppressed"]] == ["spoofed"]
    assert server.stack.invocation_errors == []


@pytest.mark.parametrize(
    ("envelope", "sender", "spf", "dmarc"),
    [
        ("lena@support.example", "lena@support.example", "fail", "fail"),
        ("mallory@attacker.example", "lena@support.example", "none", "fail"),
        ("anna@example.com", "anna@example.com", "none", "none"),
        ("", "anna@example.com", "none", "none"),
    ],
)
def test_an_unauthenticated_local_client_is_stamped_as_ses_would_stamp_it(
    envelope: str, sender: str, spf: str, dmarc: str
) -> None:
    raw = f"From: {sender}\r\nTo: support@support.example\r\nSubject: x\r\n\r\nhi\r\n".encode()
    stamped = with_ses_headers(
        raw, Connection(envelope, "127.0.0.1", "laptop.local"), mail_domain="support.example"
    )
    mail = parse_mail(stamped)
    results = parse_auth(mail.headers, trusted_authserv_id="amazonses.com")
    assert (results.spf, results.dkim, results.dmarc) == (spf, "none", dmarc)
    assert not results.authenticates(sender)
    assert mail.sender is not None and mail.sender.email == sender


def test_a_hostile_envelope_or_helo_cannot_write_verdicts_into_the_stamp() -> None:
    raw = b"From: lena@support.example\r\nSubject: x\r\n\r\nhi\r\n"
    connection = Connection(
        'x;dkim=pass header.i=@support.example;dmarc=pass"@attacker.example',
        "127.0.0.1",
        "h;dmarc=pass header.from=support.example",
    )
    stamped = with_ses_headers(raw, connection, mail_domain="support.example")
    results = parse_auth(parse_mail(stamped).headers, trusted_authserv_id="amazonses.com")
    assert (results.spf, results.dkim, results.dmarc) == ("none", "none", "fail")
    assert not results.authenticates("lena@support.example")
