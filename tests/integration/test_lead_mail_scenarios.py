"""Team leads are staff (security review F6): a configured lead's authenticated mail acts
as an agent's, played on the local stack from tests/scenarios/."""

from __future__ import annotations

from typing import Any

from desk_support import played

MARIA = "maria@support.example"
DORA = "dora@example.com"


def play(name: str) -> dict[str, Any]:
    state = played(name)
    assert state["dead_letters"] == []
    return state


def test_a_lead_answering_the_relay_answers_the_customer_and_opens_no_ticket() -> None:
    state = play("conversation_a_lead_answers_the_relay.yaml")

    # Four customers' tickets and nothing of Maria's (no outsider ticket).
    assert [t["contact"]["email"] for t in state["tickets"]] == [
        "ada@example.com",
        "ben@example.com",
        "cleo@example.com",
        DORA,
    ]
    dora = state["tickets"][3]
    answer = dora["messages"][-1]
    assert (answer["direction"], answer["from"]) == ("out", MARIA)
    assert answer["text"] == "Dora, your refund was sent yesterday."
    # The lead is no agent: answering does not make her the assignee; the ticket still
    # waits for an agent with room.
    assert dora["assignee"] is None
    to_dora = [m for m in state["outbox"] if m["to"] == [DORA] and m["kind"] == "reply"]
    assert len(to_dora) == 1
    assert "Dora, your refund was sent yesterday." in to_dora[0]["text"]
    # Maria gets the relay of Dora's message and nothing a customer gets.
    to_maria = [m["kind"] for m in state["outbox"] if MARIA in m["to"]]
    assert "acknowledgement" not in to_maria
    assert "relay" in to_maria
    assert state["suppressed"] == []
