"""Pieces that every composition root needs: the config, loaded once per container."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk.config import Config


@cache
def load_config_once(path: str) -> Config:
    """The ops config at ``path``, validated (a broken file fails the cold start loudly)."""
    from helpdesk.config import load_config

    return load_config(path)
