"""Outbound MIME: headers parse back as written, threading works, users cannot add headers.

Every test parses the composed bytes back with the standard library's modern parser, the
way a receiving mail client would, and looks at the header set and values it finds.
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import acknowledgement_mail
from helpdesk.mail.compose import (
    MAX_REFERENCES,
    OutboundMail,
    compose,
    make_message_id,
    safe_header_text,
    subject_with_token,
    valid_address,
)

DOMAIN = "support.example"
KEY = b"test-signing-key"
WHEN = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
WORD_JOINER = "\u2060"

ACKNOWLEDGEMENT = acknowledgement_mail(
    ticket="HD-7K3M9Q",
    to=("lena@customer.example",),
    subject="[#HD-7K3M9Q] We received your request: Printer jams",
    text="Hello Lena,\n\nwe received your request.\n",
    html="<p>Hello Lena,</p><p>we received your request.</p>",
    reply_to="support+HD-7K3M9Q@support.example",
    in_reply_to="CAF1234.5678@mail.customer.example",
)
AGENT_REPLY = dataclasses.replace(
    ACKNOWLEDGEMENT,
    kind="reply",
    sender_name="Max via Example Support",
    subject="Re: [#HD-7K3M9Q] Printer jams",
    text="Please switch it off and on again.\n",
    html=None,
    automatic=False,
)
SINGLE_PART_HEADERS = {
    "From", "To", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "X-Helpdesk-Kind", "X-Helpdesk-Ticket", "Auto-Submitted", "X-Auto-Response-Suppress",
    "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}  # fmt: skip


def composed(mail: OutboundMail, date: datetime = WHEN) -> bytes:
    return compose(mail, domain=DOMAIN, date=date, message_id_key=KEY)


def parsed(mail: OutboundMail) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(composed(mail))


def header_names(message: EmailMessage) -> set[str]:
    return set(message.keys())


def plain_text_of(mail: OutboundMail) -> str:
    message = parsed(mail)
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.is_attachment():
            return body_text(part)
    raise AssertionError("no text/plain part")


def body_text(part: EmailMessage) -> str:
    """The decoded text with the wire's CRLF (RFC 2045 canonical form) read as newlines."""
    return cast(str, part.get_content()).replace("\r\n", "\n")


# What a mail client sees


def test_the_composed_mail_uses_crlf_line_ends_only() -> None:
    raw = composed(ACKNOWLEDGEMENT)

    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")


def test_a_non_ascii_display_name_is_encoded_in_the_header_and_reads_back_intact() -> None:
    mail = dataclasses.replace(AGENT_REPLY, sender_name="李娜 via Поддержка Example")

    raw_header_block = composed(mail).split(b"\r\n\r\n", 1)[0]
    sender = parsed(mail)["From"]

    assert raw_header_block.isascii()
    assert b"=?utf-8?" in raw_header_block
    assert sender.addresses[0].display_name == "李娜 via Поддержка Example"
    assert sender.addresses[0].addr_spec == "support@support.example"


def test_a_display_name_with_quotes_and_commas_stays_one_sender() -> None:
    mail = dataclasses.replace(AGENT_REPLY, sender_name='Lena "Boss", <boss@evil.example>')

    sender = parsed(mail)["From"]

    assert len(sender.addresses) == 1
    assert sender.addresses[0].addr_spec == "support@support.example"
    assert sender.addresses[0].display_name == 'Lena "Boss", <boss@evil.example>'


def test_an_acknowledgement_carries_all_its_headers_and_nothing_else() -> None:
    message = parsed(dataclasses.replace(ACKNOWLEDGEMENT, html=None))

    assert header_names(message) == SINGLE_PART_HEADERS
    assert message["To"] == "lena@customer.example"
    assert message["Reply-To"] == "support+HD-7K3M9Q@support.example"
    assert message["Subject"] == "[#HD-7K3M9Q] We received your request: Printer jams"
    assert message["Date"] == "Mon, 23 Nov 2026 11:30:00 +0000"
    assert message["X-Helpdesk-Kind"] == "acknowledgement"
    assert message["X-Helpdesk-Ticket"] == "HD-7K3M9Q"
    assert message["MIME-Version"] == "1.0"


