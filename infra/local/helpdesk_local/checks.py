"""Checks that template.yaml and the code agree (used by `helpdesk validate` and tests)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from helpdesk_local.cfn import function_properties, load_template, resources_of_type


def env_reads(code_dir: Path) -> set[str]:
    """Environment variables a function reads: those the composition builders its handler
    uses read (helpdesk.composition, helpdesk.environment), followed through the builders
    each of them uses."""
    from helpdesk.environment import Environment

    variables = Environment.variables()
    graph = _composition_graph()
    return {variables[name] for builder in builders_used(code_dir) for name in graph[builder][0]}


def builders_used(code_dir: Path) -> set[str]:
    """The composition builders a function's handler reaches: each ``root.<builder>`` on a
    ``root = Composition()`` of its code, and every builder those use in turn."""
    graph = _composition_graph()
    used: set[str] = set()
    for path in code_dir.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        roots = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "Composition"
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        used.update(
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in roots
            and node.attr in graph
        )
    reached: set[str] = set()
    while used - reached:
        builder = (used - reached).pop()
        reached.add(builder)
        used |= graph[builder][1]
    return reached


def _composition_graph() -> dict[str, tuple[set[str], set[str]]]:
    """Per builder of ``helpdesk.composition.Composition``: the Environment fields it reads
    and the other builders it uses (``self.<builder>``), read from its source."""
    from helpdesk import composition
    from helpdesk.environment import Environment

    tree = ast.parse(Path(composition.__file__).read_text(encoding="utf-8"))
    [root] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Composition"]
    builders = {
        node.name: node
        for node in root.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }
    fields = Environment.variables()
    graph: dict[str, tuple[set[str], set[str]]] = {}
    for name, builder in builders.items():
        reads: set[str] = set()
        uses: set[str] = set()
        for node in ast.walk(builder):
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr in fields:
                reads.add(node.attr)
            on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
            if on_self and node.attr in builders:
                uses.add(node.attr)
        graph[name] = (reads, uses)
    return graph


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
