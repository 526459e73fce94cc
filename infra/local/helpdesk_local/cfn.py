"""Reading template.yaml: the single source of truth for the local stack.

CloudFormation's short-form intrinsics (``!Ref``, ``!GetAtt``, ``!Sub`` ...) are YAML tags
that a plain YAML loader rejects; they are loaded here into their long form
(``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``) and resolved against the names the local stack
gave each resource. moto ignores the SAM transform, so the stack reads the SAM resources
(functions, their events, the HTTP API) itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's intrinsic-function tags."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """Load a CloudFormation/SAM template with its intrinsics in long form."""
    return parse_template(path.read_text(encoding="utf-8"), str(path))


def parse_template(text: str, source: str = "template") -> dict[str, Any]:
    """A template's text (YAML or JSON, as CloudFormation's GetTemplate answers it) with
    its intrinsics in long form."""
    data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{source}: not a CloudFormation template (no Resources)")
    return data


@dataclass
class Resolver:
    """Resolves intrinsics against the physical names and attributes of local resources."""

    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    pseudo: dict[str, str] = field(
        default_factory=lambda: {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "helpdesk-local",
            "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/helpdesk-local/"
            "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
            "AWS::NoValue": "",
        }
    )

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise KeyError(f"!GetAtt {logical_id}.{attribute}: not known locally") from None

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value`` (recursively)."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._functions().get(key)
            if handler is not None:
                return handler(arg)
        return {key: self.resolve(item) for key, item in value.items()}

    def _functions(self) -> Mapping[str, Callable[[Any], Any]]:
        return {
            "Ref": self.ref,
            "Fn::GetAtt": lambda arg: self.get_att(arg[0], arg[1]),
            "Fn::Sub": self._sub,
            "Fn::If": self._if,
            "Fn::Select": lambda arg: self.resolve(arg[1])[int(self.resolve(arg[0]))],
            "Fn::Split": lambda arg: str(self.resolve(arg[1])).split(arg[0]),
            "Fn::Join": lambda arg: str(arg[0]).join(str(v) for v in self.resolve(arg[1])),
            "Fn::Equals": lambda arg: self.resolve(arg[0]) == self.resolve(arg[1]),
            "Fn::Not": lambda arg: not self.resolve(arg[0]),
            "Fn::And": lambda arg: all(self.resolve(v) for v in arg),
            "Fn::Or": lambda arg: any(self.resolve(v) for v in arg),
            "Condition": lambda arg: self.conditions[arg],
        }

    def _if(self, arg: list[Any]) -> Any:
        condition, when_true, when_false = arg
        return self.resolve(when_true if self.conditions[condition] else when_false)

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    """The template's parameters at their defaults (as strings, like CloudFormation)."""
    return {
        name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
    }


def resources_of_type(template: Mapping[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for the resources of the given types, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in types
    }


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with the template's Globals merged in (as SAM does)."""
    globals_ = template.get("Globals", {}).get("Function", {})
    props = dict(template["Resources"][logical_id].get("Properties", {}))
    merged = {**globals_, **props}
    env: dict[str, Any] = {}
    env.update(globals_.get("Environment", {}).get("Variables", {}))
    env.update(props.get("Environment", {}).get("Variables", {}))
    merged["Environment"] = {"Variables": env}
    return merged


def sam_translate(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The CloudFormation template that AWS's SAM transform makes of ``template`` (the
    aws-sam-translator package, the code CloudFormation runs for the transform), as
    ``sam package`` would hand it over: code locations become S3 URIs. Needs no account:
    the region and credentials are fake, and no managed policy is looked up by name."""
    import copy
    import os

    from samtranslator.translator.transform import transform

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    packaged = copy.deepcopy(dict(template))
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://helpdesk-artifacts/{props[key].strip('/.') or 'root'}.zip"
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = saved or "us-east-1"
    try:
        translated: dict[str, Any] = transform(
            packaged, dict(parameters or {}), _NoManagedPolicies()
        )
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
    return translated
