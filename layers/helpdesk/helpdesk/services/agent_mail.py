"""Agents answer by email: commands on the first lines change the ticket, the rest is
relayed to the customer under the desk's address (by the acknowledge function, on
``AgentReplied``), and ``#note`` keeps the rest of the mail inside the desk.

Only a mail that :func:`has_agent_power` reaches this module: email intake asks it before
handing the mail over (an agent address whose authentication does not prove its domain is
``spoofed`` and has no agent power). The parser has already cut the agent's quote of our
mail ("On ... wrote:").
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.errors import InvalidInput
from helpdesk.events import CommandRejected
from helpdesk.mail.quotes import new_part
from helpdesk.model import Ticket
from helpdesk.services.commands import (
    SAVED_REPLY_LINE,
    AgentAction,
    AgentText,
    Command,
    Problem,
    TicketClosed,
    TicketEdit,
    TicketOutOfScope,
    carry_out,
    edit_from_commands,
    problem_of,
    split_commands,
)
from helpdesk.unit_of_work import AlreadyClaimed, Claim, TicketChange, change_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.mail.parse import ParsedMail
    from helpdesk.services.email_intake import EmailIntake, IntakeResult


def has_agent_power(mail: ParsedMail, config: Config) -> bool:
    """Whether ``mail`` may act as an agent: its From is staff (a configured agent or a
    team's lead, :meth:`Config.is_staff`) and the receiving server's verdicts authenticate
    that From's domain (DMARC pass, or SPF or DKIM pass aligned with it, RFC 7489 section
    3.1). A pass for any other domain, the sender's own server's for instance, gives no
    power: anyone can pass SPF and DKIM for a domain they own while writing an agent's
    address in From. A lead acts as an agent does, but only agents hold tickets: ``#assign``
    names an agent, and answering assigns nobody."""
    if mail.sender is None or not config.is_staff(mail.sender.key):
        return False
    return mail.auth.authenticates(mail.sender.key)


def take_agent_reply(
    intake: EmailIntake, ticket: Ticket, mail: ParsedMail, raw_key: str, now: datetime
) -> IntakeResult:
    """Carry out an agent's mail on ``ticket``: all its commands, its reply and its files,
    or nothing at all and an error mail to the agent when any command is wrong. A mail that
    would change nothing (no text, note, file or command, or only commands already in
    effect) is never dropped in silence: the agent is told why and it is listed as
    suppressed (``no_change``)."""
    from helpdesk.services.email_intake import LISTED_ATTACHMENTS_MAX, IntakeResult

    sender = mail.sender.email.lower() if mail.sender else ""
    message_key = hashlib.sha256(raw_key.encode()).hexdigest()[:20]
    # Only what the agent wrote above the quote of our mail: a mail that is only the quote
    # relays nothing (the parser keeps a customer's quote-only mail whole instead).
    text = split_commands(new_part(mail.text or ""))
    from helpdesk.notices.conversation import answers_a_note

    if text.note is None and text.reply and answers_a_note(mail.in_reply_to, intake.config):
        # An answer to a colleague's note mail is meant for the colleague: it stays an
        # internal note, never a mail to the customer (docs/SECURITY.md).
        text = replace(text, reply="", note=text.reply)
    # A resent mail arrives under a new S3 key with its Message-ID unchanged (RFC 5322
    # §3.6.4): claiming the Message-ID carries it out once however often it arrives.
    claim = (
        Claim("message", mail.message_id, sender) if mail.message_id else Claim("delivery", raw_key)
    )
    # Files the agent attached (an image inside a signature is not one of them).
    files = [a for a in mail.attachments[:LISTED_ATTACHMENTS_MAX] if not a.inline]
    # What the agent wrote, for an error mail to list: the command lines and each "#reply"
    # line of the text (the saved replies put in their place are not the agent's words).
    written = [command.line for command in text.commands] + [
        line.strip() for line in text.reply.splitlines() if SAVED_REPLY_LINE.fullmatch(line.strip())
    ]
    text, reply_problems = _with_saved_replies(intake, ticket, sender, text)
    edit, problems = edit_from_commands(text.commands, intake.config)
    problems = reply_problems + problems
    if ticket.status == "closed":
        problems.append(
            Problem(
                f"{ticket.ref} is closed: nothing was changed or sent; a reply from the customer"
                " opens a new ticket linked to it",
                "ticket_closed",
                ref=ticket.ref,
            )
        )
    from helpdesk.services.agent_api import caller_of

    # The agent API's team scope holds for mail too (attack 3, F8): the sender acts only
    # on tickets of a team they work in or lead. A colleague of another team may still
    # leave a note (internal: it changes nothing and reaches only the desk's agents).
    caller = caller_of(sender, intake.config)
    only_a_note = (
        text.note is not None
        and not text.reply
        and all(command.name == "note" for command in text.commands)
    )
    # Checked here on the ticket as read, to list it with the mail's other problems, and
    # again on the ticket committed (carry_out): a lead's move may land in between.
    if not (caller is not None and caller.may_work_on(ticket.team)) and not only_a_note:
        problems.append(_other_team(ticket.ref, ticket.team, sender))
    if not problems:
        if not text.reply and not text.note and not files:
            unchanged = _in_effect(edit, text.commands, ticket)
            if unchanged is not None:
                _tell_no_change(
                    intake,
                    ticket.ref,
                    sender,
                    unchanged,
                    mail=mail,
                    raw_key=raw_key,
                    key=message_key,
                    claim=claim,
                    now=now,
                )
                return IntakeResult("unchanged", ticket.ref, ["no_change"])
        # Kept as an inbound customer's files are: the same size and count limits, safe
        # names, under the message's key (the raw mail with every part is already in S3).
        attachments = intake._store_attachments(message_key, tuple(files), [])
        action = AgentAction(
            agent=sender,
            agent_name=mail.sender.name if mail.sender else "",
            edit=edit,
            reply=text.reply,
            note=text.note,
            message_key=message_key,
            message_id=mail.message_id,
            subject=mail.subject,
            raw_key=raw_key,
            attachments=attachments,
            claim=claim,
            scope=caller.scope if caller is not None else frozenset(),
            notes_from_other_teams=True,
        )
        try:
            result = carry_out(action, ticket.ref, uow=intake.uow, config=intake.config, now=now)
        except TicketClosed as closed:
            problems = [Problem(str(closed))]
        except TicketOutOfScope as moved:
            problems = [_other_team(moved.ref, moved.team, sender)]
        except InvalidInput as refused:
            # Decided on the ticket committed: an assignee outside the team it would be in.
            problems = [problem_of(_command_line(text.commands, refused.field), refused)]
        else:
            return IntakeResult("duplicate" if result.duplicate else "appended", ticket.ref)
    _reject(
        intake,
        ticket.ref,
        sender,
        problems,
        commands=written,
        key=message_key,
        mail=mail,
        claim=claim,
        now=now,
    )
    return IntakeResult("rejected", ticket.ref)


def _other_team(ref: str, team: str, sender: str) -> Problem:
    """The problem of a mail on a ticket of a team the sender neither works in nor leads."""
    return Problem(
        f"{ref} belongs to team {team}, which {sender} neither works in"
        " nor leads: nothing was changed or sent",
        "other_team",
        ref=ref,
        team=team,
        sender=sender,
    )


# The command that sets each field of a TicketEdit.
_COMMAND_OF_FIELD = {"assignee": "assign"}


def _command_line(commands: Sequence[Command], field: str) -> str:
    """The line of the (last) command that set ``field``, as the agent wrote it."""
    name = _COMMAND_OF_FIELD.get(field, field)
    lines = [command.line for command in commands if command.name == name]
    return lines[-1] if lines else f"#{name}"


def _in_effect(edit: TicketEdit, commands: Sequence[Command], ticket: Ticket) -> list[str] | None:
    """The command lines of a mail whose every command sets what ``ticket`` already has
    (none for an empty mail); None when the mail changes something."""
    wanted = (
        (edit.status, ticket.status),
        (edit.priority, ticket.priority),
        (edit.assignee, ticket.assignee),
        (edit.team, ticket.team),
    )
    if any(value is not None and value != current for value, current in wanted):
        return None
    if any(tag not in ticket.tags for tag in edit.tags):
        return None
    return [command.line for command in commands if command.name != "note"]


def _tell_no_change(
    intake: EmailIntake,
    ref: str,
    agent: str,
    unchanged: list[str],
    *,
    mail: ParsedMail,
    raw_key: str,
    key: str,
    claim: Claim,
    now: datetime,
) -> None:
    """Record on the ticket that the agent's mail changed nothing and tell the agent why
    (the notice of ``CommandRejected``, in the agent's language); list it as suppressed."""
    told = CommandRejected(
        ref=ref,
        agent=agent,
        errors=[],
        commands=list(unchanged),
        key=key,
        message_id=mail.message_id,
        empty=not unchanged,
        unchanged=list(unchanged),
    )
    history = ("agent_mail_changed_nothing", {"by": agent, "commands": unchanged})
    try:
        _tell_agent(intake, ref, told, history, claim=claim, now=now)
    except AlreadyClaimed:
        return  # the same mail again (perhaps under another key): told and listed once
    intake.repo.record_suppressed(
        at=now, reason="no_change", sender=agent, subject=mail.subject, raw_key=raw_key, ref=ref
    )


def _reject(
    intake: EmailIntake,
    ref: str,
    agent: str,
    problems: list[Problem],
    *,
    commands: Sequence[str],
    key: str,
    mail: ParsedMail,
    claim: Claim,
    now: datetime,
) -> None:
    rejected = CommandRejected(
        ref=ref,
        agent=agent,
        errors=[str(problem) for problem in problems],
        said=[problem.said() for problem in problems],
        commands=list(commands),
        key=key,
        message_id=mail.message_id,
    )
    history = ("commands_rejected", {"by": agent, "errors": [str(p) for p in problems]})
    with contextlib.suppress(AlreadyClaimed):
        _tell_agent(intake, ref, rejected, history, claim=claim, now=now)


def _tell_agent(
    intake: EmailIntake,
    ref: str,
    told: CommandRejected,
    history: tuple[str, Mapping[str, object]],
    *,
    claim: Claim,
    now: datetime,
) -> None:
    """``told`` on the ticket's record (with its ``history`` entry), and told to the agent
    from the outbox; claimed, so that the same mail again is not told twice: raises
    AlreadyClaimed then."""

    def record(ticket: Ticket) -> TicketChange:
        return TicketChange(
            before=ticket,
            after=replace(ticket, updated_at=now),
            at=now,
            events=[told],
            history=[history],
            claims=[claim],
        )

    change_ticket(intake.uow, ref, record)


def _with_saved_replies(
    intake: EmailIntake, ticket: Ticket, sender: str, text: AgentText
) -> tuple[AgentText, list[Problem]]:
    """``text`` with each ``#reply <slug>`` line replaced by that saved reply in the
    customer's language, its placeholders filled (the customer's name, the reference, the
    promised time in the customer's zone, the agent's name); the problems with the slugs
    that name no saved reply (with the close matches), for the agent's error mail. A
    ``#reply`` among the command lines goes on top of the reply, in the order written."""
    on_top = [command for command in text.commands if command.name == "reply"]
    lines = text.reply.splitlines()
    if not on_top and not any(SAVED_REPLY_LINE.fullmatch(line.strip()) for line in lines):
        return text, []  # most mail: the knowledge base is never loaded
    from helpdesk.knowledge import KnowledgeBase
    from helpdesk.knowledge.replies import ReplyValues
    from helpdesk.notices import audience

    knowledge = intake.knowledge() if intake.knowledge else KnowledgeBase.empty()
    config = intake.config
    language = audience.customer_language(ticket.language, config)
    values = ReplyValues(
        customer_name=ticket.contact_name or ticket.contact_email,
        reference=ticket.ref,
        promised_time=_promised_time(
            ticket,
            audience.customer_timezone(
                intake.repo.get_contact(ticket.contact_email),
                audience.ticket_timezone(ticket.policy, config),
            ),
            language,
        ),
        agent_name=audience.agent_name(sender, config),
    )
    problems: list[Problem] = []

    def saved(slug: str) -> str:
        reply = knowledge.saved_reply(slug, language, values)
        if reply is not None:
            return reply
        close = ", ".join("#reply " + c for c in knowledge.close_matches(slug, language))
        hint = f" (did you mean: {close}?)" if close else ""
        problems.append(
            Problem(
                f"#reply {slug}: no saved reply of that name in {language}{hint}",
                "no_saved_reply_close" if close else "no_saved_reply",
                slug=slug,
                language=language,
                close=close,
            )
        )
        return ""

    top = [saved(command.argument.split()[0]) for command in on_top if command.argument]
    problems.extend(
        Problem("#reply: name the saved reply, e.g. #reply order-delayed", "reply_unnamed")
        for command in on_top
        if not command.argument
    )
    body = []
    for line in lines:
        match = SAVED_REPLY_LINE.fullmatch(line.strip())
        body.append(saved(match[1]) if match else line)
    reply = "\n\n".join(part for part in [*top, "\n".join(body).strip()] if part)
    commands = tuple(command for command in text.commands if command.name != "reply")
    return replace(text, commands=commands, reply=reply), problems


def _promised_time(ticket: Ticket, zone: str, language: str) -> str:
    """The next promise the customer holds (the answer owed, else the resolution), in the
    customer's ``zone``, as the customer's page states it; "" when no clock runs. Never a
    due already kept: the first answer's, once given, had been offered after it."""
    from helpdesk.render import format_local_datetime

    promise = ticket.sla.next_promise() if ticket.sla else None
    if promise is None:
        return ""
    return format_local_datetime(promise[1], zone, language)
