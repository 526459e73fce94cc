"""AWS clients, created once per container and shared by the adapters.

boto3 is imported here, on first use, not at module import: a handler that never reaches
AWS on a path (a 422 from the form route) does not pay for it.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """The shared client for ``service`` (standard retry mode, short timeouts)."""
    existing = _clients.get(service)
    if existing is not None:
        return existing
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            # Standard retry mode retries throttling and 5xx with jittered backoff; five
            # attempts ride out a burst of throttling without holding a queue message long.
            config = Config(
                retries={"mode": "standard", "max_attempts": 5},
                connect_timeout=3,
                read_timeout=10,
                tcp_keepalive=True,
            )
            _clients[service] = boto3.client(service, config=config)
        return _clients[service]


def reset() -> None:
    """Forget every client (a fresh container; used by the local stack and tests)."""
    with _lock:
        _clients.clear()
