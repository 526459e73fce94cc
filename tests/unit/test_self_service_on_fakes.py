"""Self-service on the fakes: what intake suggests and stores, what the answer link opens,
and what confirming it does to the ticket, the agent's load and the events."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakes import CONFIG, MONDAY_MORNING, FakeRecords, FakeUnitOfWork, ticket
from helpdesk.config import Config
from helpdesk.events import (
    CapacityFreed,
    EventContact,
    SelfServed,
    StatusChanged,
    TicketOpened,
)
from helpdesk.knowledge import KnowledgeBase
from helpdesk.knowledge.articles import read_articles
from helpdesk.knowledge.index import build_bundle
from helpdesk.links import LinkRefused, make_link_token
from helpdesk.model import Ticket
from helpdesk.services.form_intake import take_in_form, validate_form
from helpdesk.services.self_service import (
    ANSWER,
    ANSWER_BODY_MAX_BYTES,
    ArticleGone,
    ConfirmationNotTaken,
    SelfServiceDesk,
    make_answer_token,
)
from helpdesk.services.tickets import NewRequest, open_ticket

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = b"unit-test-signing-key"
NOW = MONDAY_MORNING
FORM = "application/x-www-form-urlencoded"
LENA = "lena@support.example"


BUNDLE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    articles, problems = read_articles(REPO_ROOT / "infra" / "knowledge")
    assert problems == []
    BUNDLE.update(build_bundle(articles))
    return KnowledgeBase(BUNDLE)


def desk(uow: FakeUnitOfWork, knowledge: KnowledgeBase) -> SelfServiceDesk:
    return SelfServiceDesk(
        uow=uow,
        repo=FakeRecords(uow),
        config=CONFIG,
        signing_key=KEY,
        knowledge=lambda: knowledge,
    )


def filed(
    knowledge: KnowledgeBase,
    subject: str,
    message: str,
    config: Config = CONFIG,
    sender: tuple[str, str] = ("Anna", "anna@example.com"),
) -> tuple[FakeUnitOfWork, Ticket]:
    """A request through the web form, from ``sender`` (name, address): the fakes and the
    ticket it opened."""
    uow = FakeUnitOfWork(config)
    name, email = sender
    fields = {"name": name, "email": email, "subject": subject, "message": message}
    submission = validate_form(fields, config, client="192.0.2.44", now=NOW)
    answer = take_in_form(submission, uow=uow, config=config, now=NOW, knowledge=lambda: knowledge)
    return uow, uow.tickets[answer["ref"]]


def offered(**changes: object) -> Ticket:
    """Anna's ticket, open, held by Lena, offered the returns article."""
    fields: dict[str, object] = {
        "ref": "HD-5RVY42",
        "status": "open",
        "assignee": LENA,
        "suggested": ["returns"],
    }
    return ticket(**(fields | changes))


def link(ref: str = "HD-5RVY42", slug: str = "returns") -> str:
    return make_answer_token(ref, slug, NOW + timedelta(days=30), KEY)


# ---------------------------------------------------------------------- at intake
def test_a_form_ticket_stores_the_confident_articles_and_its_opening_event_carries_them(
    knowledge: KnowledgeBase,
) -> None:
    uow, stored = filed(
        knowledge,
        "How do I return a sweater?",
        "The sweater is too small. How can I send it back and get a refund?",
    )

    assert "returns" in stored.suggested
    assert len(stored.suggested) <= CONFIG.knowledge.suggest
    [opened] = [e for e in uow.events() if isinstance(e, TicketOpened)]
    assert opened.suggested == stored.suggested


def test_an_off_topic_question_is_offered_nothing(knowledge: KnowledgeBase) -> None:
    _, stored = filed(
        knowledge,
        "Weather in Berlin",
        "Will it rain in Berlin tomorrow? I want to plan a picnic.",
        sender=("Tom", "tom@example.org"),
    )

    assert stored.suggested == []


@pytest.mark.parametrize(
    "flags, notify, offered",
    [(["auto_reply"], False, []), (["spam"], False, []), ([], False, ["returns"])],
)
def test_robots_and_spam_are_offered_nothing_and_a_person_unmailed_still_is(
    flags: list[str], notify: bool, offered: list[str]
) -> None:
    # A person's ticket that gets no acknowledgement mail (a capped sender, a channel's
    # caller without an address) is still asked about: the caller's answer shows the
    # articles, and the reports' writing list must not count an unasked question as one
    # the knowledge base could not answer (first-user review). Machines' mail never is.
    asked: list[str] = []

    def suggest(text: str, language: str) -> list[str]:
        asked.append(text)
        return ["returns"]

    uow = FakeUnitOfWork(CONFIG)
    from helpdesk.model import Message

    stored = open_ticket(
        NewRequest(
            channel="email",
            subject="How do I return a sweater?",
            text="Out of office until Monday",
            contact_email="robot@example.org",
            contact_name="",
            flags=flags,
        ),
        uow=uow,
        config=CONFIG,
        now=NOW,
        first_message=Message(
            id="m1", ticket="", direction="in", author="robot@example.org", at=NOW, text="x"
        ),
        notify=notify,
        suggest=suggest,
    )

    assert stored.suggested == offered
    assert len(asked) == len(offered)


