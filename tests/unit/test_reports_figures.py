"""Report figures from per-day aggregates: medians, percentiles, compliance, CSAT, growth,
backlog age, and when a report is due."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from report_days import MONDAY, assert_no_english, config, day, lines_of

from fakes import (
    MONDAY_MORNING,
    FakeMailer,
    FakeRecords,
    FakeSentMail,
    FakeUnitOfWork,
    sla_of,
    started_clocks,
    ticket,
)
from helpdesk import sla
from helpdesk.config import Config
from helpdesk.model import Ticket
from helpdesk.notices import Notifier
from helpdesk.services.clocks import Change, apply
from helpdesk.services.reports import (
    Distribution,
    Period,
    ReportDesk,
    build_report,
    context,
    due_periods,
    figures,
    render_report,
)
from helpdesk.unit_of_work import TicketChange

__all__ = ["config"]  # the fixture of report_days.py, used by name


def reply(ref: str, minutes: int, *, breached: bool = False, agent: str = "lena") -> dict[str, Any]:
    return {
        "ref": ref,
        "seconds": minutes * 60,
        "breached": breached,
        "has_target": True,
        "policy": "standard",
        "priority": "normal",
        "agent": agent,
    }


def target(
    ref: str, *, met: bool, clock: str = "first_response", agent: str = "lena", at: str = "10:00"
) -> dict[str, Any]:
    return {
        "target": f"{ref}#{clock}#2026-11-23T08:00:00+00:00",
        "ref": ref,
        "clock": clock,
        "met": met,
        "policy": "standard",
        "priority": "normal",
        "agent": agent,
        "at": f"2026-11-23T{at}:00+00:00",
    }


@pytest.mark.parametrize(
    ("minutes", "median", "p90"),
    [
        ([30], 30, 30),
        ([10, 30, 330], 30, 330),
        ([40, 10, 30, 20], 25, 40),
        (list(range(1, 11)), 5.5, 9),
        (list(range(1, 12)), 6, 10),
    ],
)
def test_the_median_is_the_middle_and_the_90th_percentile_the_nearest_rank(
    minutes: list[int], median: float, p90: float
) -> None:
    assert Distribution.of([float(m) for m in minutes]) == Distribution(len(minutes), median, p90)


def test_no_durations_give_no_median() -> None:
    assert Distribution.of([]) == Distribution(0, None, None)


def test_compliance_counts_targets_met_per_policy_and_priority(config: Config) -> None:
    current = day(
        target=[
            target("A", met=True),
            target("B", met=False),
            target("B", met=True, clock="resolution"),
            {**target("V", met=True), "policy": "vip", "priority": "urgent"},
        ],
    )

    report = figures(current, day(), {}, period=MONDAY, as_of=date(2026, 11, 24))

    assert [(c.policy, c.priority, c.met, c.total) for c in report.compliance] == [
        ("standard", "normal", 2, 3),
        ("vip", "urgent", 1, 1),
    ]


def test_a_resolution_settled_again_on_a_later_day_counts_once_with_its_later_outcome() -> None:
    solved_in_time = target("A", met=True, clock="resolution", at="10:00")
    reopened_and_late = {
        **target("A", met=False, clock="resolution"),
        "at": "2026-11-25T10:00:00+00:00",
    }
    week = Period("weekly", date(2026, 11, 23), date(2026, 11, 29))

    report = figures(
        day(target=[reopened_and_late, solved_in_time]), day(), {}, period=week, as_of=week.last
    )

    [standard] = report.compliance
    assert (standard.met, standard.total) == (0, 1)
    assert report.agents[0].compliance == 0.0


def test_csat_is_the_share_of_fours_and_fives_and_ces_the_mean_effort(config: Config) -> None:
    answers = [
        {"ref": "A", "score": 5, "effort": 1, "agent": "lena"},
        {"ref": "B", "score": 4, "effort": None, "agent": "lena"},
        {"ref": "C", "score": 2, "effort": 4, "agent": "wei"},
        {"ref": "D", "score": 3, "effort": 2, "agent": "wei"},
    ]

    report = figures(
        day({"survey#sent": 8}, survey=answers), day(), {}, period=MONDAY, as_of=MONDAY.last
    )

    assert report.satisfaction.csat == 0.5
    assert report.satisfaction.response_rate == 0.5
    assert report.satisfaction.ces == pytest.approx(7 / 3)
    cards = {card.agent: card for card in report.agents}
    assert cards["lena"].satisfaction.csat == 1.0 and cards["wei"].satisfaction.csat == 0.0


def test_what_grew_most_is_listed_first_and_what_shrank_not_at_all() -> None:
    now = {"created#category#billing": 5, "created#category#shipping": 3, "tag#refund": 4}
    before = {"created#category#billing": 4, "created#category#shipping": 0, "tag#refund": 6}

    report = figures(day(now), day(before), {}, period=MONDAY, as_of=MONDAY.last)

    assert [(g.name, g.change) for g in report.categories_grown] == [
        ("shipping", 3),
        ("billing", 1),
    ]
    assert report.tags_grown == []


def test_the_backlog_is_aged_from_the_day_each_ticket_was_opened() -> None:
    by_day = {"general": {"2026-11-23": 2, "2026-11-21": 1, "2026-11-10": 4}, "tier2": {}}

    report = figures(day(), day(), by_day, period=MONDAY, as_of=date(2026, 11, 24))

    assert report.backlog["general"] == {
        "1 day or less": 2,
        "2-3 days": 1,
        "4-7 days": 0,
        "over a week": 4,
    }
    assert report.backlog_total == 7


def test_a_quiet_day_with_tickets_waiting_is_still_reported() -> None:
    waiting = {"general": {"2026-11-20": 2}}

    assert not figures(day(), day(), waiting, period=MONDAY, as_of=MONDAY.last).is_empty
    assert figures(day(), day(), {"general": {}}, period=MONDAY, as_of=MONDAY.last).is_empty


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (datetime(2026, 11, 24, 6, 59, tzinfo=UTC), []),
        (datetime(2026, 11, 24, 7, 0, tzinfo=UTC), ["daily#2026-11-23#2026-11-23"]),
        (datetime(2026, 11, 24, 7, 59, tzinfo=UTC), ["daily#2026-11-23#2026-11-23"]),
        (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), []),
        (
            datetime(2026, 11, 30, 7, 30, tzinfo=UTC),
            ["daily#2026-11-29#2026-11-29", "weekly#2026-11-23#2026-11-29"],
        ),
        # Summer time: 08:00 in Berlin is 06:00 UTC.
        (datetime(2026, 7, 14, 6, 10, tzinfo=UTC), ["daily#2026-07-13#2026-07-13"]),
    ],
)
def test_reports_are_due_in_the_hour_after_eight_in_berlin_and_weekly_on_monday(
    config: Config, now: datetime, due: list[str]
) -> None:
    assert [period.key for period in due_periods(now, config)] == due


def test_names_from_tickets_are_escaped_in_the_html_part(config: Config) -> None:
    current = day(
        {"created": 1, "created#category#<b>x</b>": 1, "tag#<script>": 1},
        first_response=[reply("A", 30, agent="<img src=x>")],
    )

    mail = render_report(figures(current, day(), {}, period=MONDAY, as_of=MONDAY.last), config)

    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "<img" not in mail.html and "<b>x</b>" not in mail.html
    assert "#<script>" in mail.text


def test_the_text_and_html_parts_carry_the_same_figures(config: Config) -> None:
    current = day(
        {"created": 2, "created#channel#email": 2, "breach": 1, "breach#clock#first_response": 1},
        first_response=[reply("A", 30), reply("B", 330, breached=True)],
        target=[target("A", met=True), target("B", met=False)],
    )
    report = figures(current, day(), {}, period=MONDAY, as_of=MONDAY.last)

    mail = render_report(report, config)
    view = context(report, config)

    assert view["first_response"] == {"count": 2, "median": "3h 00m", "p90": "5h 30m"}
    for figure in ("3h 00m", "5h 30m", "1/2", "50%"):
        assert figure in mail.text and figure in mail.html, figure
    assert "daily report" in mail.subject and "2 new" in mail.subject


OPENED = MONDAY_MORNING  # 09:55 in Berlin


def opened(config: Config, ref: str) -> Ticket:
    return ticket(
        ref=ref,
        status="open",
        channel="form",
        created_at=OPENED,
        sla=started_clocks(config, OPENED),
        assignee="lena@support.example",
    )


def answer(desk: FakeUnitOfWork, ref: str, *, at: datetime, config: Config) -> Ticket:
    """The ticket's agent answers at ``at`` (committed, with the figures it adds)."""
    ticket = desk.load(ref)
    answered = apply(ticket, Change(agent_reply=True), at=at, config=config)
    return desk.commit(TicketChange(before=ticket, after=answered, at=at))


