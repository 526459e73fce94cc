"""The agent API: a team's queue, a ticket with its conversation, replies and changes.

The same rules as the email path: changes are validated by the functions that check email
commands and carried out by :func:`helpdesk.services.commands.carry_out`, so a reply
relayed from the API and one relayed from a mail are the same event and the same mail.
Who is asking comes from the JWT the HTTP API's authorizer already verified: the claim the
config names (``agent_api.identity_claim``, ``email`` by default), and only when the IdP says
it verified that address (``email_verified``). What they may see and change is their scope:
the tickets of the teams they belong to (``agents[].teams``) and of the teams they lead
(``teams[].lead``), internal notes included; anything else is 403, and the queue lists only
those teams.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.characters import typed_text
from helpdesk.clock import iso
from helpdesk.errors import Forbidden, InvalidInput, NotFound, TooLarge
from helpdesk.events import ticket_snapshot
from helpdesk.json_input import json_object
from helpdesk.model import ACTIVE_STATUSES, is_reference
from helpdesk.ports import TeamQueues, TicketFinder
from helpdesk.services.commands import (
    AgentAction,
    OutOfScope,
    TicketEdit,
    TicketOutOfScope,
    carry_out,
    valid_assignee,
    valid_priority,
    valid_status,
    valid_tags,
    valid_team,
)
from helpdesk.sizes import utf8_size

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Message, Ticket
    from helpdesk.ports import MailStore, TicketUnitOfWork
    from helpdesk.services.message_bodies import ShownBody

REPLY_MAX_CHARS = 100_000
CHANGEABLE = ("status", "priority", "assignee", "team", "tags")


class NotAnAgent(Forbidden):
    """The token is valid but names nobody in the config's agents or team leads, or its
    address is not one the IdP verified."""


@dataclass(frozen=True)
class Caller:
    """Who is calling the API, and which teams' tickets they may read and change."""

    email: str
    name: str
    teams: frozenset[str]  # the teams they work in (agents[].teams)
    led: frozenset[str]  # the teams they lead (teams[].lead)

    @property
    def scope(self) -> frozenset[str]:
        return self.teams | self.led

    def may_work_on(self, team: str | None) -> bool:
        return team is not None and team in self.scope


def caller_of(email: str, config: Config) -> Caller | None:
    """``email`` (lower case) as staff with their scope: the teams they work in and lead;
    None for anybody else. The agent API's scope, and agents' mail's
    (helpdesk.services.agent_mail)."""
    agent = config.agent(email)
    led = frozenset(team.name for team in config.teams if email in team.leads)
    if agent is None and not led:
        return None
    return Caller(
        email=email,
        name=agent.name if agent is not None else email,
        teams=frozenset(agent.teams) if agent is not None else frozenset(),
        led=led,
    )


class AgentRecords(TeamQueues, TicketFinder, Protocol):
    """What the agent API reads beside the unit of work: the queues, the tickets its
    agents hold, a ticket and its conversation."""

    def get_ticket(self, ref: str) -> Ticket: ...

    def held_tickets(self, team: str) -> list[Ticket]:
        """The tickets of ``team`` one of its agents holds, oldest first."""
        ...

    def messages(self, ref: str) -> list[Message]: ...


