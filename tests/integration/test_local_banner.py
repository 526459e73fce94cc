"""`helpdesk local`'s banner: a token per agent and lead that the local agent API takes as it
is printed, and whether mail from an agent's address is trusted (newuser 12, #6 and #7)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from local_servers import advance, local_server

from helpdesk_local.server import LocalServer, banner


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def authorization(lines: list[str], email: str) -> str:
    """The ``Authorization`` header the banner prints for ``email``, as copied from it."""
    [line] = [line for line in lines if line.split()[:1] == [email]]
    return line.split("Authorization: ", 1)[1]


def get(server: LocalServer, path: str, **headers: str) -> tuple[int, dict[str, object]]:
    call = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_banner_prints_one_token_line_per_agent_and_lead(server: LocalServer) -> None:
    lines = banner(server)

    tokens = [line for line in lines if "Authorization: Bearer " in line]
    emails = [line.split()[0] for line in tokens]
    assert emails == [
        "lena@support.example",
        "wei@support.example",
        "omar@support.example",
        "maria@support.example",
    ]
    assert any("docs/AGENT_API.md" in line and "valid until" in line for line in lines)


def test_the_banners_token_is_taken_by_the_local_agent_api(server: LocalServer) -> None:
    lines = banner(server)

    assert get(server, "/agent/queue")[0] == 401
    status, queue = get(
        server, "/agent/queue", Authorization=authorization(lines, "lena@support.example")
    )
    assert status == 200, queue
    assert queue["teams"] == ["general", "billing"]
    # A lead's token: the teams she leads.
    status, queue = get(
        server, "/agent/queue", Authorization=authorization(lines, "maria@support.example")
    )
    assert status == 200, queue
    assert queue["teams"] == ["general", "billing"]


def test_the_banners_token_outlives_an_advance_of_the_desks_clock(server: LocalServer) -> None:
    header = authorization(banner(server), "omar@support.example")
    # Past the token's own 30 days: its expiry is the machine's clock, not the desk's.
    advance(server, "31d")

    status, queue = get(server, "/agent/queue", Authorization=header)

    assert status == 200, queue
    assert queue["teams"] == ["tier2"]


def test_the_banner_says_whether_agent_mail_is_trusted(server: LocalServer) -> None:
    [untrusted] = [line for line in banner(server) if "agent mail:" in line]
    assert "not trusted" in untrusted
    assert "--trust-local-agents" in untrusted

    server.trust_local_agents = True
    try:
        [trusted] = [line for line in banner(server) if "agent mail:" in line]
    finally:
        server.trust_local_agents = False
    assert "agent mail: trusted" in trusted
