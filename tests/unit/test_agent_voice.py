"""One clear voice (issue 16), unit by unit: the relayed reply's words for a status change,
files and signature in every language, the sign-off rule, and the mail that tells an agent
their mail changed nothing."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.notices.tickets import signed_by
from helpdesk.render import render

LANGUAGES = ("en", "zh", "ru")


def reply(**changes: Any) -> dict[str, Any]:
    return {
        "ref": "HD-7K3M9Q",
        "subject": "Printer jams",
        "body": "Please switch it off and on again.",
        "agent_name": "Max Mustermann",
        "helpdesk_name": "Example Support",
        "status": "",
        "signed": False,
        "attachments": [],
        "not_attached": [],
    } | changes


@pytest.mark.parametrize(
    ("text", "name", "signed"),
    [
        ("Best,\nLena", "Lena", True),
        ("Thanks!\n\nBest regards,\nLena Berg\nExample Support", "Lena Berg", True),
        ("Cheers, lena", "Lena", True),
        ("-- \nLena", "Lena Berg", True),
        ("祝好，\n王芳", "王芳", True),
        ("С уважением,\nЕлена", "Елена", True),
        ("Please switch it off and on again.", "Lena", False),
        # Her name early in the text is not a sign-off.
        ("Lena here. The parcel left today.\n\nThe tracking number follows.\nBest", "Lena", False),
        ("Best,\nMagdalena", "Lena", False),
        ("", "Lena", False),
    ],
)
def test_an_agent_has_signed_when_a_last_line_holds_their_name(
    text: str, name: str, signed: bool
) -> None:
    assert signed_by(text, name) is signed


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_signed_reply_carries_the_desk_name_but_not_the_agent_name_again(language: str) -> None:
    mail = render("reply", language, reply(body="Done.\n\nBest,\nMax", signed=True))
    signature = mail.text.split("\n-- \n", 1)[1]
    assert "Max" not in signature
    assert signature.startswith("Example Support\n")
    assert mail.html.count("Max Mustermann") == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unsigned_reply_is_signed_with_the_agent_name_once(language: str) -> None:
    mail = render("reply", language, reply())
    assert mail.text.count("Max Mustermann") == 1
    assert "\n-- \nMax Mustermann\nExample Support\n" in mail.text


@pytest.mark.parametrize(
    ("language", "solved", "pending"),
    [
        ("en", "We consider your request solved", "We are waiting for your answer"),
        ("zh", "我们认为您的请求已解决", "我们正在等待您的答复"),
        ("ru", "Мы считаем ваше обращение решённым", "Мы ждём вашего ответа"),
    ],
)
def test_the_reply_says_what_its_status_change_means_in_the_customers_language(
    language: str, solved: str, pending: str
) -> None:
    solved_mail = render("reply", language, reply(status="solved"))
    pending_mail = render("reply", language, reply(status="pending"))
    plain = render("reply", language, reply())
    assert solved in solved_mail.text and solved in solved_mail.html
    assert pending in pending_mail.text and pending in pending_mail.html
    assert solved not in plain.text and pending not in plain.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reply_of_files_alone_says_files_are_attached_and_names_those_too_large(
    language: str,
) -> None:
    mail = render(
        "reply",
        language,
        reply(
            body="",
            attachments=[{"filename": "label.pdf", "size": 2000}],
            not_attached=[{"filename": "video.mp4", "size": 9_000_000}],
        ),
    )
    assert "Printer jams" in mail.text.split("\n", 1)[0]
    assert "video.mp4" in mail.text and "video.mp4" in mail.html
    assert "label.pdf" not in mail.text  # the mail carries it; the client shows it


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "nothing was sent or changed"),
        ("zh", "没有发送任何内容"),
        ("ru", "ничего не отправлено"),
    ],
)
def test_an_agent_is_told_in_their_language_that_their_mail_changed_nothing(
    language: str, words: str
) -> None:
    empty = render(
        "nothing_changed", language, {"ref": "HD-7K3M9Q", "empty": True, "unchanged": []}
    )
    assert words in empty.text and words in empty.html
    assert "HD-7K3M9Q" in empty.subject
    unchanged = render(
        "nothing_changed",
        language,
        {"ref": "HD-7K3M9Q", "empty": False, "unchanged": ["#priority normal"]},
    )
    assert "#priority normal" in unchanged.text and "#priority normal" in unchanged.html