def test_the_date_header_keeps_the_offset_of_the_given_time() -> None:
    berlin_noon = datetime(2026, 11, 23, 12, 30, tzinfo=ZoneInfo("Europe/Berlin"))

    message = BytesParser(policy=policy.default).parsebytes(composed(ACKNOWLEDGEMENT, berlin_noon))

    assert message["Date"] == "Mon, 23 Nov 2026 12:30:00 +0100"


def test_a_time_without_zone_is_refused_as_the_date() -> None:
    with pytest.raises(ValueError, match="time zone"):
        composed(ACKNOWLEDGEMENT, datetime(2026, 11, 23, 12, 30))


def test_cc_recipients_get_a_cc_header() -> None:
    mail = dataclasses.replace(ACKNOWLEDGEMENT, cc=("boss@customer.example", "it@customer.example"))

    message = parsed(mail)

    assert [a.addr_spec for a in message["Cc"].addresses] == [
        "boss@customer.example",
        "it@customer.example",
    ]


def test_a_mail_with_html_is_multipart_alternative_with_text_first() -> None:
    message = parsed(ACKNOWLEDGEMENT)

    assert message.get_content_type() == "multipart/alternative"
    parts = [cast(EmailMessage, part) for part in message.iter_parts()]
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert body_text(parts[1]) == "<p>Hello Lena,</p><p>we received your request.</p>\n"


def test_only_the_top_level_declares_the_mime_version() -> None:
    raw = composed(
        dataclasses.replace(ACKNOWLEDGEMENT, attachments=(("a.txt", "text/plain", b"x"),))
    )

    assert raw.count(b"MIME-Version:") == 1


def test_chinese_and_russian_bodies_arrive_unchanged_in_a_seven_bit_message() -> None:
    text = "您好，我们已收到您的请求。\nЗдравствуйте! Мы получили ваше обращение.\n"
    mail = dataclasses.replace(ACKNOWLEDGEMENT, text=text, html=None)

    assert composed(mail).isascii()
    assert plain_text_of(mail) == text


def test_attachments_make_the_mail_multipart_mixed_with_the_files_after_the_bodies() -> None:
    mail = dataclasses.replace(
        ACKNOWLEDGEMENT,
        attachments=(
            ("report.pdf", "application/pdf", b"%PDF-1.7 fake"),
            ("отчёт за ноябрь.csv", "text/csv", b"a,b\n1,2\n"),
        ),
    )

    message = parsed(mail)
    parts = [cast(EmailMessage, part) for part in message.iter_parts()]

    assert message.get_content_type() == "multipart/mixed"
    assert [part.get_content_type() for part in parts] == [
        "multipart/alternative",
        "application/pdf",
        "text/csv",
    ]
    assert [part.get_filename() for part in parts[1:]] == ["report.pdf", "отчёт за ноябрь.csv"]
    assert parts[1].get_content() == b"%PDF-1.7 fake"


def test_an_attachment_name_cannot_point_into_folders_or_smuggle_a_header() -> None:
    mail = dataclasses.replace(
        ACKNOWLEDGEMENT,
        attachments=(("../../etc/passwd\r\nBcc: evil@evil.example", "text/plain", b"x"),),
    )

    message = parsed(mail)
    attachment = next(part for part in message.walk() if part.is_attachment())

    assert attachment.get_filename() == "passwd Bcc: evil@evil.example"
    assert "Bcc" not in message


