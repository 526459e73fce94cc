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

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.characters import typed_text
from helpdesk.clock import iso
from helpdesk.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from helpdesk.events import ticket_snapshot
from helpdesk.files import DownloadedFile, attachment_numbered, servable
from helpdesk.json_input import json_object
from helpdesk.model import (
    ACTIVE_STATUSES,
    MESSAGES_IN_MAX,
    UNPROVEN_MESSAGES_MAX,
    is_reference,
    takes_follow_ups,
)
from helpdesk.ports import HeldPage, QueuePosition, TeamQueues, ThreadTail, TicketFinder
from helpdesk.services.commands import (
    MAIL_COMMAND_NAMES,
    SAVED_REPLY_LINE,
    AgentAction,
    OutOfScope,
    TicketEdit,
    TicketOutOfScope,
    carry_out,
    split_commands,
    unknown_command,
    valid_assignee,
    valid_priority,
    valid_status,
    valid_tags,
    valid_team,
)
from helpdesk.sizes import utf8_size
from helpdesk.unit_of_work import Claim

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Message, Ticket
    from helpdesk.ports import MailStore, TicketUnitOfWork
    from helpdesk.services.message_bodies import ShownBody

REPLY_MAX_CHARS = 100_000
CHANGEABLE = ("status", "priority", "assignee", "team", "tags")
# The tickets a page of the queue shows unless ``limit`` says, and at the most.
QUEUE_PAGE_DEFAULT = 100
QUEUE_PAGE_MAX = 200
# The bytes a page's tickets take at most in Lambda's response. Lambda answers at most 6 MB,
# measured on the JSON it returns ("Lambda quotas"), and a ticket's text grows on its way
# there: helpdesk.http writes the body as JSON ('"' becomes '\\"', a control character
# '\\u0001'), and Lambda's envelope holds that body as a JSON string again: a '"' takes 4
# bytes, a control character 7, and a Chinese character (3 bytes of UTF-8) 6 where the
# runtime escapes what is not ASCII, an emoji 12. message_bodies budgets 7 times the UTF-8
# size of the text for this; here each ticket is measured as it will stand in the envelope
# (:func:`_response_bytes`), both encodings applied and what is not ASCII escaped (the larger
# of the runtimes' two ways), so that 200 ordinary tickets always fit. 4 MiB of tickets
# leaves 2 MB for the rest of the answer (its team names and ``next``) and the headers.
QUEUE_PAGE_MAX_BYTES = 4 * 1024 * 1024
# A cursor is about 90 characters and a team's name more; anything longer than this is no
# cursor this API gave (a team's name is not bounded: read as it stands in the config, it
# takes 4 characters of base64 for 3 bytes of UTF-8). Decoding it costs nothing to speak of.
QUEUE_CURSOR_MAX_CHARS = 8192
WAITING, HELD = "w", "h"
# Backlog entries one page reads at the most looking for held tickets (ten BatchGetItems):
# the backlog also holds tickets nobody holds nor queues (spam, spoofed mail kept for a
# person to look at), and a page that walked all of them had been past the function's
# 10 s at some 25,000 (attack 12, F1). A page that stops there is short, or empty, and its
# next goes on from where it stopped.
HELD_WALK_MAX_ENTRIES = 1_000


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

    def find_tickets(self, refs: Sequence[str]) -> dict[str, Ticket]:
        """The tickets of ``refs`` that exist, by reference, read together."""
        ...

    def held_page(
        self, team: str, *, after: QueuePosition | None, limit: int, walk: int
    ) -> HeldPage:
        """The tickets of ``team`` one of its agents holds, oldest first: those after
        ``after``, at most ``limit``, found among at most ``walk`` of its backlog's
        entries."""
        ...

    def thread_tail(
        self, ref: str, *, count: int, before: str | None = None, customer_side: bool = False
    ) -> ThreadTail | None:
        """The newest ``count`` messages (before ``before``; None when it is no message of
        the ticket) and how many older ones."""
        ...

    def message(self, ref: str, message_id: str) -> Message | None:
        """The message ``message_id`` of ``ref``'s conversation, if it is one."""
        ...


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

    def queue(
        self,
        caller: Caller,
        team: str | None,
        *,
        limit: int | str | None = None,
        cursor: str | None = None,
        max_bytes: int = QUEUE_PAGE_MAX_BYTES,
    ) -> dict[str, Any]:
        """A page of a team's work: tickets waiting for an agent (oldest first), then the
        open tickets its agents hold (oldest first). Without ``team``: every team in the
        caller's scope, one after the other in config order. At most ``limit`` tickets
        (QUEUE_PAGE_DEFAULT unless given, QUEUE_PAGE_MAX at the most) and ``max_bytes`` in
        Lambda's response; ``next`` is the cursor that goes on where the page stopped
        (``?cursor=``), None at the end. A whole queue in one answer had put a flooded
        team's queue over Lambda's 6 MB response (attack 11, F1)."""
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
        size = _page_size(limit)
        start = _cursor_place(cursor, teams) if cursor is not None else None
        shown: list[dict[str, Any]] = []
        used = 0
        last: _Place | None = None
        following: str | None = None
        # One ticket more than the page shows is read: whether there is a next page.
        for place, ticket in self._listing(teams, start, batch=size + 1):
            if ticket is None:  # the walk paused: what it passed over holds nothing to show
                following = place.cursor()
                break
            summary = _summary(ticket)
            cost = _response_bytes(summary)
            # The first ticket always shows, so the listing goes on whatever one holds:
            # a DynamoDB item is at most 400 KB, at most 2.8 MB in the response.
            if len(shown) == size or (shown and used + cost > max_bytes):
                assert last is not None
                following = last.cursor()
                break
            shown.append(summary)
            used += cost
            last = place
        return {"team": team or None, "teams": teams, "tickets": shown, "next": following}

    def _listing(
        self, teams: list[str], start: _Place | None, *, batch: int
    ) -> Iterator[tuple[_Place, Ticket | None]]:
        """The tickets of ``teams`` in the queue's order from just after ``start``, each
        with its place, read ``batch`` at a time: each team's waiting tickets, then its
        held ones. A place with no ticket ends the listing of this page: the walk through
        a team's backlog read its share (HELD_WALK_MAX_ENTRIES) and paused there."""
        first = teams.index(start.team) if start else 0
        walk_left = HELD_WALK_MAX_ENTRIES  # the page's share, whatever its teams
        for index, name in enumerate(teams[first:], start=first):
            resumed = start if start and start.team == name else None
            held_after = None
            if resumed is None or resumed.phase == WAITING:
                after = resumed.position if resumed else None
                for position, ticket in self._waiting(name, after, batch):
                    yield _Place(name, WAITING, position), ticket
            else:
                held_after = resumed.position
            while True:
                held = self.repo.held_page(name, after=held_after, limit=batch, walk=walk_left)
                walk_left -= held.walked
                for ticket in held.tickets:
                    held_after = QueuePosition(ticket.created_at, ticket.ref)
                    yield _Place(name, HELD, held_after), ticket
                if held.paused and held.last is not None:
                    # The page ends here, short or empty, and the next goes on from there.
                    yield _Place(name, HELD, held.last), None
                    return
                if len(held.tickets) < batch:
                    break
            if walk_left <= 0 and index + 1 < len(teams) and held.last is not None:
                # The share is spent with this team's backlog: the next page goes on from
                # its end, and walks the next team's.
                yield _Place(name, HELD, held.last), None
                return

    def _waiting(
        self, team: str, after: QueuePosition | None, batch: int
    ) -> Iterator[tuple[QueuePosition, Ticket]]:
        """``team``'s waiting tickets after ``after``: the queue's entries ``batch`` at a
        time, their tickets read together (the repository's batch read), not one by one.
        An entry whose ticket has moved on (taken, solved, another team's) is passed over."""
        while True:
            entries = list(self.repo.waiting(team, limit=batch, after=after))
            found = self.repo.find_tickets([entry.ref for entry in entries])
            for entry in entries:
                ticket = found.get(entry.ref)
                if ticket is not None and ticket.status in ACTIVE_STATUSES and ticket.team == team:
                    yield QueuePosition(entry.created_at, entry.ref), ticket
            if len(entries) < batch:
                return
            after = QueuePosition(entries[-1].created_at, entries[-1].ref)

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
        from helpdesk.services.message_bodies import THREAD_MESSAGES_MAX, newest_shown

        ticket = self._in_scope(caller, ref)
        # Only the newest are read, the older ones counted where they are (attack 12, F2).
        tail = self.repo.thread_tail(ticket.ref, count=THREAD_MESSAGES_MAX, before=before)
        if tail is None:
            assert before is not None
            raise InvalidInput("before", f"{before[:80]!r} is no message of {ticket.ref}")
        # A mail's item keeps an excerpt: the agent reads the whole text (bounded).
        thread = newest_shown(tail.messages, self.store.read if self.store else None)
        return {
            **_summary(ticket),
            "messages": [_message(s.message, s) for s in thread.messages],
            "older_messages": tail.older + thread.older,
        }

    def download(self, caller: Caller, ref: str, number: str) -> DownloadedFile:
        """File ``number`` of ticket ``ref`` (``<message id>-<n>``, as :meth:`ticket` lists
        its ``download``), for a caller who may work on the ticket: every file the desk
        kept, notes' too, those no mail carries (unverified, unscanned, a type that runs
        code) included: the agent fetches them deliberately, told what they are by the
        message's ``flags``. :class:`NotFound` for anything else."""
        ticket = self._in_scope(caller, ref)
        _, meta = attachment_numbered(number, partial(self.repo.message, ticket.ref))
        if not servable(meta) or self.store is None:
            raise NotFound("file")
        assert meta.key is not None  # servable
        return DownloadedFile(meta.filename, meta.content_type, self.store.read(meta.key))

    def _in_scope(self, caller: Caller, ref: str) -> Ticket:
        """The ticket ``ref`` if the caller may work on it: :class:`NotFound` for what is
        not a reference or not a ticket, :class:`OutOfScope` for another team's."""
        if not is_reference(ref.upper()):
            raise NotFound(f"ticket {ref[:40]}")
        ticket = self.repo.get_ticket(ref.upper())
        if not caller.may_work_on(ticket.team):
            raise TicketOutOfScope(ticket.ref, ticket.team, caller.email)
        return ticket

    def reply(
        self,
        caller: Caller,
        ref: str,
        body: str,
        *,
        now: datetime,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Answer the customer (``public``, the default) or add an internal note; the scope
        is checked again on the ticket the answer is committed on, as in :meth:`change`.
        With ``idempotency_key`` (the request's Idempotency-Key header), the same caller's
        request with the same key on the same ticket is taken once and answered the same
        again: a client's retry after a timeout answered the customer twice (attack 16,
        I1)."""
        claim, message_key = _idempotent(caller, ref, idempotency_key)
        data = json_object(body)
        _only(data, ("text", "public"))
        text = data.get("text")
        # Judged as it will be kept: cleaned (AgentAction), a text of control characters
        # alone is no text.
        if not isinstance(text, str) or not typed_text(text).strip():
            raise InvalidInput("text", "required: the text of the reply")
        if len(text) > REPLY_MAX_CHARS:
            raise TooLarge("text", f"longer than {REPLY_MAX_CHARS} characters")
        # Read as a mail's first lines are: a command there would be carried out by mail,
        # and was mailed to the customer word for word from here (first-user run 16, #3).
        commands = split_commands(text).commands
        if commands and commands[0].name not in MAIL_COMMAND_NAMES:
            # A slip ("#stauts pending") is no prose either: mail refuses it, naming the
            # command meant (first-user run 17, #4).
            raise InvalidInput("text", str(unknown_command(commands[0])))
        if commands:
            raise InvalidInput(
                "text",
                f"begins with the mail command {commands[0].line!r}: commands are read in"
                " mail only; change the ticket with PATCH /agent/tickets/<ref>",
            )
        # Mail puts a saved reply in for "#reply <slug>" on any line of its own; here the
        # line would reach the customer as written (review 21, #6).
        saved = next(
            (ln for ln in text.splitlines() if SAVED_REPLY_LINE.fullmatch(ln.strip())), None
        )
        if saved is not None:
            raise InvalidInput(
                "text",
                f"holds the line {saved.strip()!r}: saved replies are put in by mail only;"
                " write the reply's own words here",
            )
        public = data.get("public", True)
        if not isinstance(public, bool):
            raise InvalidInput("public", "must be true (to the customer) or false (a note)")
        action = AgentAction(
            agent=caller.email,
            agent_name=caller.name,
            reply=text.strip() if public else "",
            note=None if public else text.strip(),
            scope=caller.scope,
            message_key=message_key,
            claim=claim,
        )
        if claim is not None:
            # A retry finds what the first request wrote before anything that changed since
            # (a close, a move to another team) can refuse it (review 18, #3).
            replayed = self._replayed(action, ref)
            if replayed is not None:
                return replayed
        ticket = self._in_scope(caller, ref)
        result = carry_out(
            action,
            ticket.ref,
            uow=self.uow,
            config=self.config,
            now=now,
        )
        if result.duplicate:
            # Taken meanwhile by the same request sent twice at once.
            replayed = self._replayed(action, ticket.ref)
            if replayed is None:
                raise Conflict(f"{ticket.ref}: the request with this Idempotency-Key was taken")
            return replayed
        [message] = result.messages
        return _answer(result.ticket, message)

    def _replayed(self, action: AgentAction, ref: str) -> dict[str, Any] | None:
        """The answer of the request ``action`` repeats (same agent, ticket and key), or
        None when none was taken; a key used for another text or kind is refused: a client
        that sends one key twice must not lose its second reply unknowingly."""
        ref = ref.upper()
        if not is_reference(ref):
            return None
        for message_id in (action.message_key, f"{action.message_key}-note"):
            taken = self.repo.message(ref, message_id)
            if taken is None:
                continue
            asked = action.reply if action.note is None else action.note
            direction = "out" if action.note is None else "note"
            if (taken.direction, taken.text) != (direction, asked):
                raise InvalidInput("Idempotency-Key", "was used for another request")
            return _answer(self.repo.get_ticket(ref), taken)
        return None

    def change(self, caller: Caller, ref: str, body: str, *, now: datetime) -> dict[str, Any]:
        """Change status, priority, assignee, team or tags, as the email commands do. A
        ticket handed to another team leaves the caller's scope with the change; an
        assignee must work in the team the ticket is in after it (422 naming ``assignee``).
        The scope is checked again on the ticket the change is committed on (403): a
        lead's move to another team may land after the first read."""
        ticket = self._in_scope(caller, ref)
        data = json_object(body)
        _only(data, CHANGEABLE)
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
        if edit.is_empty:
            # {"tags": []} too: it asked for nothing, and a 200 said it was done (first-user
            # run 16, #6).
            raise InvalidInput("body", f"give at least one of {', '.join(CHANGEABLE)}")
        result = carry_out(
            AgentAction(agent=caller.email, agent_name=caller.name, edit=edit, scope=caller.scope),
            ticket.ref,
            uow=self.uow,
            config=self.config,
            now=now,
        )
        return _summary(result.ticket)


@dataclass(frozen=True)
class _Place:
    """Where a listing of the queue is: in ``team``, among its waiting (WAITING) or held
    (HELD) tickets, just after ``position``. A cursor is this, as base64url of JSON: opaque
    to clients, and checked whole when it comes back (a forged one is a 422 naming
    ``cursor``). It names nothing the caller may not see: its team must be one the listing
    covers, and it positions the read only."""

    team: str
    phase: str
    position: QueuePosition

    def cursor(self) -> str:
        from helpdesk.links import b64url

        data = [self.team, self.phase, self.position.created_at.isoformat(), self.position.ref]
        return b64url(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def _cursor_place(cursor: str, teams: list[str]) -> _Place:
    """The place ``cursor`` (a page's ``next``) names in a listing of ``teams``;
    InvalidInput naming ``cursor`` for anything else."""
    from helpdesk.links import unb64url

    refused = InvalidInput("cursor", "not a cursor of this listing: give a page's next as it is")
    if not cursor or len(cursor) > QUEUE_CURSOR_MAX_CHARS:
        raise refused
    try:
        data = json.loads(unb64url(cursor))
        team, phase, created, ref = data
        if phase not in (WAITING, HELD) or team not in teams or not isinstance(ref, str):
            raise ValueError(phase)
        created_at = datetime.fromisoformat(created)
    except (ValueError, TypeError) as error:  # base64, UTF-8, JSON and shape alike
        raise refused from error
    if created_at.tzinfo is None or not is_reference(ref) or ref != ref.upper():
        raise refused
    return _Place(team, phase, QueuePosition(created_at, ref))


def _page_size(limit: int | str | None) -> int:
    """The tickets a page shows: ``limit`` (the query's text or a number) from 1 to
    QUEUE_PAGE_MAX, QUEUE_PAGE_DEFAULT when not given; InvalidInput naming ``limit``."""
    if limit is None:
        return QUEUE_PAGE_DEFAULT
    if isinstance(limit, str):
        number = int(limit) if limit.isascii() and limit.isdigit() and len(limit) < 6 else 0
    else:
        number = limit
    if not 1 <= number <= QUEUE_PAGE_MAX:
        raise InvalidInput("limit", f"must be a whole number from 1 to {QUEUE_PAGE_MAX}")
    return number


def _response_bytes(summary: Mapping[str, Any]) -> int:
    """The bytes ``summary`` takes in Lambda's response, with its separator: the body's
    JSON (UTF-8 kept, as helpdesk.http writes it) held as a JSON string in the envelope
    with what is not ASCII escaped (see QUEUE_PAGE_MAX_BYTES)."""
    return len(json.dumps(json.dumps(summary, ensure_ascii=False))) - 2 + len(", ")


def _claims_true(value: object) -> bool:
    """A boolean claim as it may reach the function: JSON ``true`` as Cognito's ID token
    carries it, or the string ``"true"``, as API Gateway passes claims on (its payload 2.0
    example shows every claim value as a string; the REST API Cognito authorizer always
    sent ``"email_verified": "true"``)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def _only(data: Mapping[str, Any], allowed: tuple[str, ...], what: str = "field") -> None:
    for key in data:
        if key not in allowed:
            raise InvalidInput(key, f"unknown {what} (allowed: {', '.join(allowed)})")


def only_parameters(query: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    """Refuse a query parameter the route does not read, naming it (422), as a body's
    unknown field is: ignored, ``?assignee=me`` answered the whole queue, and the agent
    believed it had filtered (first-user run 16, #6)."""
    _only(query, allowed, "query parameter")


def _summary(ticket: Ticket) -> dict[str, Any]:

    return {
        **ticket_snapshot(ticket),
        "contact": {"email": ticket.contact_email, "name": ticket.contact_name},
        # Every reply goes to them too (Cc): the agent must know who reads it (attack 21).
        "participants": list(ticket.participants),
        "assignee": ticket.assignee,
        "tags": list(ticket.tags),
        "flags": list(ticket.flags),
        "linked_to": ticket.linked_to,
        "continued_in": ticket.continued_in,
        "created_at": iso(ticket.created_at),
        "sla": ticket.sla.public_view() if ticket.sla else None,
        # How full its thread is: past a share, the customer's next mail of that share goes
        # on in ``continued_in`` or a new ticket linked to this one (model.takes_follow_ups),
        # which the agent answering here must know (review 17, #1c).
        "thread": {
            "proven": ticket.messages_in,
            "proven_max": MESSAGES_IN_MAX,
            "unproven": ticket.messages_unproven,
            "unproven_max": UNPROVEN_MESSAGES_MAX,
            "takes_mail": takes_follow_ups(ticket, proven=True),
            "takes_unverified_mail": takes_follow_ups(ticket, proven=False),
        },
    }


# An Idempotency-Key: what a client names a request with, at most this long, of visible
# ASCII (a header value: no control character may reach a key or a log).
IDEMPOTENCY_KEY_MAX = 255
_IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX}}}")


