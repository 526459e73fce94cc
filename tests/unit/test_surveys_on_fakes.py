"""Survey answers and auto-closing on the fakes: what the ticket keeps, what the bus hears,
and what the reports count."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from fakes import CONFIG, FakeMailer, FakeRecords, FakeSentMail, FakeUnitOfWork, ticket
from helpdesk import timers
from helpdesk.events import StatusChanged, SurveyAnswered
from helpdesk.model import SurveyRecord, Ticket
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


def test_an_answer_is_kept_on_the_ticket_counted_and_a_low_score_announced() -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())

    stored = survey_desk(uow).submit(
        token(), "score=2&effort=4&comment=Took+a+week", FORM, now=ANSWERED_AT
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

    desk.submit(token(), "score=2", FORM, now=ANSWERED_AT)
    desk.submit(token(), "score=5", FORM, now=ANSWERED_AT + timedelta(minutes=3))

    assert uow.tickets["HD-5RVY42"].survey.score == 5
    [fact] = uow.read_day(ANSWERED_AT.date()).facts["survey"]
    assert fact["score"] == 5
    assert [e.low for e in uow.events() if isinstance(e, SurveyAnswered)] == [True, False]


def test_an_answer_without_a_score_is_refused_and_records_nothing() -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(solved())

    with pytest.raises(AnswerNotTaken) as refused:
        survey_desk(uow).submit(token(), "comment=hello", FORM, now=ANSWERED_AT)

    assert refused.value.problem.field == "score"
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
        survey_desk(uow).submit(token(), body, content_type, now=ANSWERED_AT)

    assert (refused.value.problem.field, status_of(refused.value.problem)) == (field, status)
    assert uow.events() == [] and uow.commits == 0


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

