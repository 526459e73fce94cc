"""Which consumer hears which event is declared once, by each consumer's own dispatch
table; the template's EventBridge rules must route exactly those kinds to it."""

from __future__ import annotations

from pathlib import Path

from helpdesk.events import KINDS, UNCONSUMED
from helpdesk.notices import NOTICES
from helpdesk.services.routing import ROUTED_KINDS
from helpdesk_local.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load_template(ROOT / "template.yaml")["Resources"]


def routed_by(rule: str) -> set[str]:
    return set(RESOURCES[rule]["Properties"]["EventPattern"]["detail-type"])


def test_the_acknowledge_rule_routes_every_kind_a_notice_follows_and_nothing_else() -> None:
    assert routed_by("AcknowledgeRule") == {kind.__name__ for kind in NOTICES}


def test_the_route_rule_routes_every_kind_routing_acts_on_and_nothing_else() -> None:
    assert routed_by("RouteRule") == set(ROUTED_KINDS)


def test_every_event_kind_has_a_consumer_or_says_why_it_has_none() -> None:
    rules = [
        name
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Events::Rule"
        and "detail-type" in resource["Properties"].get("EventPattern", {})
    ]
    consumed = set().union(*(routed_by(rule) for rule in rules))
    assert consumed <= set(KINDS), "a rule routes a kind no code records"
    assert set(KINDS) - consumed == set(UNCONSUMED)
    assert not consumed & set(UNCONSUMED)
