"""Daily and weekly reports for team leads, computed from the per-day aggregates only.

A report reads the day partitions of its period, of the period before it (for what grew)
and of the four weeks of its trend (28 at most, each read once per run however many
leads' reports use it), each team's backlog counters, and the open tickets of its teams by
key (those queued or held: the agents' capacity bounds them); never a scan, never the
history (see :mod:`helpdesk.services.stats`). Days are dates in the report time zone
(``config.report_timezone``).

Conventions, stated once so that a hand count agrees with the mail:

- times are shown twice, labelled: business time of each ticket's SLA calendar (what the
  SLA counts: a reply at 06:22, before opening, took 0 business minutes) and calendar
  time (what the customer waited: from the clock's start to the answer, nights included);
- the median is the middle value (the mean of the two middle ones for an even count), the
  90th percentile the nearest-rank value: the smallest value with at least 90% of the
  values at or below it;
- SLA compliance counts every target (first response, next response, resolution) that fell
  due in the period, answered or still open: met when achieved before its due instant,
  missed when its breach was recorded (a target answered late is missed once, on the day
  it was late), so the targets missed per policy are the breaches per policy; an agent's
  SLA figure counts the same targets, credited to whoever answered or held the ticket;
- CSAT is the share of answers scoring 4 or 5; the response rate is answers received in
  the period over surveys sent in it; CES is the mean effort (1 very easy .. 5 very hard)
  of the answers that gave one;
- the backlog is every ticket in new, open or pending, aged by the day it was created;
  tickets robots opened (out-of-office notices, delivery reports) are counted apart and
  outside the backlog while nobody takes them up (helpdesk.model.awaits_review);
- a lead's report holds the teams they lead only (the team counters and the facts of
  their tickets, :func:`helpdesk.services.stats.for_teams`); ``reports.desk_wide_to`` get
  the whole desk's;
- "needs attention" lists the scope's open tickets read now (queued or held: bounded by
  the agents' capacity): overdue when a clock still running or paused has breached, at
  risk when a running clock reaches its warning point before the next daily report, and
  at risk too while a complaint awaits a lead's answer, however far its due time (the
  lead's hourly mail limit may have held the complaint's mail back: security review A18-8);
- the trend covers the four weeks (of 7 days) that end with the report's last day;
- volume per channel is the tickets opened in the period by the channel they came by
  (``email``, ``form``, a configured channel's name such as ``chat``, and ``portal`` or
  ``survey`` for the new ticket a complaint about a closed one opens from the customer's
  page or the survey page: config.BUILT_IN_CHANNELS);
- the self-service rate is the tickets the customer solved from a suggested article in the
  period (the day they confirmed) over the tickets opened in the period that were offered
  at least one article (at most 100%: a ticket offered last week may be confirmed this
  week); "solved most" counts each article's confirmations, "suggested but not helpful"
  lists the articles offered at least :data:`NOT_HELPFUL_MIN_OFFERS` times in the period
  and confirmed for at most :data:`NOT_HELPFUL_MAX_RATE` of those offers; the articles'
  figures are the whole desk's in every report (the articles are the desk's);
- "questions no article answers yet" are the tickets opened in the period, from a person
  (no robot, spam or other unattended flag), that were offered no article while
  suggestions were on, grouped by the stemmed words their subjects share
  (:func:`group_questions`), biggest group first, each with its count and an example;
- complaints are counted on the day they were made, per team; the complaint SLA figure
  counts the complaint targets settled in the period (answered by a lead in time: met;
  its breach recorded: missed), as the SLA compliance does.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from helpdesk import sla
from helpdesk.config import WEEKDAYS
from helpdesk.services import stats

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Ticket
    from helpdesk.notices import Notifier
    from helpdesk.ports import ReportFigures
    from helpdesk.render import RenderedMail

DIMENSIONS = ("channel", "category", "tier", "language")
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1 day or less", 0, 1),
    ("2-3 days", 2, 3),
    ("4-7 days", 4, 7),
    ("over a week", 8, None),
)
# Keys of the age buckets (the words of each language name them).
BUCKET_KEYS = {"1 day or less": "day", "2-3 days": "days_2_3", "4-7 days": "days_4_7",
               "over a week": "older"}  # fmt: skip
GROWTH_SHOWN = 5
BAR_WIDTH = 20  # characters of the widest bar in the text part
LISTED = 25  # tickets listed by reference per list; the rest are counted
AT_RISK_WITHIN = timedelta(hours=24)  # the next daily report
TREND_WEEKS = 4
ARTICLES_SHOWN = 5
QUESTIONS_SHOWN = 10
NOT_HELPFUL_MIN_OFFERS = 3  # offers in the period before an article can be called unhelpful
NOT_HELPFUL_MAX_RATE = 0.1  # confirmed for at most this share of its offers
# Reply and forward prefixes a new ticket's subject may still carry (a customer forwarding
# an order mail: "Fwd: Your order"): they say nothing about the question, and left in they
# would group every forwarded question together. Those of helpdesk.mail.compose's reply
# prefixes, and the forward prefixes: "Fw"/"Fwd", German "WG", Russian "Пересл", Chinese
# "转发"/"轉發".
_MAIL_PREFIXES = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|antw|sv|vs|odp|ynt|ответ|отв|пересл|回复|回覆|答复|转发|轉發)"
    r"\s*(?:\[\d+\]|\^\d+|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Scope:
    """Whose report: the teams a lead leads, or the whole desk (``teams`` None)."""

    teams: tuple[str, ...] | None = None

    def of(self, figures: stats.DayFigures, config: Config) -> stats.DayFigures:
        if self.teams is None:
            return figures
        return stats.for_teams(figures, self.teams, config.team_names)

    def team_names(self, config: Config) -> tuple[str, ...]:
        return config.team_names if self.teams is None else self.teams


DESK = Scope()


@dataclass(frozen=True)
class Period:
    """The days a report covers, both ends included."""

    kind: str  # "daily" | "weekly" | "days"
    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = (self.last - self.first).days + 1
        return Period(
            self.kind, self.first - timedelta(days=length), self.first - timedelta(days=1)
        )

    @property
    def key(self) -> str:
        return f"{self.kind}#{self.first.isoformat()}#{self.last.isoformat()}"

    @property
    def label(self) -> str:
        if self.first == self.last:
            return self.first.strftime("%a %d %b %Y")
        # The first day's year too when it is another: a week over New Year, a long period.
        first = "%a %d %b" if self.first.year == self.last.year else "%a %d %b %Y"
        return f"{self.first.strftime(first)} - {self.last.strftime('%a %d %b %Y')}"


def last_days(today: date, days: int, kind: str = "days") -> Period:
    """The ``days`` full days before ``today``."""
    return Period(kind, today - timedelta(days=days), today - timedelta(days=1))


# ---------------------------------------------------------------------- figures
@dataclass(frozen=True)
class Distribution:
    """Count, median and 90th percentile of durations, in business minutes."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, minutes: Sequence[float]) -> Distribution:
        if not minutes:
            return cls(0, None, None)
        ordered = sorted(minutes)
        rank = math.ceil(0.9 * len(ordered))
        return cls(len(ordered), float(statistics.median(ordered)), float(ordered[rank - 1]))


