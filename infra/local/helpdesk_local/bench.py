"""`helpdesk bench`: speed, cost, memory and scale, each next to a floor measured in the same run.

Absolute figures on a noisy 2-core machine mean little; a ratio to a floor taken a moment
earlier on the same machine does. Every figure here is measured on the real handlers and
the local stack (moto, in this process) except the import and memory figures, which need a
fresh interpreter each and run in subprocesses. docs/PERFORMANCE.md explains each figure.

The local stack's known traps are kept out of the figures: moto's ``transact_write_items``
copies whole tables and its index queries scan the table, so the tables stay small wherever
the figure is not about history.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk_local.knowledge_eval import (
    OFFTOPIC_RATE_GOAL,
    PRECISION_AT_3_GOAL,
    measure_retrieval,
)
from helpdesk_local.knowledge_eval import cold_start_ms as knowledge_cold_start_ms
from helpdesk_local.mail_samples import text_mail
from helpdesk_local.stack import REPO_ROOT

if TYPE_CHECKING:
    from helpdesk_local.stack import LocalStack

# ---------------------------------------------------------------------------- list prices
PRICES_SOURCE = "AWS pricing pages, us-east-1, list prices as of 2026-11"


@dataclass(frozen=True)
class Prices:
    """List prices in USD per unit (us-east-1, on demand). Source: :data:`PRICES_SOURCE`."""

    lambda_request: float = 0.20 / 1e6
    lambda_gb_second_arm64: float = 0.0000133334
    # template.yaml declares x86_64 (docs/PERFORMANCE.md, "Layer"): the price used below.
    lambda_gb_second_x86_64: float = 0.0000166667
    dynamodb_write_unit: float = 0.625 / 1e6
    dynamodb_read_unit: float = 0.125 / 1e6
    sqs_request_per_64kb: float = 0.40 / 1e6
    eventbridge_event_per_64kb: float = 1.00 / 1e6
    ses_inbound_mail: float = 0.10 / 1000
    ses_inbound_chunk_256kb: float = 0.09 / 1000
    ses_outbound_mail: float = 0.10 / 1000
    s3_put: float = 0.005 / 1000
    s3_get: float = 0.0004 / 1000
    http_api_request: float = 1.00 / 1e6


PRICES = Prices()

# The performance targets (docs/PERFORMANCE.md), printed next to the figures.
IMPORT_RATIO_TARGET = 1.25
# Issue 15's goals for an email ticket (intake, acknowledgement, assignment).
COST_RATIO_TARGET = 1.05
CALLS_PER_TICKET_TARGET = 14
OWN_MS_TARGET = 8.0
WRITE_UNITS_PER_TICKET_TARGET = 25.0
RSS_25MB_TARGET_MB = 160.0

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
MIB = 1024 * 1024
CONTRACT_SERVICES = ("dynamodb", "sqs", "events", "ses", "s3")


class BenchError(RuntimeError):
    """The pipeline failed while being measured: its figures would mean nothing."""


# ---------------------------------------------------------------------------- mail samples
def sample_sender(index: int) -> str:
    """The address :func:`sample_mail` writes from."""
    return f"customer{index}@shop{index}.example"


def sample_mail(
    index: int, *, body_bytes: int = 5000, attachment_bytes: Sequence[int] = ()
) -> bytes:
    """A plain customer request from a distinct sender at a distinct domain (so neither the
    per-sender nor the per-domain acknowledgement cap interferes), with ``body_bytes`` of
    text and optional binary attachments, as SES stores it: with its verdicts on top, for
    a sender whose provider signs its mail (SPF, DKIM and DMARC pass, as for most mail a
    desk gets; mail SES cannot authenticate costs one more count, docs/PERFORMANCE.md)."""
    from helpdesk_local.server import Connection, with_ses_headers

    message = EmailMessage()
    message["From"] = f"Customer {index} <{sample_sender(index)}>"
    message["To"] = "support@support.example"
    message["Subject"] = f"Order {index} has not arrived"
    message["Message-ID"] = f"<bench-{index}-{random.getrandbits(32):08x}@example.com>"
    message["Date"] = "Mon, 23 Nov 2026 08:50:00 +0000"
    sentence = "Hello, my order has not arrived yet and I would like to know where it is. "
    message.set_content((sentence * (body_bytes // len(sentence) + 1))[:body_bytes])
    generator = random.Random(index)
    for number, size in enumerate(attachment_bytes):
        message.add_attachment(
            generator.randbytes(size),
            maintype="application",
            subtype="pdf",
            filename=f"scan-{number}.pdf",
        )
    client = Connection(
        sample_sender(index), client_ip="192.0.2.25", helo=f"mx.shop{index}.example"
    )
    return with_ses_headers(message.as_bytes(), client, mail_domain="support.example", trusted=True)


def sized_mail(total_bytes: int, *, index: int = 0, part_limit: int = 9 * MIB) -> bytes:
    """A mail of about ``total_bytes`` raw: a short text and attachments under the desk's
    10 MiB per-attachment limit (so that they are kept, the expensive path)."""
    text = 2000
    # Base64 turns 57 bytes into a 76-character line plus its newline (RFC 2045 §6.8).
    payload = max(0, int((total_bytes - text - 1500) * 57 / 77))
    parts = max(1, math.ceil(payload / part_limit))
    sizes = [payload // parts] * parts
    return sample_mail(index, body_bytes=text, attachment_bytes=sizes)


# ---------------------------------------------------------------------------- DynamoDB sizes
def attribute_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's item-size arithmetic (wire format)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode("utf-8"))
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: element}) for element in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in data)
    return 0


def item_size(item: Mapping[str, Any] | None) -> int:
    """Bytes of an item: names plus values, as DynamoDB bills them."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, *, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


# ---------------------------------------------------------------------------- the meter
ItemLookup = Callable[[str, Mapping[str, Any]], Mapping[str, Any] | None]


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index as the template declares it: what a write to it costs
    depends on its key attributes and its projection."""

    name: str
    keys: tuple[str, ...]  # its key attributes (an item without all of them is not in it)
    keys_only: bool  # KEYS_ONLY: an entry is the index's and the table's keys; else ALL


def table_indexes(
    template: Mapping[str, Any], table: str = "DomainTable"
) -> tuple[tuple[str, ...], tuple[IndexSpec, ...]]:
    """The table's key attributes and its global secondary indexes, from template.yaml."""
    props = template["Resources"][table]["Properties"]
    table_keys = tuple(k["AttributeName"] for k in props["KeySchema"])
    indexes = []
    for index in props.get("GlobalSecondaryIndexes", []):
        projection = index["Projection"]["ProjectionType"]
        if projection not in ("ALL", "KEYS_ONLY"):
            raise BenchError(f"{index['IndexName']}: projection {projection} is not priced")
        keys = tuple(k["AttributeName"] for k in index["KeySchema"])
        indexes.append(IndexSpec(index["IndexName"], keys, projection == "KEYS_ONLY"))
    return table_keys, tuple(indexes)


@dataclass(frozen=True)
class ItemWrite:
    """One item a request writes (or checks), with the item before and after it."""

    kind: str  # Put, Update, Delete, ConditionCheck
    table: str
    key: dict[str, Any]
    before: Mapping[str, Any] | None
    put: Mapping[str, Any] | None = None  # a Put's new item


