"""The email intake on the fakes, for the unit tests that deliver mail: a raw mail put in
the fake store as SES puts it, then taken in."""

from __future__ import annotations

from datetime import datetime

from fakes import FakeMailStore, FakeRecords, FakeUnitOfWork
from helpdesk.config import Config
from helpdesk.services.email_intake import EmailIntake, IntakeResult


class MailDesk:
    """The intake with its fakes, and the mail SES has stored so far."""

    def __init__(self, config: Config, now: datetime) -> None:
        self.config = config
        self.now = now
        self.uow = FakeUnitOfWork(config)
        self.records = FakeRecords(self.uow)
        self.store = FakeMailStore()
        self.intake = EmailIntake(
            uow=self.uow,
            repo=self.records,
            store=self.store,
            config=config,
        )

    def deliver(self, key: str, raw: bytes, *, at: datetime | None = None) -> IntakeResult:
        """SES stores ``raw`` under ``inbound/<key>``; the intake takes it in (now unless
        ``at``)."""
        self.store.objects[f"inbound/{key}"] = raw
        return self.intake.take_in(f"inbound/{key}", now=at or self.now)
