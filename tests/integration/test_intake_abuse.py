"""Threading and caps on the local stack, for what a scenario file cannot say: how many
lookups a mail's threading headers cost, and the cap per domain under another config."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from desk_support import acknowledged_to

from conftest import MONDAY_MORNING
from helpdesk.aws.clients import client
from helpdesk_local.stack import REPO_ROOT, LocalStack
from helpdesk_local.state import build_state


def _mail(*headers: str, body: str = "Hello.") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


def _answered(state: dict[str, Any]) -> list[str]:
    """Whom each acknowledgement went to (its one recipient), in the order they were sent."""
    return [to for [to] in acknowledged_to(state)]


def _suppressed(state: dict[str, Any]) -> list[tuple[str, str]]:
    """Each acknowledgement the caps held back: why, and the sender it was not sent to."""
    return [(s["reason"], s["from"]) for s in state["suppressed"]]


def _anna_asks(stack: LocalStack, message_id: str) -> None:
    """Anna asks where her order is, in a mail with ``message_id``."""
    stack.deliver_email(
        _mail(
            "From: Anna Schmidt <anna@example.com>",
            "To: support@support.example",
            "Subject: Where is my order?",
            f"Message-ID: {message_id}",
            body="It has been two weeks.",
        )
    )
    stack.drain()


# A delivery status notification (RFC 3464): its headers, and its body by _report.
REPORT = (
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="R"',
)


def _report(mta: str, text: str, original_message_id: str) -> str:
    """A report from ``mta`` that a mail to Anna, ``original_message_id``, failed."""
    return (
        f"--R\r\nContent-Type: text/plain\r\n\r\n{text}\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {mta}\r\n\r\n"
        "Final-Recipient: rfc822; anna@example.com\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n\r\n"
        "--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: support@support.example\r\nTo: anna@example.com\r\n"
        f"Message-ID: {original_message_id}\r\n\r\n--R--"
    )


@contextmanager
def _dynamodb_requests() -> Iterator[list[str]]:
    """The DynamoDB operations the functions call while the block runs."""
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", count)


def _intake_cost(stack: LocalStack, raw: bytes) -> int:
    with _dynamodb_requests() as calls:
        stack.deliver_email(raw)
        stack.drain()
    return len(calls)


def test_a_mail_naming_five_thousand_guessed_message_ids_costs_what_a_plain_mail_costs(
    stack: LocalStack,
) -> None:
    plain = _mail(
        "From: Anna Schmidt <anna@example.com>",
        "To: support@support.example",
        "Subject: Where is my order?",
        "Message-ID: <order-7@example.com>",
        body="It has been two weeks.",
    )
    guessed = " ".join(f"<hd.guess-{n}.acknowledgement@support.example>" for n in range(5000))
    hostile = _mail(
        "From: Bob <bob@example.org>",
        "To: support@support.example",
        "Subject: Where is my parcel?",
        "Message-ID: <parcel-1@example.org>",
        "In-Reply-To: <hd.guess-x.acknowledgement@support.example>",
        f"References: {guessed}",
        body="It has been three weeks.",
    )
    plain_cost = _intake_cost(stack, plain)
    hostile_cost = _intake_cost(stack, hostile)
    state = build_state(stack)
    assert [t["contact"]["email"] for t in state["tickets"]] == [
        "anna@example.com",
        "bob@example.org",
    ]
    # In-Reply-To and the nine nearest References, two requests each at most.
    assert hostile_cost <= plain_cost + 2 * 10


def _desk_with_limits(tmp_path: Path, **limits: int) -> Path:
    config = (REPO_ROOT / "infra" / "helpdesk.yaml").read_text()
    for key, value in limits.items():
        config, replaced = re.subn(rf"{key}: \d+", f"{key}: {value}", config)
        assert replaced == 1, key
    path = tmp_path / "helpdesk.yaml"
    path.write_text(config)
    return path


def test_an_autoresponder_varying_its_whole_address_is_capped_per_domain(tmp_path: Path) -> None:
    path = _desk_with_limits(
        tmp_path,
        acknowledgements_per_sender_per_hour=3,
        acknowledgements_per_domain_per_hour=4,
    )
    with LocalStack(start=MONDAY_MORNING, config_path=path) as stack:
        for n in range(6):
            stack.deliver_email(
                _mail(
                    f"From: Robot <queue-{n}@vendor.example>",
                    "To: support@support.example",
                    "Subject: Re: [#HD-AAAAAA] We received your request",
                    f"Message-ID: <auto-{n}@vendor.example>",
                    body="Your message has been received.",
                )
            )
            stack.drain()
        # Six people at a free-mail provider are strangers to each other: all answered.
        for n in range(6):
            stack.deliver_email(
                _mail(
                    f"From: Person {n} <person.{n}@gmail.com>",
                    "To: support@support.example",
                    "Subject: My order",
                    f"Message-ID: <order-{n}@mail.gmail.com>",
                    body="Where is my order?",
                )
            )
            stack.drain()
        state = build_state(stack)

    assert len(state["tickets"]) == 12
    assert _answered(state) == [f"queue-{n}@vendor.example" for n in range(4)] + [
        f"person.{n}@gmail.com" for n in range(6)
    ]
    assert _suppressed(state) == [
        ("loop_limit", "queue-4@vendor.example"),
        ("loop_limit", "queue-5@vendor.example"),
    ]


def test_robot_mail_threads_only_from_a_participant_but_a_bounce_finds_its_ticket(
    stack: LocalStack,
) -> None:
    _anna_asks(stack, "<order-7@example.com>")
    stack.drain()
    [ack] = [m for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"]
    ack_id = ack["headers"]["Message-ID"]
    # An out-of-office note from someone the acknowledgement was forwarded to.
    stack.deliver_email(
        _mail(
            "From: Carl <carl@elsewhere.example>",
            "To: support@support.example",
            f"Subject: Out of office: {ack['subject']}",
            "Message-ID: <ooo-1@elsewhere.example>",
            "Auto-Submitted: auto-replied",
            f"In-Reply-To: {ack_id}",
            body="I am away until Monday.",
        )
    )
    # A bounce that names our mail in In-Reply-To and in its report.
    stack.deliver_email(
        _mail(
            "Return-Path: <>",
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>",
            "To: support@support.example",
            "Subject: Undelivered Mail Returned to Sender",
            "Message-ID: <dsn-1@mx.example.com>",
            f"In-Reply-To: {ack_id}",
            *REPORT,
            body=_report("mx.example.com", "Could not be delivered.", ack_id),
        )
    )
    stack.drain()
    state = build_state(stack)

    anna, carl = state["tickets"]
    assert [m["from"] for m in anna["messages"]] == [
        "anna@example.com",
        "mailer-daemon@mx.example.com",
    ]
    assert "outsider" not in anna["flags"] and anna["participants"] == []
    assert carl["contact"]["email"] == "carl@elsewhere.example"
    assert carl["linked_to"] == anna["ref"]
    assert set(carl["flags"]) == {"auto_reply", "outsider"}
    assert [m["kind"] for m in state["outbox"]] == ["acknowledgement", "assignment"]


def test_ten_mails_reusing_a_customers_message_id_do_not_take_over_her_thread(
    stack: LocalStack,
) -> None:
    opening = "Message-ID: <order-9@example.com>"
    _anna_asks(stack, "<order-9@example.com>")
    stack.drain()
    # Someone who saw the ID sends ten mails carrying it, each "from" another sender, whose
    # names sort before Anna's (as a query of the ID's items would list them).
    forged = [
        _mail(
            f"From: A{number} <a{number}@forger.example>",
            "To: support@support.example",
            "Subject: Re: Where is my order?",
            opening,
            body="Ignore this.",
        )
        for number in range(10)
    ]
    for raw in forged:
        stack.deliver_email(raw)
    stack.drain()
    anna = build_state(stack)["tickets"][0]
    # Anna's reply names her opening mail: it joins her ticket, not a forger's.
    stack.deliver_email(
        _mail(
            "From: Anna Schmidt <anna@example.com>",
            "To: support@support.example",
            "Subject: Any news?",
            "Message-ID: <order-9-reply@example.com>",
            "In-Reply-To: <order-9@example.com>",
            body="Any news about my order?",
        )
    )
    stack.drain()
    state = build_state(stack)
    [joined] = [t for t in state["tickets"] if t["ref"] == anna["ref"]]
    assert [m["text"] for m in joined["messages"]][-1].startswith("Any news about my order?")


def test_a_report_naming_a_customers_own_message_id_is_not_filed_on_her_ticket(
    stack: LocalStack,
) -> None:
    _anna_asks(stack, "<order-11@example.com>")
    stack.drain()
    # A stranger's "delivery report" quoting Anna's own Message-ID.
    stack.deliver_email(
        _mail(
            "Return-Path: <>",
            "From: Mail Delivery System <MAILER-DAEMON@forger.example>",
            "To: support@support.example",
            "Subject: Undelivered Mail Returned to Sender",
            "Message-ID: <dsn-11@forger.example>",
            *REPORT,
            body=_report("forger.example", "Please call +1 555 0100.", "<order-11@example.com>"),
        )
    )
    stack.drain()
    tickets = build_state(stack)["tickets"]
    [annas] = [t for t in tickets if t["contact"]["email"] == "anna@example.com"]
    assert len(annas["messages"]) == 1, "the forged report joined Anna's conversation"


def test_one_mailbox_at_a_business_domain_is_capped_at_its_own_limit_while_the_domain_has_room(
    tmp_path: Path,
) -> None:
    """The mailbox's count and its domain's share one item (one request per mail): the
    mailbox's own limit still holds, and a colleague at the same domain is still answered."""
    path = _desk_with_limits(
        tmp_path,
        acknowledgements_per_sender_per_hour=2,
        acknowledgements_per_domain_per_hour=10,
    )
    with LocalStack(start=MONDAY_MORNING, config_path=path) as stack:
        senders = ["bot+1@vendor.example", "bot+2@vendor.example", "bot@vendor.example"]
        senders.append("anna@vendor.example")
        for n, sender in enumerate(senders):
            stack.deliver_email(
                _mail(
                    f"From: {sender}",
                    "To: support@support.example",
                    "Subject: Our order",
                    f"Message-ID: <mail-{n}@vendor.example>",
                    body="Where is our order?",
                )
            )
            stack.drain()
        state = build_state(stack)

    assert _answered(state) == [
        "bot+1@vendor.example",
        "bot+2@vendor.example",
        "anna@vendor.example",
    ]
    assert _suppressed(state) == [("loop_limit", "bot@vendor.example")]