def test_an_attachment_with_a_nonsense_or_multipart_type_is_sent_as_opaque_bytes() -> None:
    mail = dataclasses.replace(
        ACKNOWLEDGEMENT,
        attachments=(("a.bin", "text/html; x=\r\ny", b"1"), ("b.eml", "multipart/mixed", b"2")),
    )

    types = [part.get_content_type() for part in parsed(mail).walk() if part.is_attachment()]

    assert types == ["application/octet-stream", "application/octet-stream"]


# RFC 3834 and robots


def test_automatic_mail_says_so_and_asks_exchange_not_to_answer() -> None:
    message = parsed(ACKNOWLEDGEMENT)

    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert "Precedence" not in message


def test_an_acknowledgement_of_a_web_form_is_auto_replied_too() -> None:
    form_acknowledgement = dataclasses.replace(ACKNOWLEDGEMENT, in_reply_to=None)

    assert parsed(form_acknowledgement)["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize("kind", ["warning", "escalation", "survey", "alert", "assignment"])
def test_mail_the_help_desk_sends_on_its_own_is_auto_generated(kind: str) -> None:
    message = parsed(dataclasses.replace(ACKNOWLEDGEMENT, kind=kind))

    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_automatic_mail_that_answers_nothing_is_auto_generated() -> None:
    report = dataclasses.replace(
        ACKNOWLEDGEMENT, kind="report", ticket=None, in_reply_to=None, reply_to=None
    )

    message = parsed(report)

    assert message["Auto-Submitted"] == "auto-generated"
    assert "X-Helpdesk-Ticket" not in message
    assert message["Message-ID"].startswith("<hd.x.report.")


def test_a_relayed_agent_reply_is_not_marked_automatic() -> None:
    message = parsed(AGENT_REPLY)

    assert "Auto-Submitted" not in message
    assert "X-Auto-Response-Suppress" not in message
    assert message["From"].addresses[0].display_name == "Max via Example Support"


# Message-IDs and threading


def test_message_ids_are_deterministic_and_shaped_for_the_echo_check() -> None:
    first = make_message_id("HD-7K3M9Q", "reply", "event-42", "support.example", secret=KEY)
    again = make_message_id("HD-7K3M9Q", "reply", "event-42", "support.example", secret=KEY)
    other = make_message_id("HD-7K3M9Q", "reply", "event-43", "support.example", secret=KEY)

    assert first == again
    assert first != other
    assert first.startswith("hd.hd-7k3m9q.reply.")
    assert first.endswith("@support.example")
    report = make_message_id(None, "report", "2026-11", "support.example", secret=KEY)
    assert report.startswith("hd.x.report.")


def test_a_message_id_cannot_be_computed_from_the_reference_without_the_key() -> None:
    # What the unkeyed scheme gave: sha256 of the cause, known from the reference alone.
    import hashlib

    ours = make_message_id("HD-7K3M9Q", "acknowledgement", "first", DOMAIN, secret=KEY)
    guessed = hashlib.sha256(b"first").hexdigest()[:16]
    other_desk = make_message_id(
        "HD-7K3M9Q", "acknowledgement", "first", DOMAIN, secret=b"another desk's key"
    )

    assert ours.split(".")[3].split("@")[0] != guessed
    assert ours != other_desk


def test_a_message_id_is_never_made_without_a_key() -> None:
    with pytest.raises(ValueError, match="key"):
        make_message_id("HD-7K3M9Q", "reply", "event-42", DOMAIN, secret=b"")
    with pytest.raises(ValueError, match="Message-ID"):
        compose(ACKNOWLEDGEMENT, domain=DOMAIN, date=datetime(2026, 11, 23, tzinfo=UTC))


@pytest.mark.parametrize(
    ("ticket", "kind", "domain"),
    [
        ("HD 7K3M9Q", "reply", "support.example"),
        ("HD-7K3M9Q", "re>ply", "support.example"),
        ("HD-7K3M9Q", "reply", "localhost"),
        ("HD-7K3M9Q", "reply", "support.example>\r\nBcc: x"),
    ],
)
def test_message_ids_refuse_parts_that_would_break_the_msg_id_syntax(
    ticket: str, kind: str, domain: str
) -> None:
    with pytest.raises(ValueError):
        make_message_id(ticket, kind, "key", domain, secret=KEY)


def test_a_retried_send_of_the_same_mail_carries_the_same_message_id() -> None:
    first = parsed(ACKNOWLEDGEMENT)["Message-ID"]
    retried = BytesParser(policy=policy.default).parsebytes(
        composed(ACKNOWLEDGEMENT, datetime(2026, 11, 23, 11, 35, tzinfo=UTC))
    )["Message-ID"]

    assert first == retried
    assert first.startswith("<hd.hd-7k3m9q.acknowledgement.")
    assert first.endswith("@support.example>")


def test_a_given_message_id_is_used_as_it_is() -> None:
    mail = dataclasses.replace(ACKNOWLEDGEMENT, message_id="hd.hd-7k3m9q.reply.1@support.example")

    assert parsed(mail)["Message-ID"] == "<hd.hd-7k3m9q.reply.1@support.example>"


def test_an_invalid_given_message_id_is_refused() -> None:
    mail = dataclasses.replace(ACKNOWLEDGEMENT, message_id="x@y>\r\nBcc: evil@evil.example")

    with pytest.raises(ValueError, match="Message-ID"):
        composed(mail)


def test_a_reply_threads_under_the_customer_mail() -> None:
    mail = dataclasses.replace(
        ACKNOWLEDGEMENT,
        in_reply_to="second@mail.customer.example",
        references=("first@mail.customer.example", "hd.hd-7k3m9q.ack.1@support.example"),
    )

    message = parsed(mail)

    assert message["In-Reply-To"] == "<second@mail.customer.example>"
    assert message["References"].split() == [
        "<first@mail.customer.example>",
        "<hd.hd-7k3m9q.ack.1@support.example>",
        "<second@mail.customer.example>",
    ]


def test_the_parent_stays_last_in_references_even_when_listed_before() -> None:
    mail = dataclasses.replace(
        ACKNOWLEDGEMENT,
        in_reply_to="parent@x.example",
        references=("root@x.example", "parent@x.example", "sibling@x.example"),
    )

    assert parsed(mail)["References"].split() == [
        "<root@x.example>",
        "<sibling@x.example>",
        "<parent@x.example>",
    ]


def test_long_message_ids_are_folded_between_ids_and_never_encoded() -> None:
    long_ids = tuple(f"CAF{n:040d}.outlook-style-identifier@eu.prod.outlook.com" for n in range(3))
    mail = dataclasses.replace(ACKNOWLEDGEMENT, in_reply_to=long_ids[-1], references=long_ids)

    raw_header_block = composed(mail).split(b"\r\n\r\n", 1)[0].decode()
    message = parsed(mail)

    assert "=?" not in raw_header_block
    assert message["References"].split() == [f"<{i}>" for i in long_ids]
    assert message["In-Reply-To"] == f"<{long_ids[-1]}>"


def test_references_keep_the_thread_root_and_the_latest_ids_only() -> None:
    chain = tuple(f"m{n}@mail.customer.example" for n in range(50))
    mail = dataclasses.replace(ACKNOWLEDGEMENT, in_reply_to=chain[-1], references=chain[:-1])

    references = parsed(mail)["References"].split()

    assert len(references) == MAX_REFERENCES
    assert references[0] == "<m0@mail.customer.example>"
    assert references[1:] == [f"<m{n}@mail.customer.example>" for n in range(31, 50)]


def test_malformed_message_ids_from_inbound_mail_are_left_out_not_fatal() -> None:
    mail = dataclasses.replace(
        ACKNOWLEDGEMENT,
        in_reply_to="abc@x\r\nBcc: evil@evil.example",
        references=("no-at-sign", "=?utf-8?q?=0D=0A?=@x.example", "good@x.example"),
    )

    message = parsed(mail)

    assert "In-Reply-To" not in message
    assert message["References"] == "<good@x.example>"
    assert "Bcc" not in message


# Addresses


def test_an_invalid_recipient_is_refused_so_the_caller_can_decide() -> None:
    mail = dataclasses.replace(ACKNOWLEDGEMENT, to=("lena@customer.example", "not an address"))

    with pytest.raises(ValueError, match="recipient"):
        composed(mail)


@pytest.mark.parametrize(
    "field", [{"sender": "support"}, {"reply_to": "a@b"}, {"cc": ("x@y.example\nBcc: z",)}]
)
def test_invalid_sender_reply_to_and_cc_addresses_are_refused(field: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="address"):
        composed(dataclasses.replace(ACKNOWLEDGEMENT, **field))


def test_a_mail_without_recipients_is_refused() -> None:
    with pytest.raises(ValueError, match="recipient"):
        composed(dataclasses.replace(ACKNOWLEDGEMENT, to=()))


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        composed(dataclasses.replace(ACKNOWLEDGEMENT, kind="newsletter\r\nBcc: x"))


@pytest.mark.parametrize(
    "address",
    [
        "lena@customer.example",
        "lena.schmidt+tickets@mail.customer.example",
        "o'brien@customer.co.uk",
        "support+HD-7K3M9Q@support.example",
        "x@xn--e1afmkfd.xn--p1ai",
    ],
)
def test_ordinary_addresses_are_valid(address: str) -> None:
    assert valid_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "lena",
        "Lena <lena@customer.example>",
        "lena@customer",
        "lena@@customer.example",
        "le na@customer.example",
        '"lena"@customer.example',
        "lena.@customer.example",
        "le..na@customer.example",
        "lena@-customer.example",
        "lena@customer.example.",
        "lena@[192.0.2.1]",
        "lena@192.0.2.1",
        "lena@customer.example\r\nBcc: evil@evil.example",
        "lena@customer.example\x00",
        "léna@customer.example",
        "=?utf-8?q?=0D=0ABcc:_x?=@customer.example",
        "lena@customer.example,evil@evil.example",
        "(comment)lena@customer.example",
        "a" * 65 + "@customer.example",
        "lena@" + "a" * 64 + ".example",
        "lena@" + ".".join(["a" * 60] * 5) + ".example",
    ],
)
def test_anything_but_a_plain_addr_spec_is_invalid(address: str) -> None:
    assert not valid_address(address)


