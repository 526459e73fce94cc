"""Whatever body a client posts, every HTTP route answers with a 2xx or a 4xx that says what
is wrong: never a 5xx (which would also trip the error alarm)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.services.message_intake import signed_headers
from helpdesk.services.surveys import make_token
from helpdesk_local.stack import (
    LOCAL_SIGNING_KEY,
    HttpResponse,
    LocalStack,
    local_channel_secret,
)

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
NESTED_ARRAYS = "[" * 60_000
NESTED_OBJECTS = '{"a":' * 10_000  # 50 kB: under the form's 64 kB


class Routes:
    """One stack for the whole module, with a ticket to post replies, changes and a survey
    answer to, and a fresh client address per request so the form's per-address cap never
    answers before the body is read."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.clients = 0
        answer = stack.post_form(
            {
                "name": "Anna",
                "email": "anna@example.com",
                "subject": "Where is my order?",
                "message": "It has been two weeks.",
            }
        )
        self.ref = str(answer.json()["ref"])
        self.survey_token = make_token(
            self.ref, MONDAY_MORNING + timedelta(days=14), LOCAL_SIGNING_KEY.encode()
        )
        self.bearer = f"Bearer {stack.agent_token('lena@support.example')}"

    def post(self, route: str, body: str | bytes, headers: dict[str, str]) -> HttpResponse:
        self.clients += 1
        path = {
            "form": "/tickets",
            "survey": f"/survey/{self.survey_token}",
            "reply": f"/agent/tickets/{self.ref}/replies",
            "change": f"/agent/tickets/{self.ref}",
            "channel": "/intake/messages",
        }[route]
        method = "PATCH" if route == "change" else "POST"
        if route in ("reply", "change"):
            headers = {**headers, "authorization": self.bearer}
        if route == "channel":
            # Signed as the chat channel signs, so that the body is what gets judged.
            raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
            secret = local_channel_secret("chat").encode()
            headers = {**signed_headers("chat", secret, raw, self.stack.clock.peek()), **headers}
        return self.stack.http(
            method,
            path,
            body=body,
            headers=headers,
            source_ip=f"203.0.{self.clients // 250 % 250}.{self.clients % 250 + 1}",
        )


@pytest.fixture(scope="module")
def routes() -> Iterator[Routes]:
    with LocalStack(start=MONDAY_MORNING) as stack:
        yield Routes(stack)


def detail(response: HttpResponse) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(response.body)
    return answer


@pytest.mark.parametrize("route", ["form", "reply", "change", "channel"])
@pytest.mark.parametrize("body", [NESTED_ARRAYS, NESTED_OBJECTS], ids=["arrays", "objects"])
def test_deeply_nested_json_is_a_400_naming_the_body_and_the_depth(
    routes: Routes, route: str, body: str
) -> None:
    errors_before = len(routes.stack.invocation_errors)

    response = routes.post(route, body, JSON)

    assert response.status == 400
    # The form's answer also carries `message`, the refusal in its reader's language.
    assert {k: v for k, v in detail(response).items() if k != "message"} == {
        "detail": "body: nests deeper than 32 levels of arrays and objects",
        "field": "body",
        "reason": "nests deeper than 32 levels of arrays and objects",
    }
    assert routes.stack.invocation_errors[errors_before:] == []


@pytest.mark.parametrize("route", ["form", "reply", "change", "channel"])
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"name": "Anna",', "is not valid JSON (Expecting property name enclosed"),
        ('{"text": NaN}', "is not valid JSON (NaN is not a JSON number"),
        ('{"text": 1e999}', "is not valid JSON (1e999 is too large a number"),
        ('{"text": "\\ud800"}', "is not valid JSON (a \\u escape names half a character)"),
        ("[1, 2]", "must be a JSON object"),
        (b'{"text": "caf\xe9"}', "is not UTF-8 text"),
    ],
    ids=["truncated", "nan", "overflow", "surrogate", "array", "latin-1"],
)
def test_malformed_json_is_a_400_with_its_reason_on_every_json_route(
    routes: Routes, route: str, body: str | bytes, reason: str
) -> None:
    response = routes.post(route, body, JSON)

    assert response.status == 400
    answer = detail(response)
    assert answer["field"] == "body"
    assert answer["reason"].startswith(reason)


def test_a_survey_answer_that_is_not_utf8_shows_the_form_again_with_a_400(
    routes: Routes,
) -> None:
    response = routes.post("survey", b"score=5&comment=caf\xe9", FORM)

    assert response.status == 400
    assert 'name="score"' in response.body


ARBITRARY = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    ).map(json.dumps),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * (n % 7)),
)


@pytest.mark.parametrize("route", ["form", "survey", "reply", "change", "channel"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=ARBITRARY, json_type=st.booleans())
def test_no_body_ever_gets_a_server_error(
    routes: Routes, route: str, body: str | bytes, json_type: bool
) -> None:
    errors_before = len(routes.stack.invocation_errors)

    response = routes.post(route, body, JSON if json_type else FORM)

    assert response.status < 500, response.body[:300]
    assert routes.stack.invocation_errors[errors_before:] == []
    if route != "survey" and response.status >= 400:
        assert detail(response)["detail"]
