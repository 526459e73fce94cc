"""The ops config file (``infra/helpdesk.yaml``): its schema, its checks and its loader.

The file is edited by people, so every problem is reported the way a person fixes it: all
problems at once, each as ``file:line: key.path[index]: reason``. Field-level checks are
pydantic's; checks that relate sections to each other (a policy naming a calendar, an agent
naming a team) run afterwards over whatever parts of the file are valid, so that one
mistake in one section does not hide the mistakes in the others.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    TypeAlias,
    TypeVar,
    Union,
    get_args,
    get_origin,
)
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from helpdesk.durations import format_duration, parse_duration
from helpdesk.problems import FileProblem
from helpdesk.sizes import TYPED_TEXT_MAX_CHARS

if TYPE_CHECKING:
    from helpdesk.calendar import BusinessCalendar

__all__ = [
    "PRIORITY_ORDER",
    "WEEKDAYS",
    "Agent",
    "CalendarConfig",
    "Channel",
    "ChannelSection",
    "Complaints",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "FormSection",
    "FormTopic",
    "HelpdeskSection",
    "Knowledge",
    "Limits",
    "PolicyCondition",
    "Priority",
    "Reports",
    "RoutingRule",
    "RuleCondition",
    "RuleSet",
    "SlaPolicy",
    "Surveys",
    "Targets",
    "Team",
    "Tier",
    "Weekday",
    "default_config_path",
    "load_config",
    "parse_config",
    "parse_day_hours",
    "problem_at",
]

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITY_ORDER: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
# A ticket's channel in a `when`: one of the desk's own or a configured channel's name (the
# cross-section checks refuse any other, so a typo never makes a rule that cannot match).
Channel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# The channels the desk's own code opens tickets on: mail, the web form, and a complaint
# about a closed ticket from the customer's page or the survey page
# (helpdesk.services.complaints.SOURCES). A configured channel may not take these names.
BUILT_IN_CHANNELS: tuple[str, ...] = ("email", "form", "portal", "survey")
# The topics the web form offers (each has its words in [form_page.categories] of every
# language's words.toml); `form.topics` maps them to categories.
FormTopic = Literal["general", "billing", "shipping", "technical"]
FORM_TOPICS: tuple[FormTopic, ...] = get_args(FormTopic)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Index = Python's date.weekday(): Monday is 0.
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440

_T = TypeVar("_T")
Loc: TypeAlias = tuple[int | str, ...]


# --- field types -------------------------------------------------------------------------

# Deliberately loose (one @, no spaces, a dot in the domain): the strict RFC 5322 grammar
# accepts addresses no mail system delivers to and refuses none that ops would type here.
_EMAIL = re.compile(r"[^@\s,;<>]+@(?:[^@\s,;<>.]+\.)+[^@\s,;<>.]+")
_DOMAIN = re.compile(r"(?:[^@\s,;<>.]+\.)+[^@\s,;<>.]+")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
_CLOCK_TIME = re.compile(r"\s*(\d{1,2}):(\d{2})\s*")
_INTERVAL = re.compile(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*")


def _email_address(value: str) -> str:
    address = value.strip().lower()
    if not _EMAIL.fullmatch(address):
        raise ValueError(f"{value!r} is not an email address")
    return address


def _mail_domain(value: str) -> str:
    domain = value.strip().lower().removeprefix("@")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"{value!r} is not a mail domain like example.com")
    return domain


def _language_code(value: str) -> str:
    if not _LANGUAGE_CODE.fullmatch(value):
        raise ValueError(f"{value!r} is not a language code: use lowercase ISO 639 like en or zh")
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name like Europe/Berlin or UTC"
        ) from None
    return value


def _to_duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    # A bare number goes through the parser too, so that it is refused in the same words.
    return parse_duration(value if isinstance(value, str) else repr(value))


def _positive_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


def _to_time_of_day(value: object) -> object:
    if isinstance(value, time):
        return value
    match = _CLOCK_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'{value!r} is not a time of day: write it like "08:00"')
    return time(int(match[1]), int(match[2]))


def _one_or_many(value: object) -> object:
    return (value,) if isinstance(value, str) else value


def _keyword(value: object) -> object:
    # An unquoted error code (`keywords: [404, 500]`) arrives from YAML as a number.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _keyword_star(value: str) -> str:
    # "refund*": the words a keyword begins (helpdesk.triage); the star ends a word only,
    # of three letters at least ("r*" sent "Really nice shop" to billing: first-user run
    # 17, #6), and Chinese, Japanese and Korean keywords match inside words already.
    from helpdesk.triage import _HAS_CJK

    if "*" not in value:
        return value
    stem = value[:-1]
    last_word = stem.split()[-1] if stem.split() else ""
    if _HAS_CJK.search(stem):
        raise ValueError(
            f"{value!r}: Chinese, Japanese and Korean keywords match inside words already;"
            " write it without the *"
        )
    if "*" in stem or stem != stem.rstrip() or len(last_word) < 3:
        raise ValueError(
            f"{value!r}: a * may only end a keyword, after a word of three letters or more"
            " (refund* matches refund, refunds, refunded)"
        )
    return value


def _fraction(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError(
            f"{value:g} is not between 0 and 1: 0.8 warns when 80% of a target has elapsed"
        )
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
EmailAddress = Annotated[str, AfterValidator(_email_address)]
MailDomain = Annotated[str, AfterValidator(_mail_domain)]
LanguageCode = Annotated[str, AfterValidator(_language_code)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, when_used="json"),
]
PositiveDuration = Annotated[Duration, AfterValidator(_positive_duration)]
TimeOfDay = Annotated[time, BeforeValidator(_to_time_of_day)]
Keyword = Annotated[
    str,
    BeforeValidator(_keyword),
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(_keyword_star),
]
Fraction = Annotated[float, AfterValidator(_fraction)]
Count = Annotated[int, Field(ge=1)]
# A condition written as one value or as a list of values (any of which matches).
OneOrMany = Annotated[tuple[_T, ...] | None, BeforeValidator(_one_or_many)]


class _Section(BaseModel):
    """Every part of the file: a typo'd key is an error, and a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- helpdesk ----------------------------------------------------------------------------


