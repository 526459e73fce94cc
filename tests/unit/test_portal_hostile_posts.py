"""Posts to the customer's page built to make its MIME parse expensive (attack 3, F1): each
is answered with a 4xx naming the field before the body reaches the MIME parser, and counts
against the ticket's hourly limit like any post. Ordinary uploads are taken as before."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_portal_on_fakes import FORM, NOW, anna, desk, token

import helpdesk.services.portal as portal
from fakes import CONFIG, FakeMailStore
from helpdesk.errors import InvalidInput, RateLimited, TooLarge, UnsupportedMediaType
from helpdesk.services.portal import PostRefused

BOUNDARY = "----formB"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
Parsed = tuple[dict[str, str], list[tuple[str, str, bytes]]]
FIELDS = {"action": "reply", "submission": "h" * 32, "text": "see the file"}


def form(*file_parts: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in FIELDS.items()
    ]
    return b"".join(parts) + b"".join(file_parts) + f"--{BOUNDARY}--\r\n".encode()


def nested_files_part(inner_parts: int) -> bytes:
    # RFC 7578 section 4.3 deprecates "multipart/mixed" inside a form: the stdlib parser
    # still reads every inner part, whose delimiters the outer count never saw.
    inner = b"".join(b"--X\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(inner_parts))
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"\r\n'
            "Content-Type: multipart/mixed; boundary=X\r\n\r\n"
        ).encode()
        + inner
        + b"--X--\r\n\r\n"
    )


def continued_filename_part(pieces: int) -> bytes:
    # RFC 2231 section 3 continuations: the stdlib's parameter parse is quadratic in them.
    continued = "; ".join(f"filename*{n}=a{n}" for n in range(pieces))
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; {continued}\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n"
    ).encode()


def long_header_part(header_bytes: int) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n'
        f"X-Padding: {'p' * header_bytes}\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    ).encode()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the page handed to its MIME parser (the parse itself still runs)."""
    seen: list[bytes] = []
    real: Callable[[bytes, str], Parsed] = portal._multipart

    def recording(body: bytes, content_type: str) -> Parsed:
        seen.append(body)
        return real(body, content_type)

    monkeypatch.setattr(portal, "_multipart", recording)
    return seen


@pytest.mark.parametrize(
    ("file_part", "status_class", "field"),
    [
        (nested_files_part(3), InvalidInput, "files"),
        (continued_filename_part(9), TooLarge, "files"),
        (continued_filename_part(2000), TooLarge, "files"),
        (long_header_part(5000), TooLarge, "files"),
    ],
    ids=["nested multipart", "RFC 2231 continuations", "many of them", "long part header"],
)
def test_a_hostile_form_part_is_refused_naming_its_field_before_the_mime_parser_sees_it(
    parses: list[bytes], file_part: bytes, status_class: type[InvalidInput], field: str
) -> None:
    uow = anna()

    with pytest.raises(PostRefused) as refused:
        desk(uow).act(token(), form(file_part), CONTENT_TYPE, source_ip="192.0.2.1", now=NOW)

    error = refused.value.problem.error
    assert type(error) is status_class  # 422 / 413: the HTTP edge's status of the class
    assert error.field == field
    assert parses == []  # refused in the raw bytes: the MIME parser never ran
    assert "see the file" not in [m.text for m in uow.conversation["HD-7K3M9Q"]]


def test_a_few_filename_continuations_and_an_ordinary_upload_are_still_taken(
    parses: list[bytes],
) -> None:
    uow = anna()
    store = FakeMailStore()
    upload = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
        'filename="receipt.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n'
    ).encode()

    desk(uow, store).act(
        token(), form(upload, continued_filename_part(3)), CONTENT_TYPE,
        source_ip="192.0.2.1", now=NOW,
    )  # fmt: skip

    [reply] = [m for m in uow.conversation["HD-7K3M9Q"] if m.text == "see the file"]
    assert [(a.filename, a.content_type) for a in reply.attachments] == [
        ("receipt.pdf", "application/pdf"),
        ("a0a1a2", "text/plain"),
    ]
    assert len(parses) == 1


