"""Per-day aggregates for reports, written in the same transaction as the ticket change.

Reports never scan tickets or read history: every fact a report needs is written when it
becomes known, in the same commit as the ticket change that makes it true (the unit of
work asks :func:`ticket_figures` through ``helpdesk.effects.derive``), so a counter can never
drift from the tickets it counts. The DynamoDB adapter (``helpdesk.aws.ticket_store``) keeps
them and reads them back (``read_day``, ``read_backlog``).

Layout (all in the domain table):

- ``PK = STATS#<yyyy-mm-dd>`` (the day in the report time zone), ``SK = C#<shard>``: the
  day's counters, one attribute per counter, all the counters of one change added in one
  write (``ADD``). The shard (crc32 of the ticket reference) spreads concurrent
  transactions over several items: two transactions on one item conflict, and a report
  sums one day's partition anyway, so the shards cost nothing to read.
- ``PK = STATS#<day>``, ``SK = F#<fact>#<ref>``: one item per ticket and fact for the
  measures that need a distribution (first response, resolution) or may be replaced
  (a survey answer submitted again): a report takes medians and percentiles from these.
- ``PK = STATS#<day>``, ``SK = F#target#<ref>#<clock>#<run start>``: one item per SLA target
  (one clock run with a target) on the day its outcome was settled: met when achieved
  before its due instant, missed when the breach is recorded (by the sweep, or by a late
  answer no sweep saw coming). A target achieved after its recorded breach writes nothing
  more: it was counted, as missed, when it fell due. A resolution reopened and settled
  again writes the same key, so a period holding both days keeps the later outcome.
- The backlog by age is not counted: a ticket carries its team's backlog key while it is
  in the backlog (:func:`helpdesk.model.in_backlog`), on a sparse keys-only index
  (``BacklogIndex``, ``helpdesk.aws.ticket_store``), and :func:`backlog_by_day` ages the
  creation instants one Query of it returns. The index entry is written when a ticket
  enters or leaves the backlog (1 write unit each), where the ``BACKLOG#<team>`` counter it
  replaces was updated inside every such transaction (2 each, twice on a team move).

Every counter is kept twice: for the desk (``created``, ``tag#refund``) and for the
ticket's team (``team#<team>#created``, ``team#<team>#tag#refund``), so that a lead's
report of the teams they lead reads the same partition (:func:`for_teams`). Facts carry
their ``team``. Tickets a robot opened (:func:`helpdesk.model.is_robot`) are counted as
``robot`` instead of ``created`` and stay out of the backlog while nobody takes them up.

Self-service, complaints (issues 17 and 18), ridden on writes the commits make anyway:

- ``offered``: a new ticket whose acknowledgement offered articles (``suggested``), counted
  with ``created`` in the same ``ADD``; ``self_served``: a ticket the customer solved from
  a suggested article (the flag appears), on the day they confirmed; ``complaint``: a
  complaint made (the flag appears, or a new run of the complaint clock starts), on its day.
- ``article#offered#<slug>`` / ``article#solved#<slug>``: each article offered in an
  acknowledgement, and the article a self-served ticket was solved by. The desk's only
  (no team copy, :data:`DESK_ONLY`): the articles are the desk's, and a day's shard item,
  which every counting commit rewrites and pays for by size, grows by one name per article
  instead of one per article and team.
- ``F#unsuggested#<ref>``: a new ticket from a person (no robot, spam, or other
  unattended flag) that was offered no article while suggestions are on (``knowledge.suggest``
  above 0): its subject, for the report's list of questions no article answers yet.
  The only new item: one small put per such ticket, none when the knowledge base answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from helpdesk import sla
from helpdesk.effects import Count, Effect, RecordFact
from helpdesk.model import UNATTENDED_FLAGS, is_robot

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Ticket

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
SURVEY = "survey"
TARGET = "target"
ROBOT = "robot"
UNSUGGESTED = "unsuggested"
OFFERED = "offered"
SELF_SERVED = "self_served"
COMPLAINT = "complaint"
# The counters' names and prefixes: written here, read by the report (services/reports.py),
# so that a figure's name is spelt once.
CREATED = "created"
BREACH = "breach"
BREACH_BY_CLOCK = "breach#clock#"
BREACH_BY_POLICY = "breach#policy#"
SURVEYS_SENT = "survey#sent"
TAG = "tag#"
ARTICLE_OFFERED = "article#offered#"
ARTICLE_SOLVED = "article#solved#"
TEAM_PREFIX = "team#"
# Counters kept for the desk alone (see the module's docstring).
DESK_ONLY = (f"{CREATED}#team#", "article#")


def created_by(dimension: str) -> str:
    """The prefix of the tickets created counted by ``dimension`` (channel, team...)."""
    return f"{CREATED}#{dimension}#"


SUBJECT_KEPT = 80  # characters of a subject a fact keeps


def team_counter(team: str, name: str) -> str:
    """The name of ``name`` counted for ``team`` alone."""
    return f"{TEAM_PREFIX}{team}#{name}"


def _with_team_counters(counters: Mapping[str, int], team: str) -> dict[str, int]:
    """``counters`` for the desk and again for ``team`` (the desk's ``created#team#``
    counters are the team's own already; the articles' are the desk's alone)."""
    both = dict(counters)
    for name, n in counters.items():
        if not name.startswith(DESK_ONLY):
            both[team_counter(team, name)] = n
    return dict(sorted(both.items()))


def local_day(at: datetime, config: Config) -> str:
    """The report day (``yyyy-mm-dd`` in the report time zone) an instant belongs to."""
    return at.astimezone(ZoneInfo(config.report_timezone)).date().isoformat()


def ticket_figures(
    before: Ticket | None,
    after: Ticket,
    *,
    at: datetime,
    config: Config,
    actor: str | None = None,
) -> list[Effect]:
    """The report figures that change with ``before`` into ``after`` at ``at``.

    ``before`` is None for a new ticket. ``actor`` is the agent who acted (a reply's
    author); without it the ticket's assignee gets the credit. Pure: it compares the two
    tickets; the counters of one change travel as one :class:`Count`.
    """
    day = local_day(at, config)
    ref = after.ref
    counters: Counter[str] = Counter()
    effects: list[Effect] = []
    agent = actor or after.assignee or ""
    robot = is_robot(after)
    if before is None and robot:
        # An out-of-office notice is nobody's request: kept for review, counted apart,
        # and listed by reference so that the lead can look through them.
        counters[ROBOT] += 1
        effects.append(
            RecordFact(
                day,
                ROBOT,
                ref,
                {
                    "ref": ref,
                    "team": after.team,
                    "subject": after.subject[:SUBJECT_KEPT],
                    "at": at.isoformat(),
                },
            )
        )
    elif before is None:
        counters[CREATED] += 1
        for dimension, value in (
            ("channel", after.channel),
            ("category", after.category or "none"),
            ("tier", after.tier),
            ("language", after.language),
            ("team", after.team),
        ):
            counters[f"{created_by(dimension)}{value}"] += 1
        if after.suggested:
            counters[OFFERED] += 1
            for slug in dict.fromkeys(after.suggested):
                counters[f"{ARTICLE_OFFERED}{slug}"] += 1
        elif config.knowledge.suggest > 0 and not UNATTENDED_FLAGS.intersection(after.flags):
            effects.append(_unsuggested_fact(after, at=at, day=day))
    added_tags = [t for t in after.tags if not robot and (before is None or t not in before.tags)]
    for tag in dict.fromkeys(added_tags):
        counters[f"{TAG}{tag}"] += 1

    old_state = before.sla if before is not None else None
    new_state = after.sla
    if not robot:
        counters.update(_self_service_and_complaints(before, after, old_state, new_state))
    # The customer solved it from an article: the clocks stop, but no agent answered or
    # solved it, so neither a first response, a resolution nor a target met is anyone's
    # (docs/REPORTS.md). A breach already due still counts as missed.
    by_article = (
        before is not None and SELF_SERVED in after.flags and SELF_SERVED not in before.flags
    )
    if new_state is not None:
        for name in sla.CLOCK_NAMES:
            clock = new_state.clocks.get(name)
            if clock is None:
                continue
            old = old_state.clocks.get(name) if old_state is not None else None
            same_run = old is not None and old.started_at == clock.started_at
            newly_breached = clock.breached and not (same_run and old is not None and old.breached)
            if newly_breached:
                counters[BREACH] += 1
                counters[f"{BREACH_BY_CLOCK}{name}"] += 1
                counters[f"{BREACH_BY_POLICY}{new_state.policy}/{after.priority}"] += 1
            newly_achieved = sla.newly_achieved(old_state, new_state, name) is not None
            if by_article and not newly_breached:
                continue
            if clock.target is not None and (
                newly_breached or (newly_achieved and not clock.breached)
            ):
                effects.append(
                    _target_fact(clock, after, policy=new_state.policy, agent=agent, at=at, day=day)
                )
            if newly_achieved and name in (FIRST_RESPONSE, RESOLUTION) and not by_article:
                effects.append(
                    RecordFact(
                        day,
                        name,
                        ref,
                        {
                            "ref": ref,
                            "seconds": int(clock.used.total_seconds()),
                            # Wall-clock time from the clock's start: a reply at 06:22,
                            # before opening, is 0 business minutes but not 0 minutes.
                            "calendar_seconds": int(
                                (clock.achieved_at - clock.started_at).total_seconds()
                            )
                            if clock.achieved_at is not None
                            else None,
                            "breached": clock.breached,
                            "has_target": clock.target is not None,
                            "policy": new_state.policy,
                            "priority": after.priority,
                            "team": after.team,
                            "agent": agent,
                            "at": at.isoformat(),
                        },
                    )
                )

    if counters:
        effects.append(Count(day, _with_team_counters(counters, after.team), ref))
    return effects


def backlog_by_day(created: Iterable[datetime], config: Config) -> dict[str, int]:
    """Open tickets by the report day they were created on (their creation instants, one
    per ticket in the backlog), oldest first; days with none left out."""
    by_day = Counter(local_day(at, config) for at in created)
    return dict(sorted(by_day.items()))


def _unsuggested_fact(after: Ticket, *, at: datetime, day: str) -> RecordFact:
    """A person's question that no article answered confidently: the report groups these
    by the words their subjects share (the writing list for the knowledge base)."""
    return RecordFact(
        day,
        UNSUGGESTED,
        after.ref,
        {
            "ref": after.ref,
            "team": after.team,
            "subject": after.subject[:SUBJECT_KEPT],
            "language": after.language,
            "at": at.isoformat(),
        },
    )


def _self_service_and_complaints(
    before: Ticket | None,
    after: Ticket,
    old_state: sla.SlaState | None,
    new_state: sla.SlaState | None,
) -> Counter[str]:
    """``self_served`` (and its article) when the customer has just solved ``after`` from a
    suggested article; ``complaint`` when a complaint has just been made: the flag appears,
    or the complaint clock (helpdesk.sla) starts a new run, so a complaint after an earlier
    one was answered counts again and one while it runs does not."""
    counters: Counter[str] = Counter()
    # A new ticket may be born complained about: a complaint about a closed ticket opens a
    # new one linked to it (helpdesk.services.complaints).
    had = frozenset(before.flags) if before is not None else frozenset()
    if SELF_SERVED in after.flags and SELF_SERVED not in had:
        counters[SELF_SERVED] += 1
        # The article is recorded on the ticket by the self-service page
        # (helpdesk.services.self_service); a ticket without it still counts above.
        if after.self_served_article:
            counters[f"{ARTICLE_SOLVED}{after.self_served_article}"] += 1
    started = _complaint_started(new_state)
    if (COMPLAINT in after.flags and COMPLAINT not in had) or (
        started is not None and started != _complaint_started(old_state)
    ):
        counters[COMPLAINT] += 1
    return counters


def _complaint_started(state: sla.SlaState | None) -> datetime | None:
    """When the complaint clock's latest run started (None: the customer never complained)."""
    if state is None:
        return None
    for name, clock in state.clocks.items():
        if name == COMPLAINT:
            return clock.started_at
    return None


def _target_fact(
    clock: sla.Clock, after: Ticket, *, policy: str, agent: str, at: datetime, day: str
) -> RecordFact:
    """The settled outcome of one SLA target (one run of one clock)."""
    ref = after.ref
    target = f"{ref}#{clock.name}#{clock.started_at.isoformat()}"
    return RecordFact(
        day,
        TARGET,
        target,
        {
            "target": target,
            "ref": ref,
            "clock": clock.name,
            "met": not clock.breached,
            "due": clock.due.isoformat() if clock.due is not None else None,
            "policy": policy,
            "priority": after.priority,
            "team": after.team,
            "agent": agent,
            "at": at.isoformat(),
        },
    )


def survey_sent(ref: str, *, at: datetime, config: Config, team: str | None = None) -> list[Effect]:
    """The figure that goes with sending a survey (for the desk, and for ``team``)."""
    counts = {SURVEYS_SENT: 1}
    if team is not None:
        counts = _with_team_counters(counts, team)
    return [Count(local_day(at, config), counts, ref)]


def survey_answered(ticket: Ticket, *, config: Config) -> list[Effect]:
    """The answer fact of ``ticket.survey`` (which must hold ``score`` and the time of the
    first answer, ``first_answered_at``).

    Keyed by the day of the first answer, so that a later submit replaces the earlier
    answer instead of counting twice.
    """
    survey = ticket.survey
    first = survey.first_answered_at
    assert first is not None and survey.score is not None, "an answered survey"
    return [
        RecordFact(
            local_day(first, config),
            SURVEY,
            ticket.ref,
            {
                "ref": ticket.ref,
                "score": survey.score,
                "effort": survey.effort,
                "team": ticket.team,
                "agent": ticket.assignee or "",
                "at": (survey.answered_at or first).isoformat(),
            },
        )
    ]


# ---------------------------------------------------------------------- reading
@dataclass
class DayFigures:
    """What one day's partition holds: summed counters and the facts by kind."""

    day: str
    counters: Counter[str] = field(default_factory=Counter)
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def merge(days: Iterable[DayFigures]) -> DayFigures:
    """Several days' figures as one period (facts of the same ticket on two days both count)."""
    merged = DayFigures("")
    for figures in days:
        merged.counters.update(figures.counters)
        for kind, facts in figures.facts.items():
            merged.facts.setdefault(kind, []).extend(facts)
    return merged


def counters_with_prefix(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    """``{value: n}`` of the counters named ``<prefix><value>``, largest first."""
    found = {k.removeprefix(prefix): n for k, n in counters.items() if k.startswith(prefix) and n}
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def for_teams(figures: DayFigures, teams: Iterable[str], known_teams: Iterable[str]) -> DayFigures:
    """The part of ``figures`` that belongs to ``teams``: their own counters under the
    desk's names, and the facts of their tickets.

    ``known_teams`` are every team's name: a counter is the team's whose name is the
    longest one that prefixes it, so that teams "a" and "a#b" never share a counter.
    """
    wanted = set(teams)
    by_length = sorted(set(known_teams) | wanted, key=len, reverse=True)
    scoped = DayFigures(figures.day)
    for name, n in figures.counters.items():
        if not name.startswith(TEAM_PREFIX):
            continue
        owner = next((t for t in by_length if name.startswith(f"{TEAM_PREFIX}{t}#")), None)
        if owner in wanted:
            scoped.counters[name.removeprefix(f"{TEAM_PREFIX}{owner}#")] += n
    for kind, facts in figures.facts.items():
        mine = [fact for fact in facts if fact.get("team") in wanted]
        if mine:
            scoped.facts[kind] = mine
    return scoped
