"""A scheduled sweep that fails, as AWS handles it: Scheduler has delivered the event, so
Lambda retries the function (one minute, then two minutes later) and records the failure
in the function's on-failure destination; Scheduler's dead-letter queue only receives what
Scheduler could not deliver. `helpdesk redrive` runs a recorded sweep again.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from desk_support import ANNAS_QUESTION

from helpdesk_local.faults import outage
from helpdesk_local.redrive import describe, redrive
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

# Tuesday 24 November 2026, 06:50 UTC = 07:50 in Berlin: ten minutes before the daily
# report (reports.daily_at 08:00) and before office hours, so no SLA or survey timer is due
# and the report is the only sweep that runs.
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TUESDAY_BEFORE_THE_REPORT = datetime(2026, 11, 24, 6, 50, tzinfo=UTC)
REPORT_RUN = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
FORM = ANNAS_QUESTION


@pytest.fixture
def waiting_desk() -> Iterator[LocalStack]:
    """A stack with one open ticket waiting, so that the daily report is due at 07:00 UTC."""
    with LocalStack(start=TUESDAY_BEFORE_THE_REPORT) as stack:
        assert stack.post_form(FORM).status == 201
        yield stack


@pytest.fixture
def desk_without_its_report_function(waiting_desk: LocalStack) -> LocalStack:
    """The waiting desk whose report function is gone (deleted by hand, say): Scheduler's
    invocation itself fails."""
    del waiting_desk.functions["report"]
    return waiting_desk


def messages(stack: LocalStack, queue: str) -> list[dict[str, Any]]:
    return [
        json.loads(letter["body"]) for letter in stack.dead_letters() if letter["queue"] == queue
    ]


def advance_to(stack: LocalStack, instant: datetime) -> None:
    stack.advance(instant - stack.clock.peek())


def reports(stack: LocalStack) -> list[dict[str, Any]]:
    return [m for m in build_state(stack)["outbox"] if m["kind"] == "report"]


def dynamodb_down_from_the_report_run_for(stack: LocalStack, outage_length: timedelta) -> None:
    """The clock moves to the report's run and on; DynamoDB refuses every call until
    ``outage_length`` after the run."""
    with outage(stack, "dynamodb"):
        advance_to(stack, REPORT_RUN + outage_length)


def test_a_failing_sweep_is_retried_by_lambda_after_one_and_two_minutes_then_recorded(
    waiting_desk: LocalStack,
) -> None:
    stack = waiting_desk
    report = stack.functions["report"]
    with outage(stack, "dynamodb"):
        advance_to(stack, REPORT_RUN + timedelta(seconds=30))
        assert report.invocations == 1
        advance_to(stack, REPORT_RUN + timedelta(minutes=1, seconds=30))
        assert report.invocations == 2  # Lambda's first retry, a minute later
        advance_to(stack, REPORT_RUN + timedelta(minutes=2, seconds=59))
        assert report.invocations == 2 and messages(stack, "SweepFailureDLQ") == []
        advance_to(stack, REPORT_RUN + timedelta(minutes=3, seconds=1))
        assert report.invocations == 3  # the second retry, two minutes after the first

    [record] = messages(stack, "SweepFailureDLQ")
    # Lambda's invocation record: what was asked, and what the function answered.
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:report:$LATEST")
    assert record["requestPayload"]["source"] == "aws.scheduler"
    assert record["requestPayload"]["time"] == "2026-11-24T07:00:00Z"
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "TransientError"  # the adapter's
    # Scheduler delivered every time: its dead-letter queue stays empty.
    assert messages(stack, "ScheduleDLQ") == []
    assert reports(stack) == []


def test_a_sweep_that_succeeds_on_lambdas_retry_leaves_no_record(
    waiting_desk: LocalStack,
) -> None:
    stack = waiting_desk
    dynamodb_down_from_the_report_run_for(stack, timedelta(seconds=30))
    advance_to(stack, REPORT_RUN + timedelta(minutes=5))
    assert stack.functions["report"].invocations == 2
    assert stack.dead_letters() == []
    assert {m["to"][0] for m in reports(stack)}, "the retried sweep sent the daily report"


def test_a_schedule_scheduler_cannot_deliver_goes_to_the_schedule_dead_letter_queue(
    desk_without_its_report_function: LocalStack,
) -> None:
    stack = desk_without_its_report_function
    advance_to(stack, REPORT_RUN + timedelta(minutes=5))
    [event] = messages(stack, "ScheduleDLQ")
    assert event["source"] == "aws.scheduler" and event["time"] == "2026-11-24T07:00:00Z"
    assert messages(stack, "SweepFailureDLQ") == []


def test_redriving_the_sweep_failures_runs_the_failed_sweep_again(
    waiting_desk: LocalStack,
) -> None:
    stack = waiting_desk
    dynamodb_down_from_the_report_run_for(stack, timedelta(minutes=4))
    assert reports(stack) == [] and len(messages(stack, "SweepFailureDLQ")) == 1

    results = redrive(stack, "SweepFailureDLQ")

    assert describe(results) == ["SweepFailureDLQ: 1 failed invocation(s) run again (report)"]
    assert stack.dead_letters() == []
    leads = {m["to"][0] for m in reports(stack)}
    assert leads, "the redriven sweep sent the daily report"
    assert all("daily report Mon 23 Nov 2026" in m["subject"] for m in reports(stack))


def test_a_redrive_leaves_scheduler_dead_letters_where_they_are(
    desk_without_its_report_function: LocalStack,
) -> None:
    stack = desk_without_its_report_function
    advance_to(stack, REPORT_RUN + timedelta(minutes=1))
    [result] = redrive(stack, "ScheduleDLQ")
    assert result.moved == 0 and result.note is not None
    assert len(messages(stack, "ScheduleDLQ")) == 1


@pytest.mark.slow
def test_a_survey_sweep_that_could_not_send_is_recorded_and_redriven(stack: LocalStack) -> None:
    from helpdesk_local.scenario import Player, load_scenario

    scenario = load_scenario(SCENARIOS / "survey_solved.yaml")
    player = Player(stack, scenario)
    for number, (_, step) in enumerate(scenario.steps, start=1):
        player.run(number, step)
    assert player.ticket(1)["status"] == "solved"
    # SES is down when the survey falls due (an hour after solving): the sweep raises, so
    # the function errors alarm fires and, after Lambda's retries, the record is kept.
    with outage(stack, "ses"):
        stack.advance(timedelta(minutes=70))
    records = messages(stack, "SweepFailureDLQ")
    assert records, "the failed survey sweep left no record"
    assert {r["requestContext"]["functionArn"].split(":")[6] for r in records} == {
        "survey_dispatch"
    }
    assert {r["responsePayload"]["errorType"] for r in records} == {"SweepIncomplete"}
    assert [m for m in build_state(stack)["outbox"] if m["kind"] == "survey"] == []

    redrive(stack, "SweepFailureDLQ")

    [survey] = [m for m in build_state(stack)["outbox"] if m["kind"] == "survey"]
    assert survey["to"] == ["anna@example.com"]
    assert messages(stack, "SweepFailureDLQ") == []


# Two customers whose tickets an agent solves; their surveys fall due an hour later.
TWO_CUSTOMERS_SOLVED = """
start: "2026-11-23T08:55:00+00:00"
steps:
  - form: {name: Clara Ruiz, email: clara@example.com, subject: Late parcel,
           message: My parcel is a week late.}
  - form: {name: Boris Petrov, email: boris@example.com, subject: Wrong colour,
           message: The kettle came in red; I ordered blue.}
  - advance: 20m
  - reply: {ticket: 1, from: agent, text: "#status solved\\nHello Clara, it left today."}
  - reply: {ticket: 2, from: agent, text: "#status solved\\nHello Boris, a blue one is coming."}
