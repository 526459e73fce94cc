"""The desk's own metrics reach the dashboard: each is an embedded-metric-format line in the
function's log (namespace Helpdesk, dimension service=helpdesk, as template.yaml's
dashboard and alarms read them). CloudWatch turns such a line into a data point
("Specification: Embedded metric format", Amazon CloudWatch User Guide)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from desk_support import open_form_ticket

from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)  # 09:55 in Berlin
LENA = "lena@support.example"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    # INFO: the local stack keeps the metric lines on stderr only at INFO or DEBUG.
    with LocalStack(start=MONDAY_MORNING, log_level="INFO") as local:
        yield local


def data_points(err: str, name: str) -> list[tuple[Any, str]]:
    """(value, unit) of every EMF line in ``err`` that carries metric ``name``."""
    points = []
    for line in err.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        record = json.loads(line)
        [directive] = record["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]:
            if metric["Name"] == name:
                assert directive["Namespace"] == "Helpdesk"
                assert ["service"] in directive["Dimensions"] and record["service"] == "helpdesk"
                # A metric's values are a list (or one number) in the line.
                values = record[name] if isinstance(record[name], list) else [record[name]]
                points += [(value, metric["Unit"]) for value in values]
    return points


def test_the_first_response_reaches_the_dashboard_in_business_minutes_and_only_once(
    stack: LocalStack, capfd: pytest.CaptureFixture[str]
) -> None:
    # The "First response (business minutes)" widget had no data: nothing emitted it.
    ref = open_form_ticket(stack)
    stack.advance(timedelta(minutes=45))
    reply = f"/agent/tickets/{ref}/replies"
    first = stack.call_agent_api("POST", reply, {"text": "On its way."}, agent=LENA)
    stack.advance(timedelta(minutes=5))
    later = stack.call_agent_api("POST", reply, {"text": "Tracking: 1Z"}, agent=LENA)
    stack.drain()

    assert (first.status, later.status) == (201, 201)
    err = capfd.readouterr().err
    assert data_points(err, "FirstResponseMinutes") == [(45.0, "None")]
    assert data_points(err, "TicketsCreated") == [(1.0, "Count")]


def test_an_idle_survey_sweep_puts_no_metric_and_one_that_surveys_counts_it(
    stack: LocalStack, capfd: pytest.CaptureFixture[str]
) -> None:
    # A metric that gets a data point exists that month and costs $0.30 (CloudWatch
    # pricing, custom metrics): the sweep's zeros every five minutes made an empty desk pay
    # $0.60 a month for SurveysSent and TicketsAutoClosed.
    scheduled = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}
    stack.invoke("survey_dispatch", scheduled)
    idle = capfd.readouterr().err

    ref = open_form_ticket(stack)
    answered = stack.call_agent_api(
        "POST", f"/agent/tickets/{ref}/replies", {"text": "Done."}, agent=LENA
    )
    solved = stack.call_agent_api(
        "PATCH", f"/agent/tickets/{ref}", {"status": "solved"}, agent=LENA
    )
    stack.advance(timedelta(hours=1, minutes=5))  # the survey is due an hour after solving
    busy = capfd.readouterr().err

    assert data_points(idle, "SurveysSent") == data_points(idle, "TicketsAutoClosed") == []
    assert (answered.status, solved.status) == (201, 200)
    assert data_points(busy, "SurveysSent") == [(1.0, "Count")]
    assert data_points(busy, "TicketsAutoClosed") == []


@pytest.mark.parametrize("scenario", ["portal_complaint.yaml", "complaint_from_the_survey.yaml"])
def test_a_complaint_is_counted_once_whichever_page_it_came_from(
    scenario: str, capfd: pytest.CaptureFixture[str]
) -> None:
    # The survey page's handler counted its complaints; the customer's page's went
    # uncounted (they showed only as PortalActions).
    played = load_scenario(SCENARIOS / scenario)
    with LocalStack(start=played.start, log_level="INFO") as local:
        Player(local, played).play()
        assert local.invocation_errors == []
    assert data_points(capfd.readouterr().err, "Complaints") == [(1.0, "Count")]
