"""POST /tickets: what the form's script (or anything else) gets back, one status at a time.

One desk serves the whole module (starting one takes a second or two); each test posts
from its own client address and customer address, so that the hourly limits, set low in
this desk's config, only ever see the test that means to reach them.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from desk_support import ANNAS_QUESTION

from conftest import MONDAY_MORNING
from helpdesk_local.stack import REPO_ROOT, HttpResponse, LocalStack
from helpdesk_local.state import build_state

FORM = ANNAS_QUESTION | {
    "category": "shipping",
    "urgency": "high",
    "order_id": "A-1042",
    "submission_id": "3f1c2a9e-0b7d-4c55-9a57-7d2f5e0c1b11",
}
PER_ADDRESS = 2
PER_CLIENT = 3
_clients = (f"198.51.100.{n}" for n in itertools.count(1))
_customers = (f"customer{n}@example.com" for n in itertools.count(1))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A desk whose ops config allows two forms per address and three per client an hour."""
    config = (REPO_ROOT / "infra" / "helpdesk.yaml").read_text()
    config = re.sub(
        r"form_per_address_per_hour: \d+", f"form_per_address_per_hour: {PER_ADDRESS}", config
    )
    config = re.sub(r"form_per_ip_per_hour: \d+", f"form_per_ip_per_hour: {PER_CLIENT}", config)
    path = tmp_path_factory.mktemp("config") / "helpdesk.yaml"
    path.write_text(config)
    with LocalStack(start=MONDAY_MORNING, config_path=path) as local:
        yield local


def post(
    stack: LocalStack,
    fields: Mapping[str, Any] | None = None,
    *,
    body: str | None = None,
    content_type: str = "application/json",
    client: str | None = None,
) -> HttpResponse:
    """POST /tickets from a client of its own, as the form page's script does."""
    return stack.http(
        "POST",
        "/tickets",
        body=body if body is not None else json.dumps(dict(fields or {})),
        headers={"content-type": content_type},
        source_ip=client or next(_clients),
    )


def a_form(**changes: Any) -> dict[str, Any]:
    """The form of a customer of its own, with ``changes`` (None removes a field)."""
    form = {**FORM, "email": next(_customers), "submission_id": str(uuid.uuid4()), **changes}
    return {k: v for k, v in form.items() if v is not None}


def tickets(stack: LocalStack) -> list[dict[str, Any]]:
    return list(build_state(stack)["tickets"])


def tickets_of(stack: LocalStack, email: str) -> list[dict[str, Any]]:
    return [t for t in tickets(stack) if t["contact"]["email"] == email]


def sent_mails(ref: str) -> list[EmailMessage]:
    """The mails SES (moto) accepted about ticket ``ref``, parsed from their raw bytes."""
    from moto.ses.models import ses_backends

    mails = []
    for sent in ses_backends["123456789012"]["us-east-1"].sent_messages:
        raw = sent.raw_data
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        message = BytesParser(policy=policy.default).parsebytes(data)
        assert isinstance(message, EmailMessage)
        if message["X-Helpdesk-Ticket"] == ref:
            mails.append(message)
    return mails


def test_a_complete_form_answers_201_with_the_reference_and_the_promised_answer_time(
    stack: LocalStack,
) -> None:
    form = a_form()

    response = post(stack, form)

    assert response.status == 201
    answer = response.json()
    [ticket] = tickets_of(stack, form["email"])
    assert answer["ref"] == ticket["ref"]
    assert answer["promised_by"] == ticket["sla"]["first_response_due"]
    assert ticket["channel"] == "form"
    assert ticket["category"] == "shipping"
    assert "Order: A-1042" in ticket["messages"][0]["text"]
    [ack] = [m for m in sent_mails(answer["ref"]) if m["X-Helpdesk-Kind"] == "acknowledgement"]
    assert [a.addr_spec for a in ack["To"].addresses] == [form["email"]]
    assert stack.invocation_errors == []


def test_sending_the_same_form_again_after_a_network_error_makes_no_second_ticket(
    stack: LocalStack,
) -> None:
    form = a_form()

    first = post(stack, form)
    again = post(stack, form)

    assert (first.status, again.status) == (201, 201)
    assert again.json()["ref"] == first.json()["ref"]
    assert len(tickets_of(stack, form["email"])) == 1
    kinds = [m["X-Helpdesk-Kind"] for m in sent_mails(first.json()["ref"])]
    assert kinds.count("acknowledgement") == 1


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"subject": None}, "subject", "is required"),
        ({"message": "   "}, "message", "is required"),
        ({"email": "anna at example.com"}, "email", "is not a valid email address"),
        ({"email": "anna@example.com\r\nBcc: all@example.com"}, "email", "not a valid email"),
        ({"urgency": "yesterday"}, "urgency", "must be one of low, normal, high, urgent"),
        ({"category": "lottery"}, "category", "must be one of general, billing"),
        ({"name": ["Anna"]}, "name", "must be text"),
        ({"order_id": "A 1042; DROP"}, "order_id", "may contain only"),
        ({"submission_id": "../../etc"}, "submission_id", "letters, digits or dashes"),
        ({"priority": "urgent"}, "priority", "is not a field of this form"),
    ],
)
def test_a_missing_or_malformed_field_answers_422_naming_the_field_and_the_reason(
    stack: LocalStack, change: dict[str, Any], field: str, reason: str
) -> None:
    before = len(tickets(stack))

    response = post(stack, a_form(**change))

    assert response.status == 422
    answer = response.json()
    assert answer["field"] == field
    assert reason in answer["reason"]
    assert answer["detail"].startswith(f"{field}: ")
    assert len(tickets(stack)) == before


