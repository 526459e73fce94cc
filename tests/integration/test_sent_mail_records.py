"""The records of sent mail in DynamoDB (helpdesk.aws.sent_mail) on the local stack: one item
per mail, found by its Message-ID, claimed with its hourly counts all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from conftest import MONDAY_MORNING
from fakes import acknowledgement_mail
from helpdesk.aws.dynamodb import DynamoRepository
from helpdesk.aws.sent_mail import DynamoSentMail
from helpdesk.mail.compose import OutboundMail
from helpdesk.notices import outbound
from helpdesk.notices.outbound import Claim, MailClaimed, Quota, QuotaSpent, SentRecord
from helpdesk_local.stack import LocalStack

KEY = b"s" * 32
DOMAIN = "support.example"


@dataclass
class Mailer:
    sent: list[bytes] = field(default_factory=list)

    def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> str:
        self.sent.append(raw)
        return "id"


@pytest.fixture
def repo() -> Iterator[DynamoRepository]:
    with LocalStack(start=MONDAY_MORNING) as stack:
        assert stack.resolver is not None
        yield DynamoRepository(stack.resolver.ref("DomainTable"))


def mail() -> OutboundMail:
    return acknowledgement_mail()


def send(repo: DynamoRepository, mailer: Mailer, *, days_later: int = 0) -> outbound.SendResult:
    """The acknowledgement of HD-AAAAAA, sent once."""
    return outbound.send_once(
        mail(),
        key="first",
        sent_mail=DynamoSentMail(repo),
        mailer=mailer,
        domain=DOMAIN,
        now=MONDAY_MORNING + timedelta(days=days_later),
        message_id_key=KEY,
        quotas=[quota(20)],
    )


def quota(limit: int) -> Quota:
    return Quota("OUT#anna@example.com", "2026112308", limit, 0, "recipient_limit")


def claim(key: str, attempt: str = "a1") -> Claim:
    return Claim(
        outbound.message_id_of(
            "HD-AAAAAA", "acknowledgement", key, domain=DOMAIN, message_id_key=KEY
        ),
        "HD-AAAAAA",
        "acknowledgement",
        key,
        ("anna@example.com",),
        attempt,
        MONDAY_MORNING + outbound.LEASE,
    )


def test_a_sent_mail_is_one_record_that_threads_a_reply_back_to_its_ticket(
    repo: DynamoRepository,
) -> None:
    mailer = Mailer()
    result = send(repo, mailer)

    assert result.sent and len(mailer.sent) == 1
    assert f"Message-ID: <{result.message_id}>".encode() in mailer.sent[0]
    assert repo.ticket_for_message_id(result.message_id) == "HD-AAAAAA"
    assert DynamoSentMail(repo).record(result.message_id) == SentRecord("sent")


def test_a_mail_over_its_hourly_limit_claims_nothing_and_counts_nothing(
    repo: DynamoRepository,
) -> None:
    records = DynamoSentMail(repo)
    records.claim(claim("one"), [quota(1)], replacing=None)

    with pytest.raises(QuotaSpent) as refused:
        records.claim(claim("two"), [quota(1)], replacing=None)

    assert refused.value.quota.reason == "recipient_limit"
    assert records.record(claim("two").message_id) is None
    counter = repo.get_item("RATE#OUT#anna@example.com#2026112308", "RATE")
    assert counter is not None and counter["hits"] == 1


def test_a_mail_claimed_already_counts_nothing_again(repo: DynamoRepository) -> None:
    records = DynamoSentMail(repo)
    records.claim(claim("one"), [quota(5)], replacing=None)

    with pytest.raises(MailClaimed):
        records.claim(claim("one", attempt="a2"), [quota(5)], replacing=None)

    counter = repo.get_item("RATE#OUT#anna@example.com#2026112308", "RATE")
    assert counter is not None and counter["hits"] == 1


def test_a_claim_is_taken_over_only_from_the_attempt_that_was_read(
    repo: DynamoRepository,
) -> None:
    records = DynamoSentMail(repo)
    records.claim(claim("one"), [], replacing=None)

    with pytest.raises(MailClaimed):
        records.claim(claim("one", attempt="a3"), [], replacing="someone-else")
    records.claim(claim("one", attempt="a2"), [], replacing="a1")

    record = records.record(claim("one").message_id)
    assert record is not None and (record.state, record.attempt) == ("pending", "a2")


def test_a_threading_pointer_written_before_the_records_moved_reads_as_a_sent_mail(
    repo: DynamoRepository,
) -> None:
    # What the previous release wrote when it marked a ticket's mail sent.
    message_id = claim("first").message_id
    repo.put({"PK": f"MSGID#{message_id}", "SK": "MSGID", "ref": "HD-AAAAAA", "sender": ""})
    mailer = Mailer()

    result = send(repo, mailer, days_later=1)

    assert (result.sent, result.reason, mailer.sent) == (False, "already_sent", [])


def test_a_desk_mail_about_no_ticket_stays_about_none_when_a_received_mail_reuses_its_id(
    repo: DynamoRepository,
) -> None:
    # Attack 18, F5: a report to a lead is about no ticket, so its record had no ``ref``;
    # the first received mail carrying its Message-ID wrote its own ticket there (the
    # thread pointer, if_not_exists), and the record then read as the desk's mail about
    # that ticket, to the lead.
    from helpdesk.aws.ticket_store import _message_claim
    from helpdesk.unit_of_work import Claim as TicketClaim

    report = Claim(
        "<report-1@support.example>", None, "daily_report", "2026-11-23",
        ("maria@support.example",), "a1", MONDAY_MORNING + outbound.LEASE,
    )  # fmt: skip
    DynamoSentMail(repo).claim(report, [], replacing=None)
    reuse = TicketClaim("message", report.message_id, "mallory@example.net")
    repo.transact([_message_claim(reuse, "HD-BBBBBB", MONDAY_MORNING)])

    sent = repo.desk_mail(report.message_id)

    assert sent is not None and sent.ticket is None
    assert sent.to == ("maria@support.example",)
    # The pointer still threads a reply to the first ticket that carried the ID.
    assert repo.ticket_for_message_id(report.message_id) == "HD-BBBBBB"
