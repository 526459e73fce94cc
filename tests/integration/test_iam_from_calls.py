"""Every AWS request a function makes is allowed by its role, and every grant is used.

moto does not enforce IAM: a function whose role lacks a permission passes every local test
and is denied in AWS. Here the local stack records each request of each function, as IAM
authorizes it (helpdesk_local.aws_calls: a transaction as its per-item actions, a Query on
an index as the index ARN), while a tour of the desk runs: mail, form and chat intake, routing, the
agent's mail commands and API, a returning customer handed to another agent, SLA warnings
and breaches, the survey mail, page, answer and complaint, a self-served ticket, and the daily
report. The template is translated by the SAM translator (as CloudFormation would), each
function's role policies resolved to the local stack's ARNs, and each recorded call evaluated
against them.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from helpdesk.aws.clients import MAX_ATTEMPTS
from helpdesk_local import aws_calls
from helpdesk_local.aws_calls import AwsCall
from helpdesk_local.cfn import Resolver, load_template
from helpdesk_local.scenario import Player, parse_scenario
from helpdesk_local.stack import LocalStack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LENA = "lena@support.example"
# The first attempt and every retry botocore makes (its max_attempts counts the retries).
SES_ATTEMPTS = MAX_ATTEMPTS["ses"] + 1

# A day at the desk that reaches every AWS request the functions make; the code below
# adds the agent API, a repeated form, SES failing a send, the autoclose and the reports.
TOUR_TEMPLATE = """
start: "2026-11-23T08:55:00+00:00"
steps:
  - form:
      name: Anna Schmidt
      email: anna@example.com
      subject: Where is my order?
      message: It has been two weeks since I ordered the blue kettle.
  - email:
      raw: {mail}
  # Ticket 2 went to Wei; handing it to Lena mails her Anna's earlier tickets (GSI1).
  - reply:
      ticket: 2
      from: agent
      text: "#assign Lena"
  # Anna answers on the page of her lid ticket, with a file (customer_page: PutObject on
  # attachments/, the reply's transaction); the page shows the long mail whole (inbound/).
  - portal:
      ticket: 2
      reply: Here is a photo of the hinge.
      attachments:
        - {name: hinge.txt, text: "the hinge, from above"}
  # Anna's answer with her receipt is mailed to her agent, the file attached (read from S3).
  - reply:
      ticket: 1
      from: customer
      text: Any news?
      attachments:
        - {name: receipt.txt, text: "Order 1234, paid 23 November"}
  - reply:
      ticket: 1
      from: agent
      text: "#priority high\\n#tag late-shipper\\nWe are on it."
  - advance: 3h
  - reply:
      ticket: 1
      from: agent
      text: "#status solved\\nA new kettle left our warehouse today."
      # The agent's file: the relay reads it from attachments/ (acknowledge).
      attachments:
        - {filename: receipt.pdf, content_type: application/pdf, content: "%PDF receipt"}
  - advance: 1h10m
  - survey:
      ticket: 1
      score: 2
      effort: 4
      comment: The kettle arrived broken again.
  # Carl by the chat widget (ticket 3): his photo is kept under attachments/ (PutObject),
  # the channel's secret read from SSM; solved, then his next message in the conversation
  # reopens it, which stops its survey and auto-close timers (DeleteItem).
  - intake:
      channel: chat
      id: tour-1
      conversation: tour-chat
      from: {email: carl@example.com, name: Carl}
      text: The kettle I bought in your shop leaks, photo attached.
      attachments:
        - {filename: leak.png, content_type: image/png, content: "iVBORw0KGgo="}
  - reply:
      ticket: 3
      from: agent
      text: "#status solved\\nA new kettle is on its way."
  - intake:
      channel: chat
      id: tour-2
      conversation: tour-chat
      from: {email: carl@example.com, name: Carl}
      text: The new one leaks too.
  # The survey page's complaint to the team lead reopens the solved ticket (its counters
  # and the stopped auto-close timer are in the complaint's transaction).
  - advance: 5m
  - survey:
      ticket: 1
      complain: Nobody told me the kettle was out of stock.
  # The page's complaint (the complaint desk's transaction) and "this is solved".
  - portal:
      ticket: 2
      complain: Nobody answers about the lid.
  - portal:
      ticket: 2
      solved: true
  # Self-service: Carla is offered the returns article and confirms it answered her
  # (the self_service page, GET and POST; the solve frees her agent's slot).
  - form:
      name: Carla Rossi
      email: carla@example.com
      subject: How do I return a sweater?
      message: The sweater is too small. How can I send it back?
  - helpful: {ticket: 4, article: 1}