def test_refused_hostile_posts_count_against_the_tickets_hourly_limit() -> None:
    # The per-contact hit is taken before the body is read: posts from many addresses
    # that are all refused still use up the ticket's hour.
    uow = anna()
    page = desk(uow)
    for n in range(CONFIG.portal.actions_per_contact_per_hour):
        with pytest.raises(PostRefused):
            page.act(token(), form(nested_files_part(3)), CONTENT_TYPE,
                     source_ip=f"192.0.2.{n + 1}", now=NOW)  # fmt: skip

    with pytest.raises(RateLimited):
        page.act(token(), b"action=solved&submission=" + b"s" * 32, FORM,
                 source_ip="198.51.100.1", now=NOW)  # fmt: skip
    assert uow.tickets["HD-7K3M9Q"].status == "pending"


def test_a_saved_mail_dragged_onto_the_page_is_refused_saying_what_to_do_instead(
    parses: list[bytes],
) -> None:
    # Browsers send an .eml file as message/rfc822, which the parser would read as a whole
    # message with all its parts: refused unread, as a mail (not "reload the page").
    saved_mail = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="order.eml"\r\n'
        "Content-Type: message/rfc822\r\n\r\nFrom: shop@example.com\r\nSubject: Order\r\n\r\nhi\r\n"
    ).encode()
    uow = anna()

    with pytest.raises(PostRefused) as refused:
        desk(uow).act(token(), form(saved_mail), CONTENT_TYPE, source_ip="192.0.2.1", now=NOW)

    assert refused.value.problem.rule == "file_is_a_mail"
    error = refused.value.problem.error
    assert isinstance(error, InvalidInput)
    assert error.field == "files"
    assert parses == []


# Review re-attack 3, N1: a boundary the pre-parse checks and the parser (policy.HTTP:
# comments dropped, encoded words and quoted-pairs decoded) could read apart hid every part
# from the checks. The page takes only the plain form browsers send (RFC 7578 section 4.1,
# RFC 2046 section 5.1.1): anything else is a 415 naming content-type, unparsed.
@pytest.mark.parametrize(
    "content_type",
    [
        f"multipart/form-data; boundary={BOUNDARY}(c)",
        f'multipart/form-data; boundary="=?utf-8?q?{BOUNDARY}?="',
        f'multipart/form-data; boundary="{BOUNDARY}" (c)',
        f'multipart/form-data; boundary="\\{BOUNDARY}"',
        f"multipart/form-data; boundary*0={BOUNDARY}",
        f"multipart/form-data; boundary*=''{BOUNDARY}",
        f"multipart/form-data; boundary={BOUNDARY}; boundary=X",
        f"multipart/form-data (c); boundary={BOUNDARY}",
        "multipart/form-data",
    ],
)
def test_a_post_whose_boundary_is_not_written_plainly_is_refused_before_it_is_parsed(
    parses: list[bytes], content_type: str
) -> None:
    uow = anna()

    with pytest.raises(PostRefused) as refused:
        desk(uow).act(token(), form(nested_files_part(3)), content_type,
                      source_ip="192.0.2.1", now=NOW)  # fmt: skip

    error = refused.value.problem.error
    assert type(error) is UnsupportedMediaType  # 415
    assert error.field == "content-type"
    assert parses == []
    assert "see the file" not in [m.text for m in uow.conversation["HD-7K3M9Q"]]


@pytest.mark.parametrize(
    "part_type",
    [
        "=?utf-8?q?multipart/mixed?=; boundary*0=X",
        "=?utf-8?q?multipart/mixed?=; boundary=X",
        "(c)multipart/mixed; boundary=X",
        "multipart(c)/mixed; boundary=X",
        '"multipart/mixed"; boundary=X',
        "multipart /mixed; boundary=X",
        "text/plain; boundary*0=X",
        "text/plain; charset*=utf-8''x",
        'text/plain; name="a\\"b"',
    ],
)
def test_a_part_whose_content_type_is_not_a_plain_media_type_is_refused_before_it_is_parsed(
    parses: list[bytes], part_type: str
) -> None:
    inner = b"".join(b"--X\r\n\r\nx\r\n" for _ in range(3)) + b"--X--\r\n"
    part = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n'
            f"Content-Type: {part_type}\r\n\r\n"
        ).encode()
        + inner
        + b"\r\n"
    )
    uow = anna()

    with pytest.raises(PostRefused) as refused:
        desk(uow).act(token(), form(part), CONTENT_TYPE, source_ip="192.0.2.1", now=NOW)

    error = refused.value.problem.error
    assert type(error) is InvalidInput  # 422
    assert error.field == "files"
    assert parses == []


