"""Fixtures for the reliability tests: a stack whose functions' AWS requests fail, and
scenario runs compared with and without faults."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.scenario import FormStep, Player, Step, load_scenario, stack_for
from helpdesk_local.stack import LocalStack

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
# Monday 23 November 2026, 08:55 UTC = 09:55 in Berlin: inside office hours.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
FAULT_RATE = 0.15
FAULT_SEED = 10
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_SURVEY_TOKEN = re.compile(r"/survey/[^\s\"'<>?&]+")
_ANSWER_TOKEN = re.compile(r"/answer/[A-Za-z0-9_.-]+")
_PAGE_TOKEN = re.compile(r"/ticket/[A-Za-z0-9_.-]+")
_MICROSECONDS = re.compile(r"(T\d{2}:\d{2}:\d{2})\.\d{1,6}")


@pytest.fixture
def faulty_stack() -> Iterator[LocalStack]:
    """A local stack on which 15% of the functions' AWS requests are throttled or fail
    (seeded, so a failing run can be replayed); ``stack.faults.injected`` counts them."""
    with LocalStack(start=MONDAY_MORNING, fault_rate=FAULT_RATE, fault_seed=FAULT_SEED) as local:
        yield local


def normalised(state: dict[str, Any]) -> dict[str, Any]:
    """The state with what differs between two equal runs replaced: ticket references are
    random (numbered in creation order instead), Message-IDs contain them or are random,
    survey, answer and page links carry a signed token, the stack's clock adds a microsecond per
    read, dead letters carry S3 keys and times."""
    text = json.dumps({k: v for k, v in state.items() if k != "dead_letters"}, ensure_ascii=False)
    for number, ticket in enumerate(state["tickets"], start=1):
        text = re.sub(re.escape(ticket["ref"]), f"HD-TICKET{number}", text, flags=re.IGNORECASE)
    text = _MESSAGE_ID.sub("<message-id>", text)
    text = _SURVEY_TOKEN.sub("/survey/<token>", text)
    text = _ANSWER_TOKEN.sub("/answer/<token>", text)
    text = _PAGE_TOKEN.sub("/ticket/<token>", text)
    normal: dict[str, Any] = json.loads(_MICROSECONDS.sub(r"\1", text))
    return normal


@pytest.fixture(scope="session")
def normalise() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """:func:`normalised`, for test modules (which cannot rely on importing a conftest)."""
    return normalised


@pytest.fixture
def atomic_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each AWS request applied atomically, as the services apply each request.

    moto's in-memory backends are not thread-safe (a transaction deep-copies a table that
    another thread is writing); one lock per request gives exactly the services' guarantee
    and nothing more: between two requests of one invocation, the others run freely.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    process = BotocoreStubber.process_request

    def atomically(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomically)


class ChaosPlayer(Player):
    """Plays a scenario as its users would under faults: a browser whose form post failed
    with a 5xx (the function raised) posts it again, as the form page's script does."""

    def run(self, number: int, step: Step) -> Any:
        if not isinstance(step, FormStep):
            return super().run(number, step)
        for _ in range(5):
            try:
                return super().run(number, step)
            except Exception:
                self.stack.drain()
        return super().run(number, step)


PlayScenario = Callable[..., tuple[dict[str, Any], LocalStack]]


@pytest.fixture(scope="session")
def calm_state() -> Callable[[str], dict[str, Any]]:
    """The final state of a scenario played without its faults (played once per session:
    several chaos runs compare with it)."""
    states: dict[str, dict[str, Any]] = {}

    def state(name: str) -> dict[str, Any]:
        if name not in states:
            scenario = load_scenario(SCENARIOS / name)
            with LocalStack(config_path=scenario.config, start=scenario.start) as stack:
                states[name] = Player(stack, scenario).play()
        return states[name]

    return state


@pytest.fixture
def play_scenario() -> Iterator[PlayScenario]:
    """Play a scenario file from tests/scenarios; ``faults=False`` drops its faults,
    ``rate``/``seed`` override them. Returns the state and the (stopped) stack."""

    def play(
        name: str, *, faults: bool = True, rate: float | None = None, seed: int | None = None
    ) -> tuple[dict[str, Any], LocalStack]:
        scenario = load_scenario(SCENARIOS / name)
        chosen = scenario.faults if faults else None
        if chosen is not None and (rate is not None or seed is not None):
            chosen = replace(
                chosen,
                rate=chosen.rate if rate is None else rate,
                seed=chosen.seed if seed is None else seed,
            )
        with stack_for(scenario, chosen) as stack:
            state = ChaosPlayer(stack, scenario).play()
        return state, stack

    yield play


@pytest.fixture(scope="module")
def shared_stack() -> Iterator[LocalStack]:
    """One local stack for a module that delivers many inputs (see ``stack``)."""
    with LocalStack(start=MONDAY_MORNING) as local:
        yield local


@pytest.fixture
def desk(shared_stack: LocalStack) -> LocalStack:
    """The module's shared stack as if new: an empty domain table (no loop-limit counts, no
    tickets to thread into) and an empty outbox. Much cheaper than a new stack, and moto
    copies the whole table in every transaction, so a table that kept growing would make
    each write slower than the one before."""
    from intake_support import forget_everything

    forget_everything(shared_stack)
    return shared_stack
