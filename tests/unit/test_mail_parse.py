"""parse_mail on messages the corpus does not cover: size, depth, and header edge cases."""

from __future__ import annotations

import base64
import tracemalloc
from datetime import UTC, datetime

import pytest

from helpdesk.mail.parse import decode_header_text, parse_mail

MIB = 1024 * 1024


def huge_message(attachment_bytes: int) -> bytes:
    payload = base64.encodebytes(bytes(range(256)) * (attachment_bytes // 256))
    return (
        b"From: Jane <jane@customer.example>\nTo: support@support.example\nSubject: logs\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain; charset=utf-8\n\n" + "Журнал во вложении.\n".encode()
        + b"--B\nContent-Type: application/zip; name=logs.zip\n"
        b"Content-Transfer-Encoding: base64\n\n" + payload + b"--B--\n"
    )  # fmt: skip


def test_a_25_mb_message_parses_with_its_big_attachment_dropped_but_described() -> None:
    raw = huge_message(18 * MIB)
    assert len(raw) > 24 * MIB
    mail = parse_mail(raw)
    assert mail.text == "Журнал во вложении."
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.size) == ("logs.zip", 18 * MIB)
    assert (attachment.dropped, attachment.data) == ("too_large", b"")


def test_parsing_a_big_message_does_not_copy_it_many_times() -> None:
    raw = huge_message(12 * MIB)
    tracemalloc.start()
    try:
        mail = parse_mail(raw, attachment_max_bytes=20 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert mail.attachments[0].size == 12 * MIB
    assert peak < 4 * len(raw)


def test_an_empty_input_is_an_unparsed_empty_mail() -> None:
    mail = parse_mail(b"")
    assert mail.unparsed
    assert (mail.text, mail.subject, mail.attachments) == ("", "", ())


def test_absurdly_deep_multipart_nesting_does_not_raise() -> None:
    depth = 2000
    opening = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (level, level)
        for level in range(depth)
    )
    raw = b"From: a@b.example\nSubject: deep\n" + opening + b"Content-Type: text/plain\n\nbottom\n"
    mail = parse_mail(raw)
    assert isinstance(mail.text, str)


def test_a_text_part_with_a_filename_is_an_attachment_not_the_body() -> None:
    mail = parse_mail(
        b"From: a@b.example\nSubject: x\nContent-Type: multipart/mixed; boundary=z\n\n"
        b"--z\nContent-Type: text/plain\n\nBody.\n"
        b'--z\nContent-Type: text/plain; name="notes.txt"\n\nNot the body.\n--z--\n'
    )
    assert mail.text == "Body."
    assert [a.filename for a in mail.attachments] == ["notes.txt"]


def test_a_cid_referenced_image_outside_related_is_inline() -> None:
    mail = parse_mail(
        b"From: a@b.example\nContent-Type: multipart/mixed; boundary=z\n\n"
        b'--z\nContent-Type: text/html\n\n<img src="cid:pic%40x">\n'
        b"--z\nContent-Type: image/png\nContent-ID: <pic@x>\n\nPNG\n"
        b"--z\nContent-Type: image/png\nContent-ID: <unused@x>\n"
        b"Content-Disposition: attachment\n\nPNG\n--z--\n"
    )
    assert [(a.content_id, a.inline) for a in mail.attachments] == [
        ("pic@x", True),
        ("unused@x", False),
    ]


def test_html_without_a_charset_parameter_uses_its_meta_charset() -> None:
    html = '<html><head><meta charset="windows-1251"></head><body>Привет</body></html>'
    mail = parse_mail(b"From: a@b.example\nContent-Type: text/html\n\n" + html.encode("cp1251"))
    assert mail.text == "Привет"


def test_an_unreadable_date_is_none_and_noted() -> None:
    mail = parse_mail(b"From: a@b.example\nDate: the day after tomorrow\n\nHi\n")
    assert mail.date is None
    assert "Date header could not be read" in mail.defects


def test_a_date_is_timezone_aware() -> None:
    mail = parse_mail(b"From: a@b.example\nDate: Tue, 02 Jan 2024 10:00:00 +0300\n\nHi\n")
    assert mail.date == datetime(2024, 1, 2, 7, 0, tzinfo=UTC)


def test_addresses_keep_the_local_part_and_lower_case_the_domain() -> None:
    mail = parse_mail(
        b'From: "Doe, Jane" <Jane.Doe@Customer.EXAMPLE>\n'
        b"To: =?utf-8?B?0JjQstCw0L0=?= <Ivan@Example.COM>, broken@, <>\n\nHi\n"
    )
    assert mail.sender is not None
    assert (mail.sender.email, mail.sender.name) == ("Jane.Doe@customer.example", "Doe, Jane")
    assert mail.sender.key == "jane.doe@customer.example"
    assert [(a.email, a.name) for a in mail.to] == [("Ivan@example.com", "Иван")]


def test_the_topmost_ses_verdicts_count_and_are_upper_case() -> None:
    mail = parse_mail(
        b"X-SES-Spam-Verdict: gray\nX-SES-Virus-Verdict: PASS\nX-SES-Spam-Verdict: PASS\n"
        b"From: a@b.example\n\nHi\n"
    )
    assert (mail.spam_verdict, mail.virus_verdict) == ("GRAY", "PASS")


def test_headers_are_exposed_decoded_under_lower_case_names_in_order() -> None:
    mail = parse_mail(
        b"From: a@b.example\nX-Note: =?utf-8?Q?caf=C3=A9?=\nReceived: one\nReceived: two\n\nHi\n"
    )
    assert mail.headers["x-note"] == ("café",)
    assert mail.headers["received"] == ("one", "two")


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("=?utf-8?B?4oKs?=", "€"),
        ("=?utf-8?B?4g==?= =?utf-8?B?gqw=?=", "€"),
        ("=?UTF-8*en?Q?Hello_world?=", "Hello world"),
        ("=?gb2312?B?6UY=?=", "镕"),
        ("=?x-unknown?Q?plain?=", "plain"),
        ("a =?utf-8?Q?b?= c", "a b c"),
    ],
)
def test_encoded_words_decode_even_when_clients_bend_rfc_2047(encoded: str, decoded: str) -> None:
    assert decode_header_text(encoded) == decoded


