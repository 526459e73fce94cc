"""The form's CORS: only the origins the deployer names may script it from another site;
by default none (the form page posts to its own origin and needs no CORS)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpdesk_local.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
PARAMETER = TEMPLATE["Parameters"]["FormAllowedOrigins"]


def _cors() -> object:
    return TEMPLATE["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]


def test_no_origin_may_script_the_form_unless_the_deployer_names_it() -> None:
    assert PARAMETER["Default"] == ""
    condition, allowed, otherwise = _cors()["Fn::If"]  # type: ignore[index]
    assert TEMPLATE["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "FormAllowedOrigins"}, ""]}]
    }
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert allowed["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "FormAllowedOrigins"}]}
    assert allowed["AllowMethods"] == ["POST"]
    assert "*" not in str(_cors())


@pytest.mark.parametrize(
    "value", ["", "https://www.example.com", "https://www.example.com,http://localhost:8080"]
)
def test_origins_are_accepted_as_deploy_parameters(value: str) -> None:
    assert re.fullmatch(PARAMETER["AllowedPattern"], value)


@pytest.mark.parametrize(
    "value",
    ["*", "https://*.example.com", "https://www.example.com/form", "www.example.com",
     "https://a.example, https://b.example"],
)  # fmt: skip
def test_a_wildcard_a_path_or_a_bare_host_is_refused_by_cloudformation(value: str) -> None:
    # CloudFormation matches AllowedPattern against the whole value (Java regular
    # expressions; this pattern means the same in Python).
    assert re.fullmatch(PARAMETER["AllowedPattern"], value) is None
