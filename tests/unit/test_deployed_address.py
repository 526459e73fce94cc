"""A desk deployed with address parameters that its config does not share refuses to
start, naming both values (first-user review B1: the shipped config with
MailDomain=support.example.com sent from support@support.example, outside its grants,
and every mail failed into a dead-letter queue)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.composition import Composition
from helpdesk.environment import Environment, MissingSetting

CONFIG = str(Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml")


def composition(**variables: str) -> Composition:
    return Composition(Environment.from_os({"HELPDESK_CONFIG": CONFIG, **variables}))


def test_a_function_deployed_for_another_domain_refuses_to_start_naming_both() -> None:
    root = composition(
        MAIL_DOMAIN="support.example.com", HELPDESK_ADDRESS="help@support.example.com"
    )
    with pytest.raises(MissingSetting) as refused:
        _ = root.config
    message = str(refused.value)
    assert "HELPDESK_ADDRESS (the HelpdeskAddress parameter) is help@support.example.com" in message
    assert "MAIL_DOMAIN (the MailDomain parameter) is support.example.com" in message
    assert "the config's helpdesk.address is support@support.example" in message


def test_parameters_that_name_the_configs_address_start_in_any_case() -> None:
    root = composition(MAIL_DOMAIN="Support.Example", HELPDESK_ADDRESS="Support@support.example")
    assert root.config.helpdesk.address == "support@support.example"


def test_a_function_not_given_the_parameters_compares_nothing() -> None:
    assert composition().config.helpdesk.address == "support@support.example"
