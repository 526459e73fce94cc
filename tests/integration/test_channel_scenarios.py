"""Other channels as a user sees them: tests/scenarios/channel_*.yaml played on the local
stack (the state JSON that ``helpdesk scenario`` prints), and POST /intake/messages answered
as API Gateway would answer a chat widget, a phone system or a forger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpdesk.services.message_intake import signed_headers
from helpdesk_local.cli import main
from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack, local_channel_secret
from helpdesk_local.state import build_state

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"
SMALL_LIMITS = ROOT / "tests" / "data" / "config" / "channels.yaml"
# Monday 23 November 2026, 08:55 UTC: inside office hours.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
ANN = {
    "id": "m-1",
    "conversation": "c-1",
    "from": {"email": "ann@example.com", "name": "Ann"},
    "text": "Hello, my invoice shows the wrong amount.",
}


def played(name: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["scenario", str(SCENARIOS / name)]) == 0
    state: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert state["dead_letters"] == []
    return state


def test_a_chat_conversation_is_one_ticket_of_the_channel_and_a_forger_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = played("channel_chat_conversation.yaml", capsys)

    [ticket] = state["tickets"]
    assert (ticket["channel"], ticket["contact"]["email"], ticket["status"]) == (
        "chat",
        "ann@example.com",
        "new",
    )
    # The same triage as mail and form: "invoice" routes it to billing.
    assert (ticket["team"], ticket["category"]) == ("billing", "billing")
    assert ticket["sla"]["first_response_due"] == "2026-11-23T12:55:00+00:00"
    # The second message threads; the retried first one and the forged third are not there.
    assert [(m["direction"], m["channel"], m["text"]) for m in ticket["messages"]] == [
        ("in", "chat", "Hello, my invoice shows the wrong amount."),
        ("in", "chat", "It is invoice 1042, charged twice."),
    ]
    kinds = [(mail["kind"], mail["to"]) for mail in state["outbox"]]
    # The usual acknowledgement (once), the agent's assignment and the relay of message 2.
    assert kinds.count(("acknowledgement", ["ann@example.com"])) == 1
    assert ("assignment", [ticket["assignee"]]) in kinds
    relays = [m for m in state["outbox"] if m["kind"] == "relay"]
    assert [m["to"] for m in relays] == [[ticket["assignee"]]]
    assert "charged twice" in relays[0]["text"]
    # Her screenshot is kept with the ticket; no scan vouched for it, so the relay lists it
    # and attaches nothing (as for a mail whose virus verdict is not PASS).
    assert ticket["messages"][1]["attachments"] == [
        {"filename": "invoice-1042.png", "content_type": "image/png", "size": 8}
    ]
    assert relays[0]["attachments"] == []
    # Nothing scanned a channel's file, and no mail failed a scan: the relay says so.
    assert "sent by the channel chat and not virus-scanned" in relays[0]["text"]
    assert "virus scan did not pass" not in relays[0]["text"]
    reason = "does not match the body under the channel's secret"
    assert state["rejected"] == [
        {
            "step": 4,
            "status": 401,
            "body": {
                "detail": f"x-helpdesk-signature: {reason}",
                "field": "x-helpdesk-signature",
                "reason": reason,
            },
        }
    ]


def test_a_caller_without_address_gets_the_reference_and_promise_in_the_answer() -> None:
    scenario = load_scenario(SCENARIOS / "channel_without_email.yaml")
    answers: list[Any] = []
    with LocalStack(start=scenario.start) as stack:
        state = Player(stack, scenario, lambda _n, _s, outcome: answers.append(outcome)).play()

    [ticket] = state["tickets"]
    assert (ticket["channel"], ticket["contact"]["email"]) == ("chat", "chat:phone:+49301234567")
    assert len(ticket["messages"]) == 2
    first, second = (answer.json() for answer in answers)
    assert [a.status for a in answers] == [200, 200]
    assert first["ref"] == second["ref"] == ticket["ref"]
    assert first["by_email"] is False
    assert (
        first["promised_by"] == ticket["sla"]["first_response_due"] == "2026-11-23T12:55:00+00:00"
    )
    assert first["promise"] == (
        f"Thank you. Your request is filed under {ticket['ref']}; a member of our team will"
        " answer you by Monday, 23 November 2026, 13:55 Berlin time."
    )
    # Nobody to acknowledge by mail: only the agent hears of it.
    assert {m["kind"] for m in state["outbox"]} == {"assignment", "relay"}


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    from datetime import UTC, datetime

    with LocalStack(
        config_path=SMALL_LIMITS, start=datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
    ) as local:
        yield local


def post(
    stack: LocalStack,
    body: bytes,
    *,
    channel: str = "chat",
    secret: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    key = (secret or local_channel_secret(channel)).encode()
    sent = signed_headers(channel, key, body, stack.clock.peek()) | (headers or {})
    return stack.http("POST", "/intake/messages", body=body, headers=sent)


def test_each_channel_signs_with_its_own_secret_and_its_tickets_carry_its_name(
    stack: LocalStack,
) -> None:
    body = json.dumps({**ANN, "conversation": "call-1", "id": "call-1"}).encode()

    wrong = post(stack, body, channel="phone", secret=local_channel_secret("chat"))
    right = post(stack, body, channel="phone")

    assert wrong.status == 401
    assert wrong.headers["www-authenticate"] == 'Helpdesk-HMAC-SHA256 realm="helpdesk"'
    assert right.status == 200, right.body
    [ticket] = build_state(stack)["tickets"]
    # The config's rule for the phone channel: the same routing rules as mail and form.
    assert (ticket["ref"], ticket["channel"], ticket["priority"]) == (
        right.json()["ref"],
        "phone",
        "high",
    )


def test_a_stale_request_is_refused_as_a_possible_replay(stack: LocalStack) -> None:
    body = json.dumps(ANN).encode()
    headers = signed_headers(
        "chat", local_channel_secret("chat").encode(), body, stack.clock.peek()
    )
    stack.advance(timedelta(minutes=6))

    answer = stack.http("POST", "/intake/messages", body=body, headers=headers)

    assert answer.status == 401
    assert answer.json()["field"] == "x-helpdesk-timestamp"
    assert build_state(stack)["tickets"] == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (b'{"id": "m-1"', {}, 400, "body"),
        (json.dumps({**ANN, "from": {"name": "Ann"}}).encode(), {}, 422, "from"),
        (json.dumps({**ANN, "text": "x" * 501}).encode(), {}, 413, "text"),
        (json.dumps({**ANN, "text": "x" * 5000}).encode(), {}, 413, "body"),
        (json.dumps(ANN).encode(), {"content-type": "text/plain"}, 415, "content-type"),
    ],
)
def test_a_bad_request_is_answered_naming_the_field_and_stores_nothing(
    stack: LocalStack, body: bytes, headers: dict[str, str], status: int, field: str
) -> None:
    answer = post(stack, body, headers=headers)

    assert (answer.status, answer.json()["field"]) == (status, field), answer.body
    assert answer.json()["reason"]
    assert build_state(stack)["tickets"] == []


def test_a_contact_over_its_hourly_limit_gets_429_with_retry_after(stack: LocalStack) -> None:
    for number in (1, 2):
        assert post(stack, json.dumps({**ANN, "id": f"m-{number}"}).encode()).status == 200

    limited = post(stack, json.dumps({**ANN, "id": "m-3"}).encode())

    assert limited.status == 429
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    assert limited.json()["detail"] == "too many requests from this contact; try again later"
    # The retry of a message already taken in is no new message: it still answers.
    assert post(stack, json.dumps({**ANN, "id": "m-1"}).encode()).status == 200
    [ticket] = build_state(stack)["tickets"]
    assert len(ticket["messages"]) == 2


def test_a_channel_ticket_lives_like_any_other_and_is_counted_under_its_channel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = played("channel_ticket_life.yaml", capsys)

    [ticket] = state["tickets"]
    assert (ticket["channel"], ticket["status"]) == ("chat", "closed")
    assert ticket["sla"]["first_response_at"] is not None
    # The agent's answer stays on the ticket: there is no address to mail it to.
    assert [m["direction"] for m in ticket["messages"]] == ["in", "out"]
    assert all("chat:phone:+49307654321" not in mail["to"] for mail in state["outbox"])
    [report, *_] = [mail for mail in state["outbox"] if mail["kind"] == "report"]
    by_channel = report["text"].split("by channel:", 1)[1].split("by category:", 1)[0]
    assert by_channel.split() == ["chat", "1", "####################"]


def test_a_channel_whose_secret_was_never_deployed_answers_503_without_reading_ssm_each_time(
    stack: LocalStack,
) -> None:
    # The sam-build review: with the default config's chat channel on and its SSM parameter
    # never created, any caller's request made the function fail (500, the errors alarm)
    # and cost an SSM read.
    stack.ssm.delete_parameter(Name="/helpdesk/channels/chat")

    answer = post(stack, json.dumps(ANN).encode())

    assert answer.status == 503
    assert answer.headers["retry-after"] == "300"
    assert "/helpdesk" not in answer.body  # what is missing is the operator's business
    assert build_state(stack)["tickets"] == []
    # Deployed now: the container goes on answering 503 for the Retry-After it gave, rather
    # than asking SSM at every request in between.
    stack.ssm.put_parameter(
        Name="/helpdesk/channels/chat", Value=local_channel_secret("chat"), Type="SecureString"
    )
    assert post(stack, json.dumps({**ANN, "id": "m-2"}).encode()).status == 503


def test_conversations_keep_their_own_ids_and_their_own_customers_on_the_stack(
    stack: LocalStack,
) -> None:
    # Attack 18 (A18-2, A18-3) on DynamoDB: the same message id in another chat is another
    # customer's message, and a stranger posting in Ann's chat gets a ticket of their own.
    def chat(message: dict[str, Any]) -> Any:
        answer = post(stack, json.dumps(message).encode())
        assert answer.status == 200, answer.json()
        return answer.json()["ref"]

    ann = chat(ANN)
    bob = chat({**ANN, "conversation": "c-bob", "from": {"email": "bob@example.com"},
                "text": "My parcel never arrived."})  # fmt: skip
    stranger = {"conversation": "c-1", "from": {"email": "mallory@example.net",
                "name": "Example Support Team"}}  # fmt: skip
    first = chat({**stranger, "id": "x-1", "text": "Confirm your card at evil.example"})
    second = chat({**stranger, "id": "x-2", "text": "Quickly."})
    again = chat({**ANN, "id": "m-2", "text": "It is invoice 1042."})

    assert len({ann, bob, first}) == 3 and second == first and again == ann
    tickets = {t["ref"]: t for t in build_state(stack)["tickets"]}
    assert [m["text"] for m in tickets[ann]["messages"]] == [ANN["text"], "It is invoice 1042."]
    assert [m["text"] for m in tickets[bob]["messages"]] == ["My parcel never arrived."]
    own = tickets[first]
    assert (own["contact"]["email"], own["linked_to"], own["flags"]) == (
        "mallory@example.net",
        ann,
        ["outsider"],
    )
    assert [m["text"] for m in own["messages"]] == ["Confirm your card at evil.example", "Quickly."]


def test_a_new_conversation_is_offered_articles_in_the_answer_and_the_acknowledgement() -> None:
    # First-user review: chat tickets were never offered articles, yet every one of them
    # landed on the report's list of questions no article answers.
    with LocalStack(start=MONDAY_MORNING) as stack:  # the default config and its articles
        _offered_articles(stack)


def _offered_articles(stack: LocalStack) -> None:
    by_phone = post(
        stack,
        json.dumps(
            {
                "id": "p-1",
                "conversation": "c-phone",
                "from": {"phone": "+49 30 7654321", "name": "Bert"},
                "text": "Where is my order? The tracking number shows nothing since Monday.",
            }
        ).encode(),
    )
    by_mail = post(
        stack,
        json.dumps(
            {**ANN, "id": "m-9", "conversation": "c-mail", "text": "I forgot my password"}
        ).encode(),
    )

    assert by_phone.status == by_mail.status == 200
    assert by_phone.json()["articles"][0]["slug"] == "order-status"
    assert by_phone.json()["articles"][0]["title"]
    state = build_state(stack)
    assert [t["suggested"][:1] for t in state["tickets"]] == [["order-status"], ["reset-password"]]
    [acknowledgement] = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert "/answer/" in acknowledgement["text"]