# Header injection


HOSTILE_TEXTS = [
    "Printer\r\nBcc: evil@evil.example",
    "Printer\nBcc: evil@evil.example",
    "Printer\rBcc: evil@evil.example",
    "Printer\x00\r\n\r\nfake body",
    "Printer\u2028Bcc: evil@evil.example",
    "Printer\x85Bcc: evil@evil.example",
    "=?utf-8?q?x=0D=0ABcc:_evil@evil.example?=",
    "=?utf-8?b?" + base64.b64encode(b"x\r\nBcc: evil@evil.example").decode() + "?=",
    "Lena =?UTF-8?Q?=0A?=Bcc: evil@evil.example",
]


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS)
def test_a_hostile_subject_never_becomes_a_header(hostile: str) -> None:
    message = parsed(dataclasses.replace(ACKNOWLEDGEMENT, subject=hostile, html=None))

    assert header_names(message) == SINGLE_PART_HEADERS
    assert "\r" not in message["Subject"]
    assert "\n" not in message["Subject"]
    assert "evil" not in message["To"]


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS)
def test_a_hostile_display_name_never_becomes_a_header(hostile: str) -> None:
    message = parsed(dataclasses.replace(ACKNOWLEDGEMENT, sender_name=hostile, html=None))

    assert header_names(message) == SINGLE_PART_HEADERS
    assert [a.addr_spec for a in message["From"].addresses] == ["support@support.example"]
    assert "\n" not in message["From"].addresses[0].display_name


