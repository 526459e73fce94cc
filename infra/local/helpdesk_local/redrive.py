"""`helpdesk redrive [QUEUE]`: dead letters go back to the queue they came from, for another try.

Against AWS it starts an SQS message-move task from each dead-letter queue named in the
stack's outputs (``<Queue>DLQUrl``); without a destination SQS moves every message back to
the queue it was dead-lettered from.

A DLQ that no queue sends to holds one of these:
- Lambda's invocation records (``SweepFailureDLQ``, the on-failure destination of the
  scheduled sweeps; ``AcknowledgeDLQ`` and ``RouteDLQ``, those of the functions the event
  rules invoke): each one's function is invoked again, asynchronously, with the event it
  failed on (``requestPayload``), and the record is deleted; see
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
  (For this release only, AcknowledgeQueue and RouteQueue, kept to drain the previous
  release's events, still send their dead letters to AcknowledgeDLQ and RouteDLQ: those
  two DLQs have a source queue, so their messages, records included, are moved back to it,
  and the function's mapping handles a record as its event: helpdesk.aws.bus_event.)
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

Locally (tests, a scenario's stack) the stack knows which DLQ belongs to which queue; the
messages are moved back with their bodies and attributes, then the queues are drained.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk_local.stack import LocalStack

DLQ_OUTPUT_SUFFIX = "DLQUrl"


class RedriveError(Exception):
    """A queue that cannot be redriven (unknown name, no stack, no source queue)."""


@dataclass(frozen=True)
class Redriven:
    """What one redrive did for one dead-letter queue."""

    dead_letter_queue: str
    moved: int | None  # None when the move runs in AWS (a task, counted there)
    task: str | None = None
    note: str | None = None


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
        if source is None:
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


def _function_name(arn: str) -> str:
    # arn:aws:lambda:region:account:function:name[:qualifier]
    return arn.split(":")[6]


def _reinvoke_local(stack: LocalStack, dlq: str) -> Redriven:
    url = stack.queue_urls[dlq]

    def replay(arn: str, info: dict[str, Any]) -> bool:
        def records_of(batch: dict[str, Any]) -> list[dict[str, Any]]:
            return stack.stream_records(
                batch["streamArn"],
                batch["shardId"],
                batch["startSequenceNumber"],
                batch["endSequenceNumber"],
            )

        return replay_stream_batch(
            info, records_of, lambda event: stack.invoke(_function_name(arn), event)
        )

    def invoke(arn: str, payload: Any) -> None:
        name = _function_name(arn)
        if any(t.function == name for ts in stack.rule_targets.values() for t in ts):
            # Into Lambda's asynchronous queue again, as the rule put it there (drain).
            stack.deliver_bus_event(name, payload)
        else:
            stack.invoke_async(name, payload)

    reinvoked, kept = _replay(
        stack.sqs, url, visibility=60, wait=0, invoke=invoke, replay_stream=replay
    )
    for message in kept:
        stack.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return _reinvoked_result(dlq, reinvoked, kept)


def _replay(
    sqs: Any,
    url: str,
    *,
    visibility: int,
    wait: int,
    invoke: Callable[[str, Any], None],
    replay_stream: Callable[[str, dict[str, Any]], bool],
) -> tuple[list[str], list[dict[str, Any]]]:
    """Replay every message of a failure queue: an EventBridge dead letter and a Lambda
    invocation record are invoked again with ``invoke(arn, event)``,
    a stream batch's records are read again and handed to their function with
    ``replay_stream(arn, batch info)``; each is then deleted. Returns what was replayed and
    the messages left (neither, or a stream batch that could not be replayed)."""
    reinvoked: list[str] = []
    kept: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility,
            WaitTimeSeconds=wait, MessageAttributeNames=["All"],
        ).get("Messages", [])  # fmt: skip
        if not messages:
            return reinvoked, kept
        for message in messages:
            target = event_target_function(message) or invocation_record_target(message["Body"])
            batch = None if target else stream_batch_target(message["Body"])
            if target is not None:
                invoke(*target)
                reinvoked.append(_function_name(target[0]))
            elif batch is not None and replay_stream(*batch):
                reinvoked.append(_function_name(batch[0]))
            else:
                kept.append(message)
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _reinvoked_result(dlq: str, reinvoked: list[str], kept: list[dict[str, Any]]) -> Redriven:
    stuck = sum(1 for message in kept if stream_batch_target(message["Body"]) is not None)
    # A stream batch left behind failed again, or its records are trimmed (after 24 hours).
    stuck_note = (
        f"{stuck} stream batch(es) not replayed (the function failed again, or the stream "
        "no longer holds the records: docs/DEPLOY.md, 'Publishing')"
        if stuck
        else ""
    )
    if not reinvoked:
        note = stuck_note or "no queue sends to it; nothing to move back"
        return Redriven(dlq, 0, note=note)
    note = f"{len(reinvoked)} failed invocation(s) run again ({', '.join(sorted(set(reinvoked)))})"
    if len(kept) > stuck:
        note += f"; {len(kept) - stuck} other message(s) left"
    if stuck_note:
        note += f"; {stuck_note}"
    return Redriven(dlq, len(reinvoked), note=note)


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
def dead_letter_queue_urls(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's DLQs by logical name, from its ``<Name>DLQUrl`` outputs."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise RedriveError(f"stack {stack_name}: {error}") from error
    outputs: Iterable[dict[str, str]] = stacks[0].get("Outputs", []) if stacks else []
    return {
        output["OutputKey"].removesuffix("Url"): output["OutputValue"]
        for output in outputs
        if output["OutputKey"].endswith(DLQ_OUTPUT_SUFFIX)
    }


def redrive_aws(
    stack_name: str,
    queue: str | None = None,
    *,
    cloudformation: Any = None,
    sqs: Any = None,
    lambda_client: Any = None,
) -> list[Redriven]:
    """Start a message-move task from each of the stack's DLQs (or the one named) back to
    the queue its messages came from; invoke again the functions whose invocation records
    fill an on-failure destination."""
    import boto3

    cloudformation = cloudformation or boto3.client("cloudformation")
    sqs = sqs or boto3.client("sqs")
    urls = dead_letter_queue_urls(cloudformation, stack_name)
    if not urls:
        raise RedriveError(f"stack {stack_name} names no dead-letter queue in its outputs")
    results = []
    for name, url in sorted(urls.items()):
        if not _matches(name, _source_logical_name(name), queue):
            continue
        sources = sqs.list_dead_letter_source_queues(QueueUrl=url).get("queueUrls", [])
        if not sources:
            lambda_client = lambda_client or boto3.client("lambda")
            results.append(_reinvoke_aws(name, url, sqs, lambda_client))
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


def _reinvoke_aws(name: str, url: str, sqs: Any, lambda_client: Any) -> Redriven:
    """Invoke each recorded function again with its event, asynchronously as Scheduler did
    (so Lambda's retries and the destination apply again), then delete the record. Other
    messages are not ours to replay: they become visible again when the timeout ends."""

    def invoke(arn: str, payload: Any) -> None:
        lambda_client.invoke(
            FunctionName=arn, InvocationType="Event", Payload=json.dumps(payload).encode()
        )

    def replay(arn: str, info: dict[str, Any]) -> bool:
        def records_of(batch: dict[str, Any]) -> list[dict[str, Any]]:
            import boto3

            return read_stream_range(
                boto3.client("dynamodbstreams"),
                batch["streamArn"],
                batch["shardId"],
                batch["startSequenceNumber"],
                batch["endSequenceNumber"],
            )

        def invoke_now(event: dict[str, Any]) -> Any:
            # Synchronously: the record is deleted only when the relay published them all.
            answer = lambda_client.invoke(
                FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(event)
            )
            if answer.get("FunctionError"):
                raise RuntimeError(f"{arn}: {answer['FunctionError']}")
            return json.loads(answer["Payload"].read() or b"null")

        return replay_stream_batch(info, records_of, invoke_now)

    # A long poll (1 s) asks every SQS server; a short one may miss a message.
    reinvoked, kept = _replay(sqs, url, visibility=300, wait=1, invoke=invoke, replay_stream=replay)
    return _reinvoked_result(name, reinvoked, kept)


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
    return lines