"""


@pytest.mark.slow
def test_a_survey_sweep_that_meets_a_ticket_it_cannot_survey_surveys_the_others_then_fails(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever stops one ticket (here SES out of reach for one send, after the SDK's own
    retries), the sweep surveys the rest and then fails, as the SLA sweep does, so that the
    errors alarm and the on-failure destination see it."""
    from botocore.exceptions import EndpointConnectionError

    from helpdesk.aws.ses import SesMailer
    from helpdesk_local.scenario import Player, parse_scenario

    scenario = parse_scenario(TWO_CUSTOMERS_SOLVED)
    player = Player(stack, scenario)
    for number, (_, step) in enumerate(scenario.steps, start=1):
        player.run(number, step)
    assert player.ticket(1)["status"] == player.ticket(2)["status"] == "solved"
    send = SesMailer.send

    def unreachable_for_clara(
        mailer: SesMailer, raw: bytes, *, sender: str, recipients: list[str]
    ) -> str:
        if recipients == ["clara@example.com"]:
            raise EndpointConnectionError(endpoint_url="https://email.eu-west-1.amazonaws.com/")
        return send(mailer, raw, sender=sender, recipients=recipients)

    monkeypatch.setattr(SesMailer, "send", unreachable_for_clara)
    stack.advance(timedelta(minutes=70))

    [survey] = [m for m in build_state(stack)["outbox"] if m["kind"] == "survey"]
    assert survey["to"] == ["boris@example.com"]
    records = messages(stack, "SweepFailureDLQ")
    assert records, "the failed survey sweep left no record"
    assert {r["responsePayload"]["errorType"] for r in records} == {"SweepIncomplete"}
    assert all(r["responsePayload"]["errorMessage"].startswith("1 of ") for r in records)


@pytest.mark.slow
def test_a_warning_committed_while_the_event_bus_is_down_still_goes_out_once(
    stack: LocalStack,
) -> None:
    # Created 08:55 UTC on Monday 23 November 2026: the first-response warning is due at
    # 12:07 UTC (80% of four business hours in Berlin).
    assert stack.post_form(FORM).status == 201
    advance_to(stack, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    with outage(stack, "events"):
        advance_to(stack, datetime(2026, 11, 23, 12, 8, tzinfo=UTC))
    # The sweep never calls the bus: it committed the warning with its outbox item, and
    # only the publish function met the outage.
    assert not any("SweepIncomplete" in error for error in stack.invocation_errors)
    assert [m for m in build_state(stack)["outbox"] if m["kind"] == "warning"] == []

    # What the publish function could not put on the bus after its retries waits in its
    # dead-letter queue (alarmed) until it is replayed from the stream.
    redrive(stack, "PublishFailureDLQ")
    advance_to(stack, datetime(2026, 11, 23, 12, 30, tzinfo=UTC))
    assert len([m for m in build_state(stack)["outbox"] if m["kind"] == "warning"]) == 1
