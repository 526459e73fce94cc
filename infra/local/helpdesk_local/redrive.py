"""`helpdesk redrive [QUEUE]`: dead letters get another try.

Against AWS, each dead-letter queue named in the stack's outputs (``<Queue>DLQUrl``) whose
letters the stack's functions, rules or mappings write (below) has each letter checked and
replayed on its function; any other gets an SQS message-move task back to the queue it was
dead-lettered from (none of the desk's since the bucket invokes the intake directly).

A DLQ that no queue sends to holds one of these:
- Lambda's invocation records (``SweepFailureDLQ``, the on-failure destination of the
  scheduled sweeps; ``AcknowledgeDLQ`` and ``RouteDLQ``, those of the functions the event
  rules invoke; ``EmailIntakeDLQ``, the intake's, which the raw-mail bucket invokes): each
  one's function is invoked again, asynchronously, with the event it failed on
  (``requestPayload``), and the record is deleted; see
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
  (For this release only, EmailIntakeQueue, AcknowledgeQueue and RouteQueue, kept to drain
  the previous release's messages, still send their dead letters to EmailIntakeDLQ,
  AcknowledgeDLQ and RouteDLQ: such a letter is the queue's message itself, S3's
  notification or the bus event, and is replayed on the queue's function through the
  same checks, never moved back into the draining queue: :func:`vet_letter`.)
- EventBridge's dead-letter events (``EventDeliveryDLQ``: events a rule could not hand to
  its target). Each is the event itself with a ``TARGET_ARN`` message attribute
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html), the ARN of
  the function the rule invokes: it is invoked asynchronously with the event, as the rule
  would have, and the letter is deleted. (Letters from before the rules invoked their
  functions directly named a queue that no longer exists: docs/DEPLOY.md says to redrive
  them before upgrading.)
- Lambda's records of stream batches it gave up on (``PublishFailureDLQ``, the on-failure
  destination of the outbox relay's DynamoDB stream mapping). Such a record holds the
  batch's position, not its records: ``DDBStreamBatchInfo`` names the stream, the shard and
  the first and last sequence numbers
  (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html). The range is
  read from the stream again (GetShardIterator AT_SEQUENCE_NUMBER, then GetRecords) and
  handed to the function, synchronously; the record is deleted only when the function
  reports no failure. The stream keeps records 24 hours: a record older than that cannot be
  replayed from it and is left in the queue and reported (docs/DEPLOY.md, "Publishing",
  says how to republish from the outbox items, which stay in the table with the ticket's
  history).
- Scheduler's dead-letter events (``ScheduleDLQ``: invocations Scheduler could not make,
  such as a missing function or permission). They are left where they are and reported:
  once the cause is fixed the sweeps catch up on their next run by themselves.

Which function a letter may run is the stack's word, never the letter's. Anyone allowed
``sqs:SendMessage`` on a failure queue (the functions that send their failures there
included) can write a message that looks like Lambda's record or EventBridge's dead
letter, naming any function and any payload; run with the operator's credentials, such a
letter once made the agent API reply to a customer with a lead's made-up claims (attack
review 3, F2). So each queue's senders are read from the stack's template
(:func:`failure_senders`: the function whose ``EventInvokeConfig`` on-failure destination
it is, the function whose stream mapping's it is, with that stream's table, the rule
targets whose ``DeadLetterConfig`` it is, with their rule), the names from the stack's
resources, and a letter is replayed only when it is of the kind its queue holds and names
one of them (a stream batch: on that function's table's stream); the function invoked is
the stack's, by the stack's ARN. Anything else is refused: left in the queue, and
reported with its message id and reason. The payload is still the letter's: a redriven
event reaches the function as a delivery from its own trigger would (the acknowledge and
route functions read it as they read a bus event), so keep ``sqs:SendMessage`` on these
queues to the roles and services that write to them.

Locally (tests, a scenario's stack) the stack knows which DLQ belongs to which queue; the
messages are moved back with their bodies and attributes, then the queues are drained.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from helpdesk_local.stack import LocalStack

DLQ_OUTPUT_SUFFIX = "DLQUrl"


class RedriveError(Exception):
    """What the operator tools cannot use: a queue that cannot be redriven (unknown name,
    no source queue), a stack that is not there or names no table."""


@dataclass(frozen=True)
class Redriven:
    """What one redrive did for one dead-letter queue."""

    dead_letter_queue: str
    moved: int | None  # None when the move runs in AWS (a task, counted there)
    task: str | None = None
    note: str | None = None
    # Letters left in the queue because they name what does not send its failures there:
    # "<message id>: <reason>".
    refused: tuple[str, ...] = ()


FailureKind = Literal["invocation", "stream", "rule", "notification"]


@dataclass(frozen=True)
class FailureSource:
    """Who sends its failures to a queue, as the template says (logical ids): a function's
    failed asynchronous invocations (``invocation``), the batches its stream mapping gave
    up on (``stream``, of ``table``'s stream), the events a rule could not hand to it
    (``rule``, the rule ``rule``), or, for a function a bucket notifies, S3's notifications
    its draining queue gave up on (``notification``: EmailIntakeQueue's, this release)."""

    function: str
    kind: FailureKind
    rule: str | None = None
    table: str | None = None
    bus: str | None = None  # the rule's EventBusName: a logical id, or a bus's name


@dataclass(frozen=True)
class FailureSender:
    """A :class:`FailureSource` with the deployed names: the function's unqualified ARN, the
    rule's ARN, the table's ARN."""

    function_arn: str
    kind: FailureKind
    rule_arn: str | None = None
    table_arn: str | None = None

    @property
    def function_name(self) -> str:
        return _function_name(self.function_arn)


def _logical_id(value: Any) -> str | None:
    """The logical id a ``!Ref`` or ``!GetAtt`` names, else None."""
    if isinstance(value, Mapping):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and target and isinstance(target[0], str):
            return target[0]
    return None


def _on_failure_queue(config: Any) -> str | None:
    """The queue (logical id) of a ``DestinationConfig``'s ``OnFailure``."""
    if not isinstance(config, Mapping):
        return None
    on_failure = (config.get("DestinationConfig") or {}).get("OnFailure") or {}
    return _logical_id(on_failure.get("Destination")) if isinstance(on_failure, Mapping) else None


def failure_senders(template: Mapping[str, Any]) -> dict[str, list[FailureSource]]:
    """Each failure queue's senders (by the queue's logical id), read from a SAM template as
    written: a function's ``EventInvokeConfig`` on-failure destination
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html), a
    DynamoDB or Kinesis event's on-failure destination
    (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html), a rule
    target's ``DeadLetterConfig``
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    functions = {
        lid
        for lid, resource in resources.items()
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    }
    senders: dict[str, list[FailureSource]] = {}

    def add(queue: str | None, source: FailureSource) -> None:
        if queue is not None and queue in resources:
            senders.setdefault(queue, []).append(source)

    notified = {
        _logical_id(config.get("Function"))
        for resource in resources.values()
        if resource.get("Type") == "AWS::S3::Bucket"
        for config in (
            (resource.get("Properties") or {}).get("NotificationConfiguration") or {}
        ).get("LambdaConfigurations", [])
        if isinstance(config, Mapping)
    }
    for lid, resource in resources.items():
        properties = resource.get("Properties") or {}
        if lid in functions:
            on_failure = _on_failure_queue(properties.get("EventInvokeConfig"))
            add(on_failure, FailureSource(lid, "invocation"))
            if lid in notified:  # a bucket's notifications too (its draining queue's letters)
                add(on_failure, FailureSource(lid, "notification"))
            for event in (properties.get("Events") or {}).values():
                if event.get("Type") not in ("DynamoDB", "Kinesis"):
                    continue
                event_properties = event.get("Properties") or {}
                table = _logical_id(event_properties.get("Stream"))
                add(
                    _on_failure_queue(event_properties),
                    FailureSource(lid, "stream", table=table),
                )
        elif resource.get("Type") == "AWS::Events::Rule":
            for target in properties.get("Targets") or []:
                function = _logical_id(target.get("Arn"))
                if function in functions:
                    queue = _logical_id((target.get("DeadLetterConfig") or {}).get("Arn"))
                    bus = properties.get("EventBusName")
                    bus = _logical_id(bus) or (bus if isinstance(bus, str) else None)
                    add(queue, FailureSource(str(function), "rule", rule=lid, bus=bus))
    return senders


def _unqualified(arn: str) -> str:
    # arn:aws:lambda:region:account:function:name[:qualifier]
    return ":".join(arn.split(":")[:7])


def _matches(dlq_name: str, source_name: str | None, wanted: str | None) -> bool:
    if wanted is None:
        return True
    wanted = wanted.removesuffix(DLQ_OUTPUT_SUFFIX)
    return wanted in (dlq_name, source_name) or wanted + "DLQ" == dlq_name


# ---------------------------------------------------------------------- local
def redrive(
    stack: LocalStack, queue_logical_id: str | None = None, *, drain: bool = True
) -> list[Redriven]:
    """Move the local stack's dead letters back to their source queues (all DLQs, or the one
    named by its own or its source queue's logical id), then drain the queues."""
    sources: dict[str, str] = {}
    for queue, its_dlq in stack.dead_letter_queues.items():
        sources.setdefault(its_dlq, queue)
    dead_letter_queues = sorted({*sources, *(q for q in stack.queue_urls if q.endswith("DLQ"))})
    chosen = [d for d in dead_letter_queues if _matches(d, sources.get(d), queue_logical_id)]
    if not chosen:
        raise RedriveError(
            f"{queue_logical_id}: not a dead-letter queue of this stack "
            f"(one of: {', '.join(dead_letter_queues)})"
        )
    results = []
    for dlq in chosen:
        source = sources.get(dlq)
        # A function's failure queue is replayed through the checks even while a draining
        # queue of the release before still names it its dead-letter queue.
        if source is None or failure_senders(stack.template).get(dlq):
            results.append(_reinvoke_local(stack, dlq))
            continue
        moved = _move(stack, stack.queue_urls[dlq], stack.queue_urls[source])
        results.append(Redriven(dlq, moved))
    if drain:
        stack.drain()
    return results


def _lambda_record(body: str) -> tuple[str, dict[str, Any]] | None:
    """The function ARN and the whole of a record Lambda writes to a failure destination
    (its ``requestContext`` names the function), or None for any other message."""
    try:
        record = json.loads(body)
    except ValueError:
        return None
    context = record.get("requestContext") if isinstance(record, dict) else None
    if not isinstance(context, dict) or "functionArn" not in context:
        return None
    return str(context["functionArn"]), record


def invocation_record_target(body: str) -> tuple[str, Any] | None:
    """The function ARN and the event of a Lambda invocation record, or None for any other
    message (a Scheduler dead-letter event, say)."""
    found = _lambda_record(body)
    if found is None or "requestPayload" not in found[1]:
        return None
    return found[0], found[1]["requestPayload"]


def stream_batch_target(body: str) -> tuple[str, dict[str, Any]] | None:
    """The function ARN and the ``DDBStreamBatchInfo`` of a Lambda record of a stream batch
    it gave up on, or None for any other message."""
    found = _lambda_record(body)
    info = found[1].get("DDBStreamBatchInfo") if found is not None else None
    keys = ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")
    if found is None or not isinstance(info, dict):
        return None
    if not all(isinstance(info.get(k), str) for k in keys):
        return None
    return found[0], info


def read_stream_range(
    streams: Any, stream_arn: str, shard_id: str, first: str, last: str
) -> list[dict[str, Any]]:
    """The records of one shard from sequence number ``first`` to ``last``, as a stream
    event source mapping hands them to a function (creation time in epoch seconds, the
    stream's ARN). Sequence numbers grow within a shard; they compare as numbers.
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetShardIterator.html"""
    from datetime import datetime

    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=first,
    ).get("ShardIterator")
    records: list[dict[str, Any]] = []
    while iterator:
        response = streams.get_records(ShardIterator=iterator, Limit=1000)
        page = response.get("Records", [])
        for record in page:
            if int(record["dynamodb"]["SequenceNumber"]) > int(last):
                return records
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                record["dynamodb"]["ApproximateCreationDateTime"] = float(int(created.timestamp()))
            record["eventSourceARN"] = stream_arn
            records.append(record)
        if not page:
            return records
        iterator = response.get("NextShardIterator")
    return records


def replay_stream_batch(
    info: dict[str, Any],
    records_of: Callable[[dict[str, Any]], list[dict[str, Any]]],
    invoke: Callable[[dict[str, Any]], Any],
) -> bool:
    """Hand a failed stream batch's records, read again, to its function; True when it
    reports no failure. False (the record stays) when the records cannot be read (trimmed
    after 24 hours) or the function fails again."""
    try:
        records = records_of(info)
    except Exception:  # the stream refused the range: trimmed, or its shard is gone
        return False
    if not records:
        return False
    try:
        response = invoke({"Records": records})
    except Exception:
        return False
    return not (isinstance(response, dict) and response.get("batchItemFailures"))


def event_target_function(message: dict[str, Any]) -> tuple[str, Any] | None:
    """The function ARN and the event of an EventBridge rule's dead letter whose target is a
    Lambda function (TARGET_ARN arn:aws:lambda:region:account:function:name), or None.
    A rule's letter names its RULE_ARN; Scheduler's letters (ScheduleDLQ) name none and
    are not replayed (the sweeps catch up by themselves)."""
    attributes = message.get("MessageAttributes", {})
    if not attributes.get("RULE_ARN", {}).get("StringValue"):
        return None
    arn = str(attributes.get("TARGET_ARN", {}).get("StringValue", ""))
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "lambda" or parts[5] != "function":
        return None
    try:
        event = json.loads(message["Body"])
    except ValueError:
        return None
    return (arn, event) if isinstance(event, dict) else None


def desk_event(body: str) -> dict[str, Any] | None:
    """The desk's bus event a message's body is, as its consumers read one
    (:func:`helpdesk.aws.bus_event.bus_event`), or None."""
    from helpdesk.aws.bus_event import NotABusEvent, bus_event

    try:
        event = json.loads(body)
        bus_event(event)
    except (ValueError, NotABusEvent):  # NotABusEvent is a ValueError too: named for the reader
        return None
    return dict(event)


def s3_notification(body: str) -> dict[str, Any] | None:
    """S3's event notification a message's body is (every record an ``aws:s3``
    ObjectCreated event, "Event message structure", S3 user guide), or None."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return None
    if all(
        isinstance(record, dict)
        and record.get("eventSource") == "aws:s3"
        and str(record.get("eventName", "")).startswith("ObjectCreated")
        for record in records
    ):
        return dict(event)
    return None


def _function_name(arn: str) -> str:
    # arn:aws:lambda:region:account:function:name[:qualifier]
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else arn


def _shown(text: str) -> str:
    """A letter's words as the operator's terminal may show them: printable, and short."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= 160 else printable[:157] + "..."


@dataclass(frozen=True)
class _Replay:
    """A letter its queue's sender may be given again: the event (``payload``), or for a
    stream batch its position (``DDBStreamBatchInfo``)."""

    sender: FailureSender
    payload: Any


NOT_A_SENDER = "not a function whose failures this queue holds"


def vet_letter(
    message: Mapping[str, Any], senders: Sequence[FailureSender]
) -> _Replay | str | None:
    """What may be done with one message of a failure queue whose senders are ``senders``:
    replay it (the letter is of the kind the queue holds and names one of its senders), or
    refuse it (the reason: it names another function, rule or stream), or None for a
    message that is no letter the redrive replays (Scheduler's, say: left as before)."""
    rule_letter = event_target_function(dict(message))
    if rule_letter is not None:
        arn, event = rule_letter
        attributes = message.get("MessageAttributes", {})
        rule_arn = str(attributes.get("RULE_ARN", {}).get("StringValue", ""))
        for sender in senders:
            if (sender.kind, sender.function_arn, sender.rule_arn) == (
                "rule",
                _unqualified(arn),
                rule_arn,
            ):
                return _Replay(sender, event)
        return _shown(
            f"an EventBridge dead letter naming function {_function_name(arn)} and rule "
            f"{rule_arn.rpartition('/')[2]}: {NOT_A_SENDER} (a target of this stack's rules "
            "that keeps its undelivered events here)"
        )
    record = invocation_record_target(message["Body"])
    if record is not None:
        arn, payload = record
        for sender in senders:
            if sender.kind == "invocation" and sender.function_arn == _unqualified(arn):
                return _Replay(sender, payload)
        return _shown(
            f"an invocation record naming function {_function_name(arn)}: {NOT_A_SENDER}"
            " (a function whose on-failure destination it is)"
        )
    event = desk_event(message["Body"])
    if event is not None:
        # A dead letter of a draining queue (AcknowledgeQueue, RouteQueue: five failed
        # receives put the bus event itself here): replayed on the one function whose
        # failure queue this is, through the same checks and unvouched as a record.
        functions = [sender for sender in senders if sender.kind == "invocation"]
        if len(functions) == 1:
            return _Replay(functions[0], event)
        return _shown(f"an event of the bus ({event.get('detail-type')}): {NOT_A_SENDER}")
    notification = s3_notification(message["Body"])
    if notification is not None:
        # A dead letter of the draining EmailIntakeQueue (five failed receives put S3's
        # notification itself here): replayed only on the function the bucket notifies.
        for sender in senders:
            if sender.kind == "notification":
                return _Replay(sender, notification)
        return _shown(
            f"an S3 notification: {NOT_A_SENDER} (a function a bucket of this stack notifies)"
        )
    batch = stream_batch_target(message["Body"])
    if batch is not None:
        arn, info = batch
        for sender in senders:
            if sender.kind == "stream" and sender.function_arn == _unqualified(arn):
                if sender.table_arn and info["streamArn"].startswith(sender.table_arn + "/stream/"):
                    return _Replay(sender, info)
                return _shown(
                    f"a stream batch of {info['streamArn']}: not the stream of the table "
                    f"{sender.function_name}'s mapping reads"
                )
        return _shown(
            f"a stream batch naming function {_function_name(arn)}: {NOT_A_SENDER}"
            " (a function whose stream mapping sends its failures here)"
        )
    return None


def local_failure_senders(stack: LocalStack, dlq: str) -> list[FailureSender]:
    """The senders of one of the local stack's failure queues, named as the stack named
    its resources."""
    resolver = stack.resolver
    if resolver is None:
        raise RedriveError("the local stack is not running")
    return [
        FailureSender(
            function_arn=resolver.get_att(source.function, "Arn"),
            kind=source.kind,
            rule_arn=resolver.get_att(source.rule, "Arn") if source.rule else None,
            table_arn=resolver.get_att(source.table, "Arn") if source.table else None,
        )
        for source in failure_senders(stack.template).get(dlq, [])
    ]


def _reinvoke_local(stack: LocalStack, dlq: str) -> Redriven:
    url = stack.queue_urls[dlq]

    def replay(sender: FailureSender, info: dict[str, Any]) -> bool:
        def records_of(batch: dict[str, Any]) -> list[dict[str, Any]]:
            return stack.stream_records(
                batch["streamArn"],
                batch["shardId"],
                batch["startSequenceNumber"],
                batch["endSequenceNumber"],
            )

        return replay_stream_batch(
            info, records_of, lambda event: stack.invoke(sender.function_name, event)
        )

    def invoke(sender: FailureSender, payload: Any) -> None:
        name = sender.function_name
        if sender.kind == "rule":
            # Into Lambda's asynchronous queue again, as the rule put it there (drain).
            stack.deliver_bus_event(name, payload)
        else:
            stack.invoke_async(name, payload)

    outcome = _replay(
        stack.sqs,
        url,
        senders=local_failure_senders(stack, dlq),
        visibility=60,
        wait=0,
        invoke=invoke,
        replay_stream=replay,
    )
    for message in outcome.left:
        stack.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return _reinvoked_result(dlq, outcome)


@dataclass
class _Outcome:
    """What one pass over a failure queue did: the functions run again (one entry per
    letter), the messages left in the queue, and the reasons of those refused."""

    reinvoked: list[str]
    left: list[dict[str, Any]]
    refused: list[str]
    stuck: int = 0  # stream batches that could not be replayed (left, not refused)


def unvouched(payload: Any) -> Any:
    """``payload`` with nothing in it that spares a count: a replayed TicketOpened's
    ``acknowledgement_counted`` is dropped, so its acknowledgement counts in the
    recipient's hour as any mail does. A letter in a failure queue is only as trustworthy
    as whoever may write to that queue (anyone in the account with sqs:SendMessage), and a
    redrive replays it in another hour than intake counted it in (attack 4, F2)."""
    if (
        isinstance(payload, dict)
        and payload.get("detail-type") == "TicketOpened"
        and isinstance(payload.get("detail"), dict)
    ):
        detail = {k: v for k, v in payload["detail"].items() if k != "acknowledgement_counted"}
        return {**payload, "detail": detail}
    return payload


def _replay(
    sqs: Any,
    url: str,
    *,
    senders: Sequence[FailureSender],
    visibility: int,
    wait: int,
    invoke: Callable[[FailureSender, Any], None],
    replay_stream: Callable[[FailureSender, dict[str, Any]], bool],
) -> _Outcome:
    """Replay every message of a failure queue that :func:`vet_letter` lets through: an
    EventBridge dead letter and a Lambda invocation record are invoked again with
    ``invoke(sender, event)``, a stream batch's records are read again and handed to its
    function with ``replay_stream(sender, batch info)``; each is then deleted. Everything
    else stays: refused letters (with their reasons), messages that are no letter, stream
    batches that could not be replayed."""
    outcome = _Outcome([], [], [])
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility,
            WaitTimeSeconds=wait, MessageAttributeNames=["All"],
        ).get("Messages", [])  # fmt: skip
        if not messages:
            return outcome
        for message in messages:
            verdict = vet_letter(message, senders)
            if verdict is None or isinstance(verdict, str):
                outcome.left.append(message)
                if verdict is not None:
                    outcome.refused.append(f"{_shown(message.get('MessageId', '?'))}: {verdict}")
                continue
            if verdict.sender.kind == "stream":
                if not replay_stream(verdict.sender, verdict.payload):
                    outcome.left.append(message)
                    outcome.stuck += 1
                    continue
            else:
                invoke(verdict.sender, unvouched(verdict.payload))
            outcome.reinvoked.append(verdict.sender.function_name)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _reinvoked_result(dlq: str, outcome: _Outcome) -> Redriven:
    reinvoked, stuck, refused = outcome.reinvoked, outcome.stuck, tuple(outcome.refused)
    others = len(outcome.left) - stuck - len(refused)
    # A stream batch left behind failed again, or its records are trimmed (after 24 hours).
    stuck_note = (
        f"{stuck} stream batch(es) not replayed (the function failed again, or the stream "
        "no longer holds the records: docs/DEPLOY.md, 'Publishing')"
        if stuck
        else ""
    )
    refused_note = (
        f"{len(refused)} letter(s) refused and left in the queue (below)" if refused else ""
    )
    if not reinvoked:
        note = "; ".join(n for n in (stuck_note, refused_note) if n)
        return Redriven(
            dlq, 0, note=note or "no queue sends to it; nothing to move back", refused=refused
        )
    note = f"{len(reinvoked)} failed invocation(s) run again ({', '.join(sorted(set(reinvoked)))})"
    if others:
        note += f"; {others} other message(s) left"
    for extra in (stuck_note, refused_note):
        if extra:
            note += f"; {extra}"
    return Redriven(dlq, len(reinvoked), note=note, refused=refused)


