"""template.yaml as AWS reads it: translated by the SAM transform (aws-sam-translator, the
code CloudFormation runs for ``Transform: AWS::Serverless-2016-10-31``), then checked for
what would fail or go silent in a real account: alarms that cannot reach anyone, sweeps
whose errors vanish, names that a second stack would collide with, SES resources that
cannot be created twice, senders faster than SES lets them send."""

from __future__ import annotations

import fnmatch
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.cfn import Resolver, load_template, parameter_defaults, sam_translate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


@cache
def translated(**parameters: str) -> dict[str, Any]:
    return sam_translate(TEMPLATE, parameters)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def refers_to(value: Any, logical_id: str) -> bool:
    """True when ``value`` is a Ref or GetAtt of ``logical_id``."""
    return value in ({"Ref": logical_id}, {"Fn::GetAtt": [logical_id, "Arn"]})


# ---------------------------------------------------------------------- translation
@pytest.mark.parametrize("create_identity", ["true", "false"])
@pytest.mark.parametrize("existing_rule_set", ["", "production-inbound"])
def test_the_template_translates_for_every_choice_of_ses_identity_and_rule_set(
    create_identity: str, existing_rule_set: str
) -> None:
    template = translated(
        CreateEmailIdentity=create_identity, ExistingReceiptRuleSetName=existing_rule_set
    )
    resolver = _resolver_for(template, "helpdesk", "0a1b2c3d-0000-0000-0000-000000000001")
    resolver.parameters.update(
        CreateEmailIdentity=create_identity, ExistingReceiptRuleSetName=existing_rule_set
    )
    conditions = {
        name: bool(resolver.resolve(expression))
        for name, expression in template["Conditions"].items()
    }
    deployed = {
        lid
        for lid, resource in template["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }
    # The identity exists once per account and region: a verified domain is reused.
    assert ("MailIdentity" in deployed) is (create_identity == "true")
    # One active rule set per account and region: the rule joins the one named.
    assert ("ReceiptRuleSet" in deployed) is (existing_rule_set == "")
    resolver.conditions.update(conditions)
    rule_set = resolver.resolve(template["Resources"]["InboundRule"]["Properties"]["RuleSetName"])
    assert rule_set == (existing_rule_set or "helpdesk-ReceiptRuleSet-SUFFIX")
    assert "InboundRule" in deployed


def test_cfn_lint_finds_nothing_in_the_translated_template() -> None:
    from cfnlint.api import ManualArgs, lint

    # The regions the desk runs in need SES receiving (us-east-1, eu-west-1 among them).
    # Nothing is ignored: W3037 (an IAM action that does not exist) included.
    matches = lint(json.dumps(translated()), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(match) for match in matches] == []


# ---------------------------------------------------------------------- names
# Physical names that are unique per account and region (or globally): a constant here
# makes the second stack's create fail ("already exists").
PHYSICAL_NAMES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::SES::ReceiptRuleSet": "RuleSetName",
    "AWS::SSM::Parameter": "Name",
}


class _StackResolver(Resolver):
    """Resolves every resource reference to a name CloudFormation would generate for the
    stack (stack name, logical id, a suffix), so that a name can be compared between two
    stacks."""

    def ref(self, name: str) -> str:
        try:
            return super().ref(name)
        except KeyError:
            return f"{self.pseudo['AWS::StackName']}-{name}-SUFFIX"

    def get_att(self, logical_id: str, attribute: str) -> str:
        return f"{self.pseudo['AWS::StackName']}-{logical_id}-{attribute}"


def _resolver_for(template: dict[str, Any], stack: str, stack_uuid: str) -> Resolver:
    resolver = _StackResolver(parameters=parameter_defaults(template))
    resolver.pseudo["AWS::StackName"] = stack
    resolver.pseudo["AWS::StackId"] = (
        f"arn:aws:cloudformation:eu-west-1:111122223333:stack/{stack}/{stack_uuid}"
    )
    for name, expression in template.get("Conditions", {}).items():
        resolver.conditions[name] = bool(resolver.resolve(expression))
    return resolver


def fixed_names(template: dict[str, Any]) -> list[str]:
    """Physical names that come out the same for two stacks in one account and region."""
    production = _resolver_for(template, "helpdesk", "0a1b2c3d-0000-0000-0000-000000000001")
    staging = _resolver_for(template, "helpdesk-staging", "9f8e7d6c-0000-0000-0000-000000000002")
    fixed = []
    for lid, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        named = [PHYSICAL_NAMES.get(resource["Type"], "")]
        if resource["Type"] == "AWS::SES::ReceiptRule":
            props = props.get("Rule", {})
            named = ["Name"]
        for key in named:
            if key and key in props:
                first, second = production.resolve(props[key]), staging.resolve(props[key])
                if first == second:
                    fixed.append(f"{lid}.{key} = {first}")
    return fixed


def test_no_resource_has_a_physical_name_that_a_second_stack_would_collide_with() -> None:
    assert fixed_names(translated()) == []


def test_a_fixed_name_is_found() -> None:
    template = json.loads(json.dumps(translated()))
    template["Resources"]["SlaCheckFunctionSweep"]["Properties"]["Name"] = "SlaCheckFunctionSweep"
    assert fixed_names(template) == ["SlaCheckFunctionSweep.Name = SlaCheckFunctionSweep"]


# ---------------------------------------------------------------------- alarms
def test_every_alarm_notifies_the_alarm_topic() -> None:
    alarms = resources(translated(), "AWS::CloudWatch::Alarm")
    assert alarms
    for lid, alarm in alarms.items():
        assert alarm["Properties"].get("AlarmActions") == [{"Ref": "AlarmTopic"}], lid


def test_every_function_is_watched_by_an_alarm_that_cloudwatch_accepts() -> None:
    # "CloudWatch service quotas": a metric math alarm reads at most 10 metrics, a hard
    # limit that neither cfn-lint nor `sam validate` checks; the 11th function made the
    # one errors alarm undeployable (found by reading the template as AWS would).
    template = translated()
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    watched: set[str] = set()
    for logical_id, alarm in alarms.items():
        metrics = [m for m in alarm["Properties"].get("Metrics", []) if "MetricStat" in m]
        assert len(metrics) <= 10, f"{logical_id} reads {len(metrics)} metrics"
        for metric in metrics:
            stat = metric["MetricStat"]["Metric"]
            if stat.get("MetricName") == "Errors" and stat.get("Namespace") == "AWS/Lambda":
                watched.update(d["Value"]["Ref"] for d in stat["Dimensions"])
    functions = set(resources(template, "AWS::Lambda::Function"))
    assert functions - watched == set()


def _dashboard_widget(title: str) -> str:
    """The metrics of the dashboard's widget ``title``, as the template writes them."""
    [dashboard] = resources(translated(), "AWS::CloudWatch::Dashboard").values()
    body: str = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    [widget] = [line for line in body.split('{"type"') if f'"title":"{title}"' in line]
    return widget


def test_the_dashboard_shows_every_functions_errors_and_every_dead_letter_queue() -> None:
    # Nothing checked it: a function left out of the errors widget passed every test
    # (nextdev 12, #5).
    template = translated()
    functions = set(resources(template, "AWS::Lambda::Function"))
    queues = {lid for lid in resources(template, "AWS::SQS::Queue") if lid.endswith("DLQ")}

    errors = set(
        re.findall(r'"Errors","FunctionName","\$\{(\w+)\}"', _dashboard_widget("Function errors"))
    )
    letters = set(
        re.findall(r"\$\{(\w+DLQ)\.QueueName\}", _dashboard_widget("Dead-letter queues (messages)"))
    )

    assert functions - errors == set()
    assert queues - letters == set()


def _ref(value: Any) -> str:
    """The resource a dimension's value names (``{"Ref": id}``), else the value as text."""
    return str(value["Ref"]) if isinstance(value, dict) and "Ref" in value else str(value)


def _alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric name, the function it is of, "" for none) of each metric an
    alarm reads."""
    properties = alarm["Properties"]
    stats = [m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m]
    if "MetricName" in properties:
        stats.append(properties)
    return {
        (
            stat["Namespace"],
            stat["MetricName"],
            next((_ref(d["Value"]) for d in stat.get("Dimensions", [])), ""),
        )
        for stat in stats
    }


def test_the_relays_lag_is_watched_with_the_other_delayed_ticket_events() -> None:
    # A relay that fails part of every batch raises no Errors, and the records it keeps
    # retrying wait in the stream: no acknowledgement goes out meanwhile (review sam8, L6).
    # IteratorAge: "the age of the last record in the batch" (Lambda function metrics).
    alarms = resources(translated(), "AWS::CloudWatch::Alarm")
    read = _alarm_metrics(alarms["TicketEventsDelayedAlarm"])
    assert ("AWS/Lambda", "IteratorAge", "PublishFunction") in read


def test_the_desks_sending_reputation_is_watched_before_ses_reviews_it() -> None:
    # SES publishes Reputation.BounceRate and Reputation.ComplaintRate (0 to 1) for the
    # account and may review or pause an account past 5 % bounces or 0.1 % complaints
    # ("Creating reputation monitoring alarms using CloudWatch", SES Developer Guide). A
    # desk answers whoever writes: bounces are its exposure.
    alarms = resources(translated(), "AWS::CloudWatch::Alarm")
    watching = [
        lid
        for lid, alarm in alarms.items()
        if {("AWS/SES", "Reputation.BounceRate", ""), ("AWS/SES", "Reputation.ComplaintRate", "")}
        <= _alarm_metrics(alarm)
    ]
    assert watching == ["SendingReputationAlarm"]
    properties = alarms["SendingReputationAlarm"]["Properties"]
    assert properties["TreatMissingData"] == "notBreaching"  # no bounce yet: no metric


def test_incomplete_uploads_to_the_mail_bucket_are_cleaned_up() -> None:
    bucket = translated()["Resources"]["RawMailBucket"]["Properties"]
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any(
        rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation", 99) <= 7
        for rule in rules
    )


def test_the_alarm_topics_key_lets_cloudwatch_publish() -> None:
    # CloudWatch must be able to use the topic's key (kms:GenerateDataKey* and kms:Decrypt);
    # the AWS-managed alias/aws/sns cannot grant it, so its alarms would be dropped.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    template = translated()
    key_ref = template["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"]
    assert isinstance(key_ref, dict), f"alarm topic key {key_ref!r}: not a key of this stack"
    [key_id] = [v for v in key_ref.values()]
    key_id = key_id[0] if isinstance(key_id, list) else key_id
    key = template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    granted: set[str] = set()
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        principal = statement.get("Principal", {})
        if statement["Effect"] == "Allow" and principal.get("Service") in (
            "cloudwatch.amazonaws.com",
            ["cloudwatch.amazonaws.com"],
        ):
            actions = statement["Action"]
            granted.update([actions] if isinstance(actions, str) else actions)
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= granted


# ---------------------------------------------------------------------- async failures
def _role_may_send_to(template: dict[str, Any], function: str, queue: str) -> bool:
    """Whether ``function``'s role may send to ``queue``: Lambda sends a failed event's
    record with the function's own role (SAM grants it for an on-failure destination)."""
    return _may_send_to(template, f"{function}Role", queue)


