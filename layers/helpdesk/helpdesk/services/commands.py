"""What an agent does to a ticket, by email commands or through the agent API.

Both paths validate with the same functions and carry the change out with
:func:`carry_out`: one version-checked write of the ticket, its messages, its clocks and
the agents' loads, then the events that follow (``AgentReplied``, ``StatusChanged``,
``TicketAssigned``, ``TeamChanged``, ``CapacityFreed``).

Email commands stand on the first lines of the agent's reply::

    #status pending
    #tag late-shipper
    Could you send us the tracking number?

Every command is checked before anything changes: one bad command and the whole mail is
refused (the agent gets an error mail), so a half-applied mail never surprises anyone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from helpdesk import sla
from helpdesk.characters import typed_text
from helpdesk.errors import Forbidden, InvalidInput, StateConflict
from helpdesk.events import (
    AgentReplied,
    DomainEvent,
    NoteAdded,
    TeamChanged,
    TicketAssigned,
    event_text,
    status_changes,
)
from helpdesk.model import (
    PRIORITIES,
    AttachmentMeta,
    Direction,
    Message,
    Ticket,
    flags_once_a_person_wrote,
)
from helpdesk.unit_of_work import AlreadyClaimed, Claim, TicketChange, change_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.ports import TicketUnitOfWork

# Every status but closed: a solved ticket is closed by the quiet-period sweep, and a
# closed one is never reopened (the customer's next mail opens a new ticket).
AGENT_STATUSES: tuple[sla.Status, ...] = tuple(s for s in sla.STATUSES if s != "closed")
_Option = TypeVar("_Option", bound=str)
COMMAND_NAMES: tuple[str, ...] = ("status", "priority", "assign", "team", "tag", "note")
# Every command an agent's mail may hold: "#reply <saved reply>" is taken before the others
# (services.agent_mail), so an unknown one is named among them all.
MAIL_COMMAND_NAMES: tuple[str, ...] = (*COMMAND_NAMES, "reply")

# "#reply <slug>" on a line of its own, anywhere in a mail (CONTRACT section 7): the saved
# reply takes its place (services.agent_mail).
SAVED_REPLY_LINE = re.compile(r"#reply[ \t]+(\S+)[ \t]*", re.IGNORECASE)
# A command is "#" and a word at the start of a line; "#1 priority for us" is prose.
_COMMAND_LINE = re.compile(r"#([A-Za-z]+)(?:[ \t]+(.*))?")
_TAG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


class TicketClosed(StateConflict):
    """A closed ticket takes no more changes (a customer's reply opens a linked one)."""


class OutOfScope(Forbidden):
    """The ticket or team belongs to a team the caller neither works in nor leads."""


class TicketOutOfScope(OutOfScope):
    """An agent's action on a ticket of a team the agent neither works in nor leads, as the
    ticket was when the action was to be committed."""

    def __init__(self, ref: str, team: str, agent: str) -> None:
        super().__init__(f"{ref} belongs to team {team}, which {agent} neither works in nor leads")
        self.ref = ref
        self.team = team
        self.agent = agent


@dataclass(frozen=True)
class Command:
    """One command line as the agent wrote it."""

    name: str
    argument: str
    line: str


@dataclass(frozen=True)
class AgentText:
    """An agent's mail split into its commands, the text for the customer and a note."""

    commands: tuple[Command, ...]
    reply: str
    note: str | None


@dataclass(frozen=True)
class TicketEdit:
    """The changes an agent asked for; None (or empty) leaves a property as it is."""

    status: sla.Status | None = None
    priority: str | None = None
    assignee: str | None = None
    team: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing is to change."""
        return self == TicketEdit()


def split_commands(text: str) -> AgentText:
    """Take the commands off the first lines of ``text``; ``#note`` makes the rest a note.

    Blank lines between commands are allowed; the first other line starts the reply.
    """
    lines = text.splitlines()
    commands: list[Command] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            index += 1
            continue
        match = _COMMAND_LINE.fullmatch(line)
        if match is None:
            break
        name, argument = match[1].lower(), (match[2] or "").strip()
        commands.append(Command(name, argument, line))
        index += 1
        if name == "note":
            note = "\n".join([argument, *lines[index:]]).strip()
            return AgentText(tuple(commands), "", note)
    return AgentText(tuple(commands), "\n".join(lines[index:]).strip(), None)


# ---------------------------------------------------------------------- problems
class Problem(str):
    """A problem with an agent's mail, as English text (the agent API's reason, the
    ticket's history) that also knows its words: ``key`` in ``[command_errors]`` of a
    language's words and the ``values`` they are filled with, so that the agent's error
    mail says it in the agent's language (notices.tickets.command_rejected)."""

    key: str
    values: dict[str, str]

    def __new__(cls, text: str, key: str = "", **values: object) -> Problem:
        problem = super().__new__(cls, text)
        problem.key = key
        problem.values = {name: str(value) for name, value in values.items()}
        return problem

    def said(self) -> dict[str, object]:
        """What an event carries of it (empty for a problem without words)."""
        return {"key": self.key, "values": dict(self.values)} if self.key else {}


class _Refused(InvalidInput):
    """InvalidInput whose reason an agent's mail can say in the agent's language: ``key``
    in ``[command_errors]`` and the ``values`` its words are filled with."""

    def __init__(self, field: str, reason: str, key: str, **values: object) -> None:
        super().__init__(field, reason)
        self.key = key
        self.values = values


def problem_of(line: str, error: InvalidInput) -> Problem:
    """The problem of a command ``line`` that ``error`` refused, with its words if any."""
    if isinstance(error, _Refused):
        return Problem(f"{line}: {error.reason}", error.key, line=line, **error.values)
    return Problem(f"{line}: {error.reason}")


# ---------------------------------------------------------------------- validation
def valid_status(value: object) -> sla.Status:
    """A status an agent may set; InvalidInput("status") otherwise."""
    return _one_of(value, AGENT_STATUSES, "status")


def valid_priority(value: object) -> str:
    """A priority; InvalidInput("priority") otherwise."""
    return _one_of(value, PRIORITIES, "priority")


def _one_of(value: object, options: Sequence[_Option], field: str) -> _Option:
    """``value`` in lower case when it is one of ``options``; else refused naming ``field``
    (its words: ``not_a_<field>``)."""
    chosen = value.strip().lower() if isinstance(value, str) else None
    for option in options:
        if option == chosen:
            return option
    raise _Refused(
        field,
        f"{value!r} is not a {field}: use {_choices(options)}",
        f"not_a_{field}",
        value=repr(value),
        options=", ".join(options),
    )


def valid_assignee(value: object, config: Config) -> str:
    """The address of the agent named by ``value`` (name or address, any case)."""
    if not isinstance(value, str) or not value.strip():
        raise _Refused("assignee", "name an agent by name or address", "name_an_agent")
    wanted = value.strip().strip("<>").lower()
    by_address = config.agent(wanted)
    if by_address is not None:
        return by_address.email
    named = [a for a in config.agents if a.name.lower() == wanted]
    if len(named) == 1:
        return named[0].email
    if len(named) > 1:
        raise _Refused(
            "assignee",
            f"{value!r} names several agents: use an address"
            f" ({_choices([a.email for a in named])})",
            "several_agents",
            value=repr(value),
            options=", ".join(a.email for a in named),
        )
    raise _Refused(
        "assignee",
        f"{value!r} is not an agent: use one of {_choices([a.name for a in config.agents])}",
        "not_an_agent",
        value=repr(value),
        options=", ".join(a.name for a in config.agents),
    )


def check_assignee_in_team(assignee: str, team: str, config: Config) -> None:
    """Refuse (naming ``assignee``) an assignee who does not work in ``team``, the team the
    ticket is in after the change. Such a holder got the customer's mail of a ticket they
    may neither read nor answer, and no team's queue listed it (attack 9, F1). Leads who are
    no agents never hold tickets (:func:`valid_assignee`)."""
    if config.works_in(assignee, team):
        return
    members = [a.email for a in config.agents_of(team)]
    if not members:
        raise _Refused(
            "assignee",
            f"team {team}, where the ticket would be, has no agents: nobody can hold its tickets",
            "team_without_agents",
            value=assignee,
            team=team,
        )
    raise _Refused(
        "assignee",
        f"{assignee} does not work in team {team}, where the ticket would be:"
        f" assign one of its agents ({', '.join(members)})",
        "not_in_team",
        value=assignee,
        team=team,
        options=", ".join(members),
    )


def valid_team(value: object, config: Config) -> str:
    """A configured team's name (any case); InvalidInput("team") otherwise."""
    wanted = value.strip().lower() if isinstance(value, str) else ""
    for name in config.team_names:
        if name.lower() == wanted:
            return name
    raise _Refused(
        "team",
        f"{value!r} is not a team: use {_choices(config.team_names)}",
        "not_a_team",
        value=repr(value),
        options=", ".join(config.team_names),
    )


# Tags one change may add: each new tag is written with the change (its history and report
# items ride in the change's transaction, which DynamoDB caps at 100 items).
MAX_TAGS_PER_CHANGE = 20


def valid_tags(values: Sequence[object]) -> tuple[str, ...]:
    """The distinct valid tags of one change, at most :data:`MAX_TAGS_PER_CHANGE`."""
    tags = tuple(dict.fromkeys(valid_tag(value) for value in values))
    if len(tags) > MAX_TAGS_PER_CHANGE:
        raise _Refused(
            "tags",
            f"at most {MAX_TAGS_PER_CHANGE} tags at once",
            "too_many_tags",
            limit=MAX_TAGS_PER_CHANGE,
        )
    return tags


def valid_tag(value: object) -> str:
    """A reason tag such as ``late-shipper``: lower case, digits, ``-``, ``_`` and ``.``."""
    tag = value.strip().lower() if isinstance(value, str) else ""
    if not _TAG.fullmatch(tag):
        raise _Refused(
            "tag",
            f"{value!r} is not a tag: one word of letters, digits and - _ . such as late-shipper",
            "not_a_tag",
            value=repr(value),
        )
    return tag


def unknown_command(command: Command) -> Problem:
    """An unknown command named with the commands there are, and the one it is a slip of
    (``#stauts``: ``#status``), as the saved replies' error names the slugs near a wrong
    one (first-user run 14, #2)."""
    import difflib

    known = ", ".join(f"#{name}" for name in MAIL_COMMAND_NAMES)
    close = difflib.get_close_matches(command.name.lower(), MAIL_COMMAND_NAMES, n=1)
    if close:
        return Problem(
            f"{command.line}: unknown command (did you mean #{close[0]}?); the commands are"
            f" {known}",
            "unknown_command_close",
            line=command.line,
            commands=known,
            close=f"#{close[0]}",
        )
    return Problem(
        f"{command.line}: unknown command; the commands are {known}",
        "unknown_command",
        line=command.line,
        commands=known,
    )


def edit_from_commands(
    commands: Sequence[Command], config: Config
) -> tuple[TicketEdit, list[Problem]]:
    """The edit the commands ask for, and every problem with them (in the agent's words)."""
    values: dict[str, str] = {}
    tags: list[str] = []
    problems: list[Problem] = []
    checks: dict[str, Callable[[str], str]] = {
        "status": valid_status,
        "priority": valid_priority,
        "assign": lambda value: valid_assignee(value, config),
        "team": lambda value: valid_team(value, config),
    }
    for command in commands:
        if command.name == "note":
            continue
        if command.name not in COMMAND_NAMES:
            problems.append(unknown_command(command))
            continue
        try:
            if command.name == "tag":
                tags.append(valid_tag(command.argument))
                continue
            value = checks[command.name](command.argument)
        except InvalidInput as error:
            problems.append(problem_of(command.line, error))
            continue
        if command.name in values and values[command.name] != value:
            problems.append(
                Problem(
                    f"{command.line}: #{command.name} is given twice, with different values",
                    "given_twice",
                    line=command.line,
                    name=command.name,
                )
            )
        values[command.name] = value
    try:
        distinct_tags = valid_tags(tags)
    except InvalidInput as error:
        problems.append(problem_of("#tag", error))
        distinct_tags = ()
    edit = TicketEdit(
        # Checked above already; once more to carry the status's type.
        status=valid_status(values["status"]) if "status" in values else None,
        priority=values.get("priority"),
        assignee=values.get("assign"),
        team=values.get("team"),
        tags=distinct_tags,
    )
    return edit, problems


def _choices(options: Sequence[str]) -> str:
    quoted = list(options)
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)


