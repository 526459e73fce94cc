"""The agent API's queue on the fakes: a page at a time, within a byte budget (attack 11, F1).

A flood of mailed tickets with 2 KB subjects of '"' (each grows four times on its way into
Lambda's response) put a team's whole queue over Lambda's 6 MB response: no agent of the
team could list their work. The queue now answers ``limit`` tickets at most (100 by
default, 200 at the most) and never more than QUEUE_PAGE_MAX_BYTES, with ``next``: the
cursor that continues the listing where the page stopped (None at its end).

The default config (infra/helpdesk.yaml): Lena works in general and billing, Wei in general.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from agent_callers import LENA, LENA_EMAIL, WEI

from fakes import CONFIG, MONDAY_MORNING, FakeMailStore, FakeRecords, FakeUnitOfWork, ticket
from helpdesk.effects import StartWaiting
from helpdesk.errors import InvalidInput
from helpdesk.model import REFERENCE_ALPHABET, Ticket
from helpdesk.services.agent_api import (
    HELD_WALK_MAX_ENTRIES,
    QUEUE_PAGE_MAX_BYTES,
    AgentDesk,
    Caller,
)

LAMBDA_RESPONSE_MAX_BYTES = 6 * 1024 * 1024


def ref_of(number: int) -> str:
    """A distinct reference for each number (HD-222222, HD-222223, ...)."""
    digits = []
    for _ in range(6):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        digits.append(REFERENCE_ALPHABET[digit])
    return "HD-" + "".join(reversed(digits))


class Queues:
    """Tickets waiting in and held by the teams, on the fakes."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork(CONFIG)
        self.repo = FakeRecords(self.uow)
        self.api = AgentDesk(uow=self.uow, repo=self.repo, config=CONFIG, store=FakeMailStore())
        self.count = 0

    def _new(self, minutes: int | None) -> tuple[str, datetime]:
        self.count += 1
        at = MONDAY_MORNING + timedelta(minutes=self.count if minutes is None else minutes)
        return ref_of(self.count), at

    def waiting(
        self, team: str = "general", subject: str = "Help", minutes: int | None = None
    ) -> str:
        ref, at = self._new(minutes)
        self.uow.add(ticket(ref=ref, team=team, subject=subject, created_at=at))
        self.uow.queue[ref] = StartWaiting(ref, team, at)
        return ref

    def held(self, team: str = "general", subject: str = "Help", minutes: int | None = None) -> str:
        ref, at = self._new(minutes)
        self.uow.hold(
            LENA_EMAIL, ticket(ref=ref, team=team, status="open", subject=subject, created_at=at)
        )
        return ref

    def pages(
        self, caller: Caller = LENA, team: str | None = "general", **options: Any
    ) -> Iterator[dict[str, Any]]:
        """Every page of the listing, following ``next``."""
        cursor = None
        while True:
            page = self.api.queue(caller, team, cursor=cursor, **options)
            yield page
            cursor = page["next"]
            if cursor is None:
                return


def refs(page: dict[str, Any]) -> list[str]:
    return [t["ref"] for t in page["tickets"]]


def in_lambdas_envelope(answer: dict[str, Any]) -> int:
    """The bytes ``answer`` takes in Lambda's response: the body as helpdesk.http writes it
    (UTF-8 kept), then as a JSON string in the envelope with every non-ASCII character
    escaped (the larger of the runtimes' two ways)."""
    return len(json.dumps(json.dumps(answer, ensure_ascii=False)))


# ------------------------------------------------------------------ paging


def test_the_queue_keeps_its_fields_and_order_and_says_there_is_no_more() -> None:
    queues = Queues()
    held_early = queues.held(minutes=1)
    waiting = [queues.waiting(minutes=10 + n) for n in range(3)]
    held_late = queues.held(minutes=30)
    queues.waiting(team="billing", minutes=0)

    page = queues.api.queue(LENA, "general")

    assert (page["team"], page["teams"], page["next"]) == ("general", ["general"], None)
    # Waiting oldest first, then held oldest first: as before.
    assert refs(page) == [*waiting, held_early, held_late]
    assert page["tickets"][0]["subject"] == "Help"


def test_without_a_team_the_pages_go_through_the_callers_teams_in_config_order() -> None:
    queues = Queues()
    general = [queues.waiting(), queues.waiting(), queues.held()]
    billing = [queues.waiting(team="billing"), queues.held(team="billing")]
    queues.waiting(team="tier2")  # not Lena's

    pages = list(queues.pages(team=None, limit=2))

    assert [refs(p) for p in pages] == [general[:2], [general[2], billing[0]], [billing[1]]]
    assert all(p["teams"] == ["general", "billing"] and p["team"] is None for p in pages)