def _annas_form(
    stack: LocalStack, email: str, subject: str, submission: str | None = None
) -> dict[str, Any]:
    """Anna's web form from ``email`` (a submission of its own unless named): its answer."""
    answer = stack.post_form(
        {
            "name": "Anna Schmidt",
            "email": email,
            "subject": subject,
            "message": "Where is my order?",
            "submission_id": submission or str(uuid.uuid4()),
        }
    )
    assert answer.status == 201, answer.body
    body: dict[str, Any] = json.loads(answer.body)
    return body


def test_a_fourth_form_from_one_mailbox_in_an_hour_opens_its_ticket_unacknowledged(
    tmp_path: Path,
) -> None:
    """The form takes the acknowledgement caps every intake takes (per mailbox and domain,
    helpdesk.services.acknowledgement_caps): the fourth form of an hour from one mailbox
    still opens its ticket, and its page shows the reference and the promise, but no mail
    answers it; it is listed as a mail past the caps is. The acknowledgements it counts
    are the ones the recipient's own hourly count leaves room for."""
    path = _desk_with_limits(tmp_path, acknowledgements_per_sender_per_hour=3)
    with LocalStack(start=MONDAY_MORNING, config_path=path) as stack:
        refs = []
        for n in range(4):
            body = _annas_form(stack, f"anna+{n}@shop.example", "Where is my order?")
            assert body["ref"] and body["promised_by"]
            refs.append(body["ref"])
        stack.drain()
        state = build_state(stack)

    assert sorted(t["ref"] for t in state["tickets"]) == sorted(refs)
    assert _answered(state) == ["anna+0@shop.example", "anna+1@shop.example", "anna+2@shop.example"]
    assert _suppressed(state) == [("loop_limit", "anna+3@shop.example")]


