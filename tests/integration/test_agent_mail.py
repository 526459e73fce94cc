"""Agents work from their mailbox: scenario tests of what customers and agents receive."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cache
from pathlib import Path
from typing import Any

from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@cache
def play(name: str) -> tuple[dict[str, Any], list[EmailMessage]]:
    """The final state of a scenario and every mail SES accepted, as parsed messages."""
    from moto.ses.models import ses_backends

    scenario = load_scenario(SCENARIOS / name)
    with LocalStack(start=scenario.start, config_path=scenario.config) as stack:
        state = Player(stack, scenario).play()
        assert stack.invocation_errors == []
        backend = ses_backends["123456789012"]["us-east-1"]
        raw = [
            BytesParser(policy=policy.default).parsebytes(
                m.raw_data.encode("utf-8", "surrogateescape")
                if isinstance(m.raw_data, str)
                else m.raw_data
            )
            for m in backend.sent_messages
            if getattr(m, "raw_data", None)
        ]
    return state, [m for m in raw if isinstance(m, EmailMessage)]


def kinds(state: dict[str, Any], ref: str) -> list[str]:
    return [m["kind"] for m in state["outbox"] if m["ticket"] == ref and m["kind"] != "report"]


def test_the_whole_lifecycle_assigns_relays_both_ways_solves_and_closes() -> None:
    state, _ = play("agent_lifecycle.yaml")
    ticket = state["tickets"][0]
    ref = ticket["ref"]
    assert ticket["status"] == "closed"
    assert ticket["assignee"] == "lena@support.example"
    assert ticket["tags"] == ["late-shipper"]
    assert [(m["direction"], m["from"]) for m in ticket["messages"]] == [
        ("in", "anna@example.com"),
        ("out", "lena@support.example"),
        ("in", "anna@example.com"),
        ("out", "lena@support.example"),
    ]
    assert kinds(state, ref) == [
        "acknowledgement",
        "assignment",
        "reply",
        "relay",  # Anna's answer, mailed to Lena (issue 16)
        "reply",
        "survey",
    ]
    first_reply, second_reply = [m for m in state["outbox"] if m["kind"] == "reply"]
    assert first_reply["to"] == ["anna@example.com"]
    assert first_reply["from"] == "support@support.example"
    assert first_reply["text"].startswith("Hello Anna, the shipper lost the parcel")
    assert "#tag" not in first_reply["text"]
    assert "Auto-Submitted" not in first_reply["headers"]
    # The agent's quote of the assignment mail ("On ... wrote:") never reaches the customer.
    assert "wrote:" not in second_reply["text"]
    assert "Assigned to you" not in second_reply["text"]
    customer_reply = ticket["messages"][2]
    assert customer_reply["text"] == "Thank you! Will I get a tracking number?"
    # The solving reply says so itself: no separate "solved" notice follows it.
    assert not [m for m in state["outbox"] if m["kind"] == "notification"]
    assert "We consider your request solved" in second_reply["text"]


def test_a_relayed_reply_comes_from_the_desk_in_the_agents_name_and_threads() -> None:
    state, mails = play("agent_lifecycle.yaml")
    ref = state["tickets"][0]["ref"]
    acknowledgement = next(m for m in mails if m["X-Helpdesk-Kind"] == "acknowledgement")
    mails = [m for m in mails if m["X-Helpdesk-Ticket"] == ref]
    customer_mail_ids = [
        m["Message-ID"]
        for m in mails
        if m["X-Helpdesk-Kind"] == "reply" and m["X-Helpdesk-Ticket"] == ref
    ]
    first, second = (m for m in mails if m["X-Helpdesk-Kind"] == "reply")
    assert first["From"].addresses[0].display_name == "Lena via Example Support"
    assert first["From"].addresses[0].addr_spec == "support@support.example"
    assert first["Reply-To"].addresses[0].addr_spec == f"support+{ref.lower()}@support.example"
    # A form ticket has no customer mail yet: the reply answers our acknowledgement.
    assert first["In-Reply-To"] == acknowledgement["Message-ID"]
    # The second answers the customer's own reply, which answered our first relay.
    customer_in = state["tickets"][0]["messages"][2]
    assert customer_in["direction"] == "in"
    assert second["In-Reply-To"] != first["Message-ID"]
    assert second["In-Reply-To"] and len(set(customer_mail_ids)) == 2


def test_every_command_changes_the_ticket_and_none_reaches_the_customer() -> None:
    state, mails = play("agent_commands.yaml")
    [ticket] = state["tickets"]
    assert ticket["priority"] == "high"
    assert ticket["status"] == "pending"
    assert ticket["tags"] == ["late-shipper"]
    assert ticket["team"] == "billing"
    # #assign Wei, then #team billing: Wei works in general only (attack 9, F1), so the
    # move had routing hand the ticket to billing's agent, Lena.
    assert ticket["assignee"] == "lena@support.example"
    note = ticket["messages"][-1]
    assert note["direction"] == "note"
    assert note["text"] == "Customer called too; the shipper confirms a delay."
    to_customer = [m for m in state["outbox"] if m["to"] == ["anna@example.com"]]
    assert [m["kind"] for m in to_customer] == ["acknowledgement", "reply"]
    assert to_customer[1]["text"].startswith("Could you send us your order number?")
    assert all("#" not in m["text"].split("\n", 1)[0] for m in to_customer)
    assert all("shipper confirms" not in m["text"] for m in to_customer)
    # The reply that set the ticket pending says so itself.
    assert "We are waiting for your answer" in to_customer[1]["text"]
    # Wei, assigned by a colleague, hears about it in Wei's first language (zh).
    wei = [m for m in state["outbox"] if m["to"] == ["wei@support.example"]]
    assert [m["kind"] for m in wei] == ["assignment"]
    assert "分配给您的工单" in wei[0]["subject"]
    lena = [m for m in state["outbox"] if m["to"] == ["lena@support.example"]]
    assert [m["kind"] for m in lena] == ["assignment", "assignment"]
    assert mails  # every mail parsed


def test_a_spoofed_agent_reply_is_refused_and_a_bad_command_changes_nothing() -> None:
    state, _ = play("agent_refusals.yaml")
    ticket, spoofed = state["tickets"]
    # The forged "#status solved" neither solved the ticket nor reached the customer.
    assert ticket["status"] == "new"
    assert [m["direction"] for m in ticket["messages"]] == ["in"]
    assert spoofed["flags"] == ["spoofed"] and spoofed["assignee"] is None
    assert [s["reason"] for s in state["suppressed"]] == ["spoofed"]
    assert not [m for m in state["outbox"] if "nothing more to see" in m["text"]]
    # The bad commands: nothing changed, nothing relayed, the agent told why.
    assert not [m for m in state["outbox"] if "must not reach" in m["text"]]
    [error] = [m for m in state["outbox"] if m["kind"] == "error"]
    assert error["to"] == ["lena@support.example"]
    assert "#status closed: 'closed' is not a status" in error["text"]
    assert "#priority whenever: 'whenever' is not a priority" in error["text"]
    # The command-only mail that followed: applied, and the customer got nothing.
    assert ticket["priority"] == "urgent"
    to_customer = [m["kind"] for m in state["outbox"] if m["to"] == ["anna@example.com"]]
    assert to_customer == ["acknowledgement"]


def test_a_reply_to_a_closed_ticket_opens_a_linked_one_showing_the_earlier_ticket() -> None:
    state, _ = play("agent_lifecycle.yaml")
    old, new = state["tickets"]
    assert old["status"] == "closed"
    assert len(old["messages"]) == 4
    assert new["linked_to"] == old["ref"]
    assert new["status"] == "new"
    assert new["messages"][0]["text"] == "The new kettle leaks, can you help again?"
    [assignment] = [
        m for m in state["outbox"] if m["kind"] == "assignment" and m["ticket"] == new["ref"]
    ]
    assert f"- {old['ref']}  closed  2026-11-23  Where is my order?" in assignment["text"]


def test_an_agent_outside_the_tickets_team_is_refused_by_mail_and_nothing_changes() -> None:
    # Attack 3, F8: the agent API's team scope, by mail too.
    state, _ = play("agent_out_of_team.yaml")
    [ticket] = state["tickets"]
    assert ticket["team"] == "tier2"
    assert ticket["assignee"] != "wei@support.example"
    assert [(m["direction"], m["from"]) for m in ticket["messages"]] == [
        ("in", "vip@bigcorp.example"),
        ("out", "omar@support.example"),
    ]
    [error] = [m for m in state["outbox"] if m["kind"] == "error"]
    assert error["to"] == ["wei@support.example"]
    # In Wei's language (he answers in Chinese first), the team and address as they are.
    refusal = "属于 tier2 团队，而 wei@support.example 既不在该团队，也不是其负责人"
    assert refusal in error["text"]
    assert "confidential" not in error["text"]
    to_customer = [m for m in state["outbox"] if m["to"] == ["vip@bigcorp.example"]]
    assert [m["kind"] for m in to_customer] == ["acknowledgement", "reply"]
    assert not [m for m in to_customer if "password" in m["text"]]
