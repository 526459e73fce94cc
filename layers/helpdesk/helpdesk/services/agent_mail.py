"""Agents answer by email: their reply is relayed to the customer under the desk's address.

Only an authenticated mail from a configured agent reaches this module (email intake
checks both).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.errors import Conflict
from helpdesk.model import Message, Ticket

if TYPE_CHECKING:
    from helpdesk.mail.parse import ParsedMail
    from helpdesk.services.email_intake import EmailIntake, IntakeResult


def take_agent_reply(
    intake: EmailIntake, ticket: Ticket, mail: ParsedMail, raw_key: str, now: datetime
) -> IntakeResult:
    """Record an agent's reply on the ticket and publish AgentReplied for the relay."""
    from helpdesk.services.email_intake import IntakeResult

    repo = intake.repo
    sender = mail.sender.email.lower() if mail.sender else ""
    message = Message(
        id=raw_key.rsplit("/", 1)[-1][:40],
        ticket=ticket.ref,
        direction="out",
        author=sender,
        author_name=mail.sender.name if mail.sender else "",
        at=now,
        text=mail.text.strip(),
        subject=mail.subject,
        message_id=mail.message_id,
        raw_key=raw_key,
    )
    from helpdesk.services.clocks import Change, apply

    for _ in range(5):
        updated, timer_changes = apply(
            ticket, Change(agent_reply=True), at=now, config=intake.config
        )
        try:
            repo.commit(
                updated,
                messages=[message],
                timers=timer_changes,
                claims=[(f"RAW#{raw_key}", "RAW", {"ref": ticket.ref})],
                history=[("agent_replied", {"from": sender})],
            )
            break
        except Conflict:
            if repo.ticket_for_delivery(raw_key) is not None:
                return IntakeResult("duplicate", ticket.ref)
            ticket = repo.get_ticket(ticket.ref)
    else:
        raise Conflict(f"{ticket.ref}: too many concurrent changes")
    intake.publisher.publish(
        [
            (
                "AgentReplied",
                {"ref": ticket.ref, "from": sender, "message": message.id, "text": message.text},
            )
        ]
    )
    return IntakeResult("appended", ticket.ref)
