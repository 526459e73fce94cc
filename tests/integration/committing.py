"""Changing a ticket in a local stack the way every writer does: through the unit of work."""

from __future__ import annotations

from helpdesk.aws.ticket_store import DynamoTicketStore
from helpdesk.config import load_config
from helpdesk.model import Ticket
from helpdesk.services.clocks import Change, apply
from helpdesk.unit_of_work import TicketChange, change_ticket
from helpdesk_local.stack import LocalStack


def ticket_store(stack: LocalStack) -> DynamoTicketStore:
    """The unit of work on the stack's table, as the functions build it."""
    shards = int(stack.functions["survey_dispatch"].environment["TIMER_SHARDS"])
    return DynamoTicketStore(
        stack.resolver.ref("DomainTable") if stack.resolver else "",
        config=load_config(stack.config_path),
        timer_shards=shards,
    )


def set_status(stack: LocalStack, ref: str, status: str) -> Ticket:
    """What ``#status <status>`` does to the ticket, committed with all that follows."""
    store = ticket_store(stack)
    now = stack.clock.read()

    def change(ticket: Ticket) -> TicketChange:
        updated = apply(ticket, Change(status=status), at=now, config=store.config)
        return TicketChange(
            before=ticket, after=updated, at=now, history=[("status", {"to": status})]
        )

    return change_ticket(store, ref, change)
