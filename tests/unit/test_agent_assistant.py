"""The agent's assistant (issue 17): the assignment and each relayed customer message show the
articles and saved replies that may answer the ticket, in the customer's language, with the
exact "#reply" line to type; nothing when nothing is confident. Read as the agent's mail
client reads the mail, on fakes with the shipped articles."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from test_notices import NOW, notice_desk, text

import fakes
from fakes import CONFIG, mail_kind
from helpdesk.config import Config
from helpdesk.knowledge import KnowledgeBase
from helpdesk.knowledge.articles import read_articles
from helpdesk.knowledge.index import build_bundle
from helpdesk.model import Message
from helpdesk.notices import Notifier

ARTICLES = Path(__file__).resolve().parents[2] / "infra" / "knowledge"
WEI = "wei@support.example"  # reads desk mail in Chinese
LENA = "lena@support.example"  # in English
HELP_CENTRE = CONFIG.model_copy(
    update={
        "knowledge": CONFIG.knowledge.model_copy(
            update={"help_centre_url": "https://help.shop.example/"}
        )
    }
)


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    articles, problems = read_articles(ARTICLES)
    assert problems == []
    return KnowledgeBase(build_bundle(articles))


class AssistedDesk(fakes.NoticeDesk):
    """The notices as route and acknowledge build them: with the knowledge base, counted
    each time it is asked for (it is loaded on the first mail that needs it)."""

    def __init__(self, knowledge: KnowledgeBase, config: Config = CONFIG) -> None:
        super().__init__(config=config, at=NOW)
        self.knowledge = knowledge
        self.loads = 0

    def load(self) -> KnowledgeBase:
        self.loads += 1
        return self.knowledge

    @property
    def notifier(self) -> Notifier:
        return replace(super().notifier, knowledge=self.load)


def assisted(
    knowledge: KnowledgeBase,
    subject: str,
    language: str,
    agent: str,
    wrote: str,
    config: Config = CONFIG,
) -> AssistedDesk:
    """The desk with ticket HD-AAAAAA (``subject``, in ``language``) assigned to ``agent``,
    and the customer's message ``wrote`` (m1) on it."""
    desk = AssistedDesk(knowledge, config=config)
    ticket = fakes.ticket(ref="HD-AAAAAA", subject=subject, language=language, assignee=agent)
    desk.add(ticket, customer_wrote(wrote))
    return desk


def customer_wrote(body: str, *, id: str = "m1", ago: timedelta = timedelta(hours=1)) -> Message:
    return Message(
        id=id,
        ticket="HD-AAAAAA",
        direction="in",
        author="anna@example.com",
        at=NOW - ago,
        text=body,
        message_id=f"{id}@mail.example",
    )


def assigned(desk: fakes.NoticeDesk, agent: str) -> EmailMessage:
    desk.on("TicketAssigned", ref="HD-AAAAAA", agent=agent, by="omar@support.example", version=3)
    [mail] = [
        mail for mail, to in desk.mailer.parsed if to == [agent] and mail_kind(mail) == "assignment"
    ]
    return mail


def relayed(desk: fakes.NoticeDesk, message: str, agent: str) -> EmailMessage:
    desk.on("CustomerReplied", ref="HD-AAAAAA", message=message, status="open", text="")
    [mail] = [
        mail for mail, to in desk.mailer.parsed if to == [agent] and mail_kind(mail) == "relay"
    ]
    return mail


def html(mail: EmailMessage) -> str:
    body = mail.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def test_the_assignment_shows_the_saved_reply_line_to_type_and_the_article(
    knowledge: KnowledgeBase,
) -> None:
    desk = assisted(
        knowledge, "Password reset", "en", LENA, "I forgot my password and cannot log in"
    )

    mail = assigned(desk, LENA)

    body = text(mail)
    assert "From the knowledge base (in the customer's language):" in body
    assert "- Article: I forgot my password or cannot sign in" in body
    assert (
        '- Saved reply "Saved reply: password reset link sent": type #reply reply-password-reset'
        in body
    )
    assert body.index("From the knowledge base") < body.index("How to answer")
    assert "<code>#reply reply-password-reset</code>" in html(mail)