def test_suggestions_off_in_the_config_ask_nothing(knowledge: KnowledgeBase) -> None:
    config = CONFIG.model_copy(
        update={"knowledge": CONFIG.knowledge.model_copy(update={"suggest": 0})}
    )
    _, stored = filed(knowledge, "How do I return a sweater?", "How can I send it back?", config)

    assert stored.suggested == []


# ---------------------------------------------------------------------- the link
def verify_answer_token(token: str, key: bytes, *, now: datetime) -> tuple[str, str]:
    """The (ticket, article) an answer link names, read as the page reads it (ANSWER.read)."""
    return ANSWER.read(token, key, now=now)[0]


def test_an_answer_link_names_its_ticket_and_article_and_nothing_else() -> None:
    assert verify_answer_token(link(), KEY, now=NOW) == ("HD-5RVY42", "returns")
    survey_token = make_link_token("survey", "HD-5RVY42", NOW + timedelta(days=1), KEY)
    with pytest.raises(LinkRefused) as refused:
        verify_answer_token(survey_token, KEY, now=NOW)
    assert refused.value.reason == "forged"


def test_an_answer_link_expires() -> None:
    with pytest.raises(LinkRefused) as refused:
        verify_answer_token(link(), KEY, now=NOW + timedelta(days=31))
    assert (refused.value.reason, refused.value.ref) == ("expired", "HD-5RVY42")


def test_opening_the_page_records_nothing(knowledge: KnowledgeBase) -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered())

    page = desk(uow, knowledge).open(link(), now=NOW)

    assert (page.article.slug, page.article.language, page.open) == ("returns", "en", True)
    assert uow.commits == 0 and uow.events() == []


def test_a_genuine_link_to_an_article_the_ticket_was_never_offered_is_refused(
    knowledge: KnowledgeBase,
) -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered())

    with pytest.raises(LinkRefused) as refused:
        desk(uow, knowledge).open(link(slug="invoice"), now=NOW)

    assert refused.value.reason == "forged"


def test_a_link_to_an_article_no_longer_published_says_so(knowledge: KnowledgeBase) -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered(suggested=["gift-cards"]))

    with pytest.raises(ArticleGone):
        desk(uow, knowledge).open(link(slug="gift-cards"), now=NOW)


# ---------------------------------------------------------------------- confirming
def test_confirming_solves_the_ticket_as_self_served_frees_the_slot_and_tells_the_assignee(
    knowledge: KnowledgeBase,
) -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.hold(LENA, offered())
    assert uow.loads[LENA] == 1

    done = desk(uow, knowledge).confirm(link(), "answered=yes", FORM, now=NOW + timedelta(hours=1))

    stored = uow.tickets["HD-5RVY42"]
    assert done.solved and stored.status == "solved"
    assert "self_served" in stored.flags and stored.self_served_article == "returns"
    assert stored.solved_at == NOW + timedelta(hours=1)
    assert uow.loads[LENA] == 0
    events = uow.events()
    assert (
        StatusChanged(
            ref="HD-5RVY42",
            status="solved",
            previous_status="open",
            by="anna@example.com",
            version=1,
            in_reply=True,
        )
        in events
    )
    assert (
        SelfServed(
            ref="HD-5RVY42",
            article="returns",
            title="Returns",
            assignee=LENA,
            subject=stored.subject,
            contact=EventContact("anna@example.com", stored.contact_name),
        )
        in events
    )
    assert any(isinstance(e, CapacityFreed) and e.agent == LENA for e in events)


def test_confirming_a_ticket_already_solved_changes_nothing(knowledge: KnowledgeBase) -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered(status="solved", solved_at=NOW))
    commits = uow.commits

    done = desk(uow, knowledge).confirm(link(), "answered=yes", FORM, now=NOW)

    assert not done.solved and uow.commits == commits and uow.events() == []
    assert "self_served" not in uow.tickets["HD-5RVY42"].flags


@pytest.mark.parametrize(
    "body, content_type, field",
    [
        ("answered=yes", "application/json", "content-type"),
        ("answered=no", FORM, "answered"),
        ("", FORM, "answered"),
        ("answered=yes&x=" + "a" * ANSWER_BODY_MAX_BYTES, FORM, "body"),
        # Small, but more fields than the page's form holds.
        ("answered=yes" + "&x=" * 20, FORM, "body"),
        ("answered=yes", "application/x-www-form-urlencodedX", "content-type"),
    ],
)
def test_a_post_that_is_not_the_pages_form_changes_nothing(
    knowledge: KnowledgeBase, body: str, content_type: str, field: str
) -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered())

    with pytest.raises(ConfirmationNotTaken) as refused:
        desk(uow, knowledge).confirm(link(), body, content_type, now=NOW)

    assert refused.value.problem.field == field
    assert uow.tickets["HD-5RVY42"].status == "open" and uow.events() == []


