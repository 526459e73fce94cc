"""Sending mail exactly once: the intent is recorded before the send and the send after it.

Every mail the desk sends goes through :func:`send_once`, keyed on what caused it (the
ticket, the kind, the event). The record of a mail is found by its Message-ID, which is
deterministic per (ticket, kind, key) (:func:`~helpdesk.mail.compose.make_message_id`), so
the one record is at once the claim that keeps a mail from going out twice and the
pointer that threads a reply to it back to its ticket.

A retried delivery of the same event finds the record and sends nothing; a delivery that
failed before SES accepted the mail releases its claim so the retry sends it. The one
window left, a crash between SES accepting the mail and the record being marked, is closed
by the lease (the retry waits it out, then sends again) and softened by the deterministic
(and keyed) Message-ID: mail clients collapse a second copy with the same Message-ID.

The hourly limits (per outside recipient, and per ticket for progress notices) are counted
in the same all-or-nothing write that claims the mail: a mail over a limit claims nothing,
and a mail already claimed counts nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from helpdesk.clock import hour_window
from helpdesk.errors import Conflict, TransientError
from helpdesk.mail.compose import OutboundMail, compose, make_message_id, valid_address
from helpdesk.mail.mailbox import mailbox_key

if TYPE_CHECKING:
    from helpdesk.ports import Mailer

# No longer than Lambda's waits before the last retry of an asynchronous invocation (one
# and two minutes: 180 s): a sender that timed out mid-send claimed its mail at most as
# its attempt ended, so the last retry finds the lease run out and sends it, where it would
# otherwise fail again with "another delivery is sending it" (tests/integration/
# test_sender_retries.py).
LEASE = timedelta(seconds=150)
SETTLE_ATTEMPTS = 3  # each is a whole botocore call with its own retries
# Counters of an hour live two hours (TTL), so the hour is whole while it is counted.
QUOTA_LIFETIME = timedelta(hours=2)


@dataclass(frozen=True)
class SendResult:
    sent: bool
    message_id: str
    reason: str | None = None


@dataclass(frozen=True)
class Quota:
    """One more mail in an hourly count: ``scope`` is what is counted (a recipient, a
    ticket), ``reason`` what a refusal is reported as."""

    scope: str
    window: str
    limit: int
    expires_at: int
    reason: str


@dataclass(frozen=True)
class Claim:
    """The intent to send one mail, held by one attempt until ``lease_until``."""

    message_id: str
    ticket: str | None
    kind: str
    key: str
    to: tuple[str, ...]
    attempt: str
    lease_until: datetime
    # Who else the mail went to: a reply naming it proves its sender only when nobody else
    # got its Message-ID from the desk (email_intake._replies_to_desk).
    cc: tuple[str, ...] = ()


@dataclass(frozen=True)
class SentRecord:
    state: Literal["pending", "sent"]
    attempt: str | None = None
    lease_until: datetime | None = None


class MailClaimed(Conflict):
    """The mail's record exists (or changed since it was read): another attempt has it."""


class QuotaSpent(Conflict):
    """A count of the claim is at its limit: nothing was claimed, nothing counted."""

    def __init__(self, quota: Quota) -> None:
        super().__init__(f"{quota.scope}: {quota.reason}")
        self.quota = quota


class SentMail(Protocol):
    """Where the records of sent mail are kept (``helpdesk.aws.sent_mail`` in AWS)."""

    def record(self, message_id: str) -> SentRecord | None:
        """The record of the mail with ``message_id``, if any (a consistent read)."""
        ...

    def claim(self, claim: Claim, quotas: Sequence[Quota], *, replacing: str | None) -> None:
        """Write the claim and count each quota, all or nothing. ``replacing`` names the
        attempt of a pending claim to take over (else the record must not exist). Raises
        :class:`MailClaimed` or :class:`QuotaSpent`."""
        ...

    def mark_sent(self, message_id: str, at: datetime) -> None: ...

    def release(self, message_id: str) -> None:
        """Remove a claim whose mail SES did not take, so that a retry sends it."""
        ...