def test_raw_8_bit_header_text_uses_the_given_fallback_charset() -> None:
    raw = "订单".encode("gbk").decode("ascii", "surrogateescape")
    assert decode_header_text(raw, "gbk") == "订单"


def test_an_address_smuggled_in_an_encoded_display_name_does_not_become_the_sender() -> None:
    raw = (
        b"From: =?utf-8?q?Boris=0D=0ABcc:_evil@attacker.example?= <boris@example.com>\r\n"
        b'To: support@support.example, "Doe, Jane" <jane@example.org>\r\n'
        b"Subject: hello\r\n\r\nhi\r\n"
    )
    mail = parse_mail(raw)
    assert mail.sender is not None
    assert mail.sender.email == "boris@example.com"
    assert "\n" not in mail.sender.name and "\r" not in mail.sender.name
    assert [a.email for a in mail.to] == ["support@support.example", "jane@example.org"]


def test_directional_overrides_are_taken_out_of_a_mails_subject_and_names() -> None:
    # A name holding U+202E reverses the address printed after it in the agent's mail
    # (attack 9, F4); encoded words carry it as easily as raw UTF-8.
    raw = (
        "From: =?utf-8?b?" + base64.b64encode("Ann\u202eevil".encode()).decode() + "?= "
        "<ann@example.com>\r\n"
        "To: support@support.example\r\n"
        "Subject: =?utf-8?q?Refund_=E2=80=AE0001$?=\r\n"
        "Message-ID: <bidi-1@example.com>\r\n\r\nHello\r\n"
    ).encode()

    mail = parse_mail(raw)

    assert mail.sender is not None and mail.sender.name == "Annevil"
    assert mail.subject == "Refund 0001$"