@dataclass(frozen=True)
class Compliance:
    """Share of SLA targets met for one policy and priority."""

    policy: str
    priority: str
    met: int
    total: int

    @property
    def rate(self) -> float:
        return self.met / self.total if self.total else 0.0


@dataclass(frozen=True)
class Satisfaction:
    """CSAT, response rate and CES of a set of survey answers."""

    answers: int
    satisfied: int
    sent: int
    efforts: tuple[int, ...]

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.answers if self.answers else None

    @property
    def response_rate(self) -> float | None:
        return min(self.answers / self.sent, 1.0) if self.sent else None

    @property
    def ces(self) -> float | None:
        return sum(self.efforts) / len(self.efforts) if self.efforts else None


@dataclass(frozen=True)
class Growth:
    """A category or tag counted in this period and the one before."""

    name: str
    now: int
    before: int

    @property
    def change(self) -> int:
        return self.now - self.before


@dataclass(frozen=True)
class AgentCard:
    """One agent's line of the scorecard."""

    agent: str
    handled: int
    first_response: Distribution
    resolution: Distribution
    met: int
    with_target: int
    satisfaction: Satisfaction

    @property
    def compliance(self) -> float | None:
        return self.met / self.with_target if self.with_target else None


@dataclass(frozen=True)
class TicketLine:
    """One ticket a lead should look at: which clock, due when, and who holds it."""

    ref: str
    team: str
    assignee: str
    clock: str
    due: datetime | None
    state: str  # "overdue" | "at_risk" | "breached" (in the period)
    subject: str = ""
    priority: str = ""


@dataclass(frozen=True)
class Week:
    """One week of the trend."""

    first: date
    last: date
    created: int
    breaches: int
    met: int
    targets: int
    first_response: Distribution

    @property
    def compliance(self) -> float | None:
        return self.met / self.targets if self.targets else None


@dataclass(frozen=True)
class ArticleUse:
    """How often one article was offered in acknowledgements, and confirmed as the answer."""

    slug: str
    offered: int
    solved: int

    @property
    def rate(self) -> float | None:
        return min(self.solved / self.offered, 1.0) if self.offered else None


@dataclass(frozen=True)
class QuestionGroup:
    """Questions no article answered, whose subjects share ``terms`` (stemmed words or Han
    bigrams; empty for a question that shares a word with no other)."""

    count: int
    example: str
    refs: tuple[str, ...]
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SelfService:
    """The knowledge base's figures of a period (see the module's conventions)."""

    offered: int = 0
    self_served: int = 0
    solved_most: tuple[ArticleUse, ...] = ()
    not_helpful: tuple[ArticleUse, ...] = ()
    unsuggested: int = 0
    questions: tuple[QuestionGroup, ...] = ()

    @property
    def rate(self) -> float | None:
        return min(self.self_served / self.offered, 1.0) if self.offered else None

    @property
    def is_empty(self) -> bool:
        return not (self.offered or self.self_served or self.unsuggested)


