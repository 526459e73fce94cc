"""`helpdesk backfill-backlog`: give the open tickets of a deployed desk their BacklogIndex key.

A ticket carries ``BPK = BACKLOG#<team>`` while it is in its team's backlog
(``helpdesk.model.in_backlog``); every commit writes it with the ticket
(``helpdesk.aws.dynamodb.ticket_item``). Tickets opened before the index existed have no key
until their next change, so a report would miss them from its backlog and its "needs
attention" list: this one-off pass adds the key to each of them (docs/DEPLOY.md, "The
backlog index").

It scans the table once (an operator's tool, never deployed code: the functions never scan)
for ticket items without the key, and sets it on those in the backlog with a conditional
update on the version it read, so a commit made meanwhile, which wrote its own key, wins.
Running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpdesk.aws.dynamodb import backlog_key, decode, ticket_from_item
from helpdesk.model import in_backlog


@dataclass(frozen=True)
class Backfilled:
    """What one pass did: tickets without the key it looked at, and the keys it set."""

    looked_at: int
    keyed: int


def backfill_backlog_index(dynamodb: Any, table: str) -> Backfilled:
    """Set the BacklogIndex key on every ticket of ``table`` in its team's backlog that
    lacks it (``dynamodb``: a boto3 DynamoDB client)."""
    looked_at = keyed = 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#type = :ticket AND SK = :meta AND attribute_not_exists(BPK)",
        "ExpressionAttributeNames": {"#type": "type"},
        "ExpressionAttributeValues": {":ticket": {"S": "ticket"}, ":meta": {"S": "META"}},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        for raw in page.get("Items", []):
            looked_at += 1
            ticket = ticket_from_item(decode(raw))
            if not in_backlog(ticket):
                continue
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key={"PK": raw["PK"], "SK": raw["SK"]},
                    UpdateExpression="SET BPK = :key",
                    ConditionExpression="version = :version AND attribute_not_exists(BPK)",
                    ExpressionAttributeValues={
                        ":key": {"S": backlog_key(ticket.team)},
                        ":version": {"N": str(ticket.version)},
                    },
                )
            except dynamodb.exceptions.ConditionalCheckFailedException:
                continue  # changed meanwhile: that commit wrote the key it needs
            keyed += 1
        if "LastEvaluatedKey" not in page:
            return Backfilled(looked_at, keyed)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def table_of_stack(stack_name: str, cloudformation: Any = None) -> str:
    """The domain table of a deployed stack (its ``DomainTableName`` output); asked with
    ``cloudformation`` (a boto3 client of the stack's region), or boto3's default one."""
    import boto3

    cloudformation = cloudformation or boto3.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == "DomainTableName":
            return str(output["OutputValue"])
    raise LookupError(f"stack {stack_name} has no DomainTableName output")