def test_an_encoded_word_in_a_subject_arrives_as_the_literal_text_the_user_typed() -> None:
    smuggled = "=?utf-8?q?x=0D=0ABcc:_evil@evil.example?="

    message = parsed(dataclasses.replace(ACKNOWLEDGEMENT, subject=smuggled))

    assert message["Subject"].replace(WORD_JOINER, "") == smuggled


def test_an_encoded_word_in_a_display_name_arrives_as_the_literal_text() -> None:
    smuggled = "=?utf-8?q?x=0D=0ABcc:_evil@evil.example?="

    message = parsed(dataclasses.replace(ACKNOWLEDGEMENT, sender_name=smuggled))

    assert message["From"].addresses[0].display_name.replace(WORD_JOINER, "") == smuggled


@settings(max_examples=150, deadline=None)
@given(subject=st.text(max_size=120), sender_name=st.text(max_size=60))
def test_no_subject_or_display_name_whatsoever_changes_the_header_set(
    subject: str, sender_name: str
) -> None:
    mail = dataclasses.replace(ACKNOWLEDGEMENT, subject=subject, sender_name=sender_name, html=None)

    message = parsed(mail)

    assert header_names(message) == SINGLE_PART_HEADERS
    assert message["From"].addresses[0].addr_spec == "support@support.example"
    assert [a.addr_spec for a in message["To"].addresses] == ["lena@customer.example"]