def _may_send_to(template: dict[str, Any], role_id: str, queue: str) -> bool:
    """Whether the role ``role_id`` may send to ``queue``."""
    role = template["Resources"][role_id]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    return any(
        s["Action"] == "sqs:SendMessage" and refers_to(s["Resource"], queue) for s in statements
    )


def _scheduled_functions(template: dict[str, Any]) -> set[str]:
    return {
        schedule["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0]
        for schedule in resources(template, "AWS::Scheduler::Schedule").values()
    }


def test_every_scheduled_function_records_its_failures_in_a_queue_with_an_alarm() -> None:
    # Scheduler's DeadLetterConfig only receives what Scheduler could not deliver; an
    # error raised by the function is Lambda's to retry and then to send on-failure.
    # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
    template = translated()
    functions = _scheduled_functions(template)
    assert functions == {"SlaCheckFunction", "SurveyDispatchFunction", "ReportFunction"}
    configs = {
        config["Properties"]["FunctionName"]["Ref"]: config["Properties"]
        for config in resources(template, "AWS::Lambda::EventInvokeConfig").values()
    }
    alarmed_queues = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "QueueName"
    }
    for function in functions:
        config = configs.get(function)
        assert config is not None, f"{function}: no EventInvokeConfig"
        assert config["MaximumRetryAttempts"] == 2
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert template["Resources"][destination]["Type"] == "AWS::SQS::Queue"
        assert destination in alarmed_queues, f"{function}: nothing alarms on {destination}"
        # Lambda sends the record with the function's role: SAM grants it.
        assert _role_may_send_to(template, function, destination), function


