"""The agent API's team scope holds on the ticket that is committed (attack 9).

F1: an assignee must work in the team the ticket is in after the change; else the holder
gets the customer's mail for a ticket they may not read, and no team's queue lists it.
F2: the scope is checked on the ticket the change commits, not only on an earlier read, so
a lead's move to another team that lands in between stops the old team's agent.

The default config (infra/helpdesk.yaml): Lena works in general and billing, Wei in general,
Omar in tier2 which he also leads; Maria leads general and billing without being an agent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from agent_callers import LENA, LENA_EMAIL, MARIA, OMAR

from fakes import CONFIG, MONDAY_MORNING, FakeMailStore, FakeRecords, FakeUnitOfWork, ticket
from helpdesk.errors import InvalidInput
from helpdesk.model import Ticket
from helpdesk.services.agent_api import AgentDesk
from helpdesk.services.commands import OutOfScope

REF = "HD-7K3M9Q"
NOW = MONDAY_MORNING + timedelta(hours=1)


@dataclass
class Desk:
    """The agent API on the fakes, with Anna's ticket ``REF``."""

    uow: FakeUnitOfWork
    repo: FakeRecords
    api: AgentDesk

    def stored(self) -> Ticket:
        return self.uow.load(REF)


def desk(**changes: object) -> Desk:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket(**changes))
    repo = FakeRecords(uow)
    return Desk(uow, repo, AgentDesk(uow=uow, repo=repo, config=CONFIG, store=FakeMailStore()))


# ------------------------------------------------------------------ F1: the assignee


@pytest.mark.parametrize(
    ("team", "body"),
    [
        # Omar works in tier2 only: he would get the customer's mail and could not answer.
        ("billing", {"assignee": "omar@support.example"}),
        ("general", {"assignee": "Omar"}),
        # Moving it away while keeping it: Lena would hold a tier2 ticket she may not see.
        ("billing", {"team": "tier2", "assignee": LENA_EMAIL}),
        # Wei works in general: moving it to billing, he cannot be the one who holds it.
        ("general", {"team": "billing", "assignee": "Wei"}),
    ],
)
def test_an_assignee_outside_the_team_the_ticket_will_be_in_is_refused_naming_assignee(
    team: str, body: dict[str, str]
) -> None:
    agents = desk(team=team, assignee=LENA_EMAIL, status="open")
    before = agents.stored()

    with pytest.raises(InvalidInput) as refused:
        agents.api.change(LENA, REF, json.dumps(body), now=NOW)

    assert refused.value.field == "assignee"
    assert "does not work in team" in refused.value.reason
    assert agents.stored() == before
    assert agents.uow.events() == []


@pytest.mark.parametrize(
    ("team", "body", "holder"),
    [
        ("general", {"assignee": "Wei"}, "wei@support.example"),
        ("billing", {"assignee": "Lena"}, LENA_EMAIL),
        ("general", {"team": "billing", "assignee": LENA_EMAIL}, LENA_EMAIL),
        ("general", {"team": "tier2", "assignee": "Omar"}, "omar@support.example"),
    ],
)
def test_an_assignee_of_the_team_the_ticket_will_be_in_is_taken(
    team: str, body: dict[str, str], holder: str
) -> None:
    agents = desk(team=team)

    changed = agents.api.change(LENA, REF, json.dumps(body), now=NOW)

    assert (changed["team"], changed["assignee"]) == (body.get("team", team), holder)


def test_a_lead_who_is_no_agent_still_cannot_be_assigned() -> None:
    # Only agents hold tickets (docs/SECURITY.md): unchanged, and said as before.
    agents = desk()
    with pytest.raises(InvalidInput) as refused:
        agents.api.change(MARIA, REF, json.dumps({"assignee": "maria@support.example"}), now=NOW)
    assert refused.value.field == "assignee"
    assert "is not an agent" in refused.value.reason