@pytest.mark.parametrize("body", ["{not json", "[1, 2, 3]", ""])
def test_a_body_that_is_not_a_json_object_answers_400_naming_the_body(
    stack: LocalStack, body: str
) -> None:
    response = post(stack, body=body)

    assert response.status == 400
    assert response.json()["field"] == "body"


def test_an_oversized_body_answers_413(stack: LocalStack) -> None:
    form = a_form(message="x" * 70_000)

    response = post(stack, body=json.dumps(form))

    assert response.status == 413
    assert response.json()["field"] == "body"
    assert tickets_of(stack, form["email"]) == []


def test_a_message_longer_than_the_configured_limit_answers_413_naming_the_message(
    stack: LocalStack,
) -> None:
    response = post(stack, a_form(message="x" * 20_001))

    assert response.status == 413
    assert response.json()["field"] == "message"
    assert "20000" in response.json()["reason"]


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_a_form_posted_as_anything_but_json_answers_415(
    stack: LocalStack, content_type: str
) -> None:
    response = post(stack, body="name=Anna", content_type=content_type)

    assert response.status == 415
    assert response.json()["field"] == "content-type"


def test_a_flood_from_one_address_answers_429_until_the_next_hour(stack: LocalStack) -> None:
    email = next(_customers)
    accepted = [post(stack, a_form(email=email)).status for _ in range(PER_ADDRESS)]

    flooded = post(stack, a_form(email=email))

    assert accepted == [201] * PER_ADDRESS
    assert flooded.status == 429
    assert "email address" in flooded.json()["detail"]
    assert 0 < int(flooded.headers["retry-after"]) <= 3600
    assert len(tickets_of(stack, email)) == PER_ADDRESS
    stack.advance(timedelta(hours=1))
    assert post(stack, a_form(email=email)).status == 201


def test_a_flood_from_one_client_answers_429_whatever_the_addresses(stack: LocalStack) -> None:
    client = next(_clients)

    statuses = [post(stack, a_form(), client=client).status for _ in range(PER_CLIENT + 1)]

    assert statuses == [201] * PER_CLIENT + [429]


def test_a_form_with_the_hidden_field_filled_makes_no_ticket_and_sends_no_mail(
    stack: LocalStack,
) -> None:
    form = a_form(website="https://cheap-pills.example")

    response = post(stack, form)

    assert response.status == 201
    assert response.json()["ref"] is None
    assert tickets_of(stack, form["email"]) == []
    assert all(form["email"] not in mail["to"] for mail in build_state(stack)["outbox"])


def test_markup_and_line_breaks_in_the_form_never_reach_a_header_or_unescaped_html(
    stack: LocalStack,
) -> None:
    hostile = "<script>alert(1)</script>\r\nBcc: victim@example.net"
    form = a_form(name=f"Anna {hostile}", subject=f"Hi {hostile}")

    response = post(stack, form)

    assert response.status == 201
    [ticket] = tickets_of(stack, form["email"])
    assert ticket["subject"] == "Hi <script>alert(1)</script> Bcc: victim@example.net"
    assert "\n" not in ticket["contact"]["name"] and "\r" not in ticket["contact"]["name"]
    [ack] = [m for m in sent_mails(ticket["ref"]) if m["X-Helpdesk-Kind"] == "acknowledgement"]
    recipients = [
        address.addr_spec
        for header in ("To", "Cc", "Bcc")
        if ack[header] is not None
        for address in ack[header].addresses
    ]
    assert recipients == [form["email"]]
    for name, value in ack.items():
        assert "\n" not in str(value) and "\r" not in str(value), name
    html_part = ack.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_flood_aimed_at_one_mailbox_through_plus_addresses_answers_429(
    stack: LocalStack,
) -> None:
    victim = next(_customers).split("@")[0]
    # Each from a client of its own: only the mailbox is common to them.
    spellings = [f"{victim}+{n}@example.com" for n in range(PER_ADDRESS)]
    accepted = [post(stack, a_form(email=email)).status for email in spellings]

    flooded = post(stack, a_form(email=f"{victim.upper()}+{PER_ADDRESS}@EXAMPLE.com"))

    assert accepted == [201] * PER_ADDRESS
    assert flooded.status == 429
    assert "email address" in flooded.json()["detail"]
    victim_mail = [m for m in build_state(stack)["outbox"] if m["to"][0].startswith(f"{victim}+")]
    assert len(victim_mail) == PER_ADDRESS


def test_a_flood_from_one_ipv6_network_answers_429_whatever_the_addresses_in_it(
    stack: LocalStack,
) -> None:
    # One subscriber's /64: every address in it is the same client.
    clients = [f"2001:db8:7:42::{n:x}" for n in range(1, PER_CLIENT + 2)]

    statuses = [post(stack, a_form(), client=client).status for client in clients]

    assert statuses == [201] * PER_CLIENT + [429]
    # Another subscriber's network is another client.
    assert post(stack, a_form(), client="2001:db8:7:43::1").status == 201
