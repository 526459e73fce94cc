"""Email intake end to end on the local stack, for what a scenario file cannot say:
bounces of the mail we sent, redelivered S3 objects, a crash between the ticket's write
and its event, forged authentication results, attachments in S3, the contact."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from desk_support import delivered_twice, failing_once

from conftest import MONDAY_MORNING
from helpdesk.aws.dynamodb import message_from_item
from helpdesk.model import Message
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items


def _mail(*headers: str, body: str = "Hello.") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


ANNA = _mail(
    "From: Anna Schmidt <anna@example.com>",
    "To: support@support.example",
    "Subject: Where is my order?",
    "Message-ID: <order-7@example.com>",
    "Content-Type: text/plain; charset=utf-8",
    body="It has been two weeks since I ordered the blue kettle.",
)


def _messages(stack: LocalStack) -> list[Message]:
    items = scan_items(stack)
    return sorted(
        (message_from_item(i) for i in items if i.get("type") == "message"), key=lambda m: m.at
    )


def _bounce_of(message_id: str, recipient: str) -> bytes:
    return _mail(
        "Return-Path: <>",
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>",
        "To: support@support.example",
        "Subject: Undelivered Mail Returned to Sender",
        "Message-ID: <dsn-1@mx.example.com>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"',
        body=(
            "--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "--R\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.com\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            "--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: support@support.example\r\nTo: {recipient}\r\n"
            f"Message-ID: <{message_id}>\r\n\r\n--R--"
        ),
    )


def test_a_bounce_of_our_acknowledgement_is_kept_on_its_ticket_and_answered_by_no_one(
    stack: LocalStack,
) -> None:
    stack.deliver_email(ANNA)
    stack.drain()
    sent_before = build_state(stack)["outbox"]
    [acknowledgement] = [m for m in sent_before if m["kind"] == "acknowledgement"]
    sent_id = acknowledgement["headers"]["Message-ID"].strip("<>")

    stack.deliver_email(_bounce_of(sent_id, "anna@example.com"))
    stack.drain()

    state = build_state(stack)
    [ticket] = state["tickets"]
    assert [m["from"] for m in ticket["messages"]] == [
        "anna@example.com",
        "mailer-daemon@mx.example.com",
    ]
    bounce = _messages(stack)[-1]
    assert bounce.direction == "in" and "bounce" in bounce.flags
    assert ticket["status"] == "new"  # a bounce is not the customer answering
    [suppressed] = state["suppressed"]
    assert (suppressed["reason"], suppressed["ticket"]) == ("bounce", ticket["ref"])
    assert state["outbox"] == sent_before


def test_a_bounce_of_mail_we_never_sent_is_a_ticket_flagged_bounce(stack: LocalStack) -> None:
    stack.deliver_email(_bounce_of("someone-else@example.org", "gone@example.com"))
    stack.drain()
    state = build_state(stack)
    [ticket] = state["tickets"]
    assert ticket["flags"] == ["bounce"]
    assert [s["reason"] for s in state["suppressed"]] == ["bounce"]
    assert state["outbox"] == []


def test_the_same_s3_object_delivered_twice_makes_one_ticket_and_one_answer(
    stack: LocalStack,
) -> None:
    delivered_twice(stack, ANNA)

    state = build_state(stack)
    [ticket] = state["tickets"]
    assert len(ticket["messages"]) == 1
    assert [m["kind"] for m in state["outbox"] if m["kind"] != "assignment"] == ["acknowledgement"]
    assert stack.invocation_errors == [] and state["dead_letters"] == []


def test_a_crash_between_the_tickets_write_and_its_event_is_healed_by_the_retry(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk.aws.events import EventBridgePublisher
    from helpdesk.errors import TransientError

    failing_once(
        monkeypatch,
        EventBridgePublisher,
        "publish",
        TransientError("put_events: the first try crashes after its write"),
    )
    stack.deliver_email(ANNA)
    stack.drain()

    state = build_state(stack)
    [ticket] = state["tickets"]
    assert len(ticket["messages"]) == 1
    [acknowledgement] = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert acknowledgement["ticket"] == ticket["ref"]
    assert state["suppressed"] == [] and state["dead_letters"] == []


def test_a_forged_authentication_block_on_top_gives_no_agent_power(stack: LocalStack) -> None:
    stack.deliver_email(ANNA)
    stack.drain()
    ref = build_state(stack)["tickets"][0]["ref"]
    forged = _mail(
        "Authentication-Results: mx.forger.example; spf=pass; dkim=pass; dmarc=pass",
        "From: Lena <lena@support.example>",
        "To: support@support.example",
        f"Subject: Re: [#{ref}] Where is my order?",
        "Message-ID: <forged-1@forger.example>",
        body="#status solved\nRefund sent to the new account, IBAN XX00 1234.",
    )
    sent_before = len(build_state(stack)["outbox"])
    stack.deliver_email(forged)
    stack.drain()

    state = build_state(stack)
    original, spoofed = state["tickets"]
    assert original["status"] == "new" and len(original["messages"]) == 1
    assert spoofed["flags"] == ["spoofed"] and spoofed["linked_to"] is None
    assert [s["reason"] for s in state["suppressed"]] == ["spoofed"]
    assert state["outbox"][sent_before:] == []


def test_attachments_are_stored_under_the_message_with_inline_images_marked(
    stack: LocalStack,
) -> None:
    pdf = b"%PDF-1.4 invoice"
    png = b"\x89PNG\r\n\x1a\n fake"
    stack.deliver_email(
        _mail(
            "From: =?utf-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.ru>",
            "To: support@support.example",
            "Subject: =?utf-8?B?0KHRh9GR0YI=?=",
            "Message-ID: <ivan-1@example.ru>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="M"',
            body=(
                '--M\r\nContent-Type: multipart/related; boundary="R"\r\n\r\n'
                "--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                '<p>Добрый день! Счёт за заказ не пришёл.</p><img src="cid:logo@x">\r\n'
                "--R\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{_b64(png)}\r\n--R--\r\n"
                "--M\r\nContent-Type: application/pdf\r\n"
                'Content-Disposition: attachment; filename="../../счёт 5512.pdf"\r\n'
                f"Content-Transfer-Encoding: base64\r\n\r\n{_b64(pdf)}\r\n--M--"
            ),
        )
    )
    stack.drain()

    [ticket] = build_state(stack)["tickets"]
    assert ticket["contact"] == {
        "email": "ivan@example.ru",
        "name": "Иван Петров",
        "tier": "standard",
    }
    assert ticket["language"] == "ru"
    [message] = _messages(stack)
    [invoice] = [a for a in message.attachments if a.content_type == "application/pdf"]
    assert invoice.filename == "счёт 5512.pdf"
    assert invoice.key is not None and invoice.key.startswith(f"attachments/{message.id}/")
    body = stack.s3.get_object(Bucket=stack.raw_bucket, Key=invoice.key)["Body"].read()
    assert body == pdf
    [logo] = [a for a in message.attachments if a.content_type == "image/png"]
    assert logo.inline and logo.content_id == "logo@x"
    contact = [i for i in scan_items(stack) if i["PK"] == "CONTACT#ivan@example.ru"]
    # Not authenticated (no Authentication-Results), so the mail names the ticket's
    # contact, not the contact record, which greets later requests (attack 18, F1).
    assert [(c.get("name"), c["language"]) for c in contact] == [(None, "ru")]


def test_a_message_that_cannot_be_parsed_is_a_ticket_with_its_raw_mail_kept(
    stack: LocalStack,
) -> None:
    raw = b"\x00\x01\x02 please call me about ORDER 9912 \xff\xfe\x00" * 3
    key = stack.deliver_email(raw)
    stack.drain()
    state = build_state(stack)
    [ticket] = state["tickets"]
    assert ticket["flags"] == ["unparsed"]
    assert "ORDER 9912" in ticket["messages"][0]["text"]
    [message] = _messages(stack)
    assert message.raw_key == key
    kept = stack.s3.get_object(Bucket=stack.raw_bucket, Key=key)["Body"].read()
    assert kept == raw
    assert [s["reason"] for s in state["suppressed"]] == ["unparsed"]
    assert [m for m in state["outbox"] if m["kind"] == "acknowledgement"] == []


def test_an_attachment_over_the_configured_size_is_dropped_but_listed(tmp_path: Path) -> None:
    default = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"
    config = tmp_path / "helpdesk.yaml"
    config.write_text(
        default.read_text("utf-8").replace(
            "attachment_max_bytes: 10485760", "attachment_max_bytes: 1000"
        ),
        "utf-8",
    )
    small, large = b"ok" * 100, b"x" * 5000
    with LocalStack(start=MONDAY_MORNING, config_path=config) as stack:
        stack.deliver_email(
            _mail(
                "From: Boss <boss@bigcorp.example>",
                "To: support@support.example",
                "Subject: Two files",
                "Message-ID: <files-1@bigcorp.example>",
                "MIME-Version: 1.0",
                'Content-Type: multipart/mixed; boundary="M"',
                body=(
                    "--M\r\nContent-Type: text/plain\r\n\r\nTwo files attached.\r\n"
                    '--M\r\nContent-Type: text/plain; name="small.txt"\r\n'
                    "Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64"
                    f"\r\n\r\n{_b64(small)}\r\n"
                    '--M\r\nContent-Type: application/octet-stream; name="large.bin"\r\n'
                    "Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64"
                    f"\r\n\r\n{_b64(large)}\r\n--M--"
                ),
            )
        )
        stack.drain()
        [ticket] = build_state(stack)["tickets"]
        [message] = _messages(stack)
        kept, dropped = message.attachments
        listed = list(
            stack.s3.list_objects_v2(Bucket=stack.raw_bucket, Prefix="attachments/")["Contents"]
        )

    assert ticket["contact"]["tier"] == "vip"  # tiers: bigcorp.example is vip in the config
    assert [a["filename"] for a in ticket["messages"][0]["attachments"]] == [
        "small.txt",
        "large.bin",
    ]
    assert (kept.filename, kept.size, kept.dropped) == ("small.txt", 200, None)
    assert (dropped.filename, dropped.size, dropped.dropped, dropped.key) == (
        "large.bin",
        5000,
        "too_large",
        None,
    )
    assert [o["Key"] for o in listed] == [f"attachments/{message.id}/1-small.txt"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_a_robots_ticket_runs_no_sla_clock_so_nobody_is_warned_or_escalated(
    stack: LocalStack,
) -> None:
    from datetime import timedelta

    from helpdesk_local.state import build_state

    stack.deliver_email(
        b"From: Peter <peter@partner.example>\r\nTo: support@support.example\r\n"
        b"Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
        b"Message-ID: <ooo-sla@partner.example>\r\n\r\nI am away until Monday.\r\n"
    )
    stack.drain()
    stack.advance(timedelta(days=3))
    state = build_state(stack)
    [ticket] = state["tickets"]
    assert ticket["flags"] == ["auto_reply"]
    assert ticket["sla"] is None
    answered = [m for m in state["outbox"] if m["kind"] != "report"]
    assert answered == []