# ------------------------------------------------------------------ F2: the scope


def lead_moves_it_to_tier2(agents: Desk) -> None:
    """Maria (the lead of general and billing) hands the ticket to tier2."""
    lead = AgentDesk(uow=agents.uow, repo=FakeRecords(agents.uow), config=CONFIG)
    lead.change(MARIA, REF, json.dumps({"team": "tier2"}), now=NOW)


AGENT_CALLS: list[tuple[str, Callable[[AgentDesk], object]]] = [
    ("pull it back", lambda d: d.change(LENA, REF, json.dumps({"team": "billing"}), now=NOW)),
    ("solve it", lambda d: d.change(LENA, REF, json.dumps({"status": "solved"}), now=NOW)),
    ("answer", lambda d: d.reply(LENA, REF, json.dumps({"text": "hi, from billing"}), now=NOW)),
    (
        "note",
        lambda d: d.reply(LENA, REF, json.dumps({"text": "a note", "public": False}), now=NOW),
    ),
]


@pytest.mark.parametrize(("what", "call"), AGENT_CALLS, ids=[what for what, _ in AGENT_CALLS])
def test_a_move_to_another_team_right_after_the_scope_read_stops_the_old_teams_agent(
    what: str, call: Callable[[AgentDesk], object]
) -> None:
    # Attack 9, F2 (atk/race.py): Lena's request read the billing ticket and passed the
    # scope check; Maria's move to tier2 commits before Lena's change is decided.
    agents = desk(team="billing")
    repo = agents.repo
    read = repo.get_ticket
    moved: list[str] = []

    def read_then_the_lead_moves_it(ref: str) -> Ticket:
        found = read(ref)
        if not moved:
            moved.append(ref)
            lead_moves_it_to_tier2(agents)
        return found

    repo.get_ticket = read_then_the_lead_moves_it  # type: ignore[method-assign]

    with pytest.raises(OutOfScope, match="belongs to team tier2"):
        call(agents.api)

    after = agents.stored()
    assert moved and (after.team, after.status) == ("tier2", "new")
    assert agents.uow.messages(REF) == []
    assert [e.__class__.__name__ for e in agents.uow.events()] == ["TeamChanged"]


@pytest.mark.parametrize(("what", "call"), AGENT_CALLS, ids=[what for what, _ in AGENT_CALLS])
def test_a_change_that_lost_the_race_to_the_move_is_not_replayed_on_the_moved_ticket(
    what: str, call: Callable[[AgentDesk], object]
) -> None:
    # The version conflict's retry decides again on the moved ticket: in scope no more.
    agents = desk(team="billing")
    agents.uow.meanwhile.append(lambda: lead_moves_it_to_tier2(agents))

    with pytest.raises(OutOfScope, match="belongs to team tier2"):
        call(agents.api)

    after = agents.stored()
    assert (after.team, after.status) == ("tier2", "new")
    assert agents.uow.messages(REF) == []


def test_the_new_teams_agent_works_on_the_moved_ticket() -> None:
    agents = desk(team="billing")
    lead_moves_it_to_tier2(agents)

    changed = agents.api.change(OMAR, REF, json.dumps({"status": "pending"}), now=NOW)

    assert (changed["team"], changed["status"]) == ("tier2", "pending")


# ------------------------------------------------------------------ the text of an answer
@pytest.mark.parametrize("public", [True, False])
def test_an_answer_of_nothing_but_control_characters_is_refused_naming_text(public: bool) -> None:
    # Cleaned to nothing (helpdesk.characters), it was taken and then answered 500: no
    # message to show (next developer's read, 11, #1).
    agents = desk()
    body = json.dumps({"text": "\u202e\u0000 ", "public": public})

    with pytest.raises(InvalidInput) as refused:
        agents.api.reply(LENA, REF, body, now=NOW)

    assert refused.value.field == "text"
    assert agents.uow.messages(REF) == []