@pytest.mark.parametrize(
    "boundary",
    [
        "----WebKitFormBoundary7MA4YWxkTrZu0gW",  # Chromium, Safari
        "----geckoformboundary3a9f0c1e5b2d4e6f8a0b1c2d3e4f5a6b",  # Firefox 128+
        "---------------------------9051914041544843365972754266",  # older Firefox, curl
        '"----formB"',  # a quoted plain boundary
        "'()+_,-./:?=",  # every RFC 2046 bchar but the space, quoted
    ],
)
def test_a_browsers_upload_with_its_own_boundary_is_taken(
    parses: list[bytes], boundary: str
) -> None:
    bare = boundary.strip('"')
    written = f'"{bare}"' if set(bare) & set("()+,/:=?") else boundary
    fields = [
        f'--{bare}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in FIELDS.items()
    ]
    upload = (
        f'--{bare}\r\nContent-Disposition: form-data; name="files"; filename="receipt.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--{bare}--\r\n"
    )
    uow = anna()

    desk(uow, FakeMailStore()).act(
        token(), ("".join(fields) + upload).encode(),
        f"multipart/form-data; boundary={written}", source_ip="192.0.2.1", now=NOW,
    )  # fmt: skip

    [reply] = [m for m in uow.conversation["HD-7K3M9Q"] if m.text == "see the file"]
    assert [a.filename for a in reply.attachments] == ["receipt.pdf"]
    assert len(parses) == 1


def test_every_boundary_the_page_takes_is_read_alike_by_both_of_the_standard_librarys_parsers() -> (
    None
):
    # The page's checks count with the boundary _form_boundary reads; the parse uses
    # policy.HTTP's. Every pair of characters the page takes, bare and quoted.
    from email import policy
    from email.message import Message
    from email.parser import BytesParser
    from itertools import product

    taken = 0
    for quote, chars in (("", "0aZ'+_.-=?()/:,\\ "), ('"', "0aZ'+_.-=?()/:,\\ ")):
        for pair in product(chars, repeat=2):
            for boundary in ("".join(pair), "x" + "".join(pair) + "y"):
                content_type = f"multipart/form-data; boundary={quote}{boundary}{quote}"
                try:
                    read = portal._form_boundary(content_type)
                except UnsupportedMediaType:
                    continue
                taken += 1
                http = BytesParser(policy=policy.HTTP).parsebytes(
                    f"Content-Type: {content_type}\r\n\r\n".encode()
                )
                compat = Message()
                compat["Content-Type"] = content_type
                assert (http.get_boundary(), compat.get_boundary()) == (read, read), content_type
    assert taken > 500


def test_a_post_refused_unread_keeps_what_the_customer_wrote(parses: list[bytes]) -> None:
    # The page shows her words again in the box, as for any refused post (SECURITY.md:
    # "what was written kept in it"), read plainly from the raw form, never by the parser.
    saved_mail = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="order.eml"\r\n'
        "Content-Type: message/rfc822\r\n\r\nFrom: shop@example.com\r\n\r\nhi\r\n"
    ).encode()

    for body in (form(saved_mail), form(nested_files_part(3)), form(long_header_part(5000))):
        with pytest.raises(PostRefused) as refused:
            desk(anna()).act(token(), body, CONTENT_TYPE, source_ip="192.0.2.1", now=NOW)
        assert (refused.value.action, refused.value.text) == ("reply", "see the file")
    assert parses == []