class HelpdeskSection(_Section):
    """Who the desk is: its name, the address customers write to, the languages it speaks."""

    name: Name
    address: EmailAddress
    languages: tuple[LanguageCode, ...] = Field(min_length=1)

    @field_validator("languages")
    @classmethod
    def _languages_are_unique(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        _require_unique(languages, "language")
        return languages

    @property
    def mail_domain(self) -> str:
        """The domain of ``address`` (``support.example``)."""
        return self.address.rpartition("@")[2]


# --- calendars ---------------------------------------------------------------------------


def _minute_of_day(clock: str, *, is_end: bool) -> int:
    hours_text, _, minutes_text = clock.partition(":")
    hours, minutes = int(hours_text), int(minutes_text)
    if is_end and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{clock!r} is not a time of day")
    return hours * 60 + minutes


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_day_hours(text: str) -> tuple[tuple[int, int], ...]:
    """``"09:00-12:00,13:00-17:00"`` as sorted half-open minute-of-day intervals.

    ``24:00`` is allowed as an end (the end of the day); intervals may touch but not overlap.
    """
    intervals: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _INTERVAL.fullmatch(part)
        if match is None:
            raise ValueError(
                f'{part.strip()!r} is not a time range: write it like "09:00-17:00" or'
                ' "09:00-12:00,13:00-17:00" (leave a closed day out)'
            )
        start = _minute_of_day(match[1], is_end=False)
        end = _minute_of_day(match[2], is_end=True)
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts")
        intervals.append((start, end))
    intervals.sort()
    for earlier, later in pairwise(intervals):
        if later[0] < earlier[1]:
            raise ValueError(
                f"{_clock(earlier[0])}-{_clock(earlier[1])} and"
                f" {_clock(later[0])}-{_clock(later[1])} overlap"
            )
    return tuple(intervals)


def _check_day_hours(text: str) -> str:
    parse_day_hours(text)
    return text


def _only_24x7(value: object) -> object:
    if value != "24x7":
        raise ValueError(
            f'{value!r} is not a kind of hours: write "24x7" or one range per weekday,'
            ' like {mon: "09:00-17:00"}'
        )
    return value


def _hours_kind(value: object) -> str:
    return "24x7" if isinstance(value, str) else "by_day"


DayHours = Annotated[str, AfterValidator(_check_day_hours)]
# Tagged so that an error names the one shape that was meant: text must be "24x7", anything
# else must be a weekday mapping (without tags pydantic reports both shapes' complaints).
Hours = Annotated[
    Union[  # noqa: UP007 - the tagged members need Annotated, which `|` cannot carry here
        Annotated[Literal["24x7"], BeforeValidator(_only_24x7), Tag("24x7")],
        Annotated[dict[Weekday, DayHours], Tag("by_day")],
    ],
    Discriminator(_hours_kind),
]


class CalendarConfig(_Section):
    """Business hours in one time zone: weekly opening hours and holidays."""

    timezone: TimeZoneName
    hours: Hours
    holidays: tuple[date, ...] = ()

    @property
    def weekly(self) -> dict[int, tuple[tuple[int, int], ...]]:
        """Opening hours per weekday (Monday=0), as half-open minute-of-day intervals.

        Every weekday is present; a closed day has no intervals.
        """
        if self.hours == "24x7":
            return {weekday: ((0, MINUTES_PER_DAY),) for weekday in range(7)}
        return {
            weekday: parse_day_hours(self.hours[name]) if name in self.hours else ()
            for weekday, name in enumerate(WEEKDAYS)
        }

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        """The business calendar that computes working time with these hours: one per
        calendar of a loaded config (which never changes), so that every ticket does not
        build it again and its days' opening intervals are worked out once."""
        from helpdesk.calendar import BusinessCalendar

        return BusinessCalendar(self.timezone, self.weekly, self.holidays)


# --- tiers and SLA policies --------------------------------------------------------------


class Tier(_Section):
    """A class of customers, recognised by mail domain or exact address."""

    name: Name
    domains: tuple[MailDomain, ...] = ()
    emails: tuple[EmailAddress, ...] = ()

    @property
    def has_conditions(self) -> bool:
        """False for the catch-all tier, which every customer matches."""
        return bool(self.domains or self.emails)

    def matches(self, email: str) -> bool:
        """True when ``email`` is listed or its domain is (case-insensitive)."""
        if not self.has_conditions:
            return True
        address = email.strip().lower()
        return address in self.emails or address.rpartition("@")[2] in self.domains


class Targets(_Section):
    """How long the desk may take, in business time, for one priority."""

    first_response: PositiveDuration
    next_response: PositiveDuration
    resolution: PositiveDuration
    # How long a team lead has to answer a customer's complaint on a ticket of this
    # priority; unset: ``complaints.respond_within`` (Config.complaint_target).
    complaint: PositiveDuration | None = None


class PolicyCondition(_Section):
    """Which tickets an SLA policy is for; every given field must match, none given: all."""

    tier: Name | None = None
    priority: Priority | None = None
    channel: Channel | None = None
    category: Name | None = None

    @property
    def is_empty(self) -> bool:
        """True when the condition matches every ticket."""
        return all(value is None for value in self.model_dump().values())

    def matches(self, tier: str, priority: str, channel: str, category: str | None) -> bool:
        """True when the ticket has every property this condition names."""
        return (
            self.tier in (None, tier)
            and self.priority in (None, priority)
            and self.channel in (None, channel)
            and self.category in (None, category)
        )


class SlaPolicy(_Section):
    """Response and resolution targets for the tickets its ``when`` matches."""

    name: Name
    when: PolicyCondition = PolicyCondition()
    calendar: Name
    targets: dict[Priority, Targets] = Field(default_factory=dict, validate_default=True)
    warn_at: Fraction = 0.8
    escalate_to: Name | None = None

    @field_validator("targets")
    @classmethod
    def _every_priority_has_targets(cls, targets: dict[str, Targets]) -> dict[str, Targets]:
        if not targets:
            raise ValueError(
                "a policy without targets: give first_response, next_response and"
                " resolution for each of low, normal, high and urgent"
            )
        missing = [priority for priority in PRIORITY_ORDER if priority not in targets]
        if missing:
            raise ValueError(
                f"no targets for {', '.join(missing)}: every policy needs low, normal,"
                " high and urgent"
            )
        return targets

    def target(self, priority: str) -> Targets:
        """The targets for ``priority``."""
        return self.targets[priority]  # type: ignore[index]  # keys are checked Priority


# --- people ------------------------------------------------------------------------------


class Team(_Section):
    """A queue of tickets, with the leads who get its reports and escalations."""

    name: Name
    lead: EmailAddress | None = None
    listed_leads: tuple[EmailAddress, ...] = Field(default=(), alias="leads")
    # Who hears a customer's message on a ticket nobody holds: the lead(s), one accountable
    # reader (the default), or every agent of the team who is not away.
    notify_unassigned: Literal["lead", "members"] = "lead"

    @property
    def leads(self) -> tuple[str, ...]:
        """Every lead address, whether written as ``lead:`` or ``leads:``."""
        named = (self.lead,) if self.lead else ()
        return tuple(dict.fromkeys(named + self.listed_leads))


class Agent(_Section):
    """A person who answers tickets."""

    email: EmailAddress
    name: Name
    teams: tuple[Name, ...] = ()
    capacity: Count = 10
    languages: tuple[LanguageCode, ...] | None = None
    timezone: TimeZoneName | None = None
    away: bool = False


# --- routing -----------------------------------------------------------------------------


class RuleCondition(_Section):
    """What a ticket must have for a routing rule to apply; all given fields must match."""

    keywords: tuple[Keyword, ...] = ()
    tier: OneOrMany[Name] = None
    channel: OneOrMany[Channel] = None
    language: OneOrMany[LanguageCode] = None
    category: OneOrMany[Name] = None
    urgency: OneOrMany[Priority] = None


class RuleSet(_Section):
    """What a matching routing rule sets on the ticket."""

    priority: Priority | None = None
    category: Name | None = None
    team: Name | None = None
    tags: tuple[Name, ...] = ()

    @model_validator(mode="after")
    def _sets_something(self) -> RuleSet:
        if not (self.priority or self.category or self.team or self.tags):
            raise ValueError("a rule that sets nothing: give priority, category, team or tags")
        return self


class RoutingRule(_Section):
    """``when`` a ticket matches, ``set`` its properties (the key is ``set`` in the file)."""

    when: RuleCondition = RuleCondition()
    set_: RuleSet = Field(alias="set")


class FormSection(_Section):
    """What the web form's choices make of a ticket.

    ``urgency``: the urgency a customer picks -> the ticket's priority before the routing
    rules run (they may raise it, never lower it); an urgency not listed, or no map at all,
    leaves the priority at normal. ``topics``: the topic picked -> the ticket's category (a
    topic not listed is its own category; null gives no category, so ``default_category``
    applies).
    """

    urgency: dict[Priority, Priority] = Field(default_factory=dict)
    topics: dict[FormTopic, Name | None] = Field(default_factory=dict)

    def priority_for(self, urgency: str | None) -> str | None:
        """The base priority of a form ticket whose customer picked ``urgency``, or None."""
        return next((p for u, p in self.urgency.items() if u == urgency), None)

    def category_for(self, topic: str | None) -> str | None:
        """The category of a form ticket whose customer picked ``topic``, or None."""
        if not topic:
            return None
        return next((c for t, c in self.topics.items() if t == topic), topic)


# --- the rest ----------------------------------------------------------------------------


class Surveys(_Section):
    """When satisfaction surveys go out, and when solved tickets close."""

    delay: Duration = timedelta(hours=1)
    fatigue: Duration = timedelta(days=30)
    close_after: PositiveDuration = timedelta(days=4)
    link_ttl: PositiveDuration = timedelta(days=14)

    @field_validator("delay", "fatigue")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value


# Mailbox providers whose one domain serves millions of unrelated people: a cap per domain
# would let one of them silence all the others, so these are capped per mailbox only. The
# biggest by users worldwide, and those of the desk's languages (Chinese, Russian, German).
FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "fastmail.com", "fastmail.fm", "zoho.com", "mail.com", "gmx.com",
    "gmx.net", "gmx.de", "web.de", "t-online.de", "qq.com", "foxmail.com", "163.com",
    "126.com", "yeah.net", "sina.com", "aliyun.com", "mail.ru", "inbox.ru", "list.ru",
    "bk.ru", "yandex.ru", "yandex.com", "ya.ru", "rambler.ru",
)  # fmt: skip