def swept(desk: FakeUnitOfWork, ref: str, *, at: datetime) -> Ticket:
    """The SLA sweep records what is due at ``at`` (committed)."""
    ticket = desk.load(ref)
    state, _ = sla.sweep(sla_of(ticket), at)
    return desk.commit(TicketChange(before=ticket, after=replace(ticket, sla=state), at=at))


def test_a_breach_on_a_ticket_still_open_counts_as_a_target_due_and_missed(config: Config) -> None:
    # Three standard/normal tickets opened Monday 09:55 Berlin: first response due 13:55
    # (4 business hours), which is 12:55 UTC. By hand: Anna answered after 30m (met); Bob's
    # breach recorded by the 13:00 sweep, then answered at 14:00 (late: the same target,
    # missed once); Carl's breach recorded at 13:00, never answered (missed). 1/3 met, 2
    # breaches, and Lena, who holds all three, has an SLA figure of 1/3.
    desk = FakeUnitOfWork(config)
    for ref in ("HD-ANNA", "HD-BOB", "HD-CARL"):
        desk.commit(TicketChange(before=None, after=opened(config, ref), at=OPENED))
    answer(desk, "HD-ANNA", at=OPENED + timedelta(minutes=30), config=config)
    sweep_at = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    swept(desk, "HD-BOB", at=sweep_at)
    swept(desk, "HD-CARL", at=sweep_at)
    answer(desk, "HD-BOB", at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC), config=config)

    report = build_report(desk, config, MONDAY, as_of=date(2026, 11, 24))

    assert [(c.policy, c.priority, c.met, c.total) for c in report.compliance] == [
        ("standard", "normal", 1, 3)
    ]
    assert (report.breaches, report.breaches_by_policy) == (2, {"standard/normal": 2})
    assert report.first_response.count == 2
    [lena] = report.agents
    assert (lena.agent, lena.met, lena.with_target) == ("lena@support.example", 1, 3)
    text = render_report(report, config).text
    assert "standard / normal      1/3  33%" in text
    assert "SLA 33%" in text


