"""What `helpdesk local` tells the developer in the terminal: one line per thing that
happened (a ticket opened, a mail sent and to whom, an SLA warning or breach, ...).

The narrator looks at the local stack after every request, delivered mail and clock tick,
and reads what the deployed desk would leave behind: the events each commit wrote to its
outbox item (read from the table's stream, as the publish function reads them), the
mails SES (moto) accepted, and the mails filed as suppressed. It reads, never writes, so
the stack behaves exactly as it does without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk_local.stack import LocalStack

# Events that say nothing to a person watching the desk (route's bookkeeping).
QUIET_EVENTS = frozenset({"CapacityFreed"})
# Audit entries that no event of the same commit tells: told beside its events.
UNTOLD_BY_EVENTS = frozenset({"priority_changed", "tagged"})
# Audit entries that an event tells when the commit has it: told beside the others only
# without it (an action that names the new team's agent records no TeamChanged, as route
# has nobody to find: helpdesk.services.commands).
TOLD_BY_EVENT = {"team_changed": "TeamChanged"}
SUBJECT_SHOWN = 60
# Why a local mail from an agent's own address is filed "spoofed": the SMTP port stamps
# what SES would for an unsigned client, unless `helpdesk local --trust-local-agents`.
SPOOFED_AGENT_HINT = (
    "helpdesk local: restart with --trust-local-agents to answer as an agent;"
    " docs/SECURITY.md, Local stack"
)
# C0 and C1 controls and DEL: a customer's subject must not move the cursor, clear the
# screen or set the title of the developer's terminal (ECMA-48 escape sequences).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


@dataclass
class Narrator:
    """Lines about what happened on ``stack`` since the last :meth:`narrate`."""

    stack: LocalStack
    say: Callable[[str], None]
    # Whether the SMTP port stamps mail as authenticated (--trust-local-agents); when it
    # does not, an agent's spoofed mail is told with the way out (SPOOFED_AGENT_HINT).
    agent_mail_trusted: bool = False
    _mails_seen: int = 0
    _last_sequence: int = 0
    _staff: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        from helpdesk.config import load_config

        self._staff = (
            frozenset()
            if self.agent_mail_trusted
            else load_config(self.stack.config_path).staff_emails
        )
        # Only what happens from now on: a stack that was played before is not retold.
        self._mails_seen = len(_sent_messages())
        self._last_sequence = max((sequence for sequence, _ in self._records()), default=0)

    def narrate(self) -> None:
        """Say one line per event and mail since the last call, oldest first."""
        for line in self.news():
            self.say(line)

    def news(self) -> list[str]:
        happened: list[tuple[str, str]] = []  # (when, line): events first, then mails
        records = list(self._records())
        if records and records[-1][0] < self._last_sequence:
            self._last_sequence = 0  # a new table (the stack was started again)
        for sequence, record in records:
            if sequence > self._last_sequence:
                self._last_sequence = sequence
                happened += _record_lines(record, staff=self._staff)
        sent = _sent_messages()
        if len(sent) < self._mails_seen:
            self._mails_seen = 0  # a new SES backend (the stack was started again)
        for message in sent[self._mails_seen :]:
            raw = getattr(message, "raw_data", None)
            if raw is not None:
                happened.append(_mail_line(raw))
        self._mails_seen = len(sent)
        now = self.stack.clock.peek()
        # In order of the minute they happened in; within a minute a commit's events come
        # before the mails they caused (the order they were gathered in).
        minutes = [_instant(when, now).replace(second=0, microsecond=0) for when, _ in happened]
        order = sorted(range(len(happened)), key=lambda index: (minutes[index], index))
        return [f"{minutes[index]:%Y-%m-%d %H:%MZ}  {happened[index][1]}" for index in order]

    def _records(self) -> Iterator[tuple[int, Mapping[str, Any]]]:
        """The stream records of the desk's table still in the stream, in write order."""
        from moto.dynamodb.models import dynamodb_backends

        from helpdesk_local.stack import ACCOUNT, REGION

        if self.stack.resolver is None:
            return
        table = dynamodb_backends[ACCOUNT][REGION].get_table(self.stack.resolver.ref("DomainTable"))
        shard = table.stream_shard
        for stored in list(shard.items) if shard is not None else ():
            record: Mapping[str, Any] = stored.record
            yield int(record["dynamodb"]["SequenceNumber"]), record


def _sent_messages() -> list[Any]:
    from moto.ses.models import ses_backends

    from helpdesk_local.stack import ACCOUNT, REGION

    return list(ses_backends[ACCOUNT][REGION].sent_messages)


