"""Long subjects in every language the desk speaks survive header folding byte for byte.

A subject longer than a header line is folded (RFC 5322 §2.2.3) and, when it is not ASCII,
written as RFC 2047 encoded-words. RFC 2047 §6.2: whitespace between two adjacent
encoded-words is ignored when they are decoded, so a space of the text that falls between
two of them is lost ("прошла по" read back as "прошлапо"). Each subject below is put into an
acknowledgement and a relayed reply by the real notices, composed into bytes, and read back
by three independent readers: the standard library's modern parser (``policy.default``, as
the local outbox and most Python clients read), its older ``email.header`` decoder, and
Perl's ``Encode::MIME::Header`` (skipped where Perl is not installed).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fakes
from fakes import CONFIG
from helpdesk import events
from helpdesk.mail.compose import OutboundMail, compose, safe_header_text
from helpdesk.model import Message
from helpdesk.notices import handle

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KEY = b"subject-folding-test-key"

# What customers write, long enough to fold more than once; the first two are the issue's.
LONG_SUBJECTS = {
    "ru": "Оплата не прошла по заказу 12345, деньги списаны дважды, а заказ так и не оформлен",
    "zh": "API 接口 返回 500 错误，订单 12345 无法支付，请尽快帮我们看看 API 接口 的问题",
    "en": "The invoice for order 12345 lists the blue kettle twice and the shipping fee that "
    "you promised to waive when we spoke on the phone last Tuesday afternoon",
    "mixed": "Re: 订单 12345 — Оплата не прошла, the API 接口 says “card declined” again 😟 "
    "Оплата не прошла по заказу",
}
LANGUAGE_OF = {"ru": "ru", "zh": "zh", "en": "en", "mixed": "zh"}

_FOLD = re.compile(r"\r\n(?=[ \t])")
_PERL = shutil.which("perl")
_PERL_DECODE = 'local $/; print encode("UTF-8", decode("MIME-Header", <STDIN>))'


def raw_subject(raw: bytes) -> str:
    """The Subject field's body as it is on the wire, unfolded (RFC 5322 §2.2.3)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(r"^Subject: ?(.*?)\r\n(?![ \t])", head + "\r\n", re.MULTILINE | re.DOTALL)
    assert match is not None, head
    return _FOLD.sub("", match.group(1))


def modern_reader(raw: bytes) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(raw)["Subject"])


def legacy_reader(raw: bytes) -> str:
    return str(make_header(decode_header(raw_subject(raw))))


def perl_reader(raw: bytes) -> str:
    assert _PERL is not None
    decoded = subprocess.run(
        [_PERL, "-MEncode", "-e", _PERL_DECODE],
        input=raw_subject(raw).encode("ascii"),
        capture_output=True,
        check=True,
        timeout=30,
    )
    return decoded.stdout.decode("utf-8")


READERS = [
    pytest.param(modern_reader, id="python-policy-default"),
    pytest.param(legacy_reader, id="python-email-header"),
    pytest.param(
        perl_reader,
        id="perl-encode-mime-header",
        marks=pytest.mark.skipif(_PERL is None, reason="perl is not installed"),
    ),
]


def composed(mail: OutboundMail) -> bytes:
    return compose(mail, domain="support.example", date=NOW, message_id_key=KEY)


def desk_mails(subject: str, language: str) -> list[OutboundMail]:
    """The acknowledgement of a ticket with ``subject`` and an agent's reply on it, as the
    notices build them."""
    uow = fakes.FakeUnitOfWork(CONFIG)
    notifier = fakes.fake_notifier(fakes.FakeRecords(uow), CONFIG)
    ticket = fakes.ticket(
        ref="HD-AAAAAA", subject=subject, language=language, assignee="lena@support.example"
    )
    uow.add(ticket)
    uow.conversation[ticket.ref] = [
        Message(
            id="m-1", ticket=ticket.ref, direction="in", author=ticket.contact_email,
            at=NOW, text="…", message_id="first@mail.example",
        ),
        Message(
            id="m-2", ticket=ticket.ref, direction="out", author="lena@support.example",
            at=NOW, text="It ships today.",
        ),
    ]  # fmt: skip
    opened = events.parse(
        "TicketOpened",
        {
            "ref": ticket.ref, "subject": subject, "status": "new", "priority": "normal",
            "team": "general", "category": None, "language": language, "channel": "email",
            "tier": "standard", "policy": "standard",
            "contact": {"email": ticket.contact_email, "name": ticket.contact_name},
            "created_at": NOW.isoformat(), "sla": {}, "flags": [], "notify": True,
            "message": {"message_id": "first@mail.example"},
        },
    )  # fmt: skip
    replied = events.parse(
        "AgentReplied",
        {"ref": ticket.ref, "from": "lena@support.example", "message": "m-2", "text": "x"},
    )
    for event in (opened, replied):
        assert event is not None
        handle(event, notifier, now=NOW)
    mails = notifier.mails()
    assert sorted(mail.kind for mail in mails) == ["acknowledgement", "reply"]
    return mails


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("name", sorted(LONG_SUBJECTS))
def test_a_long_subject_reads_back_byte_for_byte_in_the_acknowledgement_and_the_reply(
    name: str, reader: object
) -> None:
    subject = LONG_SUBJECTS[name]
    for mail in desk_mails(subject, LANGUAGE_OF[name]):
        raw = composed(mail)
        assert max(len(line) for line in raw.split(b"\r\n")) <= 78  # RFC 5322 §2.1.1
        read = reader(raw)  # type: ignore[operator]
        assert read == mail.subject, mail.kind
        assert subject in read, mail.kind


# Pieces a subject is made of: words and signs in the desk's languages, spaces of several
# kinds, an emoji (4 bytes in UTF-8) and the marks that open and close an encoded-word.
SUBJECT_PIECES = [
    "a", "Order", "12345", " ", " ", "  ", ".", ",", ":", "!", "?", "-", "[#HD-7K3M9Q]", "\"",
    "Оплата", "не", "прошла", "по", "заказу", "ё", "接口", "返回", "错误", "，", "。", "😟",
    "\u00a0", "\u3000", "\t", "=?", "?=", "=?utf-8?b?0J7Qvw==?=", "_", "=",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SUBJECT_PIECES), min_size=1, max_size=120).map("".join))
# Found by the search: ASCII without a space, longer than a line after "Subject: ", was
# folded before its first character and read back with a space in front.
@example("[#HD-7K3M9Q]" * 6)
@example("x" * 90)
def test_any_subject_composes_into_a_header_that_reads_back_as_written(subject: str) -> None:
    mail = fakes.acknowledgement_mail(subject=subject)
    raw = composed(mail)
    expected = safe_header_text(subject, max_len=250)
    assert modern_reader(raw) == expected
    assert legacy_reader(raw) == expected
