"""The desk's rate limits: one counter per scope and window (an hour, or a UTC day) beside
the tickets, for the web form, the channels, the customer's page and complaints.

A counter is keyed by its window, so an old one is never read again; it is kept one window
past its own (``expires_at``, the table's TTL attribute) and DynamoDB deletes it then.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Protocol

from helpdesk.errors import RateLimited

__all__ = [
    "DAY",
    "HOUR",
    "WindowCounter",
    "client_key",
    "limit_client",
    "limit_rate",
    "network_key",
]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class WindowCounter(Protocol):
    """The counters kept beside the tickets (``DynamoRepository.count_in_window``)."""

    def count_in_window(self, scope: str, window: str, *, limit: int, expires_at: int) -> bool:
        """One more in ``scope`` for ``window``; False once over ``limit``."""
        ...


def limit_rate(
    counters: WindowCounter,
    scope: str,
    *,
    limit: int,
    what: str,
    now: datetime,
    per: timedelta = HOUR,
) -> None:
    """One more hit on the counter of ``scope`` in the current window of length ``per``;
    :class:`RateLimited` naming ``what`` once over ``limit``, to be retried when the next
    window starts. Windows start at whole multiples of ``per`` since the Unix epoch: the
    hour, or the UTC day (Unix time counts no leap seconds)."""
    length = int(per.total_seconds())
    at = int(now.timestamp())
    start = at - at % length
    end = start + length
    window = datetime.fromtimestamp(start, UTC).strftime("%Y%m%d%H" if length < 86400 else "%Y%m%d")
    if not counters.count_in_window(scope, window, limit=limit, expires_at=end + length):
        raise RateLimited(what, max(1, end - at))


# An IPv6 site holds many clients of a /64: a household a /56, a tunnel broker's user a /48
# (RFC 6177 section 2), so each /48 is counted too, at a few clients' share
# (``limits.clients_per_network``): a family or an office of a few is not held back, and
# one subscriber's 256 or 65,536 networks are a few clients, not a channel's or the form's
# whole hour (review 11, #2).
NETWORK_PREFIX = 48


def client_key(source_ip: str) -> str:
    """The client a request counts against: its IPv4 address, or its IPv6 /64 network.

    One IPv6 subscriber gets a whole /64 (RFC 6177 section 2; SLAAC addresses are drawn
    from it, RFC 4291 section 2.5.1), so a counter per IPv6 address is no counter at all.
    ``source_ip`` is API Gateway's requestContext.http.sourceIp, which a client cannot set.
    """
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError:
        return source_ip.strip().lower()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def network_key(client: str) -> str | None:
    """The IPv6 site a client (:func:`client_key`) belongs to, its /48 network; None for an
    IPv4 client, which is one."""
    try:
        network = ipaddress.ip_network(client, strict=False)
    except ValueError:
        return None
    if not isinstance(network, ipaddress.IPv6Network) or network.prefixlen < NETWORK_PREFIX:
        return None
    return str(network.supernet(new_prefix=NETWORK_PREFIX))


def limit_client(
    counters: WindowCounter,
    client: str,
    *,
    scope: str,
    network_scope: str,
    limit: int,
    per_network: int,
    what: str,
    now: datetime,
) -> None:
    """One more request of ``client`` (:func:`client_key`): on ``scope#<client>`` up to
    ``limit`` (:class:`RateLimited` naming ``what``), then, for an IPv6 client, on
    ``network_scope#<its /48>`` up to ``per_network`` times that (naming "network")."""
    limit_rate(counters, f"{scope}#{client}", limit=limit, what=what, now=now)
    network = network_key(client)
    if network is not None:
        limit_rate(
            counters,
            f"{network_scope}#{network}",
            limit=limit * per_network,
            what="network",
            now=now,
        )
