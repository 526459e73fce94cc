"""Checks that template.yaml and the code agree (used by `helpdesk validate` and tests)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from helpdesk_local.cfn import function_properties, load_template, resources_of_type

_REQUIRE = re.compile(r"""\b(?:require|optional)\(\s*["']([A-Z0-9_]+)["']""")


def env_reads(code_dir: Path) -> set[str]:
    """Environment variables a function's handler reads (through helpdesk.settings)."""
    names: set[str] = set()
    for path in code_dir.rglob("*.py"):
        names.update(_REQUIRE.findall(path.read_text(encoding="utf-8")))
    return names


def has_handler(path: Path, name: str) -> bool:
    if not path.is_file():
        return False
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)


def template_problems(root: Path) -> list[str]:
    """Everything in which template.yaml and the code disagree, in words."""
    problems: list[str] = []
    template_path = root / "template.yaml"
    try:
        template = load_template(template_path)
    except (OSError, ValueError) as error:
        return [f"{template_path}: {error}"]
    functions = resources_of_type(template, "AWS::Serverless::Function")
    for logical_id in functions:
        props = function_properties(template, logical_id)
        code_dir = root / str(props.get("CodeUri", "")).rstrip("/")
        module, _, attribute = str(props.get("Handler", "")).rpartition(".")
        handler_file = code_dir / f"{module}.py"
        if not has_handler(handler_file, attribute):
            problems.append(
                f"{logical_id}: handler {props.get('Handler')} not found in {handler_file}"
            )
            continue
        env = set(props["Environment"]["Variables"])
        for name in sorted(env_reads(code_dir) - env):
            problems.append(f"{logical_id}: reads {name} but template.yaml does not set it")
    queues = resources_of_type(template, "AWS::SQS::Queue")
    dlqs = {
        str(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
        for q in queues.values()
        if "RedrivePolicy" in q.get("Properties", {})
    }
    for logical_id, queue in queues.items():
        props = queue.get("Properties", {})
        if (
            logical_id not in dlqs
            and "RedrivePolicy" not in props
            and not logical_id.endswith("DLQ")
        ):
            problems.append(f"{logical_id}: queue without a dead-letter queue")
    for logical_id in functions:
        props = function_properties(template, logical_id)
        for name, event in props.get("Events", {}).items():
            if event.get("Type") == "SQS":
                types = event.get("Properties", {}).get("FunctionResponseTypes", [])
                if "ReportBatchItemFailures" not in types:
                    problems.append(
                        f"{logical_id}.{name}: SQS source without ReportBatchItemFailures"
                    )
    return problems


def scans_in(paths: list[Path]) -> list[str]:
    """Places in deployed code that call DynamoDB Scan (sweeps must query the timer index)."""
    found = []
    for base in paths:
        for path in base.rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                stripped = line.strip()
                if stripped.startswith("#"):
                    continue
                if re.search(r"\.scan\(|[\"']Scan[\"']|\"scan\"", stripped):
                    found.append(f"{path}:{number}: {stripped}")
    return found


def summary(config: Any) -> str:
    return (
        f"{len(config.teams)} teams, {len(config.agents)} agents, "
        f"{len(config.sla_policies)} SLA policies, {len(config.calendars)} calendars, "
        f"{len(config.routing)} routing rules, languages {', '.join(config.helpdesk.languages)}"
    )