def test_a_mail_whose_message_id_spells_a_forms_id_is_another_acknowledgement(
    tmp_path: Path,
) -> None:
    """The caps count a message once however often it comes (a retry), keyed by what the
    intake knows it by; a mail's Message-ID is the sender's to choose, so it must never
    spell another intake's key: three forms spend Anna's hour, and a mail from her whose
    Message-ID is `<form:ID>` of one of them is a fourth, unacknowledged (attack 4, F1)."""
    path = _desk_with_limits(tmp_path, acknowledgements_per_sender_per_hour=3)
    with LocalStack(start=MONDAY_MORNING, config_path=path) as stack:
        submissions = [str(uuid.uuid4()) for _ in range(3)]
        for n, submission in enumerate(submissions):
            _annas_form(stack, "anna@shop.example", f"Question {n}", submission)
        stack.deliver_email(
            _mail(
                "From: anna@shop.example",
                "To: support@support.example",
                "Subject: One more",
                f"Message-ID: <form:{submissions[0]}>",
                body="And another thing.",
            )
        )
        stack.drain()
        state = build_state(stack)

    assert len(state["tickets"]) == 4
    assert len(_answered(state)) == 3
    assert _suppressed(state) == [("loop_limit", "anna@shop.example")]


def test_one_form_posted_again_in_other_spellings_spends_one_acknowledgement(
    tmp_path: Path,
) -> None:
    """A submission is one ticket whatever address it is posted again with (its claim is
    its id): posted three times in three spellings of Anna's address it takes one of her
    hour's three acknowledgements, and her next two forms are answered (re-attack 4, R3)."""
    path = _desk_with_limits(tmp_path, acknowledgements_per_sender_per_hour=3)
    with LocalStack(start=MONDAY_MORNING, config_path=path) as stack:
        submission = str(uuid.uuid4())
        first = _annas_form(stack, "anna@shop.example", "Where is it?", submission)
        for spelling in ("Anna@Shop.example", "ANNA+x@shop.example"):
            again = _annas_form(stack, spelling, "Where is it?", submission)
            assert again["ref"] == first["ref"]
        for n in range(2):
            _annas_form(stack, "anna@shop.example", f"Question {n}")
        stack.drain()
        state = build_state(stack)

    assert len(state["tickets"]) == 3
    assert len(_answered(state)) == 3
    assert state["suppressed"] == []