# A page's form post, base64-encoded by API Gateway, within Lambda's 6 MB request payload.
PORTAL_BODY_CEILING = 4_400_000

# 6 MB of attachments are 8 MB in base64, leaving room for the texts under SES's 10 MB.
RELAY_ATTACHMENT_CEILING = 6_000_000


class Limits(_Section):
    """Abuse and size limits. Caps on senders count mailboxes (plus tags, case and Gmail's
    dots removed, alias domains merged: :func:`helpdesk.mail.mailbox.mailbox_key`), not
    spellings."""

    acknowledgements_per_sender_per_hour: Count = 3
    # Every mailbox of one domain together (an autoresponder that varies its whole local
    # part), except the free-mail domains below and the desk's own.
    acknowledgements_per_domain_per_hour: Count = 30
    # Acknowledgements to addresses nobody proved, all domains and intakes together: mail
    # SES could not authenticate for its From domain (helpdesk.mail.auth.AuthResults.
    # authenticates), the form's and the channels' (attack 10, F1; attack 11, F2).
    # At most 5,000: the hour's count is a set of 8-character members on one item
    # (helpdesk.services.acknowledgement_caps), 40 KB and as many write units an update
    # at the most.
    unauthenticated_acknowledgements_per_hour: Annotated[int, Field(ge=1, le=5_000)] = 200
    free_mail_domains: tuple[MailDomain, ...] = FREE_MAIL_DOMAINS
    attachment_max_bytes: Count = 10_485_760
    attachments_max_count: Count = 20
    form_message_max_chars: Count = TYPED_TEXT_MAX_CHARS
    form_body_max_bytes: Count = 65_536
    form_per_address_per_hour: Count = 5
    form_per_ip_per_hour: Count = 20
    # Survey answers (POST /survey/{token}) per ticket and per client an hour, then 429: a
    # customer changes her score a few times at most, and each answer is a commit, an event
    # and, for a low score, a read of the whole conversation (attack 8, F3).
    survey_answers_per_ticket_per_hour: Count = 10
    survey_answers_per_ip_per_hour: Count = 60
    # POST /intake/messages (docs/CHANNELS.md): the whole request, a message's text, the
    # messages of one channel (its credential: a chat vendor posts for all its customers)
    # and of one contact of a channel, per hour.
    channel_body_max_bytes: Count = 262_144
    channel_message_max_chars: Count = TYPED_TEXT_MAX_CHARS
    channel_messages_per_hour: Count = 2_000
    channel_per_contact_per_hour: Count = 60
    # Messages of one client of a channel (the "client" a bridge names: a widget visitor's
    # IP address or device), whatever handle or conversation it gives (attack 9, F5).
    channel_per_client_per_hour: Count = 60
    # An IPv6 client is its /64; its /48 is counted too, at this many clients' share of each
    # per-client limit above (the form's, the channels', the survey's and the page's): a
    # household holds a /56 and a tunnel broker's user a /48 (RFC 6177), but a mobile
    # carrier's /48 pools many subscribers, as IPv4 carrier NAT does (review 11, #2;
    # review 20, #14).
    clients_per_network: Annotated[int, Field(ge=1, le=65_536)] = 4
    outbound_per_recipient_per_hour: Count = 20
    outbound_per_ticket_per_hour: Count = 10
    # Relays of customers' messages one reader (an agent, a lead) gets an hour from all
    # customers together; each customer's count is counted_outbound_per_recipient_per_hour.
    # A ceiling, not a budget: an hour past it is a flood (review 11, #1).
    relays_per_reader_per_hour: Count = 100
    # Mail to a lead who is no agent that a ticket from outside raises (a low score's alert,
    # its clocks' warnings and escalations), an hour: from the tickets of one organization
    # (a domain, else a mailbox: a free-mail one is counted alone), and from all (counted
    # apart for contacts the desk has served and for the rest, who have half of the hour
    # each: review 18 #2, attack 17). Apart from
    # her own count: on it, one stranger's tickets spent her hour and a customer's breach
    # never reached her (review 18, #1).
    lead_notices_per_sender_per_hour: Count = 10
    # At least 2: served customers and the rest each have half (at least one) of it.
    lead_notices_per_hour: Annotated[int, Field(ge=2)] = 100
    # Bytes of a customer's attachments mailed along with their message to the agent, all
    # together; the rest are listed, kept with the ticket (docs/SECURITY.md).
    relay_attachment_max_bytes: Count = 5_000_000

    @model_validator(mode="after")
    def _relayed_attachments_fit_a_mail(self) -> Limits:
        # SES SendRawEmail takes 10 MB per message after base64, which makes attachments a
        # third larger ("Service quotas in Amazon SES"); the texts need room too.
        if self.relay_attachment_max_bytes > RELAY_ATTACHMENT_CEILING:
            raise ValueError(
                f"relay_attachment_max_bytes must be at most {RELAY_ATTACHMENT_CEILING}"
                " (SES takes 10 MB per mail, and base64 makes attachments a third larger)"
            )
        return self

    @property
    def counted_outbound_per_recipient_per_hour(self) -> int:
        """The limit of a recipient's own hourly count: ``outbound_per_recipient_per_hour``
        less the acknowledgements intake caps and counts on their own (at most
        ``acknowledgements_per_sender_per_hour`` per mailbox, helpdesk.services.
        acknowledgement_caps), so that an address gets at most
        ``outbound_per_recipient_per_hour`` mails an hour in all, acknowledgements
        included, while an acknowledgement claims its mail with one plain write."""
        return self.outbound_per_recipient_per_hour - self.acknowledgements_per_sender_per_hour

    @field_validator("outbound_per_recipient_per_hour")
    @classmethod
    def _acknowledgements_leave_room_for_other_mail(cls, value: int, info: ValidationInfo) -> int:
        # Declared after acknowledgements_per_sender_per_hour, so that one is read already
        # (absent when it was itself refused).
        acknowledgements = info.data.get("acknowledgements_per_sender_per_hour")
        if acknowledgements is not None and value <= acknowledgements:
            raise ValueError(
                f"must be more than acknowledgements_per_sender_per_hour ({acknowledgements}):"
                f" the hour's {value} mails to an address hold its acknowledgements and leave"
                f" {max(value - acknowledgements, 0)} for the replies after them"
            )
        return value

    @model_validator(mode="after")
    def _domain_cap_holds_a_mailbox(self) -> Limits:
        if self.acknowledgements_per_domain_per_hour < self.acknowledgements_per_sender_per_hour:
            raise ValueError(
                "acknowledgements_per_domain_per_hour must be at least "
                "acknowledgements_per_sender_per_hour (a domain holds every one of its senders)"
            )
        return self


