"""Hostile input: whatever arrives, the desk answers a 4xx or makes a ticket, and no mail
ever vanishes into an exception or a dead-letter queue.

The form route gets random JSON (wrong types, unknown keys, huge fields, control characters
and line breaks in names), random bodies and content types. Email intake gets random bytes
and real messages of the corpus mutated (bytes flipped, cut short, headers doubled, lines
broken). One stack per test; every example runs on it.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import scan_items

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
CORPUS = sorted((Path(__file__).resolve().parents[1] / "data" / "mail").glob("*.eml"))
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------- the form route
FIELDS = ["name", "email", "subject", "message", "category", "urgency", "language", "order_id"]
huge_text = st.integers(min_value=300, max_value=80_000).map(lambda n: "ж" * n)
any_text = st.text(max_size=80) | st.sampled_from(["a\r\nBcc: x@evil.example", "\x00\x1b[31m"])
json_value: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=6,
)
plausible = st.fixed_dictionaries(
    {
        "name": any_text.filter(str.strip) | huge_text,
        "email": st.sampled_from(["anna@example.com", "not-an-address", "x@y", ""])
        | st.emails().map(str),
        "subject": any_text.filter(str.strip) | huge_text,
        "message": any_text.filter(str.strip) | huge_text,
    },
    optional={field: json_value for field in [*FIELDS[4:], "website", "submission_id"]},
)
hostile = st.dictionaries(st.sampled_from(FIELDS) | any_text, json_value, max_size=8)
bodies = (
    (plausible | hostile).map(json.dumps)
    | st.lists(json_value, max_size=3).map(json.dumps)
    | any_text
    | st.binary(max_size=300)
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]
)


def test_every_form_post_is_answered_with_a_ticket_or_a_4xx() -> None:
    answered: list[str] = []
    with LocalStack(start=MONDAY_MORNING) as stack:

        @FUZZ
        @given(body=bodies, content_type=content_types, client=st.integers(1, 250))
        # The hidden field a robot fills: a plain success, and no ticket (it drew it once).
        @example(
            body=json.dumps(
                {"name": "Bot", "email": "bot@example.com", "subject": "Hi", "message": "Hi",
                 "website": "https://spam.example"}
            ),
            content_type="application/json",
            client=1,
        )  # fmt: skip
        def post(body: str | bytes, content_type: str, client: int) -> None:
            response = stack.http(
                "POST",
                "/tickets",
                body=body,
                headers={"content-type": content_type} if content_type else {},
                source_ip=f"203.0.113.{client}",
            )
            assert response.status in (200, 201) or 400 <= response.status < 500, response
            answer = response.json()
            assert isinstance(answer, dict)
            if response.status == 201 and answer["ref"] is None:
                assert answer["status"] == "received", answer  # the honeypot's answer
            elif response.status == 201:
                answered.append(answer["ref"])
            else:
                assert answer.get("detail") or answer.get("status") == "received", answer

        post()
        refs = {i["ref"] for i in scan_items(stack) if i.get("type") == "ticket"}
        assert stack.invocation_errors == []
        assert set(answered) <= refs


# ---------------------------------------------------------------------- email intake
def _mutate(raw: bytes, data: st.DataObject) -> bytes:
    raw = re.sub(
        rb"(?im)^message-id:.*$", f"Message-ID: <{uuid.uuid4().hex}@fuzz.example>".encode(), raw
    )
    for _ in range(data.draw(st.integers(0, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "double", "break"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw = raw[:at] + bytes([raw[at] ^ data.draw(st.integers(1, 255))]) + raw[at + 1 :]
        elif kind == "cut":
            raw = raw[:at]
        elif kind == "insert":
            raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=40)) + raw[at:]
        elif kind == "double":
            head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
            raw = head + b"\r\n" + raw
        else:
            raw = raw[:at] + b"\r\n\r\n" + raw[at:]
    return raw


def accounted_for(stack: LocalStack, key: str) -> bool:
    """The delivery became a message on a ticket (whose item names the raw key), or a
    suppressed entry with its reason (which names it too). The table is emptied between
    examples, so reading it whole stays cheap."""
    return any(item.get("raw_key") == key for item in scan_items(stack))


def forget_everything(stack: LocalStack) -> None:
    """Empty the table between examples: moto copies the whole table in every transaction,
    so a table that grows with each example would make the test quadratic."""
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    for item in scan_items(stack):
        stack.dynamodb.delete_item(
            TableName=table, Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}}
        )


def test_every_mail_however_broken_becomes_a_ticket_or_a_suppressed_entry() -> None:
    with LocalStack(start=MONDAY_MORNING) as stack:

        @FUZZ
        @given(data=st.data())
        def deliver(data: st.DataObject) -> None:
            if data.draw(st.booleans()):
                raw = data.draw(st.binary(max_size=2000))
            else:
                raw = _mutate(data.draw(st.sampled_from(CORPUS)).read_bytes(), data)
            # An empty object is a folder marker, not a mail: skipped (test_documented_events).
            assume(raw)
            key = stack.deliver_email(raw)
            stack.drain()
            assert stack.invocation_errors == [], stack.invocation_errors[-1]
            assert accounted_for(stack, key), raw[:300]
            forget_everything(stack)

        deliver()
        assert stack.dead_letters() == []


# ---------------------------------------------------------------------- what the fuzzing found
def test_a_form_body_that_is_not_utf8_is_a_400_not_a_crash(stack: LocalStack) -> None:
    response = stack.http(
        "POST", "/tickets", body=b"\x80\xff{", headers={"content-type": "application/json"}
    )
    assert response.status == 400
    assert response.json()["field"] == "body"


def test_mail_from_an_address_no_mail_can_reach_is_kept_and_never_dead_letters(
    stack: LocalStack,
) -> None:
    key = stack.deliver_email(
        "From: Jöhn <jöhn@customer.example>\r\nTo: support@support.example\r\n"
        "Subject: Hello\r\nMessage-ID: <j1@customer.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nMy order is late.\r\n".encode()
    )
    stack.drain()
    assert accounted_for(stack, key)
    assert stack.invocation_errors == [] and stack.dead_letters() == []
