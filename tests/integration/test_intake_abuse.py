"""Threading and caps on the local stack, for what a scenario file cannot say: how many
lookups a mail's threading headers cost, and the cap per domain under another config."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest import MONDAY_MORNING
from helpdesk.aws.clients import client
from helpdesk_local.stack import REPO_ROOT, LocalStack
from helpdesk_local.state import build_state


def _mail(*headers: str, body: str = "Hello.") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


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
    answered = [m["to"][0] for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert answered == [f"queue-{n}@vendor.example" for n in range(4)] + [
        f"person.{n}@gmail.com" for n in range(6)
    ]
    assert [(s["reason"], s["from"]) for s in state["suppressed"]] == [
        ("loop_limit", "queue-4@vendor.example"),
        ("loop_limit", "queue-5@vendor.example"),
    ]
