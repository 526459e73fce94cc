"""Pieces that every composition root needs: the config, loaded once per container."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk.aws.ticket_store import DynamoTicketStore
    from helpdesk.config import Config


@cache
def load_config_once(path: str) -> Config:
    """The ops config at ``path``, validated (a broken file fails the cold start loudly)."""
    from helpdesk.config import load_config

    return load_config(path)


@cache
def ticket_store() -> DynamoTicketStore:
    """The unit of work on the function's table (it is also the repository of the
    function's other records), created once per container."""
    from helpdesk.aws.ticket_store import DynamoTicketStore
    from helpdesk.settings import require

    return DynamoTicketStore(
        require("TABLE_NAME"),
        config=load_config_once(require("HELPDESK_CONFIG")),
        timer_shards=int(require("TIMER_SHARDS")),
    )