def recipient_quotas(mail: OutboundMail, now: datetime, limit: int) -> list[Quota]:
    """The per-recipient hourly limit: it stops loops with outside mailboxes, and floods
    into one. Counted per mailbox (:func:`~helpdesk.mail.mailbox.mailbox_key`, as intake's
    caps count), so that ``anna+1@`` and ``Anna+2@`` share the count of ``anna@``. Two
    spellings of one mailbox in one mail count once: a mail is one delivery to it."""
    return [
        hourly_quota(f"OUT#{mailbox}", now, limit, "recipient_limit")
        for mailbox in _mailboxes(mail)
    ]


def _mailboxes(mail: OutboundMail) -> dict[str, None]:
    """The mailboxes ``mail`` goes to, each once (two spellings of one are one delivery)."""
    return dict.fromkeys(mailbox_key(to) for to in mail.to)


def relay_quotas(
    mail: OutboundMail,
    sender: str,
    now: datetime,
    *,
    authenticated: bool,
    per_customer: int,
    per_reader: int,
) -> list[Quota]:
    """The hourly limits of relays to each reader of ``mail``: ``per_customer`` of what one
    customer (the mailbox ``sender``) wrote, and ``per_reader`` of all customers together.
    Counted per reader alone, one customer's flood spent the reader's hour and every other
    customer's message went unmailed (attack 10, F3); per customer alone, thirty forged
    senders buried a lead (review 11, #1). ``sender`` is what the message says: unless SES
    ``authenticated`` it, it is counted apart from the mailbox it names, so that mail forged
    in a customer's name never spends her own count (review 11, #4)."""
    customer = mailbox_key(sender) if authenticated else f"unverified:{mailbox_key(sender)}"
    return [
        quota
        for mailbox in _mailboxes(mail)
        for quota in (
            hourly_quota(f"OUT#{mailbox}#from#{customer}", now, per_customer, "recipient_limit"),
            hourly_quota(f"OUT-RELAYS#{mailbox}", now, per_reader, "recipient_limit"),
        )
    ]


def outsider_quotas(
    mail: OutboundMail,
    organization: str,
    now: datetime,
    *,
    scope: str,
    per_organization: int,
    per_reader: int,
    known: bool,
) -> list[Quota]:
    """The hourly limits of mail to each reader of ``mail`` (the desk's leads) that a ticket
    from outside raised, in ``scope`` (what the mail is: ``OUT-COMPLAINTS``,
    ``OUT-NOTICES``) and apart from the reader's own count: ``per_organization`` from the
    tickets of one ``organization`` (a domain, or a mailbox counted alone), and
    ``per_reader`` from all, both counted apart for contacts the desk has ``known`` (served
    before) and for the rest. Counted on the reader's own count, a stranger's seventeen
    tickets silenced every other customer's complaint (attack 16, F1) and breach (review
    18, #1) for the rest of the hour to a lead who is no agent. Counted with the rest, ten
    fresh free-mail aliases of one person spent the hour for every customer (review 18,
    #2), and ten addresses typed at her own domain spent her organization's (attack 17,
    F1). ``per_reader`` is the whole: each standing has half of it (attack 17, F2)."""
    standing = "known" if known else "new"
    # The config keeps per_reader at 2 or more, so each share holds one at least.
    new_share = (per_reader + 1) // 2
    share = per_reader - new_share if known else new_share
    return [
        quota
        for mailbox in _mailboxes(mail)
        for quota in (
            hourly_quota(
                f"{scope}#{mailbox}#from#{organization}#{standing}", now, per_organization,
                "recipient_limit",
            ),
            hourly_quota(f"{scope}#{mailbox}#{standing}", now, share, "recipient_limit"),
        )
    ]  # fmt: skip


def ticket_quota(ticket: str, now: datetime, limit: int) -> Quota:
    """At most ``limit`` automatic mails per ticket and hour, so that no loop of status
    changes can flood a customer."""
    return hourly_quota(f"OUTTICKET#{ticket}", now, limit, "ticket_limit")


