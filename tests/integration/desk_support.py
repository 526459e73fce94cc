"""Helpers shared by the tests that drive a local stack: the web-form request most of them
open their ticket with, whom a desk acknowledged, holding the bus's events back from the
function its rule invokes, a call that fails once, and a scenario's final state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.scenario import Player, load_scenario
from helpdesk_local.stack import LocalStack

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

ANNAS_QUESTION = {
    "name": "Anna Schmidt",
    "email": "anna@example.com",
    "subject": "Where is my order?",
    "message": "It has been two weeks.",
}


def open_form_ticket(stack: LocalStack, **changes: str) -> str:
    """The reference of a ticket opened through the web form: Anna's question, with
    ``changes`` (``language="ru"``, say)."""
    response = stack.post_form(ANNAS_QUESTION | changes)
    assert response.status == 201, response.body
    return str(response.json()["ref"])


@contextmanager
def playing(name: str | Path) -> Iterator[tuple[LocalStack, dict[str, Any]]]:
    """Inside: the local stack, still running, after tests/scenarios/``name`` was played on
    it with the scenario's config, and the state it ended in; no function failed."""
    scenario = load_scenario(SCENARIOS / name)
    with LocalStack(start=scenario.start, config_path=scenario.config) as stack:
        state = Player(stack, scenario).play()
        assert stack.invocation_errors == []
        yield stack, state


def played(name: str | Path) -> dict[str, Any]:
    """The state tests/scenarios/``name`` ends in (:func:`playing`); the stack is stopped."""
    with playing(name) as (_, state):
        return state


def acknowledged_to(state: dict[str, Any]) -> list[list[str]]:
    """Whom each acknowledgement in a state's outbox went to, in the order they were sent."""
    return [m["to"] for m in state["outbox"] if m["kind"] == "acknowledgement"]


@contextmanager
def events_held_back(stack: LocalStack, *functions: str) -> Iterator[None]:
    """Inside, the events the bus's rules hand to ``functions`` wait in Lambda's queue, as if
    the function were throttled: the test takes them itself (``stack.take_bus_events``), or
    the function gets them at the next drain afterwards."""
    stack.held_functions.update(functions)
    try:
        yield
    finally:
        stack.held_functions.difference_update(functions)


def failing_once(
    monkeypatch: pytest.MonkeyPatch, owner: type, method: str, error: Exception
) -> None:
    """``owner.method`` raises ``error`` the first time it is called, then works as before:
    a crash at that point of a function's work, and the retry that follows."""
    original = getattr(owner, method)
    failures = iter([True])

    def fails_the_first_time(self: Any, *args: Any, **kwargs: Any) -> Any:
        if next(failures, False):
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, method, fails_the_first_time)


def delivered_twice(stack: LocalStack, raw: bytes) -> None:
    """``raw`` arrives, and S3 hands its notification to the intake twice (S3 and Lambda
    deliver at least once), then everything runs."""
    stack.deliver_email(raw)
    [notification] = stack.take_bucket_events("email_intake", 1)
    for _ in range(2):
        stack.invoke_async("email_intake", notification, retry_at_once=True)
    stack.drain()
