"""SLA promises through the whole stack: the scenario files tests/scenarios/sla_*.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from desk_support import playing

from helpdesk.clock import iso, parse_iso
from helpdesk.config import load_config
from helpdesk.services.clocks import calendar_of
from helpdesk_local.stack import LocalStack

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
GENERAL_LEAD = "maria@support.example"
TIER2_LEAD = "omar@support.example"


@contextmanager
def played(name: str) -> Iterator[tuple[LocalStack, dict[str, Any]]]:
    with playing(name) as (stack, state):
        assert state["dead_letters"] == [] and state["rejected"] == []
        yield stack, state


def sla_mail(state: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [mail for mail in state["outbox"] if mail["kind"] == kind]


def test_a_friday_afternoon_ticket_is_warned_on_monday_morning_and_breached_after() -> None:
    with played(
        "sla_a_friday_afternoon_ticket_is_warned_on_monday_morning_and_breached_after.yaml"
    ) as (
        _,
        state,
    ):
        [ticket] = state["tickets"]
        assert ticket["sla"]["first_response_due"] == "2026-11-30T10:00:00+00:00"
        assert ticket["sla"]["warnings"] == []
        assert ticket["sla"]["breaches"] == ["first_response"]
        worker = ticket["assignee"] or GENERAL_LEAD

        [warning] = sla_mail(state, "warning")
        assert warning["at"] == "2026-11-30T09:12:00+00:00"  # Monday 10:12 CET, not the weekend
        assert warning["to"] == [worker]
        assert ticket["ref"] in warning["subject"]
        assert "11:00 Berlin time" in warning["text"]

        escalations = sla_mail(state, "escalation")
        assert {mail["at"] for mail in escalations} == {"2026-11-30T10:00:00+00:00"}
        assert sorted(mail["to"][0] for mail in escalations) == sorted({GENERAL_LEAD, worker})


def test_a_breached_ticket_moves_to_tier2_and_its_lead_is_mailed() -> None:
    with played("sla_a_breached_ticket_moves_to_tier2_and_its_lead_is_mailed.yaml") as (
        stack,
        state,
    ):
        [ticket] = state["tickets"]
        assert ticket["team"] == "tier2"
        assert ticket["sla"]["breaches"] == ["first_response"]

        escalations = sla_mail(state, "escalation")
        recipients = [mail["to"][0] for mail in escalations]
        assert len(recipients) == len(set(recipients))
        assert GENERAL_LEAD in recipients
        assert {mail["at"] for mail in escalations} == {"2026-11-23T12:55:00+00:00"}
        [to_general_lead] = [mail for mail in escalations if mail["to"] == [GENERAL_LEAD]]
        assert "escalated to tier2" in to_general_lead["text"]
        # The tier-2 lead takes the ticket himself: one mail, his assignment, says why.
        [to_tier2_lead] = [
            mail
            for mail in state["outbox"]
            if mail["to"] == [TIER2_LEAD] and mail["at"] == ("2026-11-23T12:55:00+00:00")
        ]
        assert to_tier2_lead["kind"] == "assignment"
        assert "Escalated to tier2" in to_tier2_lead["text"]

        history = stack.dynamodb.query(
            TableName=stack.resolver.ref("DomainTable") if stack.resolver else "",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :evt)",
            ExpressionAttributeValues={
                ":pk": {"S": f"TICKET#{ticket['ref']}"},
                ":evt": {"S": "EVT#"},
            },
        )["Items"]
        kinds = [entry["M"]["kind"]["S"] for item in history for entry in item["entries"]["L"]]
        assert "sla_breach" in kinds and "escalated" in kinds


def test_pending_pauses_resolution_until_the_customer_answers() -> None:
    with played("sla_pending_pauses_resolution_until_the_customer_answers.yaml") as (stack, state):
        [ticket] = state["tickets"]
        assert ticket["priority"] == "urgent" and ticket["status"] == "open"
        assert ticket["sla"]["warnings"] == [] and ticket["sla"]["breaches"] == []
        assert sla_mail(state, "warning") == [] and sla_mail(state, "escalation") == []

        created, paused = (
            parse_iso(ticket["created_at"]),
            parse_iso(ticket["sla"]["first_response_at"]),
        )
        answered = parse_iso(ticket["messages"][-1]["at"])
        used_before_pause = paused - created  # within Monday's office hours
        calendar = calendar_of("standard", load_config(stack.config_path))
        resolution = timedelta(hours=8)
        assert ticket["sla"]["resolution_due"] == iso(
            calendar.add(answered, resolution - used_before_pause)
        )
        # Two days later than it would have been: the wait did not count.
        assert parse_iso(ticket["sla"]["resolution_due"]) > calendar.add(created, resolution)


def test_priority_urgent_recomputes_the_first_response_due_time() -> None:
    with played("sla_priority_urgent_recomputes_the_first_response_due_time.yaml") as (_, state):
        [ticket] = state["tickets"]
        assert ticket["priority"] == "urgent"
        assert ticket["sla"]["first_response_due"] == "2026-11-23T09:55:00+00:00"
        assert ticket["sla"]["breaches"] == ["first_response"]

        [warning] = sla_mail(state, "warning")
        assert warning["at"] == "2026-11-23T09:43:00+00:00"
        assert "10:55 Berlin time" in warning["text"]
        assert {mail["at"] for mail in sla_mail(state, "escalation")} == {
            "2026-11-23T09:55:00+00:00"
        }
