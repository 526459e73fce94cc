"""Which AWS requests each function makes, as IAM sees them.

moto does not enforce IAM, so a function whose role lacks a permission works locally and is
denied in AWS. The local stack therefore notes every request a function's clients make
(a ``before-parameter-build`` handler on the default boto3 session the functions' clients
come from, see ``helpdesk.aws.clients``), translated into what IAM authorizes: one or more
(action, resource ARN) pairs per request. tests/integration/test_iam_from_calls.py then
checks them against the roles the SAM translator makes from template.yaml.

How a request maps to IAM, from AWS's documentation:

- DynamoDB: the Service Authorization Reference ("Actions, resources, and condition keys
  for Amazon DynamoDB", https://docs.aws.amazon.com/service-authorization/latest/reference/
  list_amazondynamodb.html) maps each API operation to its action; a Query or Scan on an
  index is authorized on the index ARN ``table/<t>/index/<i>``. ``TransactWriteItems`` is
  *not* an IAM action: "Permissions for Put, Update, Delete, and Get actions are governed by
  the permissions used for the underlying PutItem, UpdateItem, DeleteItem, and GetItem
  operations. For the ConditionCheck action, you can use the dynamodb:ConditionCheckItem
  permission" (Using IAM with DynamoDB transactions, https://docs.aws.amazon.com/
  amazondynamodb/latest/developerguide/transaction-apis-iam.html). BatchGetItem and
  BatchWriteItem are actions of their own, authorized on each table they name.
- S3: GetObject/PutObject on ``arn:aws:s3:::bucket/key`` (HeadObject needs s3:GetObject).
- SES (v1): SendRawEmail/SendEmail on the sending identity
  ``arn:aws:ses:<region>:<account>:identity/<domain>`` (the domain of the source address,
  or ``SourceArn`` when given).
- EventBridge: PutEvents on each entry's event bus ARN.
- SSM: GetParameter on ``arn:aws:ssm:<region>:<account>:parameter/<name without slash>``.
- SQS: SendMessage (also for SendMessageBatch) on the queue ARN.
- Lambda: Invoke is ``lambda:InvokeFunction`` on the function ARN.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlparse


@dataclass(frozen=True, order=True)
class AwsCall:
    """One permission a function's request needed: IAM action and resource ARN."""

    function: str  # the function's name in the local stack (its code directory)
    action: str  # e.g. dynamodb:Query
    resource: str  # e.g. arn:aws:dynamodb:us-east-1:123456789012:table/t/index/GSI1
    operation: str  # the API operation that needed it, e.g. TransactWriteItems


class CallRecorder:
    """Collects the calls made while it is active (see :func:`recording`)."""

    def __init__(self) -> None:
        self.calls: set[AwsCall] = set()
        self._lock = threading.Lock()

    def add(self, calls: list[AwsCall]) -> None:
        with self._lock:
            self.calls.update(calls)


_active: list[CallRecorder] = []


@contextmanager
def recording() -> Iterator[CallRecorder]:
    """Record every AWS request that local functions make inside the block (across any
    number of local stacks started inside it)."""
    recorder = CallRecorder()
    _active.append(recorder)
    try:
        yield recorder
    finally:
        _active.remove(recorder)


# ---------------------------------------------------------------------- the hook
class CallHook:
    """The ``before-parameter-build`` handler the local stack registers on the functions'
    boto3 session. It knows the stack's region and account to spell ARNs."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account

    def __call__(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if not _active:
            return
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if not function:
            return  # a test's own client, not a function's
        # The signing name is the IAM service prefix: dynamodb, s3, ses (v1 and v2), events...
        service = model.service_model.signing_name
        operation = model.name
        calls = [
            AwsCall(function, action, resource, operation)
            for action, resource in self.permissions(service, operation, params)
        ]
        for recorder in list(_active):
            recorder.add(calls)

    # ------------------------------------------------------------------ ARNs
    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def _table(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return self._arn("dynamodb", f"table/{name}")

    def _bus(self, name: str | None) -> str:
        name = name or "default"
        return name if name.startswith("arn:") else self._arn("events", f"event-bus/{name}")

    def _queue(self, url: str) -> str:
        name = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]
        return self._arn("sqs", name)

    def _identity(self, params: Mapping[str, Any]) -> str:
        if params.get("SourceArn"):
            return str(params["SourceArn"])
        source = str(params.get("Source") or params.get("FromEmailAddress") or "")
        if not source:
            raw = params.get("RawMessage", {}).get("Data", b"")
            source = _header(raw, "from")
        address = parseaddr(source)[1]
        return self._arn("ses", f"identity/{address.rpartition('@')[2] or address}")

    # ------------------------------------------------------------------ mapping
    def permissions(
        self, service: str, operation: str, params: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        """The (action, resource) pairs IAM checks for one request."""
        if service == "dynamodb":
            return self._dynamodb(operation, params)
        if service == "s3":
            bucket, key = params.get("Bucket", ""), params.get("Key")
            action = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket"}.get(
                operation, operation
            )
            resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
            return [(f"s3:{action}", resource)]
        if service == "ses":
            return [(f"ses:{operation}", self._identity(params))]
        if service == "events" and operation == "PutEvents":
            return sorted(
                {
                    ("events:PutEvents", self._bus(entry.get("EventBusName")))
                    for entry in params.get("Entries", [])
                }
            )
        if service == "ssm" and "Name" in params:
            name = str(params["Name"]).lstrip("/")
            return [(f"ssm:{operation}", self._arn("ssm", f"parameter/{name}"))]
        if service == "sqs" and "QueueUrl" in params:
            action = "SendMessage" if operation == "SendMessageBatch" else operation
            return [(f"sqs:{action}", self._queue(str(params["QueueUrl"])))]
        if service == "lambda" and operation == "Invoke":
            name = str(params.get("FunctionName", ""))
            arn = name if name.startswith("arn:") else self._arn("lambda", f"function:{name}")
            return [("lambda:InvokeFunction", arn)]
        # Anything else is named as the service spells it, on no known resource, so that
        # the IAM test reports it rather than silently passing it.
        return [(f"{service}:{operation}", "*")]

    def _dynamodb(self, operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if operation in ("TransactWriteItems", "TransactGetItems"):
            found: set[tuple[str, str]] = set()
            for item in params.get("TransactItems", []):
                ((kind, request),) = item.items()
                action = {
                    "Put": "PutItem",
                    "Update": "UpdateItem",
                    "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem",
                    "Get": "GetItem",
                }[kind]
                found.add((f"dynamodb:{action}", self._table(request["TableName"])))
            return sorted(found)
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return sorted(
                (f"dynamodb:{operation}", self._table(table))
                for table in params.get("RequestItems", {})
            )
        table = self._table(str(params.get("TableName", "")))
        if operation in ("Query", "Scan") and params.get("IndexName"):
            table = f"{table}/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", table)]


def _header(raw: Any, name: str) -> str:
    """A header of a raw message (SES takes the source from From: when Source is absent)."""
    from email.parser import BytesHeaderParser

    data = raw if isinstance(raw, bytes) else str(raw).encode()
    value = BytesHeaderParser().parsebytes(data).get(name, "")
    return str(value)


def install(events: Any, region: str, account: str) -> None:
    """Register the recorder's hook on a session's (or client's) event system."""
    events.register("before-parameter-build", CallHook(region, account), unique_id="hd-aws-calls")
