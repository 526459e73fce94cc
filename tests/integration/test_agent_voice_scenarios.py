"""The agent's side of the conversation, one clear voice (issue 16): what the customer and
each person of the desk receive when an agent answers by mail, sends a file, sends a mail
that changes nothing, and when a breached ticket is escalated."""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage
from typing import Any

from test_agent_mail import play

LENA = "lena@support.example"
WEI = "wei@support.example"
MARIA = "maria@support.example"
OMAR = "omar@support.example"


def to(state: dict[str, Any], address: str, ref: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for m in state["outbox"]
        if m["to"] == [address] and (ref is None or m["ticket"] == ref) and m["kind"] != "report"
    ]


def attachments(mail: EmailMessage) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in mail.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_filename())] = payload
    return found


def plain_text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


# ---------------------------------------------------------------------- attachments
def test_an_agents_attachment_reaches_the_customer_with_the_reply() -> None:
    state, mails = play("agent_attachments.yaml")
    [ticket] = state["tickets"]
    first, _ = [m for m in ticket["messages"] if m["direction"] == "out"]
    assert first["attachments"] == [
        {"filename": "return-label.pdf", "content_type": "application/pdf", "size": 21}
    ]
    relayed = [m for m in mails if m["X-Helpdesk-Kind"] == "reply"]
    assert len(relayed) == 2
    assert str(relayed[0]["To"]) == "anna@example.com"
    assert attachments(relayed[0]) == {"return-label.pdf": b"%PDF-1.4 return label"}
    assert "the return label is attached" in plain_text(relayed[0])


def test_an_attachment_only_agent_mail_is_kept_and_relayed_without_our_quote() -> None:
    state, mails = play("agent_attachments.yaml")
    [ticket] = state["tickets"]
    _, second = [m for m in ticket["messages"] if m["direction"] == "out"]
    assert second["text"] == ""
    assert [a["filename"] for a in second["attachments"]] == ["Rücksendeschein 2026.txt"]
    [_, relayed] = [m for m in mails if m["X-Helpdesk-Kind"] == "reply"]
    assert attachments(relayed) == {"Rücksendeschein 2026.txt": b"Return slip for HD kettle"}
    text = plain_text(relayed)
    # The agent's mail was only a quote of ours: that quote never goes back to the customer.
    assert "wrote:" not in text
    assert "attached" in text
    assert state["suppressed"] == []
    assert [m["kind"] for m in to(state, LENA)] == ["assignment"]


# ---------------------------------------------------------------------- one voice
def test_one_mail_to_the_customer_per_agent_reply_carrying_the_status_change() -> None:
    state, _ = play("agent_reply_carries_the_status.yaml")
    first, second = state["tickets"]
    assert first["status"] == "solved"
    to_anna = to(state, "anna@example.com")
    assert [m["kind"] for m in to_anna] == ["acknowledgement", "reply", "reply"]
    waiting, solved = to_anna[1:]
    assert waiting["text"].startswith("Could you send us your order number?")
    assert "waiting for your answer" in waiting["text"]
    assert solved["text"].startswith("The parcel left again today")
    assert "we consider your request solved" in solved["text"].lower()
    assert "just reply" in solved["text"]
    # A status change without text still tells the customer, as before.
    assert [m["kind"] for m in to(state, "boris@example.com")] == [
        "acknowledgement",
        "notification",
    ]
    assert second["status"] == "solved"


def test_the_agent_who_signs_her_text_is_signed_once() -> None:
    state, _ = play("agent_reply_carries_the_status.yaml")
    replies = [m for m in state["outbox"] if m["kind"] == "reply"]
    assert len(replies) == 2
    for reply in replies:
        text = reply["text"].replace("\r\n", "\n")
        assert text.count("\nLena\n") == 1, text
        # Below her own sign-off, only the desk's name: no second "Lena".
        body, signature = text.split("\n-- \n")
        assert "\nLena\n" in body
        assert "Lena" not in signature
        assert signature.startswith("Example Support\n")


def test_one_mail_per_person_when_a_breached_ticket_is_escalated() -> None:
    state, _ = play("sla_a_breached_ticket_moves_to_tier2_and_its_lead_is_mailed.yaml")
    [ticket] = state["tickets"]
    assert ticket["team"] == "tier2" and ticket["assignee"] == OMAR
    at_breach = [m for m in state["outbox"] if m["at"] == "2026-11-23T12:55:00+00:00"]
    people = Counter(address for m in at_breach for address in m["to"])
    assert people == {MARIA: 1, LENA: 1, OMAR: 1}
    [to_omar] = [m for m in at_breach if m["to"] == [OMAR]]
    # Omar leads tier2 and is its agent: one mail gives him the ticket and says why.
    assert to_omar["kind"] == "assignment"
    assert "overdue" in to_omar["text"].lower()
    assert "escalated" in to_omar["text"].lower()
    [to_lena] = [m for m in at_breach if m["to"] == [LENA]]
    assert "has moved to tier2: nothing more for you to do" in to_lena["text"]


# ---------------------------------------------------------------------- nothing to do
def test_an_agent_mail_that_changes_nothing_is_answered_in_the_agents_language() -> None:
    state, _ = play("agent_mail_that_changes_nothing.yaml")
    anna, wang = state["tickets"]
    # Nothing reached the customers beyond the acknowledgement.
    assert [m["kind"] for m in to(state, "anna@example.com")] == ["acknowledgement"]
    assert [m["kind"] for m in to(state, "wang@example.com")] == ["acknowledgement"]
    assert [m["direction"] for m in anna["messages"]] == ["in"]
    assert [m["direction"] for m in wang["messages"]] == ["in"]
    empty, unchanged = [m for m in to(state, LENA) if m["kind"] == "error"]
    assert "nothing was sent or changed" in empty["text"]
    assert "#priority normal" in unchanged["text"]
    assert "already" in unchanged["text"]
    [to_wei] = [m for m in to(state, WEI) if m["kind"] == "error"]
    assert "没有" in to_wei["subject"] + to_wei["text"]
    assert [(s["reason"], s["from"]) for s in state["suppressed"]] == [
        ("no_change", LENA),
        ("no_change", LENA),
        ("no_change", WEI),
    ]