def _idempotent(caller: Caller, ref: str, key: str | None) -> tuple[Claim | None, str]:
    """The claim that takes a request named ``key`` once, and the key of the message it
    writes (known before the commit, so a retry finds it); none without a key."""
    if key is None:
        return None, ""
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key",
            f"must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters",
        )
    digest = hashlib.sha256(f"{caller.email}\n{ref.upper()}\n{key}".encode()).hexdigest()
    return Claim("submission", f"api:{digest[:40]}"), f"api-{digest[:20]}"


def _answer(ticket: Ticket, message: Message) -> dict[str, Any]:
    """The answer to a reply or a note: the ticket's reference, the message written, and
    ``by_email``, whether mail carries it to the customer: not a note, and not an answer
    to a customer the desk has no address for (a chat's handle or phone: the reply is kept
    on the ticket, and the agent answers in the channel; first-user run 16, #1)."""
    # Imported here: the notices are the mail side, which the queue and ticket reads of
    # this function never need at cold start.
    from helpdesk.notices.audience import unreachable_channel

    reaches = message.direction == "out" and not unreachable_channel(ticket)
    return {"ref": ticket.ref, "message": _message(message), "by_email": reaches}


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
        "attachments": [
            # Where the agent downloads it (GET, this API), None for a file no response can
            # carry: never kept, or larger than one answer (first-user run 14, #3).
            attachment.public()
            | {
                "download": f"/agent/tickets/{message.ticket}/files/{message.id}-{number}"
                if servable(attachment)
                else None
            }
            for number, attachment in enumerate(message.attachments, start=1)
            if not attachment.inline
        ],
        # What the intake could not prove (``unauthenticated``: SES did not authenticate the
        # sender's domain, so anyone could have written it; ``unscanned``), and the channel
        # it came by: a forgery in the customer's name read as hers (attack 16, F2).
        "flags": list(message.flags),
        "channel": message.channel,
    }
