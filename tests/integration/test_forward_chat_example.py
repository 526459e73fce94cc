"""examples/forward_chat.py, run as its documentation says, against ``helpdesk local``: the
transcript becomes one ticket of the chat channel over HTTP, running it again changes
nothing, and a wrong secret is refused with the field named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_servers import advance

from helpdesk_local.server import LocalServer, serve
from helpdesk_local.stack import local_channel_secret

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "forward_chat.py"
TRANSCRIPT = ROOT / "examples" / "chat_transcript.json"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    # The script signs with the machine's clock: the stack's runs at real time from now.
    running = serve(port=0, smtp_port=0, speed=1)
    yield running
    running.stop()


def forward(
    server: LocalServer, secret: str, transcript: Path = TRANSCRIPT, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--url",
            server.url,
            "--channel",
            "chat",
            *options,
            str(transcript),
        ],
        env={**os.environ, "HELPDESK_CHANNEL_SECRET": secret},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def tickets(server: LocalServer) -> list[dict[str, Any]]:
    with urllib.request.urlopen(server.url + "/_local/state", timeout=60) as response:
        state: dict[str, Any] = json.loads(response.read())
    found: list[dict[str, Any]] = state["tickets"]
    return found


def test_the_example_forwards_a_transcript_as_one_chat_ticket_and_only_once(
    server: LocalServer,
) -> None:
    first = forward(server, local_channel_secret("chat"))

    assert first.returncode == 0, first.stderr
    [ticket] = tickets(server)
    assert (ticket["channel"], ticket["contact"]["email"]) == ("chat", "ann@example.com")
    # The customer's words name the ticket, not the bot's greeting (first-user review).
    assert ticket["subject"] == "My invoice 1042 charges me twice for the same kettle."
    assert [m["text"] for m in ticket["messages"]] == [
        "Bot: Hi! How can I help you today?\n\n"
        "My invoice 1042 charges me twice for the same kettle.",
        "Bot: I am handing you over to our team.\n\n"
        "Thank you. The second charge is from 21 November.",
    ]
    lines = first.stdout.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["0042-2", "0042-4"]
    assert all(ticket["ref"] in line for line in lines)
    assert "a member of our team will answer you by" in lines[0]

    again = forward(server, local_channel_secret("chat"))

    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout.replace("(new)", f"({ticket['status']})")
    [same] = tickets(server)
    assert len(same["messages"]) == 2


def test_the_example_reports_a_refusal_naming_the_field(server: LocalServer) -> None:
    refused = forward(server, "not-the-chat-secret-of-this-local-desk")

    assert refused.returncode == 1
    assert "refused (401)" in refused.stderr
    assert '"field": "x-helpdesk-signature"' in refused.stderr


def test_the_example_is_taken_by_a_local_desk_whose_clock_was_advanced(
    server: LocalServer, tmp_path: Path
) -> None:
    # The desk checks a signed timestamp against its own clock, which /_local/advance moves
    # away from this machine's: the example signs with the local desk's clock (newuser 12, #4).
    transcript = json.loads(TRANSCRIPT.read_text(encoding="utf-8"))
    later = tmp_path / "later.json"
    later.write_text(json.dumps({**transcript, "conversation": "c-later"}), encoding="utf-8")
    advance(server, "10m")

    # The deployed desk's check stands: signed with this machine's clock, refused.
    machine = forward(server, local_channel_secret("chat"), later, "--clock", "machine")
    assert machine.returncode == 1
    assert "refused (401)" in machine.stderr
    assert "x-helpdesk-timestamp" in machine.stderr

    taken = forward(server, local_channel_secret("chat"), later)

    assert taken.returncode == 0, taken.stderr
    refs = {line.split()[1] for line in taken.stdout.splitlines()}
    [ticket] = [t for t in tickets(server) if t["ref"] in refs]
    assert ticket["channel"] == "chat"
    assert len(ticket["messages"]) == 2
