"""Hostile posts to the customer's page: whatever arrives at ``POST /ticket/{token}`` and
``POST /ticket``, the answer is a page (303 after an action taken, else 200 or a 4xx
naming what is wrong), never an error of the function. One stack; every example runs on it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from customer_page_support import link_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_local.scenario import multipart_body
from helpdesk_local.stack import LocalStack

pytestmark = pytest.mark.slow

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
any_text = st.text(max_size=60) | st.sampled_from(
    ["a\r\nBcc: x@evil.example", "\x00\x1b[31m", "reply", "solved", "complain", "x" * 40]
)
fields = st.dictionaries(
    st.sampled_from(["action", "submission", "text", "email", "lang"]) | any_text,
    any_text,
    max_size=5,
)
files = st.lists(
    st.tuples(any_text.filter(lambda n: "\r" not in n and "\n" not in n and '"' not in n),
              st.sampled_from(["text/plain", "image/png", "x"]), st.binary(max_size=200)),
    max_size=7,
)  # fmt: skip
content_types = st.sampled_from(
    [
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "application/json",
        "text/plain",
        "",
    ]
)


def test_every_post_to_the_page_is_answered_with_a_page_or_a_4xx() -> None:
    with LocalStack(start=MONDAY_MORNING) as stack:
        stack.post_form(
            {
                "name": "Anna",
                "email": "anna@example.com",
                "subject": "Kettle",
                "message": "Where is it?",
            }
        )
        path = link_of(stack)

        @FUZZ
        @given(
            form=fields,
            attached=files,
            raw=st.binary(max_size=300) | any_text,
            content_type=content_types,
            shape=st.sampled_from(["multipart", "raw"]),
            route=st.sampled_from([path, "/ticket"]),
            client=st.integers(1, 250),
        )
        def post(
            form: dict[str, str],
            attached: list[tuple[str, str, bytes]],
            raw: bytes | str,
            content_type: str,
            shape: str,
            route: str,
            client: int,
        ) -> None:
            if shape == "multipart":
                fields_with_id = {**form, "submission": form.get("submission", uuid.uuid4().hex)}
                body, content_type = multipart_body(fields_with_id, tuple(attached))
            else:
                body = raw if isinstance(raw, bytes) else raw.encode()
            response = stack.http(
                "POST",
                route,
                body=body,
                headers={"content-type": content_type} if content_type else {},
                source_ip=f"198.51.100.{client}",
            )
            assert response.status in (200, 303) or 400 <= response.status < 500, response
            if response.status != 303:
                assert response.body.startswith("<!DOCTYPE html>"), response

        post()
        assert stack.invocation_errors == []
        assert stack.http("GET", path).status == 200
