"""The local stack: every resource of template.yaml on moto, in this process.

It creates tables, queues (with their redrive policies), the bucket and its notification,
the event bus, its rules and targets, the SES identity, by **reading template.yaml**; then it
plays AWS's part: it delivers mail the way SES does (raw MIME into the bucket, whose
notification invokes the intake asynchronously), polls each queue into its function with the SQS
batch event and honours partial-batch responses, redelivers failures until
``maxReceiveCount`` sends them to the dead-letter queue, invokes a rule's Lambda target
asynchronously with each event the rule matches (:class:`RuleTarget`: Lambda's retries, then
the function's on-failure destination), answers HTTP API routes with
payload-2.0 events (emulating the JWT authorizer), fires the schedules from a clock
that only moves when told to, and runs the DynamoDB event source mappings: the table's
stream (moto records every write in it, a transaction's too) read after every write, its
records filtered by the mapping's FilterCriteria and handed to the function in batches, with
partial batch responses, bisection, retries and the on-failure destination
(:class:`StreamSource`).

moto's known gaps are filled here: it ignores the SAM transform (so SAM resources are read
directly), its Scheduler never fires and TTL never expires (the clock drives both), and it
does not receive mail (``deliver_email`` does what SES would).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib.util
import io
import json
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode

from helpdesk_local.cfn import (
    Resolver,
    function_properties,
    load_template,
    parameter_defaults,
    resources_of_type,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"
REGION = "us-east-1"

# Credentials and region for moto: fake on purpose, so nothing can reach real AWS.
BASE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_RETRY_MODE": "standard",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
}

# The development key that signs agent API tokens and survey links locally. Deployed
# stacks read theirs from SSM / the identity provider; this value is public on purpose.
LOCAL_SIGNING_KEY = "helpdesk-local-development-signing-key-not-a-secret"
LOCAL_JWT_KEY = "helpdesk-local-development-jwt-key-not-a-secret"


def local_channel_secret(channel: str) -> str:
    """The development secret of a configured channel on the local stack (public on purpose,
    like the signing key): the stack puts it in the channel's SSM parameter, and local
    clients (scenarios, examples/forward_chat.py) sign with it."""
    return f"helpdesk-local-channel-secret-{channel}-not-a-secret"


# The local stack's values of the template parameters that have no default (a deployed
# stack must be given real ones; template.yaml says why).
LOCAL_PARAMETERS = {
    "MailDomain": "support.example",
    "HelpdeskAddress": "support@support.example",
    "AgentTokenIssuer": "https://auth.support.example/",
    "AgentTokenAudience": "helpdesk-agent-api",
}


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    # The function's Timeout (template.yaml): a local invocation never runs short of time.
    remaining_ms: int = 30_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class HttpRoute:
    method: str
    path: str
    pattern: re.Pattern[str]
    function: str
    authorizer: str | None


@dataclass
class Schedule:
    function: str
    every: timedelta
    next_at: datetime
    retries: int  # Scheduler's RetryPolicy: delivery retries, not the function's errors
    dead_letter_queue: str | None = None  # logical id of its DeadLetterConfig queue


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """A function's EventInvokeConfig: how Lambda retries an asynchronous invocation that
    failed, and where the record of one that failed every attempt goes."""

    maximum_retry_attempts: int = 2
    on_failure_queue: str | None = None  # logical id of the SQS on-failure destination


@dataclass
class PendingAsyncRetry:
    """An asynchronous invocation that failed and waits in Lambda's queue for its retry."""

    function: str
    event: dict[str, Any]
    request_id: str
    attempts: int  # made so far
    due: datetime


@dataclass(frozen=True)
class RuleTarget:
    """An EventBridge rule's Lambda target, as EventBridge runs it: every event the rule
    matches is handed to Lambda as an asynchronous invocation of the function with the event
    itself. Only when that hand-over fails (no such function here) does EventBridge's own
    RetryPolicy and DeadLetterConfig apply; the function's errors are Lambda's to retry
    (its EventInvokeConfig, :meth:`LocalStack.invoke_async`).
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
    """

    rule_arn: str
    function: str  # the local function's name
    function_arn: str
    retries: int  # RetryPolicy.MaximumRetryAttempts: delivery retries only
    dead_letter_queue: str | None  # logical id of its DeadLetterConfig queue


@dataclass(frozen=True)
class BusDelivery:
    """An event a rule matched, waiting in Lambda's asynchronous queue for its function."""

    target: RuleTarget
    event: dict[str, Any]


@dataclass(frozen=True)
class BucketDelivery:
    """A bucket's event notification to a function (S3 invokes it asynchronously), waiting
    in Lambda's asynchronous queue for it."""

    function: str
    event: dict[str, Any]


@dataclass
class StreamSource:
    """A DynamoDB event source mapping (SAM event type ``DynamoDB``), as Lambda runs it.

    Lambda reads the stream shard by shard, in order, drops the records that match none of
    the filters, and invokes the function with up to ``batch_size`` of the others. With
    ReportBatchItemFailures it checkpoints before the lowest sequence number the function
    reports and retries from there; a function error bisects the batch (without spending a
    retry); after ``maximum_retry_attempts`` retries the batch's position goes to the
    on-failure destination and the shard moves on.
    https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
    https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
    https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
    """

    function: str
    table: str  # the table's name
    stream_arn: str
    batch_size: int
    filters: list[dict[str, Any]]  # parsed FilterCriteria patterns (none: every record)
    report_batch_item_failures: bool
    bisect_on_function_error: bool
    maximum_retry_attempts: int  # -1: until the record expires (24 h)
    on_failure_queue: str | None  # logical id of the SQS on-failure destination
    position: int = 0  # records of the shard read so far (the checkpoint)


# Locally a record never expires, so "retry until the record expires" needs an end.
STREAM_RETRIES_WITHOUT_LIMIT = 10_000
# Records the local stream keeps behind the mappings' checkpoints, for `helpdesk redrive` to
# read again (AWS keeps 24 hours of them); older ones are trimmed, as AWS trims them, so that
# moto's copy of the table on every transaction does not grow with the stack's history.
STREAM_RECORDS_KEPT = 1_000


def filter_matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Lambda's event filtering, for the patterns the template uses: nested objects whose
    leaves list the exact values allowed ("Filter rule syntax", Control which events Lambda
    sends to your function, https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html)."""
    for key, expected in pattern.items():
        value = record.get(key) if isinstance(record, Mapping) else None
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not filter_matches(expected, value):
                return False
        elif isinstance(expected, list):
            if any(isinstance(allowed, Mapping) for allowed in expected):
                raise NotImplementedError(f"filter operator {expected!r}: not emulated locally")
            if value not in expected:
                return False
        else:
            raise ValueError(f"filter {key!r}: a pattern's leaves are lists of values")
    return True


def _taken(
    deliveries: list[Any], waiting: list[Any], count: int | None, what: str
) -> list[dict[str, Any]]:
    """The next ``count`` of ``waiting`` (or all), taken out of ``deliveries``, Lambda's
    asynchronous queue as the stack keeps it: a test hands them to the function itself."""
    taken = waiting if count is None else waiting[:count]
    if count is not None and len(taken) < count:
        raise AssertionError(f"{len(waiting)} {what}, expected {count}")
    for delivery in taken:
        deliveries.remove(delivery)
    return [delivery.event for delivery in taken]


def _function_name_of_arn(arn: str) -> str:
    # arn:aws:lambda:region:account:function:name[:qualifier]
    return arn.split(":")[6]


def _lambda_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as EventBridge invokes a Lambda target with it: the documented top-level
    fields ("Event structure reference",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html), the
    time in ISO 8601 (moto keeps it in epoch seconds), nothing of moto's own."""
    import copy

    when = event.get("time")
    if isinstance(when, int | float):
        when = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": str(event.get("version", "0")),
        "id": event["id"],
        "detail-type": event["detail-type"],
        "source": event["source"],
        "account": event.get("account", ACCOUNT),
        "time": str(when),
        "region": event.get("region", REGION),
        "resources": list(event.get("resources", [])),
        "detail": copy.deepcopy(event.get("detail", {})),
    }


# Lambda's waits before the retries of a failed asynchronous invocation: "a one-minute wait
# between the first two attempts, and two minutes between the second and third".
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
ASYNC_RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=2))