def test_the_default_page_is_100_and_the_cursor_goes_on_from_the_last_ticket() -> None:
    queues = Queues()
    waiting = [queues.waiting() for _ in range(230)]
    held = [queues.held() for _ in range(20)]

    first = queues.api.queue(LENA, "general")
    assert refs(first) == waiting[:100]
    assert isinstance(first["next"], str)

    pages = list(queues.pages(limit="200"))
    assert [len(p["tickets"]) for p in pages] == [200, 50]
    assert [r for p in pages for r in refs(p)] == [*waiting, *held]


def test_a_page_ending_exactly_at_the_end_has_no_next() -> None:
    queues = Queues()
    waiting = [queues.waiting() for _ in range(3)]

    page = queues.api.queue(LENA, "general", limit=3)

    assert (refs(page), page["next"]) == (waiting, None)


def test_a_cursor_across_the_waiting_and_held_tickets_lists_each_once() -> None:
    queues = Queues()
    expected = [queues.waiting() for _ in range(5)] + [queues.held() for _ in range(5)]
    # A stale entry (the ticket moved on) is skipped, and so is one of another team.
    stale = queues.waiting()
    queues.uow.tickets[stale] = replace(queues.uow.tickets[stale], status="solved")
    moved = queues.waiting()
    queues.uow.tickets[moved] = replace(queues.uow.tickets[moved], team="billing")

    for limit in (1, 2, 3, 4, 7, 200):
        pages = list(queues.pages(limit=limit))
        assert [r for p in pages for r in refs(p)] == expected, limit
        assert all(len(p["tickets"]) <= limit for p in pages)


def test_a_ticket_that_leaves_between_pages_does_not_stop_the_listing() -> None:
    queues = Queues()
    waiting = [queues.waiting() for _ in range(4)]
    first = queues.api.queue(LENA, "general", limit=2)
    # The last ticket the page showed is taken by an agent meanwhile (its entry goes).
    del queues.uow.queue[waiting[1]]

    second = queues.api.queue(LENA, "general", limit=2, cursor=first["next"])

    assert (refs(second), second["next"]) == (waiting[2:], None)


# ------------------------------------------------------------------ bad limit and cursor


@pytest.mark.parametrize("limit", ["0", "-1", "201", "1000", "ten", "", "1.5", " 5", 0, 201])
def test_a_bad_limit_is_refused_naming_limit(limit: object) -> None:
    queues = Queues()
    queues.waiting()

    with pytest.raises(InvalidInput) as refused:
        queues.api.queue(LENA, "general", limit=limit)  # type: ignore[arg-type]

    assert refused.value.field == "limit"
    assert "1 to 200" in refused.value.reason


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "!!!!",
        "é",
        "A" * 5000,
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _cursor("general"),
        _cursor("general", "w", "2026-11-23T09:00:00+00:00", "HD-7K3M9Q", "more"),
        _cursor("billing", "w", "2026-11-23T09:00:00+00:00", "HD-7K3M9Q"),  # another listing
        _cursor("tier2", "w", "2026-11-23T09:00:00+00:00", "HD-7K3M9Q"),
        _cursor("general", "x", "2026-11-23T09:00:00+00:00", "HD-7K3M9Q"),
        _cursor("general", "w", "yesterday", "HD-7K3M9Q"),
        _cursor("general", "w", "2026-11-23T09:00:00", "HD-7K3M9Q"),  # no time zone
        _cursor("general", "h", "2026-11-23T09:00:00+00:00", "HD-0000"),
        _cursor("general", "h", 5, None),
        base64.urlsafe_b64encode(b'{"team": "general"}').decode(),
    ],
)
def test_a_forged_or_garbled_cursor_is_refused_naming_cursor(cursor: str) -> None:
    queues = Queues()
    queues.waiting()

    with pytest.raises(InvalidInput) as refused:
        queues.api.queue(LENA, "general", cursor=cursor)

    assert refused.value.field == "cursor"
    assert "give a page's next as it is" in refused.value.reason


def test_a_cursor_of_all_teams_goes_on_for_that_listing_only() -> None:
    queues = Queues()
    queues.waiting()
    billing = [queues.waiting(team="billing"), queues.waiting(team="billing")]
    first = queues.api.queue(LENA, None, limit=2)

    assert refs(queues.api.queue(LENA, None, cursor=first["next"])) == billing[1:]
    # Wei does not work in billing: the cursor of Lena's listing is not his.
    with pytest.raises(InvalidInput) as refused:
        queues.api.queue(WEI, None, cursor=first["next"])
    assert refused.value.field == "cursor"


# ------------------------------------------------------------------ the byte budget


def test_a_flood_of_2kb_subjects_of_quotes_is_listed_in_pages_under_lambdas_limit() -> None:
    # Attack 11, F1: 720 such tickets put the whole queue over 6 MB; here 1,000.
    queues = Queues()
    flood = [queues.waiting(subject='"' * 2040) for _ in range(1000)]
    held = queues.held(subject='"' * 2040)

    pages = list(queues.pages(limit=200))

    assert [r for p in pages for r in refs(p)] == [*flood, held]
    assert len(pages) == 6
    for page in pages:
        assert in_lambdas_envelope(page) < LAMBDA_RESPONSE_MAX_BYTES


