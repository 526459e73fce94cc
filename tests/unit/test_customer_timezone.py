"""The customer's own time: the zone the form page's browser reported is kept on the contact,
and every later acknowledgement to that customer promises its time in that zone, named
plainly; without one, the calendar's zone, named by its place rather than "CET"."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

import fakes
from fakes import CONFIG, MONDAY_MORNING, FakeRecords, FakeUnitOfWork
from helpdesk import events
from helpdesk.errors import InvalidInput
from helpdesk.model import Message
from helpdesk.notices import handle
from helpdesk.services.form_intake import FormSubmission, take_in_form, validate_form
from helpdesk.services.tickets import open_ticket

NOW = MONDAY_MORNING  # 08:55 UTC, 09:55 in Berlin: the promise is 13:55 Berlin, 12:55 UTC
FORM = {
    "name": "Anna Schmidt",
    "email": "anna@example.com",
    "subject": "Where is my order?",
    "message": "It has been two weeks.",
}


class Desk:
    """Intake and the acknowledge notices on the fakes, sharing one store."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork(CONFIG)
        self.notifier = fakes.fake_notifier(FakeRecords(self.uow), CONFIG)
        self.published = 0

    def form(self, **fields: Any) -> str:
        answer = take_in_form(
            validate_form(FORM | fields, CONFIG, client="192.0.2.44", now=NOW),
            uow=self.uow,
            config=CONFIG,
            now=NOW,
        )
        return str(answer["ref"])

    def email(self, at: Any = NOW) -> str:
        ticket = open_ticket(
            replace(
                fakes.ANNAS_REQUEST,
                subject="Another question",
                text="And the invoice?",
                contact_email="Anna@Example.com",
            ),
            uow=self.uow,
            config=CONFIG,
            now=at,
            first_message=Message(
                id="mail-2", ticket="", direction="in", author="anna@example.com", at=at,
                text="And the invoice?", message_id="second@mail.example",
            ),
        )  # fmt: skip
        return ticket.ref

    def acknowledgement(self, ref: str) -> str:
        """The text of the acknowledgement of ``ref`` (the notices run on what was published)."""
        for event in self.uow.events()[self.published :]:
            handle(event, self.notifier, now=NOW)
        self.published = len(self.uow.events())
        [mail] = [m for m in self.notifier.mails() if m.ticket == ref]
        assert mail.kind == "acknowledgement"
        assert mail.html is not None
        return " ".join(mail.text.split()) + "\n" + " ".join(mail.html.split())


def test_the_browsers_zone_is_kept_on_the_contact_and_the_promise_is_in_it() -> None:
    desk = Desk()

    ref = desk.form(timezone="America/New_York")

    assert desk.uow.contacts["anna@example.com"].timezone == "America/New_York"
    text = desk.acknowledgement(ref)
    assert "by Monday, 23 November 2026, 07:55 New York time." in text
    assert "CET" not in text and "Berlin" not in text


def test_a_later_email_from_the_same_customer_promises_in_the_zone_their_browser_gave() -> None:
    desk = Desk()
    first = desk.form(timezone="Asia/Shanghai", language="zh")
    desk.acknowledgement(first)

    # Five minutes later, 10:00 in Berlin: due 14:00 Berlin, 13:00 UTC, 21:00 in Shanghai.
    later = desk.email(at=NOW + timedelta(minutes=5))

    assert desk.uow.contacts["anna@example.com"].timezone == "Asia/Shanghai"
    assert "Monday, 23 November 2026, 21:00 Shanghai time" in desk.acknowledgement(later)


def test_a_chinese_customer_reads_beijing_time() -> None:
    desk = Desk()

    ref = desk.form(timezone="Asia/Shanghai", language="zh")

    assert "2026年11月23日星期一 20:55 北京时间" in desk.acknowledgement(ref)


def test_a_stored_zone_is_kept_when_a_later_form_names_another() -> None:
    # Security review F7: the form is open to anyone who types a customer's address, so a
    # later zone never replaces the stored one (kept like the name and the language);
    # this test once asserted the replacement. The price: a customer who moved keeps the
    # first zone their browser gave.
    desk = Desk()
    desk.form(timezone="Asia/Shanghai")

    second = desk.form(
        timezone="Pacific/Kiritimati", subject="Hello", submission_id="second-form-1"
    )

    assert desk.uow.contacts["anna@example.com"].timezone == "Asia/Shanghai"
    assert "Shanghai time" in desk.acknowledgement(second)


