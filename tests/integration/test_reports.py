"""Daily and weekly reports of a small scripted week, checked against figures counted by
hand (tests/scenarios/report_week.yaml tells the week; times there are UTC, the report
zone is Europe/Berlin, office hours 09:00-17:00).

By hand, Monday 23 November:
  created 3 (form 3; category none 2, billing 1; tier standard 2, vip 1; language en 3)
  first responses 10m (VIP, 24x7), 30m (Anna), 5h30m (Bob, past its 4h target: breached)
    -> median 30m, 90th percentile (nearest rank: the 3rd of 3) 5h 30m
  resolutions 2h (VIP), 5h30m (Bob) -> median 3h 45m, 90th percentile 5h 30m
  SLA: standard/normal 2 of 3 targets met (Bob's first response missed), vip/urgent 2 of 2
  surveys: 2 sent, answered 5 (effort 1) and 2 (effort 4) -> CSAT 50%, response 100%, CES 2.5
  backlog on Tuesday morning: Anna's ticket, general, 1 day old
The week 23-29 November adds Tuesday: Anna's ticket solved after 7h05m on Monday and
1h25m on Tuesday = 8h30m of business time, and her survey (sent, not answered):
  resolutions 2h, 5h30m, 8h30m -> median 5h 30m, 90th percentile 8h 30m
  standard/normal 3 of 4 met (75%); surveys 3 sent, 2 answered (67%); backlog 0 (closed).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from desk_support import played

from helpdesk_local.cli import main
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
WEEK = SCENARIOS / "report_week.yaml"
ONE_DAY = SCENARIOS / "report_one_day.yaml"

# Each scenario plays a week (or a day) of schedules on the local stack.
pytestmark = pytest.mark.slow
MARIA, OMAR = "maria@support.example", "omar@support.example"


@pytest.fixture(scope="module")
def week() -> Iterator[dict[str, Any]]:
    """The state after the scripted week (played once for every test of this module)."""
    yield played(WEEK)


def reports(state: dict[str, Any], title: str) -> list[dict[str, Any]]:
    return [m for m in state["outbox"] if m["kind"] == "report" and title in m["subject"]]


def one_to_maria_at(state: dict[str, Any], title: str, at: str) -> list[dict[str, Any]]:
    """The reports titled ``title``, checked to be one to Maria, sent at ``at``: every
    ticket of the week is in general or billing, the teams she leads; Omar leads tier2,
    which had no ticket, so he gets no report of that week."""
    sent = reports(state, title)
    assert [m["to"][0] for m in sent] == [MARIA]
    assert {m["at"] for m in sent} == {at}
    return sent


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines()]


def test_the_week_went_as_scripted(week: dict[str, Any]) -> None:
    anna, bob, vip = week["tickets"]
    assert (anna["assignee"], bob["assignee"], vip["assignee"]) == (
        "lena@support.example",
        "lena@support.example",
        "wei@support.example",
    )
    assert [t["status"] for t in week["tickets"]] == ["closed", "closed", "closed"]
    assert bob["sla"]["breaches"] == ["first_response"]


def test_the_lead_of_the_weeks_teams_gets_the_daily_report_of_monday_at_eight_on_tuesday(
    week: dict[str, Any],
) -> None:
    daily = one_to_maria_at(week, "daily report Mon 23 Nov 2026", "2026-11-24T07:00:00+00:00")

    assert all("3 new, backlog 1, CSAT 50%" in m["subject"] for m in daily)
    assert not [m for m in week["outbox"] if m["kind"] == "report" and m["to"] == [OMAR]]


def test_the_daily_report_shows_the_hand_counted_figures(week: dict[str, Any]) -> None:
    [report] = reports(week, "daily report Mon 23 Nov 2026")
    text = lines(report["text"])

    for expected in [
        "TICKETS CREATED: 3",
        "    form              3  ####################",
        "    general question       2  ####################",
        "    billing and payment    1  ##########",
        "    vip               1  ##########",
        "    en                3  ####################",
        "  First response: 3 answered, median 30m, 90th percentile 5h 30m",
        "  Resolution:     2 solved, median 3h 45m, 90th percentile 5h 30m",
        "  standard / normal      2/3  67%",
        "  vip / urgent           2/2  100%",
        "BREACHES: 1",
        "  first response: 1",
        "  CSAT (4 or 5): 50% of 2 answer(s)",
        "  Response rate: 100% (2 answer(s), 2 survey(s) sent)",
        "  Customer effort (1 very easy .. 5 very hard): 2.5",
        "BACKLOG (open now): 1",
        "  general       1  1 day or less: 1, 2-3 days: 0, 4-7 days: 0, over a week: 0",
        "  Categories: general 0 -> 2 (+2); billing 0 -> 1 (+1)",
        "  Tags:       #outage 0 -> 1 (+1)",
        "  lena@support.example: 2 handled; first response median 3h 00m, p90 5h 30m; "
        "resolution median 5h 30m, p90 5h 30m; SLA 67%; CSAT 0% of 1 answer(s)",
        "  wei@support.example: 1 handled; first response median 10m, p90 10m; "
        "resolution median 2h 00m, p90 2h 00m; SLA 100%; CSAT 100% of 1 answer(s)",
    ]:
        assert expected in text, expected


def test_the_lead_gets_the_weekly_report_on_monday_with_the_weeks_figures(
    week: dict[str, Any],
) -> None:
    weekly = one_to_maria_at(
        week, "weekly report Mon 23 Nov - Sun 29 Nov 2026", "2026-11-30T07:00:00+00:00"
    )

    text = lines(weekly[0]["text"])
    for expected in [
        "TICKETS CREATED: 3",
        "  First response: 3 answered, median 30m, 90th percentile 5h 30m",
        "  Resolution:     3 solved, median 5h 30m, 90th percentile 8h 30m",
        "  standard / normal      3/4  75%",
        "  vip / urgent           2/2  100%",
        "BREACHES: 1",
        "  Response rate: 67% (2 answer(s), 3 survey(s) sent)",
        "BACKLOG (open now): 0",
        "  lena@support.example: 2 handled; first response median 3h 00m, p90 5h 30m; "
        "resolution median 7h 00m, p90 8h 30m; SLA 75%; CSAT 0% of 1 answer(s)",
    ]:
        assert expected in text, expected


def test_the_html_part_draws_the_same_figures_with_inline_bars_only(week: dict[str, Any]) -> None:
    [report] = reports(week, "weekly report")
    html = report["html"] or ""

    assert "3/4 75%" in html and "8h 30m" in html and "#outage" in html
    assert "width:75%" in html and "width:100%" in html
    assert "<img" not in html and "<link" not in html and "src=" not in html


def test_each_lead_gets_each_report_once_and_nothing_about_days_before_the_desk_was_used(
    week: dict[str, Any],
) -> None:
    sent = [(m["to"][0], m["subject"]) for m in week["outbox"] if m["kind"] == "report"]

    assert len(sent) == len(set(sent))
    assert not [s for s in sent if "22 Nov" in s[1]]


def test_helpdesk_report_prints_the_same_figures_as_the_daily_mail() -> None:
    [mail] = reports(played(ONE_DAY), "daily report Mon 23 Nov 2026")
    printed = io.StringIO()

    with contextlib.redirect_stdout(printed):
        assert main(["report", "--days", "1", "--lead", MARIA, "--scenario", str(ONE_DAY)]) == 0

    assert lines(printed.getvalue()) == lines(mail["text"])
    assert "  First response: 1 answered, median 45m, 90th percentile 45m" in lines(mail["text"])


def test_a_quiet_weekend_day_is_still_reported_while_a_ticket_waits() -> None:
    # A ticket sent on Friday evening waits all weekend: nothing happens on Saturday (the
    # office calendar stops its SLA clocks), yet Maria, lead of general, gets Saturday's
    # report on Sunday at eight with the ticket in the backlog.
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    with LocalStack(start=friday_evening) as stack:
        assert (
            stack.post_form(
                {
                    "name": "Anna Schmidt",
                    "email": "anna@example.com",
                    "subject": "Where is my order?",
                    "message": "It has been two weeks.",
                }
            ).status
            == 201
        )
        stack.advance(timedelta(hours=37, minutes=30))  # Sunday 08:30 in Berlin
        state = build_state(stack)
        assert stack.invocation_errors == []

    saturday = reports(state, "daily report Sat 28 Nov 2026")
    assert "maria@support.example" in [m["to"][0] for m in saturday]
    text = lines(saturday[0]["text"])
    assert "TICKETS CREATED: 0" in text
    assert "BACKLOG (open now): 1" in text


@pytest.mark.parametrize("address", ["lena@support.example", "mraia@support.example"])
def test_a_report_for_an_address_that_gets_none_is_refused_naming_who_does(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Newuser 12, #11: an agent who leads nothing, or a typo, quietly got the whole
    # desk's report, although the desk mails that address none.
    assert main(["report", "--lead", address, "--scenario", str(ONE_DAY)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"error: {address} gets no report: it leads no team")
    assert MARIA in line
