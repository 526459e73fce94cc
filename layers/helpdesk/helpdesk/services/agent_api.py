"""The agent API: a team's queue, a ticket with its conversation, replies and changes.

The same rules as the email path: changes are validated by the functions that check email
commands and carried out by :func:`helpdesk.services.commands.carry_out`, so a reply
relayed from the API and one relayed from a mail are the same event and the same mail.
Who is asking comes from the JWT the HTTP API's authorizer already verified; only a
configured agent may use the API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.clock import iso
from helpdesk.errors import HelpdeskError, InvalidInput
from helpdesk.services.commands import (
    AgentAction,
    TicketEdit,
    carry_out,
    valid_assignee,
    valid_priority,
    valid_status,
    valid_tag,
    valid_team,
)
from helpdesk.services.routing import ACTIVE_STATUSES

if TYPE_CHECKING:
    from helpdesk.aws.dynamodb import DynamoRepository
    from helpdesk.config import Agent, Config
    from helpdesk.model import Message, Ticket
    from helpdesk.ports import Publisher

REPLY_MAX_CHARS = 100_000
CHANGEABLE = ("status", "priority", "assignee", "team", "tags")


class NotAnAgent(HelpdeskError):
    """The token is valid but names nobody in the config's agents."""


@dataclass(frozen=True)
class AgentDesk:
    """The agent API's use cases with their ports."""

    repo: DynamoRepository
    publisher: Publisher
    config: Config

    def agent(self, claims: Mapping[str, Any]) -> Agent:
        """The agent the token's ``email`` claim names; :class:`NotAnAgent` otherwise."""
        email = claims.get("email")
        agent = self.config.agent(email) if isinstance(email, str) else None
        if agent is None:
            raise NotAnAgent(f"{email or 'this token'} is not an agent of this help desk")
        return agent

    def queue(self, team: str | None) -> dict[str, Any]:
        """A team's work: tickets waiting for an agent (oldest first), then the open
        tickets its agents hold (oldest first)."""
        if not team:
            raise InvalidInput("team", f"required: one of {', '.join(self.config.team_names)}")
        if team not in self.config.team_names:
            raise InvalidInput(
                "team", f"{team!r} is not a team: use one of {', '.join(self.config.team_names)}"
            )
        waiting = [
            ticket
            for entry in self.repo.index_items(f"QUEUE#{team}")
            if (ticket := self.repo.find_ticket(str(entry["ref"]))) is not None
            and ticket.status in ACTIVE_STATUSES
        ]
        held: list[Ticket] = []
        for member in self.config.agents_of(team):
            for item in self.repo.query_partition(f"AGENT#{member.email}", prefix="TICKET#"):
                ticket = self.repo.find_ticket(str(item["ref"]))
                if ticket and ticket.team == team and ticket.status in ACTIVE_STATUSES:
                    held.append(ticket)
        held.sort(key=lambda t: (t.created_at, t.ref))
        return {"team": team, "tickets": [_summary(t) for t in [*waiting, *held]]}

    def ticket(self, ref: str) -> dict[str, Any]:
        """A ticket with its whole conversation, internal notes included."""
        ticket = self.repo.get_ticket(ref.upper())
        return {
            **_summary(ticket),
            "messages": [_message(m) for m in self.repo.messages(ticket.ref)],
        }

    def reply(self, agent: Agent, ref: str, body: str, *, now: datetime) -> dict[str, Any]:
        """Answer the customer (``public``, the default) or add an internal note."""
        data = _json_object(body)
        _only(data, ("text", "public"))
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("text", "required: the text of the reply")
        if len(text) > REPLY_MAX_CHARS:
            raise InvalidInput("text", f"longer than {REPLY_MAX_CHARS} characters", status=413)
        public = data.get("public", True)
        if not isinstance(public, bool):
            raise InvalidInput("public", "must be true (to the customer) or false (a note)")
        action = AgentAction(
            agent=agent.email,
            agent_name=agent.name,
            reply=text.strip() if public else "",
            note=None if public else text.strip(),
        )
        result = carry_out(
            action,
            ref.upper(),
            repo=self.repo,
            publisher=self.publisher,
            config=self.config,
            now=now,
        )
        [message] = result.messages
        return {"ref": result.ticket.ref, "message": _message(message)}

    def change(self, agent: Agent, ref: str, body: str, *, now: datetime) -> dict[str, Any]:
        """Change status, priority, assignee, team or tags, as the email commands do."""
        data = _json_object(body)
        _only(data, CHANGEABLE)
        if not data:
            raise InvalidInput("body", f"give at least one of {', '.join(CHANGEABLE)}")
        tags = data.get("tags", [])
        if not isinstance(tags, list):
            raise InvalidInput("tags", 'must be a list of tags such as ["late-shipper"]')
        edit = TicketEdit(
            status=valid_status(data["status"]) if "status" in data else None,
            priority=valid_priority(data["priority"]) if "priority" in data else None,
            assignee=valid_assignee(data["assignee"], self.config) if "assignee" in data else None,
            team=valid_team(data["team"], self.config) if "team" in data else None,
            tags=tuple(dict.fromkeys(valid_tag(tag) for tag in tags)),
        )
        result = carry_out(
            AgentAction(agent=agent.email, agent_name=agent.name, edit=edit),
            ref.upper(),
            repo=self.repo,
            publisher=self.publisher,
            config=self.config,
            now=now,
        )
        return _summary(result.ticket)


def _json_object(body: str) -> dict[str, Any]:
    try:
        data = json.loads(body or "{}")
    except ValueError:
        raise InvalidInput("body", "not valid JSON", status=400) from None
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object", status=400)
    return data


def _only(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise InvalidInput(key, f"unknown field (allowed: {', '.join(allowed)})")


def _summary(ticket: Ticket) -> dict[str, Any]:
    from helpdesk.sla import SlaState

    return {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "team": ticket.team,
        "assignee": ticket.assignee,
        "language": ticket.language,
        "channel": ticket.channel,
        "tier": ticket.tier,
        "contact": {"email": ticket.contact_email, "name": ticket.contact_name},
        "tags": list(ticket.tags),
        "flags": list(ticket.flags),
        "linked_to": ticket.linked_to,
        "created_at": iso(ticket.created_at),
        "sla": SlaState.from_dict(ticket.sla).public_view() if ticket.sla else None,
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "from": message.author,
        "name": message.author_name,
        "at": iso(message.at),
        "text": message.text,
        "attachments": [a.public() for a in message.attachments if not a.inline],
    }
