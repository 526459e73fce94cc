"""A customer on a phone, in Chromium, on the page their mail links to: reads the thread,
answers, complains to the team lead and marks the request solved, in English, Chinese and
Russian (CONTRACT section 7, "The customer's page").

The page runs on `helpdesk local`; the link is the one in the agent's reply in the outbox
(its path, on the local server, as the outbox page rewrites it).
The viewport is a phone's (390x844 CSS pixels, an iPhone 12-15's). Console errors (a
Content-Security-Policy violation among them) fail the test.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from pages import (
    PHONE,
    answer_by_mail,
    file_request,
    phone_page,
    server,
    state,
    ticket_of,
)

from helpdesk_local.server import LocalServer

pytestmark = pytest.mark.browser

__all__ = ["server"]  # fixtures of pages.py, used by name

# What each customer writes and what their page says, in their language.
CUSTOMERS: dict[str, dict[str, str]] = {
    "en": {
        "name": "Anna Schmidt",
        "email": "anna@example.com",
        "subject": "Where is my order?",
        "message": "It has been two weeks since I ordered the kettle.",
        "agent_reply": "Hello Anna, the kettle is in our warehouse.",
        "reply_label": "Your message",
        "send": "Send",
        "replied": "Thank you: your message is now part of your request",
        "complain_label": "What is going wrong?",
        "complain_button": "Send to the team lead",
        "complained": "the team lead has your message",
        "solved_button": "This is solved",
        "solved": "your request is marked solved",
        "status_pending": "waiting for your answer",
    },
    "zh": {
        "name": "王芳",
        "email": "wang@example.cn",
        "subject": "我的订单在哪里？",
        "message": "我两周前订的水壶还没有到，请帮我查一下。",
        "agent_reply": "王女士您好，水壶还在我们的仓库里。",
        "reply_label": "您的消息",
        "send": "发送",
        "replied": "谢谢：您的消息已加入您的请求",
        "complain_label": "哪里出了问题？",
        "complain_button": "发送给团队负责人",
        "complained": "团队负责人已收到您的消息",
        "solved_button": "问题已解决",
        "solved": "您的请求已标记为已解决",
        "status_pending": "等待您的答复",
    },
    "ru": {
        "name": "Иван Петров",
        "email": "ivan@example.ru",
        "subject": "Где мой заказ?",
        "message": "Я заказал чайник две недели назад, а его всё нет.",
        "agent_reply": "Здравствуйте, Иван! Чайник пока на нашем складе.",
        "reply_label": "Ваше сообщение",
        "send": "Отправить",
        "replied": "Спасибо: ваше сообщение добавлено к обращению",
        "complain_label": "Что идёт не так?",
        "complain_button": "Отправить руководителю",
        "complained": "руководитель команды получил ваше сообщение",
        "solved_button": "Вопрос решён",
        "solved": "обращение отмечено как решённое",
        "status_pending": "ждём вашего ответа",
    },
}
LINK = re.compile(r"https?://[^\s\"'<>]+/ticket/[A-Za-z0-9_.-]+")


def page_link(server: LocalServer, ref: str, email: str) -> str:
    mails = [m for m in state(server)["outbox"] if m["ticket"] == ref and email in m["to"]]
    links = LINK.findall(mails[-1]["text"])
    assert links, "the latest mail to the customer carries no page link"
    return str(links[-1])


@pytest.mark.parametrize("language", ["en", "zh", "ru"])
def test_a_customer_on_a_phone_reads_answers_complains_and_solves(
    server: LocalServer, browser: Any, language: str
) -> None:
    customer = CUSTOMERS[language]
    form = {k: customer[k] for k in ("name", "email", "subject", "message")}
    ref = file_request(server, {**form, "language": language})
    # The assigned agent answers from a mail client, waiting on the customer.
    answer_by_mail(server, ref, f"#status pending\n{customer['agent_reply']}\n")
    # The link as the outbox page shows it: the deployed API's address pointed at this server.
    link = server.url + urlsplit(page_link(server, ref, customer["email"])).path

    with phone_page(browser, locale=language) as page:
        page.goto(link)
        # Read: the heading names the request, the thread holds both sides, in words.
        assert page.locator("html").get_attribute("lang").startswith(language)
        assert ref in page.get_by_role("heading", level=1).inner_text()
        thread = page.locator("ol.thread")
        assert customer["message"] in thread.inner_text()
        assert customer["agent_reply"] in thread.inner_text()
        assert customer["status_pending"] in page.inner_text("body")
        # Fits the phone: nothing wider than the screen to scroll sideways to.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # Reply.
        page.get_by_label(customer["reply_label"], exact=True).fill("Thank you, I will wait.")
        page.get_by_role("button", name=customer["send"], exact=True).click()
        page.get_by_role("status").get_by_text(customer["replied"]).wait_for()
        last = ticket_of(server, customer["email"])["messages"][-1]
        assert (last["text"], last["channel"]) == ("Thank you, I will wait.", "portal")

        # Complain.
        page.get_by_label(customer["complain_label"]).fill("Two weeks is too long.")
        page.get_by_role("button", name=customer["complain_button"]).click()
        page.get_by_role("status").get_by_text(customer["complained"]).wait_for()
        assert "complaint" in ticket_of(server, customer["email"])["flags"]

        # Mark solved.
        page.get_by_role("button", name=customer["solved_button"]).click()
        page.get_by_role("status").get_by_text(customer["solved"]).wait_for()
        assert ticket_of(server, customer["email"])["status"] == "solved"
        assert page.problems == []


def test_files_over_the_pages_limit_are_refused_in_the_browser_before_they_are_sent(
    server: LocalServer, browser: Any
) -> None:
    # First-user run 14, #1: two 2.5 MB photos went to the server, whose post (over
    # Lambda's 6 MB once API Gateway base64s it) never reached the function: the customer
    # saw API Gateway's bare {"message": "Internal Server Error"}, not the page.
    customer = CUSTOMERS["en"]
    form = {**{k: customer[k] for k in ("name", "subject", "message")}, "language": "en"}
    form["email"] = "photos@example.com"
    ref = file_request(server, form)
    answer_by_mail(server, ref, "#status pending\nCould you send us a photo of the box?\n")
    link = server.url + urlsplit(page_link(server, ref, form["email"])).path
    photo = 2_500_000 * b"\xff"

    with phone_page(browser, locale="en") as page:
        page.goto(link)
        page.get_by_label(customer["reply_label"], exact=True).fill("Here are the photos.")
        files = page.get_by_label(re.compile("Attach files"))
        files.set_input_files(
            [{"name": f"box-{n}.jpg", "mimeType": "image/jpeg", "buffer": photo} for n in (1, 2)]
        )
        page.get_by_role("button", name=customer["send"], exact=True).click()

        alert = page.get_by_role("alert")
        alert.wait_for()
        assert alert.inner_text() == (
            "That did not work: what you sent is too large (at most 4 MB in all)."
        )
        assert files.get_attribute("aria-invalid") == "true"
        assert len(ticket_of(server, form["email"])["messages"]) == 2  # nothing was sent
        assert page.problems == []

        # A file just under the limit with a long text is over it, the text counted too
        # (first-user run 17, #5: the server refused it and the text was lost).
        near = (3_999_000) * b"\xff"
        page.get_by_label(customer["reply_label"], exact=True).fill("x" * 2_000)
        files.set_input_files([{"name": "scan.jpg", "mimeType": "image/jpeg", "buffer": near}])
        page.get_by_role("button", name=customer["send"], exact=True).click()
        assert "too large" in alert.inner_text()
        assert len(ticket_of(server, form["email"])["messages"]) == 2
        assert page.get_by_label(customer["reply_label"], exact=True).input_value() == "x" * 2_000
        page.get_by_label(customer["reply_label"], exact=True).fill("Here are the photos.")

        # One photo is within the limit: the same form sends it, and the alert goes.
        files.set_input_files([{"name": "box.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        page.get_by_role("button", name=customer["send"], exact=True).click()
        page.get_by_role("status").get_by_text(customer["replied"]).wait_for()
        last = ticket_of(server, form["email"])["messages"][-1]
        assert [file["filename"] for file in last["attachments"]] == ["box.jpg"]
        assert page.get_by_role("alert").count() == 0
        assert page.problems == []
