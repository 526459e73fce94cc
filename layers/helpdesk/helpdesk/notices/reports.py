"""The daily and weekly report mail: one to each lead, once per period."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.notices import audience

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.notices.desk import Notifier
    from helpdesk.render import RenderedMail

KIND = "report"


def readers(config: Config) -> tuple[str, ...]:
    """Who gets the reports: every team lead, once."""
    return audience.every_lead(config)


def already_sent(notifier: Notifier, lead: str, period_key: str) -> bool:
    return notifier.was_sent(None, KIND, _key(lead, period_key))


def report(
    notifier: Notifier, lead: str, period_key: str, rendered: RenderedMail, *, now: datetime
) -> bool:
    """Mail ``lead`` the report of ``period_key``; True when it went out now."""
    mail = notifier.mail(KIND, None, (lead,), rendered)
    return notifier.send(mail, key=_key(lead, period_key), now=now).sent


def _key(lead: str, period_key: str) -> str:
    return f"{period_key}#{lead}"
