"""`helpdesk local` on a port another program holds: the port and the flag that moves it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("taken", ["http", "smtp"])
def test_a_port_in_use_is_named_with_the_flag_that_moves_it(
    taken: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Newuser 12, #18: "cannot listen on 127.0.0.1: [Errno 98] Address already in use"
    # named neither the port nor the flag.
    import socket

    from helpdesk_local.server import run_local

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ports = (
            {"port": port, "smtp_port": 0} if taken == "http" else {"port": 0, "smtp_port": port}
        )

        assert run_local(speed=0, **ports) == 1

    flag = "--port" if taken == "http" else "--smtp-port"
    [line] = capsys.readouterr().err.splitlines()
    assert f"port {port} is in use" in line and f"give {flag} N" in line
