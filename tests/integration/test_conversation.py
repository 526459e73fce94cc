"""Agents hear their customers (issue 16), played on the local stack from
tests/scenarios/conversation_*.yaml: a customer's reply reaches the assignee with its text
and photo, the agent answers that mail and the customer gets the answer, a colleague's note
reaches the assignee, and while nobody holds a ticket the team's lead hears the customer."""

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
PHOTO = (SCENARIOS / "files" / "cracked-lid.png").read_bytes()
ANNA = "anna@example.com"


@cache
def play(name: str) -> tuple[dict[str, Any], list[EmailMessage], dict[str, str | None]]:
    """The final state, every mail SES accepted (parsed), and for each of them the ticket
    its Message-ID points to in the table (what threads an answer to it)."""
    from moto.ses.models import ses_backends

    scenario = load_scenario(SCENARIOS / name)
    with LocalStack(start=scenario.start, config_path=scenario.config) as stack:
        state = Player(stack, scenario).play()
        assert stack.invocation_errors == []
        parser = BytesParser(policy=policy.default)
        mails = []
        for sent in ses_backends["123456789012"]["us-east-1"].sent_messages:
            raw = getattr(sent, "raw_data", None)
            if raw is not None:
                data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
                mail = parser.parsebytes(data)
                assert isinstance(mail, EmailMessage)
                mails.append(mail)
        assert stack.resolver is not None
        table = stack.resolver.ref("DomainTable")
        threads: dict[str, str | None] = {}
        for mail in mails:
            message_id = str(mail["Message-ID"]).strip("<>")
            item = stack.dynamodb.get_item(
                TableName=table, Key={"PK": {"S": f"MSGID#{message_id}"}, "SK": {"S": "MSGID"}}
            ).get("Item")
            threads[message_id] = item["ref"]["S"] if item and "ref" in item else None
    assert state["dead_letters"] == []
    return state, mails, threads


def relays(mails: list[EmailMessage]) -> list[EmailMessage]:
    """The mails that relay a customer's message or a colleague's note to an agent."""
    return [m for m in mails if m["X-Helpdesk-Kind"] in ("relay", "note")]


def plain(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_a_customers_reply_reaches_the_assignee_with_its_text_and_photo() -> None:
    state, mails, _ = play("conversation_agents_hear_their_customers.yaml")
    [ticket] = state["tickets"]
    customer_reply = relays(mails)[0]

    assert [a.addr_spec for a in customer_reply["To"].addresses] == [ticket["assignee"]]
    assert customer_reply["Subject"] == (
        f"[#{ticket['ref']}] anna@example.com wrote: The kettle lid is broken"
    )
    text = plain(customer_reply)
    assert "> Here it is, the crack runs along the hinge." in text
    # Her answer reopened the ticket: the agent sees it open and when the next answer is due.
    assert "Status:       open" in text
    assert "Next answer:  due Tuesday, 24 November 2026, 09:55 Berlin time" in text
    [photo] = list(customer_reply.iter_attachments())
    assert (photo.get_filename(), photo.get_content_type()) == ("cracked-lid.png", "image/png")
    assert photo.get_payload(decode=True) == PHOTO


def test_the_agent_answering_the_relayed_mail_answers_the_customer() -> None:
    state, mails, threads = play("conversation_agents_hear_their_customers.yaml")
    [ticket] = state["tickets"]  # the agent's mail opened no ticket of its own
    customer_reply = relays(mails)[0]

    # The relay's Message-ID is the desk's own: it points at the ticket. The agent's answer
    # came to the plain address under another subject, so that is what threaded it.
    assert threads[str(customer_reply["Message-ID"]).strip("<>")] == ticket["ref"]
    answer = ticket["messages"][3]
    assert (answer["direction"], answer["from"]) == ("out", ticket["assignee"])
    assert answer["text"] == "Thank you, Anna. A new lid is on its way to you today."
    to_anna = [m for m in state["outbox"] if m["to"] == [ANNA] and m["kind"] == "reply"]
    assert "A new lid is on its way to you today." in to_anna[-1]["text"]
    assert "Here it is" not in to_anna[-1]["text"]  # the quoted relay stays with the agent


def test_a_colleagues_note_reaches_the_assignee_and_never_the_customer() -> None:
    state, mails, _ = play("conversation_agents_hear_their_customers.yaml")
    [ticket] = state["tickets"]
    note = relays(mails)[-1]

    assert [a.addr_spec for a in note["To"].addresses] == [ticket["assignee"]]
    assert note["Subject"] == f"[#{ticket['ref']}] Note from Omar: The kettle lid is broken"
    assert "> The warehouse has three more cracked lids from this batch." in plain(note)
    assert not [m for m in state["outbox"] if ANNA in m["to"] and "warehouse" in m["text"]]
    assert len(relays(mails)) == 2  # Anna's reply and Omar's note; nothing else is relayed


def test_while_nobody_holds_the_ticket_the_customers_reply_reaches_the_teams_lead() -> None:
    state, mails, _ = play("conversation_unassigned_reply_reaches_the_lead.yaml")
    waiting = state["tickets"][3]
    assert waiting["assignee"] is None

    [relay] = relays(mails)
    assert [a.addr_spec for a in relay["To"].addresses] == ["maria@support.example"]
    assert relay["X-Helpdesk-Ticket"] == waiting["ref"]
    assert "> Any news? My bank shows nothing yet." in plain(relay)
    assert "Status:       new" in plain(relay)


def test_a_reply_forged_in_the_customers_name_reaches_the_agent_flagged_and_without_files() -> None:
    state, mails, _ = play("conversation_forged_reply_and_note_answer.yaml")
    [ticket] = state["tickets"]
    forged = relays(mails)[0]

    # The text is on the ticket and the agent hears it, but as what it is.
    assert "> Here is the photo and the invoice." in plain(forged)
    assert "Sender not verified" in plain(forged)
    assert list(forged.iter_attachments()) == []
    assert "invoice.pdf.exe (7 bytes): not attached (not safe to open from mail)" in plain(forged)
    # Headers name the writer by address, never by the name the mail gave itself.
    assert (
        forged["Subject"] == f"[#{ticket['ref']}] anna@example.com wrote: The kettle lid is broken"
    )
    assert forged["From"].addresses[0].display_name == "anna@example.com via Example Support"


def test_an_agents_answer_to_a_colleagues_note_mail_never_reaches_the_customer() -> None:
    state, mails, _ = play("conversation_forged_reply_and_note_answer.yaml")
    [ticket] = state["tickets"]
    note_mail = relays(mails)[-1]
    assert note_mail["X-Helpdesk-Kind"] == "note"
    assert "your answer becomes an internal note" in plain(note_mail)

    answer = ticket["messages"][-1]
    assert (answer["direction"], answer["from"]) == ("note", ticket["assignee"])
    assert answer["text"] == "Thanks Omar, understood, I will not refund her."
    assert not [m for m in state["outbox"] if ANNA in m["to"] and "refund" in m["text"]]
