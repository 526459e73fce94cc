"""The agent API's scope: who the token names, and which teams' tickets they may touch.

The default config (infra/helpdesk.yaml): Lena works in general and billing, Wei in general,
Omar in tier2 which he also leads; Maria leads general and billing without being an agent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from helpdesk.config import ConfigError, default_config_path, parse_config
from helpdesk_local.stack import LOCAL_JWT_KEY, LocalStack
from helpdesk_local.state import build_state

LENA = "lena@support.example"
WEI = "wei@support.example"
OMAR = "omar@support.example"
MARIA = "maria@support.example"
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


def token(stack: LocalStack, **claims: Any) -> str:
    """A token the local JWT authorizer accepts, carrying exactly these extra claims."""
    assert stack.resolver is not None
    now = datetime.now(UTC)
    payload = {
        "sub": "a1b2c3d4-0000-4000-8000-000000000001",
        "iss": stack.resolver.parameters["AgentTokenIssuer"],
        "aud": stack.resolver.parameters["AgentTokenAudience"],
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        **claims,
    }
    return jwt.encode(payload, LOCAL_JWT_KEY, algorithm="HS256")


def call(
    stack: LocalStack,
    method: str,
    path: str,
    body: Any = None,
    *,
    agent: str = LENA,
    bearer: str | None = None,
) -> tuple[int, Any]:
    response = stack.call_agent_api(method, path, body, agent=agent, bearer=bearer)
    return response.status, response.json()


def open_ticket(stack: LocalStack, subject: str = "Where is my order?", text: str = "") -> str:
    response = stack.post_form(
        {
            "name": "Anna Schmidt",
            "email": "anna@example.com",
            "subject": subject,
            "message": text or "It has been two weeks.",
        }
    )
    return str(response.json()["ref"])


def the_ticket(stack: LocalStack, ref: str) -> dict[str, Any]:
    ticket: dict[str, Any]
    [ticket] = [t for t in build_state(stack)["tickets"] if t["ref"] == ref]
    return ticket


# ------------------------------------------------------------------ teams


def test_an_agent_of_another_team_can_neither_read_nor_change_nor_answer_a_ticket(
    stack: LocalStack,
) -> None:
    ref = open_ticket(stack)  # team general: Lena and Wei, led by Maria
    before = the_ticket(stack, ref)
    outbox_before = len(build_state(stack)["outbox"])

    for method, path, body in (
        ("GET", f"/agent/tickets/{ref}", None),
        ("PATCH", f"/agent/tickets/{ref}", {"status": "solved"}),
        ("POST", f"/agent/tickets/{ref}/replies", {"text": "Click here: http://evil.example"}),
        ("POST", f"/agent/tickets/{ref}/replies", {"text": "a note", "public": False}),
    ):
        status, answer = call(stack, method, path, body, agent=OMAR)
        assert status == 403, (method, path)
        assert answer["detail"] == (
            f"{ref} belongs to team general, which {OMAR} neither works in nor leads"
        )

    after = the_ticket(stack, ref)
    assert (after["status"], after["messages"]) == (before["status"], before["messages"])
    assert len(build_state(stack)["outbox"]) == outbox_before


def test_the_internal_notes_of_a_ticket_are_read_only_by_its_teams(stack: LocalStack) -> None:
    ref = open_ticket(stack)
    status, _ = call(
        stack, "POST", f"/agent/tickets/{ref}/replies", {"text": "VIP, card 4111", "public": False}
    )
    assert status == 201

    status, ticket = call(stack, "GET", f"/agent/tickets/{ref}", agent=WEI)
    assert status == 200
    assert [m["text"] for m in ticket["messages"] if m["direction"] == "note"] == ["VIP, card 4111"]
    status, answer = call(stack, "GET", f"/agent/tickets/{ref}", agent=OMAR)
    assert status == 403
    assert "4111" not in json.dumps(answer)


def test_a_ticket_handed_to_another_team_leaves_the_agents_scope_and_enters_the_new_one(
    stack: LocalStack,
) -> None:
    ref = open_ticket(stack)
    status, changed = call(stack, "PATCH", f"/agent/tickets/{ref}", {"team": "tier2"})
    assert (status, changed["team"]) == (200, "tier2")

    assert call(stack, "GET", f"/agent/tickets/{ref}")[0] == 403
    status, ticket = call(stack, "GET", f"/agent/tickets/{ref}", agent=OMAR)
    assert (status, ticket["team"]) == (200, "tier2")


def test_an_assignee_must_work_in_the_team_the_ticket_is_in_after_the_change(
    stack: LocalStack,
) -> None:
    # Attack 9, F1: Omar (tier2) held a general ticket: he got its customer's mail but could
    # neither read nor answer it, and no team's queue listed it. Lena, moving a ticket to
    # tier2 and keeping it, the same.
    ref = open_ticket(stack)  # team general
    before = the_ticket(stack, ref)
    for body, team in (
        ({"assignee": "Omar"}, "general"),
        ({"team": "tier2", "assignee": LENA}, "tier2"),
    ):
        status, answer = call(stack, "PATCH", f"/agent/tickets/{ref}", body)
        assert (status, answer["field"]) == (422, "assignee")
        assert f"does not work in team {team}, where the ticket would be" in answer["reason"]
    after = the_ticket(stack, ref)
    assert (after["team"], after["assignee"]) == (before["team"], before["assignee"])
    assert not [m for m in build_state(stack)["outbox"] if m["to"] == [OMAR]]

    status, moved = call(
        stack, "PATCH", f"/agent/tickets/{ref}", {"team": "tier2", "assignee": "Omar"}
    )
    assert (status, moved["team"], moved["assignee"]) == (200, "tier2", OMAR)
    assert call(stack, "GET", f"/agent/tickets/{ref}", agent=OMAR)[0] == 200
    assert [m["kind"] for m in build_state(stack)["outbox"] if m["to"] == [OMAR]] == ["assignment"]


def test_a_lead_who_is_not_an_agent_works_on_the_tickets_of_the_teams_they_lead(
    stack: LocalStack,
) -> None:
    general = open_ticket(stack)
    escalated = open_ticket(stack, subject="Broken again", text="The device is broken again.")
    assert call(stack, "PATCH", f"/agent/tickets/{escalated}", {"team": "tier2"})[0] == 200

    status, ticket = call(stack, "GET", f"/agent/tickets/{general}", agent=MARIA)
    assert (status, ticket["team"]) == (200, "general")
    status, changed = call(
        stack, "PATCH", f"/agent/tickets/{general}", {"priority": "high"}, agent=MARIA
    )
    assert (status, changed["priority"]) == (200, "high")
    status, answer = call(stack, "GET", f"/agent/tickets/{escalated}", agent=MARIA)
    assert status == 403
    assert answer["detail"].endswith(f"which {MARIA} neither works in nor leads")


def test_the_queue_lists_only_the_teams_in_the_callers_scope(stack: LocalStack) -> None:
    general = open_ticket(stack)
    billing = open_ticket(stack, subject="Refund please", text="I want a refund for my invoice.")
    assert the_ticket(stack, billing)["team"] == "billing"

    status, answer = call(stack, "GET", "/agent/queue?team=billing", agent=WEI)
    assert status == 403
    assert answer["detail"] == f"{WEI} is not in team billing and does not lead it"

    status, queue = call(stack, "GET", "/agent/queue", agent=WEI)
    assert status == 200
    assert queue["teams"] == ["general"]
    assert [t["ref"] for t in queue["tickets"]] == [general]

    status, queue = call(stack, "GET", "/agent/queue", agent=LENA)
    assert (queue["teams"], sorted(t["ref"] for t in queue["tickets"])) == (
        ["general", "billing"],
        sorted([general, billing]),
    )
    status, queue = call(stack, "GET", "/agent/queue", agent=OMAR)
    assert (status, queue["teams"], queue["tickets"]) == (200, ["tier2"], [])


# ------------------------------------------------------------------ identity


@pytest.mark.parametrize(
    ("verified", "status"),
    [(True, 200), ("true", 200), ("True", 200), (False, 403), ("false", 403), (None, 403)],
)
def test_the_email_claim_counts_only_when_the_identity_provider_verified_it(
    stack: LocalStack, verified: object, status: int
) -> None:
    claims: dict[str, Any] = {"email": LENA}
    if verified is not None:
        claims["email_verified"] = verified

    answer_status, answer = call(
        stack, "GET", "/agent/queue?team=general", bearer=token(stack, **claims)
    )

    assert answer_status == status
    if status == 403:
        assert answer["detail"] == (
            f"{LENA} is not verified by the identity provider "
            "(the token's email_verified claim is not true)"
        )


def test_a_token_without_the_identity_claim_is_refused(stack: LocalStack) -> None:
    status, answer = call(
        stack, "GET", "/agent/queue", bearer=token(stack, email_verified=True, name="Lena")
    )
    assert (status, answer["detail"]) == (403, "this token has no email claim")


def test_a_configured_claim_mapping_names_the_agent_by_another_claim(tmp_path: Path) -> None:
    config = tmp_path / "helpdesk.yaml"
    config.write_text(
        default_config_path().read_text(encoding="utf-8")
        + "\nagent_api: {identity_claim: upn, require_verified: false}\n",
        encoding="utf-8",
    )
    with LocalStack(config_path=config, start=MONDAY_MORNING) as stack:
        ref = open_ticket(stack)
        status, ticket = call(
            stack, "GET", f"/agent/tickets/{ref}", bearer=token(stack, upn="Lena@Support.Example")
        )
        assert (status, ticket["ref"]) == (200, ref)
        # The email claim no longer names anyone: the deployer's IdP puts it elsewhere.
        status, answer = call(
            stack,
            "GET",
            f"/agent/tickets/{ref}",
            bearer=token(stack, email=LENA, email_verified=True),
        )
        assert (status, answer["detail"]) == (403, "this token has no upn claim")


def test_the_agent_api_section_is_checked_naming_the_line_and_the_key() -> None:
    text = default_config_path().read_text(encoding="utf-8")
    lines = len(text.splitlines())

    with pytest.raises(ConfigError) as raised:
        parse_config(
            text + "agent_api:\n  identity_claim: ''\n  require_verified: maybe\n", "cfg.yaml"
        )

    message = str(raised.value)
    assert f"cfg.yaml:{lines + 2}: agent_api.identity_claim: must not be empty" in message
    assert f"cfg.yaml:{lines + 3}: agent_api.require_verified: expected true or false" in message
    assert parse_config(text).agent_api.identity_claim == "email"
