"""Each lead gets the report of the teams they lead, with the tickets to act on listed by
reference (tests/scenarios/report_two_leads.yaml tells the day; the default config: Maria
leads general and billing, Omar leads tier2), and robots' tickets stay out of the counts.

By hand, Monday 23 November (Berlin):
  Anna's question (general, Lena), opened 09:55, never answered: first response due 13:55
    (4 business hours), breached; still open on Tuesday at 08:00: overdue.
  The VIP's outage (vip policy, urgent, 24x7), opened 09:55 with Wei: first response due
    10:10, breached, escalated to tier2 and taken by Omar; its 4h resolution, due 13:55,
    breached too. Both are tier2's now: Omar's report, not Maria's.
  Bob's refund (billing, Lena) answered at 10:55: 1h, met.
  Paul's out-of-office notice: kept as a ticket flagged auto_reply, counted apart.
  Maria: 3 new (the VIP's ticket was opened in general), backlog 2 (Anna, Bob), one
    automatic reply; Omar: 0 new, backlog 1 (the outage).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from desk_support import played

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "report_two_leads.yaml"
MARIA, OMAR = "maria@support.example", "omar@support.example"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def day() -> Iterator[dict[str, Any]]:
    yield played(SCENARIO)


def report_to(state: dict[str, Any], lead: str) -> dict[str, Any]:
    report: dict[str, Any]
    [report] = [m for m in state["outbox"] if m["kind"] == "report" and m["to"] == [lead]]
    return report


def refs(state: dict[str, Any]) -> dict[str, str]:
    anna, vip, bob, robot = state["tickets"]
    return {"anna": anna["ref"], "vip": vip["ref"], "bob": bob["ref"], "robot": robot["ref"]}


def test_the_day_went_as_scripted(day: dict[str, Any]) -> None:
    anna, vip, bob, robot = day["tickets"]

    assert (anna["team"], anna["assignee"], anna["sla"]["breaches"]) == (
        "general",
        "lena@support.example",
        ["first_response"],
    )
    assert (vip["team"], vip["assignee"]) == ("tier2", "omar@support.example")
    assert bob["sla"]["breaches"] == [] and bob["team"] == "billing"
    assert "auto_reply" in robot["flags"] and robot["assignee"] is None


def test_each_lead_gets_one_daily_report_of_the_teams_they_lead(day: dict[str, Any]) -> None:
    maria, omar = report_to(day, MARIA), report_to(day, OMAR)

    assert maria["at"] == omar["at"] == "2026-11-24T07:00:00+00:00"
    assert "daily report Mon 23 Nov 2026 (general, billing): 3 new, backlog 2" in maria["subject"]
    assert "daily report Mon 23 Nov 2026 (tier2): 0 new, backlog 1" in omar["subject"]
    assert "Teams: general, billing." in maria["text"] and "Teams: tier2." in omar["text"]


def test_each_lead_sees_their_teams_breached_tickets_by_reference_with_assignee_and_due_time(
    day: dict[str, Any],
) -> None:
    ref = refs(day)
    maria, omar = report_to(day, MARIA)["text"], report_to(day, OMAR)["text"]

    assert f"  {ref['anna']}  OVERDUE: first response due 2026-11-23 13:55  Lena  (general)" in (
        maria
    )
    assert f"  {ref['anna']}  first response due 2026-11-23 13:55  Lena  (general)" in maria
    assert ref["vip"] not in maria and ref["bob"] not in maria

    assert f"  {ref['vip']}  OVERDUE: first response due 2026-11-23 10:10  Omar  (tier2)" in omar
    assert "SLA TARGETS MISSED IN THIS PERIOD: 2" in omar
    assert f"  {ref['vip']}  resolution due 2026-11-23 13:55  Omar  (tier2)" in omar
    assert ref["anna"] not in omar


def test_the_html_part_lists_the_same_tickets_and_draws_bars_in_table_cells(
    day: dict[str, Any],
) -> None:
    ref = refs(day)
    html = report_to(day, MARIA)["html"] or ""

    assert ref["anna"] in html and ref["vip"] not in html
    assert "2026-11-23 13:55" in html and "Lena" in html
    assert "<svg" not in html.lower() and "<img" not in html.lower()
    assert 'bgcolor="#1f5fbf"' in html
    assert not re.search(r"<div[^>]*width:\s*\d+%", html)


def test_the_out_of_office_ticket_is_kept_but_not_counted_as_new_nor_in_the_backlog(
    day: dict[str, Any],
) -> None:
    text = report_to(day, MARIA)["text"]

    assert "TICKETS CREATED: 3" in text
    assert "BACKLOG (open now): 2" in text
    assert "Automatic replies kept for review: 1" in text
    # Listed by reference for review, with when it came and what it said.
    assert f"    {refs(day)['robot']}  2026-11-23 09:55  Out of office: back on 30 November" in text
    assert refs(day)["robot"] not in report_to(day, OMAR)["text"]


def test_an_out_of_office_ticket_closes_a_week_after_its_last_mail() -> None:
    monday = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
    raw = (
        b"From: Paul Weber <paul@example.com>\r\n"
        b"To: support@support.example\r\n"
        b"Subject: Out of office\r\n"
        b"Date: Mon, 23 Nov 2026 09:55:00 +0100\r\n"
        b"Message-ID: <ooo-paul-2@example.com>\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"I am out of the office until 30 November.\r\n"
    )
    with LocalStack(start=monday) as stack:
        stack.deliver_email(raw)
        stack.advance(timedelta(days=6, hours=23))
        before = build_state(stack)["tickets"][0]["status"]
        stack.advance(timedelta(hours=1, minutes=10))  # the survey sweep runs every 5 minutes
        after = build_state(stack)["tickets"][0]
        assert stack.invocation_errors == []

    assert before == "new"
    assert after["status"] == "closed" and "auto_reply" in after["flags"]