def test_the_budget_stops_a_page_early_and_next_goes_on_from_there() -> None:
    queues = Queues()
    flood = [queues.waiting(subject='"' * 2040) for _ in range(300)]
    budget = 100_000  # about eleven such tickets

    pages = list(queues.pages(limit=200, max_bytes=budget))

    assert [r for p in pages for r in refs(p)] == flood
    assert all(0 < len(p["tickets"]) < 15 for p in pages)
    for page in pages:
        tickets = in_lambdas_envelope({"tickets": page["tickets"]})
        assert tickets <= budget + 100


@pytest.mark.parametrize("character", ['"', "\x01", "\u4e2d", "\U0001f600"])
def test_whatever_the_subjects_hold_a_page_stays_under_lambdas_limit(character: str) -> None:
    # Subjects far longer than intake keeps (2 KB), as large as a DynamoDB item (400 KB):
    # a page then holds a ticket or two, never more than Lambda answers.
    queues = Queues()
    subject = character * (400_000 // len(character.encode()))
    tickets = [queues.waiting(subject=subject) for _ in range(6)]

    pages = list(queues.pages(limit=200))

    assert [r for p in pages for r in refs(p)] == tickets
    for page in pages:
        assert in_lambdas_envelope(page) < LAMBDA_RESPONSE_MAX_BYTES
        assert in_lambdas_envelope({"tickets": page["tickets"]}) <= max(
            QUEUE_PAGE_MAX_BYTES, in_lambdas_envelope({"tickets": page["tickets"][:1]})
        )


# ------------------------------------------------------------------ reads


def test_the_waiting_tickets_are_read_in_batches_not_one_by_one() -> None:
    queues = Queues()
    for _ in range(250):
        queues.waiting()
    batches: list[int] = []
    read = queues.repo.find_tickets

    def counted(refs: Sequence[str]) -> dict[str, Ticket]:
        batches.append(len(refs))
        return read(refs)

    queues.repo.find_tickets = counted  # type: ignore[method-assign]
    queues.repo.find_ticket = None  # type: ignore[assignment, method-assign]

    page = queues.api.queue(LENA, "general", limit=200)

    assert len(page["tickets"]) == 200
    assert len(batches) <= 2


@pytest.mark.parametrize(
    "team",
    [
        "Техническая поддержка второго уровня: оборудование, сети и связь",
        "二线技术支持" * 12,
        "tier-2-" + "x" * 400,
    ],
)
def test_the_cursor_the_api_gives_comes_back_whatever_its_teams_name(team: str) -> None:
    # Review 12, #1: a 64-character Cyrillic team name made a next of 547 characters,
    # which the API then refused as no cursor of its own: no page 2 for that team.
    from helpdesk.ports import QueuePosition
    from helpdesk.services.agent_api import HELD, _cursor_place, _Place

    place = _Place(
        team, HELD, QueuePosition(MONDAY_MORNING.replace(microsecond=27947), "HD-N4NZ72")
    )

    assert _cursor_place(place.cursor(), [team]) == place


def test_a_page_walks_at_most_its_share_of_a_backlog_nobody_holds_and_says_where_it_stopped() -> (
    None
):
    # Attack 12, F1: spoofed mail from the desk's own domain is kept in the backlog, never
    # queued nor held; every page walked the whole backlog looking for held tickets, 31
    # BatchGetItems for 3,000 such tickets, past the function's 10 s at about 25,000.
    queues = Queues()
    for n in range(2_500):
        ref, at = queues._new(n)
        queues.uow.add(ticket(ref=ref, team="general", flags=["spoofed"], created_at=at))
    late = queues.held(minutes=3_000)

    pages = list(queues.pages(limit=5))

    assert [ref for page in pages for ref in refs(page)] == [late]
    assert len(pages) == 3 and [refs(page) for page in pages[:2]] == [[], []]
    assert max(queues.repo.backlog_walks) == HELD_WALK_MAX_ENTRIES


def test_the_walks_share_is_the_pages_whatever_its_teams() -> None:
    # Review 13, #2: the 1,000 entries were each team's, so a page of all of Lena's teams
    # walked 999 of general's and 999 of billing's.
    queues = Queues()
    for team in ("general", "billing"):
        for n in range(999):
            ref, at = queues._new(n)
            queues.uow.add(ticket(ref=ref, team=team, flags=["spoofed"], created_at=at))
    late = queues.held(team="billing", minutes=3_000)
    walked_by_page: list[int] = []
    cursor = None
    listed: list[str] = []
    while True:
        before = len(queues.repo.backlog_walks)
        page = queues.api.queue(LENA, None, cursor=cursor, limit=5)
        walked_by_page.append(sum(queues.repo.backlog_walks[before:]))
        listed += refs(page)
        cursor = page["next"]
        if cursor is None:
            break

    assert listed == [late]
    assert max(walked_by_page) <= HELD_WALK_MAX_ENTRIES
