"""The SLA clocks of one ticket, measured in business time. Pure: no I/O, no clock reads.

Three clocks run per ticket, and a fourth once the customer complains:

- ``first_response`` from creation until the first public agent reply;
- ``next_response`` from a customer message that follows an agent reply until the next
  agent reply (never while ``first_response`` still runs);
- ``resolution`` from creation until the ticket is solved, paused while it is ``pending``
  (waiting on the customer) and resumed, with the time already used, when it is open again;
  a reopened solved ticket resumes it the same way;
- ``complaint`` from a customer's complaint (the customer's page or the survey page, see
  helpdesk.services.complaints) until a team lead answers the customer, with its own
  target (config ``complaints.respond_within``, or a policy's ``complaint`` target). A
  further complaint while it runs neither restarts it nor moves its due time (that would
  reward the desk for being complained at again); one after it finished starts a new run.
  It never pauses: a lead owes the customer an answer even while the ticket is pending.

Solving or closing a ticket also stops the reply clocks: the answer that solves a ticket
is the reply. A clock's ``due`` is the first instant at which it is overdue, so a reply at
exactly ``due`` is late; the warning falls when ``warn_at`` x target of business time is
used. Each clock run warns and breaches at most once; a sweep that finds both due at once
reports only the breach. A clock answered late before any sweep noticed is recorded as
breached without an event, since the answer has already gone out.

Every state transition returns a new ``SlaState``. The engine works at one-second
resolution (instants are truncated to whole seconds), so ``to_dict`` holds whole seconds
and ISO 8601 strings only, which DynamoDB stores without the float problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, cast, get_args

from helpdesk.calendar import BusinessCalendar

__all__ = [
    "CLOCK_NAMES",
    "COMPLAINT",
    "STATUSES",
    "Clock",
    "ClockName",
    "ClockRun",
    "SlaEvent",
    "SlaState",
    "SlaTargets",
    "Status",
    "agent_replied",
    "complained",
    "complaint_answered",
    "customer_replied",
    "next_due",
    "retarget",
    "start",
    "status_changed",
    "sweep",
]

ClockName = Literal["first_response", "next_response", "resolution", "complaint"]
CLOCK_NAMES: tuple[ClockName, ...] = get_args(ClockName)
Status = Literal["new", "open", "pending", "solved", "closed"]
STATUSES: tuple[Status, ...] = get_args(Status)
EventKind = Literal["warning", "breach"]

_REPLY_CLOCKS: tuple[ClockName, ...] = ("first_response", "next_response")
# The complaint's target joins a ticket's targets only when its first complaint starts the
# clock: most tickets never carry it, and the ticket item must stay within one write unit.
COMPLAINT: ClockName = "complaint"
_DONE_STATUSES = frozenset({"solved", "closed"})


class SlaTargets(Protocol):
    """The targets of one SLA policy; ``helpdesk.config.Targets`` satisfies it.

    ``None`` means the policy sets no target for that clock: it is still recorded, it never
    warns or breaches.
    """

    @property
    def first_response(self) -> timedelta | None: ...

    @property
    def next_response(self) -> timedelta | None: ...

    @property
    def resolution(self) -> timedelta | None: ...


@dataclass(frozen=True)
class Clock:
    """The current run of one SLA clock.

    ``used`` is the business time used up to ``running_since`` while running, and in total
    once paused or finished. ``due`` and ``warning_at`` are computed when the clock starts
    running and whenever its target changes; while paused they keep their last value
    (meaningful only if already passed), which is why views hide them then.
    """

    name: ClockName
    started_at: datetime
    target: timedelta | None
    used: timedelta = timedelta(0)
    running_since: datetime | None = None
    due: datetime | None = None
    warning_at: datetime | None = None
    achieved_at: datetime | None = None
    warned: bool = False
    breached: bool = False

    @property
    def is_running(self) -> bool:
        """Whether business time currently counts against this clock."""
        return self.running_since is not None

    @property
    def is_finished(self) -> bool:
        """Whether this run has ended (answered, solved or closed)."""
        return self.achieved_at is not None

    @property
    def is_paused(self) -> bool:
        """Whether the run has started but is not counting (ticket pending, or solved)."""
        return not self.is_running and not self.is_finished

    def used_until(self, at: datetime, calendar: BusinessCalendar) -> timedelta:
        """Business time used by this run up to ``at``."""
        if self.running_since is None:
            return self.used
        return self.used + calendar.elapsed(self.running_since, at)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ISO 8601 strings and whole seconds. What is unset (None) or not
        yet true is left out: the clocks live on the ticket item, which is written at every
        change, in a transaction that bills each KB twice."""
        stored = {
            "name": self.name,
            "started_at": _iso(self.started_at),
            "target_seconds": _seconds(self.target),
            "used_seconds": _seconds(self.used),
            "running_since": _iso(self.running_since),
            "due": _iso(self.due),
            "warning_at": _iso(self.warning_at),
            "achieved_at": _iso(self.achieved_at),
            "warned": self.warned,
            "breached": self.breached,
        }
        return {
            key: value for key, value in stored.items() if value is not None and value is not False
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Clock:
        """The clock that ``to_dict`` produced ``data`` from."""
        return cls(
            name=_clock_name(data["name"]),
            started_at=_required_instant(data["started_at"]),
            target=_duration(data.get("target_seconds")),
            used=_required_duration(data["used_seconds"]),
            running_since=_parse_instant(data.get("running_since")),
            due=_parse_instant(data.get("due")),
            warning_at=_parse_instant(data.get("warning_at")),
            achieved_at=_parse_instant(data.get("achieved_at")),
            warned=bool(data.get("warned", False)),
            breached=bool(data.get("breached", False)),
        )


@dataclass(frozen=True)
class ClockRun:
    """A finished clock run, as reports need it: achieved versus due."""

    name: ClockName
    started_at: datetime
    target: timedelta | None
    due: datetime | None
    achieved_at: datetime
    used: timedelta
    breached: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ISO 8601 strings and whole seconds."""
        return {
            "name": self.name,
            "started_at": _iso(self.started_at),
            "target_seconds": _seconds(self.target),
            "due": _iso(self.due),
            "achieved_at": _iso(self.achieved_at),
            "used_seconds": _seconds(self.used),
            "breached": self.breached,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClockRun:
        """The run that ``to_dict`` produced ``data`` from."""
        return cls(
            name=_clock_name(data["name"]),
            started_at=_required_instant(data["started_at"]),
            target=_duration(data["target_seconds"]),
            due=_parse_instant(data["due"]),
            achieved_at=_required_instant(data["achieved_at"]),
            used=_required_duration(data["used_seconds"]),
            breached=bool(data["breached"]),
        )


@dataclass(frozen=True)
class SlaEvent:
    """A warning or breach that became due at ``at``; ``due`` is the clock's due instant."""

    kind: EventKind
    clock: ClockName
    due: datetime
    at: datetime


@dataclass(frozen=True)
class SlaState:
    """The SLA clocks of one ticket under one policy.

    ``clocks`` holds the current (or last) run of each clock that has started;
    ``history`` the finished runs, oldest first.
    """

    policy: str
    warn_at: float
    targets: Mapping[ClockName, timedelta | None]
    clocks: Mapping[ClockName, Clock]
    history: tuple[ClockRun, ...] = ()

    @property
    def warnings(self) -> list[ClockName]:
        """Clocks still running (or paused) past their warning point but not yet breached."""
        return [
            name
            for name, clock in self._clocks_in_order()
            if not clock.is_finished and clock.warned and not clock.breached
        ]

    @property
    def breaches(self) -> list[ClockName]:
        """Clocks that have breached in any run of this ticket."""
        breached = {run.name for run in self.history if run.breached}
        breached |= {name for name, clock in self.clocks.items() if clock.breached}
        return [name for name in CLOCK_NAMES if name in breached]

    def next_promise(self) -> tuple[ClockName, datetime] | None:
        """What the desk owes the customer next and by when: the first answer until it is
        given, else the next answer while that clock runs, else the resolution; None when
        no clock runs (the ticket waits for the customer, or is solved). The one reading of
        "by when" for the customer's page, the channels' answer and a saved reply."""
        for name in ("first_response", "next_response", "resolution"):
            clock = self.clocks.get(name)
            if clock is not None and clock.is_running and clock.due is not None:
                return name, clock.due
        return None

    def next_answer_due(self) -> datetime | None:
        """When the customer's next answer is due (the first or the next), while owed."""
        promise = self.next_promise()
        return promise[1] if promise is not None and promise[0] != "resolution" else None

    def public_view(self) -> dict[str, Any]:
        """What the ticket shows about its SLA: due and achieved instants, warnings, breaches.

        ``next_response_due`` is shown only while that clock runs, ``resolution_due`` not
        while paused (pending); the first response's and resolution's due stay visible
        next to ``first_response_at`` and ``resolved_at`` once achieved.
        """
        first_response = self.clocks.get("first_response")
        next_response = self.clocks.get("next_response")
        resolution = self.clocks.get("resolution")
        complaint = self.clocks.get(COMPLAINT)
        return {
            "policy": self.policy,
            "first_response_due": _visible_due(first_response),
            "first_response_at": _iso(first_response.achieved_at if first_response else None),
            "next_response_due": _iso(
                next_response.due if next_response and next_response.is_running else None
            ),
            "resolution_due": _visible_due(resolution),
            "resolved_at": _iso(resolution.achieved_at if resolution else None),
            # The latest complaint's run: when it was made, when a lead must have answered
            # (shown while it runs and once answered), and when a lead did.
            "complained_at": _iso(complaint.started_at if complaint else None),
            "complaint_due": _visible_due(complaint),
            "complaint_answered_at": _iso(complaint.achieved_at if complaint else None),
            "warnings": list(self.warnings),
            "breaches": list(self.breaches),
        }

    def event_view(self) -> dict[str, Any]:
        """:meth:`public_view` as events carry it: only what is set, so no null and no
        empty list (its readers ask with ``.get``). A new ticket's TicketOpened is written
        into its outbox item, billed per started KB and twice in the transaction: the
        complaint's three nulls pushed it past a write unit once (helpdesk bench, 33 -> 35
        write units per email ticket), and the item now also lists the ticket among its
        contact's (``helpdesk.aws.dynamodb.contact_entry``)."""
        return {key: value for key, value in self.public_view().items() if value not in (None, [])}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for storage: ISO 8601 strings, whole seconds, no floats but warn_at."""
        return {
            "policy": self.policy,
            "warn_at": self.warn_at,
            "targets": {
                name: _seconds(self.targets.get(name))
                for name in CLOCK_NAMES
                if name in self.targets
            },
            "clocks": {name: clock.to_dict() for name, clock in self._clocks_in_order()},
            "history": [run.to_dict() for run in self.history],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaState:
        """The state that ``to_dict`` produced ``data`` from. A ticket's clocks are parsed
        once, where its item is read (``helpdesk.aws.dynamodb.ticket_from_item``), and
        travel as this state from there on."""
        targets = cast("Mapping[str, Any]", data["targets"])
        clocks = cast("Mapping[str, Mapping[str, Any]]", data["clocks"])
        return cls(
            policy=str(data["policy"]),
            warn_at=float(data["warn_at"]),
            targets={_clock_name(name): _duration(seconds) for name, seconds in targets.items()},
            clocks={_clock_name(name): Clock.from_dict(clock) for name, clock in clocks.items()},
            history=tuple(ClockRun.from_dict(run) for run in data["history"]),
        )

    def _clocks_in_order(self) -> Iterator[tuple[ClockName, Clock]]:
        for name in CLOCK_NAMES:
            clock = self.clocks.get(name)
            if clock is not None:
                yield name, clock


def start(
    created_at: datetime,
    policy: str,
    targets: SlaTargets,
    warn_at: float,
    calendar: BusinessCalendar,
) -> SlaState:
    """The clocks of a ticket created at ``created_at``: first response and resolution run."""
    _check_warn_at(warn_at)
    at = _instant(created_at)
    target_by_clock = _targets_by_clock(targets)
    started: tuple[ClockName, ...] = ("first_response", "resolution")
    clocks = {
        name: _run_from(Clock(name, at, target_by_clock[name]), at, warn_at, calendar)
        for name in started
    }
    return SlaState(policy, warn_at, target_by_clock, clocks)


def agent_replied(state: SlaState, at: datetime, calendar: BusinessCalendar) -> SlaState:
    """A public agent reply: it achieves the first response and any awaited next response."""
    instant = _instant(at)
    return _finish_all(state, _REPLY_CLOCKS, instant, calendar)


def customer_replied(state: SlaState, at: datetime, calendar: BusinessCalendar) -> SlaState:
    """A customer message: after an agent reply it starts the next-response clock.

    The clock keeps the first unanswered message's time. On a solved ticket it is created
    paused and starts counting when the ticket reopens, so the caller may record the
    message and the reopening in either order.
    """
    instant = _instant(at)
    first_response = state.clocks.get("first_response")
    if first_response is None or not first_response.is_finished:
        return state
    current = state.clocks.get("next_response")
    if current is not None and not current.is_finished:
        return state
    waiting = Clock("next_response", instant, state.targets.get("next_response"))
    resolution = state.clocks.get("resolution")
    if resolution is None or not resolution.is_finished:
        waiting = _run_from(waiting, instant, state.warn_at, calendar)
    return _with_clocks(state, {"next_response": waiting})


def status_changed(
    state: SlaState, old: str, new: str, at: datetime, calendar: BusinessCalendar
) -> SlaState:
    """The ticket's status moved from ``old`` to ``new`` (new, open, pending, solved, closed).

    Pending pauses resolution; solved or closed stops every clock; open or new resumes
    paused clocks and reopens a solved resolution with the time already used.
    """
    for status in (old, new):
        if status not in STATUSES:
            raise ValueError(f"unknown ticket status {status!r}; expected one of {STATUSES}")
    if old == new:
        return state
    instant = _instant(at)
    if new in _DONE_STATUSES:
        return _finish_all(_without_held_replies(state), CLOCK_NAMES, instant, calendar)

    reopened = _reopen_resolution(state)
    changed: dict[ClockName, Clock] = {}
    for name, clock in reopened._clocks_in_order():
        if clock.is_finished:
            continue
        if name == "resolution" and new == "pending":
            if clock.is_running:
                changed[name] = _pause(clock, instant, calendar)
        elif clock.is_paused:
            changed[name] = _run_from(clock, instant, state.warn_at, calendar)
    return _with_clocks(reopened, changed)


def retarget(
    state: SlaState,
    policy: str,
    targets: SlaTargets,
    *,
    warn_at: float,
    at: datetime,
    calendar: BusinessCalendar,
    previous_calendar: BusinessCalendar | None = None,
    complaint_target: timedelta | None = None,
) -> SlaState:
    """Apply a new policy (priority change) at ``at``; unfinished clocks keep the time used.

    ``complaint_target`` is the new policy's complaint target, for a ticket whose customer
    has complained (None: the complaint keeps the target it has).

    ``calendar`` is the new policy's calendar; ``previous_calendar`` (default: the same)
    measures the business time used up to ``at``. Finished runs keep their old targets.
    A clock already past its new target is due at ``at``; warned and breached flags stay.
    """
    _check_warn_at(warn_at)
    instant = _instant(at)
    used_calendar = previous_calendar or calendar
    target_by_clock = _targets_by_clock(targets)
    if COMPLAINT in state.targets:
        # The complaint's target follows the new policy when the caller knows it.
        target_by_clock[COMPLAINT] = (
            complaint_target if complaint_target is not None else state.targets[COMPLAINT]
        )
    retargeted = replace(state, policy=policy, warn_at=warn_at, targets=target_by_clock)
    changed: dict[ClockName, Clock] = {}
    for name, clock in state._clocks_in_order():
        if clock.is_finished:
            continue
        reset = replace(
            clock,
            target=target_by_clock[name],
            used=clock.used_until(instant, used_calendar),
            due=None,
            warning_at=None,
        )
        if clock.is_running:
            changed[name] = _run_from(reset, instant, warn_at, calendar)
        else:
            changed[name] = _mark_crossed_while_paused(reset, instant, warn_at)
    return _with_clocks(retargeted, changed)


def complained(
    state: SlaState, at: datetime, target: timedelta | None, calendar: BusinessCalendar
) -> tuple[SlaState, bool]:
    """A customer's complaint at ``at``: the complaint clock runs from now with ``target``,
    unless a complaint clock already runs (the complaint's words are kept by the caller; its
    clock and due time stay). Returns the state and whether a new run started.
    """
    instant = _instant(at)
    if target is not None and target < timedelta(0):
        raise ValueError(f"the complaint target must not be negative, got {target}")
    current = state.clocks.get(COMPLAINT)
    if current is not None and not current.is_finished:
        return state, False
    # A finished run is in the history already (_finish_all recorded it).
    clock = _run_from(Clock(COMPLAINT, instant, target), instant, state.warn_at, calendar)
    targets = {**state.targets, COMPLAINT: target}
    return replace(_with_clocks(state, {COMPLAINT: clock}), targets=targets), True


def complaint_answered(state: SlaState, at: datetime, calendar: BusinessCalendar) -> SlaState:
    """A team lead answered the customer: the running complaint clock is achieved."""
    return _finish_all(state, (COMPLAINT,), _instant(at), calendar)


def newly_achieved(
    before: SlaState | None, after: SlaState | None, name: ClockName
) -> Clock | None:
    """``after``'s clock ``name`` if the change from ``before`` achieved it: finished now
    and not already finished in the same run (a clock restarted since counts anew)."""
    clock = after.clocks.get(name) if after is not None else None
    if clock is None or clock.achieved_at is None:
        return None
    old = before.clocks.get(name) if before is not None else None
    if old is not None and old.started_at == clock.started_at and old.achieved_at is not None:
        return None
    return clock


def next_due(state: SlaState) -> datetime | None:
    """The earliest instant at which ``sweep`` has something to report; None if nothing will."""
    instants = [
        instant for clock in state.clocks.values() for _, instant in _open_events(clock, state)
    ]
    return min(instants, default=None)


def sweep(state: SlaState, now: datetime) -> tuple[SlaState, list[SlaEvent]]:
    """Warnings and breaches due at or before ``now`` that were not reported yet, oldest first.

    The returned state marks them reported, so sweeping again (or twice at the same
    instant) reports nothing new.
    """
    instant = _instant(now)
    events: list[SlaEvent] = []
    changed: dict[ClockName, Clock] = {}
    for name, clock in state._clocks_in_order():
        became_due = {kind: when for kind, when in _open_events(clock, state) if when <= instant}
        if not became_due or clock.due is None:
            continue
        # A late sweep that finds the breach already due reports only the breach: a warning
        # that it is about to be late is noise once it is late.
        kind: EventKind = "breach" if "breach" in became_due else "warning"
        events.append(SlaEvent(kind, name, clock.due, became_due[kind]))
        changed[name] = replace(clock, warned=True, breached=clock.breached or kind == "breach")
    events.sort(key=lambda event: event.at)
    return _with_clocks(state, changed), events


def _open_events(clock: Clock, state: SlaState) -> list[tuple[EventKind, datetime]]:
    """The clock's unreported warning and breach with the instants they are (or were) due."""
    if clock.target is None or clock.due is None or clock.is_finished or clock.breached:
        return []
    warn_point = _warn_point(clock.target, state.warn_at)
    events: list[tuple[EventKind, datetime]] = []
    # A paused clock's instants count only if they were crossed before it paused.
    if clock.is_running or clock.used >= clock.target:
        events.append(("breach", clock.due))
    if (
        not clock.warned
        and clock.warning_at is not None
        and (clock.is_running or clock.used >= warn_point)
    ):
        events.append(("warning", clock.warning_at))
    return events


def _run_from(clock: Clock, at: datetime, warn_at: float, calendar: BusinessCalendar) -> Clock:
    """The clock running from ``at`` with its ``used`` time, with due and warning computed.

    An instant already passed keeps its known value, or becomes ``at`` if unknown.
    """
    if clock.target is None:
        return replace(clock, running_since=at, due=None, warning_at=None)
    warn_point = _warn_point(clock.target, warn_at)
    due = (
        calendar.add(at, clock.target - clock.used)
        if clock.used < clock.target
        else clock.due or at
    )
    warning_at = (
        calendar.add(at, warn_point - clock.used)
        if clock.used < warn_point
        else clock.warning_at or at
    )
    return replace(clock, running_since=at, due=due, warning_at=warning_at)


def _pause(clock: Clock, at: datetime, calendar: BusinessCalendar) -> Clock:
    return replace(clock, used=clock.used_until(at, calendar), running_since=None)


def _mark_crossed_while_paused(clock: Clock, at: datetime, warn_at: float) -> Clock:
    """A paused clock whose new target is already used up is due (and warned) at ``at``."""
    if clock.target is None:
        return clock
    return replace(
        clock,
        due=at if clock.used >= clock.target else None,
        warning_at=at if clock.used >= _warn_point(clock.target, warn_at) else None,
    )


def _finish_all(
    state: SlaState, names: tuple[ClockName, ...], at: datetime, calendar: BusinessCalendar
) -> SlaState:
    """Finish the named clocks that have not finished yet, recording each run."""
    changed: dict[ClockName, Clock] = {}
    runs: list[ClockRun] = []
    for name in names:
        clock = state.clocks.get(name)
        if clock is None or clock.is_finished:
            continue
        used = clock.used_until(at, calendar)
        if clock.is_paused:
            # A paused clock's due is stale; the due it would have had if it ran from now
            # keeps "achieved before due" equivalent to "not breached" in the reports.
            clock = _run_from(replace(clock, used=used), at, state.warn_at, calendar)
        breached = clock.breached or (clock.target is not None and used >= clock.target)
        finished = replace(clock, used=used, running_since=None, achieved_at=at, breached=breached)
        changed[name] = finished
        runs.append(
            ClockRun(name, clock.started_at, clock.target, finished.due, at, used, breached)
        )
    if not changed:
        return state
    return replace(_with_clocks(state, changed), history=(*state.history, *runs))


def _without_held_replies(state: SlaState) -> SlaState:
    """The state without reply clocks held on a solved ticket that is now being closed.

    A message that does not reopen the ticket awaits no answer, and recording its run as
    met would flatter the reports.
    """
    kept = {
        name: clock
        for name, clock in state.clocks.items()
        if name not in _REPLY_CLOCKS or not clock.is_paused
    }
    return state if len(kept) == len(state.clocks) else replace(state, clocks=kept)


def _reopen_resolution(state: SlaState) -> SlaState:
    """Undo the finish of a solved resolution: it is paused again, its run no longer final."""
    resolution = state.clocks.get("resolution")
    if resolution is None or not resolution.is_finished:
        return state
    history = list(state.history)
    for index in range(len(history) - 1, -1, -1):
        run = history[index]
        if run.name == "resolution" and run.started_at == resolution.started_at:
            del history[index]
            break
    paused = replace(resolution, achieved_at=None)
    return replace(_with_clocks(state, {"resolution": paused}), history=tuple(history))


def _with_clocks(state: SlaState, changed: Mapping[ClockName, Clock]) -> SlaState:
    if not changed:
        return state
    return replace(state, clocks={**state.clocks, **changed})


def _visible_due(clock: Clock | None) -> str | None:
    if clock is None or clock.is_paused:
        return None
    return _iso(clock.due)


def _targets_by_clock(targets: SlaTargets) -> dict[ClockName, timedelta | None]:
    by_clock: dict[ClockName, timedelta | None] = {
        "first_response": targets.first_response,
        "next_response": targets.next_response,
        "resolution": targets.resolution,
    }
    for name, target in by_clock.items():
        if target is not None and target < timedelta(0):
            raise ValueError(f"the {name} target must not be negative, got {target}")
    return by_clock


def _warn_point(target: timedelta, warn_at: float) -> timedelta:
    """``warn_at`` x target, truncated to the second like every other instant here."""
    return timedelta(seconds=int((target * warn_at).total_seconds()))


def _check_warn_at(warn_at: float) -> None:
    if not 0 <= warn_at <= 1:
        raise ValueError(f"warn_at is a fraction of the target between 0 and 1, got {warn_at}")


def _instant(at: datetime) -> datetime:
    """``at`` in UTC, truncated to the second; ValueError for a naive datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {at.isoformat()}")
    return at.astimezone(UTC).replace(microsecond=0)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def _parse_instant(text: str | None) -> datetime | None:
    return None if text is None else _required_instant(text)


def _required_instant(text: str) -> datetime:
    return _instant(datetime.fromisoformat(text))


def _seconds(duration: timedelta | None) -> int | float | None:
    """Whole seconds as an int (DynamoDB rejects floats); a fraction only if one slipped in."""
    if duration is None:
        return None
    seconds = duration.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


def _duration(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _required_duration(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _clock_name(name: str) -> ClockName:
    if name not in CLOCK_NAMES:
        raise ValueError(f"unknown SLA clock {name!r}; expected one of {CLOCK_NAMES}")
    return name
