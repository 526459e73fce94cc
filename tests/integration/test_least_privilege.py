"""template.yaml grants each function only what it uses, and keeps the data safe.

Least privilege: every statement names its resources (no ``*`` action or resource on a data
service), nobody may Scan, and a function's policy names only resources whose name reaches
its code (through a variable its composition root reads). Durability: point-in-time
recovery and encryption on the tables, a versioned, encrypted raw-mail bucket with a
lifecycle, encrypted queues, log retention for every function and an alarm on every DLQ.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.cfn import function_properties, load_template, resources_of_type
from helpdesk_local.checks import builders_used, env_reads

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = sorted(resources_of_type(TEMPLATE, "AWS::Serverless::Function"))
DATA_SERVICES = ("dynamodb", "s3", "sqs", "events", "ses", "ssm")
# Names a policy may use without a variable: the account's own coordinates.
PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix", "AWS::StackName"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(logical_id: str) -> Iterator[dict[str, Any]]:
    """Every inline policy statement of a function."""
    for policy in function_properties(TEMPLATE, logical_id).get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from _as_list(policy["Statement"])


def text_of(expression: Any) -> str:
    """A resource expression as text, intrinsics as ``${Name}`` / ``${Name.Attr}``."""
    if isinstance(expression, str):
        return expression
    if isinstance(expression, dict) and len(expression) == 1:
        ((name, argument),) = expression.items()
        if name == "Ref":
            return "${" + str(argument) + "}"
        if name == "Fn::GetAtt":
            return "${" + ".".join(_as_list(argument)) + "}"
        if name == "Fn::Sub":
            return str(argument if isinstance(argument, str) else argument[0])
        if name == "Fn::If":
            return " | ".join(text_of(branch) for branch in argument[1:])
    return str(expression)


def names_in(text: str) -> set[str]:
    """Template resources and parameters a resource text refers to."""
    return {match.split(".", 1)[0] for match in re.findall(r"\$\{([^}]+)\}", text)} - PSEUDO


def referenced(expression: Any) -> set[str]:
    """Template names an environment value refers to (Ref, GetAtt, Sub, If branches)."""
    if isinstance(expression, dict):
        found: set[str] = set()
        for name, argument in expression.items():
            if name == "Ref":
                found.add(str(argument))
            elif name == "Fn::GetAtt":
                found.add(_as_list(argument)[0])
            elif name == "Fn::Sub":
                found |= names_in(text_of(expression))
            else:
                found |= referenced(argument)
        return found - PSEUDO
    if isinstance(expression, list):
        return set().union(*(referenced(item) for item in expression)) if expression else set()
    return set()


def code_dir_of(logical_id: str) -> Path:
    return ROOT / str(function_properties(TEMPLATE, logical_id)["CodeUri"])


def variables_read(logical_id: str) -> set[str]:
    """The environment variables a function reads (those of the composition builders its
    handler uses)."""
    return env_reads(code_dir_of(logical_id))


def sends_mail(logical_id: str) -> bool:
    return "mailer" in builders_used(code_dir_of(logical_id))


def reachable(logical_id: str) -> set[str]:
    """Template names whose value reaches the function's code through a variable it reads;
    the SES identity (the mail domain, which the code takes from the ops config) for a
    function that builds the SES mailer."""
    environment = function_properties(TEMPLATE, logical_id)["Environment"]["Variables"]
    read = variables_read(logical_id)
    found = set().union(*(referenced(v) for k, v in environment.items() if k in read))
    return found | ({"MailDomain"} if sends_mail(logical_id) else set())


def data_statements(logical_id: str) -> Iterator[tuple[list[str], list[str]]]:
    for statement in statements(logical_id):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        if any(a == "*" or a.split(":", 1)[0] in DATA_SERVICES for a in actions):
            resources = [text_of(r) for r in _as_list(statement.get("Resource", []))]
            yield actions, resources


def wildcard_problems(actions: list[str], resources: list[str]) -> list[str]:
    """What is too broad in one statement on a data service."""
    problems = [f"action {a}" for a in actions if "*" in a]
    for resource in resources:
        if resource.strip() == "*":
            problems.append("resource *")
        # Object ARNs end in a wildcard below a named prefix (inbound/*), SSM parameter ARNs
        # below the path a template parameter names (the channels' secrets), never the whole
        # bucket, table or service.
        elif (
            resource.endswith("*")
            and not re.search(r"\}/[A-Za-z0-9_-]+/\*$", resource)
            and not re.search(r":parameter\$\{[A-Za-z]+\}/\*$", resource)
        ):
            problems.append(f"resource {resource}")
        elif not names_in(resource):
            problems.append(f"resource {resource} names no template resource")
    return problems


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_may_do_everything_or_touch_everything_on_a_data_service(
    function: str,
) -> None:
    for actions, resources in data_statements(function):
        assert wildcard_problems(actions, resources) == [], function


def test_a_wildcard_grant_is_recognised_as_one() -> None:
    assert wildcard_problems(["dynamodb:*"], ["*"]) == ["action dynamodb:*", "resource *"]
    assert wildcard_problems(["s3:GetObject"], ["${RawMailBucket.Arn}/*"]) == [
        "resource ${RawMailBucket.Arn}/*"
    ]
    assert wildcard_problems(["ses:SendRawEmail"], ["arn:aws:ses:us-east-1:1:identity/x"]) == [
        "resource arn:aws:ses:us-east-1:1:identity/x names no template resource"
    ]
    assert wildcard_problems(["s3:GetObject"], ["${RawMailBucket.Arn}/inbound/*"]) == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_policy_names_only_resources_whose_name_the_function_reads(function: str) -> None:
    can_find = reachable(function)
    for actions, resources in data_statements(function):
        for resource in resources:
            unknown = names_in(resource) - can_find
            assert not unknown, (
                f"{function} may {actions} on {sorted(unknown)}, but none of the variables "
                f"its code reads ({sorted(variables_read(function))}) names them"
            )


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if sends_mail(f)])
def test_a_function_that_sends_mail_may_send_it_and_release_its_outbound_claim(
    function: str,
) -> None:
    granted = {
        (action, resource)
        for actions, resources in data_statements(function)
        for action in actions
        for resource in resources
    }
    assert any(a == "ses:SendRawEmail" and "MailDomain" in names_in(r) for a, r in granted)
    # send_once deletes its pending record when SES refuses the mail, so that the retry
    # sends it; without the grant the retry waits out the lease and may send it twice.
    assert ("dynamodb:DeleteItem", "${DomainTable.Arn}") in granted, function


# The functions that read a file of the mail store and treat one that is gone as gone
# (helpdesk.aws.s3 S3MailStore.read raises NotFound for NoSuchKey/404): acknowledge relays
# a reply or a customer's message without a file no longer in the bucket
# (notices/tickets.py _files_to_send, notices/conversation.py _file), the customer's page
# answers 404 for it (portal_web.file_response). S3 answers a GetObject on a missing key
# with 404 NoSuchKey only to a caller allowed s3:ListBucket on the bucket ("If you don't
# have the s3:ListBucket permission, Amazon S3 will return an HTTP status code 403 (access
# denied) error", GetObject, Amazon S3 API Reference, Permissions), and the store reports
# a 403 as a TransientError: acknowledge would retry into AcknowledgeDLQ instead of
# sending the reply, and the page would fail instead of answering 404. The grant lets
# these functions list the bucket's keys (mail ids, attachment names), which they never
# do. moto answers NoSuchKey whatever the role (review sam8, L1). The intake drops a
# notification whose mail is not in the bucket instead of failing it at every redrive
# (review 15, #1); it names the bucket by its name pattern (the bucket invokes it).
TREAT_A_MISSING_FILE_AS_GONE = {
    "AcknowledgeFunction": "${RawMailBucket.Arn}",
    "CustomerPageFunction": "${RawMailBucket.Arn}",
    "EmailIntakeFunction": "arn:${AWS::Partition}:s3:::helpdesk-mail-${AWS::AccountId}-${Suffix}",
}


def test_a_function_that_treats_a_missing_file_as_gone_may_list_the_bucket_and_no_other() -> None:
    listing = {
        function
        for function in FUNCTIONS
        for actions, resources in data_statements(function)
        if "s3:ListBucket" in actions
    }
    assert listing == set(TREAT_A_MISSING_FILE_AS_GONE)
    for function, bucket in TREAT_A_MISSING_FILE_AS_GONE.items():
        assert [
            resources
            for actions, resources in data_statements(function)
            if "s3:ListBucket" in actions
        ] == [[bucket]], function


@cache
def iam_actions() -> dict[str, set[str]]:
    """Each service prefix's IAM actions (lower case), from cfn-lint's copy of AWS's
    Service Authorization Reference (cfnlint/data/AdditionalSpecs/Policies.json)."""
    source = importlib.resources.files("cfnlint.data.AdditionalSpecs") / "Policies.json"
    services = json.loads(source.read_text(encoding="utf-8"))
    return {prefix: set(service["Actions"]) for prefix, service in services.items()}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_action_granted_is_an_iam_action(function: str) -> None:
    # An API operation is not always an action: TransactWriteItems is authorized as its
    # items' PutItem/UpdateItem/DeleteItem/ConditionCheckItem ("Using IAM with DynamoDB
    # transactions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
    # transaction-apis-iam.html), and a grant of it grants nothing.
    unknown = [
        action
        for actions, _ in data_statements(function)
        for action in actions
        if action.split(":", 1)[1].lower() not in iam_actions()[action.split(":", 1)[0]]
    ]
    assert unknown == [], f"{function} grants what IAM does not know: {unknown}"


def test_a_transaction_is_not_an_iam_action_and_its_items_are() -> None:
    dynamodb = iam_actions()["dynamodb"]
    assert "transactwriteitems" not in dynamodb and "transactgetitems" not in dynamodb
    assert {"putitem", "updateitem", "deleteitem", "conditioncheckitem"} <= dynamodb


def test_nobody_may_scan_a_table() -> None:
    granted = [
        (function, action)
        for function in FUNCTIONS
        for actions, _ in data_statements(function)
        for action in actions
        if action.lower() in ("dynamodb:scan", "dynamodb:*", "*")
    ]
    assert granted == []


# ---------------------------------------------------------------------- durability
@pytest.mark.parametrize("table", sorted(resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")))
def test_every_table_has_point_in_time_recovery_and_encryption_at_rest(table: str) -> None:
    properties = RESOURCES[table]["Properties"]
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True


def test_the_raw_mail_bucket_is_versioned_encrypted_private_and_has_a_lifecycle() -> None:
    bucket = RESOURCES["RawMailBucket"]
    properties = bucket["Properties"]
    assert bucket.get("DeletionPolicy") == "Retain"
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    rules = properties["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    # Versioning keeps every overwritten or deleted object: without an expiry of old
    # versions the bucket grows forever.
    assert any("NoncurrentVersionExpiration" in rule for rule in rules)
    assert all(properties["PublicAccessBlockConfiguration"].values())


@pytest.mark.parametrize("queue", sorted(resources_of_type(TEMPLATE, "AWS::SQS::Queue")))
def test_every_queue_is_encrypted_at_rest(queue: str) -> None:
    properties = RESOURCES[queue].get("Properties", {})
    assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_logs_to_a_group_with_a_retention(function: str) -> None:
    # The function names its group (LoggingConfig.LogGroup); see test_deployable_template.
    group_id = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = resources_of_type(TEMPLATE, "AWS::Logs::LogGroup")[group_id]["Properties"]
    assert group.get("RetentionInDays"), f"{function}'s logs are kept forever"
    assert text_of(group["LogGroupName"]).startswith("/aws/lambda/")


def dead_letter_queues() -> set[str]:
    """Queues that something sends its failures to (a redrive policy, a rule's or a
    schedule's dead-letter config, a function's or a mapping's on-failure destination)."""
    found: set[str] = set()

    def walk(node: Any, parent_key: str = "") -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("deadLetterTargetArn", "DeadLetterConfig", "OnFailure"):
                    found.update(referenced(value))
                walk(value, key)
        elif isinstance(node, list):
            for item in node:
                walk(item, parent_key)

    walk(RESOURCES)
    return found


def test_the_template_has_dead_letter_queues_to_watch() -> None:
    assert {
        "EmailIntakeDLQ",
        "AcknowledgeDLQ",
        "RouteDLQ",
        "ScheduleDLQ",
        "EventDeliveryDLQ",
        "SweepFailureDLQ",
        "PublishFailureDLQ",
    } == dead_letter_queues()


@pytest.mark.parametrize("queue", sorted(dead_letter_queues()))
def test_every_dead_letter_queue_raises_an_alarm_as_soon_as_a_message_lands(queue: str) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm").values()
        if any(
            queue in referenced(d.get("Value")) for d in alarm["Properties"].get("Dimensions", [])
        )
    ]
    assert alarms, f"no alarm watches {queue}"
    alarm = alarms[0]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm.get("AlarmActions"), f"the alarm on {queue} tells nobody"


@pytest.mark.parametrize("queue", sorted(dead_letter_queues()))
def test_every_dead_letter_queue_is_named_in_the_outputs_for_redrive(queue: str) -> None:
    outputs = TEMPLATE.get("Outputs", {})
    assert referenced(outputs.get(f"{queue}Url", {}).get("Value")) == {queue}


def test_a_queue_policy_grants_a_service_only_what_it_sends_as_itself() -> None:
    # Scheduler sends a schedule's dead letters with the schedule's execution role, which
    # SAM gives sqs:SendMessage on the queue ("Configuring a schedule's dead-letter queue",
    # EventBridge Scheduler User Guide): a grant to scheduler.amazonaws.com on the queue
    # let any schedule of the account write there (SAM review 8, L4). The services that do
    # send as themselves: S3 its notifications, EventBridge its rules' dead letters.
    senders = {
        str(statement["Principal"]["Service"])
        for policy in resources_of_type(TEMPLATE, "AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow" and "Service" in statement.get("Principal", {})
    }
    assert "scheduler.amazonaws.com" not in senders
    assert senders <= {"s3.amazonaws.com", "events.amazonaws.com"}
