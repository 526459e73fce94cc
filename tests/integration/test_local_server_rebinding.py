"""`helpdesk local` answers its developer pages (/_local/*) only to requests addressed to
the loopback address it listens on (security review F8). After DNS rebinding, a page of
evil.example whose name now resolves to 127.0.0.1 is "same-origin" with its own requests:
the browser sends Host and Origin of evil.example, so only the Host header tells them apart
(RFC 9110 section 7.2: Host names the target; section 15.5.20: 421 Misdirected Request)."""

from __future__ import annotations

import http.client
import json

import pytest
from local_servers import server

from helpdesk_local.server import LocalServer

__all__ = ["server"]  # the fixture of local_servers.py, used by name


def send(
    server: LocalServer, method: str, path: str, *, body: bytes | None = None, **headers: str
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
    try:
        # http.client writes its own Host unless one is given (as a rebound browser gives).
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def clock(server: LocalServer) -> str:
    status, body = send(server, "GET", "/_local/state")
    assert status == 200
    return str(json.loads(body)["clock"])


def advance_form(server: LocalServer, **headers: str) -> int:
    status, _ = send(
        server,
        "POST",
        "/_local/advance",
        body=b"by=1d&back=/_local/outbox",
        **{"Content-Type": "application/x-www-form-urlencoded"} | headers,
    )
    return status


def test_a_rebound_page_of_another_site_cannot_move_the_clock(server: LocalServer) -> None:
    before = clock(server)
    rebound = f"evil.example:{server.http_port}"

    status = advance_form(
        server, Host=rebound, Origin=f"http://{rebound}", **{"Sec-Fetch-Site": "same-origin"}
    )

    assert status == 421
    assert clock(server) == before


@pytest.mark.parametrize("path", ["/_local/state", "/_local/outbox", "/_local/tickets"])
def test_a_rebound_page_cannot_read_the_developer_pages(server: LocalServer, path: str) -> None:
    status, body = send(server, "GET", path, Host=f"evil.example:{server.http_port}")

    assert status == 421
    assert b"clock" not in body and b"outbox" not in body.lower()


def test_another_sites_origin_with_the_loopback_host_is_still_refused(server: LocalServer) -> None:
    before = clock(server)

    status = advance_form(
        server,
        Origin=f"http://evil.example:{server.http_port}",
        **{"Sec-Fetch-Site": "cross-site"},
    )

    assert status == 403
    assert clock(server) == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_developers_own_pages_move_the_clock_by_either_loopback_name(
    server: LocalServer, host: str
) -> None:
    before = clock(server)
    own = f"{host}:{server.http_port}"

    status = advance_form(server, Host=own, Origin=f"http://{own}")

    assert status == 303
    assert clock(server) != before
    status, _ = send(server, "GET", "/_local/state", Host=own)
    assert status == 200


def test_the_loopback_name_on_another_port_is_refused(server: LocalServer) -> None:
    status, _ = send(server, "GET", "/_local/state", Host="127.0.0.1:1")

    assert status == 421