@dataclass(frozen=True)
class AgentDesk:
    """The agent API's use cases with their ports (``store``: the raw mail, where the
    whole text of a long mail is read)."""

    uow: TicketUnitOfWork
    repo: AgentRecords
    config: Config
    store: MailStore | None = None

    def caller(self, claims: Mapping[str, Any]) -> Caller:
        """Who the verified token names (the configured identity claim, verified by the
        IdP); :class:`NotAnAgent` when it names nobody this desk knows."""
        settings = self.config.agent_api
        claimed = claims.get(settings.identity_claim)
        if not isinstance(claimed, str) or not claimed.strip():
            raise NotAnAgent(f"this token has no {settings.identity_claim} claim")
        email = claimed.strip().lower()
        if settings.require_verified and not _claims_true(claims.get(settings.verified_claim)):
            raise NotAnAgent(
                f"{email} is not verified by the identity provider "
                f"(the token's {settings.verified_claim} claim is not true)"
            )
        caller = caller_of(email, self.config)
        if caller is None:
            raise NotAnAgent(f"{email} is not an agent of this help desk")
        return caller

    def queue(self, caller: Caller, team: str | None) -> dict[str, Any]:
        """A team's work: tickets waiting for an agent (oldest first), then the open
        tickets its agents hold (oldest first). Without ``team``: every team in the
        caller's scope, one after the other in config order."""
        if team:
            if team not in self.config.team_names:
                raise InvalidInput(
                    "team",
                    f"{team!r} is not a team: use one of {', '.join(self.config.team_names)}",
                )
            if not caller.may_work_on(team):
                raise OutOfScope(f"{caller.email} is not in team {team} and does not lead it")
            teams = [team]
        else:
            teams = [name for name in self.config.team_names if caller.may_work_on(name)]
        tickets: list[Ticket] = []
        for name in teams:
            tickets.extend(self._team_queue(name))
        return {"team": team or None, "teams": teams, "tickets": [_summary(t) for t in tickets]}

    def _team_queue(self, team: str) -> list[Ticket]:
        waiting = [
            ticket
            for entry in self.repo.waiting(team)
            if (ticket := self.repo.find_ticket(entry.ref)) is not None
            and ticket.status in ACTIVE_STATUSES
            and ticket.team == team
        ]
        return [*waiting, *self.repo.held_tickets(team)]

    def ticket(self, caller: Caller, ref: str, *, before: str | None = None) -> dict[str, Any]:
        """A ticket with its conversation, internal notes included: the newest
        message_bodies.THREAD_MESSAGES_MAX messages (oldest first), as many as the customer's
        page shows, within the text budget of
        message_bodies.newest_shown, each text cut to SHOWN_TEXT_MAX_BYTES (``text_cut``,
        with the whole text's ``text_bytes``), and ``older_messages``: how many older ones
        are left out. ``before`` (a message's id) answers the messages older than that one
        the same way, so a client reads a conversation back with
        ``?before=<the first message's id>`` until ``older_messages`` is 0. Every message
        whole had put a ticket of long mails over Lambda's 6 MB response (attack 8, F1)."""
        from helpdesk.services.message_bodies import newest_shown

        ticket = self._in_scope(caller, ref)
        messages = self.repo.messages(ticket.ref)
        if before is not None:
            position = next((n for n, m in enumerate(messages) if m.id == before), None)
            if position is None:
                raise InvalidInput("before", f"{before[:80]!r} is no message of {ticket.ref}")
            messages = messages[:position]
        # A mail's item keeps an excerpt: the agent reads the whole text (bounded).
        thread = newest_shown(messages, self.store.read if self.store else None)
        return {
            **_summary(ticket),
            "messages": [_message(s.message, s) for s in thread.messages],
            "older_messages": thread.older,
        }

    def _in_scope(self, caller: Caller, ref: str) -> Ticket:
        """The ticket ``ref`` if the caller may work on it: :class:`NotFound` for what is
        not a reference or not a ticket, :class:`OutOfScope` for another team's."""
        if not is_reference(ref.upper()):
            raise NotFound(f"ticket {ref[:40]}")
        ticket = self.repo.get_ticket(ref.upper())
        if not caller.may_work_on(ticket.team):
            raise TicketOutOfScope(ticket.ref, ticket.team, caller.email)
        return ticket

    def reply(self, caller: Caller, ref: str, body: str, *, now: datetime) -> dict[str, Any]:
        """Answer the customer (``public``, the default) or add an internal note; the scope
        is checked again on the ticket the answer is committed on, as in :meth:`change`."""
        ticket = self._in_scope(caller, ref)
        data = json_object(body)
        _only(data, ("text", "public"))
        text = data.get("text")
        # Judged as it will be kept: cleaned (AgentAction), a text of control characters
        # alone is no text.
        if not isinstance(text, str) or not typed_text(text).strip():
            raise InvalidInput("text", "required: the text of the reply")
        if len(text) > REPLY_MAX_CHARS:
            raise TooLarge("text", f"longer than {REPLY_MAX_CHARS} characters")
        public = data.get("public", True)
        if not isinstance(public, bool):
            raise InvalidInput("public", "must be true (to the customer) or false (a note)")
        action = AgentAction(
            agent=caller.email,
            agent_name=caller.name,
            reply=text.strip() if public else "",
            note=None if public else text.strip(),
            scope=caller.scope,
        )
        result = carry_out(
            action,
            ticket.ref,
            uow=self.uow,
            config=self.config,
            now=now,
        )
        [message] = result.messages
        return {"ref": result.ticket.ref, "message": _message(message)}

    def change(self, caller: Caller, ref: str, body: str, *, now: datetime) -> dict[str, Any]:
        """Change status, priority, assignee, team or tags, as the email commands do. A
        ticket handed to another team leaves the caller's scope with the change; an
        assignee must work in the team the ticket is in after it (422 naming ``assignee``).
        The scope is checked again on the ticket the change is committed on (403): a
        lead's move to another team may land after the first read."""
        ticket = self._in_scope(caller, ref)
        data = json_object(body)
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
            tags=valid_tags(tags),
        )
        result = carry_out(
            AgentAction(agent=caller.email, agent_name=caller.name, edit=edit, scope=caller.scope),
            ticket.ref,
            uow=self.uow,
            config=self.config,
            now=now,
        )
        return _summary(result.ticket)


def _claims_true(value: object) -> bool:
    """A boolean claim as it may reach the function: JSON ``true`` as Cognito's ID token
    carries it, or the string ``"true"``, as API Gateway passes claims on (its payload 2.0
    example shows every claim value as a string; the REST API Cognito authorizer always
    sent ``"email_verified": "true"``)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def _only(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise InvalidInput(key, f"unknown field (allowed: {', '.join(allowed)})")


def _summary(ticket: Ticket) -> dict[str, Any]:

    return {
        **ticket_snapshot(ticket),
        "contact": {"email": ticket.contact_email, "name": ticket.contact_name},
        "assignee": ticket.assignee,
        "tags": list(ticket.tags),
        "flags": list(ticket.flags),
        "linked_to": ticket.linked_to,
        "created_at": iso(ticket.created_at),
        "sla": ticket.sla.public_view() if ticket.sla else None,
    }


def _message(message: Message, shown: ShownBody | None = None) -> dict[str, Any]:
    """A message as the API answers it; ``shown``: its text as cut for the answer."""
    return {
        "id": message.id,
        "direction": message.direction,
        "from": message.author,
        "name": message.author_name,
        "at": iso(message.at),
        "text": message.text,
        # The UTF-8 size of the whole text (None: a raw mail too large to read again, see
        # message_bodies.WHOLE_MAIL_MAX_BYTES), and whether ``text`` is only its start.
        "text_bytes": shown.text_bytes if shown is not None else utf8_size(message.text),
        "text_cut": shown.cut if shown is not None else False,
        "attachments": [a.public() for a in message.attachments if not a.inline],
    }
