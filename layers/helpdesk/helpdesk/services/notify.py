"""Notifications: the mail that follows from what happened to a ticket.

The acknowledge function feeds every event here. :data:`NOTICES` maps an event's
detail-type to the function that mails about it (each in its own module, imported only
when such an event arrives). Each mail is sent at most once per (ticket, kind, cause)
through :func:`helpdesk.services.outbound.send_once`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.clock import parse_iso
from helpdesk.mail.compose import OutboundMail, subject_with_token
from helpdesk.services.outbound import SendResult, send_once

if TYPE_CHECKING:
    from helpdesk.aws.dynamodb import DynamoRepository
    from helpdesk.config import Config
    from helpdesk.ports import Mailer


# detail-type -> "module:function"; the function takes (notifier, detail, now).
NOTICES: dict[str, str] = {
    "TicketOpened": "helpdesk.services.notify:acknowledge_opened",
    "AgentReplied": "helpdesk.services.ticket_notices:relay_agent_reply",
    "StatusChanged": "helpdesk.services.ticket_notices:notify_progress",
    "CommandRejected": "helpdesk.services.ticket_notices:reject_commands",
    "TicketAssigned": "helpdesk.services.ticket_notices:tell_assignee",
    "SlaWarning": "helpdesk.services.sla_notices:sla_warning",
    "SlaBreached": "helpdesk.services.sla_notices:sla_breached",
    "SurveyAnswered": "helpdesk.services.survey_notices:alert_low_score",
}


@dataclass(frozen=True)
class Notifier:
    repo: DynamoRepository
    mailer: Mailer
    config: Config
    # The desk's signing key (SSM): it keys the Message-IDs of the mail sent.
    signing_key: bytes

    @property
    def domain(self) -> str:
        return self.config.helpdesk.mail_domain

    def plus_address(self, ref: str) -> str:
        local, _, domain = self.config.helpdesk.address.partition("@")
        return f"{local}+{ref.lower()}@{domain}"

    def handle(self, detail_type: str, detail: Mapping[str, Any], *, now: datetime) -> None:
        """Send what an event calls for (nothing for events that mail nobody)."""
        target = NOTICES.get(detail_type)
        if target is None:
            return
        module_name, _, function_name = target.partition(":")
        notice: Callable[[Notifier, Mapping[str, Any], datetime], object] = getattr(
            importlib.import_module(module_name), function_name
        )
        notice(self, detail, now)

    def acknowledge(self, detail: Mapping[str, Any], now: datetime) -> SendResult:
        """Tell the customer that the request arrived, its reference and by when a person
        will answer (a local date and time with its zone, in the customer's language)."""
        from helpdesk.render import format_local_datetime, render

        ref = str(detail["ref"])
        language = self.language(str(detail.get("language") or ""))
        contact = detail["contact"]
        due = detail.get("sla", {}).get("first_response_due")
        policy = self.config.policy(str(detail.get("policy") or self.config.sla_policies[-1].name))
        timezone = self.config.calendar(policy.calendar).timezone
        promised = format_local_datetime(parse_iso(due), timezone, language) if due else ""
        rendered = render(
            "acknowledgement",
            language,
            {
                "ref": ref,
                "subject": detail.get("subject", ""),
                "customer_name": contact.get("name") or "",
                "promised_by": promised,
                "helpdesk_name": self.config.helpdesk.name,
                "reply_hint": self.plus_address(ref),
            },
            fallback_language=self.config.default_language,
        )
        incoming = (detail.get("message") or {}).get("message_id")
        mail = OutboundMail(
            kind="acknowledgement",
            ticket=ref,
            sender=self.config.helpdesk.address,
            sender_name=self.config.helpdesk.name,
            to=(str(contact["email"]),),
            subject=subject_with_token(rendered.subject, ref),
            text=rendered.text,
            html=rendered.html,
            reply_to=self.plus_address(ref),
            in_reply_to=incoming,
            references=(incoming,) if incoming else (),
            automatic=True,
        )
        return self.send(mail, key="first", now=now)

    # ------------------------------------------------------------------ helpers
    def language(self, language: str) -> str:
        """``language`` if the desk serves it, else the desk's first language."""
        return (
            language if language in self.config.helpdesk.languages else self.config.default_language
        )

    def send(self, mail: OutboundMail, *, key: str, now: datetime) -> SendResult:
        """Send once per (ticket, kind, key), within the per-recipient hourly limit; the
        Message-ID is recorded so that replies thread back to the ticket."""
        # The limit stops loops with outside mailboxes; mail to the desk's own agents only
        # (assignments, alerts) is addressed by the desk to itself and needs no counter.
        internal = bool(mail.to) and all(self.config.agent(a) is not None for a in mail.to)
        return send_once(
            mail,
            key=key,
            repo=self.repo,
            mailer=self.mailer,
            domain=self.domain,
            now=now,
            message_id_key=self.signing_key,
            recipient_limit_per_hour=(
                None if internal else self.config.limits.outbound_per_recipient_per_hour
            ),
            # Replies to this mail thread back to the ticket through its Message-ID.
            record_message_id=True,
        )


def acknowledge_opened(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """TicketOpened: acknowledge, unless intake decided nobody is to be answered."""
    if detail.get("notify", True):
        notifier.acknowledge(detail, now)