def hourly_quota(scope: str, now: datetime, limit: int, reason: str) -> Quota:
    """One more mail in ``scope``'s count of the hour of ``now``, at most ``limit``; a
    refusal is reported as ``reason``."""
    expires = int((now + QUOTA_LIFETIME).timestamp())
    return Quota(scope, hour_window(now), limit, expires, reason)


def message_id_of(
    ticket: str | None, kind: str, key: str, *, domain: str, message_id_key: bytes
) -> str:
    """The Message-ID (and so the record) of the mail of ``kind`` for ``key``."""
    return make_message_id(ticket, kind, key, domain, secret=message_id_key)


def send_once(
    mail: OutboundMail,
    *,
    key: str,
    sent_mail: SentMail,
    mailer: Mailer,
    domain: str,
    now: datetime,
    message_id_key: bytes,
    quotas: Sequence[Quota] = (),
) -> SendResult:
    """Send ``mail`` unless the mail with the same ``key`` was already sent for its ticket.

    The Message-ID is deterministic per (ticket, kind, key), keyed with ``message_id_key``
    (the desk's signing key) so that it cannot be computed from the ticket's reference.

    An address no mail can carry (see :func:`valid_address`: SES takes no SMTPUTF8 local
    parts) is left out of Cc; when no recipient is left the mail is refused at once, since
    retrying the event could never send it and would only end in a dead-letter queue.
    """
    message_id = message_id_of(
        mail.ticket, mail.kind, key, domain=domain, message_id_key=message_id_key
    )
    if not mail.to or not all(valid_address(a) for a in mail.to):
        return SendResult(False, message_id, "invalid_recipient")
    if not all(valid_address(a) for a in mail.cc):
        mail = replace(mail, cc=tuple(a for a in mail.cc if valid_address(a)))
    # Names this attempt in its claim: when the answer to the claim is lost (a timeout after
    # DynamoDB wrote it) the SDK's retry meets the claim, and must know it as its own.
    claim = Claim(
        message_id=message_id,
        ticket=mail.ticket,
        kind=mail.kind,
        key=key,
        to=mail.to,
        attempt=uuid.uuid4().hex,
        lease_until=now + LEASE,
        cc=mail.cc,
    )
    refused = _claim(sent_mail, claim, quotas, now)
    if refused is not None:
        return SendResult(False, message_id, refused)
    try:
        raw = compose(replace(mail, message_id=message_id), domain=domain, date=now)
        mailer.send(raw, sender=mail.sender, recipients=[*mail.to, *mail.cc])
    except Exception:
        # SES did not take it: release the claim so that the retry sends it (a claim left
        # pending would hold every retry back until the lease runs out).
        _settle(lambda: sent_mail.release(message_id))
        raise
    _settle(lambda: sent_mail.mark_sent(message_id, now))
    return SendResult(True, message_id)


def _claim(sent_mail: SentMail, claim: Claim, quotas: Sequence[Quota], now: datetime) -> str | None:
    """Hold ``claim`` for this attempt; the reason the mail is not to be sent, if any."""
    replacing: str | None = None
    # Twice at most: a claim released (or taken over) between our write and our read
    # makes one more try worth it; a third race is another delivery at work.
    for _ in range(2):
        try:
            sent_mail.claim(claim, quotas, replacing=replacing)
            return None
        except QuotaSpent as spent:
            return spent.quota.reason
        except MailClaimed:
            existing = sent_mail.record(claim.message_id)
        if existing is None:
            replacing = None
            continue
        if existing.state == "sent":
            return "already_sent"
        if existing.attempt == claim.attempt:
            return None  # our own write, whose answer was lost: it holds and has counted
        if existing.lease_until is not None and existing.lease_until > now:
            raise TransientError(f"{claim.message_id}: another delivery is sending it")
        replacing = existing.attempt or ""
    raise TransientError(f"{claim.message_id}: another delivery is sending it")


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
