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


def ticket_store() -> DynamoTicketStore:
    """The unit of work on the function's table (it is also the repository of the
    function's other records), created once per container and configuration."""
    from helpdesk.settings import require

    return _ticket_store(
        require("TABLE_NAME"), require("HELPDESK_CONFIG"), int(require("TIMER_SHARDS"))
    )


@cache
def _ticket_store(table: str, config_path: str, timer_shards: int) -> DynamoTicketStore:
    from helpdesk.aws.ticket_store import DynamoTicketStore

    return DynamoTicketStore(table, config=load_config_once(config_path), timer_shards=timer_shards)
