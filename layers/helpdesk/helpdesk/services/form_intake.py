"""The web form: validation with answers that name the field, then a ticket with its promise."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.characters import one_line, typed_text
from helpdesk.config import FORM_TOPICS
from helpdesk.errors import InvalidInput, TooLarge
from helpdesk.json_input import json_object
from helpdesk.mail.mailbox import mailbox_key
from helpdesk.model import EMAIL_MAX, PRIORITIES, Message
from helpdesk.ports import DeliveryCounter, SuppressionList
from helpdesk.post_input import require_media_type
from helpdesk.render import known_timezone
from helpdesk.services.rate_limits import WindowCounter, client_key, limit_client, limit_rate
from helpdesk.services.self_service import suggester
from helpdesk.services.tickets import NewRequest, open_ticket
from helpdesk.unit_of_work import AlreadyClaimed, Claim

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.knowledge import KnowledgeBase
    from helpdesk.ports import TicketUnitOfWork

NAME_MAX = 200
SUBJECT_MAX = 300
ORDER_ID_MAX = 64
SUBMISSION_ID_MAX = 64
# The choices of the form's category select (its "topic"); the config's `form.topics` maps
# them to categories, and routing rules may match those.
FORM_CATEGORIES: tuple[str, ...] = FORM_TOPICS
_SUBMISSION_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251})\.[A-Za-z]{2,63}$"
)


def writable_address(email: str) -> bool:
    """Whether ``email`` is an address a customer may give and the desk can write to: the
    form's shape, and what the desk sends to (mail.compose.valid_address: a 7-bit ASCII
    local part, since Amazon SES takes no SMTPUTF8, RFC 6531; "Destination", SES API
    Reference). A look-alike with a zero-width or Cyrillic letter read as the customer's
    to an agent while every mail to it went nowhere (attack 19, F2)."""
    if not _ADDRESS.match(email):
        return False
    # Imported here: the email package is a few ms of a cold start, paid by a submission.
    from helpdesk.mail.compose import valid_address

    return valid_address(email)


# Characters a JavaScript pattern must escape inside a class: the HTML pattern attribute is
# compiled with the v flag (HTML Standard, "compiled pattern regular expression"), where
# ECMAScript's ClassSetSyntaxCharacter and ClassSetReservedPunctuator need a backslash
# (ECMA-262, RegExp pattern syntax). A pattern that does not compile is ignored by the
# browser without a word: the browser test checks that this one refuses what it should.
_CLASS_SET_ESCAPED = frozenset("()[]{}/-\\|&!#%,:;<=>@`~")

KNOWN_FIELDS = frozenset(
    {
        "name",
        "email",
        "subject",
        "message",
        "category",
        "urgency",
        "language",
        "order_id",
        "website",
        "submission_id",
        "timezone",
    }
)


class FieldRefused(InvalidInput):
    """A field of the form breaks one of its rules. ``rule`` names which (``required``,
    ``text``, ``too_long``, ``email``, ``choice``, ``characters``, ``reload``): the page
    shows that rule's words in its language ([form_page.errors] of words.toml), and its
    script uses the same words for the same rules before it sends anything."""

    def __init__(self, field: str, rule: str, reason: str) -> None:
        super().__init__(field, reason)
        self.rule = rule


@dataclass(frozen=True)
class CharacterRule:
    """The characters a field takes: letters and digits of any script (Unicode general
    categories L and N) and ``punctuation``, after NFKC (full-width ＡＢ１２, which a
    Chinese or Japanese input method types, is AB12).

    One definition for both sides: the server calls :meth:`allows`, the page's input gets
    :meth:`html_pattern` (``\\p{L}`` and ``\\p{N}`` are the same categories in ECMAScript)
    and its script normalizes to NFKC before it checks.
    """

    punctuation: str

    def normalized(self, value: str) -> str:
        return unicodedata.normalize("NFKC", value)

    def allows(self, value: str) -> bool:
        return bool(value) and all(
            unicodedata.category(char)[0] in "LN" or char in self.punctuation for char in value
        )

    def html_pattern(self) -> str:
        escaped = "".join(f"\\{c}" if c in _CLASS_SET_ESCAPED else c for c in self.punctuation)
        return f"[\\p{{L}}\\p{{N}}{escaped}]+"


# An order number is read by a person, never matched by the desk: letters of any script are
# taken, so a customer typing on a Russian or Chinese keyboard (where А-1042 may be
# Cyrillic) keeps her request; spaces, markup and invisible format characters (bidi
# overrides, zero-width joiners) stay out of the agent's mail.
ORDER_ID_RULE = CharacterRule(punctuation="#/_.-")


@dataclass(frozen=True)
class FormSubmission:
    """A validated form submission: every field safe to store and to show."""

    name: str
    email: str
    subject: str
    message: str
    category: str | None
    urgency: str | None
    language: str | None
    order_id: str | None
    honeypot: bool
    submission_id: str
    timezone: str | None = None


def _text_field(body: Mapping[str, Any], name: str, *, required: bool, max_len: int) -> str:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FieldRefused(name, "required", "is required")
        return ""
    if not isinstance(value, str):
        raise FieldRefused(name, "text", "must be text")
    if len(value) > max_len:
        raise FieldRefused(name, "too_long", f"is too long (at most {max_len} characters)")
    return value


def validate_form(body: Any, config: Config, *, client: str, now: datetime) -> FormSubmission:
    """Check a submitted form; :class:`InvalidInput` names the first bad field and why.
    ``client`` (:func:`client_key` of the request's source) and ``now`` make the
    submission's id when the post has none (:func:`derived_submission_id`)."""
    if not isinstance(body, Mapping):
        raise InvalidInput("body", "must be a JSON object")
    unknown = sorted(k for k in body if k not in KNOWN_FIELDS)
    if unknown:
        raise FieldRefused(str(unknown[0]), "reload", "is not a field of this form")
    name = one_line(_text_field(body, "name", required=True, max_len=NAME_MAX))
    email = one_line(_text_field(body, "email", required=True, max_len=EMAIL_MAX)).strip()
    if not writable_address(email):
        raise FieldRefused("email", "email", "is not a valid email address")
    subject = one_line(_text_field(body, "subject", required=True, max_len=SUBJECT_MAX))
    message_limit = config.limits.form_message_max_chars
    raw_message = body.get("message")
    if isinstance(raw_message, str) and len(raw_message) > message_limit:
        raise TooLarge("message", f"is too long (at most {message_limit} characters)")
    message = typed_text(_text_field(body, "message", required=True, max_len=message_limit))
    category = one_line(_text_field(body, "category", required=False, max_len=64)) or None
    if category is not None and category not in FORM_CATEGORIES:
        raise FieldRefused("category", "choice", f"must be one of {', '.join(FORM_CATEGORIES)}")
    urgency = one_line(_text_field(body, "urgency", required=False, max_len=16)).lower() or None
    if urgency is not None and urgency not in PRIORITIES:
        raise FieldRefused("urgency", "choice", f"must be one of {', '.join(PRIORITIES)}")
    language = one_line(_text_field(body, "language", required=False, max_len=8)).lower() or None
    if language is not None and language not in config.helpdesk.languages:
        language = None  # a language we do not serve falls back; not the customer's fault
    # The zone the page's script read from the browser: a hint the customer never typed
    # nor sees, so a zone we do not know is dropped (times are then shown in the calendar's
    # zone) rather than refused: a 422 would stop a request over nothing its writer can fix.
    timezone = known_timezone(body.get("timezone"))
    order_id = one_line(_text_field(body, "order_id", required=False, max_len=ORDER_ID_MAX))
    order_id = ORDER_ID_RULE.normalized(order_id)
    if len(order_id) > ORDER_ID_MAX:  # NFKC may lengthen: one ㍿ is four characters
        raise FieldRefused(
            "order_id", "too_long", f"is too long (at most {ORDER_ID_MAX} characters)"
        )
    if order_id and not ORDER_ID_RULE.allows(order_id):
        raise FieldRefused(
            "order_id", "characters", "may contain only letters, digits and # / _ . -"
        )
    honeypot = bool(body.get("website"))
    submission_id = _text_field(
        body, "submission_id", required=False, max_len=SUBMISSION_ID_MAX
    ).strip()
    if submission_id and not _SUBMISSION_ID.fullmatch(submission_id):
        # It becomes part of a table key and a message id: letters, digits and dashes only.
        raise FieldRefused("submission_id", "reload", "must be 8 to 64 letters, digits or dashes")
    if not submission_id:
        submission_id = derived_submission_id(email, subject, message, client=client, now=now)
    return FormSubmission(
        name=name,
        email=email,
        subject=subject,
        message=message,
        category=category,
        urgency=urgency,
        language=language,
        order_id=order_id or None,
        honeypot=honeypot,
        submission_id=submission_id,
        timezone=timezone,
    )


# How long a post without a submission_id counts as a double submit of the same content.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=10)


def derived_submission_id(
    email: str, subject: str, message: str, *, client: str, now: datetime
) -> str:
    """The id of a post that names none (a script's: the form page always sends a random
    one): a double click posts the same form twice, and the same content from the same
    ``client`` within the same :data:`DOUBLE_SUBMIT_WINDOW` (windows start at whole
    multiples of it since the Unix epoch) makes one ticket. Only that: the id's claim is
    global, and a repeat is answered with the first ticket's reference and status, so the
    same content from another client, or later, must not collide (attack 8, F4). A double
    click across a window's start makes two tickets."""
    length = int(DOUBLE_SUBMIT_WINDOW.total_seconds())
    at = int(now.timestamp())
    window = at - at % length
    posted = f"{client}\n{window}\n{email.lower()}\n{subject}\n{message}"
    return hashlib.sha256(posted.encode()).hexdigest()[:32]


class FormRecords(SuppressionList, DeliveryCounter, WindowCounter, Protocol):
    """What a submission's intake keeps beside the tickets: the acknowledgement caps, the
    listing of spoofed submissions, and the hourly counters of the form route's limits."""


def take_in_form(
    submission: FormSubmission,
    *,
    uow: TicketUnitOfWork,
    config: Config,
    now: datetime,
    knowledge: Callable[[], KnowledgeBase] | None = None,
    repo: FormRecords | None = None,
) -> dict[str, Any]:
    """Open a ticket from a valid submission; the answer states the reference and the
    promised first-response time. A repeated submission answers with the same ticket.
    ``knowledge`` (loaded on first use) gives the articles its acknowledgement offers;
    ``repo`` lists a spoofed submission among the suppressed, as a spoofed mail is."""
    form_fields = {
        k: v
        for k, v in {
            "category": submission.category,
            "urgency": submission.urgency,
            "order_id": submission.order_id,
        }.items()
        if v
    }
    from helpdesk.mail.robots import claims_internal

    # The form proves no address: one of the desk's own or its staff's given here is
    # treated as an unauthenticated mail from it (email_intake: flag spoofed, nobody
    # acknowledged, no SLA clock, not routed), so the desk never answers itself.
    spoofed = claims_internal(
        submission.email, own_domain=config.helpdesk.mail_domain, agent_emails=config.staff_emails
    )
    # The acknowledgement caps every intake takes, per mailbox and domain (attack 3, F3):
    # past them the ticket opens and its page shows the promise, but no mail answers it.
    # Counted once per submission, however often it is posted again. Without a table
    # (tests of the use case alone) the acknowledgement is counted where it is sent.
    capped = not spoofed and repo is not None
    within = repo is not None and capped and _within_ack_limit(repo, config, submission, now)
    text = submission.message
    if submission.order_id:
        text = f"{text}\n\nOrder: {submission.order_id}"
    message = Message(
        id="form-" + submission.submission_id,
        ticket="",
        direction="in",
        author=submission.email.lower(),
        author_name=submission.name,
        at=now,
        text=text,
        subject=submission.subject,
        # The address was typed, not proven: the agents read where it came from (review
        # 18, #4). It carries no "unauthenticated" flag, which would tell every customer
        # who wrote the form herself that her own words are "not verified".
        channel="form",
    )
    try:
        ticket = open_ticket(
            NewRequest(
                channel="form",
                subject=submission.subject,
                text=text,
                contact_email=submission.email,
                contact_name=submission.name,
                language=submission.language,
                category=submission.category,
                urgency=submission.urgency,
                form=form_fields,
                timezone=submission.timezone,
                flags=("spoofed",) if spoofed else (),
            ),
            uow=uow,
            config=config,
            now=now,
            first_message=message,
            claims=[Claim("submission", submission.submission_id)],
            notify=not spoofed and (within or not capped),
            acknowledgement_counted=within,
            suggest=suggester(knowledge, config),
        )
    except AlreadyClaimed as duplicate:
        # The same submission again (a retried POST): the answer the first one got.
        if duplicate.ref is None:
            raise
        ticket = uow.load(duplicate.ref)
    # Listed as a mail nobody answered is: spoofed, or past the acknowledgement caps.
    unanswered = "spoofed" if spoofed else "loop_limit" if capped and not within else None
    if unanswered is not None and repo is not None:
        repo.record_suppressed(
            at=now,
            reason=unanswered,
            sender=submission.email.lower(),
            subject=submission.subject,
            raw_key=None,
            ref=ticket.ref,
            message_id=message.id,  # one entry however often the submission is retried
        )
    # The answer owed next, as the customer's page and the channels state it: a post the
    # browser retries after an agent answered promises no time already past.
    due = ticket.sla.next_answer_due() if ticket.sla else None
    return {
        "ref": ticket.ref,
        "status": ticket.status,
        "priority": ticket.priority,
        "language": ticket.language,
        "promised_by": due.isoformat() if due is not None else None,
    }


def _within_ack_limit(
    repo: FormRecords, config: Config, submission: FormSubmission, now: datetime
) -> bool:
    from helpdesk.services.acknowledgement_caps import within_ack_limit

    # The form proves no address: whoever posts it types any (attack 11, F2).
    return within_ack_limit(
        repo,
        config,
        submission.email,
        submission.submission_id,
        now,
        kind="form",
        authenticated=False,
    )


@dataclass(frozen=True)
class FormDesk:
    """The form route's use case: a submission from its raw body to a ticket."""

    uow: TicketUnitOfWork
    repo: FormRecords
    config: Config
    # The articles the acknowledgement offers, loaded on the first submission.
    knowledge: Callable[[], KnowledgeBase] | None = None

    def submit(
        self, *, body: str, content_type: str, source_ip: str, now: datetime
    ) -> dict[str, Any]:
        """Validate and take in one POST; errors are :class:`InvalidInput` (its subclasses
        say how the input is wrong) or :class:`RateLimited`."""
        require_media_type(content_type, "application/json")
        if len(body.encode("utf-8")) > self.config.limits.form_body_max_bytes:
            raise TooLarge(
                "body", f"is too large (at most {self.config.limits.form_body_max_bytes} bytes)"
            )
        client = client_key(source_ip)
        # A flood of junk is still a flood: the client address counts before parsing.
        limit_client(
            self.repo,
            client,
            scope="FORM-IP",
            network_scope="FORM-NET",
            limit=self.config.limits.form_per_ip_per_hour,
            per_network=self.config.limits.clients_per_network,
            what="address",
            now=now,
        )
        # Size, nesting and syntax are checked by the one loader of every HTTP edge (400).
        data = json_object(body, max_bytes=self.config.limits.form_body_max_bytes)
        submission = validate_form(data, self.config, client=client, now=now)
        # Per mailbox, not per spelling: victim+1@, victim+2@ ... flood one inbox.
        self._limit(
            f"FORM-EMAIL#{mailbox_key(submission.email)}",
            self.config.limits.form_per_address_per_hour,
            "email address",
            now,
        )
        if submission.honeypot:
            # Only robots fill the hidden field; they get a plain success and no ticket.
            return {"ref": None, "status": "received", "promised_by": None}
        return take_in_form(
            submission,
            uow=self.uow,
            config=self.config,
            now=now,
            knowledge=self.knowledge,
            repo=self.repo,
        )

    def _limit(self, scope: str, limit: int, what: str, now: datetime) -> None:
        limit_rate(self.repo, scope, limit=limit, what=what, now=now)