@dataclass(frozen=True)
class Complaints:
    """Complaints made in the period, per team, and the complaint SLA targets settled."""

    count: int = 0
    by_team: tuple[tuple[str, int], ...] = ()
    met: int = 0
    settled: int = 0

    @property
    def compliance(self) -> float | None:
        return self.met / self.settled if self.settled else None


@dataclass
class Report:
    """Every figure of one report."""

    period: Period
    as_of: date
    created: int
    created_by: dict[str, dict[str, int]]
    first_response: Distribution
    resolution: Distribution
    compliance: list[Compliance]
    breaches: int
    breaches_by_clock: dict[str, int]
    breaches_by_policy: dict[str, int]
    satisfaction: Satisfaction
    backlog: dict[str, dict[str, int]]
    categories_grown: list[Growth]
    tags_grown: list[Growth]
    agents: list[AgentCard] = field(default_factory=list)
    first_response_calendar: Distribution = Distribution(0, None, None)
    resolution_calendar: Distribution = Distribution(0, None, None)
    robots: int = 0
    robot_tickets: list[TicketLine] = field(default_factory=list)
    breached: list[TicketLine] = field(default_factory=list)  # in the period
    attention: list[TicketLine] = field(default_factory=list)  # open now
    trend: list[Week] = field(default_factory=list)
    teams: tuple[str, ...] | None = None  # None: the whole desk
    self_service: SelfService = SelfService()
    complaints: Complaints = Complaints()

    @property
    def backlog_total(self) -> int:
        return sum(sum(buckets.values()) for buckets in self.backlog.values())

    @property
    def is_empty(self) -> bool:
        """A truly empty desk: nothing happened in the period and no ticket waits (the days
        before the desk went live). A quiet day with a backlog is still reported: a lead
        expects the mail every morning, and a missing one reads like a broken desk."""
        return (
            self.backlog_total == 0
            and not self.compliance
            and self.created == 0
            and self.first_response.count == 0
            and self.resolution.count == 0
            and self.breaches == 0
            and self.satisfaction.answers == 0
            and self.satisfaction.sent == 0
            and not self.tags_grown
            and self.robots == 0
            and not self.attention
            and self.self_service.is_empty
            and self.complaints.count == 0
        )


def _minutes(facts: Iterable[Mapping[str, Any]]) -> list[float]:
    return [int(f["seconds"]) / 60 for f in facts]


def _calendar_minutes(facts: Iterable[Mapping[str, Any]]) -> list[float]:
    """Calendar minutes of the facts that know them (facts written before they did not)."""
    return [int(f["calendar_seconds"]) / 60 for f in facts if f.get("calendar_seconds") is not None]


def _instant(text: Any) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None


def breached_in(targets: Iterable[Mapping[str, Any]]) -> list[TicketLine]:
    """The targets missed in the period, by reference, earliest due first."""
    lines = [
        TicketLine(
            ref=str(fact["ref"]),
            team=str(fact.get("team") or ""),
            assignee=str(fact.get("agent") or ""),
            clock=str(fact["clock"]),
            due=_instant(fact.get("due")) or _instant(fact.get("at")),
            state="breached",
            priority=str(fact.get("priority") or ""),
        )
        for fact in targets
        if not fact["met"]
    ]
    return sorted(lines, key=lambda line: (line.due or datetime.max.replace(tzinfo=UTC), line.ref))


def needs_attention(tickets: Iterable[Ticket], *, now: datetime) -> list[TicketLine]:
    """Open tickets overdue (a clock not achieved has breached or is past due) or at risk
    (a running clock reaches its warning point within :data:`AT_RISK_WITHIN`, or a
    complaint awaits a lead's answer): one line per ticket, for its most urgent clock;
    overdue first, each by due time."""
    horizon = now + AT_RISK_WITHIN
    lines: list[TicketLine] = []
    for ticket in tickets:
        if not ticket.sla:
            continue
        state = ticket.sla
        found: list[tuple[int, datetime, str]] = []
        for name in sla.CLOCK_NAMES:
            clock = state.clocks.get(name)
            if clock is None or clock.is_finished or clock.due is None:
                continue
            if clock.breached or (clock.is_running and clock.due <= now):
                found.append((0, clock.due, name))
            elif clock.is_running and (clock.warning_at or clock.due) <= horizon:
                found.append((1, clock.due, name))
            elif name == sla.COMPLAINT:
                # A complaint no lead has answered is at risk however far its due time:
                # the lead's hourly mail limit may have held its mail back (A18-8), and
                # then this list is where the lead reads it.
                found.append((1, clock.due, name))
        if not found:
            continue
        rank, due, most_urgent = min(found)
        lines.append(
            TicketLine(
                ref=ticket.ref,
                team=ticket.team,
                assignee=ticket.assignee or "",
                clock=most_urgent,
                due=due,
                state="overdue" if rank == 0 else "at_risk",
                subject=ticket.subject,
                priority=ticket.priority,
            )
        )
    return sorted(lines, key=lambda line: (line.state != "overdue", line.due, line.ref))


