"""`helpdesk backfill-backlog`: give a deployed desk's older tickets the BacklogIndex entries
this release reads.

- A ticket carries ``BPK = BACKLOG#<team>`` while it is in its team's backlog
  (``helpdesk.model.in_backlog``); every commit writes it with the ticket
  (``helpdesk.aws.dynamodb.ticket_item``). Tickets opened before the index existed have no
  key until their next change, so a report would miss them from its backlog and its "needs
  attention" list: this pass sets it on each of them, with a conditional update on the
  version it read, so a commit made meanwhile, which wrote its own key, wins.
- A contact's tickets are listed by an entry written when a ticket opens (``BPK =
  CONTACT#<email>`` on the opening's history item, ``helpdesk.aws.dynamodb.contact_entry``).
  Tickets opened before it were listed by their own item in GSI1, which this release no
  longer writes: this pass gives each ticket an entry of its own (``TICKET#<ref>`` /
  ``CONTACT``, a conditional put), so a customer's page and the agent's assignment mail
  list them again. A ticket opened since has two entries; the reader counts it once.
- A contact first seen by mail stores the zone "" (none), so that a form anyone can file
  in her name gives her none: the first opening decides (attack 8, F2). A contact stored
  before that release has no zone attribute at all, and the next opening's zone, a
  stranger's form's among them, would take (review 8, #1): this pass gives each such
  contact "" (a conditional update: an opening meanwhile that set one wins).

It scans the table once (an operator's tool, never deployed code: the functions never scan)
for the ticket items (docs/DEPLOY.md, "Upgrading to this release"). Running it twice
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from helpdesk.aws.dynamodb import backlog_key, contact_entry, decode, encode, ticket_from_item
from helpdesk.model import in_backlog, listed_as_the_contacts


@dataclass(frozen=True)
class Backfilled:
    """What one pass did: tickets without the backlog key it looked at, the backlog keys it
    set, and the tickets it listed under their contact."""

    looked_at: int
    keyed: int
    listed: int = 0
    zoned: int = 0  # contacts given the zone "" (none)


def backfill_backlog_index(dynamodb: Any, table: str) -> Backfilled:
    """Set the BacklogIndex key on every ticket of ``table`` in its team's backlog that
    lacks it, and list every ticket under its contact (``dynamodb``: a boto3 DynamoDB
    client)."""
    looked_at = keyed = listed = zoned = 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "SK = :meta AND (#type = :ticket OR "
        "(begins_with(PK, :contact) AND attribute_not_exists(#z)))",
        "ExpressionAttributeNames": {"#type": "type", "#z": "timezone"},
        "ExpressionAttributeValues": {
            ":ticket": {"S": "ticket"},
            ":meta": {"S": "META"},
            ":contact": {"S": "CONTACT#"},
        },
    }
    while True:
        page = dynamodb.scan(**kwargs)
        for raw in page.get("Items", []):
            key = {"PK": raw["PK"], "SK": raw["SK"]}
            if raw["PK"]["S"].startswith("CONTACT#"):
                # No zone: an opening meanwhile that set one wins.
                zoned += _written(
                    dynamodb.update_item,
                    dynamodb,
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET #z = :none",
                    # Never a stub of a contact deleted since the scan read it.
                    ConditionExpression="attribute_exists(PK) AND attribute_not_exists(#z)",
                    ExpressionAttributeNames={"#z": "timezone"},
                    ExpressionAttributeValues={":none": {"S": ""}},
                )
                continue
            ticket = ticket_from_item(decode(raw))
            # The ticket's own entry among its contact's tickets, once; none for a forger's
            # (helpdesk.model.listed_as_the_contacts).
            entry = {"PK": raw["PK"]["S"], "SK": "CONTACT", "type": "contact_entry"}
            if listed_as_the_contacts(ticket):
                listed += _written(
                    dynamodb.put_item,
                    dynamodb,
                    TableName=table,
                    Item=encode(entry | contact_entry(ticket)),
                    ConditionExpression="attribute_not_exists(PK)",
                )
            if "BPK" in raw:
                continue
            looked_at += 1
            if in_backlog(ticket):
                # A commit meanwhile (another version) wrote the key it needs.
                keyed += _written(
                    dynamodb.update_item,
                    dynamodb,
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET BPK = :key",
                    ConditionExpression="version = :version AND attribute_not_exists(BPK)",
                    ExpressionAttributeValues={
                        ":key": {"S": backlog_key(ticket.team)},
                        ":version": {"N": str(ticket.version)},
                    },
                )
        if "LastEvaluatedKey" not in page:
            return Backfilled(looked_at, keyed, listed, zoned)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _written(write: Callable[..., Any], dynamodb: Any, **request: Any) -> int:
    """Make one conditional write: 1 when it was made, 0 when its condition refused it."""
    try:
        write(**request)
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return 0
    return 1


def table_of_stack(stack_name: str, cloudformation: Any = None) -> str:
    """The domain table of a deployed stack (its ``DomainTableName`` output); asked with
    ``cloudformation`` (a boto3 client of the stack's region), or boto3's default one."""
    import boto3

    from helpdesk_local.redrive import RedriveError, describe_stack

    stack = describe_stack(cloudformation or boto3.client("cloudformation"), stack_name)
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == "DomainTableName":
            return str(output["OutputValue"])
    raise RedriveError(f"stack {stack_name} has no DomainTableName output")