# A configured channel's name: it becomes a ticket's `channel`, a report's row and a part of
# table keys, so lower-case letters, digits and dashes, and never a name the desk uses itself.
_CHANNEL_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
# An SSM parameter name with its path (AWS Systems Manager User Guide, "Working with
# parameter hierarchies"; name rules in "Creating Systems Manager parameters": letters,
# digits and . - _ /, at most 2048 characters with the path).
_SSM_PARAMETER = re.compile(r"/[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*")


def _channel_name(value: str) -> str:
    name = value.strip()
    if not _CHANNEL_NAME.fullmatch(name):
        raise ValueError(
            f"{value!r} is not a channel name: 1 to 32 lower-case letters, digits and dashes,"
            " starting with a letter (e.g. chat)"
        )
    if name in BUILT_IN_CHANNELS:
        raise ValueError(f"{name!r} is the desk's own channel: give the channel another name")
    return name


def _ssm_parameter(value: str) -> str:
    name = value.strip()
    if len(name) > 2048 or not _SSM_PARAMETER.fullmatch(name):
        raise ValueError(
            f"{value!r} is not an SSM parameter path: write it like /helpdesk/channels/chat"
        )
    return name


class ChannelSection(_Section):
    """A system that posts customers' messages to POST /intake/messages (a chat widget, a
    phone system, a messenger bridge): its name and the SSM SecureString parameter holding
    the secret its requests are signed with (docs/CHANNELS.md)."""

    name: Annotated[str, AfterValidator(_channel_name)]
    secret: Annotated[str, AfterValidator(_ssm_parameter)]
    # Whether the address the channel passes (``from.email``) is one its user signed in
    # with (a customer area's chat): then it proves its author, as authenticated mail does.
    # A public widget's visitor types any address, so by default it proves nothing, as the
    # web form's does not (attack 19, F1).
    verifies_email: bool = False


class Reports(_Section):
    """When team leads get their daily and weekly reports, and who gets the whole desk's.

    Each lead gets the report of the teams they lead; an address in ``desk_wide_to`` gets
    the report of the whole desk instead (a support manager, a lead of every team).
    """

    daily_at: TimeOfDay = time(8, 0)
    weekly_on: Weekday = "mon"
    desk_wide_to: tuple[EmailAddress, ...] = ()


class Complaints(_Section):
    """A customer's complaint to the team lead, from their ticket's page or the survey page
    (helpdesk.services.complaints).

    ``respond_within`` is the complaint clock's target, in business time of the ticket's
    SLA policy's calendar (a policy may set its own per priority: ``targets.<priority>.
    complaint``). A complaint made while the clock runs keeps its words on the ticket but
    neither restarts the clock nor mails the leads again within the same clock hour;
    beyond ``per_ticket_per_hour`` complaints on one ticket in an hour the page answers 429,
    and so it does beyond ``per_contact_per_day`` complaints of one contact (all their
    tickets) in a UTC day: tickets opened to complain cannot use up the leads' attention.
    """

    respond_within: PositiveDuration = timedelta(hours=4)
    text_max_chars: Annotated[int, Field(ge=1, le=20_000)] = 4000
    per_ticket_per_hour: Annotated[int, Field(ge=1, le=50)] = 5
    per_contact_per_day: Annotated[int, Field(ge=1, le=200)] = 10
    # Complaint mails a lead gets an hour from one complainer (an organization's domain,
    # else a mailbox: a free-mail one is counted alone) and from all together (counted
    # apart for contacts the desk has served and for the rest, who have half of the hour
    # each); past them the complaint is on its ticket and its clock warns the lead (attack
    # 16, F1; review 18, #2).
    lead_mails_per_sender_per_hour: Annotated[int, Field(ge=1, le=100)] = 3
    lead_mails_per_hour: Annotated[int, Field(ge=2, le=1000)] = 30