def test_without_a_zone_the_promise_is_in_the_calendars_zone_named_by_its_place() -> None:
    desk = Desk()

    ref = desk.form()

    assert desk.uow.contacts["anna@example.com"].timezone == ""  # none
    assert "by Monday, 23 November 2026, 13:55 Berlin time." in desk.acknowledgement(ref)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "localtime", "../../etc/passwd", "x" * 500, 42, ["UTC"]]
)
def test_a_zone_the_desk_does_not_know_is_dropped_and_the_request_is_kept(zone: object) -> None:
    desk = Desk()

    ref = desk.form(timezone=zone)

    assert ref in desk.uow.tickets
    assert desk.uow.contacts["anna@example.com"].timezone == ""  # none
    assert "13:55 Berlin time" in desk.acknowledgement(ref)


def test_the_timezone_is_a_field_of_the_form_and_other_unknown_fields_still_are_not() -> None:
    def submitted(fields: dict[str, str]) -> FormSubmission:
        return validate_form(FORM | fields, CONFIG, client="192.0.2.44", now=NOW)

    assert submitted({"timezone": "Europe/Berlin"}).timezone == "Europe/Berlin"
    with pytest.raises(InvalidInput) as refused:
        submitted({"time_zone": "Europe/Berlin"})
    assert refused.value.field == "time_zone"


# ---------------------------------------------------------------------- the desk's own people
def low_score_alert(
    config_language: str, flags: tuple[str, ...] = (), channel: str | None = None
) -> str:
    """The alert a lead gets for a low score on Anna's solved ticket, as text; its one
    message carries ``flags`` and came by ``channel``."""
    config = CONFIG.model_copy(
        update={
            "helpdesk": CONFIG.helpdesk.model_copy(
                update={"languages": (config_language, *CONFIG.helpdesk.languages)}
            )
        }
    ) if config_language != CONFIG.default_language else CONFIG  # fmt: skip
    uow = FakeUnitOfWork(config)
    notifier = fakes.fake_notifier(FakeRecords(uow), config)
    solved = NOW + timedelta(hours=3, minutes=7, seconds=42)
    uow.add(
        fakes.ticket(
            ref="HD-AAAAAA", status="solved", priority="urgent", category="billing",
            solved_at=solved,
        )
    )  # fmt: skip
    uow.conversation["HD-AAAAAA"] = [
        Message(
            id="m-1", ticket="HD-AAAAAA", direction="in", author="anna@example.com",
            at=NOW, text="Where is my order?", flags=flags, channel=channel,
        )
    ]  # fmt: skip
    event = events.parse(
        "SurveyAnswered",
        {
            "ref": "HD-AAAAAA", "score": 1, "effort": 5, "comment": "Too slow.", "low": True,
            "team": "general", "answered_at": solved.isoformat(),
        },
    )  # fmt: skip
    assert event is not None
    handle(event, notifier, now=solved)
    [mail] = notifier.mails()
    return mail.text


def test_a_leads_alert_shows_the_tickets_times_in_the_office_zone_not_utc_iso() -> None:
    text = low_score_alert("en")

    assert "Opened 23 Nov 2026, 09:55 Berlin time by email;" in text
    assert "solved 23 Nov 2026, 13:02 Berlin time" in text
    assert "- 23 Nov 2026, 09:55 Berlin time customer anna@example.com: Where is my order?" in text
    assert "2026-11-23T" not in text and "+00:00" not in text


def test_a_leads_alert_names_status_priority_and_category_in_the_desks_language() -> None:
    text = low_score_alert("zh")

    assert "2026年11月23日 09:55 柏林时间" in text
    assert "已解决" in text and "紧急" in text and "账单与付款" in text
    assert "urgent" not in text.split("#")[0]


def test_a_leads_alert_in_chinese_or_russian_has_no_english_prose_around_the_values() -> None:
    chinese, russian = low_score_alert("zh"), low_score_alert("ru")

    assert "经邮件创建" in chinese and "对话中共有 1 条消息。" in chinese and " 客户 " in chinese
    assert "канал: электронная почта" in russian and "Сообщений в переписке: 1." in russian
    for text in (chinese, russian):
        for english in ("Opened", "message(s)", "status ", "priority ", " customer "):
            assert english not in text


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", " customer, not verified anna@example.com: Where is my order?"),
        ("zh", " 客户（未验证） anna@example.com: Where is my order?"),
        ("ru", " клиент (не проверен) anna@example.com: Where is my order?"),
    ],
)
def test_a_leads_alert_marks_a_message_nobody_verified_in_the_customers_name(
    language: str, said: str
) -> None:
    """Attack 16, F2: a forged mail in Anna's name read, in the lead's summary, as hers."""
    assert said in low_score_alert(language, flags=("unauthenticated",))
    # A typed address proves no more (attack 17, F5).
    assert said in low_score_alert(language, channel="form")
    assert said not in low_score_alert(language)
    assert said not in low_score_alert(language, channel="portal")
