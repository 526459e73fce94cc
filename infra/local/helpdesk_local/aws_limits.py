"""The size limits AWS enforces, enforced on the local functions' requests.

moto accepts much that AWS rejects; a test that passes locally with an item, an event or a
mail AWS would refuse hides a production failure. The local stack registers these
``before-parameter-build`` handlers on the boto3 session its functions' clients come from;
a request over a limit fails as AWS fails it (the same error code, a ``ClientError``),
before moto sees it.

What moto already enforces is not repeated here (tests/integration/test_aws_limits.py shows
each): the key sizes of written items, the 100 actions of a transaction, the 100 keys of a
BatchGetItem, an UpdateItem growing an item past its limit, and SQS's message size (1 MiB).

Sources (AWS documentation):

- DynamoDB item size: "The total size of an item is the sum of the lengths of its attribute
  names and values" with the per-type rules of "DynamoDB item sizes and formats"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
  CapacityUnitCalculations.html); the maximum item size is 400 KB, partition keys 2048
  bytes, sort keys 1024 bytes, and "DynamoDB denotes 1 KB = 1024 bytes" ("Constraints in
  Amazon DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
  Constraints.html).
- TransactWriteItems: "groups up to 100 action requests ... The aggregate size of the items
  in the transaction cannot exceed 4 MB" (API reference, TransactWriteItems).
- EventBridge PutEvents: the entry size is Time (14 bytes when given) + Source + DetailType
  + Detail + each Resources entry, as UTF-8 ("Calculating Amazon EventBridge PutEvents
  event entry size", https://docs.aws.amazon.com/eventbridge/latest/userguide/
  eb-putevent-size.html). Since 29 January 2026 the limit is 1 MB, raised from 256 KB
  together with SQS and asynchronous Lambda invocations ("More room to build: serverless
  services now support payloads up to 1 MB", AWS Compute Blog,
  https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-
  payloads-up-to-1-mb).
- SES: "Using the SES v1 API - Maximum message size (including attachments): 10 MB per
  message (after base64 encoding)"; v2 and SMTP: 40 MB ("Service quotas in Amazon SES",
  https://docs.aws.amazon.com/ses/latest/dg/quotas.html). The adapter uses v1's
  SendRawEmail, so 10 MB.
- Lambda: invocation payloads of 6 MB for synchronous and 1 MB for asynchronous invocations
  (Lambda quotas; the Compute Blog post above for the asynchronous one).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

KB = 1024
MB = 1024 * KB
ITEM_MAX_BYTES = 400 * KB
PARTITION_KEY_MAX_BYTES = 2048
SORT_KEY_MAX_BYTES = 1024
TRANSACTION_MAX_BYTES = 4 * MB
PUT_EVENTS_MAX_BYTES = 1 * MB
SES_V1_MESSAGE_MAX_BYTES = 10 * MB
SES_V2_MESSAGE_MAX_BYTES = 40 * MB
LAMBDA_SYNC_PAYLOAD_MAX_BYTES = 6 * MB
LAMBDA_ASYNC_PAYLOAD_MAX_BYTES = 1 * MB

ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"


class LimitExceeded(Exception):
    """A payload over a limit of the Lambda service itself (raised by the local stack)."""


def _utf8(text: Any) -> int:
    return len(str(text).encode("utf-8"))


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed)."""
    try:
        digits = Decimal(text).as_tuple().digits
    except InvalidOperation:
        return _utf8(text)
    significant = "".join(map(str, digits)).strip("0") or "0"
    return (len(significant) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value, without its name (the documented rules)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return _utf8(data)
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else _utf8(data)
    if kind in ("NULL", "BOOL"):
        return 1
    if kind == "SS":
        return sum(_utf8(v) for v in data)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in data)
    if kind == "BS":
        return sum(len(v) if isinstance(v, bytes | bytearray) else _utf8(v) for v in data)
    if kind == "L":
        # 3 bytes for the list, 1 more for each element.
        return 3 + sum(value_size(v) + 1 for v in data)
    if kind == "M":
        return 3 + sum(_utf8(k) + value_size(v) + 1 for k, v in data.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item's size as DynamoDB counts it: its attribute names and values."""
    return sum(_utf8(name) + value_size(value) for name, value in item.items())


def _client_error(code: str, message: str, operation: str, status: int = 400) -> Exception:
    from botocore.exceptions import ClientError

    error: Exception = ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )
    return error


