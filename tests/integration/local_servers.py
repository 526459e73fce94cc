"""What the tests of `helpdesk local` over real sockets share (test_local_*.py): a server on
free ports with its clock standing still, and the command started as a developer starts it,
in a process of its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conftest import MONDAY_MORNING
from helpdesk_local.server import LocalServer, serve
from helpdesk_local.stack import REPO_ROOT


@contextmanager
def local_server(**options: Any) -> Iterator[LocalServer]:
    """A local server on free ports, its clock standing still on Monday morning unless a
    test moves it; ``options`` as :func:`serve` takes them (``narrate``, ...)."""
    running = serve(port=0, smtp_port=0, speed=0, start=MONDAY_MORNING, **options)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """One local server per module (used by importing it into the test module)."""
    with local_server() as running:
        yield running


def advance(server: LocalServer, by: str) -> None:
    """Move the desk's clock forward ``by`` (a duration as the outbox page takes it, "10m",
    "3d"), as a developer does from the outbox page."""
    request = urllib.request.Request(
        server.url + "/_local/advance",
        data=json.dumps({"by": by}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_command(*, stderr: int) -> tuple[subprocess.Popen[str], int, int]:
    """`helpdesk local` on two free ports with its clock standing still, as a developer
    types it, with the repository's layer and tools on its path: the process (its output
    readable as text), its HTTP port and its SMTP port."""
    http_port, smtp_port = free_port(), free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT / "layers" / "helpdesk"), str(REPO_ROOT / "infra" / "local")]
        ),
    }
    command = [sys.executable, "-m", "helpdesk_local.cli", "local", "--speed", "0"]
    process = subprocess.Popen(
        [*command, "--port", str(http_port), "--smtp-port", str(smtp_port)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=environment,
    )
    return process, http_port, smtp_port
