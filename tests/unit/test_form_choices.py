"""What the web form's urgency and topic make of a ticket: the config's `form:` section and
`default_category`, with the shipped config and with configs written to probe each key."""

from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from helpdesk.config import Config, ConfigError, load_config, parse_config
from helpdesk.triage import TriageInput, triage

SHIPPED = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"

DESK = """\
helpdesk: {name: Desk, address: help@desk.example, languages: [en]}
calendars: {always: {timezone: UTC, hours: "24x7"}}
sla_policies:
  - name: standard
    calendar: always
    targets: {urgent: &p {first_response: 1h, next_response: 1h, resolution: 1h},
              high: *p, normal: *p, low: *p}
teams: [{name: general}]
default_team: general
routing:
  - when: {keywords: [outage]}
    set: {priority: urgent}
"""


@cache
def shipped() -> Config:
    return load_config(SHIPPED)


def desk(extra: str = "") -> Config:
    return parse_config(DESK + extra)


def form(urgency: str | None = None, topic: str | None = None, text: str = "Hi") -> TriageInput:
    return TriageInput(
        subject="Question",
        text=text,
        channel="form",
        tier="standard",
        language="en",
        category=topic,
        urgency=urgency,
    )


def mail(text: str = "Hi") -> TriageInput:
    return replace(form(text=text), channel="email")


@pytest.mark.parametrize("urgency", ["low", "normal", "high", "urgent"])
def test_the_urgency_a_customer_picks_is_the_priority_under_the_shipped_config(
    urgency: str,
) -> None:
    assert triage(form(urgency=urgency), shipped()).priority == urgency


def test_a_rule_still_raises_the_priority_a_customer_picked_but_never_lowers_it() -> None:
    assert triage(form(urgency="low", text="the site is down"), shipped()).priority == "urgent"
    assert triage(form(urgency="urgent", text="just a question"), shipped()).priority == "urgent"


def test_a_mail_and_a_general_form_question_share_the_shipped_default_category() -> None:
    by_mail = triage(mail(), shipped()).category
    by_form = triage(form(topic="general"), shipped()).category

    assert by_mail == by_form == "general"


def test_each_topic_of_the_form_is_a_category_under_the_shipped_config() -> None:
    for topic in ("billing", "shipping", "technical"):
        assert triage(form(topic=topic), shipped()).category == topic


def test_without_a_form_section_the_urgency_sets_nothing_and_the_topic_is_the_category() -> None:
    config = desk()

    assert triage(form(urgency="urgent"), config).priority == "normal"
    assert triage(form(topic="shipping"), config).category == "shipping"
    assert triage(mail(), config).category is None


def test_a_desk_can_trust_the_customers_urgency_only_up_to_high() -> None:
    config = desk("form: {urgency: {low: low, high: high, urgent: high}}\n")

    assert triage(form(urgency="urgent"), config).priority == "high"
    assert triage(form(urgency="low"), config).priority == "low"
    # Not listed: the priority stays normal.
    assert triage(form(urgency="normal"), config).priority == "normal"
    # A rule raises what the map gave.
    assert triage(form(urgency="urgent", text="outage"), config).priority == "urgent"


def test_a_topic_mapped_to_null_takes_the_default_category() -> None:
    config = desk("default_category: other\nform: {topics: {general: null, shipping: orders}}\n")

    assert triage(form(topic="general"), config).category == "other"
    assert triage(form(topic="shipping"), config).category == "orders"
    assert triage(form(topic="technical"), config).category == "technical"
    assert triage(mail(), config).category == "other"


def test_a_topic_or_priority_the_form_does_not_have_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(DESK + "form: {topics: {lottery: prizes}, urgency: {high: critical}}\n")

    message = str(refused.value)
    assert "form.topics" in message and "lottery" in message
    assert "form.urgency.high" in message
