"""Whatever bytes arrive, email intake keeps them: mutated corpus messages and random MIME
delivered as SES delivers them never make the function fail (no invocation error, no dead
letter), and every one of them ends as a message on a ticket, its raw mail kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from intake_support import forget_everything

from conftest import MONDAY_MORNING
from helpdesk.aws.dynamodb import message_from_item
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import scan_items

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


@pytest.fixture(scope="module")
def shared_stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING) as local:
        yield local


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
    forget_everything(stack)
    errors_before = len(stack.invocation_errors)

    key = stack.deliver_email(raw)
    stack.drain()

    assert stack.invocation_errors[errors_before:] == []
    assert stack.dead_letters() == []
    items = scan_items(stack)
    [message] = [message_from_item(i) for i in items if i.get("type") == "message"]
    assert message.raw_key == key
    [ticket] = [i for i in items if i.get("type") == "ticket"]
    assert message.ticket == ticket["ref"]
    suppressed = [i for i in items if i.get("type") == "suppressed"]
    assert all(entry["ref"] == ticket["ref"] for entry in suppressed)