# ---------------------------------------------------------------------- moto's costs
# moto 5 makes a transaction cost what the table holds: to roll back on a failed condition,
# ``DynamoDBBackend.transact_write_items`` deep-copies every table the transaction touches,
# once per item of the transaction (stream records included). AWS charges nothing that grows
# with the table, and a scenario of a week, or a test that delivers fifty mails, spent most
# of its time in those copies. While a stack runs, the backup is taken once per table and
# transaction and copies only what the transaction can change (:func:`_touched_items_backup`);
# a rollback restores the same state.
_moto_speedups: list[tuple[Any, str, Any]] = []  # (module, attribute, its original)
_transaction = threading.local()  # the transaction this thread is running, and its backups


def _touched_items_backup(table: Any, operations: list[dict[str, Any]]) -> Any:
    """The table as it is, for a rollback of ``operations``: the item index copied one level
    deep (items shared), and deep copies of exactly the items the operations touch, the
    only ones a transaction can change (moto's updates change items in place)."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    backup = copy.copy(table)
    if table.stream_shard is not None:
        # The stream records the transaction adds go with a rollback too (moto's own deep
        # copy of the table takes its shard along); a shallow copy would share the list.
        backup.stream_shard = copy.copy(table.stream_shard)
        backup.stream_shard.items = list(table.stream_shard.items)
    backup.items = defaultdict(dict)
    for hash_value, stored in table.items.items():
        backup.items[hash_value] = dict(stored) if isinstance(stored, dict) else stored
    for operation in operations:
        ((kind, body),) = operation.items()
        if body.get("TableName") != table.name:
            continue
        key = body["Item"] if kind == "Put" else body["Key"]
        hash_value = DynamoType(key[table.hash_key_attr])
        if hash_value not in table.items:
            continue
        if table.range_key_attr is None:
            backup.items[hash_value] = copy.deepcopy(table.items[hash_value])
            continue
        range_value = DynamoType(key[table.range_key_attr])
        current = table.items[hash_value].get(range_value)
        if current is not None:
            backup.items[hash_value][range_value] = copy.deepcopy(current)
    return backup


def _replace(module: Any, attribute: str, replacement: Any) -> None:
    _moto_speedups.append((module, attribute, getattr(module, attribute)))
    setattr(module, attribute, replacement)


def install_moto_speedups() -> bool:
    """Make moto's transactions back up each table once, and only the items they touch;
    False if that was already done. Thread-safe: each thread's transaction keeps its own
    backups (the concurrency tests run transactions from several threads)."""
    import copy
    from types import SimpleNamespace

    import jsonpath_ng.ext
    from moto.core import responses
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    if _moto_speedups:
        return False
    original = models.DynamoDBBackend.transact_write_items

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        running = getattr(_transaction, "operations", None)
        if running is None or not isinstance(value, Table):
            # moto's update_item deep-copies the item it changes: that one stays as it is.
            return copy.deepcopy(value, memo)
        backups: dict[int, Any] = _transaction.backups
        if id(value) not in backups:
            backups[id(value)] = _touched_items_backup(value, running)
        return backups[id(value)]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _transaction.operations, _transaction.backups = transact_items, {}
        try:
            original(self, transact_items)
        finally:
            _transaction.operations, _transaction.backups = None, {}

    _replace(models, "copy", SimpleNamespace(deepcopy=deepcopy, copy=copy.copy))
    _replace(models.DynamoDBBackend, "transact_write_items", transact_write_items)
    # Two pure functions moto calls on every request, cached while stacks run: the names
    # of a response class's methods (inspect.getmembers, per request) and the JSONPath
    # expressions of EventBridge's default input paths (a PLY parser built per path and
    # event).
    names = "method_names_from_class"
    _replace(responses, names, functools.cache(getattr(responses, names)))
    parse = "parse"
    _replace(
        jsonpath_ng.ext, parse, functools.lru_cache(maxsize=256)(getattr(jsonpath_ng.ext, parse))
    )
    return True


def uninstall_moto_speedups() -> None:
    """Put back what :func:`install_moto_speedups` replaced."""
    while _moto_speedups:
        module, attribute, original = _moto_speedups.pop()
        setattr(module, attribute, original)


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    code_dir: Path
    environment: dict[str, str]
    module: ModuleType | None = None
    invocations: int = 0
    timeout_ms: int = 30_000

    def load(self) -> ModuleType:
        if self.module is None:
            self.module = self.fresh()
        return self.module

    def fresh(self) -> ModuleType:
        """A new instance of the handler's module: another container running the same code
        (module-level state such as a batch processor is its own)."""
        path = self.code_dir / "app.py"
        spec = importlib.util.spec_from_file_location(f"hd_fn_{self.name}", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"{path}: cannot load the handler")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: str
    # The bytes of a binary answer (isBase64Encoded: a file), as the client gets them;
    # ``body`` is their text, for reading (newuser 15, #1: writing it corrupted files).
    data: bytes | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _parse_rate(expression: str) -> timedelta:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if not match:
        raise ValueError(f"schedule {expression!r}: only rate(...) is supported locally")
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return timedelta(**{f"{unit}s": amount})


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _FunctionOutput(io.TextIOBase):
    """Where the functions' stdout goes locally: stderr, minus the EMF metric lines
    (CloudWatch reads those from the log; on a terminal they are noise) unless the
    developer asked for DEBUG or INFO logs. powertools' single_metric prints even when
    POWERTOOLS_METRICS_DISABLED is set, hence the filter."""

    def __init__(self, log_level: str) -> None:
        self.keep_metrics = log_level.upper() in ("DEBUG", "INFO")
        self._dropped_line = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        # print() writes the line and its newline separately: drop both.
        dropping = not self.keep_metrics and (
            text.startswith('{"_aws"') or (self._dropped_line and text == "\n")
        )
        self._dropped_line = dropping and text != "\n"
        if not dropping:
            sys.stderr.write(text)
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _become(environment: Mapping[str, str]) -> None:
    """Make os.environ exactly ``environment``, touching only the variables that differ."""
    for key in [k for k in os.environ if k not in environment]:
        del os.environ[key]
    for key, value in environment.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


class MonotonicClock:
    """The stack's clock. It moves only when told to, except that every read is a
    microsecond later than the one before, so that two tickets made "at the same time"
    still sort in the order they were made."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def read(self) -> datetime:
        with self._lock:
            self._now += timedelta(microseconds=1)
            return self._now

    def peek(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = max(self._now, instant.astimezone(UTC))


class LocalStack:
    """Every resource of template.yaml, on moto, driven by a clock you control."""

    def __init__(
        self,
        *,
        root: Path = REPO_ROOT,
        config_path: Path | None = None,
        start: datetime | None = None,
        fault_rate: float = 0.0,
        fault_seed: int | None = None,
        fault_services: tuple[str, ...] = (),
        log_level: str = "WARNING",
        ses_max_send_rate: float | None = None,
    ) -> None:
        self.root = root
        self.template = load_template(root / "template.yaml")
        self.config_path = (config_path or root / "infra" / "helpdesk.yaml").resolve()
        self.clock = MonotonicClock(start or datetime.now(UTC).replace(microsecond=0))
        self.functions: dict[str, LocalFunction] = {}
        self.queue_urls: dict[str, str] = {}
        self.queue_sources: dict[str, tuple[str, int]] = {}  # queue logical id -> (function, batch)
        self.dead_letter_queues: dict[str, str] = {}  # queue logical id -> its DLQ logical id
        # The rules' Lambda targets by the rule's name on the bus, and the events they matched
        # that wait for their function (drain invokes them). A function named in
        # ``held_functions`` is not invoked meanwhile: its events wait, as if Lambda were
        # slow to get to them (tests take them with ``take_bus_events``).
        self.rule_targets: dict[str, list[RuleTarget]] = {}
        self.bus_deliveries: list[BusDelivery] = []
        # What the buckets' notifications invoke (the intake, for each mail SES stores), in
        # the order the objects were written; a held function's wait too.
        self.bucket_deliveries: list[BucketDelivery] = []
        self.held_functions: set[str] = set()
        self._restore_rule_delivery: Callable[[], None] | None = None
        self._restore_bucket_delivery: Callable[[], None] | None = None
        self.routes: list[HttpRoute] = []
        self.schedules: list[Schedule] = []
        self.async_configs: dict[str, AsyncInvokeConfig] = {}  # function name -> its config
        self.async_retries: list[PendingAsyncRetry] = []
        self.stream_sources: list[StreamSource] = []
        # CPU seconds the emulated mappings spend reading and filtering the stream (Lambda's
        # work, not the functions'; the bench leaves it out of the functions' own time).
        self.event_source_cpu = 0.0
        # CPU seconds the stack spends around each invocation, by function: switching the
        # process environment to the function's and checking the payloads' sizes. Lambda
        # does that outside the function's process (each function has its own), so the
        # bench leaves it out of the functions' own time too.
        self.invocation_cpu: defaultdict[str, float] = defaultdict(float)
        # Asynchronous events that failed every attempt with no destination: AWS drops them.
        self.discarded_events: list[dict[str, Any]] = []
        self._retry_request_id: str | None = None
        self.fault_rate = fault_rate
        self.fault_seed = fault_seed
        self.fault_services = fault_services
        # SES's maximum send rate (messages a second) enforced on the functions' sends.
        self.ses_max_send_rate = ses_max_send_rate
        self._mock: Any = None
        self._installed_speedups = False
        self._env_lock = threading.RLock()
        self._saved_environ: dict[str, str] | None = None
        self.resolver: Resolver | None = None
        self.faults: Any = None
        self.invocation_errors: list[str] = []
        self.log_level = log_level
        # The knowledge base's bundle, built from the config's articles at start as the
        # layer build does (docs/KNOWLEDGE.md); deployed, it is helpdesk/knowledge.json.
        self.knowledge_path: Path | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    _running: LocalStack | None = None

    def start(self) -> None:
        """Start moto, create every resource from the template, wire the clock."""
        from moto import mock_aws

        # moto keeps one set of backends per process: a second stack would share (and
        # collide with) the first one's tables, queues and outbox.
        if LocalStack._running is not None:
            raise RuntimeError(
                "another LocalStack is running in this process; stop it first "
                "(a module-scoped stack fixture cannot overlap a per-test one)"
            )
        LocalStack._running = self
        self._build_knowledge()
        self._saved_environ = dict(os.environ)
        os.environ.update(BASE_ENVIRONMENT)
        self._mock = mock_aws()
        self._mock.start()
        self._installed_speedups = install_moto_speedups()
        import boto3

        # The stack's own clients live in their own session so that injected faults,
        # registered on the default session the functions use, never hit the stack.
        self.session = boto3.session.Session(region_name=REGION)
        self.sqs = self.session.client("sqs")
        self.s3 = self.session.client("s3")
        self.dynamodb = self.session.client("dynamodb")
        self.events = self.session.client("events")
        self.ses = self.session.client("ses")
        self.ssm = self.session.client("ssm")
        self._create_resources()
        self._install_rule_delivery()
        self._install_bucket_delivery()
        from helpdesk import clock

        clock.set_source(self.clock.read)
        # Reset first: the injector hooks the fresh default session that the functions'
        # clients are then created from (a reset afterwards would drop the hook).
        self._reset_function_clients()
        if self.fault_rate > 0 or self.ses_max_send_rate is not None:
            from helpdesk_local.faults import FaultInjector

            self.faults = FaultInjector(
                rate=self.fault_rate,
                seed=self.fault_seed,
                services=self.fault_services,
                ses_max_send_rate=self.ses_max_send_rate,
            )
            self.faults.install()

    def _build_knowledge(self) -> None:
        import tempfile

        from helpdesk.config import ConfigError
        from helpdesk.knowledge import BUNDLE_NAME
        from helpdesk_local.knowledge_checks import build_bundle_for

        folder = Path(tempfile.mkdtemp(prefix="helpdesk-knowledge-"))
        self.knowledge_path = folder / BUNDLE_NAME
        try:
            build_bundle_for(self.config_path, self.knowledge_path)
        except ConfigError:
            # A broken config fails where it always has, in the functions that read it;
            # articles that validate refuses stop the stack here, naming each problem.
            self.knowledge_path = None
            shutil.rmtree(folder, ignore_errors=True)

    def stop(self) -> None:
        from helpdesk import clock

        if LocalStack._running is not self:
            return  # never started (or refused to start): nothing of ours to undo
        LocalStack._running = None
        if self.knowledge_path is not None:
            shutil.rmtree(self.knowledge_path.parent, ignore_errors=True)
        clock.set_source(None)
        if self._restore_rule_delivery is not None:
            self._restore_rule_delivery()
            self._restore_rule_delivery = None
        if self._restore_bucket_delivery is not None:
            self._restore_bucket_delivery()
            self._restore_bucket_delivery = None
        if self.faults is not None:
            self.faults.uninstall()
        self._reset_function_clients()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._installed_speedups:
            uninstall_moto_speedups()
            self._installed_speedups = False
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)

    def _reset_function_clients(self) -> None:
        """Forget the functions' cached clients and composition roots, as a new container would."""
        import boto3

        boto3.DEFAULT_SESSION = None
        if LocalStack._running is self:
            # The functions' clients come from this fresh default session: on it, the
            # limits AWS enforces and the recorder of the calls IAM must allow.
            from helpdesk_local import aws_calls, aws_limits

            boto3.setup_default_session()
            assert boto3.DEFAULT_SESSION is not None
            aws_limits.install(boto3.DEFAULT_SESSION.events, self.dynamodb)
            aws_calls.install(boto3.DEFAULT_SESSION.events, REGION, ACCOUNT)
        with contextlib.suppress(ImportError):
            from helpdesk.aws import clients

            clients.reset()
        for function in self.functions.values():
            function.module = None

    # ------------------------------------------------------------------ resources
    def _create_resources(self) -> None:
        template = self.template
        resolver = Resolver(parameters={**parameter_defaults(template), **LOCAL_PARAMETERS})
        resolver.parameters["HelpdeskConfig"] = str(self.config_path)
        # Deployed as the docs say: the address parameters name the config's address (a
        # config that does not load keeps the defaults: its functions will say why).
        from helpdesk.config import ConfigError, load_config

        try:
            address = load_config(self.config_path).helpdesk.address
        except ConfigError:
            address = LOCAL_PARAMETERS["HelpdeskAddress"]
        resolver.parameters["HelpdeskAddress"] = address
        resolver.parameters["MailDomain"] = address.rpartition("@")[2]
        self.resolver = resolver
        for name, expression in template.get("Conditions", {}).items():
            resolver.conditions[name] = bool(resolver.resolve(expression))
        resources = template["Resources"]

        for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
            self._create_table(logical_id, resource["Properties"], resolver)

        queues = resources_of_type(template, "AWS::SQS::Queue")
        # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
        ordered = sorted(
            queues, key=lambda lid: "RedrivePolicy" in queues[lid].get("Properties", {})
        )
        for logical_id in ordered:
            self._create_queue(logical_id, queues[logical_id].get("Properties", {}), resolver)

        for logical_id in resources_of_type(template, "AWS::Events::EventBus"):
            name = resolver.resolve(resources[logical_id]["Properties"]["Name"])
            self.events.create_event_bus(Name=name)
            resolver.refs[logical_id] = name
            resolver.attributes[(logical_id, "Arn")] = (
                f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
            )
            resolver.attributes[(logical_id, "Name")] = name

        # A rule's target names its function's ARN (!GetAtt): known before the functions.
        for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
            name = self._function_name(logical_id)
            resolver.refs[logical_id] = name
            resolver.attributes[(logical_id, "Arn")] = LambdaContext(name).invoked_function_arn
        for logical_id in resources_of_type(template, "AWS::Events::Rule"):
            self._create_rule(logical_id, resources[logical_id]["Properties"], resolver)

        for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
            self._create_bucket(logical_id, resources[logical_id]["Properties"], resolver)

        for logical_id in resources_of_type(template, "AWS::SES::EmailIdentity"):
            domain = resolver.resolve(resources[logical_id]["Properties"]["EmailIdentity"])
            self.ses.verify_domain_identity(Domain=domain)
        resolver.refs.setdefault("HttpApi", "local")

        for logical_id in resources_of_type(template, "AWS::Serverless::HttpApi"):
            resolver.refs[logical_id] = "local"
        for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
            self._create_function(logical_id, resolver)

        signing_parameter = resolver.parameters.get("SigningKeyParameter")
        if signing_parameter:
            self.ssm.put_parameter(
                Name=signing_parameter, Value=LOCAL_SIGNING_KEY, Type="SecureString"
            )
        # Each configured channel's secret, where a deployment keeps it (docs/CHANNELS.md).
        for channel in self._channels():
            self.ssm.put_parameter(
                Name=channel.secret, Value=local_channel_secret(channel.name), Type="SecureString"
            )

    def _channels(self) -> tuple[Any, ...]:
        from helpdesk.config import ConfigError, load_config

        try:
            return load_config(self.config_path).channels
        except ConfigError:
            return ()  # a broken config fails where it always has, in the functions

    def _create_table(self, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
        props = resolver.resolve(props)
        name = props.get("TableName") or f"helpdesk-local-{logical_id}"
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        stream = props.get("StreamSpecification")
        if stream:
            args["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        description = self.dynamodb.create_table(**args)["TableDescription"]
        if stream:
            resolver.attributes[(logical_id, "StreamArn")] = description["LatestStreamArn"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            self.dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        )

    def _create_queue(self, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
        props = resolver.resolve(props)
        name = props.get("QueueName") or f"helpdesk-local-{logical_id}"
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            policy = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": policy["deadLetterTargetArn"],
                    "maxReceiveCount": int(policy["maxReceiveCount"]),
                }
            )
            dlq_name = policy["deadLetterTargetArn"].rsplit(":", 1)[1]
            for dlq_id, url in self.queue_urls.items():
                if url.endswith("/" + dlq_name):
                    self.dead_letter_queues[logical_id] = dlq_id
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.queue_urls[logical_id] = url
        resolver.refs[logical_id] = url
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        resolver.attributes[(logical_id, "QueueName")] = name
        resolver.attributes[(logical_id, "QueueUrl")] = url

    def _create_rule(self, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
        props = resolver.resolve(props)
        bus = props.get("EventBusName", "default")
        # The template's name when it gives one (the functions' invoke permissions name the
        # rule's ARN), else one CloudFormation-like.
        name = str(props.get("Name") or f"helpdesk-local-{logical_id}")
        arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{name}"
        self.events.put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"])
        )
        # moto delivers to SQS targets itself; it has no Lambda to invoke, so a function
        # target is the stack's to run (_install_rule_delivery).
        others = []
        for target in props.get("Targets", []):
            if not str(target["Arn"]).startswith(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"):
                others.append({"Id": target["Id"], "Arn": target["Arn"]})
                continue
            dead_letter_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
            self.rule_targets.setdefault(name, []).append(
                RuleTarget(
                    rule_arn=arn,
                    function=_function_name_of_arn(str(target["Arn"])),
                    function_arn=str(target["Arn"]),
                    retries=int((target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 185)),
                    dead_letter_queue=(
                        self._queue_logical_id_by_arn(dead_letter_arn) if dead_letter_arn else None
                    ),
                )
            )
        if others:
            self.events.put_targets(Rule=name, EventBusName=bus, Targets=others)
        resolver.attributes[(logical_id, "Arn")] = arn

    def _install_rule_delivery(self) -> None:
        """Have moto's rules hand the events they match to the stack's Lambda targets.

        moto calls ``Rule.send_to_targets`` for every rule of the bus with every event put
        on it; the rule's own pattern decides (moto's matcher, as for its SQS targets). A
        match for a Lambda target joins :attr:`bus_deliveries`, in the shape EventBridge
        invokes a function with; :meth:`drain` runs it.
        """
        from moto.events.models import Rule

        original = Rule.send_to_targets
        stack = self

        def send_to_targets(rule: Any, event: Any, transform_input: bool = True) -> None:
            original(rule, event, transform_input)
            targets = stack.rule_targets.get(rule.name)
            if targets and rule.event_pattern.matches_event(event):
                for target in targets:
                    stack.bus_deliveries.append(BusDelivery(target, _lambda_event(event)))

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]

        def restore() -> None:
            Rule.send_to_targets = original  # type: ignore[method-assign]

        self._restore_rule_delivery = restore

    def _install_bucket_delivery(self) -> None:
        """Have moto's bucket notifications to a function hand their event to the stack.

        moto builds the notification S3 sends ("Event message structure", S3 user guide) and
        calls ``_invoke_awslambda`` for each function configuration that matches the object;
        the event joins :attr:`bucket_deliveries`, and :meth:`drain` invokes the stack's
        function with it asynchronously, as S3 does.
        """
        from moto.s3 import notifications

        original = notifications._invoke_awslambda
        stack = self

        def invoke(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
            function = _function_name_of_arn(fn_arn)
            if function in stack.functions:
                stack.bucket_deliveries.append(BucketDelivery(function, dict(event_body)))
            else:
                original(account_id, event_body, fn_arn, region_name)

        notifications._invoke_awslambda = invoke

        def restore() -> None:
            notifications._invoke_awslambda = original

        self._restore_bucket_delivery = restore

    def _create_bucket(self, logical_id: str, props: dict[str, Any], resolver: Resolver) -> None:
        name = resolver.resolve(props.get("BucketName")) or f"helpdesk-local-{logical_id.lower()}"
        self.s3.create_bucket(Bucket=name)
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        notification = resolver.resolve(props.get("NotificationConfiguration", {}))
        # CloudFormation's names for S3's (QueueConfigurations -> QueueConfigurations with
        # QueueArn, LambdaConfigurations -> LambdaFunctionConfigurations with
        # LambdaFunctionArn), in one request: each replaces the bucket's whole configuration.
        configured: dict[str, list[dict[str, Any]]] = {}
        for section, target, arn_key in (
            ("QueueConfigurations", "Queue", "QueueArn"),
            ("LambdaConfigurations", "Function", "LambdaFunctionArn"),
        ):
            for config in notification.get(section, []):
                entry: dict[str, Any] = {arn_key: config[target], "Events": [config["Event"]]}
                rules = config.get("Filter", {}).get("S3Key", {}).get("Rules")
                if rules:
                    entry["Filter"] = {"Key": {"FilterRules": rules}}
                api_section = section.replace("Lambda", "LambdaFunction")
                configured.setdefault(api_section, []).append(entry)
        queue_configs = configured.get("QueueConfigurations", [])
        if configured:
            self.s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=configured
            )
            # S3 announces a new notification configuration with an s3:TestEvent message
            # (AWS does the same); the intake skips it, but the stack starts clean.
            for config in queue_configs:
                url = self._queue_url_by_arn(config["QueueArn"])
                self.sqs.purge_queue(QueueUrl=url)

    def _queue_url_by_arn(self, arn: str) -> str:
        name = arn.rsplit(":", 1)[1]
        for url in self.queue_urls.values():
            if url.endswith("/" + name):
                return url
        raise KeyError(arn)

    def _queue_logical_id_by_arn(self, arn: str) -> str:
        url = self._queue_url_by_arn(arn)
        return next(lid for lid, u in self.queue_urls.items() if u == url)

    def _function_name(self, logical_id: str) -> str:
        """The local name of a function: its code folder's (functions/<name>/)."""
        props = function_properties(self.template, logical_id)
        return (self.root / str(props["CodeUri"]).rstrip("/")).name

    def _create_function(self, logical_id: str, resolver: Resolver) -> None:
        props = function_properties(self.template, logical_id)
        code_dir = self.root / str(props["CodeUri"]).rstrip("/")
        name = code_dir.name
        environment = {
            key: str(resolver.resolve(value))
            for key, value in props["Environment"]["Variables"].items()
        }
        # Deployed functions find the ops config inside the layer; locally it is the file
        # the scenario (or the developer) chose.
        if "HELPDESK_CONFIG" in environment:
            environment["HELPDESK_CONFIG"] = str(self.config_path)
        # Likewise the knowledge bundle, built from that config's articles at start.
        if "HELPDESK_KNOWLEDGE" in environment and self.knowledge_path is not None:
            environment["HELPDESK_KNOWLEDGE"] = str(self.knowledge_path)
        # The functions' structured logs would drown a terminal; locally only warnings
        # and errors show (on stderr, see invoke), unless asked for.
        environment["POWERTOOLS_LOG_LEVEL"] = self.log_level
        # EMF metrics are log lines for CloudWatch; locally they are noise unless the
        # developer asked for the logs.
        if self.log_level.upper() not in ("DEBUG", "INFO"):
            environment["POWERTOOLS_METRICS_DISABLED"] = "true"
        function = LocalFunction(
            logical_id, name, code_dir, environment, timeout_ms=int(props["Timeout"]) * 1000
        )
        self.functions[name] = function
        invoke_config = resolver.resolve(props.get("EventInvokeConfig") or {})
        on_failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}
        self.async_configs[name] = AsyncInvokeConfig(
            maximum_retry_attempts=int(invoke_config.get("MaximumRetryAttempts", 2)),
            on_failure_queue=(
                self._queue_logical_id_by_arn(on_failure["Destination"])
                if on_failure.get("Type") == "SQS"
                else None
            ),
        )
        for event in props.get("Events", {}).values():
            kind, event_props = event["Type"], resolver.resolve(event.get("Properties", {}))
            if kind == "SQS":
                queue_id = self._queue_logical_id_by_arn(event_props["Queue"])
                self.queue_sources[queue_id] = (name, int(event_props.get("BatchSize", 10)))
            elif kind == "HttpApi":
                path = event_props["Path"]
                pattern = re.compile(
                    "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
                )
                self.routes.append(
                    HttpRoute(
                        method=event_props["Method"].upper(),
                        path=path,
                        pattern=pattern,
                        function=name,
                        authorizer=(event_props.get("Auth") or {}).get("Authorizer"),
                    )
                )
            elif kind == "DynamoDB":
                self.stream_sources.append(self._stream_source(name, event_props))
            elif kind in ("Schedule", "ScheduleV2"):
                every = _parse_rate(event_props["ScheduleExpression"])
                start = self.clock.peek()
                epoch = datetime(2000, 1, 1, tzinfo=UTC)
                periods = (start - epoch) // every + 1
                self.schedules.append(
                    Schedule(
                        function=name,
                        every=every,
                        next_at=epoch + periods * every,
                        retries=int(
                            (event_props.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 2)
                        ),
                        dead_letter_queue=(
                            self._queue_logical_id_by_arn(event_props["DeadLetterConfig"]["Arn"])
                            if (event_props.get("DeadLetterConfig") or {}).get("Arn")
                            else None
                        ),
                    )
                )

    def _stream_source(self, function: str, props: dict[str, Any]) -> StreamSource:
        arn = str(props["Stream"])
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure")) or {}
        source = StreamSource(
            function=function,
            table=arn.split(":table/", 1)[1].split("/stream/", 1)[0],
            stream_arn=arn,
            batch_size=int(props.get("BatchSize", 100)),
            filters=[
                json.loads(entry["Pattern"])
                for entry in (props.get("FilterCriteria") or {}).get("Filters", [])
            ],
            report_batch_item_failures="ReportBatchItemFailures"
            in (props.get("FunctionResponseTypes") or []),
            bisect_on_function_error=bool(props.get("BisectBatchOnFunctionError", False)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            on_failure_queue=(
                self._queue_logical_id_by_arn(on_failure["Destination"])
                if on_failure.get("Destination")
                else None
            ),
        )
        if props.get("StartingPosition") == "LATEST":
            source.position = len(self._stream_shard(source.table).items)
        return source

    # ------------------------------------------------------------------ invoking
    @contextlib.contextmanager
    def _function_environment(self, function: LocalFunction) -> Iterator[None]:
        """Run with exactly the environment the template gives the function."""
        with self._env_lock:
            started = time.thread_time()
            saved = dict(os.environ)
            # Nothing another function was given leaks in: a variable the template does
            # not set for this function is simply absent, as in AWS.
            template_keys = {k for f in self.functions.values() for k in f.environment}
            wanted = {
                k: v
                for k, v in saved.items()
                if k not in template_keys and not k.startswith("AWS_")
            }
            wanted.update(BASE_ENVIRONMENT)
            wanted.update(function.environment)
            wanted["AWS_LAMBDA_FUNCTION_NAME"] = function.name
            # Only the variables that differ change (each change is a putenv or unsetenv):
            # the same environment as clearing and refilling it, at a fraction of the cost
            # on every invocation.
            _become(wanted)
            self.invocation_cpu[function.name] += time.thread_time() - started
            try:
                # Lambda logs go to stdout; locally stdout is the state JSON's, so the
                # functions' loggers (created on first load, here) write to stderr.
                with contextlib.redirect_stdout(_FunctionOutput(self.log_level)):
                    yield
            finally:
                started = time.thread_time()
                _become(saved)
                self.invocation_cpu[function.name] += time.thread_time() - started

    def invoke(self, name: str, event: Mapping[str, Any]) -> Any:
        """Invoke a function's real handler with an event shaped as AWS delivers it."""
        context = LambdaContext(function_name=name, remaining_ms=self.functions[name].timeout_ms)
        return self.invoke_with_context(name, event, context)

    def invoke_with_context(
        self, name: str, event: Mapping[str, Any], context: LambdaContext
    ) -> Any:
        """:meth:`invoke` with a context of the caller's (a test's: one short of time)."""
        from helpdesk_local.aws_limits import check_invocation_payload

        function = self.functions[name]
        # A retried asynchronous invocation keeps its request id (invoke_async).
        request_id, self._retry_request_id = self._retry_request_id, None
        if request_id is not None:
            context.aws_request_id = request_id
        started = time.thread_time()
        check_invocation_payload(event, asynchronous=False)
        self.invocation_cpu[name] += time.thread_time() - started
        with self._function_environment(function):
            module = function.load()
            function.invocations += 1
            result = module.handler(dict(event), context)
        started = time.thread_time()
        check_invocation_payload(result, asynchronous=False, what="response")
        self.invocation_cpu[name] += time.thread_time() - started
        return result

    def invoke_async(
        self,
        name: str,
        event: Mapping[str, Any],
        *,
        request_id: str | None = None,
        attempts: int = 0,
        retry_at_once: bool = False,
    ) -> None:
        """An asynchronous invocation (``InvocationType=Event``), as Lambda runs it.

        Lambda has accepted the event, so the caller (Scheduler, a rule) is done with it.
        When the function raises, Lambda retries it after one minute and again two minutes
        later on the stack's clock (the function's ``MaximumRetryAttempts``); when the last
        attempt fails too, the invocation record goes to the on-failure destination, or the
        event is dropped when there is none.
        https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html

        ``retry_at_once``: the retries run now, without the clock's waits, as a failed SQS
        message is visible again at once here. The rules' events are retried so, so that
        :meth:`drain` ends with every event handled or in its destination (a scenario's
        step sees the results of the one before it); the sweeps keep the waits.
        """
        from helpdesk_local.aws_limits import check_invocation_payload

        # Lambda refuses an asynchronous event over its limit before accepting it.
        check_invocation_payload(event, asynchronous=True)
        request_id = request_id or str(uuid.uuid4())
        attempts += 1
        try:
            self._retry_request_id = request_id
            self.invoke(name, event)
            return
        except Exception as error:
            import traceback

            self.invocation_errors.append(traceback.format_exc())
            failure = error
        config = self.async_configs.get(name, AsyncInvokeConfig())
        if attempts <= config.maximum_retry_attempts and retry_at_once:
            self.invoke_async(
                name, event, request_id=request_id, attempts=attempts, retry_at_once=True
            )
            return
        if attempts <= config.maximum_retry_attempts:
            wait = ASYNC_RETRY_WAITS[min(attempts, len(ASYNC_RETRY_WAITS)) - 1]
            self.async_retries.append(
                PendingAsyncRetry(name, dict(event), request_id, attempts, self.clock.peek() + wait)
            )
            return
        record = self._invocation_record(name, event, request_id, attempts, failure)
        self._on_failure(config.on_failure_queue, record)

    def _on_failure(self, queue: str | None, record: dict[str, Any]) -> None:
        """Lambda's record of what it gave up on, to the on-failure destination (an SQS
        queue's logical id); with none, AWS drops it."""
        if queue is None:
            self.discarded_events.append(record)
            return
        self.sqs.send_message(QueueUrl=self.queue_urls[queue], MessageBody=json.dumps(record))

    def _invocation_record(
        self,
        name: str,
        event: Mapping[str, Any],
        request_id: str,
        attempts: int,
        error: BaseException,
    ) -> dict[str, Any]:
        """What Lambda sends to an on-failure destination: the documented invocation record,
        with the Python runtime's error payload as ``responsePayload``.
        https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"""
        import traceback

        return {
            "version": "1.0",
            "timestamp": self.clock.peek().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "requestContext": {
                "requestId": request_id,
                "functionArn": LambdaContext(function_name=name).invoked_function_arn + ":$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": dict(event),
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            },
        }

    def invoke_concurrently(self, name: str, events: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Invoke one function with many events at once, from threads (concurrency tests).

        The environment is set once for all of them; each thread is a container of its own,
        as Lambda runs concurrent invocations (one invocation per container at a time).
        """
        function = self.functions[name]
        results: list[Any] = [None] * len(events)
        errors: list[BaseException] = []
        with self._function_environment(function):
            modules = [function.fresh() for _ in events]

            def run(index: int, event: Mapping[str, Any]) -> None:
                try:
                    handler = modules[index].handler
                    context = LambdaContext(function_name=name, remaining_ms=function.timeout_ms)
                    results[index] = handler(dict(event), context)
                except BaseException as error:
                    errors.append(error)

            threads = [threading.Thread(target=run, args=(i, e)) for i, e in enumerate(events)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            function.invocations += len(events)
        if errors:
            raise errors[0]
        return results

    # ------------------------------------------------------------------ queues
    def drain(self, max_rounds: int = 10_000) -> None:
        """Poll every stream and queue into its function, and invoke the rules' targets,
        until no stream record, queue message or event is left: a write may publish (the
        stream), a publication invokes the bus's targets, which write again."""
        for _ in range(max_rounds):
            notified = self._deliver_bucket_events()
            streamed = [self._poll_stream(source) for source in self.stream_sources]
            polled = [self._poll_once(queue_id) for queue_id in self.queue_sources]
            invoked = self._deliver_bus_events()
            if not notified and not any(streamed) and not any(polled) and not invoked:
                return
        raise RuntimeError("queues did not drain: is something looping?")

    # ------------------------------------------------------------------ the buckets' targets
    def _deliver_bucket_events(self) -> bool:
        """Invoke each waiting notification's function (those not held back), in the order
        the objects were written; True if any was. Lambda retries a failed one and then
        records it in the function's on-failure destination (invoke_async)."""
        ready = [d for d in self.bucket_deliveries if d.function not in self.held_functions]
        for delivery in ready:
            self.bucket_deliveries.remove(delivery)
            self.invoke_async(delivery.function, delivery.event, retry_at_once=True)
        return bool(ready)

    def take_bucket_events(self, function: str, count: int) -> list[dict[str, Any]]:
        """The next ``count`` notifications waiting for ``function``, taken out of Lambda's
        queue: a test hands them to the function itself."""
        waiting = [d for d in self.bucket_deliveries if d.function == function]
        return _taken(self.bucket_deliveries, waiting, count, f"notifications wait for {function}")

    # ------------------------------------------------------------------ the bus's targets
    def _deliver_bus_events(self) -> bool:
        """Invoke each waiting event's function (those not held back), in the order the
        events were put; True if any was."""
        ready = [d for d in self.bus_deliveries if d.target.function not in self.held_functions]
        if not ready:
            return False
        for delivery in ready:
            self.bus_deliveries.remove(delivery)
            self._deliver(delivery)
        return True

    def _deliver(self, delivery: BusDelivery) -> None:
        """EventBridge hands the event to Lambda (an asynchronous Invoke). Only a failed
        hand-over is EventBridge's to retry and dead-letter: here a function the stack does
        not have. The function's own errors are Lambda's (invoke_async)."""
        target = delivery.target
        if target.function in self.functions:
            self.invoke_async(target.function, delivery.event, retry_at_once=True)
        elif target.dead_letter_queue is not None:
            self._event_dead_letter(target, delivery.event)

    def _event_dead_letter(self, target: RuleTarget, event: dict[str, Any]) -> None:
        """EventBridge's dead-letter message: the event as the body, what went wrong in its
        attributes ("Using dead-letter queues to process undelivered events in EventBridge",
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""
        assert target.dead_letter_queue is not None
        self._dead_letter_missing_function(
            target.dead_letter_queue,
            event,
            function_arn=target.function_arn,
            retries=target.retries,
            # What tells an EventBridge dead letter from a Scheduler one (redrive reads it).
            rule_arn=target.rule_arn,
        )

    def _dead_letter_missing_function(
        self,
        queue: str,
        event: dict[str, Any],
        *,
        function_arn: str,
        retries: int,
        rule_arn: str | None = None,
    ) -> None:
        """The dead letter EventBridge and Scheduler both send, after their retries, for a
        target function that does not exist (here: one the stack does not have): the event
        as the body, what went wrong in message attributes."""

        def text(value: str) -> dict[str, str]:
            return {"DataType": "String", "StringValue": value}

        attributes = {
            "TARGET_ARN": text(function_arn),
            "ERROR_CODE": text("ResourceNotFoundException"),
            "ERROR_MESSAGE": text(f"Function not found: {function_arn}"),
            "EXHAUSTED_RETRY_CONDITION": text("MaximumRetryAttempts"),
            "RETRY_ATTEMPTS": {"DataType": "Number", "StringValue": str(retries)},
        }
        if rule_arn is not None:
            attributes["RULE_ARN"] = text(rule_arn)
        self.sqs.send_message(
            QueueUrl=self.queue_urls[queue],
            MessageBody=json.dumps(event),
            MessageAttributes=attributes,
        )

    def take_bus_events(self, function: str, count: int | None = None) -> list[dict[str, Any]]:
        """The events waiting for ``function`` (the next ``count``, or all), taken out of
        Lambda's queue: a test hands them to the function itself."""
        waiting = [d for d in self.bus_deliveries if d.target.function == function]
        return _taken(self.bus_deliveries, waiting, count, f"events wait for {function}")

    def deliver_bus_event(self, function: str, event: Mapping[str, Any]) -> None:
        """Hand ``event`` to ``function`` as its rule does (again: EventBridge and Lambda
        deliver at least once); drain runs it."""
        targets = [t for ts in self.rule_targets.values() for t in ts if t.function == function]
        if not targets:
            raise KeyError(f"no rule targets {function}")
        self.bus_deliveries.append(BusDelivery(targets[0], dict(event)))

    # ------------------------------------------------------------------ streams
    def _stream_shard(self, table: str) -> Any:
        """moto's shard of a table's stream (it keeps one): its records in write order."""
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT][REGION].get_table(table).stream_shard

    def _stream_record(self, source: StreamSource, stored: Any) -> dict[str, Any]:
        """A stream record as the mapping hands it to the function: the record of the
        DynamoDB Streams API with the stream's ARN, its creation time in epoch seconds."""
        import copy

        record: dict[str, Any] = copy.deepcopy(stored.to_json())
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            record["dynamodb"]["ApproximateCreationDateTime"] = float(int(created.timestamp()))
        record["eventSourceARN"] = source.stream_arn
        return record

    def _poll_stream(self, source: StreamSource) -> bool:
        """Hand the records written since the checkpoint to the function, a batch at a time;
        True if there were any."""
        started = time.thread_time()
        shard = self._stream_shard(source.table)
        if shard is None or source.position >= len(shard.items):
            self.event_source_cpu += time.thread_time() - started
            return False
        considered = shard.items[source.position : source.position + source.batch_size]
        # Filtered before they are copied: most writes are not for this mapping.
        batch = [
            self._stream_record(source, stored)
            for stored in considered
            if not source.filters or any(filter_matches(p, stored.record) for p in source.filters)
        ]
        self.event_source_cpu += time.thread_time() - started
        if batch:
            self._deliver_stream_batch(source, batch, shard.id)
        started = time.thread_time()
        source.position += len(considered)
        self._trim_stream(shard)
        self.event_source_cpu += time.thread_time() - started
        return True

    def _trim_stream(self, shard: Any) -> None:
        """Drop the records every mapping has read, but the last STREAM_RECORDS_KEPT."""
        read = min(
            (s.position for s in self.stream_sources if self._stream_shard(s.table) is shard),
            default=0,
        )
        surplus = read - STREAM_RECORDS_KEPT
        if surplus <= 0:
            return
        del shard.items[:surplus]
        shard.starting_sequence_number += surplus  # moto numbers records from it
        for source in self.stream_sources:
            if self._stream_shard(source.table) is shard:
                source.position -= surplus

    def _deliver_stream_batch(
        self, source: StreamSource, batch: list[dict[str, Any]], shard_id: str, retries: int = 0
    ) -> None:
        """Invoke until the batch succeeds, or its retries are spent and its position goes
        to the on-failure destination."""
        limit = source.maximum_retry_attempts
        limit = STREAM_RETRIES_WITHOUT_LIMIT if limit < 0 else limit
        pending = batch
        while True:
            function_error = False
            try:
                response = self.invoke(source.function, {"Records": pending})
                failed = self._first_reported_failure(source, pending, response)
            except Exception:
                import traceback

                self.invocation_errors.append(traceback.format_exc())
                if source.bisect_on_function_error and len(pending) > 1:
                    # Bisecting spends no retry; each half is retried on its own.
                    half = len(pending) // 2
                    self._deliver_stream_batch(source, pending[:half], shard_id, retries)
                    self._deliver_stream_batch(source, pending[half:], shard_id, retries)
                    return
                failed, function_error = 0, True
            if failed is None:
                return
            # Everything before the failed record is checkpointed; the rest is retried.
            pending = pending[failed:]
            retries += 1
            if retries > limit:
                self._stream_dead_letter(source, pending, shard_id, retries, function_error)
                return

    @staticmethod
    def _first_reported_failure(
        source: StreamSource, batch: list[dict[str, Any]], response: Any
    ) -> int | None:
        """The index of the lowest sequence number the function reported, or None. An
        identifier that is empty or names no record of the batch fails the whole batch."""
        if not source.report_batch_item_failures or not isinstance(response, dict):
            return None
        reported = response.get("batchItemFailures") or []
        if not reported:
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        indexes = []
        for item in reported:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if identifier not in sequence:
                return 0
            indexes.append(sequence.index(identifier))
        return min(indexes)

    def _stream_dead_letter(
        self,
        source: StreamSource,
        records: list[dict[str, Any]],
        shard_id: str,
        invocations: int,
        function_error: bool,
    ) -> None:
        """What Lambda sends an on-failure destination for a stream batch: the position of
        the records (shard, sequence range, arrival times), not the records themselves.
        https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html"""

        def arrival(record: dict[str, Any]) -> str:
            seconds = float(record["dynamodb"].get("ApproximateCreationDateTime") or 0)
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response_context["functionError"] = "Unhandled"
        letter = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": LambdaContext(function_name=source.function).invoked_function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": self.clock.peek().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(records[0]),
                "approximateArrivalOfLastRecord": arrival(records[-1]),
                "batchSize": len(records),
                "streamArn": source.stream_arn,
            },
        }
        self._on_failure(source.on_failure_queue, letter)

    def stream_records(
        self, stream_arn: str, shard_id: str, first: str, last: str
    ) -> list[dict[str, Any]]:
        """The records of a stream's sequence range, read again for `helpdesk redrive` and
        filtered as the stream's mapping filters them. Read from moto's record of the
        stream: moto 5.2's DynamoDB Streams API answers 404 to botocore 1.44 (in AWS,
        helpdesk_local.redrive.read_stream_range reads it through GetShardIterator and
        GetRecords). A range trimmed from the stream raises LookupError, as AWS answers
        TrimmedDataAccessException."""
        source = next(s for s in self.stream_sources if s.stream_arn == stream_arn)
        shard = self._stream_shard(source.table)
        if shard is None or shard.id != shard_id:
            raise LookupError(f"{stream_arn}: no shard {shard_id}")
        if int(first) < shard.starting_sequence_number:
            raise LookupError(f"{stream_arn}: {first} is trimmed from the stream")
        records = [self._stream_record(source, stored) for stored in shard.items]
        return [
            r
            for r in records
            if int(first) <= int(r["dynamodb"]["SequenceNumber"]) <= int(last)
            and (not source.filters or any(filter_matches(p, r) for p in source.filters))
        ]

    def _poll_once(self, queue_id: str) -> bool:
        function, batch_size = self.queue_sources[queue_id]
        url = self.queue_urls[queue_id]
        if not self._queue_holds_messages(url):
            return False  # Lambda's poller finds nothing; skip the request that says so
        received = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return False
        arn = self.resolver.get_att(queue_id, "Arn") if self.resolver else ""
        event = {"Records": [self._sqs_record(message, arn) for message in received]}
        failed: set[str]
        try:
            response = self.invoke(function, event)
            failures = (
                (response or {}).get("batchItemFailures", []) if isinstance(response, dict) else []
            )
            failed = {item["itemIdentifier"] for item in failures}
        except Exception:
            import traceback

            self.invocation_errors.append(traceback.format_exc())
            failed = {message["MessageId"] for message in received}
        for message in received:
            if message["MessageId"] in failed:
                # Visible again at once: the local clock does not wait for the visibility
                # timeout. After maxReceiveCount receives, SQS (moto) moves it to the DLQ.
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return True

    @staticmethod
    def _queue_holds_messages(url: str) -> bool:
        """Whether moto's queue holds any message at all, visible or not. drain polls every
        queue until all are empty, and most polls find nothing: answered here from the
        emulator's own state, a poll costs no ReceiveMessage round trip through moto."""
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ACCOUNT][REGION].queues.get(url.rsplit("/", 1)[1])
        return queue is None or bool(queue._messages)

    @staticmethod
    def _sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", "0"),
                "SenderId": attributes.get("SenderId", ACCOUNT),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", "0"
                ),
            },
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": REGION,
        }

    # ------------------------------------------------------------------ mail in
    @property
    def raw_bucket(self) -> str:
        assert self.resolver is not None
        return self.resolver.ref("RawMailBucket")

    def deliver_email(self, raw: bytes) -> str:
        """Deliver a raw RFC 5322 message exactly as SES's S3 action does: stored under
        ``inbound/`` with an SES-style object key; the bucket's notification then hands it to
        the intake (drain)."""
        key = "inbound/" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
        self.s3.put_object(Bucket=self.raw_bucket, Key=key, Body=raw)
        return key

    # ------------------------------------------------------------------ HTTP API
    def http(
        self,
        method: str,
        path: str,
        *,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        source_ip: str = "198.51.100.7",
        host: str = "127.0.0.1:8080",
    ) -> HttpResponse:
        """Answer an HTTP request the way API Gateway (HTTP API, payload 2.0) would."""
        raw_path, _, query = path.partition("?")
        lower_headers = {k.lower(): v for k, v in (headers or {}).items()}
        lower_headers.setdefault("host", host)
        for route in self.routes:
            match = route.pattern.match(raw_path)
            if route.method == method.upper() and match:
                break
        else:
            return HttpResponse(
                404, {"content-type": "application/json"}, '{"message":"Not Found"}'
            )
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": f"{route.method} {route.path}",
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": lower_headers,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": "local",
                "domainName": lower_headers["host"],
                "domainPrefix": "local",
                "http": {
                    "method": route.method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": lower_headers.get("user-agent", ""),
                },
                "requestId": uuid.uuid4().hex,
                "routeKey": f"{route.method} {route.path}",
                "stage": "$default",
                "time": self.clock.peek().strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(self.clock.peek().timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
        if match.groupdict():
            event["pathParameters"] = match.groupdict()
        if body is not None:
            if isinstance(body, bytes):
                try:
                    event["body"] = body.decode("utf-8")
                except UnicodeDecodeError:
                    event["body"] = base64.b64encode(body).decode("ascii")
                    event["isBase64Encoded"] = True
            else:
                event["body"] = body
        if route.authorizer:
            claims = self._authorize(lower_headers.get("authorization", ""))
            if claims is None:
                return HttpResponse(
                    401, {"content-type": "application/json"}, '{"message":"Unauthorized"}'
                )
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        result = self.invoke(route.function, event)
        response = self._http_response(result)
        self.drain()
        return response

    def _authorize(self, header: str) -> dict[str, Any] | None:
        """API Gateway's JWT authorizer: signature, issuer, audience and expiry checked before
        the function runs. Locally the tokens are signed with the development key (HS256)."""
        import jwt

        assert self.resolver is not None
        token = header.removeprefix("Bearer ").strip()
        if not token:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                LOCAL_JWT_KEY,
                algorithms=["HS256"],
                audience=self.resolver.parameters["AgentTokenAudience"],
                issuer=self.resolver.parameters["AgentTokenIssuer"],
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=0,
            )
        except jwt.PyJWTError:
            return None
        return claims

    def agent_token(self, email: str, *, lifetime: timedelta = timedelta(hours=1)) -> str:
        """A development token for an agent, accepted by the local JWT authorizer."""
        import jwt

        assert self.resolver is not None
        now = datetime.now(UTC)
        return jwt.encode(
            {
                "sub": email,
                "email": email,
                # As Cognito's ID token carries it: the IdP checked the address.
                "email_verified": True,
                "iss": self.resolver.parameters["AgentTokenIssuer"],
                "aud": self.resolver.parameters["AgentTokenAudience"],
                "iat": int(now.timestamp()),
                "exp": int((now + lifetime).timestamp()),
            },
            LOCAL_JWT_KEY,
            algorithm="HS256",
        )

    @staticmethod
    def _http_response(result: Any) -> HttpResponse:
        # Payload 2.0: a dict with statusCode is used as is; anything else is a 200 JSON body.
        if isinstance(result, dict) and "statusCode" in result:
            body = result.get("body") or ""
            data = base64.b64decode(body) if result.get("isBase64Encoded") else None
            if data is not None:
                body = data.decode("utf-8", "replace")
            headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
            return HttpResponse(int(result["statusCode"]), headers, body, data)
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(result))

    def call_agent_api(
        self, method: str, path: str, body: Any = None, *, agent: str, bearer: str | None = None
    ) -> HttpResponse:
        """Call the agent API as ``agent`` (with a development token), or with ``bearer``,
        sending ``body`` as JSON."""
        return self.http(
            method,
            path,
            body=None if body is None else json.dumps(body),
            headers={
                "authorization": f"Bearer {bearer or self.agent_token(agent)}",
                "content-type": "application/json",
            },
        )

    def post_form(self, fields: Mapping[str, Any], *, lang: str | None = None) -> HttpResponse:
        """POST the web form's JSON, as the form page's script does."""
        path = "/tickets" + (f"?{urlencode({'lang': lang})}" if lang else "")
        return self.http(
            "POST",
            path,
            body=json.dumps(dict(fields)),
            headers={"content-type": "application/json"},
        )

    def post_message(
        self,
        message: Mapping[str, Any],
        *,
        channel: str | None = None,
        secret: str | None = None,
        source_ip: str = "203.0.113.9",
    ) -> HttpResponse:
        """POST a channel's message to /intake/messages as the channel does: the JSON body
        signed at the stack's clock with the channel's local secret (or ``secret``)."""
        from helpdesk.services.message_intake import signed_headers

        name = channel or str(message.get("channel") or "")
        body = json.dumps(dict(message), ensure_ascii=False).encode("utf-8")
        key = (secret or local_channel_secret(name)).encode("utf-8")
        return self.http(
            "POST",
            "/intake/messages",
            body=body,
            headers=signed_headers(name, key, body, self.clock.peek()),
            source_ip=source_ip,
        )

    # ------------------------------------------------------------------ time
    def advance(self, by: timedelta, *, on_tick: Callable[[datetime], None] | None = None) -> None:
        """Move the clock; every schedule due in between runs, in order, queues drained
        after each."""
        target = self.clock.peek() + by
        while True:
            self._skip_idle_sweeps(target)
            due = [s for s in self.schedules if s.next_at <= target]
            retries = [r for r in self.async_retries if r.due <= target]
            if not due and not retries:
                break
            retry = min(retries, key=lambda r: r.due) if retries else None
            schedule = min(due, key=lambda s: (s.next_at, s.function)) if due else None
            if retry is not None and (schedule is None or retry.due <= schedule.next_at):
                # Lambda's own retry of a failed asynchronous invocation.
                self.async_retries.remove(retry)
                self.clock.set(retry.due)
                self.invoke_async(
                    retry.function,
                    retry.event,
                    request_id=retry.request_id,
                    attempts=retry.attempts,
                )
                self.drain()
            else:
                assert schedule is not None
                self.clock.set(schedule.next_at)
                self._fire(schedule)
                schedule.next_at += schedule.every
            if on_tick is not None:
                on_tick(self.clock.peek())
        self.clock.set(target)
        self.drain()

    def _fire(self, schedule: Schedule) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": ACCOUNT,
            "time": schedule.next_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": {},
        }
        # EventBridge Scheduler invokes the function asynchronously: once Lambda has taken
        # the event, a function error is Lambda's to retry (invoke_async). Scheduler's own
        # retries and dead-letter queue are only for an invocation it could not deliver
        # (no such function, no permission), as here a function the stack does not have.
        # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
        if schedule.function in self.functions:
            self.invoke_async(schedule.function, event)
        elif schedule.dead_letter_queue is not None:
            self._scheduler_dead_letter(schedule, event)
        self.drain()

    def _scheduler_dead_letter(self, schedule: Schedule, event: dict[str, Any]) -> None:
        """Scheduler's dead-letter event after its retries: the target's input as the body,
        what went wrong in message attributes."""
        assert schedule.dead_letter_queue is not None
        self._dead_letter_missing_function(
            schedule.dead_letter_queue,
            event,
            function_arn=LambdaContext(function_name=schedule.function).invoked_function_arn,
            retries=schedule.retries,
        )

    def _skip_idle_sweeps(self, target: datetime) -> None:
        """Jump the timer sweeps over ticks that would find nothing due.

        A sweep's work is exactly the due items of the timer index, so until the earliest
        timer falls due every tick is a no-op; skipping them keeps `advance: 4d` fast on a
        one-minute schedule. Called again after every fire, since any function may set a
        timer. Other schedules (the report) always fire.
        """
        from helpdesk import timers

        # Which scheduled function sweeps which timers (a local table: AWS runs every tick).
        kinds_by_sweeper = {
            "sla_check": (timers.SLA,),
            "survey_dispatch": (timers.SURVEY, timers.AUTOCLOSE),
        }
        earliest_by_kind = self._earliest_timers()
        for schedule in self.schedules:
            kinds = kinds_by_sweeper.get(schedule.function)
            if kinds is None:
                continue
            dues = [earliest_by_kind[k] for k in kinds if k in earliest_by_kind]
            earliest = min(dues) if dues else None
            wake = target + schedule.every if earliest is None or earliest > target else earliest
            if wake > schedule.next_at:
                periods = -((schedule.next_at - wake) // schedule.every)  # ceiling division
                schedule.next_at += periods * schedule.every

    def _earliest_timers(self) -> dict[str, datetime]:
        """The earliest due instant of each timer kind.

        Read from moto's table itself, as Lambda's emulation reads the stream: this is the
        emulator deciding when a tick can matter, not a request of the functions', and a
        Scan through moto (which parses, copies and serialises every item) cost more than
        the sweeps it saved on a table a scenario had filled.
        """
        from moto.dynamodb.models import dynamodb_backends

        table = self.resolver.ref("DomainTable") if self.resolver else ""
        stored = dynamodb_backends[ACCOUNT][REGION].get_table(table)
        earliest: dict[str, datetime] = {}
        for by_sort_key in list(stored.items.values()):
            for item in list(by_sort_key.values()):
                timer_key, timer_sort = item.attrs.get("TPK"), item.attrs.get("TSK")
                if timer_key is None or timer_sort is None:
                    continue
                kind = str(timer_key.value).split("#")[1]
                due = datetime.strptime(
                    str(timer_sort.value).split("#", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ"
                ).replace(tzinfo=UTC)
                if kind not in earliest or due < earliest[kind]:
                    earliest[kind] = due
        return earliest

    # ------------------------------------------------------------------ inspection
    def dead_letters(self) -> list[dict[str, str]]:
        letters = []
        failure_queues = {
            *self.dead_letter_queues.values(),
            *(s.dead_letter_queue for s in self.schedules if s.dead_letter_queue),
            *(c.on_failure_queue for c in self.async_configs.values() if c.on_failure_queue),
            *(s.on_failure_queue for s in self.stream_sources if s.on_failure_queue),
            *(t.dead_letter_queue for ts in self.rule_targets.values() for t in ts),
        }
        for queue_id, url in self.queue_urls.items():
            if queue_id not in failure_queues:
                continue
            seen: list[dict[str, Any]] = []
            while True:
                messages = self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
                ).get("Messages", [])
                if not messages:
                    break
                seen.extend(messages)
            for message in seen:
                letters.append({"queue": queue_id, "body": message["Body"]})
                # Leave them where they were, for `helpdesk redrive` or another look.
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return letters
