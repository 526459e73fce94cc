"""A customer who writes by mail, and whose zone the desk does not know yet, is promised
an answer in the offset her own mail client wrote in the Date header (RFC 5322 §3.3): a
Chinese mail sent at +0800 was promised 13:55 "Berlin time" (first-user review S10: the
README promises the customer's own time zone). A zone the contact keeps (her browser gave
it on the form) still comes first; +0000 and half-hour offsets keep the desk's zone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import MONDAY_MORNING
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state


def mail(sender: str, date: str, subject: str, text: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@support.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash((sender, date)))}@example.cn>\r\nDate: {date}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    ).encode()


def acknowledgement_of(stack: LocalStack, sender: str) -> str:
    [ack] = [
        m
        for m in build_state(stack)["outbox"]
        if m["kind"] == "acknowledgement" and m["to"] == [sender]
    ]
    return " ".join(str(ack["text"]).split())


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """One desk for the module: each case writes from an address of its own."""
    with LocalStack(start=MONDAY_MORNING) as running:
        yield running


@pytest.mark.parametrize(
    ("sender", "date", "promised"),
    [
        # Monday 09:55 in Berlin plus four business hours: 13:55 Berlin, 12:55 UTC.
        ("li.wei@example.cn", "Mon, 23 Nov 2026 16:55:00 +0800", "20:55 GMT+08:00"),
        ("li.na@example.cn", "Mon, 23 Nov 2026 03:55:00 -0500", "07:55 GMT-05:00"),
        ("wang.fang@example.cn", "Mon, 23 Nov 2026 08:55:00 +0000", "13:55 柏林时间"),
        ("zhang.min@example.cn", "Mon, 23 Nov 2026 14:25:00 +0530", "13:55 柏林时间"),
    ],
)
def test_a_new_customer_is_promised_the_time_in_her_mails_offset(
    stack: LocalStack, sender: str, date: str, promised: str
) -> None:
    stack.deliver_email(mail(sender, date, "订单问题", "我的订单两周了还没到，请帮我查一下。"))
    stack.drain()
    assert promised in acknowledgement_of(stack, sender)
