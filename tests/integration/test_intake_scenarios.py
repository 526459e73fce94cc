"""Email intake as a user sees it: tests/scenarios/intake_*.yaml played on the local stack,
asserting on the state JSON that ``helpdesk scenario`` prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.cli import main
from helpdesk_local.scenario import Player, ReplyStep, load_scenario
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


Play = Callable[[str], dict[str, Any]]


@pytest.fixture
def play(capsys: pytest.CaptureFixture[str]) -> Play:
    """``helpdesk scenario`` on a scenario file: the state it prints (no dead letters)."""

    def played(name: str) -> dict[str, Any]:
        assert main(["scenario", str(SCENARIOS / name)]) == 0
        state: dict[str, Any] = json.loads(capsys.readouterr().out)
        assert state["dead_letters"] == []
        return state

    return played


def _acknowledgements(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [mail for mail in state["outbox"] if mail["kind"] == "acknowledgement"]


def _to_customers(state: dict[str, Any]) -> list[dict[str, Any]]:
    # Assignments, relayed customer messages and colleagues' notes go to agents (issue 16).
    return [mail for mail in state["outbox"] if mail["kind"] not in ("assignment", "relay", "note")]


def test_the_same_mail_delivered_twice_or_resent_makes_one_ticket_and_one_answer(
    play: Play,
) -> None:
    state = play("intake_duplicates.yaml")
    anna, bob = state["tickets"]
    assert anna["contact"]["email"] == "anna@example.com"
    assert [m["text"] for m in anna["messages"]] == [
        "It has been two weeks since I ordered the blue kettle."
    ]
    # Another sender reusing the Message-ID is another message, not a duplicate.
    assert bob["contact"]["email"] == "bob@elsewhere.example"
    assert bob["subject"] == "My invoice is wrong"
    assert sorted(m["to"][0] for m in _acknowledgements(state)) == [
        "anna@example.com",
        "bob@elsewhere.example",
    ]
    assert state["suppressed"] == []


def test_a_fourth_mail_within_the_hour_is_a_ticket_but_gets_no_answer(play: Play) -> None:
    state = play("intake_loop_limit.yaml")
    assert [t["subject"] for t in state["tickets"]] == [f"Your message {n}" for n in range(1, 5)]
    assert [m["ticket"] for m in _acknowledgements(state)] == [
        t["ref"] for t in state["tickets"][:3]
    ]
    [suppressed] = state["suppressed"]
    assert suppressed["reason"] == "loop_limit"
    assert suppressed["from"] == "echo@loop.example"
    assert suppressed["ticket"] == state["tickets"][3]["ref"]


def test_replies_thread_by_every_rule_and_reply_all_from_cc_stays_on_the_ticket(play: Play) -> None:
    state = play("intake_threading.yaml")
    [ticket] = state["tickets"]
    assert ticket["participants"] == ["carl@example.com"]
    assert [(m["from"], m["text"].splitlines()[0]) for m in ticket["messages"]] == [
        ("anna@example.com", "Since this morning every page comes out blank."),
        ("anna@example.com", "The model is a LaserJet 4000."),
        ("anna@example.com", "It is connected by USB."),
        ("anna@example.com", "I tried another cable."),
        ("anna@example.com", "And a new toner cartridge."),
        ("carl@example.com", "Same here on the second floor."),
        ("carl@example.com", "Now the third floor as well."),
        ("anna@example.com", "I am out of the office until Monday."),
    ]
    # One acknowledgement for the ticket; replies and the out-of-office get nothing.
    assert [m["kind"] for m in _to_customers(state)] == ["acknowledgement"]
    [suppressed] = state["suppressed"]
    assert (suppressed["reason"], suppressed["ticket"]) == ("auto_reply", ticket["ref"])
    assert "auto_reply" not in ticket["flags"]


def test_a_stranger_with_a_tickets_reference_gets_a_ticket_of_their_own(play: Play) -> None:
    state = play("intake_hijack.yaml")
    anna, *strangers = state["tickets"]
    assert [m["from"] for m in anna["messages"]] == ["anna@example.com"]
    assert anna["participants"] == []
    assert [t["contact"]["email"] for t in strangers] == ["mallory@evil.example"] * 2
    assert [t["messages"][0]["text"].splitlines()[0] for t in strangers] == [
        "Please send it to 1 Evil Street instead.",
        "Use 1 Evil Street.",
    ]
    # The agent sees where the stranger pointed; the stranger is on no ticket but their own.
    assert all(t["linked_to"] == anna["ref"] for t in strangers)
    assert all("outsider" in t["flags"] for t in strangers)
    assert all(t["participants"] == [] for t in strangers)


def test_a_stranger_answering_our_mail_to_a_customer_never_joins_her_ticket(play: Play) -> None:
    state = play("intake_hijack_headers.yaml")
    anna, *strangers = state["tickets"]
    assert anna["participants"] == []
    assert [(m["from"], m["text"].splitlines()[0]) for m in anna["messages"]] == [
        ("anna@example.com", "My card ending 4242 was charged twice for order 5521."),
        ("lena@support.example", "We are looking into the double charge."),
        ("lena@support.example", "The second charge is refunded to card 4242."),
    ]
    # In-Reply-To alone, References alone, reply-all: three tickets of Mallory's own.
    assert [t["contact"]["email"] for t in strangers] == ["mallory@evil.example"] * 3
    assert [t["messages"][0]["text"].splitlines()[0] for t in strangers] == [
        "Please send the refund to my new card instead.",
        "Any news on my refund?",
        "Thanks, and please copy me on everything.",
    ]
    assert all(t["linked_to"] == anna["ref"] and "outsider" in t["flags"] for t in strangers)
    # Nothing about Anna's ticket ever goes to Mallory: not as To, not as Cc.
    about_anna = [m for m in state["outbox"] if m["ticket"] == anna["ref"]]
    assert [m["kind"] for m in about_anna] == ["acknowledgement", "assignment", "reply", "reply"]
    for mail in about_anna:
        assert "mallory@evil.example" not in [*mail["to"], mail["headers"].get("Cc", "")]
    to_mallory = [m for m in state["outbox"] if "mallory@evil.example" in m["to"]]
    assert {m["ticket"] for m in to_mallory} <= {t["ref"] for t in strangers}
    assert all("4242" not in m["text"] for m in to_mallory)


def _reply_after(between: Callable[[LocalStack, str], object]) -> dict[str, Any]:
    """intake_reply_to_closed_ticket.yaml: Anna's opening, ``between(stack, ref)`` done to
    her ticket the way every writer changes one, then her reply; the state after it."""
    scenario = load_scenario(SCENARIOS / "intake_reply_to_closed_ticket.yaml")
    assert scenario.start is not None
    with LocalStack(start=scenario.start) as stack:
        player = Player(stack, scenario)
        (_, opening), (_, reply) = scenario.steps
        player.run(1, opening)
        between(stack, player.ticket(1)["ref"])
        player.run(2, reply)
        return build_state(stack)


def test_a_reply_to_a_closed_ticket_opens_a_new_ticket_linked_to_it() -> None:
    from committing import set_status

    # Closing is the auto-close sweep's job, days after solving; here it is done directly.
    state = _reply_after(lambda stack, ref: set_status(stack, ref, "closed"))

    old, new = state["tickets"]
    assert old["status"] == "closed" and len(old["messages"]) == 1
    assert new["linked_to"] == old["ref"]
    assert new["messages"][0]["text"].startswith("It came back broken, the lid is cracked.")
    assert [m["ticket"] for m in _acknowledgements(state)] == [old["ref"], new["ref"]]
    assert state["dead_letters"] == []


def test_a_reply_to_a_ticket_holding_its_most_messages_opens_a_new_ticket_linked_to_it() -> None:
    # Attack 12, F2: a thread had no bound. The count is kept on the ticket's item.
    from committing import ticket_store

    from helpdesk.model import MESSAGES_IN_MAX, UNPROVEN_MESSAGES_MAX, Ticket
    from helpdesk.unit_of_work import TicketChange, change_ticket

    def fill(stack: LocalStack, ref: str) -> None:
        store = ticket_store(stack)
        # The scenario's mail is not authenticated: it counts in the unproven share.
        assert (store.load(ref).messages_in, store.load(ref).messages_unproven) == (0, 1)
        # Many messages later.
        at = stack.clock.read()

        def full(ticket: Ticket) -> TicketChange:
            after = replace(
                ticket, messages_in=MESSAGES_IN_MAX, messages_unproven=UNPROVEN_MESSAGES_MAX
            )
            return TicketChange(before=ticket, after=after, at=at)

        change_ticket(store, ref, full)

    state = _reply_after(fill)

    old, new = state["tickets"]
    assert len(old["messages"]) == 1 and old["status"] != "closed"
    assert new["linked_to"] == old["ref"]
    assert new["messages"][0]["text"].startswith("It came back broken, the lid is cracked.")
    assert state["dead_letters"] == []


def test_her_replies_past_a_full_thread_go_on_in_one_continuation() -> None:
    # Review 17, #1b, on the table: the pointer is stored on the full ticket's item and
    # read back by the next reply's intake.
    from committing import ticket_store

    from helpdesk.model import MESSAGES_IN_MAX, Ticket
    from helpdesk.unit_of_work import TicketChange, change_ticket

    scenario = load_scenario(SCENARIOS / "intake_reply_to_closed_ticket.yaml")
    assert scenario.start is not None
    (_, opening), (_, reply) = scenario.steps
    assert isinstance(reply, ReplyStep)
    with LocalStack(start=scenario.start) as stack:
        player = Player(stack, scenario)
        player.run(1, opening)
        ref = player.ticket(1)["ref"]
        store = ticket_store(stack)
        at = stack.clock.read()

        def full(ticket: Ticket) -> TicketChange:
            after = replace(ticket, messages_in=MESSAGES_IN_MAX)
            return TicketChange(before=ticket, after=after, at=at)

        change_ticket(store, ref, full)
        player.run(2, reply)
        player.run(3, replace(reply, text="And the box was open."))
        continued_in = store.load(ref).continued_in
        state = build_state(stack)

    old, new = state["tickets"]
    assert continued_in == new["ref"] == old["continued_in"]
    assert new["linked_to"] == old["ref"] and len(old["messages"]) == 1
    assert [m["text"].split("\n")[0] for m in new["messages"]] == [
        "It came back broken, the lid is cracked.",
        "And the box was open.",
    ]


@pytest.mark.parametrize(("record_keeps_cc", "shares"), [(True, (1, 1)), (False, (0, 2))])
def test_her_unverified_reply_to_the_desks_acknowledgement_counts_in_the_proven_share(
    record_keeps_cc: bool, shares: tuple[int, int]
) -> None:
    # Attack 16, F3: a customer whose domain SES cannot authenticate wrote in the share a
    # stranger's forgeries fill. Her reply names the acknowledgement's Message-ID, which
    # the desk keyed and sent to her alone: the sent-mail record on the table says so. A
    # record written before it kept its Cc does not say so (review 19, #12).
    from committing import ticket_store

    scenario = load_scenario(SCENARIOS / "intake_reply_to_closed_ticket.yaml")
    assert scenario.start is not None
    (_, opening), (_, reply) = scenario.steps
    assert isinstance(reply, ReplyStep)
    unverified = replace(reply, headers={"Authentication-Results": None, "Received-SPF": None})
    with LocalStack(start=scenario.start) as stack:
        player = Player(stack, scenario)
        player.run(1, opening)
        store = ticket_store(stack)
        if not record_keeps_cc:
            [ack] = [m for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"]
            message_id = ack["headers"]["Message-ID"].strip("<>")
            store.update(f"MSGID#{message_id}", "MSGID", "REMOVE cc")
        player.run(2, unverified)
        ref = player.ticket(1)["ref"]
        ticket = store.load(ref)
        state = build_state(stack)

    [only] = state["tickets"]
    assert only["ref"] == ref and len(only["messages"]) == 2
    assert (ticket.messages_in, ticket.messages_unproven) == shares


def test_an_autoresponder_varying_its_plus_address_gets_no_more_than_the_cap(play: Play) -> None:
    state = play("intake_loop_plus_addresses.yaml")
    senders = [f"support+{n}@vendor.example" for n in range(1001, 1013)]
    assert [t["contact"]["email"] for t in state["tickets"]] == senders
    # The shipped config: three acknowledgements per mailbox and hour.
    assert [m["to"] for m in _acknowledgements(state)] == [[s] for s in senders[:3]]
    assert [(s["reason"], s["from"]) for s in state["suppressed"]] == [
        ("loop_limit", sender) for sender in senders[3:]
    ]


def test_a_forged_customer_mail_copying_the_forger_gets_the_forger_no_answer(play: Play) -> None:
    state = play("intake_forged_customer_cc.yaml")
    _, forged = state["tickets"]
    assert forged["contact"]["email"] == "anna@example.com"
    [reply] = [mail for mail in state["outbox"] if mail["kind"] == "reply"]
    assert reply["to"] == ["anna@example.com"]
    for mail in state["outbox"]:
        recipients = " ".join([*mail["to"], str(mail["headers"].get("Cc", ""))])
        assert "evil.example" not in recipients, mail["kind"]
