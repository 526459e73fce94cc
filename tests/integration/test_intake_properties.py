"""Whatever bytes arrive, email intake keeps them: mutated corpus messages and random MIME
delivered as SES delivers them never make the function fail (no invocation error, no dead
letter), and every one of them ends as a message on a ticket, its raw mail kept."""

from __future__ import annotations

import base64
import quopri
from pathlib import Path
from typing import Any

import pytest
from dynamodb_sizes import violations
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from intake_support import forget_everything

from helpdesk.aws.dynamodb import message_from_item
from helpdesk.mail.parse import parse_mail
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
FIXTURES = {path.stem: path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))}

# Bytes that matter to MIME parsers: line ends, header and boundary syntax, encodings.
MIME_NOISE = st.sampled_from(
    [b"\r\n", b"\n", b"\r", b":", b";", b"=", b"=?", b"?=", b"--", b'"', b"\x00", b"\xff",
     b"\t", b" ", b"Content-Type: multipart/mixed; boundary=", b"charset=", b"base64",
     b"=\r\n", b"\xe4\xb8\xad", b"<", b">", b"@", b"\x1b$B"]
)  # fmt: skip


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    """A corpus message with a few bytes flipped, cut, inserted or the whole cut short."""
    data = bytearray(FIXTURES[draw(st.sampled_from(sorted(FIXTURES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if operation == "flip" and data:
            data[at] ^= draw(st.integers(min_value=1, max_value=255))
        elif operation == "cut":
            del data[at : at + draw(st.integers(min_value=1, max_value=64))]
        elif operation == "insert":
            data[at:at] = draw(st.one_of(MIME_NOISE, st.binary(min_size=1, max_size=32)))
        else:
            del data[at:]
    return bytes(data)


HEADER_NAMES = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
     "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted",
     "Precedence", "List-Id", "Return-Path", "X-SES-Spam-Verdict", "X-SES-Virus-Verdict",
     "Authentication-Results", "MIME-Version", "X-Weird"]
)  # fmt: skip
HEADER_VALUES = st.one_of(
    st.text(max_size=60).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
    st.sampled_from(
        [b"Anna <anna@example.com>", b"=?utf-8?B?5L2g5aW9?=", b"=?gb2312?Q?=C4=E3?=",
         b"multipart/mixed; boundary=b1", b"text/html; charset=koi8-r", b"base64",
         b"quoted-printable", b"attachment; filename*=utf-8''%E2%82%AC.pdf", b"<>",
         b"auto-replied", b"FAIL", b"bulk", b"<x@y>"]
    ),
)  # fmt: skip


@st.composite
def random_mime(draw: st.DrawFn) -> bytes:
    """Headers drawn from the ones intake reads, with hostile values, over a random body
    that may hold multipart boundaries."""
    headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12))
    lines = [name.encode() + b": " + value.replace(b"\n", b" ") for name, value in headers]
    parts = draw(
        st.lists(
            st.tuples(st.sampled_from([b"--b1", b"--b1--", b""]), st.binary(max_size=200)),
            max_size=5,
        )
    )
    body = b"\r\n".join(boundary + b"\r\n" + content for boundary, content in parts)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _delivered_alone(stack: LocalStack, raw: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Deliver ``raw`` to a desk that has seen nothing; it must run without an error or a
    dead letter. The raw key and every item the desk then holds."""
    forget_everything(stack)
    errors_before = len(stack.invocation_errors)
    key = stack.deliver_email(raw)
    stack.drain()
    assert stack.invocation_errors[errors_before:] == []
    assert stack.dead_letters() == []
    return key, scan_items(stack)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.one_of(mutated_fixture(), random_mime()))
def test_any_bytes_delivered_end_as_a_kept_message_and_nothing_fails(
    shared_stack: LocalStack, raw: bytes
) -> None:
    # An empty object is a folder marker, not a mail: skipped (test_documented_events).
    assume(raw)
    stack = shared_stack
    key, items = _delivered_alone(stack, raw)
    [message] = [message_from_item(i) for i in items if i.get("type") == "message"]
    assert message.raw_key == key
    [ticket] = [i for i in items if i.get("type") == "ticket"]
    assert message.ticket == ticket["ref"]
    suppressed = [i for i in items if i.get("type") == "suppressed"]
    assert all(entry["ref"] == ticket["ref"] for entry in suppressed)


# ---------------------------------------------------------------------------------------
# Mail of any size SES accepts. SES receives messages of up to 40 MB, headers included
# (Amazon SES Developer Guide, "Service quotas in Amazon SES",
# https://docs.aws.amazon.com/ses/latest/dg/quotas.html); DynamoDB counts bytes, keys and
# items ("Constraints in Amazon DynamoDB"). Inputs are built by repeating a drawn seed, so
# a megabyte costs no more to draw than a line.
SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024
MULTIBYTE_SEEDS = st.text(
    alphabet=st.sampled_from("订单还没有到请帮我查一下物流您好謝謝счётвозвратпожалуйста😀é€ ")
    | st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF, categories=["L", "N", "P", "S"]),
    min_size=1,
    max_size=40,
)


@st.composite
def big_text(draw: st.DrawFn) -> str:
    seed = draw(MULTIBYTE_SEEDS)
    target = draw(st.sampled_from([10, 5_000, 70_000, 160_000]))
    return (seed * (target // len(seed) + 1))[:target]


def _encoded(text: str, encoding: str) -> tuple[str, bytes]:
    data = text.encode("utf-8")
    if encoding == "base64":
        return encoding, base64.encodebytes(data).replace(b"\n", b"\r\n")
    if encoding == "quoted-printable":
        return encoding, quopri.encodestring(data).replace(b"\n", b"\r\n")
    lines = data.replace(b"\r", b"").split(b"\n")
    return "8bit", b"\r\n".join(lines)


def _part(content_type: str, text: str, encoding: str) -> bytes:
    cte, payload = _encoded(text, encoding)
    head = f"Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n"
    return head.encode() + b"\r\n" + payload


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    inner = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return head + inner + b"--" + boundary.encode() + b"--\r\n"


@st.composite
def big_mail(draw: st.DrawFn) -> bytes:
    """A mail near the limits: long multi-byte bodies in text and HTML, many parts, long
    header values (Message-ID, Subject, names and addresses, recipient lists)."""
    text = draw(big_text())
    encoding = draw(st.sampled_from(["base64", "quoted-printable", "8bit"]))
    html = f"<html><body><p>{draw(big_text())}</p></body></html>"
    shape = draw(st.sampled_from(["plain", "html", "alternative", "html_then_plain"]))
    body_parts = {
        "plain": [_part("text/plain", text, encoding)],
        "html": [_part("text/html", html, encoding)],
        "alternative": [
            _multipart(
                "alternative",
                [_part("text/plain", text, encoding), _part("text/html", html, encoding)],
                "alt",
            )
        ],
        "html_then_plain": [
            _part("text/html", html, encoding),
            _part("text/plain", text, encoding),
        ],
    }[shape]
    part_count = draw(st.sampled_from([0, 1, 30, 150]))
    name_length = draw(st.sampled_from([8, 200, 3_000] if part_count < 100 else [8]))
    extra_parts = [
        f"Content-Type: application/octet-stream\r\nContent-ID: <{'c' * name_length}{n}@x>\r\n"
        f'Content-Disposition: attachment; filename="{"名" * (name_length // 3)}{n}.bin"\r\n'
        f"\r\nx".encode()
        for n in range(part_count)
    ]
    big_attachment = draw(st.sampled_from([0, 0, 0, 0, 0, 0, 0, 11 * 1024 * 1024]))
    if big_attachment:
        extra_parts.append(
            b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="big.pdf"\r\n\r\n'
            + base64.encodebytes(b"%PDF" * (big_attachment // 4)).replace(b"\n", b"\r\n")
        )
    body = (
        _multipart("mixed", [*body_parts, *extra_parts], "mixed")
        if len(body_parts) > 1 or extra_parts
        else body_parts[0]
    )
    id_length = draw(st.sampled_from([10, 1_000, 3_000]))
    local_length = draw(st.sampled_from([4, 64, 300]))
    seed = draw(MULTIBYTE_SEEDS)
    name = seed * (draw(st.sampled_from([1, 300, 3_000])) // len(seed) + 1)
    subject = seed * (draw(st.sampled_from([1, 2_000, 20_000])) // len(seed) + 1)
    recipients = draw(st.sampled_from([1, 5, 300]))
    references = draw(st.sampled_from([0, 3, 60]))
    long_id = "r" * id_length
    headers = (
        f"From: {name} <{'w' * local_length}@customer.example>\r\n"
        f"To: {', '.join(f'r{n}@customer.example' for n in range(recipients))}, "
        "support@support.example\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{'m' * id_length}@customer.example>\r\n"
        f"References: {' '.join(f'<{n}{long_id}@x>' for n in range(references))}\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0100\r\nMIME-Version: 1.0\r\n"
    ).encode()
    raw = headers + body
    assert len(raw) <= SES_MAX_MESSAGE_BYTES
    return raw


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(raw=big_mail())
def test_any_mail_ses_accepts_ends_as_a_ticket_read_whole_never_as_a_dead_letter(
    shared_stack: LocalStack, raw: bytes
) -> None:
    stack = shared_stack
    key, items = _delivered_alone(stack, raw)
    assert violations(items) == []
    state = build_state(stack)
    [ticket] = state["tickets"]
    [message] = ticket["messages"]
    [stored] = [message_from_item(i) for i in items if i.get("type") == "message"]
    assert stored.raw_key == key
    parsed = parse_mail(raw)
    assert message["text"] == (parsed.text or parsed.full_text)
    assert all(entry["ticket"] == ticket["ref"] for entry in state["suppressed"])