class Robots(_Section):
    """Tickets that machines opened (an out-of-office notice, a delivery report).

    They are kept for someone to look through, outside the new-ticket counts and the
    backlog, and closed after ``close_after`` without new mail unless an agent took one up.
    """

    close_after: PositiveDuration = timedelta(days=7)


# An https address without query or fragment: pages are appended to it.
HelpCentreUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$")
]


class Knowledge(_Section):
    """The knowledge base (docs/KNOWLEDGE.md): where its articles are and how many an
    acknowledgement offers."""

    # Relative to the config file: infra/knowledge/ for infra/helpdesk.yaml.
    path: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = "knowledge"
    suggest: Annotated[int, Field(ge=0, le=10)] = 3  # 0 turns suggestions off
    # Where the help centre (`helpdesk kb build`) is published, e.g. the template's
    # HelpCentreUrl output: the form page links to it and to its articles, and the agent's
    # assistant links the articles it shows. None: no links, titles and summaries only.
    help_centre_url: HelpCentreUrl | None = None

    def help_centre_page(self, language: str, slug: str | None = None) -> str | None:
        """The help centre's page of ``slug`` in ``language`` (its index without a slug),
        as `helpdesk kb build` lays it out; None when no help centre is configured."""
        if self.help_centre_url is None:
            return None
        base = self.help_centre_url.rstrip("/")
        return f"{base}/{language}/{slug or 'index'}.html"

    # How long an acknowledgement's "this answered my question" link works: long enough
    # for a customer who reads the answer a few weeks later, short enough that an old mail
    # stops solving a ticket (a survey link lives 14 days; an answer is read at leisure).
    answer_link_ttl: PositiveDuration = timedelta(days=30)

    def folder(self, config_path: str | Path) -> Path:
        """The articles' folder for the config file at ``config_path``."""
        return (Path(config_path).parent / self.path).resolve()


class Portal(_Section):
    """The customer's page (docs/SECURITY.md, "The customer's page"): how long its links
    hold, and the limits of what the page takes in.

    A reply from the page is one HTTP request, and Lambda takes at most 6 MB per
    synchronous invocation (API Gateway base64-encodes a form with files, a third more:
    "Lambda quotas", AWS Lambda Developer Guide), so ``body_max_bytes`` stays below 4 MB.
    """

    link_ttl: PositiveDuration = timedelta(days=30)
    message_max_chars: Count = TYPED_TEXT_MAX_CHARS
    attachments_max_count: Annotated[int, Field(ge=0, le=10)] = 5
    body_max_bytes: Annotated[int, Field(ge=16_384, le=PORTAL_BODY_CEILING)] = 4_000_000
    # Changes posted from pages (replies, "solved", complaints) per contact and per client
    # per hour, and link re-sending requests per address and per client per hour.
    actions_per_contact_per_hour: Count = 20
    actions_per_ip_per_hour: Count = 60
    resend_per_address_per_hour: Count = 3
    resend_per_ip_per_hour: Count = 10
    # How many of the contact's other tickets the page lists (newest first).
    other_tickets: Annotated[int, Field(ge=0, le=20)] = 10


class AgentApi(_Section):
    """Whom the agent API takes a verified token for (the JWT authorizer has checked its
    signature, issuer, audience and expiry; these name the agent inside it).

    ``identity_claim`` holds the agent's address; with ``require_verified`` the token must
    also carry ``verified_claim`` as true, which is how OpenID Connect says the IdP checked
    that the address belongs to the user (OIDC Core 1.0 §5.1 ``email_verified``). An IdP
    whose identity claim is only ever set by its admins may turn the check off.
    """

    identity_claim: Name = "email"
    require_verified: bool = True
    verified_claim: Name = "email_verified"


