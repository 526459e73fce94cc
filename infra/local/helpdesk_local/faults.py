"""Fault injection for the local stack: the functions' AWS requests fail the way AWS fails.

A ``before-send`` handler, registered first on the default boto3 session that the
functions' clients come from (``helpdesk.aws.clients``), answers a seeded share of their
requests with the error response the real service returns when it throttles or fails,
before moto sees the request. botocore then parses it like any other error response, so
its own retry logic applies (standard mode: throttling codes and 5xx statuses are
retried); a request that fails every attempt surfaces as a ``ClientError`` in the
function, whose queue redelivers the message, exactly as in AWS.

The stack's own clients come from a separate session and never see a fault. Backoff
sleeps are skipped while the injector is installed, so that a chaos run takes as long as
a calm one.

``ses_max_send_rate`` adds SES's sending quota: sends beyond the account's maximum send
rate (messages per second, with a one-second burst) are refused with the error SES answers,
``Throttling`` / "Maximum sending rate exceeded"
(https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html). The rate
is measured on a simulated clock that moves by the time each send takes
(``ses_send_seconds``) and by every backoff sleep the SDK skips, so a throttled sender
that backs off finds the tokens its wait would have earned, however fast the machine.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk_local.stack import LocalStack

# Scenario files name services by their client name; botocore's events use the service id.
SERVICE_IDS = {
    "dynamodb": "dynamodb",
    "s3": "s3",
    "sqs": "sqs",
    "events": "eventbridge",
    "ses": "ses",
    "ssm": "ssm",
}
_CLIENT_NAMES = {service_id: name for name, service_id in SERVICE_IDS.items()}


@dataclass(frozen=True)
class Fault:
    """One error response as the service would send it."""

    status: int
    code: str
    body: bytes
    content_type: str


def _json_error(type_name: str, code: str, message: str, content_type: str) -> Fault:
    body = json.dumps({"__type": type_name, "message": message}).encode()
    return Fault(400, code, body, content_type)


def _xml_error(status: int, code: str, message: str) -> Fault:
    # S3's REST-XML error document (no namespace, the request ids inside <Error>).
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
    ).encode()
    return Fault(status, code, body, "application/xml")


def _query_error(code: str, message: str) -> Fault:
    # The AWS query protocol's error document (SES v1).
    body = (
        '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return Fault(400, code, body, "text/xml")


# What each service answers when it throttles or fails (one is drawn per injected fault).
FAULTS: dict[str, tuple[Fault, ...]] = {
    "dynamodb": (
        _json_error(
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
            "application/x-amz-json-1.0",
        ),
        _json_error(
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "ThrottlingException",
            "Throughput exceeds the current capacity for one or more global secondary indexes.",
            "application/x-amz-json-1.0",
        ),
    ),
    "s3": (
        _xml_error(503, "SlowDown", "Please reduce your request rate."),
        _xml_error(500, "InternalError", "We encountered an internal error. Please try again."),
    ),
    # SQS speaks JSON 1.0 in current botocore (the query protocol is gone for it).
    "sqs": (
        _json_error(
            "com.amazonaws.sqs#ThrottlingException",
            "ThrottlingException",
            "Rate exceeded",
            "application/x-amz-json-1.0",
        ),
    ),
    "ses": (_query_error("Throttling", "Maximum sending rate exceeded."),),
    "eventbridge": (
        _json_error(
            "ThrottlingException",
            "ThrottlingException",
            "Rate exceeded",
            "application/x-amz-json-1.1",
        ),
    ),
    "ssm": (
        _json_error(
            "ThrottlingException",
            "ThrottlingException",
            "Rate exceeded",
            "application/x-amz-json-1.1",
        ),
    ),
}


SES_SENDING_OPERATIONS = frozenset(
    {"SendRawEmail", "SendEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"}
)
SES_MAXIMUM_SENDING_RATE_EXCEEDED = _query_error("Throttling", "Maximum sending rate exceeded.")


class SendingRateLimiter:
    """SES's maximum send rate as a token bucket: ``rate`` sends a second, up to ``rate``
    at once (the burst of one second). Time is given by the caller (simulated seconds)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError(f"SES sending rate {rate}: must be above 0 messages a second")
        self.rate = rate
        self._tokens = rate
        self._last = 0.0

    def allow(self, now: float) -> bool:
        """Take one send at ``now``; False when the rate is exceeded (a throttled send)."""
        self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = max(self._last, now)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class _Body:
    """The raw body of an injected response: what ``AWSResponse.content`` streams."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class FaultInjector:
    """Fails a seeded share of the functions' AWS requests with AWS's own error responses.

    ``services`` (client names such as ``dynamodb`` or ``events``) limits the faults to
    those services; empty means all of them; ``operations`` (``PutItem``) narrows them
    further, and ``limit`` stops after that many faults. ``lost_responses`` lets the request
    reach the service before the fault is answered. ``injected`` counts faults per service.
    """

    def __init__(
        self,
        *,
        rate: float,
        seed: int | None = None,
        services: tuple[str, ...] = (),
        lost_responses: bool = False,
        operations: tuple[str, ...] = (),
        limit: int | None = None,
        ses_max_send_rate: float | None = None,
        ses_send_seconds: float = 0.05,
    ) -> None:
        if not 0 <= rate <= 1:
            raise ValueError(f"fault rate {rate}: must be from 0 to 1 (1 is an outage)")
        unknown = [s for s in services if s not in SERVICE_IDS]
        if unknown:
            raise ValueError(f"unknown fault services: {', '.join(unknown)}")
        self.rate = rate
        # A fault after the service acted (a timeout on the way back): the write happened,
        # the caller cannot know, and its retry meets its own earlier write.
        self.lost_responses = lost_responses
        self.operations = frozenset(operations)
        self.limit = limit
        self.services = frozenset(SERVICE_IDS[s] for s in services) or frozenset(FAULTS)
        self.injected: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        # SES's sending quota on a simulated clock (seconds): each send takes
        # ses_send_seconds, each skipped backoff sleep adds its length.
        self.ses_limiter = (
            SendingRateLimiter(ses_max_send_rate) if ses_max_send_rate is not None else None
        )
        self.ses_send_seconds = ses_send_seconds
        self.simulated_seconds = 0.0
        self.ses_throttled = 0
        self.ses_sent = 0
        self._random = random.Random(seed)
        # Concurrent invocations share one draw sequence; the lock keeps it a sequence.
        self._lock = threading.Lock()
        self._events: Any = None
        self._downstream: Any = None
        self._saved_sleep: Any = None

    # ------------------------------------------------------------------ lifecycle
    def install(self) -> None:
        """Hook into the default boto3 session (clients created after this see faults)."""
        import boto3
        import botocore.endpoint

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        self._events = boto3.DEFAULT_SESSION.events
        # botocore emits before-send to every handler and only then takes the first
        # response; moto answers from a before-send handler too, so it would carry out a
        # request that we answer with a fault (a throttled write that still happened).
        # Our handler therefore takes moto's place on this session and calls it only for
        # requests that go through, which is what AWS does with a throttled request.
        self._downstream = _moto_stubber()
        if self._downstream is not None:
            self._events.unregister("before-send", self._downstream)
        self._events.register_first("before-send", self._before_send)
        # botocore sleeps between attempts with ``time.sleep`` in its endpoint module; the
        # local clock does not move while it sleeps, so the wait only slows the run.
        self._saved_sleep = botocore.endpoint.time
        botocore.endpoint.time = _NoSleep(self._slept)

    def uninstall(self) -> None:
        """Remove the hook and give botocore its sleep back."""
        import botocore.endpoint

        if self._events is not None:
            self._events.unregister("before-send", self._before_send)
            if self._downstream is not None:
                self._events.register("before-send", self._downstream)
            self._events = None
        if self._saved_sleep is not None:
            botocore.endpoint.time = self._saved_sleep
            self._saved_sleep = None

    def __enter__(self) -> FaultInjector:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def _slept(self, seconds: float) -> None:
        with self._lock:
            self.simulated_seconds += seconds

    # ------------------------------------------------------------------ the hook
    def _before_send(self, request: Any, event_name: str = "", **kwargs: Any) -> Any:
        fault = self._sending_quota(event_name) or self._draw(event_name)
        if fault is None or self.lost_responses:
            answer = (
                self._downstream(event_name=event_name, request=request, **kwargs)
                if self._downstream is not None
                else None
            )
            if fault is None:
                return answer
        return _response(request, fault)

    def _sending_quota(self, event_name: str) -> Fault | None:
        """SES's answer to a send beyond the maximum send rate, or None."""
        if self.ses_limiter is None:
            return None
        parts = event_name.split(".")
        if len(parts) < 3 or parts[1] != "ses" or parts[2] not in SES_SENDING_OPERATIONS:
            return None
        with self._lock:
            self.simulated_seconds += self.ses_send_seconds
            if self.ses_limiter.allow(self.simulated_seconds):
                self.ses_sent += 1
                return None
            self.ses_throttled += 1
            return SES_MAXIMUM_SENDING_RATE_EXCEEDED

    def _draw(self, event_name: str) -> Fault | None:
        """The fault for this request, or None to let it through."""
        parts = event_name.split(".")
        service_id = parts[1] if len(parts) > 1 else ""
        if service_id not in self.services:
            return None
        if self.operations and (len(parts) < 3 or parts[2] not in self.operations):
            return None
        name = _CLIENT_NAMES.get(service_id, service_id)
        with self._lock:
            self.requests[name] += 1
            if self.limit is not None and self.total >= self.limit:
                return None
            if self._random.random() >= self.rate:
                return None
            self.injected[name] += 1
            return self._random.choice(FAULTS[service_id])

    @property
    def total(self) -> int:
        """Faults injected so far, over every service."""
        return sum(self.injected.values())


