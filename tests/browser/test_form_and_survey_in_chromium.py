"""A customer in a real browser: fills the web form on `helpdesk local`, sees the reference
and the promised answer time; later follows the survey link from the outbox and scores.

Drives Debian's Chromium (``/usr/bin/chromium``) through Playwright's Python package; no
browser is ever downloaded. Without Chromium the test is skipped with its reason.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pages import (
    advance,
    page,
    send_form,
    server,
    solve_by_mail,
    tickets_of,
)

from helpdesk_local.server import LocalServer

pytestmark = pytest.mark.browser

__all__ = ["page", "server"]  # fixtures of pages.py, used by name

REFERENCE = re.compile(r"HD-[A-Z0-9]{6}")


def send_in_russian(
    server: LocalServer, page: Any, fields: dict[str, str], choices: dict[str, str] | None = None
) -> None:
    """Open the form in Russian and send it as a reader does (``send_form``), by the Russian
    page's button."""
    page.goto(server.url + "/form?lang=ru")
    send_form(page, "Отправить обращение", fields, choices)


def test_a_customer_files_a_request_in_the_form_then_scores_the_answer(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=en")
    send_form(
        page,
        "Send request",
        {
            "Your name": "Anna Schmidt",
            "Your email address": "anna@example.com",
            "Subject": "Where is my order?",
            "Order number": "A-1042",
            "Your message": "It has been two weeks since I ordered the kettle.",
        },
        {"Topic": "shipping"},
    )

    result = page.locator("#form-result")
    result.get_by_text(REFERENCE).wait_for()
    [ticket] = tickets_of(server, "anna@example.com")
    assert ticket["ref"] in result.inner_text()
    # 08:55 UTC on Monday; the promise, shown in the reader's zone (Berlin) by the browser.
    promised = result.locator("time")
    assert promised.get_attribute("datetime") == ticket["sla"]["first_response_due"]
    assert "November 2026" in promised.inner_text()
    assert page.locator("#ticket-form").is_hidden()
    assert page.problems == []

    solve_by_mail(server, ticket["ref"])
    advance(server, "1h30m")
    page.goto(server.url + "/_local/outbox")
    score_link = page.locator("a[href*='/survey/'][href$='score=5']").first
    if score_link.count() == 0:
        pytest.skip("no survey mail in the outbox: survey_dispatch sends none yet")
    score_link.click()
    # The survey's own button (the page also has the complaint box's).
    page.get_by_role("button", name="Send", exact=True).click()

    page.wait_for_load_state()
    assert tickets_of(server, "anna@example.com")[0]["survey"]["score"] == 5
    assert page.problems == []


def test_an_empty_form_is_not_sent_and_each_missing_field_says_so(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=en")

    page.get_by_role("button", name="Send request").click()

    assert page.locator("#form-alert").inner_text() == "Please check the highlighted fields."
    for field in ("name", "email", "subject", "message"):
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
        assert page.locator(f"#{field}-error").inner_text().strip()
    assert page.evaluate("document.activeElement.id") == "name"


def test_the_servers_refusal_shows_next_to_the_field_it_names(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=zh")
    # A topic the page never offers: only the server can refuse it.
    page.evaluate("document.getElementById('category').add(new Option('lottery', 'lottery'))")

    send_form(
        page,
        "提交请求",
        {
            "您的姓名": "王芳",
            "您的电子邮件地址": "wang@example.cn",
            "主题": "发票",
            "您的留言": "请重新开具发票。",
        },
        {"类别": "lottery"},
    )

    page.locator("#category-error").get_by_text("类别：请从提供的选项中选择一项。").wait_for()
    assert_highlighted_with_its_error(page, "category", "类别：请从提供的选项中选择一项。")
    assert page.locator("#form-alert").inner_text() == "请检查标出的字段。"
    assert page.locator("#ticket-form").is_visible()
    assert tickets_of(server, "wang@example.cn") == []
    assert script_problems(page) == []


def script_problems(page: Any) -> list[str]:
    """The page's problems except Chromium's own line for a 4xx answer, which a refusal is."""
    return [p for p in page.problems if not p.startswith("Failed to load resource: the server")]


# The highlight of an invalid field (the page's style sheet: a 2px border in #b42318).
INVALID_BORDER = ("2px", "rgb(180, 35, 24)")


def assert_highlighted_with_its_error(page: Any, field: str, text: str) -> None:
    """The field is marked invalid, drawn with the invalid border (its computed style,
    not just the attribute), and the text that says why is tied to it: one of the ids in
    its aria-describedby holds exactly ``text``."""
    control = page.locator(f"#{field}")
    assert control.get_attribute("aria-invalid") == "true"
    border = control.evaluate(
        "e => [getComputedStyle(e).borderTopWidth, getComputedStyle(e).borderTopColor]"
    )
    assert tuple(border) == INVALID_BORDER, field
    described = (control.get_attribute("aria-describedby") or "").split()
    texts = [page.locator(f"#{ident}").inner_text().strip() for ident in described]
    assert text in texts, (field, texts)


def assert_not_highlighted(page: Any, field: str) -> None:
    control = page.locator(f"#{field}")
    assert control.get_attribute("aria-invalid") is None
    border = control.evaluate("e => getComputedStyle(e).borderTopColor")
    assert border != INVALID_BORDER[1], field
    assert page.locator(f"#{field}-error").inner_text().strip() == ""


@pytest.mark.parametrize(
    ("language", "alert", "errors"),
    [
        (
            "zh",
            "请检查标出的字段。",
            {
                "name": "您的姓名：请填写此项。",
                "email": "您的电子邮件地址：请填写此项。",
                "subject": "主题：请填写此项。",
                "message": "您的留言：请填写此项。",
            },
        ),
        (
            "ru",
            "Проверьте отмеченные поля.",
            {
                "name": "Ваше имя: заполните это поле.",
                "email": "Ваш адрес электронной почты: заполните это поле.",
                "subject": "Тема: заполните это поле.",
                "message": "Ваше сообщение: заполните это поле.",
            },
        ),
    ],
)
def test_every_missing_field_is_highlighted_and_named_in_the_pages_language(
    server: LocalServer, page: Any, language: str, alert: str, errors: dict[str, str]
) -> None:
    # The browser speaks English: the words must come from the page, not from Chromium.
    page.goto(server.url + f"/form?lang={language}")

    page.locator("button[type=submit]").click()

    assert page.locator("#form-alert").inner_text() == alert
    for field, text in errors.items():
        assert_highlighted_with_its_error(page, field, text)
    assert_not_highlighted(page, "order_id")
    assert page.problems == []


def test_the_servers_refusal_on_the_russian_page_names_the_field_in_russian(
    server: LocalServer, page: Any
) -> None:
    send_in_russian(
        server,
        page,
        {
            "Ваше имя": "Анна",
            # The browser takes an address without a dot in its domain; the server does not.
            "Ваш адрес электронной почты": "anna@localhost",
            "Тема": "Оплата не прошла",
            "Ваше сообщение": "Деньги списаны, заказ не оформлен.",
        },
    )

    expected = "Ваш адрес электронной почты: на этот адрес мы не сможем ответить. Проверьте его."
    page.locator("#email-error").get_by_text(expected).wait_for()
    assert_highlighted_with_its_error(page, "email", expected)
    for other in ("name", "subject", "message"):
        assert_not_highlighted(page, other)
    assert page.locator("#form-alert").inner_text() == "Проверьте отмеченные поля."
    assert page.evaluate("document.activeElement.id") == "email"
    assert script_problems(page) == []


def test_an_order_number_the_page_refuses_is_one_the_server_refuses_and_the_other_way_round(
    server: LocalServer, page: Any
) -> None:
    from helpdesk.services.form_intake import ORDER_ID_RULE

    page.goto(server.url + "/form?lang=ru")
    samples = [
        "А-1042",  # Cyrillic А, as a Russian keyboard types it
        "A-1042",
        "订单2026/7",
        "Ａ－１０４２",  # full-width, as a Chinese input method types it
        "№1042",
        "A 1042",
        "A;1042",
        "<b>1</b>",
        "A\u200b1042",  # a zero-width space
        "A\u202e1042",  # a right-to-left override
        "Ⅻ-½",
    ]
    page_verdicts = page.evaluate(
        """samples => samples.map(value => {
             const input = document.getElementById("order_id");
             input.value = value.normalize(input.dataset.normalize);
             return !input.validity.patternMismatch;
           })""",
        samples,
    )
    server_verdicts = [ORDER_ID_RULE.allows(ORDER_ID_RULE.normalized(s)) for s in samples]

    assert page_verdicts == server_verdicts
    assert page_verdicts[:4] == [True] * 4
    assert page_verdicts[5:10] == [False] * 5


def test_a_russian_order_number_on_the_russian_page_becomes_a_ticket(
    server: LocalServer, page: Any
) -> None:
    send_in_russian(
        server,
        page,
        {
            "Ваше имя": "Ольга",
            "Ваш адрес электронной почты": "olga@example.ru",
            "Тема": "Где мой заказ?",
            "Номер заказа": "А-1042",
            "Ваше сообщение": "Заказ оплачен две недели назад.",
        },
        {"Срочность": "high"},
    )

    page.locator("#form-result").get_by_text(REFERENCE).wait_for()
    [ticket] = tickets_of(server, "olga@example.ru")
    assert "Order: А-1042" in ticket["messages"][0]["text"]
    assert ticket["priority"] == "high"
    assert page.problems == []


def test_an_order_number_with_a_space_is_refused_next_to_the_field_in_chinese(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=zh")
    page.get_by_label("订单号").fill("A 1042")

    page.get_by_role("button", name="提交请求").click()

    assert_highlighted_with_its_error(page, "order_id", "订单号：只能使用字母、数字和 # / _ . -。")
    assert page.problems == []


def test_the_keyboard_walks_every_field_in_order_and_never_reaches_the_trap(
    server: LocalServer, page: Any
) -> None:
    page.goto(server.url + "/form?lang=ru")
    page.locator("#name").focus()

    visited = [page.evaluate("document.activeElement.id")]
    for _ in range(7):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))

    assert visited == [
        "name",
        "email",
        "subject",
        "category",
        "urgency",
        "order_id",
        "message",
        "BUTTON",
    ]