def test_the_article_is_shown_in_the_tickets_language(knowledge: KnowledgeBase) -> None:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered(language="ru"))

    page = desk(uow, knowledge).open(link(), now=NOW)

    stored = knowledge.article("returns", "ru")
    assert stored is not None
    assert page.article.language == "ru" and page.article.title == stored.title


# ---------------------------------------------------------------------- the HTTP edge
def test_an_expired_link_gets_a_403_page_in_the_tickets_language_and_records_nothing(
    knowledge: KnowledgeBase,
) -> None:
    from helpdesk.http import FormPost, answer_confirm_response, answer_page_response

    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered(language="ru"))
    later = NOW + timedelta(days=31)

    shown = answer_page_response(desk(uow, knowledge), link(), ask=True, now=later)
    posted = answer_confirm_response(
        desk(uow, knowledge), link(), FormPost("answered=yes", False, FORM), now=later
    )

    assert shown.status_code == posted.status_code == 403
    assert "Срок действия ссылки истёк (обращение HD-5RVY42)" in str(shown.body)
    assert shown.headers["Cache-Control"] == "no-store"
    assert uow.tickets["HD-5RVY42"].status == "open" and uow.events() == []


def test_the_article_page_escapes_what_an_article_must_not_run(knowledge: KnowledgeBase) -> None:
    from helpdesk.http import answer_page_response

    article = knowledge.article("returns", "en")
    assert article is not None
    hostile = replace(
        article, body="<script>alert(1)</script>\n\n[click](javascript:alert(1)) [ok](refunds.md)"
    )
    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered())

    class Hostile(KnowledgeBase):
        def article(self, slug: str, language: str) -> Any:
            return hostile

    page = answer_page_response(desk(uow, Hostile(BUNDLE)), link(), ask=False, now=NOW)

    body = str(page.body)
    assert page.status_code == 200
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
    assert 'href="javascript:' not in body  # markdown-it leaves it as text, not a link
    assert "refunds.md" not in body and ">ok<" not in body and "ok" in body


# ---------------------------------------------------------------------- who gets the credit
def test_a_self_served_solve_credits_no_agent_and_sends_no_survey_until_the_customer_reopens(
    knowledge: KnowledgeBase,
) -> None:
    from fakes import started_clocks
    from helpdesk import timers
    from helpdesk.services.clocks import Change, apply
    from helpdesk.unit_of_work import TicketChange

    uow = FakeUnitOfWork(CONFIG)
    uow.hold(LENA, offered(sla=started_clocks(CONFIG, NOW)))

    desk(uow, knowledge).confirm(link(), "answered=yes", FORM, now=NOW + timedelta(minutes=10))

    # The article answered her, not Lena: no first response, resolution or target met for
    # anyone (the report's agent figures come from these facts), and no survey about a team
    # that never wrote to her; the ticket still closes itself later.
    kinds = {kind for (_, kind, _) in uow.facts}
    assert not kinds & {"first_response", "resolution", "target"}
    assert ("HD-5RVY42", timers.SURVEY) not in uow.timers
    assert ("HD-5RVY42", timers.AUTOCLOSE) in uow.timers

    # She writes again: from then on it is an ordinary ticket, and Lena's solve is hers.
    solved = uow.tickets["HD-5RVY42"]
    later = NOW + timedelta(hours=1)
    reopened = apply(solved, Change(customer_message=True), at=later, config=CONFIG)
    assert reopened.status == "open"
    reopened = uow.commit(TicketChange(before=solved, after=reopened, at=later))
    done_at = later + timedelta(minutes=30)
    answered = apply(reopened, Change(agent_reply=True, status="solved"), at=done_at, config=CONFIG)
    uow.commit(TicketChange(before=reopened, after=answered, at=done_at, actor=LENA))

    resolutions = [f for (_, kind, _), f in uow.facts.items() if kind == "resolution"]
    assert [f["agent"] for f in resolutions] == [LENA]
    assert ("HD-5RVY42", timers.SURVEY) in uow.timers


@pytest.mark.parametrize(
    "language, quoted",
    [
        ("en", "the article “Returns” answered"),
        ("ru", "статья «{}» ответила"),
        ("zh", "文章“{}”解答了"),
    ],
)
def test_the_thanks_page_quotes_the_articles_title_as_the_agents_notice_does(
    knowledge: KnowledgeBase, language: str, quoted: str
) -> None:
    import re
    from html import unescape

    from helpdesk.web import answer_thanks_page

    uow = FakeUnitOfWork(CONFIG)
    uow.add(offered(language=language))
    done = desk(uow, knowledge).confirm(link(), "answered=yes", FORM, now=NOW)

    page = unescape(re.sub(r"<[^>]+>", "", answer_thanks_page(CONFIG, done.page, solved=True)))

    assert done.solved
    assert quoted.format(done.page.article.title) in page