# safe_header_text


def test_safe_header_text_turns_line_breaks_and_controls_into_single_spaces() -> None:
    assert safe_header_text("Printer\r\n\tjams\x00 again\x1b[31m  !") == "Printer jams again [31m !"


def test_safe_header_text_keeps_chinese_russian_and_emoji() -> None:
    assert safe_header_text("  打印机 卡纸 — принтер 🖨️  ") == "打印机 卡纸 — принтер 🖨️"


def test_safe_header_text_cuts_long_text_and_says_so() -> None:
    cut = safe_header_text("word " * 100, max_len=20)

    assert len(cut) <= 20
    assert cut.endswith("…")


def test_safe_header_text_defuses_encoded_word_openers_invisibly() -> None:
    safe = safe_header_text("=?utf-8?q?hi?=")

    assert "=?" not in safe
    assert safe.replace(WORD_JOINER, "") == "=?utf-8?q?hi?="


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_safe_header_text_output_has_no_line_breaks_and_is_stable(value: str) -> None:
    safe = safe_header_text(value)

    assert len(safe.splitlines()) <= 1
    assert "\x00" not in safe
    assert "=?" not in safe
    assert safe == safe.strip()
    assert safe_header_text(safe) == safe


# The fields written as given are the ones the library would write

_ADDRESSES = st.sampled_from(
    [
        "lena@customer.example",
        "support+hd-7k3m9q@support.example",
        "a.very.long.local.part.indeed.of.someone@mail.subdomain.customer.example",
        "x@xn--80ak6aa92e.example",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    sender_name=st.one_of(
        st.sampled_from(["", "Example Support", "O'Brien Help", "Support, Inc.", "Dr. Who"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=70),
        st.text(max_size=20),
    ),
    to=st.lists(_ADDRESSES, min_size=1, max_size=4, unique=True),
    cc=st.lists(_ADDRESSES, max_size=2, unique=True),
    reply_to=st.one_of(st.none(), _ADDRESSES),
    ticket=st.one_of(st.none(), st.sampled_from(["HD-7K3M9Q", "HD-A"])),
    automatic=st.booleans(),
    offset_minutes=st.integers(min_value=-720, max_value=840),
    message_id=st.one_of(st.none(), st.just("m" * 70 + "@support.example")),
    subject=st.one_of(
        st.sampled_from(["[#HD-7K3M9Q] We received your request: Printer jams", "a " * 40]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=90),
        st.text(max_size=30),
    ),
)
def test_the_fields_written_as_given_are_byte_for_byte_what_the_library_writes(
    sender_name: str,
    to: list[str],
    cc: list[str],
    reply_to: str | None,
    ticket: str | None,
    automatic: bool,
    offset_minutes: int,
    message_id: str | None,
    subject: str,
) -> None:
    """compose writes a plain field (ASCII words on one line) itself instead of through
    the library's header model; the bytes must be the ones the library writes for it."""
    import random
    from datetime import timedelta, timezone
    from unittest import mock

    import helpdesk.mail.compose as composing

    mail = dataclasses.replace(
        ACKNOWLEDGEMENT,
        sender_name=sender_name,
        to=tuple(to),
        cc=tuple(cc),
        reply_to=reply_to,
        ticket=ticket,
        automatic=automatic,
        message_id=message_id,
        subject=subject,
    )
    date = datetime(2026, 11, 23, 8, 5, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    random.seed(1)  # the same multipart boundary both times
    ours = composed(mail, date)
    with mock.patch.object(composing, "_plain", lambda name, text: None):
        random.seed(1)
        the_librarys = composed(mail, date)

    assert ours == the_librarys


_BODY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="ab \n\r\u00e9\u4e2d\u2028=.", max_size=300),
    st.sampled_from(["", "a" * 78, "a" * 79, "Hello,\n\nthanks.\n", "From me\n.\n"]),
)


@settings(max_examples=300, deadline=None)
@given(text=_BODY_TEXT, html=st.one_of(st.none(), _BODY_TEXT))
def test_the_body_written_without_the_librarys_parts_is_byte_for_byte_what_the_library_writes(
    text: str, html: str | None
) -> None:
    """compose writes the MIME fields and text parts of a mail without attachments itself;
    the bytes must be those the library's set_content, add_alternative and as_bytes write
    (the transfer encoding it chooses, its line ends, its multipart layout)."""
    import random
    from unittest import mock

    import helpdesk.mail.compose as composing

    mail = dataclasses.replace(ACKNOWLEDGEMENT, text=text, html=html)
    random.seed(2)
    ours = composed(mail)
    with mock.patch.object(composing, "_with_body", composing._with_body_by_library):
        random.seed(2)
        the_librarys = composed(mail)

    assert ours == the_librarys


# Lines around the soft-break boundaries (76-80 octets and twice that), "=" where a break
# falls, trailing blanks, and the octets of non-ASCII text, sparse and dense.
_QP_LINE = st.one_of(
    st.text(alphabet="ab =\t.", min_size=70, max_size=170),
    st.text(alphabet="a=", max_size=160),
    st.text(alphabet="ab \u00e9\u00b7\u4e2d\u0436\x01\x7f=\t", max_size=200),
    st.text(max_size=100),
).map(lambda line: line.encode("utf-8"))


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(_QP_LINE, min_size=1, max_size=14))
def test_quoted_printable_lines_are_byte_for_byte_the_librarys_encoder(
    lines: list[bytes],
) -> None:
    """compose quotes a text part itself (a table lookup only where one is needed); the
    text must be what email.quoprimime.body_encode writes for the same lines, as the
    library's set_content calls it (line length 78)."""
    from email import quoprimime

    import helpdesk.mail.compose as composing

    lines = [piece for line in lines for piece in line.splitlines() or [b""]]
    the_librarys = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), 78)

    assert composing._quoted_printable(lines) == the_librarys


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(), max_size=60).filter(str.isprintable))
def test_a_printable_text_holds_no_character_safe_header_text_blanks(text: str) -> None:
    """safe_header_text looks at each character only in a text that is not printable; in
    a printable one there is none of the categories it turns into spaces."""
    import unicodedata

    assert not {unicodedata.category(char) for char in text} & {"Cc", "Cs", "Zl", "Zp"}


