"""Whatever bytes arrive, parsing and classification return a ParsedMail and never raise."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.mail.parse import ParsedMail, parse_mail
from helpdesk.mail.robots import is_spoofed, robot_reason

CORPUS = sorted((Path(__file__).resolve().parents[1] / "data" / "mail").glob("*.eml"))
CORPUS_BYTES = [path.read_bytes() for path in CORPUS]

Mutation = tuple[str, float, bytes]

mutations = st.lists(
    st.tuples(
        st.sampled_from(["flip", "truncate", "insert", "delete"]),
        st.floats(min_value=0, max_value=1, allow_nan=False),
        st.binary(min_size=1, max_size=12)
        | st.sampled_from([b"\r\n", b"\n\n", b"--", b"=?", b"?=", b"\x00", b":", b";", b'"']),
    ),
    min_size=1,
    max_size=6,
)


def mutate(raw: bytes, operations: list[Mutation]) -> bytes:
    data = bytearray(raw)
    for operation, where, chunk in operations:
        position = int(where * len(data))
        if operation == "flip" and data:
            data[min(position, len(data) - 1)] ^= chunk[0] or 0xFF
        elif operation == "truncate":
            del data[position:]
        elif operation == "insert":
            data[position:position] = chunk
        else:
            del data[position : position + len(chunk)]
    return bytes(data)


def assert_usable(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    assert isinstance(mail.subject, str)
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert isinstance(mail.text, str)
    assert isinstance(mail.full_text, str)
    assert robot_reason(mail, own_domain="support.example") in (
        None, "auto_reply", "bounce", "list", "echo",
    )  # fmt: skip
    assert is_spoofed(mail, own_domain="support.example", agent_emails=["a@support.example"]) in (
        True,
        False,
    )
    for attachment in mail.attachments:
        assert attachment.filename
        assert len(attachment.filename) <= 150
        assert "/" not in attachment.filename and "\\" not in attachment.filename


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=len(CORPUS_BYTES) - 1), operations=mutations)
def test_mutated_corpus_messages_never_break_the_parser(
    index: int, operations: list[Mutation]
) -> None:
    assert_usable(parse_mail(mutate(CORPUS_BYTES[index], operations)))


header_names = st.sampled_from(
    [
        "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
        "References", "Return-Path", "Content-Type", "Content-Transfer-Encoding",
        "Content-Disposition", "Content-ID", "Auto-Submitted", "Precedence", "List-Id",
        "Authentication-Results", "Received-SPF", "X-SES-Spam-Verdict", "X-Weird\x00Name",
    ]
)  # fmt: skip
header_values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "multipart/mixed; boundary=X",
            "multipart/alternative; boundary=X",
            "multipart/report; report-type=delivery-status; boundary=X",
            "message/rfc822",
            "message/delivery-status",
            'text/plain; charset="gb2312"',
            "text/html; charset=x-unknown",
            "base64",
            "quoted-printable",
            "attachment; filename*0*=utf-8''%E4%BD; filename*1*=%A0.txt",
            "=?utf-8?B?broken",
            "=?gb2312?Q?=E9=46?=",
            "<>",
        ]
    ),
)


@st.composite
def mime_messages(draw: st.DrawFn, depth: int = 0) -> bytes:
    lines = [
        f"{draw(header_names)}: {draw(header_values)}"
        for _ in range(draw(st.integers(min_value=0, max_value=6)))
    ]
    head = "\r\n".join(lines).encode("utf-8", "surrogatepass")
    if depth < 2 and draw(st.booleans()):
        children = draw(st.lists(mime_messages(depth + 1), max_size=3))
        body = b"".join(b"--X\r\n" + child + b"\r\n" for child in children) + b"--X--\r\n"
        head += b"\r\nContent-Type: multipart/mixed; boundary=X"
    else:
        body = draw(st.binary(max_size=200))
    return head + b"\r\n\r\n" + body


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mime_messages())
def test_random_mime_never_breaks_the_parser(raw: bytes) -> None:
    assert_usable(parse_mail(raw))


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=2000))
def test_random_bytes_never_break_the_parser(raw: bytes) -> None:
    assert_usable(parse_mail(raw))
