"""At-least-once delivery: every queue message arrives twice, every event the bus's rules
hand to a function arrives twice and every schedule fires twice, and each scenario still
ends with the same tickets, messages, mail and suppressed entries.

SQS, EventBridge and EventBridge Scheduler all deliver at least once; a consumer that is
not idempotent shows up here as a second ticket, message, assignment or mail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from desk_support import ANNAS_QUESTION, acknowledged_to

from helpdesk_local.faults import outage
from helpdesk_local.redrive import redrive
from helpdesk_local.scenario import Player, ReplyStep, load_scenario, parse_scenario
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

State = dict[str, Any]
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
FORM = ANNAS_QUESTION
CUSTOMER_MAIL = (
    b"From: Ivan Petrov <ivan@example.ru>\r\n"
    b"To: support@support.example\r\n"
    b"Subject: Where is my invoice?\r\n"
    b"Message-ID: <ivan-outage@example.ru>\r\n"
    b"Date: Mon, 23 Nov 2026 08:56:00 +0000\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"I never got the invoice for order 5512.\r\n"
)


class DuplicatingQueues:
    """The stack's SQS client, except that every message a function is about to receive is
    also sent into its queue again: the consumer gets it twice, as SQS may deliver it."""

    def __init__(self, sqs: Any, source_urls: set[str]) -> None:
        self._sqs = sqs
        self._source_urls = source_urls
        self._seen: set[str] = set()
        self.copies = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def receive_message(self, **kwargs: Any) -> Any:
        response = self._sqs.receive_message(**kwargs)
        if kwargs["QueueUrl"] in self._source_urls:
            for message in response.get("Messages", []):
                if message["MessageId"] in self._seen:
                    continue  # a redelivery or a copy: copied once is enough
                self._seen.add(message["MessageId"])
                copy = self._sqs.send_message(
                    QueueUrl=kwargs["QueueUrl"],
                    MessageBody=message["Body"],
                    **(
                        {"MessageAttributes": message["MessageAttributes"]}
                        if message.get("MessageAttributes")
                        else {}
                    ),
                )
                self._seen.add(copy["MessageId"])
                self.copies += 1
        return response


class DuplicatingStack(LocalStack):
    """A local stack that delivers every queue message twice, invokes every rule's target
    twice with the same event (Lambda's asynchronous queue may: "Even if your function
    doesn't return an error, it's possible for it to receive the same event from Lambda
    multiple times", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)
    and fires every schedule twice with the same event."""

    def start(self) -> None:
        super().start()
        sources = {self.queue_urls[queue] for queue in self.queue_sources}
        self.duplicating = DuplicatingQueues(self.sqs, sources)
        self.sqs = self.duplicating
        self.schedules_fired_twice = 0
        self.bus_events_twice = 0

    def invoke(self, name: str, event: Mapping[str, Any]) -> Any:
        result = super().invoke(name, event)
        if event.get("source") == "aws.scheduler":
            self.schedules_fired_twice += 1
            return super().invoke(name, event)
        if event.get("source") == "helpdesk":
            self.bus_events_twice += 1
            return super().invoke(name, event)
        return result


# Together these play every kind of delivery there is: mail in (S3 notifications), forms,
# agent mail with commands, customer replies, TicketOpened/AgentReplied/StatusChanged and
# the SLA, survey and escalation events to both functions, and the three schedules.
SCENARIOS = [
    "faults_intake_mix.yaml",
    "agent_lifecycle.yaml",
    "sla_a_breached_ticket_moves_to_tier2_and_its_lead_is_mailed.yaml",
    "survey_low_score.yaml",
    # ComplaintMade through acknowledge, the lead's answer by mail, the complaint clock.
    "complaint_from_the_survey.yaml",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_message_and_schedule_delivered_twice_changes_nothing(
    scenario: str,
    calm_state: Callable[[str], State],
    normalise: Callable[[State], State],
) -> None:
    played = load_scenario(SCENARIO_DIR / scenario)
    with DuplicatingStack(config_path=played.config, start=played.start) as stack:
        twice = Player(stack, played).play()
    # Every scenario's events reach acknowledge and route twice; mail in, its queue twice.
    assert stack.bus_events_twice > 0
    assert stack.invocation_errors == []
    assert normalise(twice) == normalise(calm_state(scenario))
    message_ids = [m["headers"]["Message-ID"] for m in twice["outbox"]]
    assert len(message_ids) == len(set(message_ids)), "a mail was sent twice"
    assert twice["dead_letters"] == []


# ---------------------------------------------------------------------- a write without its event
# The riskiest repeat: the first try wrote the ticket, then failed to publish the event that
# gets it answered. The repeat must notice the write and publish the event after all.


def test_a_form_posted_during_an_event_bus_outage_is_answered_and_acknowledged_once(
    stack: LocalStack,
) -> None:
    with outage(stack, "events"):
        # The form never calls the bus: the ticket and its TicketOpened are one commit.
        first = stack.post_form(FORM)
        again = stack.post_form(FORM)  # the page posts again: the same submission
    assert first.status == again.status == 201
    assert again.json()["ref"] == first.json()["ref"]
    assert [m for m in build_state(stack)["outbox"] if m["kind"] == "acknowledgement"] == []

    # The publish function could not put the event on the bus; its batch waits, alarmed,
    # in PublishFailureDLQ and is replayed from the stream.
    redrive(stack, "PublishFailureDLQ")

    state = build_state(stack)
    assert len(state["tickets"]) == 1 and state["dead_letters"] == []
    assert acknowledged_to(state) == [["anna@example.com"]]


def delivered_in_a_bus_outage_then_redriven(stack: LocalStack, raw: bytes) -> dict[str, Any]:
    """Deliver ``raw`` while EventBridge refuses every event: intake commits it (it never
    calls the bus), and what the publish function could not publish waits in its dead-letter
    queue, alone; then redrive that. The state after."""
    with outage(stack, "events"):
        stack.deliver_email(raw)
        stack.drain()
    assert {d["queue"] for d in build_state(stack)["dead_letters"]} == {"PublishFailureDLQ"}

    redrive(stack, "PublishFailureDLQ")

    return build_state(stack)


def test_mail_taken_in_during_an_event_bus_outage_is_acknowledged_after_the_redrive(
    stack: LocalStack,
) -> None:
    state = delivered_in_a_bus_outage_then_redriven(stack, CUSTOMER_MAIL)

    [ticket] = state["tickets"]
    assert len(ticket["messages"]) == 1 and state["dead_letters"] == []
    assert acknowledged_to(state) == [["ivan@example.ru"]]


def test_an_agent_reply_taken_in_during_an_event_bus_outage_is_relayed_after_the_redrive(
    stack: LocalStack,
) -> None:
    assert stack.post_form(FORM).status == 201
    player = Player(stack, parse_scenario("steps: []"))
    reply = player.reply_mail(
        ReplyStep(ticket=1, sender="agent", text="Your parcel left today.", headers={})
    )
    state = delivered_in_a_bus_outage_then_redriven(stack, reply)

    replies = [m for m in state["tickets"][0]["messages"] if m["direction"] == "out"]
    assert [m["text"] for m in replies] == ["Your parcel left today."]
    relayed = [m for m in state["outbox"] if m["kind"] == "reply"]
    assert [m["to"] for m in relayed] == [["anna@example.com"]]
