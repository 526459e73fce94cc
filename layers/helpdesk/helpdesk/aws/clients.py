"""AWS clients, created once per container and shared by the adapters.

boto3 is imported here, on first use, not at module import: a handler that never reaches
AWS on a path (a 422 from the form route) does not pay for it.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}

# Retries after the first attempt (botocore's ``max_attempts`` in the retries dict).
# SES refuses sends beyond the account's maximum send rate with a retryable "Throttling -
# Maximum sending rate exceeded" and advises backing off
# (https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html). The
# senders' concurrency is capped near that rate (template.yaml, SenderMaximumConcurrency);
# what still exceeds it waits: six retries back off up to 1, 2, 4, 8, 16, 20 s (random
# below each, so about 25 s in all when every one is refused) before the invocation fails
# and Lambda retries its event, inside the senders' 30 s timeout.
MAX_ATTEMPTS = {"ses": 6}
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

            # Standard retry mode retries throttling and 5xx with jittered exponential
            # backoff (random up to 1, 2, 4 ... seconds, at most 20); five retries ride
            # out a burst of throttling without holding a queue message long.
            # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html
            config = Config(
                retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS.get(service, 5)},
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
