"""The daily and weekly report mail: to each lead the teams they lead, to the addresses of
``reports.desk_wide_to`` the whole desk; once per reader and period."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.notices import audience

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.notices.desk import Notifier
    from helpdesk.render import RenderedMail

KIND = "report"


def readers(config: Config) -> list[tuple[str, tuple[str, ...] | None]]:
    """Who gets a report, and of which teams (None: the whole desk): each address of
    ``reports.desk_wide_to`` the whole desk's, every other lead the teams they lead."""
    every = dict.fromkeys((*config.reports.desk_wide_to, *audience.every_lead(config)))
    return [(address, scope_of(address, config)) for address in every]


def scope_of(address: str, config: Config) -> tuple[str, ...] | None:
    """The teams whose report ``address`` gets: None (all, as one desk) for an address of
    ``reports.desk_wide_to`` or one that leads no team, else the teams it leads."""
    if address in config.reports.desk_wide_to:
        return None
    led = tuple(team.name for team in config.teams if address in team.leads)
    return led or None


def already_sent(notifier: Notifier, lead: str, period_key: str) -> bool:
    return notifier.was_sent(None, KIND, _key(lead, period_key))


def report(
    notifier: Notifier, lead: str, period_key: str, rendered: RenderedMail, *, now: datetime
) -> bool:
    """Mail ``lead`` the report of ``period_key``; True when it went out now.

    Outside the reader's hourly limit: a report is due in one hourly run only
    (helpdesk.services.reports.due_periods) and is once per reader and period by its key,
    so it cannot loop; counted, complaints from throw-away tickets that spend a lead's
    limit in that hour would take the lead's report, the list of the complaints whose
    mail the limit held back, with it (security review A18-8)."""
    mail = notifier.mail(KIND, None, (lead,), rendered)
    return notifier.send(mail, key=_key(lead, period_key), now=now, recipient_limit=False).sent


def _key(lead: str, period_key: str) -> str:
    return f"{period_key}#{lead}"
