"""Mail about SLA events: a warning to whoever works on the ticket, an escalation on a breach.

Each reader gets their own mail in their own language (an agent's first language, else the
desk's), with the due time in the SLA policy's calendar zone, since that is the clock the
promise was made in. The events carry a snapshot of the ticket (see
:mod:`helpdesk.services.sla_sweep`), so nothing here reads it again. A mail is sent once
per (ticket, kind, clock, due, reader): the sweep may publish an event twice after a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.clock import parse_iso
from helpdesk.mail.compose import OutboundMail, subject_with_token

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.services.notify import Notifier

__all__ = [
    "escalation_recipients",
    "reader_language",
    "sla_breached",
    "sla_warning",
    "team_leads",
    "warning_recipients",
]


def team_leads(team: str | None, config: Config) -> tuple[str, ...]:
    """The lead addresses of ``team``; none for a team no longer in the config."""
    if not team:
        return ()
    try:
        return config.team(team).leads
    except KeyError:
        return ()


def warning_recipients(detail: Mapping[str, Any], config: Config) -> tuple[str, ...]:
    """Who is warned: the assignee, or the team's lead(s) while nobody is assigned."""
    assignee = detail.get("assignee")
    if assignee:
        return (str(assignee).lower(),)
    return team_leads(detail.get("team"), config)


def escalation_recipients(detail: Mapping[str, Any], config: Config) -> tuple[str, ...]:
    """Who hears of a breach: the lead(s) of the ticket's team, of the team it is escalated
    to, and the assignee, each once."""
    addresses = [
        *team_leads(detail.get("team"), config),
        *team_leads(detail.get("new_team"), config),
    ]
    if detail.get("assignee"):
        addresses.append(str(detail["assignee"]))
    return tuple(dict.fromkeys(address.lower() for address in addresses))


def reader_language(address: str, config: Config) -> str:
    """The language ``address`` reads desk mail in: an agent's first, else the desk's."""
    agent = config.agent(address)
    return config.languages_of(agent)[0] if agent is not None else config.default_language


def sla_warning(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """SlaWarning: tell whoever should act that a deadline is close."""
    _send_each(
        notifier,
        detail,
        now,
        template="warning",
        kind="warning",
        recipients=warning_recipients(detail, notifier.config),
        context=lambda _: {},
    )


def sla_breached(notifier: Notifier, detail: Mapping[str, Any], now: datetime) -> None:
    """SlaBreached: the team lead(s) and the assignee learn that a promise was broken."""
    config = notifier.config
    assignee = detail.get("assignee")

    def context(language: str) -> dict[str, Any]:
        return {
            "team": detail.get("team") or "",
            "new_team": detail.get("new_team"),
            "assignee": _agent_label(str(assignee), config) if assignee else None,
            "customer_name": (detail.get("contact") or {}).get("name") or "",
        }

    _send_each(
        notifier,
        detail,
        now,
        template="escalation",
        kind="escalation",
        recipients=escalation_recipients(detail, config),
        context=context,
    )


def _send_each(
    notifier: Notifier,
    detail: Mapping[str, Any],
    now: datetime,
    *,
    template: str,
    kind: str,
    recipients: Iterable[str],
    context: Callable[[str], Mapping[str, Any]],
) -> None:
    from helpdesk.render import format_local_datetime, render

    config = notifier.config
    ref = str(detail["ref"])
    clock, due = str(detail["clock"]), str(detail["due"])
    timezone = _policy_timezone(str(detail.get("policy") or ""), config)
    for recipient in recipients:
        language = reader_language(recipient, config)
        rendered = render(
            template,
            language,
            {
                "ref": ref,
                "subject": detail.get("subject") or "",
                "clock": clock,
                "due": format_local_datetime(parse_iso(due), timezone, language),
                "priority": detail.get("priority") or "",
                **context(language),
            },
            fallback_language=config.default_language,
        )
        mail = OutboundMail(
            kind=kind,
            ticket=ref,
            sender=config.helpdesk.address,
            sender_name=config.helpdesk.name,
            to=(recipient,),
            subject=subject_with_token(rendered.subject, ref),
            text=rendered.text,
            html=rendered.html,
            reply_to=notifier.plus_address(ref),
            automatic=True,
        )
        # One mail per reader and deadline: a republished event finds it sent.
        notifier.send(mail, key=f"{clock}:{due}:{recipient}", now=now)


def _policy_timezone(policy: str, config: Config) -> str:
    try:
        return config.calendar(config.policy(policy).calendar).timezone
    except KeyError:
        return config.report_timezone  # a policy since removed: the desk's first zone


def _agent_label(address: str, config: Config) -> str:
    agent = config.agent(address)
    return f"{agent.name} ({agent.email})" if agent is not None else address
