"""The inbound mail corpus: every tests/data/mail/NAME.eml parsed and compared with NAME.yaml.

A yaml file declares only what matters for its message; absent keys are not checked.  Keys:
subject, sender, to, reply_to, message_id, in_reply_to, references, delivered_to,
return_path, date, text, text_contains, text_excludes, full_text_contains, html_contains,
html_excludes, attachments (per attachment: filename, content_type, size, inline,
content_id, dropped, data_empty), attachment_data_contains, robot, spoofed, auth,
spam_verdict, virus_verdict, report, unparsed; parse_options are passed to parse_mail.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk.mail.parse import Address, ParsedMail, parse_mail
from helpdesk.mail.robots import is_spoofed, robot_reason

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
OWN_DOMAIN = "support.example"
AGENT_EMAILS = ("alice@support.example", "bob@support.example")

KNOWN_KEYS = {
    "description", "parse_options", "subject", "sender", "to", "reply_to", "message_id",
    "in_reply_to", "references", "delivered_to", "return_path", "date", "text",
    "text_contains", "text_excludes", "full_text_contains", "html_contains", "html_excludes",
    "attachments", "attachment_data_contains", "robot", "spoofed", "auth", "spam_verdict",
    "virus_verdict", "report", "unparsed",
}  # fmt: skip


def _fixture_names() -> list[str]:
    return sorted(path.stem for path in CORPUS.glob("*.eml"))


def _address(address: Address | None) -> dict[str, str] | None:
    return None if address is None else {"email": address.email, "name": address.name}


def test_the_corpus_has_at_least_45_fixtures_each_with_expectations() -> None:
    names = _fixture_names()
    assert len(names) >= 45
    assert [name for name in names if not (CORPUS / f"{name}.yaml").exists()] == []


@pytest.mark.parametrize("name", _fixture_names())
def test_corpus_message_parses_as_declared(name: str) -> None:
    expected: dict[str, Any] = yaml.safe_load((CORPUS / f"{name}.yaml").read_text("utf-8"))
    assert set(expected) <= KNOWN_KEYS, f"unknown keys {set(expected) - KNOWN_KEYS}"
    mail = parse_mail((CORPUS / f"{name}.eml").read_bytes(), **expected.get("parse_options", {}))
    _check_headers(mail, expected)
    _check_bodies(mail, expected)
    _check_attachments(mail, expected)
    _check_classification(mail, expected)


def _check_headers(mail: ParsedMail, expected: dict[str, Any]) -> None:
    if "subject" in expected:
        assert mail.subject == expected["subject"]
    if "sender" in expected:
        assert _address(mail.sender) == expected["sender"]
    for key in ("to", "reply_to"):
        if key in expected:
            assert [_address(a) for a in getattr(mail, key)] == expected[key]
    for key in ("message_id", "return_path", "spam_verdict", "virus_verdict", "unparsed"):
        if key in expected:
            assert getattr(mail, key) == expected[key], key
    for key in ("in_reply_to", "references", "delivered_to"):
        if key in expected:
            assert list(getattr(mail, key)) == expected[key], key
    if "date" in expected:
        assert mail.date == datetime.fromisoformat(expected["date"])
    if "auth" in expected:
        auth = mail.auth
        assert {"spf": auth.spf, "dkim": auth.dkim, "dmarc": auth.dmarc} == expected["auth"]


def _check_bodies(mail: ParsedMail, expected: dict[str, Any]) -> None:
    assert isinstance(mail.text, str)
    assert isinstance(mail.subject, str)
    if "text" in expected:
        assert mail.text == expected["text"]
    for fragment in expected.get("text_contains", []):
        assert fragment in mail.text
    for fragment in expected.get("text_excludes", []):
        assert fragment not in mail.text
    for fragment in expected.get("full_text_contains", []):
        assert fragment in mail.full_text
    for fragment in expected.get("html_contains", []):
        assert mail.html is not None
        assert fragment in mail.html
    for fragment in expected.get("html_excludes", []):
        assert fragment not in (mail.html or "")


def _check_attachments(mail: ParsedMail, expected: dict[str, Any]) -> None:
    if "attachments" in expected:
        assert len(mail.attachments) == len(expected["attachments"])
        for attachment, wanted in zip(mail.attachments, expected["attachments"], strict=True):
            for key, value in wanted.items():
                if key == "data_empty":
                    assert (attachment.data == b"") is value
                else:
                    assert getattr(attachment, key) == value, (key, attachment.filename)
            if attachment.dropped is None:
                assert len(attachment.data) == attachment.size
    for index, fragment in expected.get("attachment_data_contains", []):
        assert fragment.encode() in mail.attachments[index].data


def _check_classification(mail: ParsedMail, expected: dict[str, Any]) -> None:
    if "robot" in expected:
        assert robot_reason(mail, own_domain=OWN_DOMAIN) == expected["robot"]
    if "spoofed" in expected:
        spoofed = is_spoofed(mail, own_domain=OWN_DOMAIN, agent_emails=AGENT_EMAILS)
        assert spoofed is expected["spoofed"]
    if "report" in expected:
        if expected["report"] is None:
            assert mail.report is None
        else:
            assert mail.report is not None
            for key, value in expected["report"].items():
                actual = getattr(mail.report, key)
                assert (list(actual) if isinstance(actual, tuple) else actual) == value, key