def index_write_units(
    index: IndexSpec,
    table_keys: Sequence[str],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> list[tuple[int, Mapping[str, Any]]]:
    """The index writes one table write causes, each (write units, the entry written or
    deleted), as "Provisioned throughput considerations for global secondary indexes"
    (DynamoDB developer guide, GSI.html#GSI.ThroughputConsiderations.Writes) counts them:
    an item entering or leaving the index is one write, a change of its index key a delete
    and a put, a change of only its projected attributes one write, and an item in the index
    neither before nor after nothing. Each write costs the size of the index entry (the
    projected item) in 1 KB units."""

    def entry(item: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if item is None or not all(k in item for k in index.keys):
            return None
        if index.keys_only:
            return {k: item[k] for k in (*table_keys, *index.keys) if k in item}
        return item

    old, new = entry(before), entry(after)
    if old is None and new is None:
        return []
    if old is None or new is None:
        present = new if new is not None else old
        assert present is not None
        return [(write_units(item_size(present)), present)]
    if any(old[k] != new[k] for k in index.keys):
        return [(write_units(item_size(old)), old), (write_units(item_size(new)), new)]
    if old == new:
        return []
    return [(write_units(item_size(new)), new)]


@dataclass
class AwsMeter:
    """Counts and times every AWS request the functions make.

    The functions' clients come from boto3's default session; the local stack's own
    clients (SQS polling, SES delivery) live in another session, so the triggers are not
    counted as our calls. With ``detailed``, the meter also prices each request (request
    units from item sizes, bytes of mail, EventBridge chunks); that work is timed and kept
    out of the durations.
    """

    detailed: bool = False
    item_lookup: ItemLookup | None = None
    table_keys: tuple[str, ...] = ("PK", "SK")
    indexes: tuple[IndexSpec, ...] = ()
    calls: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    seconds_in_calls: float = 0.0
    meter_seconds: float = 0.0
    meter_cpu: float = 0.0
    read_units: float = 0.0
    write_units: float = 0.0
    items_read: int = 0
    ses_recipients: int = 0
    ses_bytes: int = 0
    s3_puts: int = 0
    s3_gets: int = 0
    s3_bytes_in: int = 0
    events_billed: int = 0
    partition_writes: Counter[str] = field(default_factory=Counter)  # write units
    write_units_by_target: Counter[str] = field(default_factory=Counter)  # table, each index
    by_function: Counter[str] = field(default_factory=Counter)
    write_units_by_function: dict[str, float] = field(default_factory=dict)
    cpu_in_calls: float = 0.0
    cpu_by_function: dict[str, float] = field(default_factory=dict)
    current_function: str = "-"

    def reset(self) -> None:
        """Start counting afresh (keeps the hooks)."""
        fresh = AwsMeter(detailed=self.detailed, item_lookup=self.item_lookup)
        kept = ("detailed", "item_lookup", "table_keys", "indexes", "current_function")
        for name in fresh.__dataclass_fields__:
            if name not in kept:
                setattr(self, name, getattr(fresh, name))

    def install(self, events: Any) -> None:
        """Register on a botocore event emitter (a session's, before it creates clients)."""
        events.register("before-parameter-build", self._started)
        events.register("after-call", self._finished)
        events.register("after-call-error", self._failed)

    def _started(
        self, params: Mapping[str, Any], context: dict[str, Any], model: Any = None, **_: Any
    ) -> None:
        context["bench_params"] = params
        if self.detailed and model is not None and model.service_model.service_name == "dynamodb":
            # The items as they are before the write: what it costs depends on them too.
            looked_up, looked_up_cpu = time.perf_counter(), time.thread_time()
            context["bench_writes"] = self._item_writes(str(model.name), params)
            self.meter_seconds += time.perf_counter() - looked_up
            self.meter_cpu += time.thread_time() - looked_up_cpu
        context["bench_started"] = time.perf_counter()
        context["bench_cpu"] = time.thread_time()

    def _failed(self, context: dict[str, Any], model: Any, **_: Any) -> None:
        self._finished(parsed={"Error": {"Code": "NoResponse"}}, context=context, model=model)

    def _finished(
        self, parsed: Mapping[str, Any], context: dict[str, Any], model: Any, **_: Any
    ) -> None:
        ended, ended_cpu = time.perf_counter(), time.thread_time()
        cpu = ended_cpu - context.pop("bench_cpu", ended_cpu)
        started = context.pop("bench_started", ended)
        params = context.pop("bench_params", {})
        self.seconds_in_calls += ended - started
        self.cpu_in_calls += cpu
        cpu_by_function = self.cpu_by_function
        cpu_by_function[self.current_function] = (
            cpu_by_function.get(self.current_function, 0.0) + cpu
        )
        service = str(model.service_model.service_name)
        service = "ses" if service == "sesv2" else service
        self.calls[service] += 1
        self.operations[f"{service}:{model.name}"] += 1
        self.by_function[f"{self.current_function} {service}:{model.name}"] += 1
        if service == "dynamodb":
            self.items_read += int(parsed.get("ScannedCount", 0))
            self.items_read += 1 if parsed.get("Item") else 0
        if self.detailed:
            units_before = self.write_units
            writes = context.pop("bench_writes", [])
            self._price(service, str(model.name), params, parsed, writes)
            spent = self.write_units - units_before
            by_function = self.write_units_by_function
            by_function[self.current_function] = by_function.get(self.current_function, 0) + spent
            self.meter_seconds += time.perf_counter() - ended
            self.meter_cpu += time.thread_time() - ended_cpu

    # ---------------------------------------------------------------- pricing details
    def _price(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        parsed: Mapping[str, Any],
        writes: Sequence[ItemWrite] = (),
    ) -> None:
        if service == "dynamodb":
            self._price_dynamodb(operation, params, parsed)
            self._price_writes(operation, writes, succeeded="Error" not in parsed)
        elif service == "ses":
            raw = params.get("RawMessage", {}).get("Data") or (
                params.get("Content", {}).get("Raw", {}).get("Data", b"")
            )
            destinations = params.get("Destinations") or params.get("Destination", {}).get(
                "ToAddresses", []
            )
            self.ses_recipients += max(1, len(destinations))
            self.ses_bytes += len(raw)
        elif service == "s3" and operation == "PutObject":
            self.s3_puts += 1
            body = params.get("Body", b"")
            self.s3_bytes_in += len(body) if isinstance(body, bytes | str) else 0
        elif service == "s3" and operation == "GetObject":
            self.s3_gets += 1
        elif service == "events" and operation == "PutEvents":
            for entry in params.get("Entries", []):
                size = sum(len(str(entry.get(k, "")).encode()) for k in ("Detail", "DetailType"))
                self.events_billed += max(1, math.ceil(size / 65536))

    def _price_dynamodb(
        self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
    ) -> None:
        if operation == "GetItem":
            self.read_units += read_units(
                item_size(parsed.get("Item")), consistent=bool(params.get("ConsistentRead"))
            )
        elif operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items", []))
            self.read_units += read_units(size, consistent=bool(params.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            # Each item is a read of its own; the consistency is asked per table.
            requested = params.get("RequestItems", {})
            for table, items in parsed.get("Responses", {}).items():
                consistent = bool(requested.get(table, {}).get("ConsistentRead"))
                for item in items:
                    self.read_units += read_units(item_size(item), consistent=consistent)
        elif operation == "TransactGetItems":
            for response in parsed.get("Responses", []):
                self.read_units += 2 * read_units(item_size(response.get("Item")), consistent=True)

    # ---------------------------------------------------------------- write units
    def _item_writes(self, operation: str, params: Mapping[str, Any]) -> list[ItemWrite]:
        """The items a write request names, each with its current (before) image."""
        found: list[tuple[str, str, dict[str, Any], Mapping[str, Any] | None]] = []
        if operation == "PutItem":
            found.append(("Put", str(params["TableName"]), {}, params.get("Item", {})))
        elif operation in ("UpdateItem", "DeleteItem"):
            kind = operation.removesuffix("Item")
            found.append((kind, str(params["TableName"]), dict(params.get("Key", {})), None))
        elif operation == "BatchWriteItem":
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        found.append(("Put", table, {}, request["PutRequest"]["Item"]))
                    else:
                        found.append(("Delete", table, dict(request["DeleteRequest"]["Key"]), None))
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                ((kind, body),) = entry.items()
                item = body.get("Item") if kind == "Put" else None
                found.append((kind, str(body["TableName"]), dict(body.get("Key", {})), item))
        writes = []
        for kind, table, named_key, item in found:
            key = named_key if item is None else {k: item[k] for k in self.table_keys if k in item}
            before = self.item_lookup(table, key) if self.item_lookup else None
            writes.append(ItemWrite(kind, table, key, before, item))
        return writes

    def _price_writes(
        self, operation: str, writes: Sequence[ItemWrite], *, succeeded: bool
    ) -> None:
        """Table writes (an item's larger size, before or after, in 1 KB units; twice in a
        transaction) and the index writes they cause (only when the write happened)."""
        multiplier = 2 if operation == "TransactWriteItems" else 1
        for write in writes:
            after: Mapping[str, Any] | None = write.before
            if succeeded and write.kind == "Put":
                after = write.put
            elif succeeded and write.kind == "Update":
                after = self.item_lookup(write.table, write.key) if self.item_lookup else None
            elif succeeded and write.kind == "Delete":
                after = None
            size = max(item_size(write.before), item_size(after), item_size(write.put))
            units = write_units(size)
            self.write_units += multiplier * units
            self.write_units_by_target["table"] += multiplier * units
            partition = (after or write.before or write.put or write.key).get("PK", {}).get("S")
            if partition:
                self.partition_writes[f"table:{_partition_family(partition)}"] += multiplier * units
            if not succeeded or write.kind == "ConditionCheck":
                continue
            for index in self.indexes:
                for spent, entry in index_write_units(index, self.table_keys, write.before, after):
                    self.write_units += spent
                    self.write_units_by_target[index.name] += spent
                    hash_value = entry.get(index.keys[0], {}).get("S")
                    if hash_value:
                        self.partition_writes[f"{index.name}:{_partition_family(hash_value)}"] += (
                            spent
                        )


def _partition_family(key: str) -> str:
    """A partition key with its unique part blanked, so that shared partitions show up:
    ``TICKET#HD-7K3M9Q`` is one of many, ``TIMER#sla#2`` is one of four."""
    kind, _, rest = key.partition("#")
    if kind in ("TICKET", "CONTACT", "MSGID", "RAW", "FORM"):
        return f"{kind}#*"
    if kind == "RATE":
        scope, _, _ = rest.partition("#")
        return f"RATE#{scope}#<address>#<hour>"
    return key


@contextmanager
def metered(stack: LocalStack, *, detailed: bool) -> Iterator[tuple[AwsMeter, AwsMeter]]:
    """Meters on the functions' default session and on the stack's own SQS client.

    Yields ``(functions, triggers)``. The stack drops the default session when it starts;
    a new one is made here, before any function creates its clients, so they inherit the
    hooks.
    """
    import boto3

    table = stack.resolver.ref("DomainTable") if stack.resolver else ""

    def lookup(table_name: str, key: Mapping[str, Any]) -> Mapping[str, Any] | None:
        found: Mapping[str, Any] | None = stack.dynamodb.get_item(
            TableName=table_name or table, Key=dict(key)
        ).get("Item")
        return found

    table_keys, indexes = table_indexes(stack.template)
    functions = AwsMeter(
        detailed=detailed, item_lookup=lookup, table_keys=table_keys, indexes=indexes
    )
    triggers = AwsMeter()
    boto3.setup_default_session()
    functions.install(boto3.DEFAULT_SESSION.events)
    from helpdesk.aws import clients

    clients.reset()
    for function in stack.functions.values():
        function.module = None
    triggers.install(stack.sqs.meta.events)
    try:
        yield functions, triggers
    finally:
        stack.sqs.meta.events.unregister("before-parameter-build", triggers._started)
        stack.sqs.meta.events.unregister("after-call", triggers._finished)
        stack.sqs.meta.events.unregister("after-call-error", triggers._failed)


@dataclass
class InvocationLog:
    """Each function's invocations, records and duration (meter work taken out)."""

    invocations: Counter[str] = field(default_factory=Counter)
    records: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    billed_ms: Counter[str] = field(default_factory=Counter)
    # What came through an SQS event source mapping (records, batches): what its requests
    # cost. Not every invocation of a function with a queue: acknowledge and route also
    # keep the previous release's queues, empty, while their rules invoke them directly.
    sqs_records: Counter[str] = field(default_factory=Counter)
    sqs_batches: Counter[str] = field(default_factory=Counter)


@contextmanager
def logged_invocations(stack: LocalStack, meter: AwsMeter) -> Iterator[InvocationLog]:
    """Time every invocation the stack makes (queue polls, HTTP routes, schedules)."""
    from helpdesk.aws.sqs_batch import is_sqs_batch

    log = InvocationLog()
    original = stack.invoke

    def timed(name: str, event: Mapping[str, Any]) -> Any:
        meter_before, meter_cpu_before = meter.meter_seconds, meter.meter_cpu
        meter.current_function = name
        started = time.perf_counter()
        started_cpu = time.thread_time()
        try:
            return original(name, event)
        finally:
            meter.current_function = "-"
            cpu = time.thread_time() - started_cpu - (meter.meter_cpu - meter_cpu_before)
            log.cpu_seconds[name] = log.cpu_seconds.get(name, 0.0) + cpu
            elapsed = time.perf_counter() - started - (meter.meter_seconds - meter_before)
            log.invocations[name] += 1
            log.records[name] += len(event.get("Records", [])) or 1
            if is_sqs_batch(event):
                log.sqs_records[name] += len(event["Records"])
                log.sqs_batches[name] += 1
            log.seconds[name] = log.seconds.get(name, 0.0) + elapsed
            # Lambda bills duration rounded up to the millisecond. CPU time stands in for
            # it: steady on a shared machine, and moto's work for each request costs more
            # CPU than the network round trip it replaces would take.
            log.billed_ms[name] += math.ceil(cpu * 1000)

    stack.invoke = timed  # type: ignore[method-assign]
    try:
        yield log
    finally:
        del stack.invoke


def _check(stack: LocalStack, what: str) -> None:
    if stack.invocation_errors:
        last = stack.invocation_errors[-1].strip().splitlines()[-1]
        raise BenchError(f"{what}: {len(stack.invocation_errors)} failed invocations ({last})")


# ---------------------------------------------------------------------------- imports
_IMPORT_PROBE = """
import sys, time
sys.path[:0] = sys.argv[1:]
started = time.perf_counter()
import {module}
print((time.perf_counter() - started) * 1000)
"""


def handler_names() -> list[str]:
    """Every function folder with a handler, in name order."""
    return sorted(path.parent.name for path in (REPO_ROOT / "functions").glob("*/app.py"))


def _import_ms(module: str, path: Sequence[str]) -> float:
    output = subprocess.run(  # noqa: S603 - our own interpreter, our own probe
        [sys.executable, "-I", "-c", _IMPORT_PROBE.format(module=module), *path],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    ).stdout
    return float(output.strip().splitlines()[-1])


def measure_imports(runs: int = 5) -> tuple[dict[str, float], float]:
    """Median fresh-process import time of each handler (loaded as Lambda does: its folder
    and the layer on sys.path) and of ``import boto3``, in milliseconds.

    The bytecode caches are written first, as the deployed layer and functions ship them;
    rounds interleave the modules so that noise spreads evenly.
    """
    import compileall

    layer = str(REPO_ROOT / "layers" / "helpdesk")
    for folder in (layer, str(REPO_ROOT / "functions")):
        compileall.compile_dir(folder, quiet=1)
    probes: dict[str, tuple[str, list[str]]] = {
        name: ("app", [str(REPO_ROOT / "functions" / name), layer]) for name in handler_names()
    }
    probes["boto3"] = ("boto3", [])
    samples: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(runs):
        for name, (module, path) in probes.items():
            samples[name].append(_import_ms(module, path))
    medians = {name: round(statistics.median(values), 1) for name, values in samples.items()}
    floor = medians.pop("boto3")
    return medians, floor


# ---------------------------------------------------------------------------- the layer
# Lambda's CodeSizeUnzipped quota, function and layers together: 250 MB, counted in MiB
# (GetAccountSettings answers 262144000 bytes).
LAYER_UNZIPPED_LIMIT_MB = 250.0


def measure_layer() -> dict[str, Any]:
    """Builds the layer as `sam build` does (the Makefile's build-HelpdeskLayer into a fresh
    ARTIFACTS_DIR) and measures it: unzipped and zipped MiB, and the largest packages."""
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory(prefix="helpdesk-layer-") as scratch:
        artifacts = Path(scratch) / "artifacts"
        subprocess.run(  # noqa: S603 - our own Makefile target
            ["make", "--makefile", str(REPO_ROOT / "Makefile"), "build-HelpdeskLayer"],  # noqa: S607
            cwd=scratch,
            env={**os.environ, "ARTIFACTS_DIR": str(artifacts)},
            check=True,
            capture_output=True,
        )
        files = [path for path in artifacts.rglob("*") if path.is_file()]
        unzipped = sum(path.stat().st_size for path in files)
        archive = Path(scratch) / "layer.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for path in files:
                zipped.write(path, path.relative_to(artifacts))
        site = artifacts / "python"
        by_folder: Counter[str] = Counter()
        for path in files:
            top = path.relative_to(site).parts[0]
            by_folder[top.removesuffix(".libs")] += path.stat().st_size
        return {
            "unzipped_mb": round(unzipped / MIB, 1),
            "zipped_mb": round(archive.stat().st_size / MIB, 1),
            "largest_mb": {name: round(size / MIB, 1) for name, size in by_folder.most_common(8)},
        }


# ---------------------------------------------------------------------------- the pipeline
@dataclass
class PipelineFigures:
    """Per-ticket figures of the email pipeline (one mail at a time, no batching)."""

    tickets: int
    calls: dict[str, float]
    operations: dict[str, float]
    lambda_invocations: float
    sqs_trigger_requests: float
    gb_seconds: float
    read_units: float
    write_units: float
    events_billed: float
    mails_out: float
    mail_in_bytes: int
    mail_out_bytes: float
    s3_puts: float
    s3_gets: float
    function_ms: dict[str, float]
    operations_by_function: dict[str, float]
    write_units_by_function: dict[str, float]
    write_units_by_target: dict[str, float] = field(default_factory=dict)


def _memory_mb(stack: LocalStack, name: str) -> int:
    from helpdesk_local.cfn import function_properties

    props = function_properties(stack.template, stack.functions[name].logical_id)
    return int(props.get("MemorySize", 128))


def measure_pipeline(stack: LocalStack, *, tickets: int = 5) -> PipelineFigures:
    """Email in -> ticket, acknowledgement, assignment: every AWS request the functions make,
    priced, one mail at a time (the worst case for batching)."""
    with metered(stack, detailed=True) as (meter, _), logged_invocations(stack, meter) as log:
        stack.deliver_email(sample_mail(10_000))
        stack.drain()  # a warm container: imports, clients and config are paid once
        _check(stack, "warm-up ticket")
        meter.reset()
        log.invocations.clear()
        log.records.clear()
        log.sqs_records.clear()
        log.sqs_batches.clear()
        log.seconds.clear()
        log.cpu_seconds.clear()
        log.billed_ms.clear()
        mail_bytes = 0
        for index in range(tickets):
            raw = sample_mail(index)
            mail_bytes = len(raw)
            stack.deliver_email(raw)
            stack.drain()
        _check(stack, "pipeline")
    per = 1 / tickets
    gb_seconds = sum(
        log.billed_ms[name] / 1000 * _memory_mb(stack, name) / 1024 for name in log.billed_ms
    )
    # A queue hop (none on an email ticket's path since the bucket invokes the intake) costs
    # a send, a receive and a delete per batch: the event source mapping's requests, billed
    # to us. The bucket invokes the intake, and the bus's rules acknowledge and route,
    # directly: asynchronous invocations, Lambda requests counted
    # like every invocation; EventBridge charges the event put, not its delivery to a
    # target in the same account (EventBridge pricing page).
    queue_hops = sum(log.sqs_records.values())
    queue_batches = sum(log.sqs_batches.values())
    return PipelineFigures(
        tickets=tickets,
        calls={service: meter.calls[service] * per for service in CONTRACT_SERVICES}
        | {s: n * per for s, n in meter.calls.items() if s not in CONTRACT_SERVICES},
        operations={op: n * per for op, n in sorted(meter.operations.items())},
        lambda_invocations=sum(log.invocations.values()) * per,
        sqs_trigger_requests=(queue_hops + 2 * queue_batches) * per,
        gb_seconds=gb_seconds * per,
        read_units=meter.read_units * per,
        write_units=meter.write_units * per,
        events_billed=meter.events_billed * per,
        mails_out=meter.ses_recipients * per,
        mail_in_bytes=mail_bytes,
        mail_out_bytes=meter.ses_bytes * per,
        s3_puts=meter.s3_puts * per,
        s3_gets=meter.s3_gets * per,
        function_ms={
            name: round(log.billed_ms[name] / log.invocations[name], 1)
            for name in sorted(log.invocations)
        },
        operations_by_function={op: n * per for op, n in sorted(meter.by_function.items())},
        write_units_by_function={
            name: round(units * per, 1)
            for name, units in sorted(meter.write_units_by_function.items())
        },
        write_units_by_target={
            name: round(units * per, 2)
            for name, units in sorted(meter.write_units_by_target.items())
        },
    )


def cost_per_ticket(figures: PipelineFigures, prices: Prices = PRICES) -> dict[str, float]:
    """USD per ticket, per service, at ``prices``."""
    inbound_chunks = max(1, math.ceil(figures.mail_in_bytes / (256 * 1024)))
    return {
        "ses": prices.ses_inbound_mail
        + inbound_chunks * prices.ses_inbound_chunk_256kb
        + figures.mails_out * prices.ses_outbound_mail,
        # SES's S3 action stores the mail (one PUT); the functions' GETs and PUTs follow.
        "s3": (1 + figures.s3_puts) * prices.s3_put + figures.s3_gets * prices.s3_get,
        "lambda": figures.lambda_invocations * prices.lambda_request
        + figures.gb_seconds * prices.lambda_gb_second_x86_64,
        "dynamodb": figures.write_units * prices.dynamodb_write_unit
        + figures.read_units * prices.dynamodb_read_unit,
        "sqs": (figures.sqs_trigger_requests + figures.calls.get("sqs", 0))
        * prices.sqs_request_per_64kb,
        "events": figures.events_billed * prices.eventbridge_event_per_64kb,
        "http_api": 0.0,
    }


def floor_cost_per_ticket(figures: PipelineFigures, prices: Prices = PRICES) -> float:
    """What SES and S3 alone charge for the same mail in and out: receiving it, storing it,
    reading it once, sending the same number of mails."""
    inbound_chunks = max(1, math.ceil(figures.mail_in_bytes / (256 * 1024)))
    return (
        prices.ses_inbound_mail
        + inbound_chunks * prices.ses_inbound_chunk_256kb
        + prices.s3_put
        + prices.s3_get
        + figures.mails_out * prices.ses_outbound_mail
    )


# ---------------------------------------------------------------------------- throughput
@dataclass
class Throughput:
    pipeline_tickets_per_s: float
    floor_tickets_per_s: float
    own_ms_per_ticket: float
    aws_ms_per_ticket: float
    own_ms_per_ticket_by_function: dict[str, float]


def measure_throughput(stack: LocalStack, *, tickets: int = 30) -> Throughput:
    """N mails of ~5 KB through a warm stack (delivered, then drained in batches), against
    the minimal conditional puts of a ticket (ticket, message, contact) on the same stack.

    Own time is the drain's CPU time minus the CPU time inside AWS calls (the functions'
    and the stack's own polling alike): CPU time, so that other work on a shared machine
    does not count as ours. Tickets per second are wall time, for the pipeline and its
    floor alike.
    """
    with (
        metered(stack, detailed=False) as (meter, triggers),
        logged_invocations(stack, meter) as log,
    ):
        stack.deliver_email(sample_mail(20_000))
        stack.drain()
        _check(stack, "warm-up ticket")
        for index in range(tickets):
            stack.deliver_email(sample_mail(20_001 + index))
        meter.reset()
        triggers.reset()
        log.seconds.clear()
        log.cpu_seconds.clear()
        stream_cpu_before = stack.event_source_cpu
        around_before = dict(stack.invocation_cpu)
        started, started_cpu = time.perf_counter(), time.thread_time()
        stack.drain()
        wall = time.perf_counter() - started
        cpu = time.thread_time() - started_cpu
        _check(stack, "throughput")
        aws = meter.seconds_in_calls + triggers.seconds_in_calls
        # Lambda's reading and filtering of the stream (emulated by the stack) is not ours,
        # nor its work around each invocation (the process environment switched to the
        # function's, the payloads' sizes checked: in AWS that happens outside the function).
        stream_cpu = stack.event_source_cpu - stream_cpu_before
        around = {
            name: cpu - around_before.get(name, 0.0) for name, cpu in stack.invocation_cpu.items()
        }
        aws_cpu = meter.cpu_in_calls + triggers.cpu_in_calls + stream_cpu + sum(around.values())
        floor = _floor_puts(stack, tickets)
    return Throughput(
        pipeline_tickets_per_s=round(tickets / wall, 1),
        floor_tickets_per_s=round(tickets / floor, 1),
        own_ms_per_ticket=round(max(0.0, cpu - aws_cpu) * 1000 / tickets, 2),
        aws_ms_per_ticket=round(aws * 1000 / tickets, 2),
        own_ms_per_ticket_by_function={
            name: round(
                (seconds - meter.cpu_by_function.get(name, 0.0) - around.get(name, 0.0))
                * 1000
                / tickets,
                2,
            )
            for name, seconds in sorted(log.cpu_seconds.items())
        },
    )


def _floor_puts(stack: LocalStack, tickets: int) -> float:
    """Seconds for the fewest writes a ticket can take: three conditional puts."""
    import boto3

    db = boto3.client("dynamodb")
    table = stack.resolver.ref("DomainTable") if stack.resolver else ""
    text = "x" * 5000
    started = time.perf_counter()
    for index in range(tickets):
        ref = f"HD-FLOOR{index:04d}"
        for item in (
            {"PK": {"S": f"TICKET#{ref}"}, "SK": {"S": "META"}, "subject": {"S": "Order"}},
            {"PK": {"S": f"TICKET#{ref}"}, "SK": {"S": "MSG#1"}, "text": {"S": text}},
            {"PK": {"S": f"CONTACT#floor{index}@example.com"}, "SK": {"S": "META"}},
        ):
            db.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(PK)")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- the SLA sweep
def sweep_method() -> str:
    """What the sweep figure measures: the real sweep if it exists, else the timer-index
    query the repository offers for it."""
    if find_spec("helpdesk.services.sla_sweep") is not None:
        return "sla_check function (services/sla_sweep.py)"
    return "DynamoRepository.due_timers('sla') (services/sla_sweep.py not written yet)"


def _closed_ticket(index: int, at: datetime) -> dict[str, Any]:
    """A closed ticket's META item with the keys and attributes every index looks at (the
    rest of a real one changes nothing for the sweep and would only slow moto down)."""
    ref = f"HD-C{index:05d}"
    when = (at - timedelta(days=30 + index % 300)).isoformat()
    return {
        "PK": {"S": f"TICKET#{ref}"},
        "SK": {"S": "META"},
        "type": {"S": "ticket"},
        "status": {"S": "closed"},
        "GSI1PK": {"S": f"CONTACT#old{index % 997}@example.com"},
        "GSI1SK": {"S": f"{when}#{ref}"},
        "closed_at": {"S": when},
    }


def _write_history(stack: LocalStack, closed: int) -> None:
    """Closed tickets straight into moto's table, unmetered: the items its ``put_item``
    would store, without the per-request validation that makes 20,000 of them take a
    quarter of a minute through ``batch_write_item``."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from helpdesk_local.stack import ACCOUNT, REGION

    name = stack.resolver.ref("DomainTable") if stack.resolver else ""
    table = dynamodb_backends[ACCOUNT][REGION].tables[name]
    at = stack.clock.peek()
    for index in range(closed):
        attributes = _closed_ticket(index, at)
        item = Item(DynamoType(attributes["PK"]), DynamoType(attributes["SK"]), attributes)
        table.items[item.hash_key][item.range_key] = item


def sweep_items_read(histories: Sequence[int], *, open_tickets: int = 2) -> dict[str, int]:
    """Items the SLA sweep reads with the same ``open_tickets`` running clocks (all due) and
    each number of closed tickets in ``histories``, keyed ``history_<n>``.

    The open tickets come through the real pipeline once; before each sweep the table is
    put back as it was then (moto's table object, copied while it is small), so every sweep
    sees exactly the same open tickets and differs only in the history written beside them.
    """
    import copy

    from moto.dynamodb.models import dynamodb_backends

    from helpdesk_local.stack import ACCOUNT, REGION, LocalStack

    results: dict[str, int] = {}
    with LocalStack(start=MONDAY_MORNING) as stack:
        for index in range(open_tickets):
            stack.deliver_email(sample_mail(30_000 + index))
        stack.drain()
        _check(stack, "sweep set-up")
        # A week later every SLA clock of the open tickets is due.
        stack.clock.set(MONDAY_MORNING + timedelta(days=7))
        tables = dynamodb_backends[ACCOUNT][REGION].tables
        table = stack.resolver.ref("DomainTable") if stack.resolver else ""
        as_seeded = copy.deepcopy(tables[table])
        for closed in histories:
            tables[table] = copy.deepcopy(as_seeded)
            _write_history(stack, closed)
            results[f"history_{closed}"] = _sweep_once(stack, table, open_tickets)
    return results


def _sweep_once(stack: LocalStack, table: str, open_tickets: int) -> int:
    with metered(stack, detailed=False) as (meter, _):
        if find_spec("helpdesk.services.sla_sweep") is not None:
            stack.invoke("sla_check", {"source": "aws.scheduler", "detail": {}})
        else:
            from helpdesk import timers
            from helpdesk.aws.dynamodb import DynamoRepository

            shards = int(stack.functions["sla_check"].environment.get("TIMER_SHARDS", "1"))
            due = list(
                DynamoRepository(table, timer_shards=shards).due_timers(
                    timers.SLA, timers.due_key(stack.clock.peek())
                )
            )
            if len(due) != open_tickets:
                raise BenchError(f"sweep found {len(due)} due clocks, not {open_tickets}")
        _check(stack, "sweep")
        return meter.items_read


# ---------------------------------------------------------------------------- memory
def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ≥ 4.0: ``5`` into clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def intake_peak_rss(total_bytes: int) -> dict[str, Any]:
    """Run in a fresh process: peak resident memory added while email_intake takes in one
    mail of ``total_bytes``, and the same for a bare read of that mail from (moto's) S3.

    The peak is reset after the delivery (moto's own copies of the upload would otherwise
    be the peak) and measured as VmHWM minus VmRSS just before the drain. Without
    /proc/self/clear_refs it falls back to ru_maxrss minus its value before the delivery.
    """
    from helpdesk_local.stack import LocalStack

    with LocalStack(start=MONDAY_MORNING) as stack:
        stack.deliver_email(sample_mail(40_000))
        stack.drain()  # imports, clients, config: a warm container, as the second mail sees it
        raw = sized_mail(total_bytes, index=40_001)
        size = len(raw)
        baseline_before_delivery = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        key = stack.deliver_email(raw)
        del raw
        gc.collect()
        resettable = _reset_peak()
        before = _rss_mb()
        body = stack.s3.get_object(Bucket=stack.raw_bucket, Key=key)["Body"].read()
        del body
        gc.collect()
        read_floor = _peak_mb() - before
        _reset_peak()
        before = _rss_mb() if resettable else baseline_before_delivery
        stack.drain()
        peak = _peak_mb() - before
        errors = len(stack.invocation_errors)
    return {
        "mail_bytes": size,
        "peak_mb": round(max(peak, 0.0), 2),
        "read_floor_mb": round(max(read_floor, 0.0), 2) if resettable else None,
        "method": "VmHWM-VmRSS" if resettable else "ru_maxrss",
        "errors": errors,
    }


_RSS_PROBE = (
    "import json, sys\n"
    "from helpdesk_local.bench import intake_peak_rss\n"
    "print(json.dumps(intake_peak_rss(int(sys.argv[1]))))\n"
)


# VmHWM, not ru_maxrss: a spawned child's ru_maxrss starts at its parent's peak (Linux folds
# the pre-exec address space into it), and the bench's parent holds a whole local stack.
_FOOTPRINT_PROBE = """
import pathlib, resource, sys
sys.path[:0] = sys.argv[1:]
import app, boto3
for service in ("dynamodb", "s3", "events"):
    boto3.client(service, region_name="us-east-1")
from helpdesk.services.email_intake import EmailIntake
from helpdesk.language import detect_language
detect_language("Hello, where is my order?", ("en", "de"), "en")
from helpdesk.mail.parse import parse_mail
parse_mail(b"From: a@example.com\\r\\nSubject: x\\r\\n\\r\\n<p>hi</p>")
status = pathlib.Path("/proc/self/status")
peaks = [line for line in status.read_text().splitlines() if line.startswith("VmHWM:")]
kib = int(peaks[0].split()[1]) if peaks else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(kib / 1024)
"""


def start_intake_memory(sizes: Mapping[str, int]) -> Callable[[], dict[str, dict[str, Any]]]:
    """Start :func:`intake_peak_rss` for each named size, each in its own fresh interpreter,
    all at once (memory is not a timing: they may share the cores with other work); the
    returned function waits for them and collects the figures."""
    children = {
        name: subprocess.Popen(  # noqa: S603 - our own interpreter, our own probe
            [sys.executable, "-c", _RSS_PROBE, str(size)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        for name, size in sizes.items()
    }
    layer = str(REPO_ROOT / "layers" / "helpdesk")
    footprint = subprocess.Popen(  # noqa: S603 - our own interpreter, our own probe
        [
            sys.executable,
            "-I",
            "-c",
            _FOOTPRINT_PROBE,
            str(REPO_ROOT / "functions" / "email_intake"),
            layer,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )

    def collect() -> dict[str, dict[str, Any]]:
        output, _ = footprint.communicate()
        # What a warm email_intake container holds before any mail: interpreter, imports,
        # clients. Lambda's "Max Memory Used" is this plus the peak a mail adds.
        cold_mb = float(output.strip().splitlines()[-1]) if footprint.returncode == 0 else 0.0
        results = {}
        for name, child in children.items():
            output, errors = child.communicate()
            if child.returncode != 0:
                raise BenchError(f"intake memory, {name}: {errors.strip().splitlines()[-1:]}")
            figures = json.loads(output.strip().splitlines()[-1])
            figures["container_mb"] = round(cold_mb, 1)
            figures["lambda_max_memory_used_mb"] = round(cold_mb + figures["peak_mb"], 1)
            results[name] = figures
        return results

    return collect


# ---------------------------------------------------------------------------- hostile mail
PARSE_HOSTILE_RATIO_TARGET = 2.0
PARSE_S_PER_MB_TARGET = 1.0


def _benign_html(size: int) -> str:
    """An HTML reply as clients write it: styled paragraphs, links, tables, lists, a quote."""
    generator = random.Random(size)
    words = [
        "order",
        "parcel",
        "refund",
        "invoice",
        "delivery",
        "tracking",
        "hello",
        "thanks",
        "week",
        "address",
    ]

    def sentence() -> str:
        return " ".join(generator.choice(words) for _ in range(generator.randint(6, 16))) + "."

    blocks: list[str] = []
    length = 0
    while length < size:
        kind = generator.randrange(4)
        if kind == 0:
            block = f'<p style="margin:0;font-family:Arial">{sentence()} {sentence()}</p>\n'
        elif kind == 1:
            block = f'<div dir="ltr"><span>{sentence()}</span> <a href="https://shop.example/o/{length}">order</a></div>\n'
        elif kind == 2:
            cells = "".join(
                f"<tr><td>{generator.choice(words)}</td><td>{n}</td><td>{sentence()}</td></tr>"
                for n in range(4)
            )
            block = f'<table cellpadding="0" width="100%"><tbody>{cells}</tbody></table>\n'
        else:
            block = f"<ul><li>{sentence()}</li><li>{sentence()}</li></ul><br>\n"
        blocks.append(block)
        length += len(block)
    return (
        '<html><body><div dir="ltr">Where is my order?</div><div class="gmail_quote">'
        f"On Mon, 23 Nov 2026, Support &lt;support@support.example&gt; wrote:<br>{''.join(blocks)}"
        "</div></body></html>"
    )


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def hostile_mails(size: int) -> dict[str, tuple[str, bytes]]:
    """Mails of about ``size`` bytes built to hit each known costly path of parsing (issue 14),
    each with the kind of benign mail it is compared with: "html" or "plain"."""
    text = "<p>Order 5521 is late.</p>"
    parts = "".join(
        f"--b0\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n" for n in range(max(1, size // 40))
    )
    many_parts = (
        "From: anna@example.com\r\nTo: support@support.example\r\nSubject: parts\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
        f"{parts}--b0--\r\n"
    ).encode()
    return {
        "script_openers_before_gmail_quote": (
            "html",
            text_mail(text + _repeat("<script>", size) + '<div class="gmail_quote">old</div>'),
        ),
        "nested_divs": (
            "html",
            text_mail(_repeat("<div>" * 30_000 + "text" + "</div>" * 30_000, size)),
        ),
        "pre_of_spaces": ("html", text_mail("<pre>" + " " * size + "x</pre>" + text)),
        "reopened_formatting": (
            "html",
            text_mail(text + "".join(f"<b id=b{n}><p>x" for n in range(size // 14))),
        ),
        "nested_tables": ("html", text_mail(_repeat("<table><tr><td>", size) + text)),
        "no_break_spaces": ("html", text_mail("<p>" + _repeat("&nbsp;", size) + "</p>" + text)),
        "unterminated_tags": ("html", text_mail(text + _repeat("<div", size))),
        "unterminated_comments": ("html", text_mail(text + _repeat("<!--", size))),
        "big_table": (
            "html",
            text_mail(
                text
                + "<table>"
                + _repeat(
                    "<tr><td>order</td><td>5521</td><td>shipped to the customer</td></tr>", size
                )
                + "</table>"
            ),
        ),
        "long_line_without_spaces": ("html", text_mail(text + "<p>" + "x" * size + "</p>")),
        "tag_of_many_attributes": (
            "html",
            text_mail(
                text
                + '<a href="https://shop.example/o"'
                + "".join(f" a{n}=x" for n in range(max(1, size // 10)))
                + ">order</a>"
            ),
        ),
        "from_of_many_at_signs": (
            "plain",
            text_mail("Order 5521 is late.", sender="@" * size, kind="plain"),
        ),
        "many_small_parts": ("plain", many_parts),
        "lines_starting_with_on": (
            "plain",
            text_mail(_repeat("On " + "a " * 198 + "\n", size), kind="plain"),
        ),
    }


def _parse_seconds(raw: bytes, runs: int) -> float:
    from helpdesk.mail.parse import parse_mail

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        parse_mail(raw)
        samples.append(time.perf_counter() - started)
    return min(samples)


def measure_parse_hostility(size: int = MIB, *, runs: int = 3) -> dict[str, Any]:
    """Parse time (``parse_mail``: the intake's own entry, HTML to text, sanitising and quote
    stripping included) of each hostile mail against a benign mail of the same size and
    kind; the best of ``runs`` each, so that the machine's noise does not count."""
    seconds: dict[str, float] = {}
    benign = {
        "html": text_mail(_benign_html(size)),
        "plain": text_mail(
            _repeat("Hello, my order has not arrived yet. Where is it?\n", size), kind="plain"
        ),
    }
    benign_seconds = {kind: _parse_seconds(raw, runs) for kind, raw in benign.items()}
    ratios: dict[str, float] = {}
    per_mb: dict[str, float] = {}
    for name, (kind, raw) in hostile_mails(size).items():
        seconds[name] = _parse_seconds(raw, runs)
        # Each hostile mail is compared with a benign one of its own size.
        reference = benign_seconds[kind] * len(raw) / len(benign[kind])
        ratios[name] = round(seconds[name] / reference, 2)
        per_mb[name] = round(seconds[name] / (len(raw) / 1e6), 3)
    for kind, raw in benign.items():
        per_mb[f"benign_{kind}"] = round(benign_seconds[kind] / (len(raw) / 1e6), 3)
    return {
        "ratio": max(ratios.values()),
        "slowest_s_per_mb": max(per_mb.values()),
        "ratios": ratios,
        "s_per_mb": per_mb,
        "benign_seconds": {kind: round(value, 4) for kind, value in benign_seconds.items()},
        "size_bytes": size,
    }


# ---------------------------------------------------------------------------- the bench
DEFAULT_RSS_SIZES = {"mail_100kb": 100 * 1024, "mail_25mb": 25 * MIB}


def run_bench(
    *,
    import_runs: int = 5,
    pipeline_tickets: int = 5,
    throughput_tickets: int = 20,
    closed_tickets: int = 20_000,
    rss_sizes: Mapping[str, int] = DEFAULT_RSS_SIZES,
    parse_size: int = MIB,
) -> dict[str, Any]:
    """Every figure of `helpdesk bench --json` (docs/PERFORMANCE.md), JSON-ready."""
    from helpdesk_local.stack import LocalStack

    started = time.perf_counter()
    sections: dict[str, float] = {}

    def lap(name: str) -> None:
        sections[name] = round(time.perf_counter() - started - sum(sections.values()), 1)

    import_ms, import_floor = measure_imports(import_runs)
    lap("imports")
    layer = measure_layer()
    lap("layer")
    with LocalStack(start=MONDAY_MORNING) as stack:
        pipeline = measure_pipeline(stack, tickets=pipeline_tickets)
        lap("pipeline")
        throughput = measure_throughput(stack, tickets=throughput_tickets)
        lap("throughput")
    # Counts, not timings, from here on: the memory probes run beside the sweep.
    collect_memory = start_intake_memory(rss_sizes)
    sweep = sweep_items_read((0, closed_tickets))
    lap("sweep")
    memory = collect_memory()
    lap("memory")
    hostile = measure_parse_hostility(parse_size)
    lap("parse_hostile")
    knowledge = measure_retrieval()
    knowledge_cold_ms = knowledge_cold_start_ms(import_runs)
    lap("knowledge")
    cost = cost_per_ticket(pipeline)
    cost_1000 = sum(cost.values()) * 1000
    floor_1000 = floor_cost_per_ticket(pipeline) * 1000
    calls = {s: round(pipeline.calls.get(s, 0.0), 2) for s in CONTRACT_SERVICES}
    calls["lambda_invocations"] = round(pipeline.lambda_invocations, 2)
    result: dict[str, Any] = {
        "import_ms": import_ms,
        "layer_unzipped_mb": layer["unzipped_mb"],
        "import_floor_ms": import_floor,
        "aws_calls_per_ticket": calls,
        "cost_per_1000_tickets_usd": round(cost_1000, 5),
        "cost_floor_per_1000_tickets_usd": round(floor_1000, 5),
        "sla_sweep_items_read": sweep,
        "pipeline_tickets_per_s": throughput.pipeline_tickets_per_s,
        "floor_tickets_per_s": throughput.floor_tickets_per_s,
        "own_ms_per_ticket": throughput.own_ms_per_ticket,
        "dynamodb_write_units_per_ticket": round(pipeline.write_units, 2),
        "intake_peak_rss_mb": {name: figure["peak_mb"] for name, figure in memory.items()},
        "parse_hostile_ratio": hostile["ratio"],
        "parse_slowest_s_per_mb": hostile["slowest_s_per_mb"],
        # The labelled questions of tests/data/knowledge_questions.yaml (docs/KNOWLEDGE.md).
        "knowledge_precision_at_3": knowledge.precision_at_3,
        "knowledge_offtopic_suggestion_rate": knowledge.offtopic_suggestion_rate,
        "details": {
            "knowledge": {
                **knowledge.details(),
                # helpdesk.knowledge imported, its bundle loaded, one question per language.
                "cold_start_ms": knowledge_cold_ms,
                "cold_start_ratio": round(knowledge_cold_ms / import_floor, 2),
            },
            "parse_hostile": hostile,
            "import_ratio": {n: round(ms / import_floor, 2) for n, ms in import_ms.items()},
            "cost_ratio": round(cost_1000 / floor_1000, 3),
            "cost_breakdown_per_1000_tickets_usd": {k: round(v * 1000, 5) for k, v in cost.items()},
            "aws_operations_per_ticket": pipeline.operations,
            "aws_operations_per_ticket_by_function": pipeline.operations_by_function,
            "dynamodb_write_units_per_ticket_by_function": pipeline.write_units_by_function,
            # The table's writes (transactions twice) and each index's.
            "dynamodb_write_units_per_ticket_by_target": pipeline.write_units_by_target,
            "our_aws_calls_per_ticket": round(
                sum(pipeline.calls.get(s, 0.0) for s in CONTRACT_SERVICES), 2
            ),
            "sqs_trigger_requests_per_ticket": round(pipeline.sqs_trigger_requests, 2),
            "dynamodb_units_per_ticket": {
                "read": round(pipeline.read_units, 2),
                "write": round(pipeline.write_units, 2),
            },
            "eventbridge_events_per_ticket": round(pipeline.events_billed, 2),
            "mails_out_per_ticket": round(pipeline.mails_out, 2),
            "mail_bytes": {
                "in": pipeline.mail_in_bytes,
                "out_per_ticket": round(pipeline.mail_out_bytes),
            },
            "lambda_gb_s_per_ticket": round(pipeline.gb_seconds, 5),
            "function_billed_ms_per_invocation": pipeline.function_ms,
            "aws_ms_per_ticket": throughput.aws_ms_per_ticket,
            "own_ms_per_ticket_by_function": throughput.own_ms_per_ticket_by_function,
            "sla_sweep_method": sweep_method(),
            "intake_memory": memory,
            "layer": layer,
            "prices_source": PRICES_SOURCE,
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(terse=True),
            },
            "sizes": {
                "import_runs": import_runs,
                "pipeline_tickets": pipeline_tickets,
                "throughput_tickets": throughput_tickets,
                "closed_tickets": closed_tickets,
            },
            "seconds": round(time.perf_counter() - started, 1),
            "section_seconds": sections,
        },
    }
    # Each goal's verdict in the JSON too, so that a script need not recompute the goals.
    checked = targets(result)
    result["targets"] = {
        name: {"value": t.value, "target": t.target, "met": t.met} for name, t in checked.items()
    }
    result["targets_missed"] = [name for name, t in checked.items() if not t.met]
    return result


# ---------------------------------------------------------------------------- the goals
@dataclass(frozen=True)
class Target:
    """One goal: the figure it judges, the goal as written (``<= 1.05``), whether it holds."""

    value: float
    target: str
    met: bool


def _at_most(value: float, limit: float, *, shown: float | None = None) -> Target:
    """``value`` judged as measured; ``shown`` (a rounding of it) is what the figure says."""
    return Target(value if shown is None else shown, f"<= {limit:g}", value <= limit)


def targets(result: Mapping[str, Any]) -> dict[str, Target]:
    """Every goal of the bench against ``result``'s figures, by name: the one reading of
    the goals, which the table shows and the JSON carries."""
    details = result["details"]
    floor = result["import_floor_ms"]
    goals = {
        f"import {name}": _at_most(ms / floor, IMPORT_RATIO_TARGET, shown=round(ms / floor, 2))
        for name, ms in result["import_ms"].items()
    }
    sweep = list(result["sla_sweep_items_read"].values())
    cost_ratio = result["cost_per_1000_tickets_usd"] / result["cost_floor_per_1000_tickets_usd"]
    precision = result["knowledge_precision_at_3"]
    layer_mb = result["layer_unzipped_mb"]
    return goals | {
        "aws_calls_per_ticket": _at_most(
            details["our_aws_calls_per_ticket"], CALLS_PER_TICKET_TARGET
        ),
        # Judged unrounded: 1.0504 misses 1.05 though it shows as 1.050 (review8).
        "cost_ratio": _at_most(cost_ratio, COST_RATIO_TARGET, shown=round(cost_ratio, 3)),
        "dynamodb_write_units_per_ticket": _at_most(
            result["dynamodb_write_units_per_ticket"], WRITE_UNITS_PER_TICKET_TARGET
        ),
        "sla_sweep_items_read": Target(sweep[-1], "= floor", all(v == sweep[0] for v in sweep)),
        "own_ms_per_ticket": _at_most(result["own_ms_per_ticket"], OWN_MS_TARGET),
        "layer_unzipped_mb": Target(
            layer_mb, f"< {LAYER_UNZIPPED_LIMIT_MB:g}", layer_mb < LAYER_UNZIPPED_LIMIT_MB
        ),
        "intake_peak_rss_mb_25mb": _at_most(
            result["intake_peak_rss_mb"]["mail_25mb"], RSS_25MB_TARGET_MB
        ),
        "parse_hostile_ratio": _at_most(result["parse_hostile_ratio"], PARSE_HOSTILE_RATIO_TARGET),
        "parse_slowest_s_per_mb": _at_most(result["parse_slowest_s_per_mb"], PARSE_S_PER_MB_TARGET),
        "knowledge_precision_at_3": Target(
            precision, f">= {PRECISION_AT_3_GOAL}", precision >= PRECISION_AT_3_GOAL
        ),
        "knowledge_offtopic_suggestion_rate": _at_most(
            result["knowledge_offtopic_suggestion_rate"], OFFTOPIC_RATE_GOAL
        ),
    }


# ---------------------------------------------------------------------------- the table
def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _goal(target: Target) -> str:
    return f"{target.target} {_verdict(target.met)}"


def _against_goal(figure: str, value: str, target: Target) -> tuple[str, str, str, str, str]:
    """A row of a figure judged by its goal alone: it has no floor, so no ratio either."""
    return (figure, value, "", "", _goal(target))


def render_table(result: Mapping[str, Any]) -> str:
    """The bench as a table a person reads: figure, floor, ratio, target."""
    details = result["details"]
    floor = result["import_floor_ms"]
    goal = targets(result)
    rows: list[tuple[str, str, str, str, str]] = [("figure", "value", "floor", "ratio", "target")]
    for name, ms in result["import_ms"].items():
        ratio = ms / floor
        rows.append(
            (
                f"import {name} (ms)",
                f"{ms:.1f}",
                f"{floor:.1f}",
                f"{ratio:.2f}",
                _goal(goal[f"import {name}"]),
            )
        )
    calls = result["aws_calls_per_ticket"]
    ours = details["our_aws_calls_per_ticket"]
    rows.append(
        _against_goal("AWS calls per email ticket", f"{ours:g}", goal["aws_calls_per_ticket"])
    )
    for service in (*CONTRACT_SERVICES, "lambda_invocations"):
        rows.append((f"  {service}", f"{calls[service]:g}", "", "", ""))
    cost, cost_floor = (
        result["cost_per_1000_tickets_usd"],
        result["cost_floor_per_1000_tickets_usd"],
    )
    rows.append(
        (
            "USD per 1000 tickets",
            f"{cost:.4f}",
            f"{cost_floor:.4f}",
            f"{cost / cost_floor:.3f}",
            _goal(goal["cost_ratio"]),
        )
    )
    for service, usd in details["cost_breakdown_per_1000_tickets_usd"].items():
        rows.append((f"  {service}", f"{usd:.4f}", "", "", ""))
    units = result["dynamodb_write_units_per_ticket"]
    rows.append(
        _against_goal(
            "DynamoDB write units per email ticket",
            f"{units:g}",
            goal["dynamodb_write_units_per_ticket"],
        )
    )
    for target, spent in details.get("dynamodb_write_units_per_ticket_by_target", {}).items():
        rows.append((f"  {target}", f"{spent:g}", "", "", ""))
    sweep = result["sla_sweep_items_read"]
    base = next(iter(sweep.values()))
    for label, value in sweep.items():
        rows.append((f"sweep items read, {label}", str(value), str(base), "", ""))
    rows[-1] = (*rows[-1][:4], _goal(goal["sla_sweep_items_read"]))
    pipeline, floor_tps = result["pipeline_tickets_per_s"], result["floor_tickets_per_s"]
    rows.append(
        (
            "tickets per second",
            f"{pipeline:.1f}",
            f"{floor_tps:.1f}",
            f"{pipeline / floor_tps:.2f}" if floor_tps else "",
            "",
        )
    )
    own = result["own_ms_per_ticket"]
    rows.append(_against_goal("own ms per ticket", f"{own:.2f}", goal["own_ms_per_ticket"]))
    layer_mb = result["layer_unzipped_mb"]
    rows.append(_against_goal("layer unzipped (MiB)", f"{layer_mb:.1f}", goal["layer_unzipped_mb"]))
    for name, peak in result["intake_peak_rss_mb"].items():
        read_floor = details["intake_memory"][name].get("read_floor_mb")
        target = ""
        if name == "mail_25mb":
            target = _goal(goal["intake_peak_rss_mb_25mb"])
        rows.append(
            (
                f"intake peak RSS {name} (MB)",
                f"{peak:.1f}",
                "" if read_floor is None else f"{read_floor:.1f}",
                "",
                target,
            )
        )
    ratio, per_mb = result["parse_hostile_ratio"], result["parse_slowest_s_per_mb"]
    rows.append(
        _against_goal("parse: hostile / benign", f"{ratio:.2f}", goal["parse_hostile_ratio"])
    )
    rows.append(
        _against_goal("parse: slowest s per MB", f"{per_mb:.2f}", goal["parse_slowest_s_per_mb"])
    )
    precision = result["knowledge_precision_at_3"]
    sizes = details["knowledge"]["set_size"]
    asked = ", ".join(f"{lang} {n['on_topic']}+{n['off_topic']}" for lang, n in sizes.items())
    rows.append(
        _against_goal(
            f"knowledge: right article in top 3 ({asked})",
            f"{precision:.3f}",
            goal["knowledge_precision_at_3"],
        )
    )
    offtopic = result["knowledge_offtopic_suggestion_rate"]
    rows.append(
        _against_goal(
            "knowledge: off-topic questions given a suggestion",
            f"{offtopic:.3f}",
            goal["knowledge_offtopic_suggestion_rate"],
        )
    )
    cold = details["knowledge"]["cold_start_ms"]
    rows.append(
        (
            "knowledge: import + bundle + 3 questions (ms)",
            f"{cold:.1f}",
            f"{floor:.1f}",
            f"{cold / floor:.2f}",
            "",
        )
    )
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    machine = details["machine"]
    # What a first reader asks (newuser 12, #9; newuser 13, #9).
    lines.append(
        "floor: the same work without the desk, measured in this run; ratio: value / floor; "
        "a row without a target informs. Own time and tickets per second move with the "
        "machine's load. The bench reports its goals and exits 0 either way "
        "(docs/PERFORMANCE.md)."
    )
    lines.append(
        f"({machine['cores']} cores, Python {machine['python']}, {details['seconds']} s; "
        f"sweep: {details['sla_sweep_method']}; prices: {PRICES_SOURCE})"
    )
    missed = [name for name, target in goal.items() if not target.met]
    lines.append(f"goals missed: {', '.join(missed)}" if missed else "every goal met")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- scale
# Service limits the design meets first as traffic grows (us-east-1 defaults, 2026-11; the
# soft ones are raised on request). docs/SCALE.md discusses each.
SES_SANDBOX_MAILS_PER_S = 1.0
SES_PRODUCTION_START_MAILS_PER_S = 14.0
SES_PRODUCTION_START_MAILS_PER_DAY = 50_000
DYNAMODB_PARTITION_WRITES_PER_S = 1000.0
LAMBDA_ACCOUNT_CONCURRENCY = 1000
EVENTBRIDGE_PUT_EVENTS_PER_S = 10_000.0

SCALE_STEPS: tuple[tuple[str, int, float], ...] = (
    # (desk, tickets a day, burst in tickets a second)
    ("5-agent shop", 100, 1.0),
    ("50-agent support team", 10_000, 10.0),
    ("500-agent contact centre", 100_000, 30.0),
    ("1 million tickets a day", 1_000_000, 100.0),
)


def simulate_scale(*, burst: int = 100) -> dict[str, Any]:
    """A burst of ``burst`` mails delivered at once and drained, as S3 and the event source
    mappings would hand them over (one mail an intake, stream batches to the relay), then
    the measured per-ticket demand extrapolated to
    each step of :data:`SCALE_STEPS` against the limits above."""
    from helpdesk_local.stack import LocalStack

    with LocalStack(start=MONDAY_MORNING) as stack:
        with metered(stack, detailed=True) as (meter, _), logged_invocations(stack, meter) as log:
            stack.deliver_email(sample_mail(50_000))
            stack.drain()
            meter.reset()
            log.invocations.clear()
            log.records.clear()
            log.seconds.clear()
            log.cpu_seconds.clear()
            for index in range(burst):
                stack.deliver_email(sample_mail(50_001 + index))
            stack.drain()
            _check(stack, "burst")
        shards = int(stack.functions["sla_check"].environment.get("TIMER_SHARDS", "1"))
    per = 1 / burst
    writes = sum(meter.partition_writes.values())
    partitions = [
        {
            "partition": name,
            "write_units_per_ticket": round(count * per, 3),
            "share_of_write_units": round(count / writes, 3),
        }
        for name, count in meter.partition_writes.most_common()
        if not name.endswith("#*")
    ][:8]
    mails_per_ticket = meter.ses_recipients * per
    events_per_ticket = meter.operations["events:PutEvents"] * per
    lambda_seconds = sum(log.seconds.values()) * per
    hottest = max(
        (count * per for name, count in meter.partition_writes.items() if not name.endswith("#*")),
        default=0.0,
    )
    steps = []
    for desk, per_day, peak in SCALE_STEPS:
        demand = {
            "SES sending rate": (peak * mails_per_ticket, SES_PRODUCTION_START_MAILS_PER_S),
            "SES daily quota": (per_day * mails_per_ticket, SES_PRODUCTION_START_MAILS_PER_DAY),
            "hottest DynamoDB partition (WCU/s)": (
                peak * hottest,
                DYNAMODB_PARTITION_WRITES_PER_S,
            ),
            "Lambda concurrency": (peak * lambda_seconds, LAMBDA_ACCOUNT_CONCURRENCY),
            "EventBridge PutEvents": (peak * events_per_ticket, EVENTBRIDGE_PUT_EVENTS_PER_S),
        }
        use = {name: round(need / limit, 3) for name, (need, limit) in demand.items()}
        steps.append(
            {
                "desk": desk,
                "tickets_per_day": per_day,
                "average_per_s": round(per_day / 86_400, 3),
                "burst_per_s": peak,
                "demand": {name: round(need, 2) for name, (need, _) in demand.items()},
                "share_of_limit": use,
                "binds_first": max(use, key=lambda name: use[name]),
            }
        )
    return {
        "burst_tickets": burst,
        "invocations": dict(log.invocations),
        "records_per_invocation": {
            name: round(log.records[name] / log.invocations[name], 1) for name in log.invocations
        },
        "per_ticket": {
            "mails_out": round(mails_per_ticket, 2),
            "eventbridge_put_events": round(events_per_ticket, 2),
            "dynamodb_write_units": round(meter.write_units * per, 2),
            "dynamodb_read_units": round(meter.read_units * per, 2),
            "lambda_seconds_local": round(lambda_seconds, 3),
        },
        "timer_shards": shards,
        "shared_partitions": partitions,
        "steps": steps,
    }