class Config(_Section):
    """The whole ops config file, checked within and across sections."""

    helpdesk: HelpdeskSection
    calendars: dict[Name, CalendarConfig] = Field(min_length=1)
    tiers: tuple[Tier, ...] = Field(default=(Tier(name="standard"),), min_length=1)
    sla_policies: tuple[SlaPolicy, ...] = Field(min_length=1)
    teams: tuple[Team, ...] = Field(min_length=1)
    agents: tuple[Agent, ...] = ()
    routing: tuple[RoutingRule, ...] = ()
    default_team: Name
    # The category of a ticket that neither the form's topic nor a rule gives one, so that a
    # mail and a form about nothing in particular land in the same report bucket.
    default_category: Name | None = None
    form: FormSection = FormSection()
    assignment: Literal["least_loaded", "round_robin"] = "least_loaded"
    surveys: Surveys = Surveys()
    limits: Limits = Limits()
    reports: Reports = Reports()
    robots: Robots = Robots()
    complaints: Complaints = Complaints()
    agent_api: AgentApi = AgentApi()
    knowledge: Knowledge = Knowledge()
    channels: tuple[ChannelSection, ...] = ()

    @field_validator("channels")
    @classmethod
    def _channels_are_unique(
        cls, channels: tuple[ChannelSection, ...]
    ) -> tuple[ChannelSection, ...]:
        _require_unique([channel.name for channel in channels], "channel")
        return channels

    def channel(self, name: str) -> ChannelSection | None:
        """The configured channel called ``name``, or None."""
        return next((channel for channel in self.channels if channel.name == name), None)

    portal: Portal = Portal()

    @model_validator(mode="after")
    def _references_hold(self) -> Config:
        problems = _cross_section_problems(_Sections.of_config(self))
        if problems:
            raise _CrossSectionProblems(problems)
        return self

    def team(self, name: str) -> Team:
        """The team called ``name``; KeyError if there is none."""
        for team in self.teams:
            if team.name == name:
                return team
        raise KeyError(f"no team {name!r} in the config")

    def agent(self, email: str) -> Agent | None:
        """The agent with address ``email`` (case-insensitive), or None."""
        address = email.strip().lower()
        return next((agent for agent in self.agents if agent.email == address), None)

    def works_in(self, email: str, team: str) -> bool:
        """Whether ``email`` is an agent of ``team`` (case-insensitive): who may hold its
        tickets."""
        agent = self.agent(email)
        return agent is not None and team in agent.teams

    def is_lead(self, email: str) -> bool:
        """Whether ``email`` (case-insensitive) leads a team."""
        address = email.strip().lower()
        return any(address == lead.lower() for team in self.teams for lead in team.leads)

    @property
    def staff_emails(self) -> frozenset[str]:
        """Everyone who works for the desk, lower-cased: the agents and the teams' leads."""
        return frozenset(agent.email.lower() for agent in self.agents) | frozenset(
            lead.lower() for team in self.teams for lead in team.leads
        )

    def is_staff(self, email: str) -> bool:
        """Whether ``email`` works for the desk: an agent or a team's lead. Leads answer the
        relays of their unassigned tickets and their customers' complaints from their mailbox
        like any agent (security review F6), though only agents hold tickets."""
        return email.strip().lower() in self.staff_emails

    def agents_of(self, team: str) -> tuple[Agent, ...]:
        """The agents in ``team``, in config order, away ones included."""
        return tuple(agent for agent in self.agents if team in agent.teams)

    def languages_of(self, agent: Agent) -> tuple[str, ...]:
        """The languages ``agent`` answers in: their own list, else the desk's default."""
        return agent.languages or (self.default_language,)

    def calendar(self, name: str) -> CalendarConfig:
        """The calendar called ``name``; KeyError if there is none."""
        try:
            return self.calendars[name]
        except KeyError:
            raise KeyError(f"no calendar {name!r} in the config") from None

    def policy(self, name: str) -> SlaPolicy:
        """The SLA policy called ``name``; KeyError if there is none."""
        for policy in self.sla_policies:
            if policy.name == name:
                return policy
        raise KeyError(f"no SLA policy {name!r} in the config")

    def complaint_target(self, policy: str, priority: str) -> timedelta:
        """How long a lead has to answer a complaint on a ticket of ``policy`` and
        ``priority``: the policy's own ``complaint`` target, else ``complaints.
        respond_within`` (also for a policy since removed from the config)."""
        try:
            own = self.policy(policy).target(priority).complaint
        except KeyError:
            own = None
        return own if own is not None else self.complaints.respond_within

    @property
    def team_names(self) -> tuple[str, ...]:
        """Every team's name, in config order."""
        return tuple(team.name for team in self.teams)

    @property
    def default_language(self) -> str:
        """The language used when a customer's cannot be told or is not served."""
        return self.helpdesk.languages[0]

    @property
    def report_timezone(self) -> str:
        """The time zone reports are dated in: the first calendar's."""
        return next(iter(self.calendars.values())).timezone


# --- checks across sections --------------------------------------------------------------


