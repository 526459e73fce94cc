"""Every raw message of the corpus (tests/data/mail) delivered as SES delivers it, through
the deployed pipeline (S3 -> queue -> email_intake -> events -> acknowledge, route).

Each fixture's yaml says how the message parses; what that means end to end follows from
it: a person's mail is a ticket with exactly one acknowledgement; a robot's, spam, a virus
or a spoofed sender is a ticket with a ``suppressed`` entry and no mail out; a message
that could not be parsed, or has no sender, is a ticket for a human that nobody answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk.aws.dynamodb import message_from_item
from helpdesk.model import Message
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, scan_items

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
NAMES = sorted(path.stem for path in CORPUS.glob("*.eml"))
# robot_reason's verdicts as the suppressed reasons of the state JSON (docs/SCENARIOS.md
# has no "echo": our own mail coming back is automatic mail).
REASON_OF_ROBOT = {
    "auto_reply": "auto_reply",
    "list": "list",
    "bounce": "bounce",
    "echo": "auto_reply",
}
TICKET_FLAG_OF_ROBOT = {
    "auto_reply": "auto_reply",
    "list": "auto_reply",
    "echo": "auto_reply",
    "bounce": "bounce",
}


def _expected_reasons(expected: dict[str, Any]) -> list[str]:
    reasons = []
    if expected.get("unparsed"):
        reasons.append("unparsed")
    if expected.get("robot"):
        reasons.append(REASON_OF_ROBOT[expected["robot"]])
    if expected.get("spoofed"):
        reasons.append("spoofed")
    elif expected.get("auth", {}).get("dmarc") == "fail":
        # DMARC failed for the From domain (each such fixture's header.from is its From's).
        reasons.append("forged")
    if str(expected.get("virus_verdict", "")).upper() == "FAIL":
        reasons.append("virus")
    if str(expected.get("spam_verdict", "")).upper() == "FAIL":
        reasons.append("spam")
    if "sender" in expected and expected["sender"] is None and not expected.get("unparsed"):
        reasons.append("no_sender")
    return reasons


def _messages(desk: LocalStack) -> list[Message]:
    return [message_from_item(i) for i in scan_items(desk) if i.get("type") == "message"]


@pytest.mark.parametrize("name", NAMES)
def test_corpus_message_ends_as_a_ticket_answered_only_when_a_person_wrote_it(
    desk: LocalStack, name: str
) -> None:
    expected: dict[str, Any] = yaml.safe_load((CORPUS / f"{name}.yaml").read_text("utf-8"))
    errors_before = len(desk.invocation_errors)

    raw_key = desk.deliver_email((CORPUS / f"{name}.eml").read_bytes())
    desk.drain()

    state = build_state(desk)
    assert desk.invocation_errors[errors_before:] == []
    assert state["dead_letters"] == []
    [ticket] = state["tickets"]
    [message] = _messages(desk)
    assert message.raw_key == raw_key and message.direction == "in"
    sent = state["outbox"]
    to_sender = [mail for mail in sent if mail["kind"] != "assignment"]
    reasons = _expected_reasons(expected)

    assert sorted(entry["reason"] for entry in state["suppressed"]) == sorted(reasons)
    assert {entry["ticket"] for entry in state["suppressed"]} <= {ticket["ref"]}
    if reasons:
        assert to_sender == [], "nobody may be answered"
    else:
        [acknowledgement] = to_sender
        assert acknowledgement["kind"] == "acknowledgement"
        assert acknowledgement["to"] == [ticket["contact"]["email"]]
        assert (
            ticket["contact"]["email"]
            == expected.get("sender", {}).get("email", ticket["contact"]["email"]).lower()
        )
    if expected.get("robot") or reasons[:1] in (["spam"], ["spoofed"], ["virus"]):
        assert sent == [], "a robot's, spam's or spoofed ticket mails nobody, agents included"

    flags = set(ticket["flags"])
    if expected.get("robot"):
        assert TICKET_FLAG_OF_ROBOT[expected["robot"]] in flags
    for reason in ("unparsed", "spoofed", "virus", "spam", "forged"):
        assert (reason in flags) is (reason in reasons), reason
    if expected.get("subject"):
        assert ticket["subject"] == expected["subject"]
    _check_attachments(desk, message, expected)


def _check_attachments(desk: LocalStack, message: Message, expected: dict[str, Any]) -> None:
    wanted = expected.get("attachments")
    if wanted is None:
        return
    assert [a.filename for a in message.attachments] == [
        w.get("filename", a.filename) for a, w in zip(message.attachments, wanted, strict=True)
    ]
    for attachment, declared in zip(message.attachments, wanted, strict=True):
        if "inline" in declared:
            assert attachment.inline is declared["inline"]
        # parse_options shrink the limits for the parser's own test; the desk's are larger.
        if "dropped" in declared and "parse_options" not in expected:
            assert attachment.dropped == declared["dropped"]
        if attachment.dropped is None and attachment.size:
            assert attachment.key is not None
            assert attachment.key.startswith(f"attachments/{message.id}/")
            assert attachment.key.endswith(f"-{attachment.filename}")
            stored = desk.s3.head_object(Bucket=desk.raw_bucket, Key=attachment.key)
            assert stored["ContentLength"] == attachment.size
        else:
            assert attachment.key is None
