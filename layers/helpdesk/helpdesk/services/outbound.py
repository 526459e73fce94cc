"""Sending mail exactly once: the intent is recorded before the send and the send after it.

Every mail the desk sends goes through :func:`send_once`, keyed on what caused it (the
ticket, the kind, the event). A retried delivery of the same event finds the record and
sends nothing; a delivery that failed before SES accepted the mail releases its claim so
the retry sends it. The one window left, a crash between SES accepting the mail and the
record being marked, is closed by the lease (the retry waits it out, then sends again) and
softened by the deterministic (and keyed) Message-ID: mail clients collapse a second copy
with the same Message-ID.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from helpdesk.errors import Conflict, TransientError
from helpdesk.mail.compose import OutboundMail, compose, make_message_id, valid_address

if TYPE_CHECKING:
    from helpdesk.aws.dynamodb import DynamoRepository
    from helpdesk.ports import Mailer

# No longer than the senders' queue visibility timeout less their function timeout
# (template.yaml: 180 s and 30 s): a message redelivered after a timeout must find the lease
# run out, or it fails again with "another delivery is sending it".
LEASE = timedelta(seconds=150)
SETTLE_ATTEMPTS = 3  # each is a whole botocore call with its own retries


@dataclass(frozen=True)
class SendResult:
    sent: bool
    message_id: str
    reason: str | None = None


def send_once(
    mail: OutboundMail,
    *,
    key: str,
    repo: DynamoRepository,
    mailer: Mailer,
    domain: str,
    now: datetime,
    message_id_key: bytes,
    recipient_limit_per_hour: int | None = None,
    record_message_id: bool = False,
) -> SendResult:
    """Send ``mail`` unless a mail with the same ``key`` was already sent for its ticket.

    With ``record_message_id`` a ticket's mail also claims its Message-ID for the ticket
    (so that replies thread back), in the same write that marks it sent. The Message-ID is
    deterministic per (ticket, kind, key), keyed with ``message_id_key`` (the desk's
    signing key) so that it cannot be computed from the ticket's reference.

    An address no mail can carry (see :func:`valid_address`: SES takes no SMTPUTF8 local
    parts) is left out of Cc; when no recipient is left the mail is refused at once, since
    retrying the event could never send it and would only end in a dead-letter queue.
    """
    message_id = mail.message_id or make_message_id(
        mail.ticket, mail.kind, key, domain, secret=message_id_key
    )
    if not all(valid_address(a) for a in mail.to):
        return SendResult(False, message_id, "invalid_recipient")
    if not all(valid_address(a) for a in mail.cc):
        mail = replace(mail, cc=tuple(a for a in mail.cc if valid_address(a)))
    pk = f"TICKET#{mail.ticket}" if mail.ticket else f"OUTBOX#{mail.kind}"
    sk = f"OUT#{mail.kind}#{key}"
    # Names this attempt in its claim: when the answer to the claim is lost (a timeout after
    # DynamoDB wrote it) the SDK's retry meets the claim, and must know it as its own.
    attempt = uuid.uuid4().hex
    try:
        repo.put(
            {
                "PK": pk,
                "SK": sk,
                "state": "pending",
                "lease_until": (now + LEASE).isoformat(),
                "message_id": message_id,
                "to": list(mail.to),
                "attempt": attempt,
            },
            condition="attribute_not_exists(PK)",
        )
    except Conflict:
        existing = repo.get_item(pk, sk) or {}
        if existing.get("state") == "sent":
            return SendResult(False, message_id, "already_sent")
        if (
            existing.get("state") == "pending"
            and existing.get("attempt") != attempt
            and existing.get("lease_until", "") > now.isoformat()
        ):
            raise TransientError(f"{sk}: another delivery is sending it") from None
        repo.update(pk, sk, "SET lease_until = :l", values={":l": (now + LEASE).isoformat()})
    try:
        if recipient_limit_per_hour is not None:
            window = now.strftime("%Y%m%d%H")
            for recipient in mail.to:
                if not repo.count_in_window(
                    f"OUT#{recipient.lower()}",
                    window,
                    limit=recipient_limit_per_hour,
                    expires_at=int(now.timestamp()) + 7200,
                ):
                    repo.update(
                        pk, sk, "SET #s = :s", names={"#s": "state"}, values={":s": "limited"}
                    )
                    return SendResult(False, message_id, "recipient_limit")
        raw = compose(_with_id(mail, message_id), domain=domain, date=now)
        mailer.send(raw, sender=mail.sender, recipients=[*mail.to, *mail.cc])
    except Exception:
        # SES did not take it: release the claim so that the retry sends it (a claim left
        # pending would hold every retry back until the lease runs out).
        _settle(lambda: repo.delete(pk, sk))
        raise
    thread_ref = mail.ticket if record_message_id and mail.ticket else None
    _settle(lambda: _mark_sent(repo, pk, sk, now, message_id=message_id, thread_ref=thread_ref))
    return SendResult(True, message_id)


def _mark_sent(
    repo: DynamoRepository,
    pk: str,
    sk: str,
    now: datetime,
    *,
    message_id: str,
    thread_ref: str | None,
) -> None:
    """Mark the record sent and, for ``thread_ref``, claim the Message-ID: one request."""
    expression = "SET #s = :s, sent_at = :t"
    names = {"#s": "state"}
    values = {":s": "sent", ":t": now.isoformat()}
    mark: dict[str, Any] = {
        "update": {"PK": pk, "SK": sk},
        "expression": expression,
        "names": names,
        "values": values,
    }
    if thread_ref is not None:
        pointer = {"PK": f"MSGID#{message_id}", "SK": "MSGID", "ref": thread_ref, "sender": ""}
        try:
            repo.transact([mark, {"put": pointer, "condition": "attribute_not_exists(PK)"}])
            return
        except Conflict:
            # The Message-ID is claimed already (by an earlier try of this send, or by a
            # message that carried it first): its first owner keeps it, the mark alone goes.
            pass
    repo.update(pk, sk, expression, names=names, values=values)


def _settle(write: Callable[[], object]) -> None:
    """Make a write that follows SES's answer stick, trying again when throttled.

    Giving up here leaves the record pending: every retry then waits out the lease, and the
    one after it sends the mail a second time. Both writes are idempotent (a delete, a SET),
    so trying them again is safe.
    """
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            write()
            return
        except TransientError:
            if attempt == SETTLE_ATTEMPTS - 1:
                raise


def _with_id(mail: OutboundMail, message_id: str) -> OutboundMail:
    return replace(mail, message_id=message_id)