class _CrossSectionProblems(ValueError):
    """Raised inside validation so that pydantic carries every cross-section problem out."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{_format_path(loc)}: {message}" for loc, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class _Sections:
    """What the cross-section checks look at, with each entry's index in its list.

    Built from a valid Config, or from the entries of a partly invalid file that are valid
    on their own. A set of names that could not be read is None, which turns off the
    checks against it rather than report every reference to it as unknown.
    """

    languages: tuple[str, ...] | None
    calendar_names: frozenset[str] | None
    tiers: Sequence[tuple[int, Tier]]
    tier_count: int
    tier_names: frozenset[str] | None
    policies: Sequence[tuple[int, SlaPolicy]]
    policy_count: int
    teams: Sequence[tuple[int, Team]]
    team_names: frozenset[str] | None
    agents: Sequence[tuple[int, Agent]]
    routing: Sequence[tuple[int, RoutingRule]]
    default_team: str | None
    channel_names: frozenset[str] | None = None

    @classmethod
    def of_config(cls, config: Config) -> _Sections:
        return cls(
            languages=config.helpdesk.languages,
            calendar_names=frozenset(config.calendars),
            tiers=list(enumerate(config.tiers)),
            tier_count=len(config.tiers),
            tier_names=frozenset(tier.name for tier in config.tiers),
            policies=list(enumerate(config.sla_policies)),
            policy_count=len(config.sla_policies),
            teams=list(enumerate(config.teams)),
            team_names=frozenset(config.team_names),
            agents=list(enumerate(config.agents)),
            routing=list(enumerate(config.routing)),
            default_team=config.default_team,
            channel_names=frozenset(BUILT_IN_CHANNELS)
            | frozenset(channel.name for channel in config.channels),
        )

    @classmethod
    def of_raw(cls, data: Mapping[str, Any]) -> _Sections:
        helpdesk = _valid_or_none(HelpdeskSection, data.get("helpdesk"))
        calendars = data.get("calendars")
        tiers, tier_count = _valid_entries(Tier, data.get("tiers"))
        policies, policy_count = _valid_entries(SlaPolicy, data.get("sla_policies"))
        teams, _ = _valid_entries(Team, data.get("teams"))
        default_team = data.get("default_team")
        return cls(
            languages=helpdesk.languages if helpdesk else None,
            calendar_names=(
                frozenset(str(name) for name in calendars) if isinstance(calendars, dict) else None
            ),
            tiers=tiers,
            tier_count=tier_count,
            tier_names=_raw_names(data.get("tiers"))
            if "tiers" in data
            else frozenset({"standard"}),
            policies=policies,
            policy_count=policy_count,
            teams=teams,
            team_names=_raw_names(data.get("teams")),
            agents=_valid_entries(Agent, data.get("agents"))[0],
            routing=_valid_entries(RoutingRule, data.get("routing"))[0],
            default_team=default_team if isinstance(default_team, str) else None,
            channel_names=_raw_channel_names(data.get("channels")),
        )


_M = TypeVar("_M", bound=BaseModel)


def _valid_or_none(model: type[_M], raw: object) -> _M | None:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


def _valid_entries(model: type[_M], raw: object) -> tuple[list[tuple[int, _M]], int]:
    if not isinstance(raw, list):
        return [], 0
    valid = [
        (index, entry)
        for index, item in enumerate(raw)
        if (entry := _valid_or_none(model, item)) is not None
    ]
    return valid, len(raw)


def _raw_channel_names(raw: object) -> frozenset[str] | None:
    if raw is None:
        return frozenset(BUILT_IN_CHANNELS)
    names = _raw_names(raw)
    return None if names is None else frozenset(BUILT_IN_CHANNELS) | names


def _raw_names(raw: object) -> frozenset[str] | None:
    if not isinstance(raw, list):
        return None
    return frozenset(
        item["name"].strip()
        for item in raw
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    )


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _cross_section_problems(sections: _Sections) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    problems += _duplicates("tiers", "name", ((i, tier.name) for i, tier in sections.tiers))
    problems += _duplicates(
        "sla_policies", "name", ((i, policy.name) for i, policy in sections.policies)
    )
    problems += _duplicates("teams", "name", ((i, team.name) for i, team in sections.teams))
    problems += _duplicates("agents", "email", ((i, agent.email) for i, agent in sections.agents))
    problems += _tier_order_problems(sections)
    problems += _policy_problems(sections)
    problems += _agent_problems(sections)
    problems += _routing_problems(sections)
    teams = sections.team_names
    if (
        teams is not None
        and sections.default_team is not None
        and sections.default_team not in teams
    ):
        problems.append(
            (("default_team",), f"unknown team {sections.default_team!r} (known: {_known(teams)})")
        )
    return problems


def _duplicates(
    section: str, key: str, entries: Iterable[tuple[int, str]]
) -> list[tuple[Loc, str]]:
    first_index: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, name in entries:
        if name in first_index:
            problems.append(
                (
                    (section, index, key),
                    f"{name!r} is already used by {section}[{first_index[name]}]",
                )
            )
        else:
            first_index[name] = index
    return problems


def _tier_order_problems(sections: _Sections) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    last = sections.tier_count - 1
    for index, tier in sections.tiers:
        if index == last and tier.has_conditions:
            problems.append(
                (
                    ("tiers", index),
                    "the last tier is the default for every other customer, so it cannot list"
                    " domains or emails: add a last entry such as {name: standard}",
                )
            )
        elif index < last and not tier.has_conditions:
            problems.append(
                (
                    ("tiers", index),
                    f"tier {tier.name!r} lists no domains or emails, so it matches every"
                    " customer and the tiers after it are never used",
                )
            )
    return problems


def _policy_problems(sections: _Sections) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    last = sections.policy_count - 1
    for index, policy in sections.policies:
        here: Loc = ("sla_policies", index)
        if index == last and not policy.when.is_empty:
            problems.append(
                (
                    (*here, "when"),
                    "the last SLA policy must have no `when`, so that every ticket gets a"
                    " policy: remove it or add a last policy without one",
                )
            )
        elif index < last and policy.when.is_empty:
            problems.append(
                (
                    here,
                    f"policy {policy.name!r} has no `when`, so it matches every ticket and the"
                    " policies after it are never used",
                )
            )
        calendars = sections.calendar_names
        if calendars is not None and policy.calendar not in calendars:
            problems.append(
                (
                    (*here, "calendar"),
                    f"unknown calendar {policy.calendar!r} (known: {_known(calendars)})",
                )
            )
        teams = sections.team_names
        if teams is not None and policy.escalate_to is not None and policy.escalate_to not in teams:
            problems.append(
                (
                    (*here, "escalate_to"),
                    f"unknown team {policy.escalate_to!r} (known: {_known(teams)})",
                )
            )
        channels = sections.channel_names
        if (
            channels is not None
            and policy.when.channel is not None
            and policy.when.channel not in channels
        ):
            problems.append(
                (
                    (*here, "when", "channel"),
                    f"unknown channel {policy.when.channel!r} (known: {_known(channels)})",
                )
            )
        tiers = sections.tier_names
        if tiers is not None and policy.when.tier is not None and policy.when.tier not in tiers:
            problems.append(
                (
                    (*here, "when", "tier"),
                    f"unknown tier {policy.when.tier!r} (known: {_known(tiers)})",
                )
            )
    return problems


def _agent_problems(sections: _Sections) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    teams, languages = sections.team_names, sections.languages
    for index, agent in sections.agents:
        if teams is not None:
            problems += [
                (
                    ("agents", index, "teams", position),
                    f"unknown team {team!r} (known: {_known(teams)})",
                )
                for position, team in enumerate(agent.teams)
                if team not in teams
            ]
        if languages is not None and agent.languages is not None:
            problems += [
                (
                    ("agents", index, "languages", position),
                    f"the desk does not serve {language!r}: add it to helpdesk.languages"
                    f" ({', '.join(languages)}) or remove it here",
                )
                for position, language in enumerate(agent.languages)
                if language not in languages
            ]
    return problems


def _routing_problems(sections: _Sections) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    teams, tiers, languages = sections.team_names, sections.tier_names, sections.languages
    for index, rule in sections.routing:
        here: Loc = ("routing", index)
        if teams is not None and rule.set_.team is not None and rule.set_.team not in teams:
            problems.append(
                (
                    (*here, "set", "team"),
                    f"unknown team {rule.set_.team!r} (known: {_known(teams)})",
                )
            )
        if tiers is not None:
            problems += [
                (loc, f"unknown tier {tier!r} (known: {_known(tiers)})")
                for loc, tier in _listed((*here, "when", "tier"), rule.when.tier)
                if tier not in tiers
            ]
        if sections.channel_names is not None:
            problems += [
                (loc, f"unknown channel {channel!r} (known: {_known(sections.channel_names)})")
                for loc, channel in _listed((*here, "when", "channel"), rule.when.channel)
                if channel not in sections.channel_names
            ]
        if languages is not None:
            # Detection only ever answers with a served language, so such a rule never fires.
            problems += [
                (
                    loc,
                    f"the desk does not serve {language!r}, so this rule never matches"
                    f" (served: {', '.join(languages)})",
                )
                for loc, language in _listed((*here, "when", "language"), rule.when.language)
                if language not in languages
            ]
    return problems


def _listed(loc: Loc, values: tuple[str, ...] | None) -> Iterator[tuple[Loc, str]]:
    """Each value with its location; a single value may have been written without a list."""
    if not values:
        return
    if len(values) == 1:
        yield loc, values[0]
        return
    for position, value in enumerate(values):
        yield (*loc, position), value


def _require_unique(values: Sequence[str], what: str) -> None:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"{what} listed more than once: {', '.join(repeated)}")


# --- loading and reporting ---------------------------------------------------------------


# One thing wrong with the config file, located by line and key path.
ConfigProblem = FileProblem


class ConfigError(Exception):
    """The config file cannot be used; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in the helpdesk config:"
        super().__init__("\n".join([heading, *(f"  {problem}" for problem in self.problems)]))


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars for the values ops write unquoted here.

    YAML 1.1 (PyYAML's default) reads ``no`` (Norwegian) as false, ``18:30`` as the
    sexagesimal number 1110 and ``010`` as octal; and it turns dates into objects before
    the schema can report a bad one with its key path. Only 1.2's true/false, decimal
    numbers and plain floats are resolved; everything else stays text for the schema.
    """


_REPLACED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}
_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def default_config_path() -> Path:
    """Where the bundled config is: next to the package in the Lambda layer, else infra/."""
    here = Path(__file__).resolve().parent
    bundled = here / "helpdesk.yaml"
    if bundled.is_file():
        return bundled
    # layers/helpdesk/helpdesk/config.py -> the repository root is three folders up.
    return here.parents[2] / "infra" / "helpdesk.yaml"


def load_config(path: str | Path) -> Config:
    """Read and check the config file at ``path``; ConfigError lists every problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            [ConfigProblem(source, None, "(file)", f"cannot read it: {error}")]
        ) from None
    return parse_config(text, source)


