"""What the tests of the customer's page share (test_customer_page*.py): the link in every
mail to the customer, the page it opens, the answers posted from it (CONTRACT section 7),
and what a forged, altered or expired link gets.

The scenarios are tests/scenarios/portal_*.yaml; their ``portal`` steps open the page from
the link in the latest mail to the contact and post its form, as a browser does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from desk_support import SCENARIOS

from helpdesk_local.scenario import (
    PAGE_LINK,
    Player,
    load_scenario,
    multipart_body,
    page_form,
    page_link,
)
from helpdesk_local.stack import HttpResponse, LocalStack
from helpdesk_local.state import build_state

LINK = PAGE_LINK
FORM = {"content-type": "application/x-www-form-urlencoded"}


def play(name: str) -> Iterator[tuple[LocalStack, Player]]:
    scenario = load_scenario(SCENARIOS / name)
    with LocalStack(start=scenario.start, config_path=scenario.config) as stack:
        player = Player(stack, scenario)
        for number, (_, step) in enumerate(scenario.steps, start=1):
            player.run(number, step)
        assert stack.invocation_errors == []
        assert player.rejected == []
        yield stack, player


def played_fixture(name: str) -> Any:
    """A module's fixture: the stack and player after tests/scenarios/``name`` was played
    (:func:`play`), once for the module's tests."""

    @pytest.fixture(scope="module")
    def played() -> Iterator[tuple[LocalStack, Player]]:
        yield from play(name)

    return played


def state(stack: LocalStack) -> dict[str, Any]:
    return build_state(stack)


def link_of(stack: LocalStack, number: int = 1) -> str:
    ticket = state(stack)["tickets"][number - 1]
    path = page_link(stack, ticket["ref"], ticket["contact"]["email"])
    assert path is not None
    return path


def reply_post(
    stack: LocalStack, path: str, text: str, files: tuple[tuple[str, str, bytes], ...] = ()
) -> tuple[bytes, dict[str, str]]:
    """The body and headers a browser posts from the reply form of the page at ``path``
    (its hidden fields as the page gave them, ``text`` and ``files`` as typed and picked)."""
    form = page_form(stack.http("GET", path).body, "reply")
    assert form is not None
    body, content_type = multipart_body({**form[1], "text": text}, files)
    return body, {"content-type": content_type}


def ask_for_links(stack: LocalStack, email: str, source_ip: str, **request: Any) -> HttpResponse:
    """``email`` typed into the page that mails a contact fresh links to their tickets."""
    headers = {**FORM, **request.pop("headers", {})}
    return stack.http(
        "POST",
        "/ticket",
        body=urlencode({"email": email}),
        headers=headers,
        source_ip=source_ip,
        **request,
    )


def assert_unchanged(stack: LocalStack, before: dict[str, Any]) -> None:
    """The tickets and the outbox are as they were in the state ``before``."""
    after = state(stack)
    assert after["tickets"] == before["tickets"]
    assert after["outbox"] == before["outbox"]


def assert_refused(page: HttpResponse, status: int, words: str) -> None:
    """The page answers ``status``, says ``words`` and marks the field it names invalid."""
    assert page.status == status
    assert words in text_of(page)
    assert 'aria-invalid="true"' in page.body


def text_of(page: HttpResponse) -> str:
    """What a person reads on the page: its text, without markup."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", " ", page.body))
