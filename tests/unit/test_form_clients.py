"""Which client a form request counts against."""

from __future__ import annotations

import pytest

from helpdesk.services.rate_limits import client_key, network_key


@pytest.mark.parametrize(
    ("source_ip", "client"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:7:42::1", "2001:db8:7:42::/64"),
        ("2001:DB8:7:42:ffff:1:2:3", "2001:db8:7:42::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("not an address", "not an address"),
    ],
)
def test_a_client_is_an_ipv4_address_or_an_ipv6_network(source_ip: str, client: str) -> None:
    assert client_key(source_ip) == client


@pytest.mark.parametrize(
    ("client", "network"),
    [
        ("2001:db8:7:42::/64", "2001:db8:7::/48"),
        ("2001:db8:7:ffff::/64", "2001:db8:7::/48"),
        ("198.51.100.7", None),
        ("not an address", None),
    ],
)
def test_an_ipv6_client_belongs_to_its_48_network_and_an_ipv4_client_to_none(
    client: str, network: str | None
) -> None:
    assert network_key(client) == network
