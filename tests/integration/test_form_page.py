"""GET /form: the web form page, read the way a browser and a screen reader read it."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from conftest import MONDAY_MORNING
from helpdesk.config import Config, load_config
from helpdesk.web import form_page, page_headers, pick_language
from helpdesk_local.stack import REPO_ROOT, LocalStack

LANGUAGES = ("en", "zh", "ru")
FIELDS = ("name", "email", "subject", "category", "urgency", "order_id", "message")


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.text = ""


class Page(HTMLParser):
    """Every element of a page with its attributes and its own text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in ("input", "meta", "br", "hr", "link", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def by_id(self, element_id: str) -> Element:
        [element] = [e for e in self.elements if e.attrs.get("id") == element_id]
        return element

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO_ROOT / "infra" / "helpdesk.yaml")


def page_in(config: Config, language: str) -> str:
    return form_page(config, language=language, accept_language=None)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(start=MONDAY_MORNING) as local:
        yield local


@pytest.mark.parametrize(
    ("path", "accept_language", "expected"),
    [
        ("/form", None, "en"),
        ("/form?lang=zh", None, "zh"),
        ("/form", "ru-RU,ru;q=0.9,en;q=0.5", "ru"),
        ("/form", "fr-FR, zh-CN;q=0.8, en;q=0.3", "zh"),
        ("/form?lang=ru", "zh-CN", "ru"),
        ("/form?lang=xx", "de", "en"),
    ],
)
def test_the_form_page_is_served_in_the_language_asked_for(
    stack: LocalStack, path: str, accept_language: str | None, expected: str
) -> None:
    headers = {"accept-language": accept_language} if accept_language else {}

    response = stack.http("GET", path, headers=headers)

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{expected}">' in response.body
    assert response.headers["vary"] == "Accept-Language"


def test_the_content_security_policy_allows_exactly_the_pages_own_script_and_styles(
    stack: LocalStack,
) -> None:
    response = stack.http("GET", "/form")

    policy = response.headers["content-security-policy"]
    # The form's script and the suggestions' script (the articles' data block is not code).
    scripts = re.findall(r"<script>(.*?)</script>", response.body, re.DOTALL)
    assert len(scripts) == 2
    digests = [base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts]
    allowed = " ".join(f"'sha256-{digest}'" for digest in digests)
    assert f"script-src {allowed};" in policy
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_field_has_a_label_and_an_error_slot_that_it_names(
    config: Config, language: str
) -> None:
    page = Page(page_in(config, language))

    for field in FIELDS:
        control = page.by_id(field)
        assert control.attrs["name"] == field
        [label] = [e for e in page.all("label") if e.attrs.get("for") == field]
        assert label.text.strip()
        described_by = str(control.attrs["aria-describedby"]).split()
        assert f"{field}-error" in described_by
        for description in described_by:
            page.by_id(description)


@pytest.mark.parametrize("language", LANGUAGES)
def test_required_fields_carry_browser_hints_and_the_servers_limits(
    config: Config, language: str
) -> None:
    page = Page(page_in(config, language))

    for field in ("name", "email", "subject", "message"):
        assert "required" in page.by_id(field).attrs
    for field in ("category", "urgency", "order_id"):
        assert "required" not in page.by_id(field).attrs
    assert page.by_id("email").attrs["type"] == "email"
    assert page.by_id("message").attrs["maxlength"] == str(config.limits.form_message_max_chars)
    assert page.by_id("subject").attrs["maxlength"] == "300"


def test_the_fields_are_grouped_in_fieldsets_with_legends(config: Config) -> None:
    page = Page(page_in(config, "en"))

    legends = [legend.text.strip() for legend in page.all("legend")]

    assert legends == ["About you", "Your request"]


@pytest.mark.parametrize(
    ("language", "shipping", "urgent"),
    [
        ("en", "Shipping and delivery", "Urgent: something is down"),
        ("zh", "配送与物流", "紧急：服务中断"),
        ("ru", "Доставка", "Срочно: всё остановилось"),
    ],
)
def test_the_topic_and_urgency_choices_are_worded_in_the_pages_language(
    config: Config, language: str, shipping: str, urgent: str
) -> None:
    page = Page(page_in(config, language))

    options = {e.attrs["value"]: e.text.strip() for e in page.all("option")}

    assert options["shipping"] == shipping
    assert options["urgent"] == urgent
    assert set(options) == {
        "general",
        "billing",
        "shipping",
        "technical",
        "low",
        "normal",
        "high",
        "urgent",
    }
    [selected] = [e for e in page.all("option") if "selected" in e.attrs]
    assert selected.attrs["value"] == "normal"


def test_the_trap_field_is_hidden_from_people_screen_readers_and_the_keyboard(
    config: Config,
) -> None:
    page = Page(page_in(config, "en"))

    trap = page.by_id("website")

    assert trap.attrs["tabindex"] == "-1"
    assert trap.attrs["autocomplete"] == "off"
    [wrapper] = [e for e in page.elements if e.attrs.get("class") == "trap"]
    assert wrapper.attrs["aria-hidden"] == "true"
    assert ".trap { position: absolute; left: -10000px" in page_in(config, "en")


def test_errors_and_the_result_are_announced_to_screen_readers(config: Config) -> None:
    page = Page(page_in(config, "en"))

    assert page.by_id("form-alert").attrs["role"] == "alert"
    assert page.by_id("form-result").attrs["aria-live"] == "polite"
    assert page.by_id("submission_id").attrs["type"] == "hidden"


def test_the_page_loads_nothing_from_elsewhere(config: Config) -> None:
    html = page_in(config, "zh")

    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script src" not in html and "<link" not in html


def test_without_javascript_the_page_gives_the_address_to_write_to(config: Config) -> None:
    html = page_in(config, "ru")

    [noscript] = re.findall(r"<noscript>(.*?)</noscript>", html, re.DOTALL)

    assert config.helpdesk.address in noscript


def test_page_headers_hash_every_inline_style_and_script() -> None:
    html = "<style>a{}</style><p>x</p><style>b{}</style><script>go()</script>"

    policy = page_headers(html)["Content-Security-Policy"]

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"style-src 'sha256-{digest('a{}')}' 'sha256-{digest('b{}')}'" in policy
    assert f"script-src 'sha256-{digest('go()')}'" in policy


@pytest.mark.parametrize(
    ("language", "accept_language", "expected"),
    [
        (None, "ru;q=0.2, zh;q=0.9", "zh"),
        (None, "en;q=0, ru", "ru"),
        (None, "de, fr", "en"),
        ("ZH", "ru", "zh"),
        (None, None, "en"),
    ],
)
def test_the_language_is_lang_first_then_the_best_accepted_one(
    config: Config, language: str | None, accept_language: str | None, expected: str
) -> None:
    assert pick_language(config, language=language, accept_language=accept_language) == expected


def test_a_hostile_query_cannot_put_markup_into_the_page(stack: LocalStack) -> None:
    response: Any = stack.http("GET", "/form?lang=%3Cscript%3Ealert(1)%3C/script%3E")

    assert response.status == 200
    assert "<script>alert" not in response.body