"""
# Anna again, by mail, with a photo (the intake stores attachments under attachments/).
# SES authenticated and scanned it, so the assignment to her agent carries the photo, read
# from attachments/ by the route function (first-user run 14, #3).
LID_MAIL = (
    "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=anna@example.com;"
    " dkim=pass header.i=@example.com; dmarc=pass header.from=example.com\r\n"
    "X-SES-Spam-Verdict: PASS\r\n"
    "X-SES-Virus-Verdict: PASS\r\n"
    "From: Anna Schmidt <anna@example.com>\r\n"
    "To: support@support.example\r\n"
    "Subject: The lid is broken\r\n"
    "Message-ID: <lid-1@example.com>\r\n"
    "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b1\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "The lid of my old kettle broke, photo attached.\r\n"
    # Longer than a message item keeps: the agent's assignment reads the raw mail.
    + "It broke at the hinge while I was pouring water for tea this morning. "
    * 12
    + "\r\n"
    "--b1\r\n"
    "Content-Type: image/png; name=lid.png\r\n"
    "Content-Disposition: attachment; filename=lid.png\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\r\n"
    "--b1--\r\n"
)
# A JSON string is a YAML double-quoted scalar.
TOUR = TOUR_TEMPLATE.replace("{mail}", json.dumps(LID_MAIL))

BOB = {
    "name": "Bob Meyer",
    "email": "bob@example.com",
    "subject": "Invoice",
    "message": "My invoice shows the wrong address.",
    "submission_id": "3f0c1d52-8a5e-4a8e-9d7e-1b2c3d4e5f60",
}


def _agent_api_tour(stack: LocalStack) -> None:
    """The agent API (queue, ticket, a file, change, reply, note), a form sent twice, and SES
    refusing the relayed reply until the retry (the outbound claim is released)."""
    from helpdesk_local.faults import FaultInjector, faults_on
    from helpdesk_local.state import build_state

    def call(method: str, path: str, body: Any = None) -> Any:
        response = stack.call_agent_api(method, path, body, agent=LENA)
        assert response.status < 300, (method, path, response.status, response.body)
        return response.json()

    ref = stack.post_form(BOB).json()["ref"]
    assert stack.post_form(BOB).json()["ref"] == ref
    assert stack.http("GET", "/form").status == 200
    call("GET", "/agent/queue?team=general")
    call("GET", f"/agent/tickets/{ref}")
    # Anna's long mail: its item keeps an excerpt, the agent reads the whole text.
    [lid] = [t for t in build_state(stack)["tickets"] if t["subject"] == "The lid is broken"]
    whole = call("GET", f"/agent/tickets/{lid['ref']}")
    assert "pouring water for tea" in whole["messages"][0]["text"]
    # Its photo, downloaded (GetObject on attachments/).
    [photo] = whole["messages"][0]["attachments"]
    assert stack.call_agent_api("GET", photo["download"], agent=LENA).status == 200
    call("PATCH", f"/agent/tickets/{ref}", {"priority": "high"})
    call("POST", f"/agent/tickets/{ref}/replies", {"text": "Checked.", "public": False})
    # Every attempt of the first send fails (the first and all its retries, see
    # helpdesk.aws.clients): the send raises and releases its outbound claim.
    with faults_on(stack, FaultInjector(rate=1.0, services=("ses",), limit=SES_ATTEMPTS)):
        call("POST", f"/agent/tickets/{ref}/replies", {"text": "We corrected it."})
    call("PATCH", f"/agent/tickets/{ref}", {"status": "solved"})
    # Bob writes again by mail: intake reopens the solved ticket, which stops its survey
    # and auto-close timers (DeleteItem, in the transaction); solved once more, the agent
    # reopens it (the same DeleteItem, by the agent API) and solves it again.
    stack.deliver_email(
        (
            f"From: Bob Meyer <bob@example.com>\r\nTo: support@support.example\r\n"
            f"Subject: Re: Invoice [#{ref}]\r\nMessage-ID: <bob-2@example.com>\r\n"
            "Date: Mon, 23 Nov 2026 09:30:00 +0000\r\n\r\nThe address is still wrong.\r\n"
        ).encode()
    )
    stack.drain()
    [bob] = [t for t in build_state(stack)["tickets"] if t["ref"] == ref]
    assert bob["status"] == "open"
    call("PATCH", f"/agent/tickets/{ref}", {"status": "solved"})
    call("PATCH", f"/agent/tickets/{ref}", {"status": "open"})
    call("PATCH", f"/agent/tickets/{ref}", {"status": "solved"})


def _customer_page_tour(stack: LocalStack) -> None:
    """The customer's page: a file of the conversation downloaded (GetObject on
    attachments/), the other tickets listed (GSI1), a reply on the solved lid ticket that
    reopens it (its survey and auto-close timers stopped: DeleteItem in the reply's
    transaction), and fresh links asked for: the page records the request (PutItem), the
    acknowledge function mails them (GSI1), SES refusing the first mail (its claim
    released) and sending the next."""
    from customer_page_support import reply_post

    from helpdesk_local.faults import FaultInjector, faults_on
    from helpdesk_local.scenario import page_link
    from helpdesk_local.state import build_state

    [lid] = [t for t in build_state(stack)["tickets"] if t["subject"] == "The lid is broken"]
    path = page_link(stack, lid["ref"], lid["contact"]["email"])
    assert path is not None
    page = stack.http("GET", path)
    assert page.status == 200 and "pouring water for tea" in page.body
    download = re.search(r'href="[^"/]+/files/([^"]+)"', page.body)
    assert download is not None
    assert stack.http("GET", f"{path}/files/{download[1]}").status == 200
    assert lid["status"] == "solved"  # by Anna on this page, in the scenario
    reply, headers = reply_post(stack, path, "The new hinge broke too.")
    assert stack.http("POST", path, body=reply, headers=headers).status in (200, 303)
    [lid] = [t for t in build_state(stack)["tickets"] if t["ref"] == lid["ref"]]
    assert lid["status"] == "open"
    form = {"content-type": "application/x-www-form-urlencoded"}
    body = "email=anna%40example.com"
    with faults_on(stack, FaultInjector(rate=1.0, services=("ses",), limit=SES_ATTEMPTS)):
        assert stack.http("POST", "/ticket", body=body, headers=form).status == 200
    stack.advance(timedelta(minutes=1))
    assert stack.http("POST", "/ticket", body=body, headers=form).status == 200


def _a_ticket_that_waits_then_is_routed_twice(stack: LocalStack) -> None:
    """A ticket of a full team waits in its queue (route commits the wait); once there is
    room, its event is delivered twice, as EventBridge and Lambda may: the first assigns it
    and removes its queue entry (DeleteItem, in the transaction), the second finds the
    event's work done and the agent's mail sent (reading the sent-mail record: GetItem)."""
    from helpdesk.config import load_config

    assert stack.resolver is not None
    table = stack.resolver.ref("DomainTable")
    general = load_config(stack.config_path).agents_of("general")

    def loads(full: bool) -> None:
        for agent in general:
            stack.dynamodb.put_item(
                TableName=table,
                Item={
                    "PK": {"S": f"AGENT#{agent.email}"},
                    "SK": {"S": "LOAD"},
                    "open": {"N": str(agent.capacity if full else 0)},
                },
            )

    loads(full=True)
    answer = stack.post_form(
        {
            "name": "Carla Rossi",
            "email": "carla@example.com",
            "subject": "Where is my order?",
            "message": "It has been two weeks since I ordered.",
        }
    )
    assert answer.status == 201
    ref = answer.json()["ref"]
    loads(full=False)
    opened = {
        "version": "0",
        "id": "7d1c1f0e-5b8a-4f3e-9c2d-0a1b2c3d4e5f",
        "detail-type": "TicketOpened",
        "source": "helpdesk",
        "account": "123456789012",
        "time": "2026-11-23T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"ref": ref},
    }
    for _ in range(2):
        stack.deliver_bus_event("route", opened)
        stack.drain()
    ticket = stack.dynamodb.get_item(
        TableName=table, Key={"PK": {"S": f"TICKET#{ref}"}, "SK": {"S": "META"}}
    )["Item"]
    assert ticket["assignee"]["S"] in {agent.email for agent in general}


def _a_timer_whose_ticket_is_gone(stack: LocalStack) -> None:
    """An SLA timer left by a ticket that no longer exists (removed by an operator): the
    sweep stops it (DeleteItem), rather than finding it due every minute."""
    from helpdesk.timers import SLA, due_key, partition, shard_of, sort_key

    assert stack.resolver is not None
    ref, now = "HD-G0NE22", stack.clock.peek()
    shards = int(stack.functions["sla_check"].environment["TIMER_SHARDS"])
    stack.dynamodb.put_item(
        TableName=stack.resolver.ref("DomainTable"),
        Item={
            "PK": {"S": f"TICKET#{ref}"},
            "SK": {"S": f"TIMER#{SLA}"},
            "TPK": {"S": partition(SLA, shard_of(ref, shards))},
            "TSK": {"S": sort_key(now, ref)},
            "due": {"S": due_key(now)},
        },
    )
    stack.advance(timedelta(minutes=1))


def _days_later(stack: LocalStack) -> None:
    """Surveys, the autoclose of quiet solved tickets, then the reports (SES refusing the
    first one's sends, so its claim is released too)."""
    from helpdesk_local.faults import FaultInjector, faults_on

    stack.advance(timedelta(days=5))
    with faults_on(stack, FaultInjector(rate=1.0, services=("ses",), limit=SES_ATTEMPTS)):
        stack.advance(timedelta(days=1))


@dataclass(frozen=True)
class Grant:
    function: str  # logical id
    action: str
    resource: str


@dataclass(frozen=True)
class Denial:
    """A Deny statement with NotResource: the actions are denied on every resource but
    these (patterns), whatever another policy of the role allows ("an explicit deny in
    any of the policies overrides the allow", IAM User Guide, "Policy evaluation for
    requests within a single account")."""

    function: str  # logical id
    actions: tuple[str, ...]
    not_resources: tuple[str, ...]

    def covers(self, action: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in self.actions)

    def denies(self, action: str, resource: str) -> bool:
        return self.covers(action) and not any(
            fnmatch.fnmatchcase(resource, r) for r in self.not_resources
        )


@dataclass
class Tour:
    calls: set[AwsCall]
    roles: dict[str, list[Grant]]  # function logical id -> its grants (Policies block)
    denials: dict[str, list[Denial]]  # function logical id -> its Deny statements
    managed: dict[str, list[Grant]]  # function logical id -> its managed policies' grants
    # function logical id -> every Allow of its role but the managed policies' (its
    # Policies block and the ones SAM adds, such as the on-failure destination's send)
    allowed: dict[str, list[Grant]]
    sources: dict[str, list[str]]  # function logical id -> its event source mappings' ARNs
    names: dict[str, str]  # local function name -> logical id
    dead_letters: list[dict[str, str]]
    errors: list[str]


def translated_template() -> dict[str, Any]:
    """template.yaml through the SAM translator, as CloudFormation runs it.

    The code locations become S3 URIs first, as ``sam package`` leaves them (the translator
    accepts nothing else). No policy is named by a managed-policy name or a policy template
    here, so the managed-policy map is empty; a name in it would be left as is and fail
    the resolution below.
    """
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(load_template(ROOT / "template.yaml"))
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://helpdesk-artifacts/" + properties[key].strip("/")
    translator = Translator(
        None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1")
    )
    translated: dict[str, Any] = translator.translate(
        template, parameter_values={}, get_managed_policy_map=lambda: {}
    )
    return translated


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_grants(translated: dict[str, Any], resolver: Resolver) -> dict[str, list[Grant]]:
    """Each function's grants from its ``Policies:`` block (the translator names those
    policies ``<Function>RolePolicy<n>``), resolved to the local stack's ARNs. The managed
    policies SAM adds (logs, X-Ray, the SQS poller) are the Lambda service's, not the code's:
    see :func:`managed_grants`."""
    grants: dict[str, list[Grant]] = {}
    for logical_id, role_id, policy in _role_policies(translated):
        found = grants.setdefault(logical_id, [])
        if not re.fullmatch(rf"{role_id}Policy\d+", policy["PolicyName"]):
            continue
        for statement in _as_list(policy["PolicyDocument"]["Statement"]):
            assert "Condition" not in statement and "NotAction" not in statement
            if statement.get("Effect") == "Deny":
                # Only to narrow what a managed policy grants on "*" (see below).
                assert "Resource" not in statement and "NotResource" in statement
                continue
            assert statement.get("Effect") == "Allow", (logical_id, statement)
            for action in _as_list(statement["Action"]):
                for arn in _as_list(resolver.resolve(statement["Resource"])):
                    found.append(Grant(logical_id, action, str(arn)))
    return grants


def _role_policies(translated: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function logical id, role logical id, inline policy) for every function's role."""
    resources = translated["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = resources[role_id]["Properties"].get("Policies", [])
        if not policies:
            yield logical_id, role_id, {"PolicyName": "", "PolicyDocument": {"Statement": []}}
        for policy in policies:
            yield logical_id, role_id, policy


def _statements(translated: dict[str, Any], effect: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(function, statement) of each ``effect`` statement of every inline policy of each
    function's role."""
    for logical_id, _, policy in _role_policies(translated):
        for statement in _as_list(policy["PolicyDocument"]["Statement"]):
            if statement.get("Effect") == effect:
                yield logical_id, statement


def role_denials(translated: dict[str, Any], resolver: Resolver) -> dict[str, list[Denial]]:
    """Each function's Deny statements (any inline policy of its role), resolved."""
    denials: dict[str, list[Denial]] = {lid: [] for lid, _, _ in _role_policies(translated)}
    for logical_id, statement in _statements(translated, "Deny"):
        not_resources = _as_list(resolver.resolve(statement["NotResource"]))
        denials[logical_id].append(
            Denial(
                logical_id,
                tuple(str(a) for a in _as_list(statement["Action"])),
                tuple(str(r) for r in not_resources),
            )
        )
    return denials


def role_allows(translated: dict[str, Any], resolver: Resolver) -> dict[str, list[Grant]]:
    """Every Allow of each function's inline policies: its ``Policies:`` block and those
    SAM adds (the on-failure destinations' sqs:SendMessage), resolved."""
    allowed: dict[str, list[Grant]] = {lid: [] for lid, _, _ in _role_policies(translated)}
    for logical_id, statement in _statements(translated, "Allow"):
        for action in _as_list(statement["Action"]):
            for arn in _as_list(resolver.resolve(statement["Resource"])):
                allowed[logical_id].append(Grant(logical_id, str(action), str(arn)))
    return allowed


# The AWS managed policies SAM attaches to the functions' roles, as the AWS Managed Policy
# reference documents them (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/
# <name>.html, "JSON policy document"). The translator names them by ARN only; a policy not
# listed here fails the test below until its documented statement is added.
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    # "AWSLambdaBasicExecutionRole": v1.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    # "AWSXrayWriteOnlyAccess": v2.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": ["*"],
        }
    ],
    # "AWSLambdaSQSQueueExecutionRole": v1 (SAM adds it for an SQS event). These are the
    # actions the poller needs on the queue ("The Lambda execution role must include
    # sqs:DeleteMessage, sqs:GetQueueAttributes, sqs:ReceiveMessage", Amazon SQS Developer
    # Guide, "Configuring an Amazon SQS queue to trigger an AWS Lambda function").
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
    # "AWSLambdaDynamoDBExecutionRole": v1 (SAM adds it for a DynamoDB event).
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


def managed_grants(translated: dict[str, Any]) -> dict[str, list[Grant]]:
    """Each function's grants from the AWS managed policies on its role (their documented
    statements, above)."""
    grants: dict[str, list[Grant]] = {}
    resources = translated["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        found = grants.setdefault(logical_id, [])
        for arn in resources[role_id]["Properties"].get("ManagedPolicyArns", []):
            assert arn in MANAGED_POLICIES, f"{logical_id}: {arn} is not documented here"
            for statement in MANAGED_POLICIES[arn]:
                for action in _as_list(statement["Action"]):
                    for resource_arn in _as_list(statement["Resource"]):
                        found.append(Grant(logical_id, action, resource_arn))
    return grants


def event_sources(translated: dict[str, Any], resolver: Resolver) -> dict[str, list[str]]:
    """Each function's event source mappings' source ARNs (queues, streams), resolved."""
    sources: dict[str, list[str]] = {}
    for resource in translated["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            properties = resource["Properties"]
            function = properties["FunctionName"]["Ref"]
            sources.setdefault(function, []).append(
                str(resolver.resolve(properties["EventSourceArn"]))
            )
    return sources


def allows(grant: Grant, call: AwsCall) -> bool:
    """IAM's matching: action case-insensitive with ``*``/``?`` wildcards, resource with
    wildcards, case-sensitive (IAM User Guide, "IAM JSON policy elements: Action" and
    "Resource")."""
    action_matches = fnmatch.fnmatchcase(call.action.lower(), grant.action.lower())
    return action_matches and fnmatch.fnmatchcase(call.resource, grant.resource)


@pytest.fixture(scope="module")
def tour() -> Iterator[Tour]:
    scenario = parse_scenario(TOUR, source="IAM tour", base=ROOT)
    with aws_calls.recording() as recorder, LocalStack(start=scenario.start) as stack:
        Player(stack, scenario).play()
        _agent_api_tour(stack)
        _customer_page_tour(stack)
        _a_ticket_that_waits_then_is_routed_twice(stack)
        _a_timer_whose_ticket_is_gone(stack)
        _days_later(stack)
        assert stack.resolver is not None
        translated = translated_template()
        yield Tour(
            calls=set(recorder.calls),
            roles=role_grants(translated, stack.resolver),
            denials=role_denials(translated, stack.resolver),
            managed=managed_grants(translated),
            allowed=role_allows(translated, stack.resolver),
            sources=event_sources(translated, stack.resolver),
            names={f.name: f.logical_id for f in stack.functions.values()},
            dead_letters=stack.dead_letters(),
            errors=list(stack.invocation_errors),
        )


def test_the_tour_runs_every_function_without_an_error(tour: Tour) -> None:
    # The only failures are the injected SES throttling, and their retries succeeded.
    assert [e for e in tour.errors if "Throttling" not in e] == []
    assert tour.dead_letters == []
    assert {tour.names[c.function] for c in tour.calls} == set(tour.roles)


def test_every_call_a_function_makes_is_granted_by_its_role(tour: Tour) -> None:
    denied = sorted(
        f"{tour.names[c.function]}: {c.action} on {c.resource} ({c.operation})"
        for c in tour.calls
        if not any(allows(g, c) for g in tour.roles[tour.names[c.function]])
        or any(d.denies(c.action, c.resource) for d in tour.denials[tour.names[c.function]])
    )
    assert denied == [], "AWS would deny:\n" + "\n".join(denied)


# Granted and never called: s3:ListBucket on the mail bucket, so that S3 answers a
# GetObject on a key that is gone with 404 NoSuchKey rather than 403 AccessDenied (GetObject,
# Amazon S3 API Reference, "Permissions"), for the functions that treat a missing file as
# gone (test_least_privilege.TREAT_A_MISSING_FILE_AS_GONE says which and why).
LISTS_ONLY_FOR_S3_TO_ANSWER_404 = {
    "AcknowledgeFunction",
    "CustomerPageFunction",
    "EmailIntakeFunction",
}


def _for_s3_to_answer_404(grant: Grant) -> bool:
    return (
        grant.function in LISTS_ONLY_FOR_S3_TO_ANSWER_404
        and grant.action == "s3:ListBucket"
        and re.fullmatch(r"arn:aws:s3:::[^/*]+", grant.resource) is not None
    )


def test_every_grant_is_used_by_some_call(tour: Tour) -> None:
    unused = sorted(
        f"{g.function}: {g.action} on {g.resource}"
        for grants in tour.roles.values()
        for g in grants
        if not any(tour.names[c.function] == g.function and allows(g, c) for c in tour.calls)
        and not _for_s3_to_answer_404(g)
    )
    assert unused == [], "granted but never used:\n" + "\n".join(unused)
    listing = {
        g.function for grants in tour.roles.values() for g in grants if _for_s3_to_answer_404(g)
    }
    assert listing == LISTS_ONLY_FOR_S3_TO_ANSWER_404


# Object ARNs may end in a wildcard below a named prefix (inbound/*), and SSM parameter ARNs
# below a named path (the channels' secrets, /helpdesk/channels/*); nothing else may.
OBJECTS_BELOW_A_PREFIX = re.compile(r"arn:aws:s3:::[^/*]+/[A-Za-z0-9_-]+/\*")
PARAMETERS_BELOW_A_PATH = re.compile(
    r"arn:aws:ssm:[a-z0-9-]+:\d{12}:parameter(/[A-Za-z0-9_.-]+)+/\*"
)


def test_no_grant_uses_a_wildcard_on_data(tour: Tour) -> None:
    broad = sorted(
        f"{g.function}: {g.action} on {g.resource}"
        for grants in tour.roles.values()
        for g in grants
        if "*" in g.action
        or "?" in g.action
        or (
            "*" in g.resource
            and not OBJECTS_BELOW_A_PREFIX.fullmatch(g.resource)
            and not PARAMETERS_BELOW_A_PATH.fullmatch(g.resource)
        )
    )
    assert broad == []


# Services whose resources hold the desk's data (or could be another stack's).
DATA_SERVICES = ("dynamodb", "s3", "sqs", "events", "ses", "ssm")
# Granted on "*" by a managed policy and left so: an action with no resource type can only
# be granted on "*" (Service Authorization Reference, via cfn-lint's copy). ListStreams
# names the account's streams and reads no record; the reads (DescribeStream, GetRecords,
# GetShardIterator) are on the stream and are cut to the function's own.
ONLY_ON_EVERY_RESOURCE = {"dynamodb:ListStreams"}


def resource_types(action: str) -> list[str]:
    """The resource types an IAM action may be scoped to (none: only "*")."""
    import importlib.resources

    source = importlib.resources.files("cfnlint.data.AdditionalSpecs") / "Policies.json"
    service, name = action.split(":", 1)
    actions = json.loads(source.read_text(encoding="utf-8"))[service]["Actions"]
    return list(actions[name.lower()].get("Resources", []))


def test_a_managed_policy_grant_on_every_resource_is_cut_to_the_functions_own(
    tour: Tour,
) -> None:
    """SAM's poller policies grant the SQS receive/delete and the DynamoDB stream reads on
    "*": every queue and every table's stream in the account. A Deny with NotResource in
    the function's own policy narrows each to the function's event sources (its mappings'
    queues, its table's stream), which the mapping keeps."""
    problems: list[str] = []
    left_on_everything: set[str] = set()
    for function, grants in sorted(tour.managed.items()):
        for grant in grants:
            service = grant.action.split(":", 1)[0]
            if grant.resource != "*" or service not in DATA_SERVICES:
                continue
            if not resource_types(grant.action):
                left_on_everything.add(grant.action)
                continue
            own = [arn for arn in tour.sources.get(function, []) if arn.split(":")[2] == service]
            denials = [d for d in tour.denials[function] if d.covers(grant.action)]
            if not denials:
                problems.append(f"{function}: {grant.action} on * (a managed policy's), no Deny")
                continue
            lost = [arn for arn in own if any(d.denies(grant.action, arn) for d in denials)]
            if lost:
                problems.append(f"{function}: {grant.action} denied on its own {lost}")
            beyond = sorted(
                pattern
                for d in denials
                for pattern in d.not_resources
                if not any(fnmatch.fnmatchcase(arn, pattern) for arn in own)
            )
            if beyond:
                problems.append(f"{function}: {grant.action} left on {beyond}, not its own")
    assert problems == [], "\n".join(problems)
    assert left_on_everything == ONLY_ON_EVERY_RESOURCE


def test_no_deny_takes_what_the_role_allows(tour: Tour) -> None:
    """A Deny only narrows the managed policies: the function's own grants and those SAM
    adds (the on-failure destinations' sqs:SendMessage, sent with the function's role)
    stay allowed."""
    taken = sorted(
        f"{grant.function}: {grant.action} on {grant.resource}"
        for function, grants in tour.allowed.items()
        for grant in grants
        if any(d.denies(grant.action, grant.resource) for d in tour.denials[function])
    )
    assert taken == []
    assert any(g.action == "sqs:SendMessage" for g in tour.allowed["AcknowledgeFunction"]), (
        "SAM's destination policy is read"
    )


def test_a_deny_with_not_resource_denies_everything_else() -> None:
    denial = Denial("F", ("sqs:ReceiveMessage",), ("arn:aws:sqs:us-east-1:1:mine",))
    assert not denial.denies("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:mine")
    assert denial.denies("SQS:receivemessage", "arn:aws:sqs:us-east-1:1:theirs")
    assert not denial.denies("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:theirs")
    stream = Denial("F", ("dynamodb:GetRecords",), ("arn:aws:dynamodb:r:1:table/t/stream/*",))
    assert not stream.denies("dynamodb:GetRecords", "arn:aws:dynamodb:r:1:table/t/stream/2026")
    assert stream.denies("dynamodb:GetRecords", "arn:aws:dynamodb:r:1:table/u/stream/2026")


def test_a_transaction_is_authorized_as_its_items_and_an_index_query_on_the_index() -> None:
    hook = aws_calls.CallHook("us-east-1", "123456789012")
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {}}},
            {"Update": {"TableName": "t", "Key": {}}},
            {"ConditionCheck": {"TableName": "t", "Key": {}}},
        ]
    }
    assert hook.permissions("dynamodb", "TransactWriteItems", transaction) == [
        ("dynamodb:ConditionCheckItem", table),
        ("dynamodb:PutItem", table),
        ("dynamodb:UpdateItem", table),
    ]
    assert hook.permissions("dynamodb", "Query", {"TableName": "t", "IndexName": "GSI1"}) == [
        ("dynamodb:Query", f"{table}/index/GSI1")
    ]


def test_a_grant_on_the_table_does_not_cover_its_index() -> None:
    table = "arn:aws:dynamodb:us-east-1:1:table/t"
    grant = Grant("F", "dynamodb:Query", table)
    assert allows(grant, AwsCall("f", "dynamodb:Query", table, "Query"))
    assert not allows(grant, AwsCall("f", "dynamodb:Query", f"{table}/index/GSI1", "Query"))
    assert allows(
        Grant("F", "s3:GetObject", "arn:aws:s3:::b/inbound/*"),
        AwsCall("f", "s3:GetObject", "arn:aws:s3:::b/inbound/k", "GetObject"),
    )
