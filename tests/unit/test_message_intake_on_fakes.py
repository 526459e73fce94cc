"""A channel's messages (POST /intake/messages, services/message_intake.py) on the fakes:
the signature decides before anything is read, a message opens or joins its conversation's
ticket, the same message id changes nothing, and the limits answer 429."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakes import CONFIG, MONDAY_MORNING, FakeMailStore, FakeRecords, FakeUnitOfWork, with_limits
from helpdesk.config import ChannelSection
from helpdesk.errors import (
    InvalidInput,
    MalformedInput,
    NotSetUp,
    RateLimited,
    TooLarge,
    Unauthenticated,
    UnsupportedMediaType,
)
from helpdesk.events import CustomerReplied, StatusChanged, TicketOpened
from helpdesk.http import error_response
from helpdesk.model import MESSAGES_IN_MAX, UNPROVEN_MESSAGES_MAX
from helpdesk.services.message_intake import (
    ChannelMisconfigured,
    ChannelSecrets,
    MessageDesk,
    sign,
    signed_headers,
)

NOW = MONDAY_MORNING  # 09:55 in Berlin: office hours
SECRET = b"unit-test-chat-secret-of-32-bytes-or-more"
ANN: dict[str, Any] = {
    "id": "m-1",
    "conversation": "c-1",
    "from": {"email": "Ann@Example.com", "name": "Ann"},
    "text": "Hello, my invoice shows the wrong amount.",
}


class Desk:
    def __init__(self, config: Any = CONFIG, secret: bytes = SECRET) -> None:
        self.uow = FakeUnitOfWork(config)
        self.records = FakeRecords(self.uow)
        self.store = FakeMailStore()
        self.reads: list[str] = []

        def read(parameter: str) -> bytes:
            self.reads.append(parameter)
            return secret

        self.desk = MessageDesk(
            uow=self.uow,
            repo=self.records,
            config=config,
            store=self.store,
            secrets=ChannelSecrets(read),
        )

    def post(
        self,
        message: dict[str, Any],
        *,
        at: Any = NOW,
        headers: dict[str, str] | None = None,
        secret: bytes = SECRET,
        channel: str = "chat",
    ) -> dict[str, Any]:
        body = json.dumps(message).encode()
        sent = headers if headers is not None else signed_headers(channel, secret, body, at)
        return self.desk.post(body=body.decode(), is_base64_encoded=False, headers=sent, now=at)


def test_a_first_message_opens_a_ticket_of_the_channel_with_the_usual_acknowledgement() -> None:
    desk = Desk()

    answer = desk.post(ANN)

    ticket = desk.uow.tickets[answer["ref"]]
    assert (ticket.channel, ticket.contact_email, ticket.contact_name) == (
        "chat",
        "ann@example.com",
        "Ann",
    )
    assert ticket.subject == "Hello, my invoice shows the wrong amount."
    # The routing rule for "invoice" applies as to mail and form: the same triage.
    assert (ticket.team, ticket.category) == ("billing", "billing")
    [message] = desk.uow.messages(ticket.ref)
    assert (message.channel, message.author, message.text) == (
        "chat",
        "ann@example.com",
        ANN["text"],
    )
    [opened] = desk.uow.events()
    assert isinstance(opened, TicketOpened)
    assert opened.notify is True  # the acknowledgement goes to her address
    assert answer["promised_by"] == "2026-11-23T12:55:00+00:00"
    assert answer["by_email"] is True
    assert answer["promise"] == (
        f"Thank you. Your request is filed under {ticket.ref}; a member of our team will"
        " answer you by Monday, 23 November 2026, 13:55 Berlin time."
    )
    assert desk.reads == ["/helpdesk/channels/chat"]


def test_a_message_in_the_same_conversation_joins_the_ticket_and_reaches_its_agent() -> None:
    desk = Desk()
    first = desk.post(ANN)

    again = desk.post(
        {**ANN, "id": "m-2", "text": "It is invoice 1042."}, at=NOW + timedelta(minutes=3)
    )

    assert again["ref"] == first["ref"]
    assert len(desk.uow.tickets) == 1
    assert [m.text for m in desk.uow.messages(first["ref"])] == [ANN["text"], "It is invoice 1042."]
    replied = desk.uow.events()[-1]
    assert isinstance(replied, CustomerReplied)
    assert (replied.sender, replied.text) == ("ann@example.com", "It is invoice 1042.")
    # The secret was read once for the container, not once per request.
    assert desk.reads == ["/helpdesk/channels/chat"]


def test_the_same_message_id_twice_changes_nothing_and_answers_the_same() -> None:
    desk = Desk()
    first = desk.post(ANN)
    commits = desk.uow.commits

    again = desk.post(ANN, at=NOW + timedelta(seconds=20))

    assert again == first
    assert desk.uow.commits == commits
    assert len(desk.uow.messages(first["ref"])) == 1
    assert desk.uow.bus.kinds() == ["TicketOpened"]


def test_a_message_on_a_solved_ticket_reopens_it_like_a_mail_reply() -> None:
    desk = Desk()
    ref = desk.post(ANN)["ref"]
    desk.uow.tickets[ref] = replace(desk.uow.tickets[ref], status="solved", solved_at=NOW)

    answer = desk.post({**ANN, "id": "m-2", "text": "Still wrong."}, at=NOW + timedelta(hours=1))

    assert (answer["ref"], answer["status"]) == (ref, "open")
    changed = [e for e in desk.uow.events() if isinstance(e, StatusChanged)]
    assert [(e.previous_status, e.status) for e in changed] == [("solved", "open")]


def test_a_conversation_whose_ticket_is_closed_goes_on_in_a_new_linked_ticket() -> None:
    desk = Desk()
    old = desk.post(ANN)["ref"]
    desk.uow.tickets[old] = replace(desk.uow.tickets[old], status="closed", closed_at=NOW)

    later = NOW + timedelta(days=9)
    new = desk.post({**ANN, "id": "m-9", "text": "A new question."}, at=later)["ref"]
    then = desk.post({**ANN, "id": "m-10", "text": "And more."}, at=later)["ref"]

    assert new != old
    assert then == new
    assert desk.uow.tickets[new].linked_to == old
    assert [m.text for m in desk.uow.messages(old)] == [ANN["text"]]


def test_a_conversation_whose_ticket_holds_its_most_messages_goes_on_in_a_new_linked_one() -> None:
    # Attack 12, F2: a thread had no bound (helpdesk.model.MESSAGES_IN_MAX).
    # Ann's address is typed (the chat verifies none): her messages take the unproven share.
    desk = Desk()
    old = desk.post(ANN)["ref"]
    full = replace(desk.uow.tickets[old], messages_unproven=UNPROVEN_MESSAGES_MAX)
    desk.uow.tickets[old] = full

    new = desk.post({**ANN, "id": "m-9", "text": "Still wrong."}, at=NOW + timedelta(hours=1))
    then = desk.post({**ANN, "id": "m-10", "text": "And more."}, at=NOW + timedelta(hours=2))

    assert new["ref"] != old and then["ref"] == new["ref"]
    assert desk.uow.tickets[new["ref"]].linked_to == old
    assert desk.uow.tickets[new["ref"]].messages_unproven == 2
    assert [m.text for m in desk.uow.messages(old)] == [ANN["text"]]


def test_a_chat_visitors_messages_do_not_spend_the_share_of_proven_messages() -> None:
    desk = Desk()
    old = desk.post(ANN)["ref"]
    desk.uow.tickets[old] = replace(desk.uow.tickets[old], messages_in=MESSAGES_IN_MAX)

    more = desk.post({**ANN, "id": "m-9", "text": "Still wrong."}, at=NOW + timedelta(hours=1))

    assert more["ref"] == old
    assert desk.uow.tickets[old].messages_unproven == 2


def test_a_contact_without_address_gets_the_reference_and_promise_in_the_answer() -> None:
    desk = Desk()

    answer = desk.post(
        {
            "id": "call-7",
            "conversation": "call-7",
            "from": {"phone": "+49 (30) 123-4567", "name": "Bert"},
            "text": "Мой роутер не работает с утра.",
            "timezone": "Asia/Shanghai",
        }
    )

    ticket = desk.uow.tickets[answer["ref"]]
    assert ticket.contact_email == "chat:phone:+49301234567"
    assert ticket.language == "ru"  # detected, as for mail
    [opened] = desk.uow.events()
    assert isinstance(opened, TicketOpened) and opened.notify is False
    assert answer["by_email"] is False
    # In her language and her zone (Shanghai is UTC+8: 12:55 UTC is 20:55 there).
    assert answer["promise"].startswith(
        f"Спасибо. Ваше обращение зарегистрировано под номером {ticket.ref}."
    )
    assert "20:55" in answer["promise"]
    assert answer["promised_by"] == "2026-11-23T12:55:00+00:00"


def test_files_are_kept_with_the_message() -> None:
    desk = Desk()
    photo = base64.b64encode(b"\x89PNG fake").decode()

    answer = desk.post({**ANN, "attachments": [{"filename": "../router.png", "content": photo}]})

    [message] = desk.uow.messages(answer["ref"])
    [file] = message.attachments
    assert (file.filename, file.content_type, file.size) == ("router.png", "image/png", 9)
    assert file.key is not None and desk.store.objects[file.key] == b"\x89PNG fake"
    assert file.key.startswith("attachments/chan-")


def test_a_file_name_with_a_right_to_left_override_is_kept_as_it_reads() -> None:
    # "invoice\u202Efdp.exe" displays as "invoiceexe.pdf": the override goes, as from a
    # mail's attachment (helpdesk.mail.parse).
    desk = Desk()
    content = base64.b64encode(b"MZ").decode()

    answer = desk.post(
        {**ANN, "attachments": [{"filename": "invoice\u202efdp.exe", "content": content}]}
    )

    [file] = desk.uow.messages(answer["ref"])[0].attachments
    assert file.filename == "invoicefdp.exe"
    assert file.key is not None and "\u202e" not in file.key


@pytest.mark.parametrize(
    ("headers", "field", "reason"),
    [
        ({}, "x-helpdesk-channel", "is required"),
        ({"x-helpdesk-channel": "fax"}, "x-helpdesk-channel", "is not a channel"),
        ({"x-helpdesk-channel": "chat"}, "x-helpdesk-timestamp", "is required"),
        (
            {"x-helpdesk-channel": "chat", "x-helpdesk-timestamp": "yesterday"},
            "x-helpdesk-timestamp",
            "Unix seconds",
        ),
        (
            {"x-helpdesk-channel": "chat", "x-helpdesk-timestamp": str(int(NOW.timestamp()))},
            "x-helpdesk-signature",
            "is required",
        ),
    ],
)
def test_a_request_missing_its_proof_is_refused_naming_the_header(
    headers: dict[str, str], field: str, reason: str
) -> None:
    desk = Desk()

    with pytest.raises(Unauthenticated) as refused:
        desk.post(ANN, headers={"content-type": "application/json", **headers})

    assert refused.value.field == field and reason in refused.value.reason
    assert desk.uow.tickets == {} and desk.records.windows == {}


def test_a_wrong_secret_is_refused_with_401_and_a_challenge_and_nothing_stored() -> None:
    desk = Desk()

    with pytest.raises(Unauthenticated) as refused:
        desk.post(ANN, secret=b"a-guess-of-the-chat-secret-that-is-long-enough")

    response = error_response(refused.value)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Helpdesk-HMAC-SHA256 realm="helpdesk"'
    assert json.loads(str(response.body))["field"] == "x-helpdesk-signature"
    assert desk.uow.tickets == {} and desk.records.windows == {}


def test_a_signed_body_changed_on_the_way_is_refused() -> None:
    desk = Desk()
    body = json.dumps(ANN).encode()
    headers = signed_headers("chat", SECRET, body, NOW)
    changed = body.replace(b"wrong amount", b"right amount")

    with pytest.raises(Unauthenticated):
        desk.desk.post(body=changed.decode(), is_base64_encoded=False, headers=headers, now=NOW)


def test_a_request_signed_more_than_five_minutes_away_is_refused_as_a_replay() -> None:
    desk = Desk()
    body = json.dumps(ANN).encode()
    headers = signed_headers("chat", SECRET, body, NOW - timedelta(minutes=5, seconds=1))

    with pytest.raises(Unauthenticated) as refused:
        desk.desk.post(body=body.decode(), is_base64_encoded=False, headers=headers, now=NOW)
    assert refused.value.field == "x-helpdesk-timestamp"

    inside = signed_headers("chat", SECRET, body, NOW - timedelta(minutes=4, seconds=59))
    assert desk.desk.post(body=body.decode(), is_base64_encoded=False, headers=inside, now=NOW)


def test_while_a_secret_is_replaced_either_one_is_accepted() -> None:
    new = b"the-new-chat-secret-of-at-least-32-bytes"
    desk = Desk(secret=SECRET + b"\n" + new)

    desk.post(ANN, secret=new)
    desk.post({**ANN, "id": "m-2"}, secret=SECRET)

    # A sender rolling its own secret may send both signatures.
    body = json.dumps({**ANN, "id": "m-3"}).encode()
    headers = signed_headers("chat", b"x" * 40, body, NOW)
    timestamp = headers["x-helpdesk-timestamp"]
    headers["x-helpdesk-signature"] += "," + sign(new, timestamp, body)
    desk.desk.post(body=body.decode(), is_base64_encoded=False, headers=headers, now=NOW)
    assert len(desk.uow.messages(next(iter(desk.uow.tickets)))) == 3


def test_a_secret_too_short_to_be_one_is_a_configuration_error_not_a_refusal() -> None:
    desk = Desk(secret=b"short")

    with pytest.raises(ChannelMisconfigured) as error:
        desk.post(ANN, secret=b"short")
    assert "short" not in str(error.value)  # the value is never told


@pytest.mark.parametrize(
    ("stored", "error"),
    [
        (b"short", ChannelMisconfigured),  # a value too short to be a secret
        (PermissionError("AccessDeniedException: kms:Decrypt"), PermissionError),  # unreadable
        (NotSetUp("ParameterNotFound"), NotSetUp),  # never deployed
    ],
)
def test_an_unusable_secret_is_read_once_for_a_while_however_many_requests_name_it(
    monkeypatch: pytest.MonkeyPatch, stored: bytes | Exception, error: type[Exception]
) -> None:
    # Unsigned requests naming the channel would otherwise each cost an SSM read (the
    # account's shared rate) and a decryption (attack 9, F3).
    reads: list[str] = []

    def read(parameter: str) -> bytes:
        reads.append(parameter)
        if isinstance(stored, Exception):
            raise stored
        return stored

    secrets = ChannelSecrets(read, path="/helpdesk/channels")
    clock = [1000.0]
    monkeypatch.setattr("helpdesk.services.message_intake.time.monotonic", lambda: clock[0])
    for _ in range(5):
        with pytest.raises(error):
            secrets("/helpdesk/channels/chat")
    assert len(reads) == 1

    clock[0] += NotSetUp.retry_after_seconds  # the operator may have fixed it by now
    with pytest.raises(error):
        secrets("/helpdesk/channels/chat")
    assert len(reads) == 2


def test_a_read_that_failed_for_a_passing_reason_is_tried_again_at_once() -> None:
    # A throttled or timed-out SSM read must not take the channel down for five minutes.
    answers: list[bytes | Exception] = [TimeoutError("read timed out"), b"x" * 40]

    def read(parameter: str) -> bytes:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    secrets = ChannelSecrets(read, path="/helpdesk/channels")
    with pytest.raises(TimeoutError):
        secrets("/helpdesk/channels/chat")
    assert secrets("/helpdesk/channels/chat") == (b"x" * 40,)


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"id": None}, InvalidInput, "id"),
        ({"conversation": ""}, InvalidInput, "conversation"),
        ({"id": "a\x00b"}, InvalidInput, "id"),
        ({"id": "m" * 129}, InvalidInput, "id"),
        ({"from": "ann@example.com"}, InvalidInput, "from"),
        ({"from": {"name": "Ann"}}, InvalidInput, "from"),
        ({"from": {"email": "ann@"}}, InvalidInput, "from.email"),
        ({"from": {"phone": "call me"}}, InvalidInput, "from.phone"),
        ({"from": {"email": "a@example.com", "age": 3}}, InvalidInput, "from.age"),
        ({"text": ""}, InvalidInput, "text"),
        ({"text": "x" * 20_001}, TooLarge, "text"),
        ({"channel": "sms"}, InvalidInput, "channel"),
        ({"priority": "urgent"}, InvalidInput, "priority"),
        (
            {"attachments": [{"filename": "a.txt", "content": "%%%"}]},
            InvalidInput,
            "attachments[0].content",
        ),
        (
            {"attachments": [{"filename": "a.txt", "content": "aGk=", "content_type": "text"}]},
            InvalidInput,
            "attachments[0].content_type",
        ),
    ],
)
def test_a_bad_field_is_refused_naming_it_and_nothing_is_stored(
    change: dict[str, Any], error: type[Exception], field: str
) -> None:
    desk = Desk()

    with pytest.raises(error) as refused:
        desk.post({**ANN, **change})

    assert getattr(refused.value, "field", None) == field
    assert desk.uow.tickets == {}


def test_control_characters_are_stripped_and_numeric_ids_taken() -> None:
    desk = Desk()

    answer = desk.post(
        {**ANN, "id": 42, "conversation": 7, "text": "Hello\x07 there\nsecond line\x1b\x9b",
         "from": {"email": "ann@example.com", "name": "Ann\r\nBcc: x@evil.example"}}
    )  # fmt: skip

    [message] = desk.uow.messages(answer["ref"])
    assert message.text == "Hello there\nsecond line"
    assert message.author_name == "Ann Bcc: x@evil.example"
    # The numbers are the ids "42" in conversation "7": the same message as text ids.
    commits = desk.uow.commits
    again = desk.post({**ANN, "id": "42", "conversation": "7"}, at=NOW + timedelta(seconds=5))
    assert again["ref"] == answer["ref"] and desk.uow.commits == commits


def test_directional_overrides_are_taken_out_of_a_channels_names_subjects_and_texts() -> None:
    # As the form's (attack 9, F4): a chat message is shown to agents and acknowledged.
    desk = Desk()

    answer = desk.post(
        {**ANN, "subject": "Refund \u202e0001$", "text": "IBAN \u202e1234\u202c ok",
         "from": {"email": "ann@example.com", "name": "Ann\u202eevil"}}
    )  # fmt: skip

    [message] = desk.uow.messages(answer["ref"])
    assert (message.author_name, message.text) == ("Annevil", "IBAN 1234 ok")
    assert desk.uow.tickets[answer["ref"]].subject == "Refund 0001$"


def test_the_body_must_be_json_of_bounded_size() -> None:
    desk = Desk()
    with pytest.raises(UnsupportedMediaType):
        desk.post(ANN, headers={"content-type": "text/plain"})
    big = {**ANN, "text": "x" * 300_000}
    with pytest.raises(TooLarge) as too_large:
        desk.post(big)
    assert too_large.value.field == "body"
    body = b"{not json"
    headers = signed_headers("chat", SECRET, body, NOW)
    with pytest.raises(MalformedInput):
        desk.desk.post(body=body.decode(), is_base64_encoded=False, headers=headers, now=NOW)
    assert desk.uow.tickets == {}


def test_a_contact_over_the_hourly_limit_gets_429_and_other_contacts_go_on() -> None:
    desk = Desk(config=with_limits(channel_per_contact_per_hour=2))
    desk.post(ANN)
    desk.post({**ANN, "id": "m-2"})

    with pytest.raises(RateLimited) as limited:
        desk.post({**ANN, "id": "m-3", "from": {"email": "ann+other@example.com"}})

    assert limited.value.what == "contact"
    assert 0 < limited.value.retry_after_seconds <= 3600
    # A retry of a message already taken in still answers (it is not counted again).
    assert desk.post(ANN)["ref"]
    desk.post({**ANN, "id": "b-1", "conversation": "c-2", "from": {"email": "bob@example.com"}})


def test_one_widget_visitor_who_changes_handle_each_message_is_capped_as_one_client() -> None:
    # A chat widget makes a new session, so a new handle and conversation, whenever its
    # visitor likes: counted by contact, one person could spend the whole channel's hour
    # and shut every real customer out (attack 9, F5). The bridge names the visitor's
    # device or network in the signed body ("client"), counted like the form's client.
    desk = Desk(config=with_limits(channel_per_client_per_hour=2))
    visitor = {"text": "Buy now", "client": "ip:203.0.113.9"}
    for n in (1, 2):
        desk.post(visitor | {"id": f"m-{n}", "conversation": f"s-{n}", "from": {"handle": f"v{n}"}})

    with pytest.raises(RateLimited) as limited:
        desk.post(visitor | {"id": "m-3", "conversation": "s-3", "from": {"handle": "v3"}})

    assert limited.value.what == "client"
    # Another visitor, and one whose bridge names no client, go on.
    desk.post({**ANN, "client": "ip:198.51.100.4"})
    desk.post({**ANN, "id": "m-4", "conversation": "c-4", "from": {"handle": "@bob"}})


def test_messages_a_client_or_contact_cap_refuses_leave_the_channels_hour_to_others() -> None:
    # A refused message must not spend the channel's count, or one visitor posting on
    # past his own cap still shuts every other customer out (review 10, #1).
    desk = Desk(config=with_limits(channel_per_client_per_hour=2, channel_messages_per_hour=5))
    visitor = {"text": "Buy now", "client": "ip:203.0.113.9", "from": {"handle": "v"}}
    for n in range(6):
        try:
            desk.post(visitor | {"id": f"m-{n}", "conversation": f"s-{n}"})
        except RateLimited as limited:
            assert limited.what == "client"

    for n in range(3):  # the channel's other 3 of 5
        desk.post({**ANN, "id": f"a-{n}", "client": f"ip:198.51.100.{n}"})


def test_an_ipv6_client_is_counted_by_its_64_network_as_the_forms_client_is() -> None:
    # One IPv6 subscriber holds a whole /64 (RFC 6177): a count per address is no count
    # (attack 10, F2). The bridge may pass the address bare or as "ip:<address>".
    desk = Desk(config=with_limits(channel_per_client_per_hour=2))
    visitor = {"text": "Buy now", "from": {"handle": "v"}}
    desk.post(visitor | {"id": "m-1", "conversation": "s-1", "client": "2001:db8:0:1::a"})
    desk.post(visitor | {"id": "m-2", "conversation": "s-2", "client": "IP:2001:db8:0:1::b"})

    with pytest.raises(RateLimited) as limited:
        desk.post(visitor | {"id": "m-3", "conversation": "s-3", "client": "2001:DB8:0:1:ffff::c"})

    assert limited.value.what == "client"
    desk.post(visitor | {"id": "m-4", "conversation": "s-4", "client": "2001:db8:0:2::a"})


def test_the_64_networks_of_one_48_share_a_few_clients_worth_of_messages() -> None:
    # Review 11, #2: three /64s of one /56 spent a channel's hour that all its customers
    # share; a household holds 256 of them, a tunnel broker's user 65,536 (RFC 6177).

    desk = Desk(config=with_limits(channel_per_client_per_hour=2))
    visitor = {"text": "Buy now", "from": {"handle": "v"}}
    posts = 2 * CONFIG.limits.clients_per_network
    for n in range(posts):  # two from each of its /64s
        desk.post(
            visitor
            | {"id": f"m-{n}", "conversation": f"s-{n}", "client": f"2001:db8:0:{n // 2:x}::a"}
        )

    with pytest.raises(RateLimited) as limited:
        desk.post(
            visitor | {"id": "m-x", "conversation": "s-x", "client": f"2001:db8:0:{posts:x}::a"}
        )

    assert limited.value.what == "network"
    desk.post(visitor | {"id": "m-y", "conversation": "s-y", "client": "2001:db8:1::a"})


def test_a_client_key_is_one_line_of_at_most_128_characters() -> None:
    desk = Desk()

    for bad in ("x" * 129, {"ip": "203.0.113.9"}, "ip:1\n2"):
        with pytest.raises(InvalidInput) as refused:
            desk.post({**ANN, "client": bad})
        assert refused.value.field == "client"
    assert desk.uow.tickets == {}


def test_the_channel_over_its_hourly_limit_gets_429() -> None:
    desk = Desk(config=with_limits(channel_messages_per_hour=1))
    desk.post(ANN)

    with pytest.raises(RateLimited) as limited:
        desk.post({**ANN, "id": "b-1", "conversation": "c-2", "from": {"handle": "@bob"}})
    assert limited.value.what == "channel"


LURE_NAME = "Anna, your account is locked: call +1 555 0100"


@pytest.mark.parametrize(
    "address", ["anna\u200b@example.com", "an\u00adna@example.com", "\u0430nna@example.com"]
)
def test_an_address_the_desk_cannot_write_to_is_refused_naming_the_field(address: str) -> None:
    # Attack 19, F2: SES takes no SMTPUTF8, so the acknowledgement and the agent's replies
    # to a look-alike of Anna's address went nowhere, while the ticket read as hers.
    desk = Desk()

    with pytest.raises(InvalidInput) as refused:
        desk.post({**ANN, "from": {"email": address, "name": "Anna Schmidt"}})

    assert refused.value.field == "from.email"
    assert desk.uow.tickets == {}


def test_an_address_typed_into_a_chat_proves_nothing_of_its_author() -> None:
    # Attack 19, F1: a public widget's visitor types any address, yet the chat's opening
    # counted as hers: it wrote his lure as her name on the contact record, which greeted
    # her own next nameless request, and it spent the count of a served customer's notices.
    desk = Desk()

    answer = desk.post(
        ANN | {"from": {"email": "anna@example.com", "name": LURE_NAME}, "id": "m-lure"}
    )

    ticket = desk.uow.tickets[answer["ref"]]
    [message] = desk.uow.messages(ticket.ref)
    assert "typed_address" in message.flags
    assert ticket.opening_proven is False
    contact = desk.records.get_contact("anna@example.com")
    assert contact is not None and contact.name == ""
    [opened] = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert opened.contact.shown is False


def test_a_channel_whose_users_signed_in_with_their_address_proves_it() -> None:
    # channels[].verifies_email: a bridge of a customer area its users log in to.
    signed_in = ChannelSection(name="chat", secret="/helpdesk/channels/chat", verifies_email=True)
    desk = Desk(config=CONFIG.model_copy(update={"channels": (signed_in,)}))

    answer = desk.post(ANN)

    ticket = desk.uow.tickets[answer["ref"]]
    [message] = desk.uow.messages(ticket.ref)
    assert message.flags == () and ticket.opening_proven is True
    contact = desk.records.get_contact("ann@example.com")
    assert contact is not None and contact.name == "Ann"


def test_a_chat_visitor_known_by_a_handle_alone_is_the_channels_to_vouch_for() -> None:
    desk = Desk()

    answer = desk.post({**ANN, "from": {"handle": "u-42", "name": "Ann"}})

    ticket = desk.uow.tickets[answer["ref"]]
    [message] = desk.uow.messages(ticket.ref)
    assert "typed_address" not in message.flags and ticket.opening_proven is True


def test_channels_are_configured_by_name_and_ssm_path() -> None:
    assert CONFIG.channel("chat") == ChannelSection(name="chat", secret="/helpdesk/channels/chat")
    assert CONFIG.channel("fax") is None


def test_two_first_messages_of_a_conversation_at_once_make_one_ticket() -> None:
    desk = Desk()
    other = {**ANN, "id": "m-2", "text": "Also, my address changed."}
    # The other message is taken in between this one's read and its commit.
    desk.uow.meanwhile.append(lambda: desk.post(other))

    answer = desk.post(ANN)

    [ticket] = desk.uow.tickets.values()
    assert answer["ref"] == ticket.ref
    assert sorted(m.text for m in desk.uow.messages(ticket.ref)) == sorted(
        [ANN["text"], other["text"]]
    )


def test_a_secret_kept_outside_the_readable_path_is_named_as_the_mistake() -> None:
    secrets = ChannelSecrets(lambda _: SECRET, path="/helpdesk/channels")

    assert secrets("/helpdesk/channels/chat") == (SECRET,)
    with pytest.raises(ChannelMisconfigured, match="not below /helpdesk/channels"):
        secrets("/helpdesk/channelsX/chat")


DEFAULT_CONFIG = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml").read_text()
)


def config_with(**sections: Any) -> str:
    return yaml.safe_dump({**DEFAULT_CONFIG, **sections}, allow_unicode=True)


@pytest.mark.parametrize(
    ("sections", "problem"),
    [
        (
            # Its own channels, so that a channel added to the shipped config changes nothing
            # here (nextdev 12, #8).
            {
                "channels": [{"name": "chat", "secret": "/helpdesk/channels/chat"}],
                "routing": [{"when": {"channel": "chta"}, "set": {"priority": "high"}}],
            },
            "routing[0].when.channel: unknown channel 'chta' (known: chat, email, form, portal,"
            " survey)",
        ),
        (
            {"channels": [{"name": "Chat Widget", "secret": "/helpdesk/channels/chat"}]},
            "is not a channel name",
        ),
        ({"channels": [{"name": "form", "secret": "/helpdesk/channels/form"}]}, "the desk's own"),
        # A complaint about a closed ticket opens one on "survey" or "portal": a channel of
        # that name would share its tickets' rules, policy and report line.
        ({"channels": [{"name": "survey", "secret": "/helpdesk/channels/s"}]}, "the desk's own"),
        (
            {"channels": [{"name": "chat", "secret": "helpdesk/chat"}]},
            "is not an SSM parameter path",
        ),
        (
            {"channels": [{"name": "chat", "secret": "/a/b"}, {"name": "chat", "secret": "/a/c"}]},
            "channel listed more than once: chat",
        ),
    ],
)
def test_a_channel_config_mistake_is_named(sections: dict[str, Any], problem: str) -> None:
    from helpdesk.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as refused:
        parse_config(config_with(**sections))
    assert problem in str(refused.value)


@pytest.mark.parametrize("channel", ["portal", "survey"])
def test_a_rule_may_name_the_channels_a_complaints_new_ticket_comes_from(channel: str) -> None:
    # Such a ticket carries "portal" or "survey" (services/complaints.py): a rule for it
    # was refused as naming an unknown channel.
    from helpdesk.config import parse_config

    rule = {"when": {"channel": channel}, "set": {"priority": "high"}}
    config = parse_config(config_with(routing=[rule]))
    assert config.routing[0].when.channel == (channel,)


def test_a_rule_and_a_policy_may_name_a_configured_channel() -> None:
    from helpdesk.config import parse_config

    rule = {"when": {"channel": "chat"}, "set": {"tags": ["chat"]}}
    policies = DEFAULT_CONFIG["sla_policies"]
    chat_policy = {**policies[-1], "name": "chat", "when": {"channel": "chat"}}
    config = parse_config(config_with(routing=[rule], sla_policies=[chat_policy, *policies]))

    assert config.routing[0].when.channel == ("chat",)
    assert config.sla_policies[0].when.channel == "chat"


# ---------------------------------------------------------------- attack 18 (wave 2)
MALLORY = {
    "id": "m-1",
    "conversation": "c-mallory",
    "from": {"email": "mallory@example.net", "name": "Mallory"},
    "text": "My parcel never arrived.",
}


def test_the_same_message_id_in_another_conversation_is_another_customers_message() -> None:
    # Telegram numbers messages per chat, Twilio per conversation: m-1 in c-mallory is not
    # m-1 in c-1 (attack 18, A18-2).
    desk = Desk()
    photo = base64.b64encode(b"ann's receipt").decode()
    other = base64.b64encode(b"mallory's photo").decode()
    ann = desk.post({**ANN, "attachments": [{"filename": "a.png", "content": photo}]})

    mallory = desk.post({**MALLORY, "attachments": [{"filename": "a.png", "content": other}]})

    assert mallory["ref"] != ann["ref"]
    assert ann["ref"] not in mallory["promise"]
    assert [m.text for m in desk.uow.messages(mallory["ref"])] == [MALLORY["text"]]
    [ann_file] = desk.uow.messages(ann["ref"])[0].attachments
    [mallory_file] = desk.uow.messages(mallory["ref"])[0].attachments
    assert ann_file.key != mallory_file.key
    assert ann_file.key is not None and desk.store.objects[ann_file.key] == b"ann's receipt"
    # Each repeat still answers with its own conversation's ticket.
    assert desk.post(ANN, at=NOW + timedelta(seconds=30))["ref"] == ann["ref"]
    assert desk.post(MALLORY, at=NOW + timedelta(seconds=30))["ref"] == mallory["ref"]


def test_someone_else_posting_in_a_conversation_gets_a_linked_ticket_of_their_own() -> None:
    # The conversation belongs to its contact: knowing (or guessing) its id must not put
    # anyone into her ticket, as a mail naming a ticket does not (attack 18, A18-3).
    desk = Desk()
    ann = desk.post(ANN)["ref"]
    intruder = {**MALLORY, "id": "x-1", "conversation": ANN["conversation"]}
    intruder["from"] = {"email": "mallory@example.net", "name": "Example Support Team"}

    first = desk.post({**intruder, "text": "Confirm your card at https://evil.example/refund"})
    then = desk.post({**intruder, "id": "x-2", "text": "Quickly, please."})
    again = desk.post({**ANN, "id": "m-2", "text": "It is invoice 1042."})

    assert [m.text for m in desk.uow.messages(ann)] == [ANN["text"], "It is invoice 1042."]
    assert again["ref"] == ann
    assert first["ref"] == then["ref"] != ann
    own = desk.uow.tickets[first["ref"]]
    assert (own.contact_email, own.linked_to, own.flags) == (
        "mallory@example.net",
        ann,
        ["outsider"],
    )
    assert [m.text for m in desk.uow.messages(own.ref)] == [
        "Confirm your card at https://evil.example/refund",
        "Quickly, please.",
    ]
    assert ann not in first["promise"]


def test_the_answer_never_tells_a_known_customers_stored_time_zone() -> None:
    # Anyone can type her address into a chat: the answer states the promise in the zone
    # the request gives, else the desk's, never the one her browser once gave (A18-4).
    desk = Desk()
    desk.post({**ANN, "timezone": "Asia/Tokyo"})
    assert desk.uow.contact("ann@example.com").timezone == "Asia/Tokyo"  # type: ignore[union-attr]

    probe = desk.post({**ANN, "id": "p-1", "conversation": "c-probe"})
    told = desk.post({**ANN, "id": "p-2", "conversation": "c-told", "timezone": "Asia/Shanghai"})

    assert probe["promise"].endswith("13:55 Berlin time.")
    assert "Tokyo" not in probe["promise"]
    assert "20:55" in told["promise"]


def test_a_handle_that_looks_like_a_phone_number_is_not_that_phones_contact() -> None:
    # Handles are chosen by their users: "+49301234567" as a handle is not that phone's
    # owner, and does not spend her hourly cap (A18-9).
    desk = Desk(config=with_limits(channel_per_contact_per_hour=1))
    bert = {"id": "v-1", "conversation": "call-1", "text": "My router is down."}

    by_phone = desk.post({**bert, "from": {"phone": "+49 30 1234567"}})
    by_handle = desk.post({**bert, "conversation": "x-1", "from": {"handle": "+49301234567"}})
    # Handles are compared without case, as Telegram's usernames are (docs/CHANNELS.md).
    desk.post({**bert, "conversation": "h-1", "from": {"handle": "Ann"}})
    with pytest.raises(RateLimited):
        desk.post({**bert, "conversation": "h-2", "from": {"handle": "ANN"}})

    contacts = [desk.uow.tickets[a["ref"]].contact_email for a in (by_phone, by_handle)]
    assert contacts == ["chat:phone:+49301234567", "chat:handle:+49301234567"]


@pytest.mark.parametrize(
    "address", ["maria@support.example", "Support@Support.Example", "lena@support.example"]
)
def test_a_staff_or_desk_address_given_by_a_channel_is_flagged_spoofed_and_unanswered(
    address: str,
) -> None:
    # A chat user can type a lead's, an agent's or the desk's own address: as an
    # unauthenticated mail from one, the ticket is kept, flagged, unacknowledged and
    # unrouted (no SLA clock), and it joins nobody's conversation (A18-10).
    desk = Desk()
    ann = desk.post(ANN)["ref"]

    answer = desk.post(
        {**ANN, "id": "s-1", "from": {"email": address, "name": "IT Security"},
         "text": "Please reset MFA for the CFO; confirm at https://evil.example"}
    )  # fmt: skip

    assert answer["ref"] != ann
    assert [m.text for m in desk.uow.messages(ann)] == [ANN["text"]]
    ticket = desk.uow.tickets[answer["ref"]]
    assert (ticket.flags, ticket.sla) == (["spoofed"], None)
    opened = desk.uow.events()[-1]
    assert isinstance(opened, TicketOpened) and opened.notify is False
    assert (answer["promised_by"], answer["by_email"]) == (None, False)
    assert [(e["reason"], e["from"], e["ref"]) for e in desk.records.suppressed.values()] == [
        ("spoofed", address.lower(), ticket.ref)
    ]


def victims(n: int) -> dict[str, Any]:
    """A first message of a new conversation from one spelling of one inbox."""
    return {
        **ANN,
        "id": f"v-{n}",
        "conversation": f"v-{n}",
        "from": {"email": f"victim+{n}@bigcorp.example"},
        "text": f"Hello {n}",
    }


def test_a_mailbox_gets_the_acknowledgements_mail_intake_would_give_it_and_no_more() -> None:
    # Attack 3, F3: a chat widget takes any address; new conversations from "+tag" spellings
    # of one inbox each opened a ticket with an acknowledgement to it. The caps of mail
    # intake hold (acknowledgements_per_sender_per_hour per mailbox): the ticket past them
    # is still made, unacknowledged, and listed as a capped mail sender is (loop_limit).
    desk = Desk()
    cap = CONFIG.limits.acknowledgements_per_sender_per_hour
    answers = [desk.post(victims(n), at=NOW + timedelta(minutes=n)) for n in range(cap + 1)]

    opened = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert [e.notify for e in opened] == [True] * cap + [False]
    assert all(answer["ref"] in desk.uow.tickets for answer in answers)
    assert [(e["reason"], e["from"], e["ref"]) for e in desk.records.suppressed.values()] == [
        ("loop_limit", f"victim+{cap}@bigcorp.example", answers[-1]["ref"])
    ]
    # A retry of the capped message counts and lists nothing twice.
    desk.post(victims(cap), at=NOW + timedelta(minutes=cap))
    assert len(desk.records.suppressed) == 1


def test_a_domain_gets_no_more_acknowledgements_from_chat_than_by_mail() -> None:
    desk = Desk(config=with_limits(acknowledgements_per_domain_per_hour=2))
    for n in range(3):
        desk.post({**victims(n), "from": {"email": f"person{n}@bigcorp.example"}})

    opened = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert [e.notify for e in opened] == [True, True, False]


def test_a_channel_acknowledges_given_addresses_at_most_the_desks_hourly_ceiling() -> None:
    # Attack 11, F2: a channel proves no address either; spread over free-mail victims and
    # clients, its acknowledgements had no bound but the channel's 2,000 an hour.
    desk = Desk(config=with_limits(unauthenticated_acknowledgements_per_hour=3))
    for n in range(5):
        desk.post({**victims(n), "from": {"email": f"victim{n}@gmail.com"}})

    opened = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert [e.notify for e in opened] == [True, True, True, False, False]


def test_a_channel_whose_users_signed_in_is_acknowledged_past_the_ceiling_of_typed_ones() -> None:
    # Review 20, #6: verifies_email proved the author, yet its acknowledgements still came
    # out of the desk's hour for addresses nobody proved, which a flood of forms spends.
    signed_in = ChannelSection(name="chat", secret="/helpdesk/channels/chat", verifies_email=True)
    few = with_limits(unauthenticated_acknowledgements_per_hour=3)
    desk = Desk(config=few.model_copy(update={"channels": (signed_in,)}))
    for n in range(5):
        desk.post({**victims(n), "from": {"email": f"customer{n}@gmail.com"}})

    opened = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert [e.notify for e in opened] == [True] * 5


def test_a_proven_conversation_whose_ticket_holds_its_most_messages_goes_on_in_a_new_one() -> None:
    # Review 20, #10: the proven share's bound, for a visitor known by a handle.
    desk = Desk()
    known = {**ANN, "from": {"handle": "ann-42", "name": "Ann"}}
    old = desk.post(known)["ref"]
    desk.uow.tickets[old] = replace(desk.uow.tickets[old], messages_in=MESSAGES_IN_MAX)

    new = desk.post({**known, "id": "m-9", "text": "Still wrong."}, at=NOW + timedelta(hours=1))

    assert new["ref"] != old and desk.uow.tickets[new["ref"]].linked_to == old
    assert desk.uow.tickets[new["ref"]].messages_in == 1


def test_a_providers_alias_domains_share_one_mailboxs_acknowledgements() -> None:
    # Attack 4, F4: anna@icloud.com, anna@me.com and anna@mac.com are one iCloud inbox;
    # each domain had three acknowledgements an hour of its own.
    desk = Desk()
    spellings = ["anna@icloud.com", "anna@me.com", "anna@mac.com", "Anna+x@me.com"]
    for n, address in enumerate(spellings):
        desk.post({**victims(n), "from": {"email": address}}, at=NOW + timedelta(minutes=n))

    opened = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert [e.notify for e in opened] == [True, True, True, False]


@pytest.mark.parametrize(
    ("desk_address", "senders", "answered"),
    [
        # pm.me is Proton's short domain: strangers there are not one company's mailboxes,
        # whether or not the list of free-mail domains names the alias itself.
        ("support@support.example", [f"person{n}@pm.me" for n in range(3)],
         [True, True, True]),
        # Attack 5, F2: a catch-all at *.bigcorp.example took 30 an hour per subdomain.
        ("support@support.example", [f"person{n}@s{n}.bigcorp.example" for n in range(3)],
         [True, True, False]),
        # A company under a two-level public suffix is not its neighbours.
        ("support@support.example", ["anna@shop.co.uk", "ben@garden.co.uk",
         "cleo@mail.shop.co.uk", "dan@shop.co.uk"], [True, True, True, False]),
        # Re-attack 5, N1: the desk's own host is capped per mailbox only, its company's
        # other addresses per domain as any company's.
        ("support@help.bigcorp.example", [f"noreply-{n}@bigcorp.example" for n in range(3)],
         [True, True, False]),
        # N2: Microsoft 365 tenants are strangers to each other, though the Public Suffix
        # List does not say so.
        ("support@support.example", ["a@t1.onmicrosoft.com", "b@t2.onmicrosoft.com",
         "c@t3.mail.onmicrosoft.com"], [True, True, True]),
        # N3: hosts under a free-mail domain are counted per host, not per mailbox only.
        ("support@support.example", [f"x{n}@s.gmail.com" for n in range(3)],
         [True, True, False]),
    ],
)  # fmt: skip
def test_the_domain_cap_counts_companies_not_hosts(
    desk_address: str, senders: list[str], answered: list[bool]
) -> None:
    helpdesk = CONFIG.helpdesk.model_copy(update={"address": desk_address})
    few = with_limits(acknowledgements_per_domain_per_hour=2)
    desk = Desk(config=few.model_copy(update={"helpdesk": helpdesk}))
    for n, address in enumerate(senders):
        desk.post({**victims(n), "from": {"email": address}})

    opened = [e for e in desk.uow.events() if isinstance(e, TicketOpened)]
    assert [e.notify for e in opened] == answered