# ---------------------------------------------------------------------- carrying out
# The scope of an action that is no staff member's request (a test's setup): every team.
# Named, so that leaving the check out is written down where it happens (review 8, #7).
EVERY_TEAM: frozenset[str] | None = None


@dataclass(frozen=True, kw_only=True)
class AgentAction:
    """Everything one agent does to one ticket at once."""

    agent: str
    agent_name: str = ""
    edit: TicketEdit = TicketEdit()
    reply: str = ""
    note: str | None = None
    message_key: str = ""
    message_id: str | None = None
    subject: str | None = None
    raw_key: str | None = None
    # The files of the agent's mail, already kept in S3: they go with the reply to the
    # customer (with the note, inside the desk, when the mail is a #note).
    attachments: tuple[AttachmentMeta, ...] = ()
    # A marker that must not exist yet (an inbound delivery): a retried delivery of the
    # same mail finds it and changes nothing twice.
    claim: Claim | None = None
    # The teams the agent works in or leads (agent_api.Caller.scope), checked on the ticket
    # the action is committed on: checked on an earlier read only, a lead's move to another
    # team that landed in between did not stop the old team's agent (attack 9, F2). No
    # default: every caller says whose scope it carries; EVERY_TEAM checks nothing.
    scope: frozenset[str] | None
    # Whether an agent outside the ticket's team may still leave a note (agents' mail: it
    # is internal and then changes nothing on the ticket); the agent API takes none.
    notes_from_other_teams: bool = False

    def __post_init__(self) -> None:
        # What an agent typed goes on as every typed text does (helpdesk.characters), and
        # a text of nothing else is no text: every rule below reads the cleaned one.
        object.__setattr__(self, "reply", typed_text(self.reply).strip())
        if self.note is not None:
            object.__setattr__(self, "note", typed_text(self.note).strip())

    @property
    def only_a_note(self) -> bool:
        """Whether the action is a note (perhaps with files) and nothing else."""
        return self.note is not None and not self.reply and self.edit.is_empty


