"""Checks that template.yaml and the code agree (used by `helpdesk validate` and tests)."""

from __future__ import annotations

import ast
import json
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
    code_dirs = {
        Path(str(function_properties(template, lid).get("CodeUri", ""))).name for lid in functions
    }
    for folder in sorted((root / "functions").glob("*/app.py")):
        if folder.parent.name not in code_dirs:
            problems.append(f"functions/{folder.parent.name}: no function of template.yaml")
    return problems


def deployment_problems(root: Path) -> list[str]:
    """What the template as the SAM transform makes it leaves an operator blind to
    (:func:`watch_problems`), in words; the transform's own refusal first."""
    from helpdesk_local.cfn import sam_translate

    template_path = root / "template.yaml"
    try:
        translated = sam_translate(load_template(template_path))
    except Exception as error:  # the translator's own errors name the resource
        return [f"{template_path}: the SAM transform refuses it: {error}"]
    return watch_problems(translated)


# A metric math alarm reads at most this many metrics ("CloudWatch service quotas").
ALARM_METRICS_MAX = 10


def watch_problems(translated: dict[str, Any]) -> list[str]:
    """What an operator would not see of a function, in the template as the SAM transform
    makes it: each function logs to a group of the stack's with a retention, each is in
    an errors alarm CloudWatch accepts and in the dashboard's errors widget, and each
    dead-letter queue is on the dashboard (nextdev 12, #5: these were checked by tests
    only, and `helpdesk validate` said the template agreed with the code)."""
    resources = translated["Resources"]

    def of_type(kind: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in resources.items() if r["Type"] == kind}

    functions = of_type("AWS::Lambda::Function")
    groups = of_type("AWS::Logs::LogGroup")
    problems: list[str] = []
    for logical_id, function in functions.items():
        group = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        name = group.get("Ref") if isinstance(group, dict) else None
        if name not in groups:
            problems.append(f"{logical_id}: LoggingConfig.LogGroup names no log group of the stack")
        elif "RetentionInDays" not in groups[name].get("Properties", {}):
            problems.append(f"{logical_id}: its log group {name} keeps logs forever")
    watched: set[str] = set()
    for logical_id, alarm in of_type("AWS::CloudWatch::Alarm").items():
        metrics = [m for m in alarm["Properties"].get("Metrics", []) if "MetricStat" in m]
        if len(metrics) > ALARM_METRICS_MAX:
            problems.append(
                f"{logical_id}: reads {len(metrics)} metrics, CloudWatch takes {ALARM_METRICS_MAX}"
            )
        for metric in metrics:
            stat = metric["MetricStat"]["Metric"]
            if stat.get("MetricName") == "Errors" and stat.get("Namespace") == "AWS/Lambda":
                watched.update(str(d["Value"].get("Ref")) for d in stat.get("Dimensions", []))
    for logical_id in sorted(set(functions) - watched):
        problems.append(f"{logical_id}: no alarm watches its errors")
    dashboards = list(of_type("AWS::CloudWatch::Dashboard").values())
    body = json.dumps([d["Properties"].get("DashboardBody") for d in dashboards])
    shown = set(re.findall(r'\\"Errors\\",\\"FunctionName\\",\\"\$\{(\w+)\}', body))
    for logical_id in sorted(set(functions) - shown):
        problems.append(f"{logical_id}: the dashboard does not show its errors")
    queues = {lid for lid in of_type("AWS::SQS::Queue") if lid.endswith("DLQ")}
    for logical_id in sorted(queues - set(re.findall(r"\$\{(\w+DLQ)\.QueueName\}", body))):
        problems.append(f"{logical_id}: the dashboard does not show its messages")
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


def staffing_problems(path: Path, config: Any) -> list[Any]:
    """Teams whose tickets would reach nobody: no agent works in them and they have no lead,
    so no queue lists their tickets and no clock's warning mails anyone (newuser 15, #2).
    Refused by ``helpdesk validate``; the config itself takes them, as the tests' small
    configs do."""
    from helpdesk.config import problem_at

    staffed = _staffed_teams(config)
    return [
        problem_at(
            path,
            ("teams", index),
            f"nobody works in or leads team {team.name!r}: its tickets would reach nobody;"
            " add it to an agent's teams (agents[].teams), or give it a lead",
        )
        for index, team in enumerate(config.teams)
        if team.name not in staffed and not team.leads
    ]


def config_notes(path: Path, config: Any) -> list[Any]:
    """What a valid config lets happen that an operator would not want, each located as a
    config problem is (file, line, key): a team only its lead works on, whose tickets wait
    in its queue unassigned, and whose lead first hears of one from its clock's warning
    (first-user run 14, #4). A lead-only team may be meant, so it is noted, not refused."""
    from helpdesk.config import problem_at

    staffed = _staffed_teams(config)
    return [
        problem_at(
            path,
            ("teams", index),
            f"note: no agent works in team {team.name!r} (agents[].teams): its tickets wait"
            " in its queue unassigned until its lead assigns them",
        )
        for index, team in enumerate(config.teams)
        if team.name not in staffed and team.leads
    ]


def _staffed_teams(config: Any) -> set[str]:
    """The teams some agent works in."""
    return {team for agent in config.agents for team in agent.teams}


def summary(config: Any) -> str:
    return (
        f"{len(config.teams)} teams, {len(config.agents)} agents, "
        f"{len(config.sla_policies)} SLA policies, {len(config.calendars)} calendars, "
        f"{len(config.routing)} routing rules, languages {', '.join(config.helpdesk.languages)}"
    )
