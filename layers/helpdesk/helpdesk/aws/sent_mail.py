"""The records of sent mail in the domain table (:class:`helpdesk.notices.outbound.SentMail`).

One item per mail, keyed by its Message-ID: ``MSGID#<Message-ID>`` / ``MSGID``, the same
key as the pointer intake writes for a message that arrives (``ref`` is the ticket a reply
to it belongs to, see :meth:`DynamoRepository.ticket_for_message_id`). ``state`` is
``pending`` while an attempt holds the claim until ``lease_until``, then ``sent``. An item
without ``state`` is a threading pointer written before the records moved here, by the
mark of a mail that was sent: it reads as sent.

Hourly counts are ``RATE#<scope>#<window>`` / ``RATE`` items with ``hits`` (the format of
:meth:`DynamoRepository.count_in_window`). A claim with counts is one TransactWriteItems:
DynamoDB applies all of it or none, and its cancellation reasons are "ordered according to
the ordering of the TransactWriteItems request parameter" (DynamoDB API Reference,
"CancellationReason"), so the item whose condition failed says which limit was reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.errors import Conflict
from helpdesk.notices.outbound import Claim, MailClaimed, Quota, QuotaSpent, SentRecord

if TYPE_CHECKING:
    from helpdesk.aws.dynamodb import DynamoRepository

SK = "MSGID"


def _pk(message_id: str) -> str:
    return f"MSGID#{message_id}"


def _key(message_id: str) -> dict[str, str]:
    return {"PK": _pk(message_id), "SK": SK}


def _count(quota: Quota) -> dict[str, Any]:
    return {
        "update": {"PK": f"RATE#{quota.scope}#{quota.window}", "SK": "RATE"},
        "expression": "ADD hits :one SET expires_at = :exp",
        "values": {":one": 1, ":limit": quota.limit, ":exp": quota.expires_at},
        "condition": "attribute_not_exists(hits) OR hits < :limit",
    }


class DynamoSentMail:
    def __init__(self, repo: DynamoRepository) -> None:
        self.repo = repo

    def record(self, message_id: str) -> SentRecord | None:
        item = self.repo.get_item(_pk(message_id), SK)
        if item is None:
            return None
        if item.get("state") != "pending":
            return SentRecord("sent")
        lease = item.get("lease_until")
        return SentRecord(
            "pending",
            attempt=item.get("attempt"),
            lease_until=datetime.fromisoformat(lease) if lease else None,
        )

    def claim(self, claim: Claim, quotas: Sequence[Quota], *, replacing: str | None) -> None:
        write = self._claim_write(claim, replacing)
        try:
            if not quotas:
                self._write_alone(write)
            else:
                self.repo.transact([write, *(_count(quota) for quota in quotas)])
        except Conflict as conflict:
            reasons: list[str] = list(getattr(conflict, "reasons", []))
            # The claim comes first: a claim taken already is the answer, whatever the counts.
            if not reasons or reasons[0] == "ConditionalCheckFailed":
                raise MailClaimed(claim.message_id) from conflict
            for quota, reason in zip(quotas, reasons[1:], strict=False):
                if reason == "ConditionalCheckFailed":
                    raise QuotaSpent(quota) from conflict
            raise

    def mark_sent(self, message_id: str, at: datetime) -> None:
        self.repo.update(
            _pk(message_id),
            SK,
            "SET #s = :s, sent_at = :t",
            names={"#s": "state"},
            values={":s": "sent", ":t": at.isoformat()},
        )

    def release(self, message_id: str) -> None:
        self.repo.delete(_pk(message_id), SK)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _claim_write(claim: Claim, replacing: str | None) -> dict[str, Any]:
        held = {
            "state": "pending",
            "lease_until": claim.lease_until.isoformat(),
            "attempt": claim.attempt,
        }
        if replacing is None:
            item = {
                **_key(claim.message_id),
                "type": "sent_mail",
                # The ticket a reply to this mail threads to ("" as intake's sender: ours).
                **({"ref": claim.ticket} if claim.ticket else {}),
                # The ticket the desk sent it about, "" for none. Apart from ``ref``, which
                # the first received mail carrying this Message-ID writes when the desk
                # wrote none (a report to a lead): desk_mail reads only this (attack 18, F5).
                "about": claim.ticket or "",
                "sender": "",
                "kind": claim.kind,
                "key": claim.key,
                "to": list(claim.to),
                # Always written, empty too: a record without it (before it was kept)
                # does not say whom else the mail reached (desk_mail).
                "cc": list(claim.cc),
                **held,
            }
            return {"put": item, "condition": "attribute_not_exists(PK)"}
        # Taking over a claim whose lease ran out: only from the attempt that was read.
        names = {"#s": "state"}
        values: dict[str, Any] = {
            ":s": held["state"],
            ":l": held["lease_until"],
            ":a": held["attempt"],
        }
        if replacing:
            condition = "attempt = :old"
            values[":old"] = replacing
        else:
            condition = "attribute_exists(PK) AND attribute_not_exists(attempt)"
        return {
            "update": _key(claim.message_id),
            "expression": "SET #s = :s, lease_until = :l, attempt = :a",
            "names": names,
            "values": values,
            "condition": condition,
        }

    def _write_alone(self, write: Mapping[str, Any]) -> None:
        if "put" in write:
            self.repo.put(write["put"], condition=write["condition"])
        else:
            self.repo.update(
                write["update"]["PK"],
                write["update"]["SK"],
                write["expression"],
                names=write["names"],
                values=write["values"],
                condition=write["condition"],
            )