@dataclass(frozen=True)
class ActionResult:
    """The ticket after the action, the messages written, and whether it was a repeat."""

    ticket: Ticket
    messages: tuple[Message, ...] = ()
    duplicate: bool = False


def carry_out(
    action: AgentAction,
    ref: str,
    *,
    uow: TicketUnitOfWork,
    config: Config,
    now: datetime,
) -> ActionResult:
    """Apply ``action`` to ticket ``ref`` in one commit, with the events that follow.

    Raises :class:`TicketClosed` for a closed ticket, NotFound for an unknown one,
    :class:`TicketOutOfScope` for one of a team outside ``action.scope`` and InvalidInput
    (``assignee``) for an assignee outside the team the ticket would be in: all decided on
    the ticket being committed, which a concurrent change may have moved since the caller
    read it.
    """
    from helpdesk.services.clocks import Change, apply

    edit = action.edit
    written: list[Message] = []

    def act(ticket: Ticket) -> TicketChange:
        if ticket.status == "closed":
            raise TicketClosed(
                f"{ref} is closed; a reply from the customer opens a new ticket linked to it"
            )
        in_team = action.scope is None or ticket.team in action.scope
        if not in_team and not (action.notes_from_other_teams and action.only_a_note):
            raise TicketOutOfScope(ref, ticket.team, action.agent)
        # A file sent to the customer is an answer as much as a text is.
        replied = bool(action.reply or (action.attachments and action.note is None))
        updated = apply(
            ticket,
            Change(
                agent_reply=replied,
                # A team lead's answer to the customer answers their complaint.
                complaint_answered=replied and config.is_lead(action.agent),
                status=edit.status,
                priority=edit.priority,
                team=edit.team,
            ),
            at=now,
            config=config,
        )
        if edit.assignee is not None:
            check_assignee_in_team(edit.assignee, updated.team, config)
            updated = replace(updated, assignee=edit.assignee)
        if edit.tags:
            updated.tags = list(dict.fromkeys([*updated.tags, *edit.tags]))
        if action.note and in_team:
            # An agent's note is a person at work on the ticket, as much as a reply is;
            # not one from another team's agent, who may not work on it (re-attack 3, N4:
            # such a note moved a robot's ticket into the backlog).
            updated.flags = flags_once_a_person_wrote(updated.flags)
        messages = _messages(action, ref, now)
        written[:] = messages
        return TicketChange(
            before=ticket,
            after=updated,
            at=now,
            messages=messages,
            events=_events(action, ticket, replace(updated, version=ticket.version + 1), messages),
            history=_history(action, ticket, updated),
            claims=[action.claim] if action.claim else [],
            actor=action.agent,
        )

    try:
        stored = change_ticket(uow, ref, act)
    except AlreadyClaimed:
        # The same mail again: its commit published what followed.
        return ActionResult(uow.load(ref), duplicate=True)
    return ActionResult(stored, tuple(written))


