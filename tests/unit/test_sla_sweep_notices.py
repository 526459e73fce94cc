"""The mail that SLA events send: who gets it, in which language, with which deadline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpdesk.config import load_config
from helpdesk.mail.compose import OutboundMail
from helpdesk.services.sla_notices import sla_breached, sla_warning

CONFIG = load_config(Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml")
NOW = datetime(2026, 11, 23, 12, 7, tzinfo=UTC)


class CapturingNotifier:
    """What the notices use of a Notifier, keeping the mail instead of sending it."""

    config = CONFIG

    def __init__(self) -> None:
        self.sent: list[tuple[OutboundMail, str]] = []

    def plus_address(self, ref: str) -> str:
        return f"support+{ref.lower()}@support.example"

    def send(self, mail: OutboundMail, *, key: str, now: datetime) -> None:
        self.sent.append((mail, key))


def event(**changes: Any) -> dict[str, Any]:
    return {
        "ref": "HD-AAAAAA",
        "event_id": "first_response:warning:2026-11-23T12:55:00+00:00",
        "kind": "warning",
        "clock": "first_response",
        "due": "2026-11-23T12:55:00+00:00",
        "priority": "normal",
        "team": "general",
        "new_team": None,
        "assignee": "wei@support.example",
        "subject": "Where is my order?",
        "contact": {"email": "anna@example.com", "name": "Anna Schmidt"},
        "language": "en",
        "policy": "standard",
    } | changes


def test_a_warning_reaches_the_assignee_in_their_language_with_the_office_time() -> None:
    notifier = CapturingNotifier()

    sla_warning(notifier, event(), NOW)

    [(mail, key)] = notifier.sent
    assert (mail.kind, mail.to) == ("warning", ("wei@support.example",))
    assert mail.subject.startswith("[#HD-AAAAAA]")
    assert "2026年11月23日" in mail.text and "13:55 CET" in mail.text  # Berlin, not UTC
    assert mail.reply_to == "support+hd-aaaaaa@support.example"
    assert key == "first_response:2026-11-23T12:55:00+00:00:wei@support.example"


def test_an_unassigned_ticket_warns_the_team_lead_in_the_desks_language() -> None:
    notifier = CapturingNotifier()

    sla_warning(notifier, event(assignee=None), NOW)

    [(mail, _)] = notifier.sent
    assert mail.to == ("maria@support.example",)
    assert "Monday, 23 November 2026, 13:55 CET" in mail.text


def test_a_breach_tells_each_lead_and_the_assignee_once_where_the_ticket_went() -> None:
    notifier = CapturingNotifier()

    sla_breached(
        notifier,
        event(kind="breach", new_team="tier2", assignee="lena@support.example"),
        NOW,
    )

    mails = {mail.to[0]: mail for mail, _ in notifier.sent}
    assert sorted(mails) == [
        "lena@support.example",
        "maria@support.example",
        "omar@support.example",
    ]
    assert {mail.kind for mail in mails.values()} == {"escalation"}
    for mail in mails.values():
        assert "escalated to tier2" in mail.text
        assert "Lena (lena@support.example)" in mail.text
        assert "Anna Schmidt" in mail.text
    assert len({key for _, key in notifier.sent}) == 3
