"""Changing a ticket in a local stack the way every writer does: through the unit of work."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from helpdesk.aws.ticket_store import DynamoTicketStore
from helpdesk.config import Config, load_config
from helpdesk.events import to_detail
from helpdesk.model import Ticket
from helpdesk.services.clocks import Change, apply
from helpdesk.sla import Status
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


def set_status(stack: LocalStack, ref: str, status: Status) -> Ticket:
    """What ``#status <status>`` does to the ticket, committed with all that follows."""
    store = ticket_store(stack)
    now = stack.clock.read()

    def change(ticket: Ticket) -> TicketChange:
        updated = apply(ticket, Change(status=status), at=now, config=store.config)
        return TicketChange(
            before=ticket, after=updated, at=now, history=[("status", {"to": status})]
        )

    return change_ticket(store, ref, change)


class KeptEventsStore(DynamoTicketStore):
    """The unit of work, keeping each commit's events for the test instead of writing them
    to the outbox: the test alone decides where they are delivered (as a consumer's input
    of a documented shape, or not at all)."""

    def __init__(self, table: str, *, config: Config, timer_shards: int = 4) -> None:
        super().__init__(table, config=config, timer_shards=timer_shards)
        self.events: list[tuple[str, dict[str, Any]]] = []

    def commit(self, change: TicketChange) -> Ticket:
        self.events.extend((event.kind, to_detail(event)) for event in change.events)
        return super().commit(replace(change, events=()))


def kept_events_store(stack: LocalStack, config: Config | None = None) -> KeptEventsStore:
    """A :class:`KeptEventsStore` on the stack's table."""
    shards = int(stack.functions["survey_dispatch"].environment["TIMER_SHARDS"])
    return KeptEventsStore(
        stack.resolver.ref("DomainTable") if stack.resolver else "",
        config=config or load_config(stack.config_path),
        timer_shards=shards,
    )
