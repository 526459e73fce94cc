"""Complaints to the team lead on the fakes: what the ticket keeps, what its clocks say,
what the bus hears, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fakes import FakeUnitOfWork, started_clocks, ticket
from helpdesk.config import load_config
from helpdesk.errors import InvalidInput, NotFound, RateLimited, TooLarge
from helpdesk.events import ComplaintMade, StatusChanged
from helpdesk.model import Ticket
from helpdesk.services.clocks import Change, apply
from helpdesk.services.complaints import ComplaintDesk
from helpdesk.sla import SlaState

CONFIG = load_config(Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml")
OPENED = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)  # Monday 09:55 in Berlin
# Monday 11:00 in Berlin: four business hours (the default respond_within) end at 15:00.
COMPLAINED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def open_ticket(**changes: object) -> Ticket:
    fields: dict[str, object] = {
        "status": "open",
        "assignee": "lena@support.example",
        "sla": started_clocks(CONFIG, OPENED),
        **changes,
    }
    return ticket(**fields)


def moved_to(status: str, at: datetime) -> Ticket:
    """The open ticket after an agent set ``status`` at ``at`` (its clocks stopped)."""
    return apply(open_ticket(), Change(status=status), at=at, config=CONFIG)


def desk_with(*tickets: Ticket) -> tuple[ComplaintDesk, FakeUnitOfWork]:
    uow = FakeUnitOfWork(CONFIG)
    for each in tickets:
        uow.add(each)
    return ComplaintDesk(uow=uow, config=CONFIG), uow


def sla_view(stored: Ticket) -> dict[str, object]:
    return SlaState.from_dict(stored.sla).public_view()


def test_a_complaint_flags_the_ticket_keeps_the_words_and_starts_the_complaint_clock() -> None:
    desk, uow = desk_with(open_ticket())

    stored = desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")

    assert "complaint" in stored.flags
    [message] = uow.messages("HD-7K3M9Q")
    assert (message.direction, message.kind, message.channel) == ("in", "complaint", "survey")
    assert (message.author, message.text) == ("anna@example.com", "Nobody answers me.")
    view = sla_view(stored)
    assert view["complained_at"] == COMPLAINED.isoformat()
    assert view["complaint_due"] == DUE.isoformat()
    assert view["complaint_answered_at"] is None
    # The customer's other promises are untouched.
    assert view["first_response_due"] == sla_view(open_ticket())["first_response_due"]
    [made] = uow.events()
    assert made == ComplaintMade(
        ref="HD-7K3M9Q",
        sender="anna@example.com",
        message=message.id,
        text="Nobody answers me.",
        source="survey",
        notify=True,
        due=DUE.isoformat(),
        at=COMPLAINED.isoformat(),
    )
    assert uow.history["HD-7K3M9Q"][-1][0] == "complaint"


def test_a_second_complaint_in_the_hour_adds_its_words_without_a_restart_or_a_mail() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")

    later = COMPLAINED + timedelta(minutes=20)
    stored = desk.complain("HD-7K3M9Q", "Still nothing!", now=later, source="portal")

    assert [m.text for m in uow.messages("HD-7K3M9Q")] == ["Nobody answers me.", "Still nothing!"]
    assert uow.messages("HD-7K3M9Q")[1].channel == "portal"
    view = sla_view(stored)
    assert (view["complained_at"], view["complaint_due"]) == (
        COMPLAINED.isoformat(),
        DUE.isoformat(),
    )
    first, second = (e for e in uow.events() if isinstance(e, ComplaintMade))
    assert (first.notify, second.notify) == (True, False)
    assert second.due == DUE.isoformat()


def test_a_complaint_in_a_later_hour_of_the_same_run_mails_again_but_keeps_the_due_time() -> None:
    desk, uow = desk_with(open_ticket())
    desk.complain("HD-7K3M9Q", "Nobody answers me.", now=COMPLAINED, source="survey")

    stored = desk.complain(
        "HD-7K3M9Q", "Two hours now.", now=COMPLAINED + timedelta(hours=2), source="survey"
    )

    assert sla_view(stored)["complaint_due"] == DUE.isoformat()
    last = [e for e in uow.events() if isinstance(e, ComplaintMade)][-1]
    assert last.notify is True


def test_complaints_beyond_the_hourly_count_of_a_ticket_are_refused_naming_the_field() -> None:
    desk, uow = desk_with(open_ticket())
    limit = CONFIG.complaints.per_ticket_per_hour
    for n in range(limit):
        desk.complain("HD-7K3M9Q", f"Complaint {n}", now=COMPLAINED, source="survey")

    with pytest.raises(RateLimited) as refused:
        desk.complain("HD-7K3M9Q", "One more", now=COMPLAINED, source="survey")

    assert refused.value.what == "complaint"
    assert refused.value.retry_after_seconds == 3600
    assert len(uow.messages("HD-7K3M9Q")) == limit
    # The next hour takes complaints again.
    desk.complain("HD-7K3M9Q", "Next hour", now=COMPLAINED + timedelta(hours=1), source="survey")
    assert len(uow.messages("HD-7K3M9Q")) == limit + 1


def test_a_complaint_reopens_a_solved_ticket() -> None:
    desk, uow = desk_with(moved_to("solved", COMPLAINED - timedelta(minutes=30)))

    stored = desk.complain("HD-7K3M9Q", "It is not solved.", now=COMPLAINED, source="survey")

    assert stored.status == "open"
    reopened = [e for e in uow.events() if isinstance(e, StatusChanged)]
    assert [(e.previous_status, e.status, e.by) for e in reopened] == [
        ("solved", "open", "anna@example.com")
    ]
    assert sla_view(stored)["complaint_due"] == DUE.isoformat()


def test_a_complaint_about_a_closed_ticket_opens_a_linked_ticket_with_the_words_once() -> None:
    desk, uow = desk_with(moved_to("closed", COMPLAINED - timedelta(days=1)))

    stored = desk.complain("HD-7K3M9Q", "You closed it unsolved.", now=COMPLAINED, source="survey")

    assert stored.ref != "HD-7K3M9Q"
    assert stored.linked_to == "HD-7K3M9Q"
    assert "complaint" in stored.flags
    assert stored.channel == "survey"
    assert [m.text for m in uow.messages(stored.ref)] == ["You closed it unsolved."]
    assert uow.messages(stored.ref)[0].kind == "complaint"
    assert sla_view(stored)["complaint_due"] == DUE.isoformat()
    assert uow.tickets["HD-7K3M9Q"].status == "closed"
    assert uow.messages("HD-7K3M9Q") == []
    made = [e for e in uow.events() if isinstance(e, ComplaintMade)]
    assert [(e.ref, e.notify) for e in made] == [(stored.ref, True)]
    # The same words again within the hour are the same new ticket.
    again = desk.complain("HD-7K3M9Q", "You closed it unsolved.", now=COMPLAINED, source="survey")
    assert again.ref == stored.ref


@pytest.mark.parametrize(
    ("text", "error", "reason"),
    [
        ("", InvalidInput, "is required"),
        ("  \n\t ", InvalidInput, "is required"),
        ("x" * 4001, TooLarge, "at most 4000 characters"),
    ],
)
def test_an_empty_or_too_long_complaint_is_refused_naming_the_field(
    text: str, error: type[InvalidInput], reason: str
) -> None:
    desk, uow = desk_with(open_ticket())

    with pytest.raises(error) as refused:
        desk.complain("HD-7K3M9Q", text, now=COMPLAINED, source="survey")

    assert refused.value.field == "complaint"
    assert reason in refused.value.reason
    assert uow.events() == []
    assert "complaint" not in uow.tickets["HD-7K3M9Q"].flags


def test_the_words_lose_control_and_direction_override_characters_but_keep_their_lines() -> None:
    desk, uow = desk_with(open_ticket())

    desk.complain(
        "HD-7K3M9Q",
        "First line\r\nsecond\x07 line \u202egnp.exe\u202c\x00 end\u2028\u200fשלום",
        now=COMPLAINED,
        source="survey",
    )

    [message] = uow.messages("HD-7K3M9Q")
    assert message.text == "First line\nsecond line gnp.exe end\n\u200fשלום"


def test_a_complaint_on_an_unknown_ticket_is_not_found() -> None:
    desk, _ = desk_with()

    with pytest.raises(NotFound):
        desk.complain("HD-2222AA", "Hello?", now=COMPLAINED, source="survey")


def test_a_complaint_comes_from_the_page_or_the_survey_only() -> None:
    desk, _ = desk_with(open_ticket())

    with pytest.raises(ValueError, match="portal"):
        desk.complain("HD-7K3M9Q", "Hello?", now=COMPLAINED, source="email")
