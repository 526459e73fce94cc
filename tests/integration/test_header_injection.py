"""Header injection through the whole desk: whatever customers put in names and subjects
of a form or a mail, no outbound mail gains a header line or a recipient from it."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

EVIL = "evil@attacker.example"
SMUGGLED_NAME = f"Anna\r\nBcc: {EVIL}\r\nX-Injected: yes =?utf-8?q?=0D=0ABcc:_{EVIL}?="
SMUGGLED_SUBJECT = (
    f"Order =?utf-8?b?DQpCY2M6IGV2aWxAYXR0YWNrZXIuZXhhbXBsZQ==?= late\r\nBcc: {EVIL}\n"
    f"X-Injected: yes\u2028Cc: {EVIL}"
)
INJECTING_MAIL = (
    b"From: =?utf-8?q?Boris=0D=0ABcc:_evil@attacker.example?= <boris@example.com>\r\n"
    b"To: support@support.example\r\n"
    b"Subject: =?utf-8?q?Refund=0D=0ABcc:_evil@attacker.example=0D=0AX-Injected:_yes?=\r\n"
    b"Message-ID: <inject-1@example.com>\r\n"
    b"Date: Mon, 23 Nov 2026 08:55:00 +0000\r\n"
    b"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=example.com;"
    b" dkim=pass header.i=@example.com; dmarc=pass header.from=example.com;\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Please refund my order.\r\n"
)
EXPECTED_HEADERS = {
    "from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to",
    "references", "x-helpdesk-kind", "x-helpdesk-ticket", "auto-submitted",
    "x-auto-response-suppress", "mime-version", "content-type", "content-transfer-encoding",
}  # fmt: skip


def outbound_mails() -> list[tuple[bytes, list[str]]]:
    """Every mail SES accepted: its raw bytes and the envelope recipients."""
    from moto.ses.models import ses_backends

    mails = []
    for sent in ses_backends["123456789012"]["us-east-1"].sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        mails.append((data, list(getattr(sent, "destinations", []) or [])))
    return mails


def assert_only_our_headers(data: bytes, envelope: list[str]) -> str:
    """Check one raw outbound mail; return its kind."""
    head = data.split(b"\r\n\r\n", 1)[0]
    # Every header line is one we write: no line of customer text became a header.
    names = {
        line.split(b":", 1)[0].decode().lower()
        for line in head.split(b"\r\n")
        if line and line[:1] not in (b" ", b"\t")
    }
    assert names <= EXPECTED_HEADERS, names - EXPECTED_HEADERS
    message = BytesParser(policy=policy.default).parsebytes(data)
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), (name, value)
    recipients = [
        address.addr_spec
        for field in ("To", "Cc", "Reply-To", "From")
        if message[field] is not None
        for address in message[field].addresses
    ]
    assert not [r for r in [*recipients, *envelope] if "attacker" in r], recipients
    return str(message["X-Helpdesk-Kind"])


def reply_and_solve(stack: LocalStack) -> None:
    """Lena answers and solves every ticket, so that every kind of customer mail goes out."""
    headers = {
        "authorization": f"Bearer {stack.agent_token('lena@support.example')}",
        "content-type": "application/json",
    }
    for ticket in build_state(stack)["tickets"]:
        ref = ticket["ref"]
        stack.http(
            "POST", f"/agent/tickets/{ref}/replies", body='{"text": "On it."}', headers=headers
        )
        stack.http("PATCH", f"/agent/tickets/{ref}", body='{"status": "solved"}', headers=headers)


def test_nothing_smuggled_through_a_forms_name_and_subject_reaches_an_outbound_header(
    stack: LocalStack,
) -> None:
    form = stack.post_form(
        {
            "name": SMUGGLED_NAME,
            "email": "anna@example.com",
            "subject": SMUGGLED_SUBJECT,
            "message": "Where is my order?",
        }
    )
    assert form.status == 201, form.body
    reply_and_solve(stack)
    assert stack.invocation_errors == []
    kinds = {assert_only_our_headers(data, envelope) for data, envelope in outbound_mails()}
    assert kinds == {"acknowledgement", "assignment", "reply", "notification"}


def test_nothing_smuggled_through_a_mails_encoded_name_and_subject_reaches_a_header(
    stack: LocalStack,
) -> None:
    stack.deliver_email(INJECTING_MAIL)
    stack.drain()
    reply_and_solve(stack)
    mails = outbound_mails()
    kinds = {assert_only_our_headers(data, envelope) for data, envelope in mails}
    assert "assignment" in kinds