def parse_config(text: str, source: str = "<config>") -> Config:
    """Check the config file's ``text``; ConfigError lists every problem, with lines."""
    try:
        root, data = _parse_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigError([_syntax_problem(error, text, source)]) from None

    found: list[tuple[Loc, int | None, str]] = []
    if root is not None:
        found += _duplicate_keys(root, ())
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        message = (
            f"the file is {what}: it needs at least helpdesk, calendars, sla_policies,"
            " teams and default_team"
        )
        raise ConfigError([ConfigProblem(source, 1, "(top level)", message)])

    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        field_errors = False
        details = error.errors()
        for detail in details:
            context = detail.get("ctx") or {}
            cause = context.get("error")
            if detail["type"] == "value_error" and isinstance(cause, _CrossSectionProblems):
                found += [(loc, None, message) for loc, message in cause.problems]
            elif not _is_echo(detail, details):
                field_errors = True
                loc = _clean_loc(detail["loc"])
                found.append((loc, None, _human_message(detail, loc)))
        if field_errors:
            found += [
                (loc, None, message)
                for loc, message in _cross_section_problems(_Sections.of_raw(data))
            ]
    if not found and config is not None:
        return config

    problems = {
        ConfigProblem(source, line or _line_of(root, loc), _format_path(loc), message)
        for loc, line, message in found
    }
    raise ConfigError(sorted(problems, key=lambda problem: (problem.line or 0, problem.path)))


def problem_at(path: str | Path, loc: Loc, message: str) -> ConfigProblem:
    """A problem that a check outside the schema found with the loaded file at ``path``
    (``helpdesk validate``: a configured language without its templates), located the
    way the schema's own problems are: the line of the key at ``loc`` and its path."""
    try:
        root, _ = _parse_yaml(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        root = None
    return ConfigProblem(str(path), _line_of(root, loc), _format_path(loc), message)


def _is_echo(detail: ErrorDetails, details: Sequence[ErrorDetails]) -> bool:
    """True for "too short" about a list whose entries have errors of their own.

    pydantic counts only the valid entries against ``min_length``, so a list whose every
    entry is broken would also be reported as empty, which it is not.
    """
    if detail["type"] != "too_short":
        return False
    loc = detail["loc"]
    return any(
        other["loc"][: len(loc)] == loc and len(other["loc"]) > len(loc) for other in details
    )


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    loader = _ConfigLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def _syntax_problem(error: yaml.YAMLError, text: str, source: str) -> ConfigProblem:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        line: int | None = error.problem_mark.line + 1
        reason = error.problem or "cannot be read"
        if error.context and error.context_mark is not None:
            reason += f" ({error.context} at line {error.context_mark.line + 1})"
    elif isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        reason = f"character {error.character!r} is not allowed in YAML"
    else:
        line, reason = None, str(error)
    return ConfigProblem(source, line, "(syntax)", f"not valid YAML: {reason}")


def _duplicate_keys(
    node: yaml.Node, loc: Loc, seen: set[int] | None = None
) -> list[tuple[Loc, int | None, str]]:
    """Keys given twice in one mapping: YAML silently keeps the last, ops meant both."""
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias refers back to a node already walked
        return []
    seen.add(id(node))
    problems: list[tuple[Loc, int | None, str]] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                problems.append(
                    (
                        (*loc, key),
                        line,
                        f"{key!r} is given twice (first at line {first_line[key]}); YAML would"
                        " silently keep only this one",
                    )
                )
            else:
                first_line[key] = line
            problems += _duplicate_keys(value_node, (*loc, key), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*loc, index), seen)
    return problems


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the key at ``loc``, or of its nearest ancestor in the file."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            # The last of repeated keys, because that is the one YAML keeps.
            pairs = [pair for pair in node.value if str(pair[0].value) == str(part)]
            if not pairs:
                break
            key_node, node = pairs[-1]
            line = key_node.start_mark.line + 1
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _clean_loc(loc: Sequence[int | str]) -> Loc:
    """pydantic's error location as the key path in the file.

    pydantic adds ``[key]`` after a mapping key that failed, and the tag of the tagged
    union member it tried (after ``calendars.<name>.hours``); neither is in the file.
    """
    is_hours = len(loc) > 3 and loc[0] == "calendars" and loc[2] == "hours"
    return tuple(
        part
        for position, part in enumerate(loc)
        if part != "[key]" and not (is_hours and position == 3)
    )


def _format_path(loc: Loc) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path or "(top level)"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _human_message(error: ErrorDetails, loc: Loc) -> str:
    """pydantic's complaint in the words of someone editing the YAML file."""
    kind, value = error["type"], error["input"]
    context = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(context.get("error", error["msg"]))
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    if kind == "literal_error":
        role = "as a key here" if error["loc"][-1:] == ("[key]",) else "here"
        return f"{_short(value)} is not allowed {role}: use {context.get('expected')}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind.startswith("string"):
        return f"expected text, got {_short(value)} (quote it)"
    if kind.startswith("int"):
        return f"expected a whole number, got {_short(value)}"
    if kind.startswith("float"):
        return f"expected a number, got {_short(value)}"
    if kind.startswith("bool"):
        return f"expected true or false, got {_short(value)}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"expected a list like [a, b], got {_short(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys to values, got {_short(value)}"
    if kind.startswith("date"):
        return f'{_short(value)} is not a date: write it like "2026-12-25"'
    if kind == "greater_than_equal":
        return f"must be at least {context.get('ge')}, got {_short(value)}"
    return str(error["msg"])


def _unknown_key_message(loc: Loc) -> str:
    key = str(loc[-1]) if loc else ""
    allowed = _keys_at(loc[:-1])
    suggestion = difflib.get_close_matches(key, allowed, n=1)
    if suggestion:
        return f"unknown key {key!r} (did you mean {suggestion[0]!r}?)"
    if allowed:
        return f"unknown key {key!r} (allowed here: {', '.join(allowed)})"
    return f"unknown key {key!r}"


def _keys_at(loc: Loc) -> list[str]:
    """The keys the schema allows in the mapping at ``loc``."""
    current: Any = Config
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {field.alias or name: field for name, field in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[str(part)].annotation
        elif get_origin(current) in (tuple, list) and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [field.alias or name for name, field in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """The type under ``Annotated[...]`` and ``X | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
