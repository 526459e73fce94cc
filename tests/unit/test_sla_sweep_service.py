"""The SLA sweep on an in-memory repository: what it reports, once, through races and crashes."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpdesk import sla, timers
from helpdesk.aws.dynamodb import DueTimer
from helpdesk.config import Config, load_config
from helpdesk.errors import Conflict, TransientError
from helpdesk.model import Ticket
from helpdesk.services.clocks import Change, apply, calendar_of
from helpdesk.services.sla_sweep import LEASE, MARKER_PREFIX, SlaSweep

ROOT = Path(__file__).resolve().parents[2]
STANDARD = load_config(ROOT / "infra" / "helpdesk.yaml")
ESCALATING = load_config(ROOT / "tests" / "data" / "config" / "escalation.yaml")

# Monday 23 November 2026, 09:55 in Berlin. A normal standard ticket's first response
# (4 business hours, warned at 80%) is warned at 13:07 CET and due at 13:55 CET.
CREATED = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
WARNING_AT = datetime(2026, 11, 23, 12, 7, tzinfo=UTC)
DUE = datetime(2026, 11, 23, 12, 55, tzinfo=UTC)


class FakeRepository:
    """Tickets, timers and marker items in dicts, with the version check of ``commit``."""

    def __init__(self) -> None:
        self.tickets: dict[str, Ticket] = {}
        self.timers: dict[str, datetime] = {}
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: list[tuple[str, str, Mapping[str, Any]]] = []
        self.before_commit: Callable[[], None] | None = None

    def due_timers(self, kind: str, now_key: str, *, page_size: int = 100) -> Iterator[DueTimer]:
        due = sorted(
            (timers.due_key(at), ref) for ref, at in self.timers.items() if kind == timers.SLA
        )
        for key, ref in due:
            if key <= now_key:
                yield DueTimer(ref=ref, kind=kind, due_key=key)

    def find_ticket(self, ref: str) -> Ticket | None:
        return copy.deepcopy(self.tickets.get(ref))

    def commit(
        self,
        ticket: Ticket,
        *,
        timers: Mapping[str, datetime | None] | None = None,
        claims: Iterable[tuple[str, str, Mapping[str, Any]]] = (),
        history: Iterable[tuple[str, Mapping[str, Any]]] = (),
        also: Iterable[Mapping[str, Any]] = (),
    ) -> Ticket:
        if self.before_commit is not None:
            concurrent, self.before_commit = self.before_commit, None
            concurrent()
        claims = list(claims)
        if self.tickets[ticket.ref].version != ticket.version:
            raise Conflict("version")
        if any((pk, sk) in self.items for pk, sk, _ in claims):
            raise Conflict("claim")
        stored = replace(ticket, version=ticket.version + 1)
        self.tickets[ticket.ref] = copy.deepcopy(stored)
        for pk, sk, attributes in claims:
            self.items[(pk, sk)] = {"PK": pk, "SK": sk, **copy.deepcopy(dict(attributes))}
        for kind, due in (timers or {}).items():
            if kind != "sla":
                continue
            if due is None:
                self.timers.pop(ticket.ref, None)
            else:
                self.timers[ticket.ref] = due
        self.history.extend((ticket.ref, kind, detail) for kind, detail in history)
        return stored

    def query_partition(
        self, pk: str, *, prefix: str = "", newest_first: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        for (item_pk, sk), item in sorted(self.items.items()):
            if item_pk == pk and sk.startswith(prefix):
                yield copy.deepcopy(item)

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        condition: str | None = None,
        return_new: bool = False,
    ) -> dict[str, Any] | None:
        # The one update the sweep makes: taking over a marker whose lease ended.
        assert (expression, condition) == ("SET lease_until = :new", "lease_until = :old")
        assert values is not None
        item = self.items.get((pk, sk))
        if item is None or item["lease_until"] != values[":old"]:
            raise Conflict("lease")
        item["lease_until"] = values[":new"]
        return None

    def delete(self, pk: str, sk: str) -> None:
        self.items.pop((pk, sk), None)

    def move_timer(self, ref: str, kind: str, *, expected_key: str, due: datetime | None) -> bool:
        current = self.timers.get(ref)
        if current is None or timers.due_key(current) != expected_key:
            return False
        if due is None:
            del self.timers[ref]
        else:
            self.timers[ref] = due
        return True

    def markers(self, ref: str) -> list[str]:
        return [sk for (pk, sk) in self.items if pk == f"TICKET#{ref}" and sk.startswith("SLA")]


class RecordingPublisher:
    def __init__(self, failures: int = 0) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.failures = failures

    def publish(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientError("put_events: 1 entries failed")
        self.events.extend(events)

    def types(self) -> list[str]:
        return [detail_type for detail_type, _ in self.events]


def new_ticket(config: Config, ref: str = "HD-AAAAAA", **changes: Any) -> Ticket:
    policy = config.policy("standard")
    state = sla.start(
        CREATED,
        "standard",
        policy.target("normal"),
        policy.warn_at,
        calendar_of("standard", config),
    )
    ticket = Ticket(
        ref=ref,
        status="new",
        priority="normal",
        channel="form",
        subject="Where is my order?",
        created_at=CREATED,
        contact_email="anna@example.com",
        contact_name="Anna Schmidt",
        tier="standard",
        language="en",
        team="general",
        policy="standard",
        assignee="lena@support.example",
        sla=state.to_dict(),
        updated_at=CREATED,
    )
    return replace(ticket, **changes)


def desk(
    config: Config = STANDARD, *tickets: Ticket
) -> tuple[FakeRepository, RecordingPublisher, SlaSweep]:
    repo = FakeRepository()
    for ticket in tickets or (new_ticket(config),):
        repo.tickets[ticket.ref] = ticket
        due = sla.next_due(sla.SlaState.from_dict(ticket.sla))
        if due is not None:
            repo.timers[ticket.ref] = due
    publisher = RecordingPublisher()
    return repo, publisher, SlaSweep(repo=repo, publisher=publisher, config=config)


def test_a_due_warning_is_published_once_with_what_a_mail_needs() -> None:
    repo, publisher, sweep = desk()

    assert sweep.run(WARNING_AT - timedelta(minutes=1)).due == 0
    result = sweep.run(WARNING_AT)
    again = sweep.run(WARNING_AT)

    assert (result.warnings, again.warnings) == (1, 0)
    [(detail_type, detail)] = publisher.events
    assert detail_type == "SlaWarning"
    assert detail == detail | {
        "ref": "HD-AAAAAA",
        "event_id": "first_response:warning:2026-11-23T12:55:00+00:00",
        "clock": "first_response",
        "due": "2026-11-23T12:55:00+00:00",
        "priority": "normal",
        "team": "general",
        "assignee": "lena@support.example",
        "subject": "Where is my order?",
        "contact": {"email": "anna@example.com", "name": "Anna Schmidt"},
        "language": "en",
        "policy": "standard",
    }
    assert detail["sla"]["warnings"] == ["first_response"]
    assert repo.timers["HD-AAAAAA"] == DUE
    assert repo.markers("HD-AAAAAA") == []


def test_a_breach_is_recorded_and_moves_the_ticket_to_the_escalation_team() -> None:
    repo, publisher, sweep = desk(ESCALATING)

    result = sweep.run(DUE + timedelta(seconds=30))

    assert (result.warnings, result.breaches, result.escalations) == (0, 1, 1)
    assert publisher.types() == ["SlaBreached", "TicketEscalated"]
    breached, escalated = (detail for _, detail in publisher.events)
    assert (breached["team"], breached["new_team"]) == ("general", "tier2")
    assert (escalated["team"], escalated["previous_team"]) == ("tier2", "general")
    ticket = repo.tickets["HD-AAAAAA"]
    assert ticket.team == "tier2"
    assert sla.SlaState.from_dict(ticket.sla).public_view()["breaches"] == ["first_response"]
    assert ("HD-AAAAAA", "escalated") in [(ref, kind) for ref, kind, _ in repo.history]


def test_a_breach_under_a_policy_without_escalation_leaves_the_team() -> None:
    repo, publisher, sweep = desk(STANDARD)

    sweep.run(DUE)

    assert publisher.types() == ["SlaBreached"]
    assert repo.tickets["HD-AAAAAA"].team == "general"


def test_an_answer_committed_while_the_sweep_looked_is_not_reported_as_late() -> None:
    repo, publisher, sweep = desk()

    def agent_replies_just_in_time() -> None:
        ticket = repo.tickets["HD-AAAAAA"]
        answered, changes = apply(
            ticket, Change(agent_reply=True), at=DUE - timedelta(minutes=1), config=STANDARD
        )
        repo.commit(answered, timers=changes)

    repo.before_commit = agent_replies_just_in_time
    result = sweep.run(DUE)

    assert publisher.events == []
    assert result.failed == []
    state = sla.SlaState.from_dict(repo.tickets["HD-AAAAAA"].sla)
    assert state.breaches == []
    assert repo.timers["HD-AAAAAA"] == sla.next_due(state)


def test_an_overlapping_sweep_that_loses_the_race_reports_nothing() -> None:
    repo, publisher, sweep = desk()
    repo.before_commit = lambda: sweep.run(WARNING_AT)

    result = sweep.run(WARNING_AT)

    assert publisher.types() == ["SlaWarning"]
    assert result.warnings == 0 and result.failed == []
    assert repo.timers["HD-AAAAAA"] == DUE


def test_events_that_could_not_be_published_go_out_again_when_the_lease_ends() -> None:
    repo, publisher, sweep = desk()
    publisher.failures = 1

    failed = sweep.run(WARNING_AT)
    assert [ref for ref, _ in failed.failed] == ["HD-AAAAAA"]
    assert repo.markers("HD-AAAAAA") == [f"{MARKER_PREFIX}first_response:warning:{DUE.isoformat()}"]
    assert repo.timers["HD-AAAAAA"] == WARNING_AT + LEASE

    sweep.run(WARNING_AT + LEASE - timedelta(seconds=1))
    assert publisher.events == []

    recovered = sweep.run(WARNING_AT + LEASE)
    assert recovered.recovered == 1
    [(detail_type, detail)] = publisher.events
    assert (detail_type, detail["event_id"]) == (
        "SlaWarning",
        "first_response:warning:2026-11-23T12:55:00+00:00",
    )
    assert repo.markers("HD-AAAAAA") == []
    assert repo.timers["HD-AAAAAA"] == DUE


def test_the_timer_of_a_solved_or_vanished_ticket_is_removed() -> None:
    solved, _ = apply(new_ticket(STANDARD), Change(status="solved"), at=CREATED, config=STANDARD)
    repo, publisher, sweep = desk(STANDARD, solved)
    repo.timers["HD-AAAAAA"] = WARNING_AT
    repo.timers["HD-GONE22"] = WARNING_AT

    result = sweep.run(DUE)

    assert result.due == 2 and result.failed == []
    assert repo.timers == {}
    assert publisher.events == []


def test_a_sweep_out_of_time_stops_before_the_next_ticket() -> None:
    _, publisher, sweep = desk(STANDARD, new_ticket(STANDARD), new_ticket(STANDARD, "HD-BBBBBB"))

    result = sweep.run(WARNING_AT, keep_going=lambda: False)

    assert result.stopped_early and result.due == 0
    assert publisher.events == []


def test_one_ticket_that_cannot_be_swept_does_not_hold_up_the_others() -> None:
    repo, publisher, sweep = desk()
    repo.tickets["HD-BBBBBB"] = new_ticket(STANDARD, "HD-BBBBBB", sla={"policy": "standard"})
    repo.timers["HD-BBBBBB"] = WARNING_AT

    result = sweep.run(WARNING_AT)

    assert [ref for ref, _ in result.failed] == ["HD-BBBBBB"]
    assert publisher.types() == ["SlaWarning"]
