"""What the form page is told when the route refuses a submission: in the language of the
form's `language` field (else Accept-Language), naming the field when one is at fault."""

import json
from functools import cache
from pathlib import Path

import pytest

from fakes import MONDAY_MORNING
from helpdesk.config import Config, load_config
from helpdesk.errors import (
    HelpdeskError,
    InvalidInput,
    MalformedInput,
    RateLimited,
    TooLarge,
    UnsupportedMediaType,
)
from helpdesk.render import language_words
from helpdesk.services.form_intake import FieldRefused, validate_form
from helpdesk.web import form_field_errors, form_refusal

SHIPPED = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"


@cache
def shipped() -> Config:
    return load_config(SHIPPED)


def told(error: HelpdeskError, *, body: str = "", accept_language: str | None = None) -> str:
    return form_refusal(
        shipped(), error, body=body, is_base64_encoded=False, accept_language=accept_language
    )["message"]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            RateLimited("address", 60),
            "За последний час отсюда отправлено слишком много обращений. Попробуйте позже.",
        ),
        (
            UnsupportedMediaType("content-type", "must be application/json"),
            "Браузер отправил форму в непонятном виде. Обновите страницу и попробуйте снова.",
        ),
        (
            MalformedInput("body", "is not valid JSON"),
            "Браузер отправил форму в непонятном виде. Обновите страницу и попробуйте снова.",
        ),
        (
            InvalidInput("body", "must be a JSON object"),
            "Браузер отправил форму в непонятном виде. Обновите страницу и попробуйте снова.",
        ),
        (
            TooLarge("body", "is too large"),
            "Сообщение слишком длинное. Сократите его и попробуйте снова.",
        ),
        (
            FieldRefused("priority", "reload", "is not a field of this form"),
            "Страница устарела. Обновите её и отправьте обращение ещё раз.",
        ),
    ],
)
def test_a_refusal_of_the_whole_request_is_told_in_the_readers_language(
    error: HelpdeskError, message: str
) -> None:
    assert told(error, accept_language="ru,en;q=0.5") == message


def test_every_rule_the_validator_applies_has_words_for_its_field_in_every_language() -> None:
    broken: dict[str, dict[str, object]] = {
        "name": {"name": ""},
        "email": {"email": "anna at example.com"},
        "subject": {"subject": ["a list"]},
        "category": {"category": "lottery"},
        "urgency": {"urgency": "x" * 17},
        "order_id": {"order_id": "A 1"},
        "message": {"message": None},
    }
    form = {"name": "Anna", "email": "anna@example.com", "subject": "Hi", "message": "Hello"}
    for field, change in broken.items():
        with pytest.raises(FieldRefused) as refused:
            validate_form({**form, **change}, shipped(), client="192.0.2.44", now=MONDAY_MORNING)
        assert refused.value.field == field
        for language in shipped().helpdesk.languages:
            words = form_field_errors(shipped(), language)[field][refused.value.rule]
            body = json.dumps({**form, **change, "language": language})
            assert told(refused.value, body=body) == words
            # It names the field by the label the reader sees on the page.
            assert words.startswith(language_words("form_page", language)[field])


def test_a_language_the_desk_does_not_serve_falls_back_to_accept_language_then_the_default() -> (
    None
):
    refused = FieldRefused("name", "required", "is required")

    assert (
        told(refused, body='{"language": "de"}', accept_language="zh") == "您的姓名：请填写此项。"
    )
    assert told(refused, body='{"language": "de"}') == "Your name: please fill this in."
    assert told(refused, body="[not json", accept_language="de, ru;q=0.1") == (
        "Ваше имя: заполните это поле."
    )