def test_a_text_holding_the_boundary_the_desk_would_draw_gets_another_and_reads_back() -> None:
    import random
    import sys

    random.seed(5)
    first_draw = f"{'=' * 15}{random.randrange(sys.maxsize):0{len(repr(sys.maxsize - 1))}d}=="
    mail = dataclasses.replace(ACKNOWLEDGEMENT, text=f"before\n--{first_draw}\nafter\n")
    random.seed(5)

    message = parsed(mail)

    assert message.get_boundary() != first_draw
    plain, html = message.iter_parts()
    assert body_text(cast(EmailMessage, plain)) == mail.text
    assert "Hello Lena" in body_text(cast(EmailMessage, html))


# Subject tokens


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer jams", "[#HD-7K3M9Q] Printer jams"),
        ("", "[#HD-7K3M9Q]"),
        ("Re: Printer jams", "Re: [#HD-7K3M9Q] Printer jams"),
        ("RE: AW: Re: Printer jams", "Re: [#HD-7K3M9Q] Printer jams"),
        ("Ответ: Re: Принтер", "Re: [#HD-7K3M9Q] Принтер"),
        ("回复：打印机卡纸", "Re: [#HD-7K3M9Q] 打印机卡纸"),
        ("回复: 打印机卡纸", "Re: [#HD-7K3M9Q] 打印机卡纸"),
        ("RE : Imprimante", "Re: [#HD-7K3M9Q] Imprimante"),
        ("Re[2]: Printer jams", "Re: [#HD-7K3M9Q] Printer jams"),
        ("Re: [#HD-7K3M9Q] Printer jams", "Re: [#HD-7K3M9Q] Printer jams"),
        ("Re: Re: [#HD-7K3M9Q] Printer jams", "Re: [#HD-7K3M9Q] Printer jams"),
        ("[#hd-7k3m9q] Printer jams", "[#hd-7k3m9q] Printer jams"),
        ("Printer jams [#HD-7K3M9Q]", "Printer jams [#HD-7K3M9Q]"),
        ("Fwd: Printer jams", "[#HD-7K3M9Q] Fwd: Printer jams"),
        ("Reboot needed", "[#HD-7K3M9Q] Reboot needed"),
        ("Re:Printer   jams", "Re: [#HD-7K3M9Q] Printer jams"),
    ],
)
def test_subject_with_token_adds_the_token_once_and_keeps_one_reply_prefix(
    subject: str, expected: str
) -> None:
    assert subject_with_token(subject, "HD-7K3M9Q") == expected