# ---------------------------------------------------------------------- issue 16: leads
def test_each_lead_gets_the_teams_they_lead_and_desk_wide_readers_the_whole_desk(
    config: Config,
) -> None:
    from helpdesk.notices.reports import readers

    with_manager = config.model_copy(
        update={
            "reports": config.reports.model_copy(update={"desk_wide_to": ("boss@support.example",)})
        }
    )

    assert readers(config) == [
        ("maria@support.example", ("general", "billing")),
        ("omar@support.example", ("tier2",)),
    ]
    assert readers(with_manager)[0] == ("boss@support.example", None)
    maria_for_all = config.model_copy(
        update={
            "reports": config.reports.model_copy(
                update={"desk_wide_to": ("maria@support.example",)}
            )
        }
    )
    assert readers(maria_for_all) == [
        ("maria@support.example", None),
        ("omar@support.example", ("tier2",)),
    ]


def test_open_tickets_past_due_are_overdue_and_those_near_their_warning_at_risk(
    config: Config,
) -> None:
    from helpdesk.services.reports import needs_attention

    # First response of a ticket opened Monday 09:55 Berlin is due 13:55 (12:55 UTC), its
    # warning at 80%: 13:07 Berlin. The report runs on Tuesday 08:00 Berlin (07:00 UTC).
    monday = opened(config, "HD-LATE22")
    friday = replace(
        opened(config, "HD-SOON22"),
        created_at=datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
        sla=started_clocks(config, datetime(2026, 11, 24, 6, 0, tzinfo=UTC)),
        assignee=None,
    )
    far = replace(
        opened(config, "HD-FAR222"),
        sla=started_clocks(config, datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
    )
    report_time = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)

    lines = needs_attention([far, friday, monday], now=report_time)

    assert [(x.ref, x.state, x.clock, x.assignee) for x in lines] == [
        ("HD-LATE22", "overdue", "first_response", "lena@support.example"),
        ("HD-SOON22", "at_risk", "first_response", ""),
    ]
    assert lines[0].due == datetime(2026, 11, 23, 12, 55, tzinfo=UTC)


