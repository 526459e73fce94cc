"""Mail that DynamoDB's limits used to refuse still ends as a ticket the agents can read
whole: limits counted in bytes, part metadata bounded, long identifiers hashed for keys,
bodies too large for an item kept in S3 behind a pointer."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from dynamodb_sizes import violations

from helpdesk.mail.parse import MAX_MIME_PARTS
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items

CHINESE = "您好，我的订单还没有到，请帮我查一下物流信息。谢谢！"


def _headers(message_id: str = "<big@customer.example>", extra: str = "") -> str:
    return (
        "From: Wang Fang <wang@customer.example>\r\n"
        "To: support@support.example\r\n"
        "Subject: 订单问题\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n" + extra
    )


def _b64(text: str) -> str:
    return base64.encodebytes(text.encode("utf-8")).decode("ascii").replace("\n", "\r\n")


def _take_in(desk: LocalStack, raw: bytes) -> dict[str, Any]:
    errors_before = len(desk.invocation_errors)
    desk.deliver_email(raw)
    desk.drain()
    state = build_state(desk)
    assert desk.invocation_errors[errors_before:] == []
    assert state["dead_letters"] == []
    assert violations(scan_items(desk)) == []
    return state


def test_a_long_chinese_mail_with_text_and_html_is_a_ticket_whose_whole_text_reads_back(
    desk: LocalStack,
) -> None:
    body = (CHINESE * 3500)[:82_000]  # 82,000 characters, 246 kB of UTF-8
    html = f"<html><body><p>{body}</p></body></html>"
    raw = (
        _headers(extra='Content-Type: multipart/alternative; boundary="b"\r\n')
        + "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(body)
        + "\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(html) + "\r\n--b--\r\n"
    ).encode()

    state = _take_in(desk, raw)

    [ticket] = state["tickets"]
    assert ticket["contact"]["email"] == "wang@customer.example"
    [message] = ticket["messages"]
    assert message["text"] == body
    [ack] = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert ack["to"] == ["wang@customer.example"]


# The boundary as RFC 2231 sections or a charset form (re-attack 3, N2): the part bound
# must read it as the parser does, or the 10,000 parts are all parsed.
@pytest.mark.parametrize("declaration", ['boundary="b"', "boundary*0=b", "boundary*=''b"])
def test_a_mail_of_ten_thousand_parts_is_a_ticket_listing_the_parts_it_read(
    desk: LocalStack, declaration: str
) -> None:
    parts = "".join(
        f"--b\r\nContent-Type: application/octet-stream\r\n"
        f'Content-Disposition: attachment; filename="part-{n}.bin"\r\n\r\nx\r\n'
        for n in range(10_000)
    )
    raw = (
        _headers(extra=f"Content-Type: multipart/mixed; {declaration}\r\n")
        + "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the files.\r\n"
        + parts
        + "--b--\r\n"
    ).encode()

    state = _take_in(desk, raw)

    [ticket] = state["tickets"]
    [message] = ticket["messages"]
    assert message["text"] == "See the files."
    assert message["attachments"][0]["filename"] == "part-0.bin"
    # Parsing stops at MAX_MIME_PARTS (the text part is one of them): the listing says how
    # many attachments were read, beyond the 100 whose metadata the item keeps; the raw
    # mail in S3 has the rest.
    assert message["attachments_total"] == MAX_MIME_PARTS - 1


def test_a_three_kilobyte_message_id_is_a_ticket_and_a_reply_naming_it_threads_onto_it(
    desk: LocalStack,
) -> None:
    long_id = "<" + "a" * 3000 + "@customer.example>"
    first = _headers(long_id, "Content-Type: text/plain; charset=utf-8\r\n") + "\r\nHello\r\n"
    _take_in(desk, first.encode())
    reply = (
        "From: Wang Fang <wang@customer.example>\r\n"
        "To: support@support.example\r\n"
        "Subject: Re: 订单问题\r\n"
        "Message-ID: <second@customer.example>\r\n"
        f"In-Reply-To: {long_id}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nAny news?\r\n"
    )

    state = _take_in(desk, reply.encode())

    [ticket] = state["tickets"]
    assert [m["text"] for m in ticket["messages"]] == ["Hello", "Any news?"]