OUT: Direction = "out"
NOTE: Direction = "note"


def _messages(action: AgentAction, ref: str, now: datetime) -> list[Message]:
    """The reply (to the customer) and the note (inside the desk) the action writes; the
    mail's files go with the note when there is one, else with the reply (a reply may be
    files alone)."""
    key = action.message_key or now.strftime("%Y%m%d%H%M%S%f")
    files_with: Direction = NOTE if action.note is not None else OUT
    written = [
        Message(
            id=message_id,
            ticket=ref,
            direction=direction,
            author=action.agent,
            author_name=action.agent_name,
            at=now,
            text=text or "",
            subject=action.subject if direction == "out" else None,
            message_id=action.message_id if direction == "out" else None,
            raw_key=action.raw_key,
            attachments=action.attachments if direction == files_with else (),
        )
        for direction, message_id, text in (
            (OUT, action.message_key or f"r{key}", action.reply),
            (NOTE, (action.message_key or f"n{key}") + "-note", action.note),
        )
        if text or (direction == files_with and action.attachments)
    ]
    return written


def _history(
    action: AgentAction, before: Ticket, after: Ticket
) -> list[tuple[str, dict[str, Any]]]:
    by = action.agent
    entries: list[tuple[str, dict[str, Any]]] = []
    if action.reply or (action.attachments and action.note is None):
        entries.append(("agent_replied", {"from": by}))
    if action.note:
        entries.append(("note", {"from": by}))
    for name in ("status", "priority", "team", "assignee"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            entries.append((f"{name}_changed", {"from": old, "to": new, "by": by}))
    added = [tag for tag in after.tags if tag not in before.tags]
    if added:
        entries.append(("tagged", {"tags": added, "by": by}))
    # History items are keyed by time and kind: one item per kind and instant.
    return list({kind: (kind, detail) for kind, detail in entries}.values())


def _first_response_seconds(before: Ticket, after: Ticket) -> int | None:
    """The business seconds the customer waited, when this change gave the first response."""
    clock = sla.newly_achieved(before.sla, after.sla, "first_response")
    return None if clock is None else int(clock.used.total_seconds())


def _events(
    action: AgentAction, before: Ticket, after: Ticket, messages: Sequence[Message]
) -> list[DomainEvent]:
    """What the action tells others (``CapacityFreed`` follows from the commit itself)."""
    events: list[DomainEvent] = []
    reply = next((m for m in messages if m.direction == "out"), None)
    if reply is not None:
        # The relay reads the reply's message; the text is there for when it cannot.
        events.append(
            AgentReplied(
                ref=after.ref,
                sender=action.agent,
                message=reply.id,
                text=event_text(reply.text),
                status=after.status,
                previous_status=before.status,
                first_response_seconds=_first_response_seconds(before, after),
            )
        )
    note = next((m for m in messages if m.direction == "note"), None)
    if note is not None:
        # The assignee hears of a colleague's note (helpdesk.notices.conversation).
        events.append(
            NoteAdded(
                ref=after.ref,
                sender=action.agent,
                message=note.id,
                text=event_text(note.text),
            )
        )
    events += status_changes(before, after, by=action.agent, in_reply=reply is not None)
    if after.assignee != before.assignee and after.assignee not in (None, action.agent):
        events.append(
            TicketAssigned(
                ref=after.ref, agent=after.assignee, by=action.agent, version=after.version
            )
        )
    if after.team != before.team and action.edit.assignee is None:
        # Route finds the new team an agent unless the same action named one.
        events.append(TeamChanged(ref=after.ref, team=after.team, previous_team=before.team))
    return events