def test_a_complaint_no_lead_has_answered_needs_attention_however_far_its_due_time(
    config: Config,
) -> None:
    # A18-8: the lead's hourly mail cap may hold the complaint's mail back; the ticket must
    # still reach the lead, in the next report, not only when its deadline comes near.
    from helpdesk.services.reports import needs_attention

    slow = config.model_copy(
        update={
            "complaints": config.complaints.model_copy(
                update={"respond_within": timedelta(hours=40)}
            )
        }
    )
    report_time = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # Tuesday 08:00 Berlin
    # Its other clocks start on Thursday: only the complaint can make it need attention.
    quiet = replace(
        opened(config, "HD-FAR222"),
        sla=started_clocks(config, datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
    )
    complained = apply(
        quiet, Change(complaint=True), at=report_time - timedelta(hours=1), config=slow
    )
    answered = apply(complained, Change(complaint_answered=True), at=report_time, config=slow)

    lines = needs_attention([complained, quiet], now=report_time)

    assert [(x.ref, x.state, x.clock) for x in lines] == [("HD-FAR222", "at_risk", "complaint")]
    assert lines[0].due is not None and lines[0].due > report_time + timedelta(days=2)
    assert needs_attention([answered], now=report_time) == []


def test_a_leads_report_holds_their_teams_tickets_only(config: Config) -> None:
    from helpdesk.services.reports import Scope

    desk = FakeUnitOfWork(config)
    general = opened(config, "HD-GENRL2")
    tier2 = replace(opened(config, "HD-TIER22"), team="tier2", assignee="omar@support.example")
    for ticket_ in (general, tier2):
        desk.commit(TicketChange(before=None, after=ticket_, at=OPENED))
    # As routing left them: each held by its agent.
    desk.holdings = {"lena@support.example": {general.ref}, "omar@support.example": {tier2.ref}}
    tuesday_eight = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    sweep_at = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    swept(desk, "HD-GENRL2", at=sweep_at)
    swept(desk, "HD-TIER22", at=sweep_at)

    def report_of(*teams: str) -> Any:
        return build_report(
            desk, config, MONDAY, as_of=date(2026, 11, 24), scope=Scope(teams), now=tuesday_eight
        )

    maria, omar = report_of("general", "billing"), report_of("tier2")

    assert (maria.created, omar.created) == (1, 1)
    assert [x.ref for x in maria.breached] == ["HD-GENRL2"]
    assert [x.ref for x in omar.breached] == ["HD-TIER22"]
    assert [x.ref for x in maria.attention] == ["HD-GENRL2"]
    assert [x.ref for x in omar.attention] == ["HD-TIER22"]
    assert list(maria.backlog) == ["general", "billing"] and maria.backlog_total == 1
    text = render_report(maria, config).text
    assert "Teams: general, billing." in text
    assert "HD-GENRL2  OVERDUE: first response due 2026-11-23 13:55  Lena  (general)" in text
    assert "HD-GENRL2  first response due 2026-11-23 13:55  Lena  (general)" in text
    assert "HD-TIER22" not in text
    assert "(general, billing)" in render_report(maria, config).subject


def test_business_and_calendar_times_are_both_shown_and_labelled(config: Config) -> None:
    early = {**reply("A", 0), "calendar_seconds": 8 * 3600 + 22 * 60}
    report = figures(day(first_response=[early]), day(), {}, period=MONDAY, as_of=MONDAY.last)

    mail = render_report(report, config)

    text = lines_of(mail.text)
    assert "  First response: 1 answered, median 0m, 90th percentile 0m" in text
    assert "  First response: 1 answered, median 8h 22m, 90th percentile 8h 22m" in text
    assert any(line.startswith("TIMES (business hours") for line in text)
    assert any(line.startswith("TIMES (calendar time") for line in text)
    assert "First response, business hours" in mail.html
    assert "First response, calendar time" in mail.html and "8h 22m" in mail.html


def test_the_trend_chart_is_drawn_with_table_cells_that_outlook_renders(config: Config) -> None:
    from helpdesk.services.reports import Week

    weeks = [
        Week(date(2026, 11, 2), date(2026, 11, 8), 4, 0, 4, 4, Distribution.of([30.0])),
        Week(date(2026, 11, 9), date(2026, 11, 15), 8, 2, 6, 8, Distribution.of([50.0])),
        Week(date(2026, 11, 16), date(2026, 11, 22), 2, 1, 2, 3, Distribution.of([])),
        Week(date(2026, 11, 23), date(2026, 11, 29), 0, 0, 0, 0, Distribution.of([])),
    ]
    report = figures(day({"created": 0}), day(), {}, period=MONDAY, as_of=MONDAY.last, trend=weeks)

    html = render_report(report, config).html

    assert "<svg" not in html.lower() and "<img" not in html.lower()
    # The widest week is a full bar, the others in proportion, each a cell with the width
    # and colour both as attributes (Word) and as CSS (everyone else).
    assert 'width="100%" height="12" bgcolor="#1f5fbf"' in html
    assert 'width="50%" height="12" bgcolor="#1f5fbf"' in html
    assert 'width="25%" height="12" bgcolor="#1f5fbf"' in html
    assert "background-color:#1f5fbf" in html
    assert 'width="50%" height="12" bgcolor="#b42318"' in html  # breaches 1 of at most 2
    # No bar is a div: Word ignores a div's width and height.
    assert not re.search(r"<div[^>]*width:\s*\d+%", html)
    # Each week's dates on two lines, so that the row fits a phone's screen.
    for week in ("2026-11-02 –<br>2026-11-08", "2026-11-23 –<br>2026-11-29"):
        assert week in html
    text = render_report(report, config).text
    assert (
        "  2026-11-09 - 2026-11-15     8 ####################    2 !!!!!!!!!!!!!!!!!!!!   75%  50m"
        in text
    )


@pytest.mark.parametrize("language", ["zh", "ru"])
def test_a_report_in_chinese_or_russian_has_no_english_headings(
    config: Config, language: str
) -> None:
    current = day(
        {
            "created": 1,
            "created#channel#form": 1,
            "breach": 1,
            "breach#clock#first_response": 1,
            "breach#policy#standard/normal": 1,
        },
        first_response=[reply("A", 30)],
        target=[target("A", met=False)],
    )
    report = figures(
        current, day(), {"general": {"2026-11-23": 1}}, period=MONDAY, as_of=MONDAY.last
    )

    mail = render_report(report, config, language)

    assert_no_english(
        mail,
        "by channel",
        "1 day or less",
        "first_response",
        "Mon 23 Nov",
        "calendar time",
        "unassigned",
        "Needs attention",
        "The whole desk",
        "normal",
        "form ",
    )


def test_the_hourly_run_mails_each_lead_with_something_to_report_once_a_period(
    config: Config,
) -> None:
    # Tuesday 24 November, 08:05 in Berlin: the daily report of Monday is due. Anna's
    # ticket waits in general, Maria's team; Omar's tier2 has nothing, so he gets no mail.
    desk = FakeUnitOfWork(config)
    desk.commit(TicketChange(before=None, after=opened(config, "HD-ANNA"), at=OPENED))
    mailer = FakeMailer()
    notifier = Notifier(
        repo=FakeRecords(desk),
        mailer=mailer,
        config=config,
        signing_key=b"unit-test-signing-key",
        sent_mail=FakeSentMail(),
    )
    reports = ReportDesk(repo=desk, notifier=notifier, config=config)
    now = datetime(2026, 11, 24, 7, 5, tzinfo=UTC)

    first = reports.run(now=now)
    again = reports.run(now=now + timedelta(minutes=20))

    assert first == [("maria@support.example", "daily#2026-11-23#2026-11-23")]
    assert again == []
    [sent] = mailer.sent
    assert sent.recipients == ["maria@support.example"]


@pytest.mark.parametrize(
    ("first", "last", "label"),
    [
        (date(2026, 11, 23), date(2026, 11, 29), "Mon 23 Nov - Sun 29 Nov 2026"),
        # First-user run 14, #5: a period from another year read as this year's.
        (date(2025, 12, 29), date(2026, 1, 4), "Mon 29 Dec 2025 - Sun 04 Jan 2026"),
        (date(2025, 10, 26), date(2026, 11, 29), "Sun 26 Oct 2025 - Sun 29 Nov 2026"),
    ],
)
def test_a_periods_label_names_its_first_days_year_when_it_is_another(
    first: date, last: date, label: str
) -> None:
    assert Period("days", first, last).label == label
