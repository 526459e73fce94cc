"""template.yaml and the code must agree: handlers, environment, queues, tables, no Scan."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpdesk_local.cfn import function_properties, load_template, resources_of_type
from helpdesk_local.checks import deployment_problems, env_reads, scans_in, template_problems

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
# Every folder of functions/ with a handler is a function (nextdev 12, #5: a hand-kept
# list here was one more file a new function had to touch).
EXPECTED_FUNCTIONS = {path.parent.name for path in (ROOT / "functions").glob("*/app.py")}


def test_every_designed_function_is_in_the_template_with_its_own_folder() -> None:
    code_dirs = {Path(str(function_properties(TEMPLATE, lid)["CodeUri"])).name for lid in FUNCTIONS}
    assert code_dirs == EXPECTED_FUNCTIONS


def test_the_template_and_the_code_have_no_disagreement() -> None:
    assert template_problems(ROOT) == []
    assert deployment_problems(ROOT) == []


def test_every_environment_variable_a_function_reads_is_set_by_the_template() -> None:
    for logical_id in FUNCTIONS:
        props = function_properties(TEMPLATE, logical_id)
        code_dir = ROOT / str(props["CodeUri"])
        missing = env_reads(code_dir) - set(props["Environment"]["Variables"])
        assert not missing, f"{logical_id} reads {missing}"


def test_a_function_that_reads_a_variable_the_template_lacks_is_reported(tmp_path: Path) -> None:
    # The mail store reads RAW_BUCKET; the email intake service reads it through the store.
    (tmp_path / "functions" / "x").mkdir(parents=True)
    (tmp_path / "functions" / "x" / "app.py").write_text(
        "from helpdesk.composition import Composition\n\nroot = Composition()\n\n"
        "def handler(e, c):\n    return root.email_intake.take_in(e, now=None)\n"
    )
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  X:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: functions/x/\n      Handler: app.handler\n"
        "      Environment:\n        Variables:\n"
        "          TABLE_NAME: t\n          TIMER_SHARDS: '4'\n          HELPDESK_CONFIG: c\n"
        "          EVENT_BUS_NAME: b\n          HELPDESK_KNOWLEDGE: k\n"
    )
    assert template_problems(tmp_path) == ["X: reads RAW_BUCKET but template.yaml does not set it"]


def test_a_function_reads_what_the_builders_it_uses_read_and_nothing_else() -> None:
    form = env_reads(ROOT / "functions" / "form_intake")
    # The form commits through the unit of work; only the publish function uses the bus.
    # Its page suggests articles from the knowledge bundle's search data.
    assert form == {"TABLE_NAME", "TIMER_SHARDS", "HELPDESK_CONFIG", "HELPDESK_KNOWLEDGE"}
    assert "EVENT_BUS_NAME" in env_reads(ROOT / "functions" / "publish")
    assert "PUBLIC_URL" in env_reads(ROOT / "functions" / "survey_dispatch")
    assert "RAW_BUCKET" not in env_reads(ROOT / "functions" / "survey_dispatch")


def test_every_queue_is_either_a_dead_letter_queue_or_has_one() -> None:
    queues = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
    dlqs = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q.get("Properties", {})
    }
    # Where the other dead letters land: Scheduler's DLQ and the sweeps' on-failure
    # destination (Lambda's asynchronous invocation records).
    destinations = {"ScheduleDLQ"} | {
        function_properties(TEMPLATE, lid)["EventInvokeConfig"]["DestinationConfig"]["OnFailure"][
            "Destination"
        ]["Fn::GetAtt"][0]
        for lid in FUNCTIONS
        if "EventInvokeConfig" in function_properties(TEMPLATE, lid)
    }
    # ... and the on-failure destinations of stream event source mappings (Lambda's
    # records of stream batches it gave up on) ...
    destinations |= {
        event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for lid in FUNCTIONS
        for event in function_properties(TEMPLATE, lid).get("Events", {}).values()
        if event["Type"] == "DynamoDB"
    }
    # ... and EventBridge's, for events it could not deliver to a rule's target.
    destinations |= {
        target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        for rule in resources_of_type(TEMPLATE, "AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
        if "DeadLetterConfig" in target
    }
    for logical_id, queue in queues.items():
        if logical_id in dlqs or logical_id in destinations:
            continue
        assert "RedrivePolicy" in queue["Properties"], logical_id


def test_queue_visibility_is_at_least_six_times_the_consumer_timeout() -> None:
    queues = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
    for logical_id in FUNCTIONS:
        props = function_properties(TEMPLATE, logical_id)
        for event in props.get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            queue_id = event["Properties"]["Queue"]["Fn::GetAtt"][0]
            visibility = int(queues[queue_id]["Properties"]["VisibilityTimeout"])
            assert visibility >= 6 * int(props["Timeout"]), (logical_id, queue_id)


def test_every_table_the_code_uses_exists_with_the_keys_it_uses() -> None:
    tables = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")
    domain = tables["DomainTable"]["Properties"]
    keys = {k["AttributeName"] for k in domain["KeySchema"]}
    assert keys == {"PK", "SK"}
    indexes = {
        i["IndexName"]: {k["AttributeName"] for k in i["KeySchema"]}
        for i in domain["GlobalSecondaryIndexes"]
    }
    code = "\n".join(p.read_text() for p in (ROOT / "layers/helpdesk/helpdesk").rglob("*.py"))
    for index in set(re.findall(r'IndexName["\']?\s*[:=]\s*["\'](\w+)["\']', code)):
        assert index in indexes, f"the code queries {index}, which the template lacks"
    assert indexes["TimerIndex"] == {"TPK", "TSK"}
    assert indexes["GSI1"] == {"GSI1PK", "GSI1SK"}


def test_no_deployed_code_scans_a_table() -> None:
    assert scans_in([ROOT / "functions", ROOT / "layers"]) == []


def test_only_the_adapter_modules_import_boto3() -> None:
    domain = ROOT / "layers/helpdesk/helpdesk"
    offenders = [
        str(path.relative_to(domain))
        for path in domain.rglob("*.py")
        if path.parent.name != "aws"
        and re.search(
            r"^\s*(import boto3|from boto3|import botocore|from botocore)", path.read_text(), re.M
        )
    ]
    assert offenders == []


def test_validate_names_a_function_or_queue_an_operator_would_not_see() -> None:
    # nextdev 12, #5: a function left out of the dashboard's errors widget, of the errors
    # alarms or of its log group passed `helpdesk validate` ("template.yaml agrees").
    import copy

    from helpdesk_local.cfn import sam_translate
    from helpdesk_local.checks import watch_problems

    translated = sam_translate(TEMPLATE)
    assert watch_problems(translated) == []
    tampered = copy.deepcopy(translated)
    resources = tampered["Resources"]
    [dashboard] = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body = body.replace('"Errors","FunctionName","${AgentApiFunction}"', "")
    dashboard["Properties"]["DashboardBody"]["Fn::Sub"] = body.replace(
        "${EventDeliveryDLQ.QueueName}", ""
    )
    for alarm in resources.values():
        if alarm["Type"] == "AWS::CloudWatch::Alarm":
            alarm["Properties"]["Metrics"] = [
                m
                for m in alarm["Properties"].get("Metrics", [])
                if "ReportFunction" not in json.dumps(m)
            ]
    del resources["RouteFunction"]["Properties"]["LoggingConfig"]

    assert sorted(watch_problems(tampered)) == [
        "AgentApiFunction: the dashboard does not show its errors",
        "EventDeliveryDLQ: the dashboard does not show its messages",
        "ReportFunction: no alarm watches its errors",
        "RouteFunction: LoggingConfig.LogGroup names no log group of the stack",
    ]


def test_validate_names_a_functions_folder_the_template_has_no_function_for(
    tmp_path: Path,
) -> None:
    import shutil

    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    (tmp_path / "functions" / "sms_intake").mkdir()
    (tmp_path / "functions" / "sms_intake" / "app.py").write_text("def handler(e, c): ...\n")

    assert "functions/sms_intake: no function of template.yaml" in template_problems(tmp_path)