def _moto_stubber() -> Any:
    """moto's before-send handler, when moto is what answers (always, locally)."""
    try:
        from moto.core.models import botocore_stubber
    except ImportError:
        return None
    return botocore_stubber


def _response(request: Any, fault: Fault) -> Any:
    from botocore.awsrequest import AWSResponse

    request_id = str(uuid.uuid4())
    headers = {
        "Content-Type": fault.content_type,
        "Content-Length": str(len(fault.body)),
        "x-amzn-RequestId": request_id,
        "x-amz-request-id": request_id,
    }
    if fault.content_type.startswith("application/x-amz-json-1.0") and "sqs" in str(
        getattr(request, "url", "")
    ):
        # SQS's JSON errors carry the legacy query error code in this header as well.
        headers["x-amzn-query-error"] = f"{fault.code};Sender"
    return AWSResponse(getattr(request, "url", ""), fault.status, headers, _Body(fault.body))


@contextmanager
def faults_on(stack: LocalStack, injector: FaultInjector) -> Iterator[FaultInjector]:
    """``injector``'s faults for a stretch of a running stack's life (an outage in a test):
    the functions get fresh clients that see them, and fresh ones again afterwards. For a
    stack started without faults of its own."""
    stack._reset_function_clients()
    injector.install()
    try:
        yield injector
    finally:
        injector.uninstall()
        stack._reset_function_clients()


def outage(stack: LocalStack, service: str) -> AbstractContextManager[FaultInjector]:
    """``service`` (a client name: "ses", "events", "dynamodb") refuses every call for a
    stretch of a running stack's life (see :func:`faults_on`)."""
    return faults_on(stack, FaultInjector(rate=1.0, services=(service,)))


class _NoSleep:
    """Stands in for the ``time`` module inside ``botocore.endpoint``: no waiting; the wait
    is counted instead (simulated time, for SES's sending rate)."""

    def __init__(self, on_sleep: Callable[[float], None] | None = None) -> None:
        self._on_sleep = on_sleep

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        if self._on_sleep is not None:
            self._on_sleep(seconds)