def week_of(figures: stats.DayFigures, first: date, last: date) -> Week:
    """The trend's figures of one week."""
    targets = _settled_targets(figures.facts.get(stats.TARGET, []))
    return Week(
        first=first,
        last=last,
        created=figures.counters.get(stats.CREATED, 0),
        breaches=figures.counters.get(stats.BREACH, 0),
        met=sum(1 for fact in targets if fact["met"]),
        targets=len(targets),
        first_response=Distribution.of(_minutes(figures.facts.get(stats.FIRST_RESPONSE, []))),
    )


def _satisfaction(answers: Sequence[Mapping[str, Any]], sent: int) -> Satisfaction:
    return Satisfaction(
        answers=len(answers),
        satisfied=sum(1 for a in answers if int(a["score"]) >= 4),
        sent=sent,
        efforts=tuple(int(a["effort"]) for a in answers if a.get("effort") is not None),
    )


def _settled_targets(facts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One outcome per target: a resolution reopened and settled again on a later day of
    the period left a fact on each day, and only the later one still holds."""
    latest: dict[str, Mapping[str, Any]] = {}
    for fact in facts:
        key = str(fact["target"])
        settled = datetime.fromisoformat(str(fact["at"]))
        if key not in latest or settled >= datetime.fromisoformat(str(latest[key]["at"])):
            latest[key] = fact
    return list(latest.values())


def _growth(now: Mapping[str, int], before: Mapping[str, int]) -> list[Growth]:
    grown = [Growth(name, n, before.get(name, 0)) for name, n in now.items()]
    grown = [g for g in grown if g.change > 0]
    grown.sort(key=lambda g: (-g.change, -g.now, g.name))
    return grown[:GROWTH_SHOWN]


def article_uses(counters: Mapping[str, int]) -> list[ArticleUse]:
    """Each article offered or confirmed in the period, from the desk's counters."""
    offered = stats.counters_with_prefix(counters, stats.ARTICLE_OFFERED)
    solved = stats.counters_with_prefix(counters, stats.ARTICLE_SOLVED)
    return [
        ArticleUse(slug, offered.get(slug, 0), solved.get(slug, 0))
        for slug in sorted({*offered, *solved})
    ]


def solved_most(uses: Iterable[ArticleUse]) -> list[ArticleUse]:
    """The articles confirmed most often (ties: the one offered less first, it did more
    with less), at most :data:`ARTICLES_SHOWN`."""
    found = sorted((u for u in uses if u.solved), key=lambda u: (-u.solved, u.offered, u.slug))
    return found[:ARTICLES_SHOWN]


def not_helpful(uses: Iterable[ArticleUse]) -> list[ArticleUse]:
    """The articles offered often and rarely confirmed: offered at least
    :data:`NOT_HELPFUL_MIN_OFFERS` times and confirmed for at most
    :data:`NOT_HELPFUL_MAX_RATE` of them, most offered first."""
    found = [
        u
        for u in uses
        if u.offered >= NOT_HELPFUL_MIN_OFFERS and u.solved <= NOT_HELPFUL_MAX_RATE * u.offered
    ]
    found.sort(key=lambda u: (-u.offered, u.solved, u.slug))
    return found[:ARTICLES_SHOWN]


def group_questions(facts: Sequence[Mapping[str, Any]]) -> list[QuestionGroup]:
    """The questions no article answered, grouped by the words their subjects share.

    Each subject becomes its set of terms (helpdesk.knowledge.tokens: Snowball stems of
    English and Russian words, so "refund"/"refunds"/"refunded" meet; Han bigrams for
    Chinese). Greedily, the term shared by most of the questions not yet grouped makes a
    group of every question holding it (its ``terms``: those all its questions share), until
    no term is shared by two; the rest are one question each. Biggest group first, each
    with its latest subject as the example; at most :data:`QUESTIONS_SHOWN`.
    """
    if not facts:
        return []
    # Imported here: only a report with such questions needs the tokeniser, and the report
    # function's cold start stays free of it (docs/KNOWLEDGE.md).
    from helpdesk.knowledge.tokens import terms as terms_of

    latest_first = sorted(
        facts, key=lambda f: (str(f.get("at") or ""), str(f["ref"])), reverse=True
    )
    left = [
        (fact, frozenset(terms_of(_MAIL_PREFIXES.sub("", str(fact.get("subject") or "")))))
        for fact in latest_first
    ]
    groups: list[QuestionGroup] = []
    while left:
        shared: Counter[str] = Counter(term for _, found in left for term in found)
        best = min(shared.items(), key=lambda item: (-item[1], item[0]), default=None)
        if best is None or best[1] < 2:
            break
        members = [(fact, found) for fact, found in left if best[0] in found]
        left = [(fact, found) for fact, found in left if best[0] not in found]
        common = frozenset.intersection(*(found for _, found in members))
        groups.append(_question_group([fact for fact, _ in members], sorted(common)))
    groups += [_question_group([fact], []) for fact, _ in left]
    groups.sort(key=lambda g: -g.count)  # stable: equal groups keep the order they were found
    return groups[:QUESTIONS_SHOWN]


def _question_group(facts: Sequence[Mapping[str, Any]], terms: Sequence[str]) -> QuestionGroup:
    return QuestionGroup(
        count=len(facts),
        example=str(facts[0].get("subject") or ""),
        refs=tuple(str(f["ref"]) for f in facts),
        terms=tuple(terms),
    )


def _age_bucket(age_days: int) -> str:
    for label, low, high in AGE_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    return AGE_BUCKETS[0][0]


def figures(
    current: stats.DayFigures,
    previous: stats.DayFigures,
    backlog_by_team: Mapping[str, Mapping[str, int]],
    *,
    period: Period,
    as_of: date,
    open_tickets: Sequence[Ticket] = (),
    now: datetime | None = None,
    trend: Sequence[Week] = (),
    teams: tuple[str, ...] | None = None,
    desk_counters: Mapping[str, int] | None = None,
    team_names: Sequence[str] = (),
) -> Report:
    """The report of ``period`` from its aggregates (pure: the unit tests' entry point).

    ``current`` and ``previous`` are already cut to the report's scope; ``open_tickets``
    are the scope's active tickets, read at ``now``. ``desk_counters`` are the whole
    desk's counters of the period (the articles' figures, each team's complaints; default:
    ``current``'s, the desk's own report); ``team_names`` the teams whose complaints are
    listed one by one (the report's teams)."""
    counters = current.counters
    first_responses = current.facts.get(stats.FIRST_RESPONSE, [])
    resolutions = current.facts.get(stats.RESOLUTION, [])
    answers = current.facts.get(stats.SURVEY, [])
    targets = _settled_targets(current.facts.get(stats.TARGET, []))
    desk = current.counters if desk_counters is None else desk_counters
    uses = article_uses(desk)
    unsuggested = current.facts.get(stats.UNSUGGESTED, [])
    complaint_targets = [f for f in targets if f.get("clock") == stats.COMPLAINT]

    compliance: dict[tuple[str, str], list[int]] = {}
    for fact in targets:
        entry = compliance.setdefault((str(fact["policy"]), str(fact["priority"])), [0, 0])
        entry[0] += 1 if fact["met"] else 0
        entry[1] += 1

    backlog: dict[str, dict[str, int]] = {}
    for team, by_day in backlog_by_team.items():
        buckets = {label: 0 for label, _, _ in AGE_BUCKETS}
        for day, count in by_day.items():
            buckets[_age_bucket((as_of - date.fromisoformat(day)).days)] += count
        backlog[team] = buckets

    agents: dict[str, AgentCard] = {}
    names = {
        str(f.get("agent") or "") for f in (*first_responses, *resolutions, *answers, *targets)
    }
    for agent in sorted(n for n in names if n):
        mine_fr = [f for f in first_responses if f.get("agent") == agent]
        mine_res = [f for f in resolutions if f.get("agent") == agent]
        mine_answers = [a for a in answers if a.get("agent") == agent]
        mine_targets = [f for f in targets if f.get("agent") == agent]
        agents[agent] = AgentCard(
            agent=agent,
            handled=len({f["ref"] for f in (*mine_fr, *mine_res)}),
            first_response=Distribution.of(_minutes(mine_fr)),
            resolution=Distribution.of(_minutes(mine_res)),
            met=sum(1 for f in mine_targets if f["met"]),
            with_target=len(mine_targets),
            satisfaction=_satisfaction(mine_answers, 0),
        )

    return Report(
        period=period,
        as_of=as_of,
        created=counters.get(stats.CREATED, 0),
        created_by={
            d: stats.counters_with_prefix(counters, stats.created_by(d)) for d in DIMENSIONS
        },
        first_response=Distribution.of(_minutes(first_responses)),
        resolution=Distribution.of(_minutes(resolutions)),
        compliance=[
            Compliance(policy, priority, met, total)
            for (policy, priority), (met, total) in sorted(compliance.items())
        ],
        breaches=counters.get(stats.BREACH, 0),
        breaches_by_clock=stats.counters_with_prefix(counters, stats.BREACH_BY_CLOCK),
        breaches_by_policy=stats.counters_with_prefix(counters, stats.BREACH_BY_POLICY),
        satisfaction=_satisfaction(answers, counters.get(stats.SURVEYS_SENT, 0)),
        backlog=backlog,
        categories_grown=_growth(
            stats.counters_with_prefix(counters, stats.created_by("category")),
            stats.counters_with_prefix(previous.counters, stats.created_by("category")),
        ),
        tags_grown=_growth(
            stats.counters_with_prefix(counters, stats.TAG),
            stats.counters_with_prefix(previous.counters, stats.TAG),
        ),
        agents=list(agents.values()),
        first_response_calendar=Distribution.of(_calendar_minutes(first_responses)),
        resolution_calendar=Distribution.of(_calendar_minutes(resolutions)),
        robots=counters.get(stats.ROBOT, 0),
        robot_tickets=[
            TicketLine(
                ref=str(fact["ref"]),
                team=str(fact.get("team") or ""),
                assignee="",
                clock="",
                due=_instant(fact.get("at")),
                state="robot",
                subject=str(fact.get("subject") or ""),
            )
            for fact in sorted(current.facts.get(stats.ROBOT, []), key=lambda f: str(f["at"]))
        ],
        breached=breached_in(targets),
        attention=needs_attention(open_tickets, now=now) if now is not None else [],
        trend=list(trend),
        teams=teams,
        self_service=SelfService(
            offered=counters.get(stats.OFFERED, 0),
            self_served=counters.get(stats.SELF_SERVED, 0),
            solved_most=tuple(solved_most(uses)),
            not_helpful=tuple(not_helpful(uses)),
            unsuggested=len(unsuggested),
            questions=tuple(group_questions(unsuggested)),
        ),
        complaints=Complaints(
            count=counters.get(stats.COMPLAINT, 0),
            by_team=tuple(
                (team, n)
                for team in team_names
                if (n := desk.get(stats.team_counter(team, stats.COMPLAINT), 0))
            ),
            met=sum(1 for f in complaint_targets if f["met"]),
            settled=len(complaint_targets),
        ),
    )


class DayReader:
    """Each day's figures read once per run, however many leads' reports use them."""

    def __init__(self, store: ReportFigures) -> None:
        self.store = store
        self._days: dict[date, stats.DayFigures] = {}

    def day(self, day: date) -> stats.DayFigures:
        if day not in self._days:
            self._days[day] = self.store.read_day(day)
        return self._days[day]


def build_report(
    store: ReportFigures,
    config: Config,
    period: Period,
    *,
    as_of: date,
    scope: Scope = DESK,
    now: datetime | None = None,
    days: DayReader | None = None,
) -> Report:
    """Read the aggregates of ``period`` (the one before it, and the four weeks of the
    trend) cut to ``scope``, and its open tickets at ``now``, and compute the report."""
    days = days or DayReader(store)

    def merged(of: Iterable[date]) -> stats.DayFigures:
        return scope.of(stats.merge(days.day(day) for day in of), config)

    teams = scope.team_names(config)
    trend = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        last = period.last - timedelta(days=7 * back)
        first = last - timedelta(days=6)
        trend.append(week_of(merged(Period("days", first, last).days), first, last))
    desk = stats.merge(days.day(day) for day in period.days)
    return figures(
        scope.of(desk, config),
        merged(period.previous.days),
        {team: store.read_backlog(team) for team in teams},
        period=period,
        as_of=as_of,
        open_tickets=[t for team in teams for t in store.open_tickets(team)]
        if now is not None
        else [],
        now=now,
        trend=trend,
        teams=scope.teams,
        desk_counters=desk.counters,
        team_names=teams,
    )


# ---------------------------------------------------------------------- presenting
def duration_text(minutes: float | None) -> str:
    """Business minutes as ``2h 05m`` (``-`` when there is nothing to measure)."""
    if minutes is None:
        return "-"
    total = round(minutes)
    hours, rest = divmod(total, 60)
    return f"{hours}h {rest:02d}m" if hours else f"{rest}m"


def percent(share: float | None) -> str:
    """A share as a whole percentage (``-`` when undefined)."""
    return "-" if share is None else f"{round(share * 100)}%"


def _bars(values: Mapping[str, int]) -> list[dict[str, Any]]:
    widest = max(values.values(), default=0)
    return [
        {
            "name": name,
            "count": count,
            "percent": round(100 * count / widest) if widest else 0,
            "text_bar": "#" * (round(BAR_WIDTH * count / widest) if widest else 0),
        }
        for name, count in values.items()
    ]


def _trend_bars(weeks: Sequence[Week]) -> list[dict[str, Any]]:
    """The trend's rows: each week's figures and its bars' widths in percent of the
    largest week (a bar of 0 is drawn as no cell at all: see ``_report.html``)."""
    most_created = max((w.created for w in weeks), default=0)
    most_breaches = max((w.breaches for w in weeks), default=0)

    def share(n: int, most: int) -> int:
        return round(100 * n / most) if most else 0

    return [
        {
            "first_day": w.first.isoformat(),
            "last_day": w.last.isoformat(),
            "label": f"{w.first.strftime('%d %b')} - {w.last.strftime('%d %b')}",
            "created": w.created,
            "created_percent": share(w.created, most_created),
            "created_text_bar": "#" * round(BAR_WIDTH * share(w.created, most_created) / 100),
            "breaches": w.breaches,
            "breaches_percent": share(w.breaches, most_breaches),
            "breaches_text_bar": "!" * round(BAR_WIDTH * share(w.breaches, most_breaches) / 100),
            "compliance": percent(w.compliance),
            "first_response_median": duration_text(w.first_response.median),
        }
        for w in weeks
    ]


def _lines(lines: Sequence[TicketLine], config: Config) -> dict[str, Any]:
    """A list of tickets by reference (the first :data:`LISTED`, and how many more)."""
    zone = ZoneInfo(config.report_timezone)

    def who(address: str) -> str:
        agent = config.agent(address) if address else None
        return agent.name if agent is not None else address

    return {
        "count": len(lines),
        "more": max(len(lines) - LISTED, 0),
        "items": [
            {
                "ref": line.ref,
                "team": line.team,
                "assignee": who(line.assignee),
                "assigned": bool(line.assignee),
                "clock": line.clock,
                "due": line.due.astimezone(zone).strftime("%Y-%m-%d %H:%M") if line.due else "-",
                "state": line.state,
                "subject": line.subject if len(line.subject) <= 60 else line.subject[:59] + "…",
                "priority": line.priority,
            }
            for line in lines[:LISTED]
        ],
    }


def context(report: Report, config: Config) -> dict[str, Any]:
    """The view model of the report templates (``report.subject.txt/.txt/.html``)."""

    def dist(d: Distribution) -> dict[str, Any]:
        return {"count": d.count, "median": duration_text(d.median), "p90": duration_text(d.p90)}

    def sat(s: Satisfaction) -> dict[str, Any]:
        return {
            "answers": s.answers,
            "satisfied": s.satisfied,
            "sent": s.sent,
            "csat": percent(s.csat),
            "response_rate": percent(s.response_rate),
            "ces": "-" if s.ces is None else f"{s.ces:.1f}",
        }

    return {
        "helpdesk_name": config.helpdesk.name,
        "kind": report.period.kind,
        "period": report.period.label,
        "first_day": report.period.first.isoformat(),
        "last_day": report.period.last.isoformat(),
        "timezone": config.report_timezone,
        "teams": list(report.teams) if report.teams is not None else [],
        "desk_wide": report.teams is None,
        "created": report.created,
        "robots": report.robots,
        "robot_close_after": _days_text(config.robots.close_after),
        "robot_tickets": _lines(report.robot_tickets, config),
        "first_response_calendar": dist(report.first_response_calendar),
        "resolution_calendar": dist(report.resolution_calendar),
        "attention": _lines(report.attention, config),
        "breached": _lines(report.breached, config),
        "trend": _trend_bars(report.trend),
        "created_by": [{"dimension": d, "bars": _bars(report.created_by[d])} for d in DIMENSIONS],
        "first_response": dist(report.first_response),
        "resolution": dist(report.resolution),
        "compliance": [
            {
                "policy": c.policy,
                "priority": c.priority,
                "met": c.met,
                "total": c.total,
                "rate": percent(c.rate),
                "percent": round(c.rate * 100),
            }
            for c in report.compliance
        ],
        "breaches": report.breaches,
        "breaches_by_clock": report.breaches_by_clock,
        "breaches_by_policy": report.breaches_by_policy,
        "satisfaction": sat(report.satisfaction),
        "backlog_total": report.backlog_total,
        "backlog_buckets": [label for label, _, _ in AGE_BUCKETS],
        "bucket_keys": BUCKET_KEYS,
        "backlog": [
            {"team": team, "total": sum(b.values()), "buckets": b}
            for team, b in report.backlog.items()
        ],
        "backlog_bars": _bars({t: sum(b.values()) for t, b in report.backlog.items()}),
        "categories_grown": [
            {"name": g.name, "now": g.now, "before": g.before, "change": g.change}
            for g in report.categories_grown
        ],
        "tags_grown": [
            {"name": g.name, "now": g.now, "before": g.before, "change": g.change}
            for g in report.tags_grown
        ],
        "channels": _channels(report),
        "self_service": {
            **_self_service(report.self_service),
            # A desk without suggestions (knowledge.suggest 0) has nothing to show here.
            "shown": config.knowledge.suggest > 0 or not report.self_service.is_empty,
        },
        "complaints": {
            "count": report.complaints.count,
            "by_team": [{"team": t, "count": n} for t, n in report.complaints.by_team],
            "met": report.complaints.met,
            "settled": report.complaints.settled,
            "compliance": percent(report.complaints.compliance),
        },
        "agents": [
            {
                "agent": a.agent,
                "handled": a.handled,
                "first_response": dist(a.first_response),
                "resolution": dist(a.resolution),
                "compliance": percent(a.compliance),
                "csat": percent(a.satisfaction.csat),
                "answers": a.satisfaction.answers,
            }
            for a in report.agents
        ],
    }


def _channels(report: Report) -> list[dict[str, Any]]:
    """Tickets opened per channel, with each channel's share of them and its bar."""
    by_channel = report.created_by.get("channel", {})
    total = sum(by_channel.values())
    return [
        {**bar, "share": percent(bar["count"] / total if total else None)}
        for bar in _bars(by_channel)
    ]


def _self_service(figures: SelfService) -> dict[str, Any]:
    def uses(found: Iterable[ArticleUse]) -> list[dict[str, Any]]:
        return [
            {"slug": u.slug, "offered": u.offered, "solved": u.solved, "rate": percent(u.rate)}
            for u in found
        ]

    return {
        "offered": figures.offered,
        "self_served": figures.self_served,
        "rate": percent(figures.rate),
        "solved_most": uses(figures.solved_most),
        "not_helpful": uses(figures.not_helpful),
        "unsuggested": figures.unsuggested,
        "questions": [
            {
                "count": g.count,
                "example": g.example if len(g.example) <= 60 else g.example[:59] + "…",
            }
            for g in figures.questions
        ],
        "not_helpful_min_offers": NOT_HELPFUL_MIN_OFFERS,
        "not_helpful_max_rate": percent(NOT_HELPFUL_MAX_RATE),
    }


def _days_text(duration: timedelta) -> str:
    """A quiet period as ``7d`` or ``36h`` (the way the config writes it)."""
    hours = round(duration.total_seconds() / 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def render_report(report: Report, config: Config, language: str | None = None) -> RenderedMail:
    """The report mail: subject, plain text and HTML, in ``language`` (the reader's;
    the desk's first language by default)."""
    from helpdesk.render import render

    return render(
        "report",
        language or config.default_language,
        context(report, config),
        fallback_language="en",
    )


# ---------------------------------------------------------------------- sending
def due_periods(now: datetime, config: Config) -> list[Period]:
    """The reports due at ``now``: in the hour that starts at ``daily_at`` (report time
    zone), the previous day's, and on ``weekly_on`` also the last seven days.

    The function runs hourly, so exactly one run falls in that hour; the other 23 read
    nothing. A run that fails is retried by the scheduler and lands in the schedule's
    dead-letter queue (alarmed) if it keeps failing.
    """
    local = now.astimezone(ZoneInfo(config.report_timezone))
    today = local.date()
    start = datetime.combine(today, config.reports.daily_at, tzinfo=local.tzinfo)
    if not start <= local < start + timedelta(hours=1):
        return []
    periods = [last_days(today, 1, "daily")]
    if WEEKDAYS[today.weekday()] == config.reports.weekly_on:
        periods.append(last_days(today, 7, "weekly"))
    return periods


@dataclass(frozen=True)
class ReportDesk:
    """The hourly report run: each due report to each reader, exactly once per period.

    A lead gets the report of the teams they lead, an address of ``reports.desk_wide_to``
    the whole desk's; each in their own language (helpdesk.notices.audience)."""

    repo: ReportFigures
    # Sends each report once per reader and period (helpdesk.notices.reports).
    notifier: Notifier
    config: Config

    def run(self, *, now: datetime) -> list[tuple[str, str]]:
        """Send what is due; the (reader, period key) pairs that were sent now."""
        from helpdesk.notices import audience, reports

        sent: list[tuple[str, str]] = []
        today = now.astimezone(ZoneInfo(self.config.report_timezone)).date()
        days = DayReader(self.repo)
        for period in due_periods(now, self.config):
            built: dict[Scope, Report] = {}
            rendered: dict[tuple[Scope, str], RenderedMail] = {}
            for reader, teams in reports.readers(self.config):
                if reports.already_sent(self.notifier, reader, period.key):
                    continue
                scope = Scope(teams)
                if scope not in built:
                    built[scope] = build_report(
                        self.repo, self.config, period, as_of=today, scope=scope, now=now, days=days
                    )
                report = built[scope]
                if report.is_empty:
                    continue
                language = audience.reader_language(reader, self.config)
                if (scope, language) not in rendered:
                    rendered[(scope, language)] = render_report(report, self.config, language)
                if reports.report(
                    self.notifier, reader, period.key, rendered[(scope, language)], now=now
                ):
                    sent.append((reader, period.key))
        return sent


def report_text(
    repo: ReportFigures,
    config: Config,
    *,
    days: int | None,
    now: datetime,
    lead: str | None = None,
    since: datetime | None = None,
) -> str:
    """The text part of the report of the ``days`` full days before ``now`` (what
    ``helpdesk report`` prints: 1 day is the daily mail, 7 the weekly one): the whole
    desk's, or what ``lead`` gets. Without ``days``, the days from ``since`` through
    ``now``'s, that one as far as it has gone: a played scenario's own days, which a
    scenario of one morning would otherwise leave out."""
    from helpdesk.notices import audience, reports

    zone = ZoneInfo(config.report_timezone)
    today = now.astimezone(zone).date()
    if days is None:
        first = since.astimezone(zone).date() if since is not None else today
        period = Period("days", min(first, today), today)
    else:
        period = last_days(today, days, {1: "daily", 7: "weekly"}.get(days, "days"))
    scope = DESK if lead is None else Scope(reports.scope_of(lead.lower(), config))
    report = build_report(repo, config, period, as_of=today, scope=scope, now=now)
    language = audience.reader_language(lead, config) if lead else None
    return render_report(report, config, language).text
