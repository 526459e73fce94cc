"""POST /tickets on the local stack with the shipped config: a refusal says what is wrong in
the page's language and names the field (the English `detail`, `field` and `reason` stay
for API clients); the urgency and topic a customer picks become the ticket's priority and
category; a mail and a form about nothing in particular share one category."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from conftest import MONDAY_MORNING
from helpdesk_local.stack import HttpResponse, LocalStack
from helpdesk_local.state import build_state

_clients = (f"203.0.113.{n}" for n in itertools.count(1))
_customers = (f"reader{n}@example.com" for n in itertools.count(1))


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING) as local:
        yield local


def a_form(**changes: Any) -> dict[str, Any]:
    """A complete form of a customer of its own, with ``changes`` (None removes a field)."""
    form = {
        "name": "Anna Schmidt",
        "email": next(_customers),
        "subject": "A question",
        "message": "Could you help me, please?",
        "submission_id": str(uuid.uuid4()),
        **changes,
    }
    return {k: v for k, v in form.items() if v is not None}


def post(
    stack: LocalStack,
    fields: Mapping[str, Any] | None = None,
    *,
    body: str | None = None,
    accept_language: str | None = None,
    content_type: str = "application/json",
) -> HttpResponse:
    headers = {"content-type": content_type}
    if accept_language:
        headers["accept-language"] = accept_language
    return stack.http(
        "POST",
        "/tickets",
        # As the page's script sends it: JSON.stringify leaves non-ASCII text as it is.
        body=body if body is not None else json.dumps(dict(fields or {}), ensure_ascii=False),
        headers=headers,
        source_ip=next(_clients),
    )


def ticket_of(stack: LocalStack, email: str) -> dict[str, Any]:
    [ticket] = [t for t in build_state(stack)["tickets"] if t["contact"]["email"] == email]
    return dict(ticket)


@pytest.mark.parametrize(
    ("language", "change", "field", "message"),
    [
        ("zh", {"name": None}, "name", "您的姓名：请填写此项。"),
        ("ru", {"name": None}, "name", "Ваше имя: заполните это поле."),
        ("en", {"name": None}, "name", "Your name: please fill this in."),
        (
            "ru",
            {"email": "anna@localhost"},
            "email",
            "Ваш адрес электронной почты: на этот адрес мы не сможем ответить. Проверьте его.",
        ),
        ("zh", {"category": "lottery"}, "category", "类别：请从提供的选项中选择一项。"),
        (
            "ru",
            {"urgency": "yesterday"},
            "urgency",
            "Срочность: выберите один из предложенных вариантов.",
        ),
        ("zh", {"order_id": "A 1042"}, "order_id", "订单号：只能使用字母、数字和 # / _ . -。"),
        ("ru", {"subject": "x" * 301}, "subject", "Тема: не более 300 символов."),
    ],
)
def test_a_refused_field_is_named_in_the_language_the_form_was_sent_in(
    stack: LocalStack, language: str, change: dict[str, Any], field: str, message: str
) -> None:
    response = post(stack, a_form(language=language, **change))

    assert response.status == 422
    answer = response.json()
    assert answer["message"] == message
    # API clients keep the machine-readable field and the English reason.
    assert answer["field"] == field
    assert answer["detail"] == f"{field}: {answer['reason']}"
    assert answer["detail"].isascii()


def test_without_a_language_field_the_refusal_follows_accept_language(
    stack: LocalStack,
) -> None:
    response = post(stack, a_form(name=None), accept_language="ru-RU,ru;q=0.9,en;q=0.5")

    assert response.json()["message"] == "Ваше имя: заполните это поле."


def test_the_language_field_wins_over_accept_language(stack: LocalStack) -> None:
    response = post(stack, a_form(name=None, language="zh-CN"), accept_language="ru")

    assert response.json()["message"] == "您的姓名：请填写此项。"


def test_a_message_over_the_limit_answers_413_naming_the_message_in_the_page_language(
    stack: LocalStack,
) -> None:
    response = post(stack, a_form(language="ru", message="щ" * 20_001))

    assert response.status == 413
    assert response.json()["field"] == "message"
    assert response.json()["message"] == "Ваше сообщение: не более 20000 символов."


def test_a_body_that_is_not_json_is_explained_in_the_readers_language(stack: LocalStack) -> None:
    response = post(stack, body="{not json", accept_language="zh-CN")

    assert response.status == 400
    assert response.json()["message"] == "浏览器提交表单的方式无法识别。请刷新页面后重试。"


@pytest.mark.parametrize("order_id", ["А-1042", "订单-2026/7", "Ａ－１０４２"])
def test_an_order_number_in_any_script_is_taken(stack: LocalStack, order_id: str) -> None:
    form = a_form(language="ru", order_id=order_id)

    response = post(stack, form)

    assert response.status == 201
    ticket = ticket_of(stack, form["email"])
    # Full-width forms (a Chinese input method's) arrive as their plain letters and digits.
    expected = "A-1042" if order_id == "Ａ－１０４２" else order_id
    assert f"Order: {expected}" in ticket["messages"][0]["text"]


@pytest.mark.parametrize(
    ("urgency", "priority"),
    [("low", "low"), ("normal", "normal"), ("high", "high"), ("urgent", "urgent")],
)
def test_the_urgency_a_customer_picks_is_the_tickets_priority(
    stack: LocalStack, urgency: str, priority: str
) -> None:
    form = a_form(urgency=urgency, category="shipping")

    response = post(stack, form)

    assert response.status == 201
    assert response.json()["priority"] == priority
    ticket = ticket_of(stack, form["email"])
    assert (ticket["priority"], ticket["category"]) == (priority, "shipping")


def test_a_more_urgent_customer_is_promised_an_earlier_answer(stack: LocalStack) -> None:
    low = post(stack, a_form(urgency="low")).json()["promised_by"]
    urgent = post(stack, a_form(urgency="urgent")).json()["promised_by"]

    assert urgent < low


def test_a_mail_and_a_general_form_question_land_in_the_same_category(stack: LocalStack) -> None:
    form = a_form(category="general")
    assert post(stack, form).status == 201
    stack.deliver_email(
        b"From: Boris <boris@example.org>\r\n"
        b"To: support@support.example\r\n"
        b"Subject: A question\r\n"
        b"Message-ID: <question.1@example.org>\r\n"
        b"Date: Mon, 23 Nov 2026 08:50:00 +0000\r\n"
        b"\r\n"
        b"Could you help me, please?\r\n"
    )
    stack.drain()

    by_form = ticket_of(stack, form["email"])
    by_mail = ticket_of(stack, "boris@example.org")

    assert (by_form["channel"], by_mail["channel"]) == ("form", "email")
    assert by_form["category"] == by_mail["category"] == "general"
