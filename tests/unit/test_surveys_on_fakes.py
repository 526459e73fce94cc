"""Survey answers and auto-closing on the fakes: what the ticket keeps, what the bus hears,
and what the reports count."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from fakes import CONFIG, FakeMailer, FakeRecords, FakeSentMail, FakeUnitOfWork, ticket, with_limits
from helpdesk import timers
from helpdesk.errors import InvalidInput
from helpdesk.events import StatusChanged, SurveyAnswered
from helpdesk.model import Contact, SurveyRecord, Ticket
from helpdesk.notices import Notifier
from helpdesk.services.surveys import (
    SURVEY,
    AnswerNotTaken,
    SurveyDesk,
    SurveyDispatch,
    make_token,
)

KEY = b"unit-test-signing-key"
PUBLIC_URL = "https://support.example"
SOLVED_AT = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
ANSWERED_AT = SOLVED_AT + timedelta(hours=3)
FORM = "application/x-www-form-urlencoded"
CLIENT = "192.0.2.44"  # where the customer's browser posts from


def solved(ref: str = "HD-5RVY42") -> Ticket:
    return ticket(
        ref=ref,
        status="solved",
        created_at=SOLVED_AT - timedelta(hours=5),
        assignee="lena@support.example",
        solved_at=SOLVED_AT,
        survey=SurveyRecord(sent_at=SOLVED_AT + timedelta(hours=1)),
    )


def survey_desk(uow: FakeUnitOfWork) -> SurveyDesk:
    return SurveyDesk(
        uow=uow,
        repo=FakeRecords(uow),
        config=CONFIG,
        signing_key=KEY,
    )


def token(ref: str = "HD-5RVY42") -> str:
    return make_token(ref, SOLVED_AT + timedelta(days=14), KEY)


def test_a_comment_loses_control_and_directional_characters_as_every_typed_text_does() -> None:
    # The comment reaches the lead's alert mail: U+202E would read the rest reversed, an
    # escape sequence acts on a terminal (review 10, #2).
    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())
    comment = "Refund+%E2%80%AE0001%24%E2%80%AC+%1B%5B31m+late%00"

    survey_desk(uow).submit(
        token(), f"score=2&comment={comment}", FORM, source_ip=CLIENT, now=ANSWERED_AT
    )

    assert uow.tickets["HD-5RVY42"].survey.comment == "Refund 0001$ [31m late"


def test_an_answer_is_kept_on_the_ticket_counted_and_a_low_score_announced() -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())

    stored = survey_desk(uow).submit(
        token(), "score=2&effort=4&comment=Took+a+week", FORM, source_ip=CLIENT, now=ANSWERED_AT
    )

    assert stored.ref == "HD-5RVY42"
    survey = uow.tickets["HD-5RVY42"].survey
    assert (survey.score, survey.effort, survey.comment) == (2, 4, "Took a week")
    [answered] = uow.events()
    assert answered == SurveyAnswered(
        ref="HD-5RVY42",
        score=2,
        effort=4,
        comment="Took a week",
        low=True,
        team="general",
        answered_at=ANSWERED_AT.isoformat(),
    )
    [fact] = uow.read_day(ANSWERED_AT.date()).facts["survey"]
    assert (fact["score"], fact["agent"]) == (2, "lena@support.example")


def test_an_answer_submitted_again_replaces_the_first_in_the_report() -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())
    desk = survey_desk(uow)

    desk.submit(token(), "score=2", FORM, source_ip=CLIENT, now=ANSWERED_AT)
    desk.submit(token(), "score=5", FORM, source_ip=CLIENT, now=ANSWERED_AT + timedelta(minutes=3))

    assert uow.tickets["HD-5RVY42"].survey.score == 5
    [fact] = uow.read_day(ANSWERED_AT.date()).facts["survey"]
    assert fact["score"] == 5
    assert [e.low for e in uow.events() if isinstance(e, SurveyAnswered)] == [True, False]


def test_an_answer_without_a_score_is_refused_and_records_nothing() -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())

    with pytest.raises(AnswerNotTaken) as refused:
        survey_desk(uow).submit(token(), "comment=hello", FORM, source_ip=CLIENT, now=ANSWERED_AT)

    problem = refused.value.problem
    assert isinstance(problem, InvalidInput)
    assert problem.field == "score"
    assert uow.tickets["HD-5RVY42"].survey.score is None
    assert uow.events() == [] and uow.commits == 0


@pytest.mark.parametrize(
    ("body", "content_type", "field", "status"),
    [
        ("score=5", "application/json", "content-type", 415),
        ("score=5", "application/x-www-form-urlencodedX", "content-type", 415),
        ("score=5" + "&x=" * 40, FORM, "body", 413),
    ],
)
def test_a_post_that_is_not_the_surveys_form_is_refused_and_records_nothing(
    body: str, content_type: str, field: str, status: int
) -> None:
    from helpdesk.http import status_of

    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())

    with pytest.raises(AnswerNotTaken) as refused:
        survey_desk(uow).submit(token(), body, content_type, source_ip=CLIENT, now=ANSWERED_AT)

    problem = refused.value.problem
    assert isinstance(problem, InvalidInput)
    assert (problem.field, status_of(problem)) == (field, status)
    assert uow.events() == [] and uow.commits == 0


def test_the_same_answer_posted_again_writes_and_publishes_nothing() -> None:
    # Attack 8, F3: every post was a commit, a SurveyAnswered on the bus and, for a low
    # score, an acknowledge run that reads the whole conversation, however often it came.
    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())
    desk = survey_desk(uow)
    answer = "score=2&effort=4&comment=Took+a+week"
    desk.submit(token(), answer, FORM, source_ip=CLIENT, now=ANSWERED_AT)
    commits = uow.commits

    later = ANSWERED_AT + timedelta(minutes=5)
    stored = desk.submit(token(), answer + "+", FORM, source_ip=CLIENT, now=later)

    assert uow.commits == commits
    assert len(uow.events()) == 1
    assert stored.survey.answered_at == ANSWERED_AT
    assert len(uow.read_day(ANSWERED_AT.date()).facts["survey"]) == 1


def test_answers_past_the_tickets_hourly_limit_are_refused_429_until_the_next_hour() -> None:
    # Attack 8, F3: survey posts were counted nowhere. Posts from many clients still use
    # up the ticket's hour; a customer changing her score a few times never meets it.
    from helpdesk.errors import RateLimited
    from helpdesk.http import status_of

    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())
    desk = survey_desk(uow)
    limit = CONFIG.limits.survey_answers_per_ticket_per_hour
    assert limit >= 5
    for n in range(limit):
        desk.submit(token(), f"score={n % 5 + 1}", FORM, source_ip=f"192.0.2.{n}", now=ANSWERED_AT)
    commits = uow.commits

    with pytest.raises(AnswerNotTaken) as refused:
        desk.submit(token(), "score=1&comment=again", FORM, source_ip=CLIENT, now=ANSWERED_AT)

    problem = refused.value.problem
    assert isinstance(problem, RateLimited) and status_of(problem) == 429
    assert problem.retry_after_seconds == 3600  # ANSWERED_AT is on the hour
    assert uow.commits == commits and uow.tickets["HD-5RVY42"].survey.comment is None
    next_hour = ANSWERED_AT + timedelta(hours=1)
    desk.submit(token(), "score=1&comment=again", FORM, source_ip=CLIENT, now=next_hour)
    assert uow.tickets["HD-5RVY42"].survey.comment == "again"


def test_a_clients_posts_count_over_all_its_surveys_refused_posts_too() -> None:
    from helpdesk.errors import RateLimited

    refs = ["HD-5RVY42", "HD-6SWZ53", "HD-7TXA64", "HD-8VYB75"]
    uow = FakeUnitOfWork(CONFIG)
    for ref in refs:
        uow.add(solved(ref))
    desk = replace(survey_desk(uow), config=with_limits(survey_answers_per_ip_per_hour=3))
    # Counted before the body is read: a post that is no answer costs the client its hit.
    with pytest.raises(AnswerNotTaken):
        desk.submit(token(refs[0]), "comment=hello", FORM, source_ip=CLIENT, now=ANSWERED_AT)
    for ref in refs[1:3]:
        desk.submit(token(ref), "score=4", FORM, source_ip=CLIENT, now=ANSWERED_AT)

    with pytest.raises(AnswerNotTaken) as refused:
        desk.submit(token(refs[3]), "score=4", FORM, source_ip=CLIENT, now=ANSWERED_AT)

    assert isinstance(refused.value.problem, RateLimited)
    assert uow.tickets[refs[3]].survey.score is None
    # Another client (and the same one's IPv6 neighbours would be one: the /64) is taken.
    desk.submit(token(refs[3]), "score=4", FORM, source_ip="198.51.100.7", now=ANSWERED_AT)
    assert uow.tickets[refs[3]].survey.score == 4


def test_the_64_networks_of_one_48_share_a_few_clients_worth_of_answers() -> None:
    # Review 11, #2: one IPv6 subscriber holds a /56 or a /48 (RFC 6177).
    from helpdesk.errors import RateLimited

    refs = [f"HD-{n}RVY42" for n in range(2, CONFIG.limits.clients_per_network + 3)]
    uow = FakeUnitOfWork(CONFIG)
    for ref in refs:
        uow.add(solved(ref))
    desk = replace(survey_desk(uow), config=with_limits(survey_answers_per_ip_per_hour=1))
    for n, ref in enumerate(refs[: CONFIG.limits.clients_per_network]):
        desk.submit(token(ref), "score=4", FORM, source_ip=f"2001:db8:5:{n:x}::1", now=ANSWERED_AT)

    with pytest.raises(AnswerNotTaken) as refused:
        desk.submit(token(refs[-2]), "score=4", FORM, source_ip="2001:db8:5:ff::1", now=ANSWERED_AT)

    assert isinstance(refused.value.problem, RateLimited)
    assert refused.value.problem.what == "network"
    desk.submit(token(refs[-1]), "score=4", FORM, source_ip="2001:db8:6::1", now=ANSWERED_AT)
    assert uow.tickets[refs[-1]].survey.score == 4


def test_the_survey_page_answers_a_post_past_the_limit_429_saying_when_to_come_back() -> None:
    import html

    from helpdesk.http import FormPost, survey_answer_response
    from helpdesk.render import language_words

    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())
    desk = replace(survey_desk(uow), config=with_limits(survey_answers_per_ticket_per_hour=1))
    post = FormPost("score=2", False, FORM, "en", CLIENT)
    assert survey_answer_response(desk, token(), post, now=ANSWERED_AT).status_code == 200

    page = survey_answer_response(desk, token(), post, now=ANSWERED_AT + timedelta(minutes=20))

    assert page.status_code == 429
    assert page.headers["Retry-After"] == "2400"
    assert page.headers["Cache-Control"] == "no-store"
    words = language_words("survey_page", "en", fallback_language="en")
    assert html.escape(str(words["error_rate_limited"])) in str(page.body)
    assert "Please choose how satisfied you are" not in str(page.body)


def test_every_survey_page_allows_only_its_own_styles_by_hash_as_the_other_pages() -> None:
    import base64
    import hashlib
    import re

    from helpdesk.http import FormPost, survey_answer_response, survey_page_response

    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())
    desk = survey_desk(uow)
    pages = [
        survey_page_response(desk, token(), "4", now=ANSWERED_AT),
        survey_answer_response(
            desk, token(), FormPost("score=4", False, FORM, "en", CLIENT), now=ANSWERED_AT
        ),
        survey_page_response(desk, "forged", "4", now=ANSWERED_AT),
    ]
    for page in pages:
        policy = page.headers["Content-Security-Policy"]
        # 'unsafe-inline' would let a style injected into the page run (CSP Level 3).
        assert "unsafe-inline" not in policy
        styles = re.findall(r"<style>(.*?)</style>", str(page.body), re.S)
        assert styles
        for style in styles:
            digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy
        assert page.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy


def autoclosing(ticket: Ticket) -> tuple[FakeUnitOfWork, SurveyDispatch, datetime]:
    """``ticket`` on the desk with its auto-close timer due when a solved ticket has been
    quiet long enough (surveys.close_after), the dispatch that runs it, and that instant."""
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket)
    closes_at = SOLVED_AT + CONFIG.surveys.close_after
    uow.timers[(ticket.ref, timers.AUTOCLOSE)] = closes_at
    return uow, dispatching(uow, FakeMailer()), closes_at


def dispatching(uow: FakeUnitOfWork, mailer: FakeMailer) -> SurveyDispatch:
    """The survey sweep on ``uow``, mailing through a notifier that sends with ``mailer``
    and keeps its records of sent mail in memory (as the composition root gives one)."""
    records = FakeRecords(uow)
    notifier = Notifier(
        repo=records,
        mailer=mailer,
        config=CONFIG,
        signing_key=KEY,
        sent_mail=FakeSentMail(),
        public_url=PUBLIC_URL,
    )
    return SurveyDispatch(
        uow=uow,
        repo=records,
        notifier=notifier,
        config=CONFIG,
        signing_key=KEY,
        public_url=PUBLIC_URL,
    )


def test_a_due_survey_is_mailed_once_to_the_customer_with_a_signed_link_per_score() -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(replace(solved(), survey=SurveyRecord()))
    due = SOLVED_AT + timedelta(hours=1)
    uow.timers[("HD-5RVY42", timers.SURVEY)] = due
    mailer = FakeMailer()
    dispatch = dispatching(uow, mailer)

    first = dispatch.sweep(now=due)
    again = dispatch.sweep(now=due + timedelta(minutes=5))

    assert (first.surveys_sent, first.failed, again.due) == (["HD-5RVY42"], [], 0)
    [sent] = mailer.sent
    mail = message_from_bytes(sent.raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert sent.recipients == ["anna@example.com"]
    assert "[#HD-5RVY42]" in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    links = [word for word in text.split() if word.startswith(f"{PUBLIC_URL}/survey/")]
    assert [link.rsplit("=", 1)[1] for link in links] == ["1", "2", "3", "4", "5"]
    token = links[0].removeprefix(f"{PUBLIC_URL}/survey/").split("?")[0]
    assert SURVEY.read(token, KEY, now=due)[0] == "HD-5RVY42"
    assert f"{PUBLIC_URL}/ticket/" in text  # a mail to the customer links the ticket's page
    assert uow.tickets["HD-5RVY42"].survey.sent_at == due
    assert ("HD-5RVY42", timers.SURVEY) not in uow.timers


def test_a_surveyed_contact_reads_back_as_surveyed_when_her_survey_went() -> None:
    # Attack 18, F5: the fakes kept the slot aside and never set the contact's
    # last_survey_at, as the adapter's update does, so on them nobody was ever "served".
    uow = FakeUnitOfWork(CONFIG)
    uow.add(replace(solved(), survey=SurveyRecord()))
    uow.contacts["anna@example.com"] = Contact(
        email="anna@example.com", name="Anna", tier="", language="en",
        created_at=SOLVED_AT - timedelta(days=30),
    )  # fmt: skip
    due = SOLVED_AT + timedelta(hours=1)
    uow.timers[("HD-5RVY42", timers.SURVEY)] = due
    dispatch = dispatching(uow, FakeMailer())

    assert dispatch.sweep(now=due).surveys_sent == ["HD-5RVY42"]

    assert isinstance(dispatch.repo, FakeRecords)
    contact = dispatch.repo.get_contact("anna@example.com")
    assert contact is not None and contact.last_survey_at == due


@pytest.mark.parametrize("flag", ["forged", "spam", "auto_reply"])
def test_a_ticket_that_does_not_show_who_wrote_it_gets_no_survey(flag: str) -> None:
    # Attack 18, F2: a forgery in Anna's name, solved, sent her a survey with the lure in
    # its subject and spent her survey slot; the desk answers none of these on its own.
    uow = FakeUnitOfWork(CONFIG)
    uow.add(replace(solved(), survey=SurveyRecord(), flags=[flag]))
    due = SOLVED_AT + timedelta(hours=1)
    uow.timers[("HD-5RVY42", timers.SURVEY)] = due
    mailer = FakeMailer()

    dispatch = dispatching(uow, mailer)
    result = dispatch.sweep(now=due)

    assert (result.surveys_sent, result.skipped, mailer.sent) == ([], ["HD-5RVY42"], [])
    assert ("HD-5RVY42", timers.SURVEY) not in uow.timers
    assert uow.tickets["HD-5RVY42"].survey.skipped == "unlisted"
    assert isinstance(dispatch.repo, FakeRecords)
    assert dispatch.repo.survey_slots == {}  # her survey slot is not spent


def test_a_solved_ticket_quiet_long_enough_is_closed_and_its_timer_stops() -> None:
    uow, dispatch, closes_at = autoclosing(solved())

    too_early = dispatch.autoclose("HD-5RVY42", now=closes_at - timedelta(minutes=1))
    closed = dispatch.autoclose("HD-5RVY42", now=closes_at)

    assert (too_early, closed) == (False, True)
    assert uow.tickets["HD-5RVY42"].status == "closed"
    assert uow.events() == [
        StatusChanged(
            ref="HD-5RVY42", status="closed", previous_status="solved", by="autoclose", version=1
        )
    ]
    assert ("HD-5RVY42", timers.AUTOCLOSE) not in uow.timers


def test_a_reopened_ticket_is_not_closed_by_its_old_timer() -> None:
    uow, dispatch, closes_at = autoclosing(replace(solved(), status="open"))

    assert dispatch.autoclose("HD-5RVY42", now=closes_at) is False
    assert uow.tickets["HD-5RVY42"].status == "open"
    assert uow.events() == []
    assert ("HD-5RVY42", timers.AUTOCLOSE) not in uow.timers


def test_a_survey_stored_by_the_previous_release_reads_and_writes_back_the_same() -> None:
    # The ticket item's "survey" map as services/surveys.py wrote it before it was typed:
    # ISO strings, and numbers that DynamoDB gives back as Decimal.
    stored = {
        "sent_at": "2026-11-23T16:00:00.123456+00:00",
        "score": Decimal(2),
        "effort": Decimal(4),
        "comment": "Took a week",
        "answered_at": "2026-11-25T10:00:00+00:00",
        "first_answered_at": "2026-11-23T22:30:00+00:00",
    }

    record = SurveyRecord.from_dict(stored)

    assert (record.score, record.effort) == (2, 4)
    assert record.to_dict() == {**stored, "score": 2, "effort": 4}
    assert SurveyRecord.from_dict({"skipped": "fatigue"}).to_dict() == {"skipped": "fatigue"}