def test_a_chinese_customers_message_shows_a_chinese_agent_the_chinese_saved_reply(
    knowledge: KnowledgeBase,
) -> None:
    desk = assisted(knowledge, "订单延误", "zh", WEI, "订单延误了，物流一直没更新")

    mail = relayed(desk, "m1", WEI)

    body = text(mail)
    assert "知识库推荐（使用客户的语言）：" in body
    assert "- 快捷回复“快捷回复：订单延误”：在回复中单独一行输入 #reply reply-order-delayed" in body
    assert "知识库推荐" in html(mail)


def test_an_english_agent_sees_the_russian_customers_saved_reply_in_russian_with_english_words(
    knowledge: KnowledgeBase,
) -> None:
    desk = assisted(
        knowledge, "Заказ задерживается", "ru", LENA, "Мой заказ задерживается, доставка опаздывает"
    )

    body = text(relayed(desk, "m1", LENA))

    # The agent's words in English; the reply is the one the customer will read, in Russian.
    assert "From the knowledge base (in the customer's language):" in body
    assert "type #reply reply-order-delayed on a line of your reply" in body
    assert 'Saved reply "Шаблон ответа: заказ задерживается"' in body


def test_an_article_links_to_its_help_centre_page_when_one_is_configured(
    knowledge: KnowledgeBase,
) -> None:
    desk = assisted(knowledge, "忘记密码", "zh", LENA, "登录不了，忘记密码了", HELP_CENTRE)

    mail = assigned(desk, LENA)

    assert "<https://help.shop.example/zh/reset-password.html>" in text(mail)
    assert 'href="https://help.shop.example/zh/reset-password.html"' in html(mail)


@pytest.mark.parametrize(
    ("subject", "body", "language"),
    [
        ("Job application", "I would like to apply for the marketing position.", "en"),
        ("天气", "明天北京会下雨吗？", "zh"),
        ("Оптовое предложение", "Предлагаем сотрудничество по продаже биткоинов.", "ru"),
    ],
)
def test_nothing_is_shown_when_nothing_answers_the_customer_confidently(
    knowledge: KnowledgeBase, subject: str, body: str, language: str
) -> None:
    desk = assisted(knowledge, subject, language, LENA, body)

    mail = relayed(desk, "m1", LENA)

    assert "From the knowledge base" not in text(mail)
    assert "From the knowledge base" not in html(mail)


def test_a_colleagues_note_asks_nothing_of_the_knowledge_base(knowledge: KnowledgeBase) -> None:
    desk = AssistedDesk(knowledge)
    desk.add(
        fakes.ticket(ref="HD-AAAAAA", subject="Password reset", language="en", assignee=LENA),
    )

    desk.on(
        "NoteAdded", ref="HD-AAAAAA", text="She forgot her password, reset it?", **{"from": WEI}
    )

    [(mail, _)] = desk.mailer.parsed
    assert mail_kind(mail) == "note"
    assert "From the knowledge base" not in text(mail)
    assert desk.loads == 0


def test_without_a_knowledge_base_the_mails_are_as_before() -> None:
    desk = notice_desk()
    desk.add(
        fakes.ticket(ref="HD-AAAAAA", subject="Password reset", language="en", assignee=LENA),
        customer_wrote("I forgot my password and cannot log in"),
    )

    assert "From the knowledge base" not in text(assigned(desk, LENA))


def test_the_help_centre_url_must_be_https() -> None:
    from pydantic import ValidationError

    from helpdesk.config import Knowledge

    with pytest.raises(ValidationError):
        Knowledge(help_centre_url="http://help.shop.example")
    assert Knowledge(help_centre_url="https://x.example/kb").help_centre_page("ru", "returns") == (
        "https://x.example/kb/ru/returns.html"
    )
