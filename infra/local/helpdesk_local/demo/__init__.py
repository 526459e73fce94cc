"""The bundled demo day (played by `make demo`), narrated for a support lead."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from helpdesk_local.scenario import (
    AdvanceStep,
    EmailStep,
    FormStep,
    Player,
    ReplyStep,
    Step,
    SurveyStep,
    load_scenario,
)

DAY = Path(__file__).with_name("day.yaml")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _describe(step: Step) -> str:
    if isinstance(step, FormStep):
        return f"{step.fields.get('name')} fills in the web form: “{step.fields.get('subject')}”"
    if isinstance(step, EmailStep):
        from email import message_from_bytes, policy

        mail = message_from_bytes(step.raw, policy=policy.default)
        return f"A mail arrives from {mail['From']}: “{mail['Subject']}”"
    if isinstance(step, ReplyStep):
        who = {"agent": "The assigned agent", "customer": "The customer"}.get(
            step.sender, step.sender
        )
        return f"{who} replies by email on ticket {step.ticket}"
    if isinstance(step, AdvanceStep):
        return f"Time passes: {step.by}"
    if isinstance(step, SurveyStep):
        return f"The customer of ticket {step.ticket} clicks score {step.score} in the survey"
    return str(step)


def run_demo(*, fast: bool = False) -> int:
    """Play the demo day on a fresh local stack, narrating each step, then report."""
    from helpdesk_local.stack import LocalStack
    from helpdesk_local.state import build_state

    scenario = load_scenario(DAY)
    started = time.monotonic()
    _say("helpdesk demo: one day at Example Support, on a local stack built from template.yaml")
    _say("")
    seen_outbox = 0
    with LocalStack(start=scenario.start) as stack:
        player = Player(stack, scenario)
        total = len(scenario.steps)
        for number, (_, step) in enumerate(scenario.steps, start=1):
            _say(f"[{number}/{total}] {stack.clock.peek():%a %H:%M} UTC  {_describe(step)}")
            outcome = player.run(number, step)
            if isinstance(step, FormStep) and outcome is not None:
                body: Any = outcome.json() if outcome.body else {}
                if outcome.status == 201:
                    _say(
                        f"        the form answers {outcome.status}: ticket {body.get('ref')}, "
                        f"a person will answer by {body.get('promised_by')}"
                    )
                else:
                    _say(f"        the form refuses it ({outcome.status}): {body.get('detail')}")
            state = build_state(stack)
            for mail in state["outbox"][seen_outbox:]:
                _say(f"        ✉ {mail['kind']} to {', '.join(mail['to'])}: {mail['subject']}")
            seen_outbox = len(state["outbox"])
            if not fast:
                time.sleep(0.05)
        state = build_state(stack)
    _say("")
    _say("End of the day:")
    for ticket in state["tickets"]:
        due = (ticket.get("sla") or {}).get("first_response_due")
        _say(
            f"  {ticket['ref']}  {ticket['status']:<8} {ticket['priority']:<7} "
            f"team {ticket['team']:<8} {ticket['language']}  {ticket['subject']}"
            f"  (answer due {due})"
        )
    _say(
        f"  {len(state['outbox'])} mails sent, {len(state['suppressed'])} suppressed, "
        f"{len(state['dead_letters'])} dead letters"
    )
    _say(f"(played in {time.monotonic() - started:.1f} s)")
    return 0 if not state["dead_letters"] else 1


if __name__ == "__main__":
    sys.exit(run_demo())