def _move(stack: LocalStack, from_url: str, to_url: str) -> int:
    moved = 0
    while True:
        messages = stack.sqs.receive_message(
            QueueUrl=from_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            extra: dict[str, Any] = {}
            if message.get("MessageAttributes"):
                extra["MessageAttributes"] = message["MessageAttributes"]
            # Sent before it is deleted: a crash in between leaves a copy in both queues,
            # which the idempotent consumers absorb, rather than none.
            stack.sqs.send_message(QueueUrl=to_url, MessageBody=message["Body"], **extra)
            stack.sqs.delete_message(QueueUrl=from_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


# ---------------------------------------------------------------------- AWS
def describe_stack(cloudformation: Any, stack_name: str) -> dict[str, Any]:
    """A deployed stack as DescribeStacks tells it; one line of error when it cannot."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise RedriveError(f"stack {stack_name}: {error}") from error
    if not stacks:
        raise RedriveError(f"stack {stack_name}: not found")
    return dict(stacks[0])


def _dead_letter_queues(stack: Mapping[str, Any]) -> dict[str, str]:
    outputs: Iterable[dict[str, str]] = stack.get("Outputs", [])
    return {
        output["OutputKey"].removesuffix("Url"): output["OutputValue"]
        for output in outputs
        if output["OutputKey"].endswith(DLQ_OUTPUT_SUFFIX)
    }


def stack_failure_senders(
    cloudformation: Any, stack_name: str, stack_id: str
) -> dict[str, list[FailureSender]]:
    """Each failure queue's senders in a deployed stack: read from the template the stack
    was deployed with (GetTemplate, ``TemplateStage: Original``: the SAM template as
    written) and named by its resources (ListStackResources: a function's physical id is
    its name, a table's its name, a rule's its name or ``<bus>|<name>``), in the stack's
    partition, region and account (its StackId)."""
    from helpdesk_local.cfn import parse_template

    body = cloudformation.get_template(StackName=stack_name, TemplateStage="Original")[
        "TemplateBody"
    ]
    # botocore hands a JSON template over as a dict, a YAML one as its text.
    template = body if isinstance(body, dict) else parse_template(body, f"stack {stack_name}")
    physical: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page.get("StackResourceSummaries", []):
            if resource.get("PhysicalResourceId"):
                physical[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    # arn:partition:cloudformation:region:account:stack/name/id
    _, partition, _, region, account = stack_id.split(":")[:5]

    def function_arn(logical_id: str) -> str | None:
        name = physical.get(logical_id)
        return f"arn:{partition}:lambda:{region}:{account}:function:{name}" if name else None

    def rule_arn(source: FailureSource) -> str | None:
        # The registry schema's primary identifier of AWS::Events::Rule is its Arn; older
        # stacks name a rule by its name, or by <bus>|<name> on a custom bus.
        identifier = physical.get(source.rule or "", "")
        if identifier.startswith("arn:"):
            return identifier
        name = identifier.rpartition("|")[2]
        bus = physical.get(source.bus, source.bus) if source.bus else None
        if not name:
            return None
        path = f"{bus}/{name}" if bus and bus != "default" else name
        return f"arn:{partition}:events:{region}:{account}:rule/{path}"

    def table_arn(logical_id: str | None) -> str | None:
        name = physical.get(logical_id or "")
        return f"arn:{partition}:dynamodb:{region}:{account}:table/{name}" if name else None

    senders: dict[str, list[FailureSender]] = {}
    for queue, sources in failure_senders(template).items():
        for source in sources:
            arn = function_arn(source.function)
            if arn is None:  # not deployed (a condition), so it sends nothing
                continue
            senders.setdefault(queue, []).append(
                FailureSender(
                    function_arn=arn,
                    kind=source.kind,
                    rule_arn=rule_arn(source) if source.rule else None,
                    table_arn=table_arn(source.table) if source.table else None,
                )
            )
    return senders


def redrive_aws(
    stack_name: str,
    queue: str | None = None,
    *,
    cloudformation: Any = None,
    sqs: Any = None,
    lambda_client: Any = None,
    region: str | None = None,
) -> list[Redriven]:
    """Start a message-move task from each of the stack's DLQs (or the one named) back to
    the queue its messages came from; invoke again the stack's functions whose letters fill
    an on-failure destination (the functions the stack says send their failures there)."""
    import boto3

    cloudformation = cloudformation or boto3.client("cloudformation", region_name=region)
    sqs = sqs or boto3.client("sqs", region_name=region)
    stack = describe_stack(cloudformation, stack_name)
    urls = _dead_letter_queues(stack)
    if not urls:
        raise RedriveError(f"stack {stack_name} names no dead-letter queue in its outputs")
    senders: dict[str, list[FailureSender]] | None = None
    results = []
    for name, url in sorted(urls.items()):
        if not _matches(name, _source_logical_name(name), queue):
            continue
        sources = sqs.list_dead_letter_source_queues(QueueUrl=url).get("queueUrls", [])
        if senders is None:
            senders = stack_failure_senders(cloudformation, stack_name, str(stack["StackId"]))
        # A function's failure queue (AcknowledgeDLQ, RouteDLQ) is replayed through the
        # checks, never moved back into the draining queue that still names it: there a
        # planted event would run unchecked, and that queue refuses every sender anyway
        # (re-attack 4, R1).
        if not sources or senders.get(name):
            lambda_client = lambda_client or boto3.client("lambda", region_name=region)
            results.append(
                _reinvoke_aws(
                    name, url, sqs, lambda_client, senders=senders.get(name, []), region=region
                )
            )
            continue
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        # Without DestinationArn SQS returns each message to the queue it came from.
        task = sqs.start_message_move_task(SourceArn=arn)["TaskHandle"]
        results.append(Redriven(name, None, task=task))
    if not results:
        raise RedriveError(f"{queue}: not a dead-letter queue of {stack_name} ({', '.join(urls)})")
    return results


def _reinvoke_aws(
    name: str,
    url: str,
    sqs: Any,
    lambda_client: Any,
    *,
    senders: Sequence[FailureSender],
    region: str | None = None,
) -> Redriven:
    """Invoke each letter's function (the stack's, by the stack's ARN) again with its event,
    asynchronously as its trigger did (so Lambda's retries and the destination apply
    again), then delete the letter. Other messages are not ours to replay: they become
    visible again when the timeout ends."""

    def invoke(sender: FailureSender, payload: Any) -> None:
        lambda_client.invoke(
            FunctionName=sender.function_arn,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )

    def replay(sender: FailureSender, info: dict[str, Any]) -> bool:
        def records_of(batch: dict[str, Any]) -> list[dict[str, Any]]:
            import boto3

            return read_stream_range(
                boto3.client("dynamodbstreams", region_name=region),
                batch["streamArn"],
                batch["shardId"],
                batch["startSequenceNumber"],
                batch["endSequenceNumber"],
            )

        def invoke_now(event: dict[str, Any]) -> Any:
            # Synchronously: the record is deleted only when the relay published them all.
            answer = lambda_client.invoke(
                FunctionName=sender.function_arn,
                InvocationType="RequestResponse",
                Payload=json.dumps(event),
            )
            if answer.get("FunctionError"):
                raise RuntimeError(f"{sender.function_arn}: {answer['FunctionError']}")
            return json.loads(answer["Payload"].read() or b"null")

        return replay_stream_batch(info, records_of, invoke_now)

    # A long poll (1 s) asks every SQS server; a short one may miss a message.
    outcome = _replay(
        sqs,
        url,
        senders=senders,
        visibility=300,
        wait=1,
        invoke=invoke,
        replay_stream=replay,
    )
    return _reinvoked_result(name, outcome)


def _source_logical_name(dlq_name: str) -> str | None:
    # EmailIntakeDLQ receives from EmailIntakeQueue (the template's naming convention).
    return dlq_name.removesuffix("DLQ") + "Queue" if dlq_name.endswith("DLQ") else None


def describe(results: Iterable[Redriven]) -> list[str]:
    """One line per dead-letter queue, for the command's output."""
    lines = []
    for result in results:
        if result.note:
            lines.append(f"{result.dead_letter_queue}: {result.note}")
        elif result.task:
            lines.append(f"{result.dead_letter_queue}: move task started ({result.task})")
        else:
            lines.append(f"{result.dead_letter_queue}: {result.moved} message(s) moved back")
        lines.extend(
            f"{result.dead_letter_queue}: refused, left in the queue: {refusal}"
            for refusal in result.refused
        )
    return lines
