"""The lines `helpdesk local` prints about events, read as the developer reads them."""

from __future__ import annotations

import pytest

from helpdesk_local.narration import entry_line, event_line

OPENED = {
    "ref": "HD-7K3M9Q",
    "subject": "Printer on fire",
    "channel": "email",
    "language": "en",
    "priority": "high",
    "team": "general",
    "contact": {"email": "carol@example.org"},
}


def test_an_opened_ticket_is_told_with_its_subject_sender_and_routing() -> None:
    assert event_line("TicketOpened", OPENED) == (
        'ticket HD-7K3M9Q opened: "Printer on fire" from carol@example.org'
        " (email, en, high, team general)"
    )


@pytest.mark.parametrize(
    ("kind", "detail", "told"),
    [
        (
            "SlaWarning",
            {"ref": "HD-1", "clock": "first_response", "due": "2026-11-23T12:55:00+00:00"},
            "SLA warning on HD-1: first response due 2026-11-23 12:55Z",
        ),
        (
            "SlaBreached",
            {"ref": "HD-1", "clock": "resolution", "due": "2026-11-23T13:55:00+01:00"},
            "SLA breached on HD-1: resolution was due 2026-11-23 12:55Z",
        ),
        (
            "StatusChanged",
            {"ref": "HD-1", "status": "solved", "previous_status": "open", "by": "lena@x"},
            "ticket HD-1: status open -> solved (by lena@x)",
        ),
        (
            "TicketAssigned",
            {"ref": "HD-1", "agent": "omar@x", "by": "lena@x"},
            "ticket HD-1: assigned to omar@x (by lena@x)",
        ),
        # First-user run 14, #8: these read as their bare names, the last with no ticket.
        ("NoteAdded", {"ref": "HD-1", "from": "lena@x"}, "ticket HD-1: note by lena@x"),
        (
            "ComplaintMade",
            {"ref": "HD-1", "from": "anna@x", "source": "survey"},
            "ticket HD-1: complaint from anna@x (survey) to the team lead",
        ),
        (
            "SelfServed",
            {"ref": "HD-1", "title": "Returns"},
            'ticket HD-1: solved by the customer with the article "Returns"',
        ),
        (
            "PageLinksRequested",
            {"ref": "", "email": "anna@x"},
            "fresh page links asked for anna@x (mailed if a contact's)",
        ),
    ],
)
def test_deadlines_and_changes_are_told_in_one_line(
    kind: str, detail: dict[str, str], told: str
) -> None:
    assert event_line(kind, detail) == told


def test_a_subject_cannot_drive_the_developers_terminal() -> None:
    # OSC 0 sets the window title, CSI 2J clears the screen (ECMA-48); a newline would
    # start a line that looks like the desk's own.
    hostile = {**OPENED, "subject": "Hi\x1b]0;owned\x07\x1b[2J\nticket HD-0 opened\x9b"}

    line = event_line("TicketOpened", hostile)

    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in line)
    assert "ticket HD-0 opened" in line  # kept as text, on the same line


@pytest.mark.parametrize(
    ("kind", "detail", "told"),
    [
        ("priority_changed", {"from": "normal", "to": "high", "by": "lena@x"},
         "priority normal -> high (by lena@x)"),
        ("tagged", {"tags": ["late-shipper"], "by": "lena@x"}, "tagged late-shipper (by lena@x)"),
        # First-user run 15, LOW 9: a team moved with its assignee named printed only the
        # assignment (route's TeamChanged is left out when the action names the agent).
        ("team_changed", {"from": "general", "to": "tier2", "by": "lena@x"},
         "moved from team general to tier2 (by lena@x)"),
    ],
)  # fmt: skip
def test_a_change_without_an_event_is_told_by_its_audit_entry(
    kind: str, detail: dict[str, object], told: str
) -> None:
    # First-user run 14, #8: priority and tag changes printed no line at all.
    assert entry_line(kind, detail) == told
