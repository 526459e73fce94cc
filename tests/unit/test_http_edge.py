"""The one mapping from domain errors to HTTP answers (helpdesk.http): each kind of error
gets its status and a body that says what is wrong (RFC 9110 §15, RFC 6585 §4)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response

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
from helpdesk.http import FormPost, error_response, json_answer
from helpdesk.links import LinkRefused
from helpdesk.services.agent_api import NotAnAgent
from helpdesk.services.commands import OutOfScope, TicketClosed


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


def json_of(answer: Response[str]) -> Any:
    """The JSON that ``answer`` carries (every error answer has a body)."""
    assert answer.body is not None
    return json.loads(answer.body)


def test_bad_input_names_the_field_and_the_reason() -> None:
    answer = error_response(TooLarge("text", "longer than 20000 characters"))
    assert json_of(answer) == {
        "detail": "text: longer than 20000 characters",
        "field": "text",
        "reason": "longer than 20000 characters",
    }
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"


def test_too_many_requests_says_when_to_come_back() -> None:
    answer = error_response(RateLimited("address", retry_after_seconds=1200))
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1200"
    assert json_of(answer) == {"detail": "too many requests from this address; try again later"}


def test_a_missing_ticket_says_what_is_missing() -> None:
    answer = error_response(NotFound("ticket HD-AAAAAA"))
    assert (answer.status_code, json_of(answer)) == (404, {"detail": "no ticket HD-AAAAAA"})


def test_an_error_no_client_caused_is_not_answered_as_one() -> None:
    def throttled() -> dict[str, str]:
        raise TransientError("put_item: throttled")

    with pytest.raises(TransientError):
        json_answer(200, throttled)
    assert json_answer(201, lambda: {"ref": "HD-AAAAAA"}).status_code == 201


def documented_form_post(body: bytes) -> FormPost:
    """FormPost of the payload 2.0 form post in tests/data/events (written from the API
    Gateway guide), carrying ``body`` base64-encoded as API Gateway passes a form."""
    from pathlib import Path

    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    path = Path(__file__).parent.parent / "data" / "events" / "http_survey_post.json"
    request = json.loads(path.read_text(encoding="utf-8"))
    request["body"] = base64.b64encode(body).decode("ascii")
    return FormPost.of(APIGatewayProxyEventV2(request))


def test_a_form_post_carries_its_type_languages_and_the_address_it_came_from() -> None:
    post = documented_form_post(b"score=4")
    assert post.content_type == "application/x-www-form-urlencoded"
    assert post.accept_language == "ru-RU,ru;q=0.9,en;q=0.5"
    assert post.source_ip == "192.0.2.44"  # requestContext.http.sourceIp


def test_a_form_post_is_read_as_the_bytes_the_browser_sent_or_as_utf8_text() -> None:
    photo = b"--b\r\n\xff\xd8\xff\xe0 a jpeg\r\n--b--\r\n"
    assert documented_form_post(photo).body_bytes() == photo
    assert documented_form_post("comment=быстро".encode()).text() == "comment=быстро"
    with pytest.raises(MalformedInput):
        documented_form_post(photo).text()


def test_a_form_post_with_broken_base64_is_malformed_input_naming_the_body() -> None:
    broken = FormPost("not*base64", True, "multipart/form-data; boundary=b")
    with pytest.raises(MalformedInput) as bytes_refused:
        broken.body_bytes()
    with pytest.raises(MalformedInput):
        broken.text()
    assert bytes_refused.value.field == "body"
