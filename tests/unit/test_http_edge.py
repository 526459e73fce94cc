"""The one mapping from domain errors to HTTP answers (helpdesk.http): each kind of error
gets its status and a body that says what is wrong (RFC 9110 §15, RFC 6585 §4)."""

from __future__ import annotations

import json

import pytest

from helpdesk.errors import (
    AlreadyDone,
    Conflict,
    HelpdeskError,
    InvalidInput,
    MalformedInput,
    NotFound,
    RateLimited,
    TooLarge,
    TransientError,
    UnsupportedMediaType,
)
from helpdesk.http import error_response, json_answer
from helpdesk.links import LinkRefused
from helpdesk.services.agent_api import NotAnAgent, OutOfScope
from helpdesk.services.commands import TicketClosed


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (MalformedInput("body", "is not valid JSON"), 400),
        (NotAnAgent("x@example.com is not an agent of this help desk"), 403),
        (OutOfScope("x@example.com is not in team billing"), 403),
        (LinkRefused("forged"), 403),
        (TooLarge("message", "is too long (at most 5000 characters)"), 413),
        (UnsupportedMediaType("content-type", "must be application/json"), 415),
        (InvalidInput("email", "is not a valid email address"), 422),
        (TicketClosed("HD-AAAAAA is closed"), 409),
        (AlreadyDone("delivered before"), 409),
        (Conflict("too many concurrent changes"), 409),
    ],
)
def test_each_kind_of_domain_error_has_its_status(error: HelpdeskError, status: int) -> None:
    assert error_response(error).status_code == status


def test_bad_input_names_the_field_and_the_reason() -> None:
    answer = error_response(TooLarge("text", "longer than 20000 characters"))
    assert json.loads(answer.body) == {
        "detail": "text: longer than 20000 characters",
        "field": "text",
        "reason": "longer than 20000 characters",
    }
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"


def test_too_many_requests_says_when_to_come_back() -> None:
    answer = error_response(RateLimited("address", retry_after_seconds=1200))
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1200"
    assert json.loads(answer.body) == {
        "detail": "too many requests from this address; try again later"
    }


def test_a_missing_ticket_says_what_is_missing() -> None:
    answer = error_response(NotFound("ticket HD-AAAAAA"))
    assert (answer.status_code, json.loads(answer.body)) == (404, {"detail": "no ticket HD-AAAAAA"})


def test_an_error_no_client_caused_is_not_answered_as_one() -> None:
    def throttled() -> dict[str, str]:
        raise TransientError("put_item: throttled")

    with pytest.raises(TransientError):
        json_answer(200, throttled)
    assert json_answer(201, lambda: {"ref": "HD-AAAAAA"}).status_code == 201
