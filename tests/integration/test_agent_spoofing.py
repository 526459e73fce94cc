"""Agent power only with authentication aligned with the From domain (RFC 7489 section 3.1),
played through the public interface: tests/scenarios/agent_spoofing.yaml on the local stack,
each reply delivered with the Authentication-Results SES would stamp on it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

SPOOFED = [
    "attacker-domain",
    "spf-unaligned",
    "dkim-unaligned",
    "lookalike",
    "spf-softfail",
    "dkim-fail",
    "dmarc-fail",
    "temperror",
    "dmarc-other-from",
    "quoted-envelope",
    "foreign-authserv",
    "no-verdicts",
]
AGENT = ["all-pass", "dkim-aligned", "spf-subdomain", "dmarc-pass"]


@cache
def _state() -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["scenario", str(SCENARIOS / "agent_spoofing.yaml")]) == 0
    state: dict[str, Any] = json.loads(out.getvalue())
    assert state["dead_letters"] == []
    return state


def _case(text: str) -> str:
    return text.split(":", 1)[0].strip()


def test_only_aligned_authentication_acts_as_the_agent_on_the_ticket() -> None:
    ticket = _state()["tickets"][0]
    assert ticket["tags"] == AGENT
    # The attacker's "#status solved" never ran.
    assert ticket["status"] != "solved"


def test_only_aligned_authentication_relays_text_to_the_customer() -> None:
    state = _state()
    relayed = [_case(m["text"]) for m in state["outbox"] if m["kind"] == "reply"]
    assert relayed == AGENT
    assert not [m for m in state["outbox"] if "evil.example/pay" in m["text"]]
    to_anna = [m["from"] for m in state["outbox"] if "anna@example.com" in m["to"]]
    assert set(to_anna) == {"support@support.example"}


@pytest.mark.parametrize("case", SPOOFED)
def test_an_unaligned_or_failed_agent_mail_is_a_spoofed_ticket_with_no_answer(case: str) -> None:
    state = _state()
    [spoofed] = [
        t
        for t in state["tickets"][1:]
        if any(m["text"].startswith(f"#tag {case}\n") for m in t["messages"])
    ]
    assert spoofed["flags"] == ["spoofed"]
    assert spoofed["assignee"] is None
    assert spoofed["tags"] == []
    assert not [m for m in state["outbox"] if m["ticket"] == spoofed["ref"]]
    [suppressed] = [s for s in state["suppressed"] if s["ticket"] == spoofed["ref"]]
    assert suppressed["reason"] == "spoofed"
    assert suppressed["from"] == "lena@support.example"


def test_every_spoofed_mail_is_kept_and_listed() -> None:
    state = _state()
    assert len(state["tickets"]) == 1 + len(SPOOFED)
    assert [s["reason"] for s in state["suppressed"]] == ["spoofed"] * len(SPOOFED)


def test_a_neighbour_under_the_same_public_suffix_is_not_the_agents_domain() -> None:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["scenario", str(SCENARIOS / "agent_spoofing_public_suffix.yaml")]) == 0
    state = json.loads(out.getvalue())
    ticket, *spoofed = state["tickets"]
    assert ticket["tags"] == ["own-subdomain"]
    assert [_case(m["text"]) for m in state["outbox"] if m["kind"] == "reply"] == ["own-subdomain"]
    assert [t["messages"][0]["text"].split("\n")[0] for t in spoofed] == [
        "#tag neighbour",
        "#tag suffix-signature",
    ]
    assert all(t["flags"] == ["spoofed"] for t in spoofed)