def test_bidirectional_overrides_never_reach_a_header_but_right_to_left_marks_do() -> None:
    # "Invoice \u202egpj.exe" reads "Invoice exe.jpg" in a mail client's list.
    assert safe_header_text("Invoice \u202egpj.exe\u202c") == "Invoice gpj.exe"
    assert safe_header_text("\u2067Anna\u2069 \u2066Schmidt\u2069") == "Anna Schmidt"
    assert safe_header_text("שלום \u200fעולם") == "שלום \u200fעולם"


@settings(max_examples=500, deadline=None)
@given(
    address=st.from_regex(
        r"[A-Za-z0-9_+-]{1,10}(\.[A-Za-z0-9_+-]{1,8}){0,2}@([A-Za-z0-9]([A-Za-z0-9-]{0,6}[A-Za-z0-9])?\.){1,3}[A-Za-z]{2,6}",
        fullmatch=True,
    )
)
def test_an_address_of_letters_digits_dots_and_dashes_reads_back_as_written(address: str) -> None:
    """valid_address takes such an address without asking the library's parser; the
    parser reads every one of them back as it is, with no display name."""
    from email.headerregistry import Address

    parsed = Address(addr_spec=address)

    assert (parsed.addr_spec, parsed.display_name) == (address, "")
    assert valid_address(address) is (len(address.partition("@")[0]) <= 64)
