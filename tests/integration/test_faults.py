"""Chaos: the functions' AWS requests are throttled or fail, as AWS does, and every
scenario still ends exactly as it does on a calm day."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from desk_support import ANNAS_QUESTION, acknowledged_to, events_held_back

from conftest import MONDAY_MORNING
from helpdesk_local.faults import FaultInjector, faults_on
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state, outbox

ONE_TRY = Config(retries={"mode": "standard", "max_attempts": 0})


@pytest.mark.parametrize(
    ("service", "call", "codes"),
    [
        (
            "dynamodb",
            lambda c: c.list_tables(),
            {"ProvisionedThroughputExceededException", "ThrottlingException"},
        ),
        ("s3", lambda c: c.list_buckets(), {"SlowDown", "InternalError"}),
        ("sqs", lambda c: c.list_queues(), {"ThrottlingException"}),
        ("ses", lambda c: c.list_identities(), {"Throttling"}),
        ("events", lambda c: c.list_event_buses(), {"ThrottlingException"}),
        ("ssm", lambda c: c.describe_parameters(), {"ThrottlingException"}),
    ],
)
def test_every_service_fails_with_the_error_aws_answers_when_it_throttles(
    service: str, call: Any, codes: set[str]
) -> None:
    with LocalStack(start=MONDAY_MORNING, fault_rate=0.999, fault_seed=1) as stack:
        client = boto3.client(
            service, config=Config(retries={"mode": "standard", "max_attempts": 2})
        )
        with pytest.raises(ClientError) as failure:
            call(client)
        assert failure.value.response["Error"]["Code"] in codes
        # botocore recognised it as retryable: it tried again before giving up.
        assert failure.value.response["ResponseMetadata"]["RetryAttempts"] == 2
        assert stack.faults.injected[service] == 3


def test_a_throttled_request_never_reaches_the_service() -> None:
    with LocalStack(start=MONDAY_MORNING, fault_rate=0.999, fault_seed=2) as stack:
        ses = boto3.client("ses", config=ONE_TRY)
        with pytest.raises(ClientError):
            ses.send_raw_email(
                Source="support@support.example",
                Destinations=["anna@example.com"],
                RawMessage={"Data": b"Subject: hello\r\n\r\nbody\r\n"},
            )
        assert outbox(stack) == []


def test_the_stacks_own_clients_never_see_a_fault() -> None:
    with LocalStack(start=MONDAY_MORNING, fault_rate=0.999, fault_seed=3) as stack:
        for _ in range(20):
            stack.sqs.list_queues()
            stack.dynamodb.list_tables()
        assert stack.faults.total == 0


def test_faults_can_be_limited_to_some_services() -> None:
    with LocalStack(
        start=MONDAY_MORNING, fault_rate=0.999, fault_seed=4, fault_services=("ses",)
    ) as stack:
        boto3.client("dynamodb", config=ONE_TRY).list_tables()
        with pytest.raises(ClientError):
            boto3.client("ses", config=ONE_TRY).list_identities()
        assert dict(stack.faults.injected) == {"ses": 1}


def test_botocore_gets_its_backoff_sleep_back_when_the_stack_stops() -> None:
    import time

    with LocalStack(start=MONDAY_MORNING, fault_rate=0.5, fault_seed=5):
        assert botocore.endpoint.time is not time
    assert botocore.endpoint.time is time


def test_an_injector_refuses_a_rate_above_one_and_services_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="rate"):
        FaultInjector(rate=1.5)
    with pytest.raises(ValueError, match="unknown fault services: lambda"):
        FaultInjector(rate=0.1, services=("lambda",))


def test_a_form_on_the_faulty_stack_still_gets_its_ticket_and_one_acknowledgement(
    faulty_stack: LocalStack,
) -> None:
    for number in range(6):
        response = faulty_stack.post_form(
            {
                "name": f"Customer {number}",
                "email": f"customer{number}@example.com",
                "subject": f"Question {number}",
                "message": "Where is my parcel?",
            }
        )
        assert response.status == 201, response.body
    state = build_state(faulty_stack)
    assert faulty_stack.faults.total > 0
    assert len(state["tickets"]) == 6
    acknowledgements = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert sorted(m["to"][0] for m in acknowledgements) == [
        f"customer{n}@example.com" for n in range(6)
    ]
    assert state["dead_letters"] == []


def test_helpdesk_local_takes_a_fault_rate_and_refuses_one_above_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import helpdesk_local.server
    from helpdesk_local.cli import main

    served: dict[str, Any] = {}
    monkeypatch.setattr(helpdesk_local.server, "run_local", lambda **kw: served.update(kw) or 0)
    assert main(["local", "--faults", "0.15"]) == 0
    assert served["fault_rate"] == 0.15
    with pytest.raises(SystemExit):
        main(["local", "--faults", "1.5"])
    assert "not a rate from 0 to below 1" in capsys.readouterr().err


# ---------------------------------------------------------------------- lost answers
# A timeout after the service acted: the write happened, the function cannot know, and the
# SDK's retry meets the function's own write.
FORM = ANNAS_QUESTION


def one_lost_answer(operation: str) -> FaultInjector:
    """The next DynamoDB ``operation`` reaches the table, but its answer is lost."""
    return FaultInjector(
        rate=1.0, services=("dynamodb",), operations=(operation,), lost_responses=True, limit=1
    )


@pytest.mark.parametrize(
    ("function", "operation", "kind"),
    [
        # To a customer, counted already by intake's caps: the claim alone.
        ("acknowledge", "PutItem", "acknowledgement"),
        # To an agent (no hourly count): the claim alone.
        ("route", "PutItem", "assignment"),
    ],
)
def test_a_mail_whose_claim_was_written_but_whose_answer_was_lost_is_sent_once(
    stack: LocalStack, function: str, operation: str, kind: str
) -> None:
    with events_held_back(stack, "acknowledge", "route"):
        assert stack.post_form(FORM).status == 201
        stack.held_functions.discard(function)
        with faults_on(stack, one_lost_answer(operation)) as faults:
            stack.drain()
    stack.drain()
    state = build_state(stack)
    assert faults.total == 1
    assert len([m for m in state["outbox"] if m["kind"] == kind]) == 1
    assert acknowledged_to(state) == [["anna@example.com"]]
    assert state["dead_letters"] == []


def test_an_assignment_whose_answer_was_lost_is_still_mailed_to_the_agent(
    stack: LocalStack,
) -> None:
    with events_held_back(stack, "route"):
        assert stack.post_form(FORM).status == 201
    with faults_on(stack, one_lost_answer("TransactWriteItems")) as faults:
        stack.drain()
    state = build_state(stack)
    assert faults.total == 1
    [ticket] = state["tickets"]
    assert ticket["assignee"] is not None
    assert [m["to"] for m in state["outbox"] if m["kind"] == "assignment"] == [[ticket["assignee"]]]
