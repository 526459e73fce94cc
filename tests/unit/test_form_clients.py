"""Which client a form request counts against."""

from __future__ import annotations

import pytest

from helpdesk.services.form_intake import client_key


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
