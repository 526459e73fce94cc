"""The numbers that close the loop (issues 17 and 18): the self-service rate, the articles
that solved most and those suggested but not helpful, the questions no article answers yet
(grouped: next week's writing list), complaints per team with their SLA, and the volume per
channel; from what each ticket change adds to a day's figures to what the lead reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from report_days import MONDAY, assert_no_english, config, day, lines_of

from fakes import MONDAY_MORNING, FakeUnitOfWork, started_clocks, ticket
from helpdesk.config import Config
from helpdesk.effects import Count, Effect, RecordFact
from helpdesk.model import Ticket
from helpdesk.services import stats
from helpdesk.services.reports import (
    Scope,
    build_report,
    figures,
    group_questions,
    render_report,
)
from helpdesk.services.stats import ticket_figures
from helpdesk.unit_of_work import TicketChange

__all__ = ["config"]  # the fixture of report_days.py, used by name

OPENED = MONDAY_MORNING
LATER = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def new(config: Config, ref: str, **changes: Any) -> Ticket:
    return ticket(
        ref=ref,
        channel="form",
        created_at=OPENED,
        sla=started_clocks(config, OPENED),
        **changes,
    )


def counted(effects: list[Effect]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for effect in effects:
        if isinstance(effect, Count):
            found.update(effect.counts)
    return dict(found)


def facts(effects: list[Effect], kind: str) -> list[dict[str, Any]]:
    return [dict(e.attributes) for e in effects if isinstance(e, RecordFact) and e.kind == kind]


# ---------------------------------------------------------------------- what a change adds
def test_a_ticket_offered_articles_counts_as_offered_for_its_team_and_each_article_for_the_desk(
    config: Config,
) -> None:
    opened = new(config, "HD-OFFER1", suggested=["reset-password", "account-details"])

    effects = ticket_figures(None, opened, at=OPENED, config=config)

    found = counted(effects)
    assert found["offered"] == 1 and found["team#general#offered"] == 1
    assert found["article#offered#reset-password"] == 1
    assert found["article#offered#account-details"] == 1
    assert not [name for name in found if name.startswith("team#general#article#")]
    assert facts(effects, stats.UNSUGGESTED) == []


def test_a_persons_question_no_article_answered_keeps_its_subject_for_the_writing_list(
    config: Config,
) -> None:
    opened = new(config, "HD-NOANS1", subject="Can I pay with PayPal?")

    effects = ticket_figures(None, opened, at=OPENED, config=config)

    [fact] = facts(effects, stats.UNSUGGESTED)
    assert (fact["ref"], fact["team"], fact["subject"]) == (
        "HD-NOANS1",
        "general",
        "Can I pay with PayPal?",
    )
    assert "offered" not in counted(effects)


@pytest.mark.parametrize("flag", ["spam", "auto_reply", "bounce", "spoofed"])
def test_robots_and_spam_never_reach_the_writing_list(config: Config, flag: str) -> None:
    opened = new(config, "HD-ROBOT1", subject="Out of office", flags=[flag])

    assert facts(ticket_figures(None, opened, at=OPENED, config=config), stats.UNSUGGESTED) == []


def test_with_suggestions_turned_off_no_question_is_listed_as_unanswered(config: Config) -> None:
    off = config.model_copy(
        update={"knowledge": config.knowledge.model_copy(update={"suggest": 0})}
    )

    effects = ticket_figures(None, new(config, "HD-NOKB01"), at=OPENED, config=off)

    assert facts(effects, stats.UNSUGGESTED) == []


def test_the_customer_solving_from_an_article_counts_once_with_that_article(
    config: Config,
) -> None:
    before = new(config, "HD-SELF01", suggested=["returns"])
    solved = replace(before, status="solved", flags=["self_served"], self_served_article="returns")

    found = counted(ticket_figures(before, solved, at=LATER, config=config))
    again = counted(
        ticket_figures(solved, replace(solved, status="closed"), at=LATER, config=config)
    )

    assert found["self_served"] == 1 and found["team#general#self_served"] == 1
    assert found["article#solved#returns"] == 1
    assert "self_served" not in again


def test_a_complaint_counts_on_its_day_for_the_desk_and_the_team_once(config: Config) -> None:
    before = new(config, "HD-COMPL1", team="billing")
    complained = replace(before, flags=["complaint"])

    found = counted(ticket_figures(before, complained, at=LATER, config=config))
    later = counted(
        ticket_figures(complained, replace(complained, status="open"), at=LATER, config=config)
    )

    assert found["complaint"] == 1 and found["team#billing#complaint"] == 1
    assert "complaint" not in later


def test_a_complaint_about_a_closed_ticket_counts_on_the_new_ticket_it_opens(
    config: Config,
) -> None:
    opened = new(config, "HD-COMPL2", flags=["complaint"], linked_to="HD-COMPL1")

    assert counted(ticket_figures(None, opened, at=LATER, config=config))["complaint"] == 1


# ---------------------------------------------------------------------- the report's figures
def test_the_self_service_rate_is_confirmations_over_tickets_offered_articles(
    config: Config,
) -> None:
    current = day({"created": 8, "offered": 4, "self_served": 1})

    report = figures(current, day(), {}, period=MONDAY, as_of=MONDAY.last)
    text = lines_of(render_report(report, config).text)

    assert report.self_service.rate == 0.25
    assert (
        "  Self-service rate: 25% (1 ticket(s) solved by the customer from a suggested article"
        " / 4 ticket(s) opened in this period that were offered articles)"
    ) in text


def test_articles_that_solved_most_and_those_offered_often_but_rarely_confirmed_are_listed(
    config: Config,
) -> None:
    current = day(
        {
            "offered": 12,
            "self_served": 4,
            "article#offered#reset-password": 5,
            "article#solved#reset-password": 3,
            "article#offered#delivery-times": 2,
            "article#solved#delivery-times": 1,
            "article#offered#returns": 6,  # never confirmed: not helpful
            "article#offered#invoice": 10,
            "article#solved#invoice": 1,  # 10%: not helpful
            "article#offered#refunds": 2,  # too few offers to judge
        }
    )

    report = figures(current, day(), {}, period=MONDAY, as_of=MONDAY.last)
    text = lines_of(render_report(report, config).text)

    assert [(u.slug, u.solved) for u in report.self_service.solved_most] == [
        ("reset-password", 3),
        ("delivery-times", 1),
        ("invoice", 1),
    ]
    assert [u.slug for u in report.self_service.not_helpful] == ["invoice", "returns"]
    assert "    reset-password             3 confirmed of 5 offered (60%)" in text
    assert "    returns                    0 confirmed of 6 offered (0%)" in text


def test_questions_sharing_a_stemmed_word_are_one_group_with_their_count_and_an_example() -> None:
    def asked(ref: str, subject: str, at: str) -> dict[str, Any]:
        return {"ref": ref, "team": "general", "subject": subject, "at": f"2026-11-23T{at}"}

    groups = group_questions(
        [
            asked("HD-A", "Can I pay with PayPal?", "09:00"),
            asked("HD-B", "Paying by PayPal", "10:00"),
            asked("HD-C", "paypal payment failed", "11:00"),
            asked("HD-D", "Оплата через PayPal", "12:00"),
            asked("HD-E", "Можно ли оплатить наложенным платежом", "12:30"),
            asked("HD-F", "Оплатить наложенным платежом?", "12:40"),
            asked("HD-G", "可以开发票吗", "13:00"),
            asked("HD-H", "发票抬头写错了", "14:00"),
            asked("HD-I", "Gift wrapping", "15:00"),
        ]
    )

    assert [(g.count, g.example, g.refs) for g in groups] == [
        (4, "Оплата через PayPal", ("HD-D", "HD-C", "HD-B", "HD-A")),
        (2, "Оплатить наложенным платежом?", ("HD-F", "HD-E")),
        (2, "发票抬头写错了", ("HD-H", "HD-G")),
        (1, "Gift wrapping", ("HD-I",)),
    ]


def test_reply_and_forward_prefixes_group_nothing_together() -> None:
    def asked(ref: str, subject: str) -> dict[str, Any]:
        return {"ref": ref, "team": "general", "subject": subject, "at": "2026-11-23T09:00"}

    groups = group_questions(
        [
            asked("HD-A", "Fwd: Your delivery"),
            asked("HD-B", "RE: Gift card balance"),
            asked("HD-C", "Fw: Re: Bulk discount"),
            asked("HD-D", "Пересл: счёт-фактура"),
            asked("HD-E", "转发：保修"),
        ]
    )

    assert [g.count for g in groups] == [1, 1, 1, 1, 1]


def test_a_subject_in_the_writing_list_is_escaped_in_the_html_part(config: Config) -> None:
    hostile = {"ref": "HD-X", "team": "general", "subject": "<b>x</b><script>", "at": "2026"}
    report = figures(day(unsuggested=[hostile]), day(), {}, period=MONDAY, as_of=MONDAY.last)

    mail = render_report(report, config)

    assert "<script>" not in mail.html and "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;" in mail.html
    assert "     1  <b>x</b><script>" in lines_of(mail.text)


def test_the_writing_list_shows_each_group_with_its_count_and_an_example(
    config: Config,
) -> None:
    asked = [
        {"ref": f"HD-PAY00{i}", "team": "general", "subject": s, "at": f"2026-11-23T0{i}:00"}
        for i, s in enumerate(["Pay with PayPal?", "PayPal payment", "paypal refused"], start=1)
    ]
    report = figures(day(unsuggested=asked), day(), {}, period=MONDAY, as_of=MONDAY.last)

    mail = render_report(report, config)

    assert (
        "  Questions no article answers yet: 3 ticket(s) opened with no confident article."
        " The writing list for next week:" in lines_of(mail.text)
    )
    assert "     3  paypal refused" in lines_of(mail.text)
    assert "paypal refused" in mail.html


def test_complaints_are_counted_per_team_with_the_complaint_sla_met(config: Config) -> None:
    def complaint_target(ref: str, *, met: bool) -> dict[str, Any]:
        return {
            "target": f"{ref}#complaint#2026-11-23T09:00:00+00:00",
            "ref": ref,
            "clock": "complaint",
            "met": met,
            "policy": "standard",
            "priority": "normal",
            "team": "general",
            "agent": "maria@support.example",
            "at": "2026-11-23T12:00:00+00:00",
        }

    current = day(
        {"complaint": 3, "team#general#complaint": 2, "team#billing#complaint": 1},
        target=[complaint_target("HD-C1", met=True), complaint_target("HD-C2", met=False)],
    )

    report = figures(
        current,
        day(),
        {},
        period=MONDAY,
        as_of=MONDAY.last,
        team_names=("general", "billing", "tier2"),
    )
    text = lines_of(render_report(report, config).text)

    assert report.complaints.by_team == (("general", 2), ("billing", 1))
    assert "COMPLAINTS: 3 (made in this period)" in text
    assert "  general: 2" in text and "  billing: 1" in text and "  tier2: 0" not in text
    assert "  Complaint SLA (a lead answered in time): 1 of 2 (50%)" in text


def test_the_volume_per_channel_names_each_channel_with_its_share(config: Config) -> None:
    current = day(
        {
            "created": 10,
            "created#channel#email": 6,
            "created#channel#chat": 3,
            "created#channel#form": 1,
        }
    )
    report = figures(current, day(), {}, period=MONDAY, as_of=MONDAY.last)

    en, zh, ru = (render_report(report, config, lang) for lang in ("en", "zh", "ru"))

    assert "NEW TICKETS BY CHANNEL: email 6 (60%), chat 3 (30%), form 1 (10%)" in en.text
    assert "按渠道的新工单：邮件 6 (60%)，chat 3 (30%)，网页表单 1 (10%)" in zh.text
    assert "НОВЫЕ ОБРАЩЕНИЯ ПО КАНАЛАМ: почта 6 (60%), chat 3 (30%), веб-форма 1 (10%)" in ru.text
    assert "New tickets by channel" in en.html and ">chat<" in en.html
    assert "按渠道的新工单" in zh.html and ">邮件<" in zh.html


# ---------------------------------------------------------------------- end to end on the fakes
def test_a_leads_report_counts_their_teams_and_shows_the_desks_articles(config: Config) -> None:
    desk = FakeUnitOfWork(config)
    offered = new(config, "HD-GEN001", suggested=["reset-password"])
    billing_q = new(config, "HD-BIL001", team="billing", subject="Invoice address wrong")
    tier2_q = new(config, "HD-TIR001", team="tier2", subject="Server down", suggested=["returns"])
    for opened in (offered, billing_q, tier2_q):
        desk.commit(TicketChange(before=None, after=opened, at=OPENED))
    before = desk.load("HD-GEN001")
    desk.commit(
        TicketChange(
            before=before,
            after=replace(
                before, status="solved", flags=["self_served"], self_served_article="reset-password"
            ),
            at=LATER,
        )
    )
    complained = desk.load("HD-BIL001")
    desk.commit(
        TicketChange(before=complained, after=replace(complained, flags=["complaint"]), at=LATER)
    )

    maria = build_report(
        desk, config, MONDAY, as_of=date(2026, 11, 24), scope=Scope(("general", "billing"))
    )
    omar = build_report(desk, config, MONDAY, as_of=date(2026, 11, 24), scope=Scope(("tier2",)))

    assert (maria.self_service.offered, maria.self_service.self_served) == (1, 1)
    assert [g.refs for g in maria.self_service.questions] == [("HD-BIL001",)]
    assert maria.complaints.count == 1 and maria.complaints.by_team == (("billing", 1),)
    assert (omar.self_service.offered, omar.self_service.self_served, omar.complaints.count) == (
        1,
        0,
        0,
    )
    # The articles are the desk's: both leads see which one solved.
    assert [u.slug for u in maria.self_service.solved_most] == ["reset-password"]
    assert [u.slug for u in omar.self_service.solved_most] == ["reset-password"]


@pytest.mark.parametrize("language", ["zh", "ru"])
def test_the_new_sections_in_chinese_or_russian_have_no_english_words(
    config: Config, language: str
) -> None:
    current = day(
        {
            "created": 2,
            "created#channel#email": 2,
            "offered": 2,
            "self_served": 1,
            "article#offered#returns": 4,
            "article#solved#reset-password": 1,
            "complaint": 1,
            "team#general#complaint": 1,
        },
        unsuggested=[{"ref": "HD-Q1", "team": "general", "subject": "问题", "at": "2026-11-23"}],
    )
    report = figures(current, day(), {}, period=MONDAY, as_of=MONDAY.last, team_names=("general",))

    mail = render_report(report, config, language)

    assert_no_english(
        mail,
        "Self-service",
        "SELF-SERVICE",
        "COMPLAINTS",
        "Complaint",
        "confirmed",
        "offered",
        "writing list",
        "BY CHANNEL",
        "email",
    )


def test_a_desk_without_suggestions_shows_no_self_service_section(config: Config) -> None:
    off = config.model_copy(
        update={"knowledge": config.knowledge.model_copy(update={"suggest": 0})}
    )
    report = figures(day({"created": 1}), day(), {}, period=MONDAY, as_of=MONDAY.last)

    shown, hidden = render_report(report, config), render_report(report, off)

    assert "SELF-SERVICE (the knowledge base)" in shown.text
    assert "Self-service (the knowledge base)" in shown.html
    assert "SELF-SERVICE" not in hidden.text and "Self-service" not in hidden.html
    assert "COMPLAINTS: 0 (made in this period)" in hidden.text
    assert "\n\n\n" not in hidden.text.replace("\r\n", "\n")