def _record_lines(
    record: Mapping[str, Any], *, staff: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """The lines of one stream record: an outbox item's events, a suppressed mail (a
    spoofed one from an address of ``staff`` with SPOOFED_AGENT_HINT)."""
    from boto3.dynamodb.types import TypeDeserializer

    from helpdesk.aws.outbox_relay import decode_outbox_item, is_outbox_insert

    if record.get("eventName") != "INSERT":
        return []
    image = record["dynamodb"].get("NewImage") or {}
    deserialize = TypeDeserializer().deserialize
    item = {name: deserialize(value) for name, value in image.items()}
    if is_outbox_insert(record):
        outbox = decode_outbox_item(record)
        # SK = EVT#<at>#<version>: the instant of the commit that wrote these events.
        when = outbox.sort_key.split("#")[1] if outbox.sort_key.count("#") >= 2 else ""
        ref = _shown(str(item.get("PK", "")).removeprefix("TICKET#"))
        told = {kind for kind, _ in outbox.events}
        return [
            (when, event_line(kind, detail))
            for kind, detail in outbox.events
            if kind not in QUIET_EVENTS
        ] + [
            # What the same commit changed that no event tells (review 20, #12).
            (when, f"ticket {ref}: {line}")
            for entry in item.get("entries") or []
            if (kind := str(entry.get("kind"))) in UNTOLD_BY_EVENTS
            or (kind in TOLD_BY_EVENT and TOLD_BY_EVENT[kind] not in told)
            if (line := entry_line(kind, entry.get("detail") or {}))
        ]
    sort_key = str(item.get("SK", ""))
    if sort_key.startswith("EVT#"):
        # A commit without events (route's assignment, the auto-close, a survey sent):
        # its audit entries say what it did.
        return [
            (
                str(item.get("at", "")),
                f"ticket {_shown(str(item.get('PK', '')).removeprefix('TICKET#'))}: {line}",
            )
            for entry in item.get("entries") or []
            if (line := entry_line(str(entry.get("kind", "")), entry.get("detail") or {}))
        ]
    if item.get("type") == "suppressed":
        ticket = f" (ticket {item['ref']})" if item.get("ref") else ""
        sender = str(item.get("from") or "")
        hint = (
            f" ({SPOOFED_AGENT_HINT})"
            if item.get("reason") == "spoofed" and sender.strip().lower() in staff
            else ""
        )
        return [
            (
                str(item.get("at", "")),
                f"mail from {_shown(sender or '?')} not answered:"
                f" {_shown(item.get('reason', ''))}{ticket}{hint}",
            )
        ]
    return []


def entry_line(kind: str, detail: Mapping[str, Any]) -> str | None:
    """An audit entry of a commit without events, for a person; None for bookkeeping."""
    if kind == "assigned":
        return f"assigned to {_shown(detail.get('agent', '?'))}{_by(detail)}"
    if kind == "closed":
        return f"closed{_by(detail)}"
    if kind == "survey_sent":
        return f"survey sent to {_shown(detail.get('to', '?'))}"
    if kind == "priority_changed":
        return (
            f"priority {_shown(detail.get('from', '?'))} -> {_shown(detail.get('to', '?'))}"
            f"{_by(detail)}"
        )
    if kind == "tagged":
        tags = ", ".join(_shown(tag) for tag in detail.get("tags") or [])
        return f"tagged {tags}{_by(detail)}"
    if kind == "team_changed":
        return (
            f"moved from team {_shown(detail.get('from', '?'))} to {_shown(detail.get('to', '?'))}"
            f"{_by(detail)}"
        )
    return None


def event_line(kind: str, detail: Mapping[str, Any]) -> str:
    """One line about one event, for a person: who, what, when due."""
    ref = _shown(detail.get("ref", "?"))
    if kind == "TicketOpened":
        contact = detail.get("contact") or {}
        facts = ", ".join(
            _shown(value)
            for value in (
                detail.get("channel"),
                detail.get("language"),
                detail.get("priority"),
                f"team {detail.get('team')}" if detail.get("team") else None,
            )
            if value
        )
        return (
            f"ticket {ref} opened: {_quoted(detail.get('subject'))} from"
            f" {_shown(contact.get('email', '?'))} ({facts})"
        )
    if kind == "CustomerReplied":
        return f"ticket {ref}: the customer {_shown(detail.get('from', ''))} replied"
    if kind == "AgentReplied":
        return f"ticket {ref}: {_shown(detail.get('from', 'an agent'))} replied"
    if kind == "StatusChanged":
        return (
            f"ticket {ref}: status {_shown(detail.get('previous_status', '?'))} ->"
            f" {_shown(detail.get('status', '?'))}{_by(detail)}"
        )
    if kind == "TicketAssigned":
        return f"ticket {ref}: assigned to {_shown(detail.get('agent', '?'))}{_by(detail)}"
    if kind == "TeamChanged":
        return f"ticket {ref} moved to team {_shown(detail.get('team', '?'))}"
    if kind in ("SlaWarning", "SlaBreached"):
        clock = _shown(str(detail.get("clock", "")).replace("_", " ") or "deadline")
        due = _clock(str(detail.get("due", "")))
        if kind == "SlaWarning":
            return f"SLA warning on {ref}: {clock} due {due}"
        return f"SLA breached on {ref}: {clock} was due {due}"
    if kind == "TicketEscalated":
        return (
            f"ticket {ref} escalated to team {_shown(detail.get('team', '?'))}"
            f" ({_shown(detail.get('reason', ''))})"
        )
    if kind == "CommandRejected":
        agent = _shown(detail.get("agent", "?"))
        errors = "; ".join(_shown(error) for error in detail.get("errors") or [])
        if errors:
            return f"ticket {ref}: commands of {agent} refused: {errors}"
        if detail.get("empty"):
            return f"ticket {ref}: a mail of {agent} carried nothing to do (told why)"
        unchanged = ", ".join(_shown(command) for command in detail.get("unchanged") or [])
        return f"ticket {ref}: a mail of {agent} changed nothing ({unchanged or 'already so'})"
    if kind == "SurveyAnswered":
        return f"ticket {ref}: survey answered, {_shown(detail.get('score', '?'))}/5"
    if kind == "NoteAdded":
        return f"ticket {ref}: note by {_shown(detail.get('from', '?'))}"
    if kind == "ComplaintMade":
        return (
            f"ticket {ref}: complaint from {_shown(detail.get('from', '?'))}"
            f" ({_shown(detail.get('source', '?'))}) to the team lead"
        )
    if kind == "SelfServed":
        return (
            f"ticket {ref}: solved by the customer with the article {_quoted(detail.get('title'))}"
        )
    if kind == "PageLinksRequested":
        return (
            f"fresh page links asked for {_shown(detail.get('email', '?'))} (mailed if a contact's)"
        )
    return f"ticket {ref}: {_shown(kind)}"


def _by(detail: Mapping[str, Any]) -> str:
    """`` (by <who>)`` when the event names who did it (older events may not)."""
    return f" (by {_shown(detail['by'])})" if detail.get("by") else ""


def _mail_line(raw: str | bytes) -> tuple[str, str]:
    from email import policy
    from email.parser import BytesHeaderParser

    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    headers = BytesHeaderParser(policy=policy.default).parsebytes(data)
    kind = _shown(headers.get("X-Helpdesk-Kind") or "mail")
    ticket = headers.get("X-Helpdesk-Ticket")
    to = [
        str(address.addr_spec)
        for name in ("To", "Cc")
        for value in [headers.get(name)]
        if value is not None
        for address in getattr(value, "addresses", ())
    ]
    date = headers.get("Date")
    when = date.datetime.isoformat() if date is not None and date.datetime else ""
    about = f" ({_shown(ticket)})" if ticket else ""
    return (
        when,
        f"mail sent: {kind} to {_shown(', '.join(to) or '?')}{about}:"
        f" {_quoted(headers.get('Subject'))}",
    )


def _instant(iso_time: str, default: datetime) -> datetime:
    """An ISO time in UTC, or ``default`` when it is none."""
    from datetime import UTC

    try:
        instant = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    except ValueError:
        return default.astimezone(UTC)
    return instant.astimezone(UTC) if instant.tzinfo is not None else default.astimezone(UTC)


def _clock(iso_time: str) -> str:
    """A due time as the narration shows it, in UTC to the minute ("2026-11-23 09:55Z")."""
    try:
        instant = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    except ValueError:
        return _shown(iso_time) or "?"
    return f"{_instant(iso_time, instant):%Y-%m-%d %H:%MZ}"


def _quoted(text: object) -> str:
    shown = _shown(text)
    if len(shown) > SUBJECT_SHOWN:
        shown = shown[: SUBJECT_SHOWN - 1] + "…"
    return f'"{shown}"'


def _shown(value: object) -> str:
    """``value`` on one line with no control characters (see _CONTROLS)."""
    return " ".join(_CONTROLS.sub(" ", str(value if value is not None else "")).split())
