"""Who hears about what happens to a ticket, and in which language: decided here only.

The customer reads the desk's mail in the ticket's language when the desk serves it, else
in the desk's first language; a person of the desk (an agent, a lead) reads it in their
own first language (the config only lets an agent list languages the desk serves), else in
the desk's. The leads of a team are the team's ``lead``/``leads``; a team no longer in the
config has none, and whoever must hear of a ticket without a lead hears through every lead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpdesk.mail.compose import valid_address

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Contact, Ticket


# ---------------------------------------------------------------------- languages
def customer_language(language: str | None, config: Config) -> str:
    """``language`` (a ticket's) if the desk serves it, else the desk's first language."""
    return language if language in config.helpdesk.languages else config.default_language


def reader_language(address: str, config: Config) -> str:
    """The language ``address`` reads desk mail in: an agent's first, else the desk's."""
    agent = config.agent(address) if address else None
    return config.languages_of(agent)[0] if agent is not None else config.default_language


def ticket_timezone(policy: str | None, config: Config) -> str:
    """The zone a ticket's times are shown in to whoever has no zone of their own: its SLA
    policy's calendar's (the office whose hours the promise counts), unless that calendar
    keeps no local time (a 24x7 UTC calendar) or the policy is gone: then the desk's own,
    the first calendar's, the zone its reports are dated in."""
    from helpdesk.render import is_utc_zone

    try:
        zone = config.calendar(config.policy(policy or "").calendar).timezone
    except KeyError:
        return config.report_timezone
    # A 24x7 UTC calendar keeps no local time: nobody reads their day in it.
    return config.report_timezone if is_utc_zone(zone) else zone


def reader_timezone(address: str | None, policy: str | None, config: Config) -> str:
    """The zone a colleague (agent or lead) reads a ticket's times in: their own, when the
    config gives one (``agents[].timezone``), else the ticket's (:func:`ticket_timezone`)."""
    agent = config.agent(address) if address else None
    if agent is not None and agent.timezone:
        return str(agent.timezone)
    return ticket_timezone(policy, config)


def customer_timezone(contact: Contact | None, calendar_zone: str) -> str:
    """The zone a customer reads times in: the one their browser gave (kept on the contact,
    helpdesk.services.form_intake), else ``calendar_zone``, the zone of the promise's
    calendar (a zone since removed from the tz database counts as none)."""
    return customer_zone(contact.timezone if contact is not None else None, calendar_zone)


def customer_zone(zone: str | None, calendar_zone: str) -> str:
    """:func:`customer_timezone` from the zone the contact keeps (``zone``, as TicketOpened
    carries it: "" or None for none)."""
    from helpdesk.render import known_timezone

    return known_timezone(zone) or calendar_zone


def agent_name(address: str | None, config: Config) -> str:
    """How a mail names the agent at ``address``: their name, else the desk's name."""
    agent = config.agent(address) if address else None
    return agent.name if agent is not None else config.helpdesk.name


def agent_label(address: str, config: Config) -> str:
    """ "Name (address)" for an agent, the bare address for anybody else."""
    agent = config.agent(address)
    return f"{agent.name} ({agent.email})" if agent is not None else address


# ---------------------------------------------------------------------- people
def customer_and_participants(ticket: Ticket) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(To, Cc) of a mail to the customer: the contact, and the people they copied in
    (addresses no mail can carry are left out; To is empty when the contact's is one)."""
    to = (ticket.contact_email,) if valid_address(ticket.contact_email) else ()
    return to, tuple(p for p in ticket.participants if valid_address(p))


def unreachable_channel(ticket: Ticket) -> str:
    """The channel a customer no mail reaches wrote through (a chat's handle or phone),
    whose agent's reply is kept on the ticket, not delivered: the desk
    does not post replies back to channels (docs/CHANNELS.md); "" when mail reaches them.
    First-user run 16, #1: the agent's mail said "your text goes to the customer"."""
    # Nobody copied in hears either: a reply to no contact address is mailed to nobody
    # (notices.tickets: no To, no mail; review 21, #10).
    to, _ = customer_and_participants(ticket)
    return "" if to else ticket.channel


def team_leads(team: str | None, config: Config) -> tuple[str, ...]:
    """The lead addresses of ``team``; none for a team no longer in the config."""
    if not team:
        return ()
    try:
        return config.team(team).leads
    except KeyError:
        return ()


def every_lead(config: Config) -> tuple[str, ...]:
    """Every team lead, once, in config order (addresses are lower case in the config)."""
    return tuple(dict.fromkeys(lead for team in config.teams for lead in team.leads))


def leads_or_every_lead(team: str | None, config: Config) -> tuple[str, ...]:
    """The leads of ``team``, or every lead when it has none: somebody must hear."""
    return team_leads(team, config) or every_lead(config)


def warning_recipients(assignee: str | None, team: str | None, config: Config) -> tuple[str, ...]:
    """Who is warned that a deadline is close: the assignee, or the team's lead(s) while
    nobody is assigned."""
    if assignee:
        return (assignee.lower(),)
    return team_leads(team, config)


def escalation_recipients(
    assignee: str | None, team: str | None, new_team: str | None, config: Config
) -> tuple[str, ...]:
    """Who hears of a breach from the breach itself: the lead(s) of the ticket's team and
    the assignee, each once. When the ticket moves to ``new_team``, that team's leads hear
    from route instead (:func:`new_team_leads`), once it knows who takes the ticket: a lead
    who takes it gets one assignment that says why, not an escalation and an assignment."""
    addresses = [*team_leads(team, config)]
    if assignee:
        addresses.append(assignee)
    return tuple(dict.fromkeys(address.lower() for address in addresses))


def new_team_leads(
    new_team: str, *, holder: str | None, told: tuple[str, ...], config: Config
) -> tuple[str, ...]:
    """The leads of the team a ticket was escalated to who still need to hear of it: not
    the one who now holds it (their assignment says so), not those told of the breach."""
    skip = {address.lower() for address in (*told, holder or "")}
    return tuple(lead for lead in team_leads(new_team, config) if lead.lower() not in skip)