def test_every_schedule_may_send_its_dead_letters_with_its_own_role() -> None:
    """Scheduler sends a schedule's dead letters with the schedule's execution role ("Set up
    execution role permissions", "Configuring a schedule's dead-letter queue", EventBridge
    Scheduler User Guide); the queue grants no service (SAM review 8, L4). So each role SAM
    makes for a schedule must carry the grant itself, or ScheduleDLQAlarm never fires."""
    template = translated()
    schedules = resources(template, "AWS::Scheduler::Schedule")
    assert schedules
    for name, schedule in schedules.items():
        target = schedule["Properties"]["Target"]
        queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert _may_send_to(template, target["RoleArn"]["Fn::GetAtt"][0], queue), name


def test_a_failure_record_lambda_cannot_deliver_raises_an_alarm() -> None:
    """The failure queues' alarms see only the records that arrived. A record Lambda cannot
    send (the queue or the grant gone, the record too large) is counted as
    DestinationDeliveryFailures and nothing else ("Capturing records of Lambda asynchronous
    invocations", invocation-async-retain-records.html): every function with an on-failure
    destination, asynchronous or on its event source mapping, is watched for it."""
    template = translated()
    with_destination = {
        config["Properties"]["FunctionName"]["Ref"]
        for config in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if "OnFailure" in config["Properties"].get("DestinationConfig", {})
    } | {
        mapping["Properties"]["FunctionName"]["Ref"]
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if "OnFailure" in mapping["Properties"].get("DestinationConfig", {})
    }
    watched = {
        dimension["Value"]["Ref"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        for metric in alarm["Properties"].get("Metrics", [])
        if metric.get("MetricStat", {}).get("Metric", {}).get("MetricName")
        == "DestinationDeliveryFailures"
        for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
    }
    assert with_destination >= {"AcknowledgeFunction", "RouteFunction", "PublishFunction"}
    assert with_destination - watched == set()


def _alarmed_metrics(template: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [
        metric["MetricStat"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        for metric in alarm["Properties"].get("Metrics", [])
        if metric.get("MetricStat", {}).get("Metric", {}).get("MetricName") == name
    ]


def test_an_event_the_rules_could_not_put_in_their_dead_letter_queue_raises_an_alarm() -> None:
    """EventBridge counts InvocationsFailedToBeSentToDlq per rule; a rule on a custom bus
    reports with the EventBusName and RuleName dimensions (eb-monitoring.html), its name the
    last part of its ARN (rule/<bus>/<rule>)."""
    template = translated()
    watched = set()
    for stat in _alarmed_metrics(template, "InvocationsFailedToBeSentToDlq"):
        dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        assert dimensions["EventBusName"] == {"Ref": "EventBus"}
        index, split = dimensions["RuleName"]["Fn::Select"]
        separator, arn = split["Fn::Split"]
        assert (index, separator) == (2, "/")
        watched.add(arn["Fn::GetAtt"][0])
    assert watched == set(resources(template, "AWS::Events::Rule"))


def test_events_waiting_a_quarter_of_an_hour_for_their_function_raise_an_alarm() -> None:
    """Every function something invokes asynchronously and people wait on (the rules'
    senders; the intake, which the bucket invokes) is watched for how long its events wait
    in Lambda's queue."""
    template = translated()
    waiting = {
        stat["Metric"]["Dimensions"][0]["Value"]["Ref"]
        for stat in _alarmed_metrics(template, "AsyncEventAge")
        if stat["Stat"] == "Maximum"
    }
    invoked_by_rules = {
        target["Arn"]["Fn::GetAtt"][0]
        for rule in resources(template, "AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
    }
    invoked_by_buckets = {
        config["Function"]["Fn::GetAtt"][0]
        for bucket in resources(template, "AWS::S3::Bucket").values()
        for config in bucket["Properties"]
        .get("NotificationConfiguration", {})
        .get("LambdaConfigurations", [])
    }
    assert invoked_by_rules == {"AcknowledgeFunction", "RouteFunction"}
    assert invoked_by_buckets == {"EmailIntakeFunction"}
    assert waiting == invoked_by_rules | invoked_by_buckets
    [alarm] = [
        a
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if any("AsyncEventAge" in str(m) for m in a["Properties"].get("Metrics", []))
    ]
    assert alarm["Properties"]["Threshold"] == 15 * 60 * 1000  # AsyncEventAge is in ms


# ---------------------------------------------------------------------- the rules' targets
RULE_TARGETS = {
    "AcknowledgeRule": ("AcknowledgeFunction", "AcknowledgeDLQ"),
    "RouteRule": ("RouteFunction", "RouteDLQ"),
}


@pytest.mark.parametrize("rule", sorted(RULE_TARGETS))
def test_each_rule_invokes_its_function_directly_and_keeps_what_it_cannot_deliver(
    rule: str,
) -> None:
    """EventBridge hands the event to Lambda (RetryPolicy and DeadLetterConfig cover only that
    hand-over: "How EventBridge retries delivering events", eb-rule-retry-policy), with the
    function's resource-based policy allowing the rules of the stack's own bus
    (eb-use-resource-based), and existing before the rule is switched to the function: a
    missing permission is not retried but sent to the DLQ at once (eb-rule-dlq)."""
    template = translated()
    function, _ = RULE_TARGETS[rule]
    [target] = template["Resources"][rule]["Properties"]["Targets"]
    assert refers_to(target["Arn"], function)
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert refers_to(target["DeadLetterConfig"]["Arn"], "EventDeliveryDLQ")
    assert "RoleArn" not in target  # a Lambda target is invoked through the function's policy
    permissions = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if refers_to(p["Properties"]["FunctionName"], function)
        and p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    [permission] = permissions
    assert {k: v for k, v in permission.items() if k != "SourceArn"} == {
        "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
    }
    # The rule's ARN on a custom bus is rule/<bus name>/<rule name> (eb-manage-iam-access);
    # Ref of an AWS::Events::EventBus is its name. The rule has a fixed name derived from
    # the stack, so the permission names this one rule's ARN (review sam8, M2): another
    # rule on the desk's bus (an administrator's events:PutRule and PutTargets, with a
    # constant Input) may not invoke the function, nor a rule of another bus or account.
    resolver = Resolver(parameters=parameter_defaults(template))
    resolver.pseudo.update(
        {"AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333", "AWS::StackName": "helpdesk"}
    )
    resolver.refs["EventBus"] = "helpdesk-events"
    name = resolver.resolve(template["Resources"][rule]["Properties"].get("Name"))
    assert name == f"helpdesk-{rule.removesuffix('Rule').lower()}"
    allowed = resolver.resolve(permission["SourceArn"])
    rule_arn = f"arn:aws:events:eu-west-1:111122223333:rule/helpdesk-events/{name}"
    assert allowed == rule_arn
    for elsewhere in (
        rule_arn.replace(name, "helpdesk-another-rule"),
        rule_arn.replace("helpdesk-events", "other-bus"),
        rule_arn.replace("helpdesk-events/", ""),  # the default bus
        rule_arn.replace("111122223333", "444455556666"),
    ):
        assert not fnmatch.fnmatchcase(elsewhere, allowed), elsewhere
    # A rule name is at most 64 characters (EventBridge API Reference, PutRule: Name,
    # [\.\-_A-Za-z0-9]+); the help centre's origin access control, named alike
    # (<stack>-help-centre, 64 as well), already caps the stack name at 52.
    resolver.pseudo["AWS::StackName"] = "h" * 52
    longest = resolver.resolve(template["Resources"][rule]["Properties"]["Name"])
    assert len(longest) <= 64 and re.fullmatch(r"[.\-_A-Za-z0-9]+", longest)
    oac = template["Resources"]["HelpCentreOriginAccessControl"]["Properties"]
    assert len(resolver.resolve(oac["OriginAccessControlConfig"]["Name"])) == 64
    # Created before the rule that needs it (no reference to the rule, which would order
    # it after), and the rule waits for it.
    [permission_id] = [
        lid
        for lid, p in resources(template, "AWS::Lambda::Permission").items()
        if p["Properties"] == permission
    ]
    assert rule not in json.dumps(permission)
    assert template["Resources"][rule]["DependsOn"] in (permission_id, [permission_id])
    # The dead-letter queue lets this rule, and only the desk's rules, send to it.
    policy = template["Resources"]["EventDeliveryDLQPolicy"]["Properties"]["PolicyDocument"]
    [statement] = policy["Statement"]
    assert {"Fn::GetAtt": [rule, "Arn"]} in statement["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_the_bus_refuses_put_events_from_every_principal_but_the_publish_functions_role() -> None:
    """Attack review 3, F7: with no resource policy, any principal of the account allowed
    events:PutEvents by its IAM policy put crafted TicketOpened events on the bus. An
    explicit Deny binds same-account principals too; it spares only the role the publish
    function runs as, which is the one role of the stack allowed to put events."""
    template = translated()
    [policy] = resources(template, "AWS::Events::EventBusPolicy").values()
    properties = policy["Properties"]
    assert properties["EventBusName"] == {"Ref": "EventBus"}
    statement = properties["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    role = template["Resources"]["PublishFunction"]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": ["PublishFunctionRole", "Arn"]}
    assert statement["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role}}
    # The one role the Deny spares is the one role allowed to put events at all.
    putters = {
        lid
        for lid, r in resources(template, "AWS::IAM::Role").items()
        if "events:PutEvents" in json.dumps(r["Properties"].get("Policies", []))
    }
    assert putters == {"PublishFunctionRole"}


@pytest.mark.parametrize("rule", sorted(RULE_TARGETS))
def test_each_rules_function_retries_then_keeps_the_event_in_an_alarmed_queue(rule: str) -> None:
    """Lambda's asynchronous invocation: two retries of a function error, up to six hours
    waiting when throttled, then the invocation record (with the event) to the on-failure
    destination, which the function's role may send to (SAM adds the grant, as it does for
    the sweeps): invocation-async-configuring, invocation-async-retain-records."""
    template = translated()
    function, destination = RULE_TARGETS[rule]
    [config] = [
        c["Properties"]
        for c in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 21600  # the most Lambda keeps an event
    assert config["Qualifier"] == "$LATEST"
    assert refers_to(config["DestinationConfig"]["OnFailure"]["Destination"], destination)
    assert _role_may_send_to(template, function, destination), function
    # No queue between the bus and the function any more: the one mapping left drains the
    # previous release's queue, which no rule sends to (the next test).
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [destination, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert len(alarms) == 1 and alarms[0]["Threshold"] == 0


DRAINED_QUEUES = {
    "AcknowledgeFunction": ("AcknowledgeQueue", "AcknowledgeDLQ"),
    "RouteFunction": ("RouteQueue", "RouteDLQ"),
}


@pytest.mark.parametrize("function", sorted(DRAINED_QUEUES))
def test_the_previous_releases_queue_is_drained_this_release_and_nothing_new_enters_it(
    function: str,
) -> None:
    """The previous release's rules sent to AcknowledgeQueue and RouteQueue. An in-place
    update must not delete the events they still hold: this release keeps each queue (with
    its redrive to the DLQ) and the function's SQS mapping, which reports partial failures
    as the handler answers them; no rule targets the queue any more. The queues are
    retained when the next release drops them (a later template's removal applies this
    template's DeletionPolicy: aws-attribute-deletionpolicy), so a message the emptiness
    check missed is orphaned, not deleted."""
    template = translated()
    queue, dlq = DRAINED_QUEUES[function]
    [mapping] = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert refers_to(mapping["EventSourceArn"], queue)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # The least a mapping allows: SenderMaximumConcurrency may be 1 (ScalingConfig, 2..1000).
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    # SAM gives the role the poller's permissions for an SQS event.
    role = template["Resources"][f"{function}Role"]["Properties"]
    assert any(arn.endswith("/AWSLambdaSQSQueueExecutionRole") for arn in role["ManagedPolicyArns"])
    resource = template["Resources"][queue]
    assert resource["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [dlq, "Arn"]
    }
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    targets = [
        target["Arn"]
        for rule in resources(template, "AWS::Events::Rule").values()
        for target in rule["Properties"].get("Targets", [])
    ]
    assert not [arn for arn in targets if refers_to(arn, queue)]


# ---------------------------------------------------------------------- SES rate
def test_the_mail_sending_functions_reserve_their_concurrency_from_the_ses_rate_parameter() -> None:
    """Reserved concurrency caps each sender below the SES rate, and keeps the rest of the
    account's concurrency for the others (configuration-concurrency); an account whose quota
    cannot reserve any deploys with ReserveSenderConcurrency=false."""
    parameter = TEMPLATE["Parameters"]["SenderMaximumConcurrency"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (1, 1000)
    for reserve, expected in (("true", {"Ref": "SenderMaximumConcurrency"}), ("false", None)):
        template = translated(ReserveSenderConcurrency=reserve)
        for sender in ("AcknowledgeFunction", "RouteFunction"):
            reserved = template["Resources"][sender]["Properties"].get(
                "ReservedConcurrentExecutions"
            )
            if isinstance(reserved, dict) and "Fn::If" in reserved:
                condition, when_true, when_false = reserved["Fn::If"]
                assert condition == "ReservesSenderConcurrency"
                reserved = when_true if reserve == "true" else None
                assert when_false == {"Ref": "AWS::NoValue"}
            assert reserved == expected, (sender, reserve)


def test_the_intake_reserves_its_concurrency_so_a_flood_of_mail_leaves_the_rest_room() -> None:
    """Attack 13, F2: the bucket invokes the intake once per mail, at once; unreserved, a
    flood of hostile mail could take the concurrency the customer's page and the agent API
    need. Reserved, the rest waits in Lambda's queue (AsyncEventAge, alarmed). The draining
    queue's mapping stays below the reservation (Lambda's SQS scaling guidance)."""
    parameter = TEMPLATE["Parameters"]["IntakeMaximumConcurrency"]
    assert (parameter["MinValue"], parameter["Default"]) == (2, 20)
    template = translated()
    assert template["Resources"]["EmailIntakeFunction"]["Properties"][
        "ReservedConcurrentExecutions"
    ] == {
        "Fn::If": [
            "ReservesSenderConcurrency",
            {"Ref": "IntakeMaximumConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    # The same switch as the senders': an account that cannot reserve reserves nothing.
    assert template["Conditions"]["ReservesSenderConcurrency"] == {
        "Fn::Equals": [{"Ref": "ReserveSenderConcurrency"}, "true"]
    }
    [mapping] = [
        m
        for m in resources(translated(), "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "EmailIntakeFunction"}
    ]
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}


# ---------------------------------------------------------------------- mail in (SES)
@pytest.mark.parametrize("existing_rule_set", ["", "production-inbound"])
def test_the_receipt_rule_stops_the_rule_set_after_storing_the_mail(
    existing_rule_set: str,
) -> None:
    """AWS::SES::ReceiptRule: a rule without ``After`` goes first in its set, so every later
    rule (a catch-all of another stack) would also act on the desk's mail unless this one
    ends with a stop action of scope RuleSet (SES "Stop action")."""
    template = translated(ExistingReceiptRuleSetName=existing_rule_set)
    actions = template["Resources"]["InboundRule"]["Properties"]["Rule"]["Actions"]
    assert [next(iter(action)) for action in actions] == ["S3Action", "StopAction"]
    assert actions[-1]["StopAction"] == {"Scope": "RuleSet"}


@pytest.mark.parametrize("existing_rule_set", ["", "production-inbound"])
def test_only_the_stacks_receipt_rule_may_store_mail_in_the_bucket(
    existing_rule_set: str,
) -> None:
    """SES "Giving permissions to Amazon SES for email receiving": the bucket policy names
    the receipt rule's ARN (AWS:SourceArn) and the account (AWS:SourceAccount)."""
    template = translated(ExistingReceiptRuleSetName=existing_rule_set)
    resolver = _resolver_for(template, "helpdesk", "0a1b2c3d-0000-0000-0000-000000000001")
    resolver.parameters["ExistingReceiptRuleSetName"] = existing_rule_set
    for name, expression in template["Conditions"].items():
        resolver.conditions[name] = bool(resolver.resolve(expression))
    rule = template["Resources"]["InboundRule"]["Properties"]
    rule_arn = (
        f"arn:aws:ses:{resolver.pseudo['AWS::Region']}:{resolver.pseudo['AWS::AccountId']}:"
        f"receipt-rule-set/{resolver.resolve(rule['RuleSetName'])}"
        f":receipt-rule/{resolver.resolve(rule['Rule']['Name'])}"
    )
    policy = template["Resources"]["RawMailBucketPolicy"]["Properties"]["PolicyDocument"]
    ses_principal = {"Service": "ses.amazonaws.com"}
    [ses] = [s for s in policy["Statement"] if s.get("Principal") == ses_principal]
    condition = resolver.resolve(ses["Condition"])
    assert condition["StringEquals"] == {
        "AWS:SourceAccount": resolver.pseudo["AWS::AccountId"],
        "AWS:SourceArn": rule_arn,
    }


def test_only_the_stacks_bucket_may_invoke_the_intake() -> None:
    """S3 "Granting permissions to invoke an AWS Lambda function": the permission names the
    bucket's ARN and the owner's account, so no other bucket (another account's with the
    same name pattern, a bucket of this account's another stack) can make the intake take
    in its objects. The bucket's name pattern stands in for its ARN (the bucket depends on
    this permission, so a GetAtt would be a cycle), and the intake names the bucket the same
    way."""
    template = translated()
    resolver = _resolver_for(template, "helpdesk", "0a1b2c3d-0000-0000-0000-000000000001")
    bucket_name = resolver.resolve(
        template["Resources"]["RawMailBucket"]["Properties"]["BucketName"]
    )
    permission = {
        key: resolver.resolve(value)
        for key, value in template["Resources"]["EmailIntakeInvokePermission"]["Properties"].items()
        if key != "FunctionName"
    }
    assert template["Resources"]["EmailIntakeInvokePermission"]["Properties"]["FunctionName"] == {
        "Fn::GetAtt": ["EmailIntakeFunction", "Arn"]
    }
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceAccount"] == resolver.pseudo["AWS::AccountId"]
    assert permission["SourceArn"] == f"arn:aws:s3:::{bucket_name}"
    intake = template["Resources"]["EmailIntakeFunction"]["Properties"]
    assert resolver.resolve(intake["Environment"]["Variables"]["RAW_BUCKET"]) == bucket_name
    # Every grant of the intake's that names the bucket by its pattern names this bucket.
    role = template["Resources"]["EmailIntakeFunctionRole"]["Properties"]
    granted = {
        resolver.resolve(statement["Resource"])
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Action"] in (["s3:GetObject"], ["s3:PutObject"])
    }
    assert granted == {
        f"arn:aws:s3:::{bucket_name}/inbound/*",
        f"arn:aws:s3:::{bucket_name}/attachments/*",
    }

    # The draining queue keeps S3's grant this release: S3 may still send to it for minutes
    # after the notification changed (SAM review 15, #1), and the stack's bucket only.
    policy = template["Resources"]["EmailIntakeQueuePolicy"]["Properties"]["PolicyDocument"]
    [s3] = policy["Statement"]
    condition = resolver.resolve(s3["Condition"])
    assert condition["StringEquals"] == {"aws:SourceAccount": resolver.pseudo["AWS::AccountId"]}
    [(key, pattern)] = condition["ArnLike"].items()
    assert key == "aws:SourceArn"
    assert fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket_name}", pattern)
    assert not fnmatch.fnmatchcase("arn:aws:s3:::someone-elses-bucket", pattern)
    # The bucket is configured after the permission S3 checks and the destination that
    # keeps a failed mail's record.
    assert set(template["Resources"]["RawMailBucket"]["DependsOn"]) >= {
        "EmailIntakeInvokePermission",
        "EmailIntakeFunctionEventInvokeConfig",
    }


# ---------------------------------------------------------------------- event rules
def test_every_event_rule_target_has_a_dead_letter_queue_it_may_write_with_an_alarm() -> None:
    """An event EventBridge cannot deliver to a target (a missing queue policy, SQS
    unavailable) is dropped after its retries unless the target names a dead-letter queue;
    EventBridge sends to it only if the queue's policy allows events.amazonaws.com for that
    rule ("Using dead-letter queues to process undelivered events in EventBridge",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""
    template = translated()
    rules = resources(template, "AWS::Events::Rule")
    assert {"AcknowledgeRule", "RouteRule"} <= set(rules)
    alarmed_queues = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "QueueName"
    }
    policies = resources(template, "AWS::SQS::QueuePolicy").values()
    for rule_id, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            retry = target.get("RetryPolicy", {})
            # EventBridge's bounds: 0-185 retries, 60-86400 s of event age.
            assert 0 <= retry.get("MaximumRetryAttempts", -1) <= 185, rule_id
            assert 60 <= retry.get("MaximumEventAgeInSeconds", 0) <= 86400, rule_id
            dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            assert template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"
            assert dlq in alarmed_queues, f"{rule_id}: nothing alarms on {dlq}"
            allowed = [
                statement
                for policy in policies
                if {"Ref": dlq} in policy["Properties"]["Queues"]
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                if statement["Principal"] == {"Service": "events.amazonaws.com"}
                and statement["Action"] == "sqs:SendMessage"
            ]
            assert any(
                {"Fn::GetAtt": [rule_id, "Arn"]}
                in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
                for statement in allowed
            ), f"{dlq} does not let {rule_id} write to it"


# ---------------------------------------------------------------------- sweeps
PERIOD_SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400}


def _period(expression: str) -> int:
    count, unit = expression.removeprefix("rate(").removesuffix(")").split()
    return int(count) * PERIOD_SECONDS[unit]


def test_a_sweep_event_is_dropped_once_later_runs_have_made_it_pointless() -> None:
    """Without a maximum age, Lambda keeps a failed asynchronous event for up to six hours
    and Scheduler retries for up to a day: a minute's SLA sweep retried hours late only piles
    up behind the runs that followed it. Each sweep's events age out after at most five of
    its periods (Lambda EventInvokeConfig MaximumEventAgeInSeconds, 60-21600; Scheduler
    RetryPolicy MaximumEventAgeInSeconds, 60-86400)."""
    for logical_id in _scheduled_functions(translated()):
        properties = TEMPLATE["Resources"][logical_id]["Properties"]
        [event] = properties["Events"].values()
        ceiling = 5 * _period(event["Properties"]["ScheduleExpression"])
        lambda_age = properties["EventInvokeConfig"].get("MaximumEventAgeInSeconds", 21600)
        scheduler_age = event["Properties"]["RetryPolicy"].get("MaximumEventAgeInSeconds", 86400)
        assert 60 <= lambda_age <= min(ceiling, 21600), logical_id
        assert 60 <= scheduler_age <= min(ceiling, 86400), logical_id


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "name", ["MailDomain", "HelpdeskAddress", "AgentTokenIssuer", "AgentTokenAudience"]
)
def test_a_parameter_without_a_working_value_has_no_default_to_deploy_silently(name: str) -> None:
    # A placeholder default lets `sam deploy --guided` (Enter, Enter...) deploy a desk that
    # receives no mail and admits no agent; without one CloudFormation refuses the stack.
    assert "Default" not in TEMPLATE["Parameters"][name]


def test_the_signing_key_parameter_must_be_an_ssm_path() -> None:
    # GetParameter takes the name the functions read; the template's IAM grant builds its
    # ARN as parameter${SigningKeyParameter}, which needs the leading slash.
    assert TEMPLATE["Parameters"]["SigningKeyParameter"]["AllowedPattern"] == "^/.*"


def test_the_functions_read_the_config_file_the_layer_build_ships() -> None:
    # infra/lambda_build.py copies infra/helpdesk.yaml to python/helpdesk/helpdesk.yaml; a
    # parameter naming another file would break every cold start.
    assert "ConfigFile" not in TEMPLATE["Parameters"]
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["HELPDESK_CONFIG"] == "/opt/python/helpdesk/helpdesk.yaml"


# ---------------------------------------------------------------------- what outlives a stack
def test_the_domain_table_survives_a_deleted_stack_and_a_careless_delete_table() -> None:
    # DeletionProtectionEnabled refuses DeleteTable from anyone until it is switched off
    # (AWS::DynamoDB::Table; docs/DEPLOY.md, teardown, says how).
    table = TEMPLATE["Resources"]["DomainTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_the_ses_identity_survives_a_deleted_stack() -> None:
    # Deleting the identity would stop the desk's DKIM signing and sending for the domain,
    # and its DKIM records would have to be published again.
    identity = TEMPLATE["Resources"]["MailIdentity"]
    assert identity["DeletionPolicy"] == "Retain"
    assert identity["UpdateReplacePolicy"] == "Retain"


def test_every_table_is_used_by_a_function() -> None:
    template = translated()
    used = {
        value["Ref"]
        for function in resources(template, "AWS::Lambda::Function").values()
        for value in function["Properties"].get("Environment", {}).get("Variables", {}).values()
        if isinstance(value, dict) and "Ref" in value
    }
    assert set(resources(template, "AWS::DynamoDB::Table")) <= used


# ---------------------------------------------------------------------- logs
def test_every_function_logs_to_the_stacks_group_which_exists_before_the_function() -> None:
    """A group named /aws/lambda/${Function} can only be created after the function; a
    scheduled function that runs first makes Lambda create the group, and the stack's own
    then fails ("already exists") or is left without retention. LoggingConfig.LogGroup
    names a group the stack creates first (AWS::Lambda::Function LoggingConfig:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-loggingconfig.html)."""
    template = translated()
    groups = resources(template, "AWS::Logs::LogGroup")
    functions = resources(template, "AWS::Lambda::Function")
    used = []
    for logical_id, function in functions.items():
        group = function["Properties"].get("LoggingConfig", {}).get("LogGroup", {})
        assert isinstance(group, dict) and group.get("Ref") in groups, logical_id
        name = groups[group["Ref"]]["Properties"]["LogGroupName"]
        assert f"${{{logical_id}}}" not in json.dumps(name), logical_id
        used.append(group["Ref"])
    assert len(set(used)) == len(functions)


# ---------------------------------------------------------------------- the outbox relay
def test_every_stream_mapping_reports_partial_failures_and_keeps_what_it_gives_up_on() -> None:
    """A stream mapping retries a failing record for 24 hours by default, holding up its
    shard, and then drops it silently; with ReportBatchItemFailures the relay's answer is
    read, a bounded MaximumRetryAttempts lets the shard move on, and the on-failure
    destination (an alarmed queue the redrive finds in the outputs) keeps the batch's
    position ("Lambda parameters for Amazon DynamoDB event source mappings",
    https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html;
    https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html)."""
    template = translated()
    mappings = {
        lid: m["Properties"]
        for lid, m in resources(template, "AWS::Lambda::EventSourceMapping").items()
        if "StartingPosition" in m["Properties"]
    }
    assert set(mappings) == {"PublishFunctionOutbox"}
    alarmed_queues = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "QueueName"
    }
    for logical_id, mapping in mappings.items():
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["DomainTable", "StreamArn"]}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id
        assert mapping["BisectBatchOnFunctionError"] is True
        assert 0 <= mapping["MaximumRetryAttempts"] <= 100
        # Outbox items committed before the mapping's first poll are published too.
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert destination in alarmed_queues
        assert f"{destination}Url" in template["Outputs"]
        # The mapping's role may send there (SAM adds the grant for the destination).
        role = template["Resources"]["PublishFunctionRole"]["Properties"]
        sends = [
            s
            for policy in role["Policies"]
            for s in policy["PolicyDocument"]["Statement"]
            if s["Action"] == "sqs:SendMessage"
        ]
        assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [destination, "Arn"]}]


def test_the_table_streams_new_images_for_the_relay() -> None:
    table = TEMPLATE["Resources"]["DomainTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    # The outbox items expire with the table's TTL attribute.
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


# ---------------------------------------------------------------------- help centre hosting
HELP_CENTRE = {
    "HelpCentreBucket",
    "HelpCentreBucketPolicy",
    "HelpCentreOriginAccessControl",
    "HelpCentreDistribution",
}


def deployed_with(**parameters: str) -> set[str]:
    template = translated(**parameters)
    resolver = _resolver_for(template, "helpdesk", "0a1b2c3d-0000-0000-0000-000000000001")
    resolver.parameters.update(parameters)
    conditions = {
        name: bool(resolver.resolve(expression))
        for name, expression in template["Conditions"].items()
    }
    return {
        lid
        for lid, resource in template["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }


def test_the_help_centre_is_hosted_only_when_the_parameter_asks_for_it() -> None:
    assert not HELP_CENTRE & deployed_with()
    assert HELP_CENTRE.issubset(deployed_with(PublishHelpCentre="true"))


def test_the_help_centre_bucket_is_private_and_readable_only_by_its_own_distribution() -> None:
    template = translated(PublishHelpCentre="true")
    bucket = template["Resources"]["HelpCentreBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    statements = template["Resources"]["HelpCentreBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${HelpCentreDistribution}")
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_help_centre_is_served_over_https_only_through_a_signing_origin_access_control() -> (
    None
):
    template = translated(PublishHelpCentre="true")
    config = template["Resources"]["HelpCentreDistribution"]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {
        "Fn::GetAtt": ["HelpCentreOriginAccessControl", "Id"]
    }
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    control = template["Resources"]["HelpCentreOriginAccessControl"]["Properties"][
        "OriginAccessControlConfig"
    ]
    assert (control["SigningBehavior"], control["SigningProtocol"]) == ("always", "sigv4")
    assert "HelpCentreUrl" in template["Outputs"]


def test_cfn_lint_finds_nothing_in_the_template_that_publishes_the_help_centre() -> None:
    from cfnlint.api import ManualArgs, lint

    template = translated(PublishHelpCentre="true")
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(match) for match in matches] == []
    assert fixed_names(template) == []
