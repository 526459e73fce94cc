"""No log line carries what customers wrote or a key that signs links.

A whole ticket's life (form, customer mail, agent reply, survey with a comment) runs with
the functions' logs at DEBUG and a share of their AWS requests failing (so the error paths
log too); every byte the functions write is captured and searched for the distinctive words
of the bodies and for the local signing keys.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from helpdesk_local.cfn import load_template
from helpdesk_local.scenario import Player, parse_scenario
from helpdesk_local.stack import (
    LOCAL_JWT_KEY,
    LOCAL_SIGNING_KEY,
    REPO_ROOT,
    LocalStack,
    local_channel_secret,
)

FORM_BODY = "ZEBRAPAYLOAD7731 my kettle never arrived"
CUSTOMER_FOLLOW_UP = "OKAPIFOLLOWUP2208 the parcel number is 5512"
AGENT_REPLY = "QUOKKAREPLY4410 a new kettle left today"
SURVEY_COMMENT = "NARWHALCOMMENT9925 it arrived broken"
SUBJECT = "Kettle order WOMBATSUBJECT3306"
CHAT_TEXT = "IBEXCHATLINE5187 the lid is cracked"

LIFE = f"""
steps:
  - form:
      name: Anna Schmidt
      email: anna@example.com
      subject: {SUBJECT}
      message: {FORM_BODY}
  - advance: 10m
  - reply: {{ticket: 1, from: customer, text: {CUSTOMER_FOLLOW_UP}}}
  - advance: 10m
  - reply: {{ticket: 1, from: agent, text: "#status solved\\n{AGENT_REPLY}"}}
  - advance: 1h10m
  - survey: {{ticket: 1, score: 2, effort: 4, comment: {SURVEY_COMMENT}}}
  - intake: {{channel: chat, id: log-1, conversation: log-c, text: {CHAT_TEXT},
              from: {{email: carl@example.com, name: Carl}}}}
"""


@pytest.fixture
def fresh_function_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions' logger configured afresh, as in a new container: powertools sets the
    level and the output stream only the first time a service's logger is made, and an
    earlier test in this process may have made it (at another level, on another stream)."""
    from aws_lambda_powertools.logging.constants import (
        LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER,
        LOGGER_ATTRIBUTE_PRECONFIGURED,
    )

    logger = logging.getLogger("helpdesk")  # POWERTOOLS_SERVICE_NAME in the template
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setattr(logger, LOGGER_ATTRIBUTE_PRECONFIGURED, False, raising=False)
    monkeypatch.setattr(logger, LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER, None, raising=False)


@pytest.mark.usefixtures("fresh_function_loggers")
def test_no_log_line_contains_a_message_body_or_a_signing_key(
    capfd: pytest.CaptureFixture[str],
) -> None:
    scenario = parse_scenario(LIFE)
    with LocalStack(
        start=datetime(2026, 11, 23, 8, 55, tzinfo=UTC),
        log_level="DEBUG",
        fault_rate=0.2,
        fault_seed=8,
    ) as stack:
        state = Player(stack, scenario).play()
    logs = capfd.readouterr()
    written = logs.out + logs.err

    ticket = state["tickets"][0]
    assert ticket["survey"]["comment"] == SURVEY_COMMENT  # the whole life was played
    assert ticket["ref"] in written  # and the functions did log about it
    for secret in (FORM_BODY, CUSTOMER_FOLLOW_UP, AGENT_REPLY, SURVEY_COMMENT, SUBJECT, CHAT_TEXT):
        word = secret.split()[0] if secret != SUBJECT else secret.split()[-1]
        assert word not in written, f"a log line carries {word!r}"
    assert LOCAL_SIGNING_KEY not in written
    assert LOCAL_JWT_KEY not in written
    assert local_channel_secret("chat") not in written


def test_no_function_is_configured_to_log_its_whole_event() -> None:
    # POWERTOOLS_LOGGER_LOG_EVENT=true would log every SQS and HTTP event, bodies included.
    template = load_template(REPO_ROOT / "template.yaml")
    functions = [template.get("Globals", {}).get("Function", {})] + [
        r.get("Properties", {})
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::Serverless::Function"
    ]
    for properties in functions:
        variables = properties.get("Environment", {}).get("Variables", {})
        assert str(variables.get("POWERTOOLS_LOGGER_LOG_EVENT", "false")).lower() == "false"
    sources = "\n".join(p.read_text() for p in (REPO_ROOT / "functions").rglob("app.py"))
    assert "log_event=True" not in sources


def test_no_secret_is_written_into_the_template_or_the_config_file() -> None:
    for path in (REPO_ROOT / "template.yaml", REPO_ROOT / "infra" / "helpdesk.yaml"):
        text = path.read_text()
        assert LOCAL_SIGNING_KEY not in text and LOCAL_JWT_KEY not in text, path
        assert local_channel_secret("chat") not in text, path
        assert "AKIA" not in text and "PRIVATE KEY" not in text, path
