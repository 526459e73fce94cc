"""The senders (acknowledge, route) are invoked by their rules with one event each; a send
that fails raises, so that Lambda retries the event, and the retry sends the mail once.

Lambda retries a failed asynchronous invocation twice, one and then two minutes later
("How Lambda handles errors and retries with asynchronous invocation",
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html); after
that the event is recorded, whole, in the function's on-failure destination.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk.aws.bus_event import NotABusEvent
from helpdesk.aws.clients import MAX_ATTEMPTS
from helpdesk.config import load_config
from helpdesk.notices.outbound import LEASE
from helpdesk.services.form_intake import take_in_form, validate_form
from helpdesk_local.cfn import load_template
from helpdesk_local.faults import FaultInjector, faults_on, outage
from helpdesk_local.stack import ASYNC_RETRY_WAITS, LocalStack
from helpdesk_local.state import build_state

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(REPO / "template.yaml")
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
# The first attempt of a send and every retry botocore makes.
SES_ATTEMPTS = MAX_ATTEMPTS["ses"] + 1
SENDERS = {"acknowledge": "AcknowledgeFunction", "route": "RouteFunction"}


def ticket_opened(stack: LocalStack, customer: str = "anna@example.com") -> dict[str, Any]:
    """The TicketOpened event of a new ticket, as RouteRule and AcknowledgeRule invoke their
    functions with it (the documented envelope, tests/data/events)."""
    from committing import kept_events_store

    config = load_config(stack.config_path)
    store = kept_events_store(stack, config)
    fields = {"name": "Anna", "email": customer, "subject": "Where is my order?",
              "message": "It has been two weeks."}  # fmt: skip
    take_in_form(
        validate_form(fields, config, client="192.0.2.44", now=MONDAY_MORNING),
        uow=store,
        config=config,
        now=MONDAY_MORNING,
    )
    [(detail_type, detail)] = store.events
    events = REPO / "tests" / "data" / "events"
    envelope = json.loads((events / "eventbridge_envelope.json").read_text(encoding="utf-8"))
    return {**envelope, "id": str(uuid.uuid4()), "detail-type": detail_type, "detail": detail}


def mails(stack: LocalStack, kind: str) -> list[list[str]]:
    return [m["to"] for m in build_state(stack)["outbox"] if m["kind"] == kind]


@pytest.mark.parametrize(("function", "kind"), [("acknowledge", "acknowledgement"),
                                                 ("route", "assignment")])  # fmt: skip
def test_a_send_ses_refuses_fails_the_invocation_and_its_retry_sends_the_mail_once(
    stack: LocalStack, function: str, kind: str
) -> None:
    event = ticket_opened(stack)
    refused = FaultInjector(rate=1.0, services=("ses",), limit=SES_ATTEMPTS)
    with faults_on(stack, refused), pytest.raises(Exception, match="Throttling"):
        stack.invoke(function, event)
    assert mails(stack, kind) == []

    stack.invoke(function, event)  # Lambda's retry: the same event
    stack.invoke(function, event)  # and a repeated delivery of it

    assert len(mails(stack, kind)) == 1


def test_an_event_whose_sends_fail_every_attempt_is_kept_whole_in_the_destination(
    stack: LocalStack,
) -> None:
    with outage(stack, "ses"):
        assert stack.post_form({"name": "Anna", "email": "anna@example.com",
                                "subject": "Where is my order?",
                                "message": "It has been two weeks."}).status == 201  # fmt: skip
    letters = {d["queue"]: json.loads(d["body"]) for d in build_state(stack)["dead_letters"]}
    assert set(letters) == {"AcknowledgeDLQ", "RouteDLQ"}
    for queue, function in (("AcknowledgeDLQ", "acknowledge"), ("RouteDLQ", "route")):
        record = letters[queue]
        # Lambda's invocation record: the event itself, the attempts, the error.
        assert record["requestContext"]["functionArn"].split(":")[6] == function
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 3
        assert record["requestPayload"]["detail-type"] == "TicketOpened"
        assert record["requestPayload"]["source"] == "helpdesk"
        assert "Throttling" in record["responsePayload"]["errorMessage"]


@pytest.mark.parametrize("function", sorted(SENDERS))
def test_an_event_that_is_not_the_desks_fails_and_is_named(
    stack: LocalStack, function: str
) -> None:
    event = ticket_opened(stack)
    with pytest.raises(NotABusEvent, match="source"):
        stack.invoke(function, {**event, "source": "aws.s3"})
    del event["detail"]
    with pytest.raises(NotABusEvent, match="detail"):
        stack.invoke(function, event)


@pytest.mark.parametrize("function", sorted(SENDERS.values()))
def test_lambdas_last_retry_finds_the_outbound_lease_run_out(function: str) -> None:
    """A sender claims its mail (notices/outbound.py) before the send, at the latest when its
    invocation times out. Lambda's next attempts come one and then two more minutes after
    an attempt ends: the last must find the claim's lease run out, or a mail whose sender
    timed out mid-send would fail a third time ("another delivery is sending it")."""
    config = TEMPLATE["Resources"][function]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == len(ASYNC_RETRY_WAITS) == 2
    assert sum(wait.total_seconds() for wait in ASYNC_RETRY_WAITS) >= LEASE.total_seconds()


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING) as local:
        yield local
