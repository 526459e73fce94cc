"""The bundled demo day (played by `make demo`), narrated for a support lead.

Each step says what happens in plain words, then what the desk did about it: tickets
opened and their promise, mails sent, robots ignored, SLA warnings and breaches, status
changes. The day ends with the daily report the team lead receives.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from helpdesk_local.scenario import (
    AdvanceStep,
    EmailStep,
    FormStep,
    Player,
    PortalStep,
    ReplyStep,
    Step,
    SurveyStep,
    load_scenario,
)

DAY = Path(__file__).with_name("day.yaml")

KIND_WORDS = {
    "acknowledgement": "acknowledgement",
    "assignment": "assignment",
    "reply": "agent's answer",
    "notification": "progress note",
    "warning": "SLA warning",
    "escalation": "escalation",
    "survey": "survey",
    "alert": "low-score alert",
    "report": "report",
    "error": "command error",
    "relay": "relayed message",  # a customer's message to the agent
    "note": "colleague's note",  # a colleague's internal note to the assignee
    "complaint": "complaint to the lead",  # a customer's complaint, to the team's leads
    "links": "page links",  # fresh links to a contact's pages, asked for at /ticket
}


OFFICE = ZoneInfo("Europe/Berlin")  # the shipped config's office calendar and report zone


def _local(instant: datetime | str | None) -> str:
    """An instant as the Berlin office reads it: "Mon 09:55"."""
    if instant is None:
        return "-"
    value = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    return f"{value.astimezone(OFFICE):%a %H:%M}"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _describe(step: Step, tickets: list[dict[str, Any]]) -> str:
    def ref(number: int) -> str:
        return tickets[number - 1]["ref"] if number <= len(tickets) else f"#{number}"

    if isinstance(step, FormStep):
        return f"{step.fields.get('name')} fills in the web form: “{step.fields.get('subject')}”"
    if isinstance(step, EmailStep):
        mail = message_from_bytes(step.raw, policy=policy.default)
        return f"A mail arrives from {mail['From']}: “{mail['Subject']}”"
    if isinstance(step, ReplyStep):
        lines = [line.strip() for line in step.text.strip().splitlines() if line.strip()]
        commands = [line for line in lines if line.startswith("#")]
        words = next((line for line in lines if not line.startswith("#")), "")
        said = f"“{words[:60]}{'…' if len(words) > 60 else ''}”" if words else ""
        if step.sender == "agent":
            orders = f" with {', '.join(commands)}" if commands else ""
            return f"The agent answers {ref(step.ticket)} by email{orders}: {said}".rstrip(": ")
        return f"The customer of {ref(step.ticket)} writes back: {said}"
    if isinstance(step, AdvanceStep):
        return f"Time passes: {_duration(step.by.total_seconds())}"
    if isinstance(step, PortalStep):
        done = {"reply": "answers", "solved": "marks it solved", "complain": "complains"}
        said = f": “{step.text[:60]}{'…' if len(step.text) > 60 else ''}”" if step.text else ""
        return f"The customer of {ref(step.ticket)} {done[step.action]} on its page{said}"
    if isinstance(step, SurveyStep):
        said = (
            f"The customer of {ref(step.ticket)} clicks {step.score}/5 in the survey"
            + (f" and comments “{step.comment}”" if step.comment else "")
            if step.score is not None
            else f"The customer of {ref(step.ticket)} opens the survey page"
        )
        if step.complain:
            said += f" and tells the team lead: “{step.complain[:60]}”"
        return said
    return str(step)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
    ]
    return " ".join(p for p in parts if p) or "0 min"


def _narrate_changes(before: dict[str, Any], after: dict[str, Any]) -> None:
    old = {t["ref"]: t for t in before["tickets"]}
    for ticket in after["tickets"]:
        previous = old.get(ticket["ref"])
        if previous is None:
            flags = f" [{', '.join(ticket['flags'])}]" if ticket["flags"] else ""
            due = (ticket.get("sla") or {}).get("first_response_due")
            _say(
                f"      → ticket {ticket['ref']} opened{flags}: {ticket['language']}, "
                f"{ticket['priority']}, team {ticket['team']}, tier {ticket['contact']['tier']}"
                + (f", a person answers by {_local(due)}" if due else ", no promise (robot)")
            )
            continue
        for field in ("status", "priority", "team", "assignee"):
            if previous.get(field) != ticket.get(field) and ticket.get(field):
                _say(f"      → {ticket['ref']} {field}: {previous.get(field)} → {ticket[field]}")
        sla_before, sla_after = previous.get("sla") or {}, ticket.get("sla") or {}
        for clock in sla_after.get("warnings", []):
            if clock not in sla_before.get("warnings", []):
                _say(f"      ⚠ {ticket['ref']}: {clock.replace('_', ' ')} is close to its deadline")
        for clock in sla_after.get("breaches", []):
            if clock not in sla_before.get("breaches", []):
                _say(f"      ✖ {ticket['ref']}: {clock.replace('_', ' ')} deadline missed")
    for mail in after["outbox"][len(before["outbox"]) :]:
        kind = KIND_WORDS.get(mail["kind"], mail["kind"])
        _say(
            f"      ✉ {_local(mail.get('at'))} {kind} to {', '.join(mail['to'])}: {mail['subject']}"
        )
        if mail["kind"] == "relay":
            _narrate_relay(mail)
    for entry in after["suppressed"][len(before["suppressed"]) :]:
        _say(f"      ⊘ no answer to {entry['from']} ({entry['reason'].replace('_', ' ')})")


def _narrate_relay(mail: dict[str, Any]) -> None:
    """What the agent reads in a relayed message: its words, the ticket's state, its files
    (answering that mail answers the customer)."""
    quoted = [line[2:] for line in mail["text"].splitlines() if line.startswith("> ")]
    if quoted:
        words = " ".join(quoted)
        _say(f"        “{words[:70]}{'…' if len(words) > 70 else ''}”")
    facts = [
        line.split(":", 1)[1].strip()
        for line in mail["text"].splitlines()
        if line.startswith(("Status:", "Next answer:"))
    ]
    files = [a["filename"] for a in mail.get("attachments", [])]
    details = [
        f"status {facts[0]}" if facts else "",
        f"next answer {facts[1]}" if len(facts) > 1 else "",
    ]
    details.append(f"attached: {', '.join(files)}" if files else "")
    _say("        " + "; ".join(d for d in details if d) + " (a reply to it answers the customer)")


def run_demo(*, fast: bool = False) -> int:
    """Play the demo day on a fresh local stack, narrating each step, then report."""
    from helpdesk_local.stack import LocalStack
    from helpdesk_local.state import build_state

    scenario = load_scenario(DAY)
    started = time.monotonic()
    _say("helpdesk demo: a day at Example Support, on a local stack built from template.yaml")
    _say(
        "(infra/helpdesk.yaml: Berlin office hours, VIP customers on a 24x7 SLA, "
        "agents Lena, Wei and Omar; times are Berlin time)"
    )
    _say("")
    with LocalStack(start=scenario.start) as stack:
        player = Player(stack, scenario)
        total = len(scenario.steps)
        state = build_state(stack)
        for number, (_, step) in enumerate(scenario.steps, start=1):
            when = f"{stack.clock.peek().astimezone(OFFICE):%a %d %b %H:%M}"
            _say(f"[{number:2}/{total}] {when}  {_describe(step, state['tickets'])}")
            outcome = player.run(number, step)
            if isinstance(step, FormStep) and outcome is not None and outcome.status >= 400:
                _say(
                    f"      the form refuses it ({outcome.status}): {outcome.json().get('detail')}"
                )
            after = build_state(stack, rejected=player.rejected)
            _narrate_changes(state, after)
            state = after
            if not fast:
                time.sleep(0.02)
    _say("")
    _say(f"Where things stand on {stack.clock.peek().astimezone(OFFICE):%A %d %B}:")
    for ticket in state["tickets"]:
        _say(
            f"  {ticket['ref']}  {ticket['status']:<7} {ticket['priority']:<7} "
            f"{ticket['team']:<8} {ticket['language']}  {ticket['subject'][:48]}"
        )
    _say(
        f"  {_count(len(state['tickets']), 'ticket')}, "
        f"{_count(len(state['outbox']), 'mail')} sent, "
        f"{_count(len(state['suppressed']), 'robot or loop', 'robots or loops')} not answered, "
        f"{_count(len(state['dead_letters']), 'dead letter')}"
    )
    reports = [m for m in state["outbox"] if m["kind"] == "report"]
    if reports:
        first_daily = reports[0]
        _say("")
        _say(f"The team lead's daily report ({first_daily['subject']}):")
        _say("")
        for line in first_daily["text"].splitlines():
            _say("  " + line)
    _say("")
    _say(f"(played in {time.monotonic() - started:.1f} s)")
    return 0 if not state["dead_letters"] else 1


if __name__ == "__main__":
    sys.exit(run_demo())


def _count(number: int, one: str, many: str | None = None) -> str:
    """``number`` with its noun in the right number ("1 ticket", "2 tickets")."""
    return f"{number} {one if number == 1 else many or one + 's'}"