class _KeySchemas:
    """Each table's key attribute names, asked of the stack's own DynamoDB client once."""

    def __init__(self, dynamodb: Any) -> None:
        self._dynamodb = dynamodb
        self._known: dict[str, tuple[str, str | None]] = {}
        self._lock = threading.Lock()

    def of(self, table: str) -> tuple[str, str | None]:
        with self._lock:
            if table not in self._known:
                schema = self._dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
                hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
                range_key = next(
                    (k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None
                )
                self._known[table] = (hash_key, range_key)
            return self._known[table]


class Limits:
    """The handlers, bound to the stack's DynamoDB client (for key schemas)."""

    def __init__(self, dynamodb: Any) -> None:
        self.schemas = _KeySchemas(dynamodb)

    # ------------------------------------------------------------------ DynamoDB
    def _check_item(self, item: Mapping[str, Any], operation: str) -> int:
        size = item_size(item)
        if size > ITEM_MAX_BYTES:
            raise _client_error("ValidationException", ITEM_TOO_LARGE, operation)
        return size

    def _check_key(self, table: str, key: Mapping[str, Any], operation: str) -> int:
        """Key sizes on requests that name an item by its key (moto checks them only on
        writes; AWS on every request)."""
        hash_key, range_key = self.schemas.of(table)
        if hash_key in key and value_size(key[hash_key]) > PARTITION_KEY_MAX_BYTES:
            raise _client_error(
                "ValidationException",
                "One or more parameter values were invalid: Size of hashkey has exceeded "
                f"the maximum size limit of {PARTITION_KEY_MAX_BYTES} bytes",
                operation,
            )
        if range_key and range_key in key and value_size(key[range_key]) > SORT_KEY_MAX_BYTES:
            raise _client_error(
                "ValidationException",
                "One or more parameter values were invalid: Aggregated size of all range "
                f"keys has exceeded the size limit of {SORT_KEY_MAX_BYTES} bytes",
                operation,
            )
        return item_size(key)

    def dynamodb(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        if operation == "PutItem":
            self._check_item(params.get("Item", {}), operation)
        elif operation in ("GetItem", "DeleteItem", "UpdateItem"):
            self._check_key(params["TableName"], params.get("Key", {}), operation)
        elif operation == "BatchGetItem":
            for table, request in params.get("RequestItems", {}).items():
                for key in request.get("Keys", []):
                    self._check_key(table, key, operation)
        elif operation == "TransactWriteItems":
            total = 0
            for action in params.get("TransactItems", []):
                ((kind, request),) = action.items()
                if kind == "Put":
                    total += self._check_item(request["Item"], operation)
                else:
                    total += self._check_key(request["TableName"], request["Key"], operation)
                    # What an update writes is at least the values it sets.
                    total += sum(
                        value_size(v) for v in request.get("ExpressionAttributeValues", {}).values()
                    )
            if total > TRANSACTION_MAX_BYTES:
                raise _client_error(
                    "ValidationException",
                    "Transaction request cannot be larger than 4 MB",
                    operation,
                )

    # ------------------------------------------------------------------ EventBridge
    @staticmethod
    def entry_size(entry: Mapping[str, Any]) -> int:
        """A PutEvents entry's size, computed as EventBridge documents it."""
        size = 14 if entry.get("Time") is not None else 0
        size += _utf8(entry.get("Source", "")) + _utf8(entry.get("DetailType", ""))
        if entry.get("Detail") is not None:
            size += _utf8(entry["Detail"])
        size += sum(_utf8(r) for r in entry.get("Resources") or [] if r is not None)
        return size

    def events(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if model.name != "PutEvents":
            return
        total = sum(self.entry_size(entry) for entry in params.get("Entries", []))
        if total > PUT_EVENTS_MAX_BYTES:
            raise _client_error(
                "ValidationException",
                "Total size of the entries in the request is over the limit.",
                model.name,
            )

    # ------------------------------------------------------------------ SES
    def ses(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if model.name != "SendRawEmail":
            return
        data = params.get("RawMessage", {}).get("Data", b"")
        _refuse_larger_mail(data, SES_V1_MESSAGE_MAX_BYTES, model.name)

    def sesv2(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if model.name != "SendEmail":
            return
        data = params.get("Content", {}).get("Raw", {}).get("Data", b"")
        _refuse_larger_mail(data, SES_V2_MESSAGE_MAX_BYTES, model.name)

    # ------------------------------------------------------------------ Lambda
    def lambda_invoke(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if model.name != "Invoke":
            return
        payload = params.get("Payload", b"")
        size = len(payload) if isinstance(payload, bytes | bytearray) else _utf8(payload)
        asynchronous = params.get("InvocationType") == "Event"
        limit = LAMBDA_ASYNC_PAYLOAD_MAX_BYTES if asynchronous else LAMBDA_SYNC_PAYLOAD_MAX_BYTES
        if size > limit:
            raise _client_error(
                "RequestEntityTooLargeException",
                f"Request must be smaller than {limit} bytes for the Invoke operation",
                model.name,
                status=413,
            )


def check_invocation_payload(payload: Any, *, asynchronous: bool, what: str = "event") -> None:
    """An event (or a function's response) the local stack passes, against Lambda's
    payload limit: 6 MB synchronous (both ways), 1 MB asynchronous."""
    size = len(json.dumps(payload, default=str).encode("utf-8"))
    limit = LAMBDA_ASYNC_PAYLOAD_MAX_BYTES if asynchronous else LAMBDA_SYNC_PAYLOAD_MAX_BYTES
    if size > limit:
        raise LimitExceeded(f"{what} of {size} bytes exceeds Lambda's payload limit of {limit}")


def install(events: Any, dynamodb: Any) -> Limits:
    """Register the handlers on a session's (or client's) event system. ``dynamodb`` is a
    client outside that session, used to read key schemas."""
    limits = Limits(dynamodb)
    events.register("before-parameter-build.dynamodb", limits.dynamodb, unique_id="hd-lim-ddb")
    events.register("before-parameter-build.eventbridge", limits.events, unique_id="hd-lim-eb")
    events.register("before-parameter-build.ses", limits.ses, unique_id="hd-lim-ses")
    events.register("before-parameter-build.sesv2", limits.sesv2, unique_id="hd-lim-sesv2")
    events.register("before-parameter-build.lambda", limits.lambda_invoke, unique_id="hd-lim-fn")
    return limits


def _refuse_larger_mail(data: Any, limit: int, operation: str) -> None:
    """SES's answer to a raw mail of more than ``limit`` bytes (either API's)."""
    size = len(data) if isinstance(data, bytes | bytearray) else _utf8(data)
    if size > limit:
        message = f"Message length is more than {limit} bytes long: '{size}'."
        raise _client_error("MessageRejected", message, operation)
