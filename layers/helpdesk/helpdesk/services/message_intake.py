"""Other channels: POST /intake/messages, where a configured chat widget, phone system or
messenger bridge hands the desk its customers' messages (docs/CHANNELS.md).

A request proves its channel with an HMAC-SHA256 signature of its timestamp and its exact
body under the channel's secret (an SSM SecureString), as Slack signs the requests it sends
("Verifying requests from Slack", https://api.slack.com/authentication/verifying-requests-from-slack:
``v0:<timestamp>:<body>``, five minutes of skew) and Stripe its webhooks
(https://docs.stripe.com/webhooks#verify-manually: several ``v1`` signatures while a
secret is rolled, a tolerance of 300 seconds, constant-time comparison). Nothing of an
unproven request is parsed or stored.

A proven message is taken in once per channel, conversation and message id (a claim, as the form's
submission id), joins its conversation's ticket (a conversation pointer, moved on to a new
ticket once the old one is closed, as a mail to a closed ticket opens a new one), or opens a
ticket through the same path as mail and form (:func:`helpdesk.services.tickets.open_ticket`:
the same triage, routing, SLA and reports).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import mimetypes
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.characters import CONTROL_CHARACTERS, one_line, typed_text
from helpdesk.errors import (
    MalformedInput,
    NotSetUp,
    TooLarge,
    Unauthenticated,
)
from helpdesk.files import clean_filename, file_media_type
from helpdesk.json_input import json_object
from helpdesk.mail.mailbox import mailbox_key
from helpdesk.model import (
    EMAIL_MAX,
    TYPED_ADDRESS_FLAG,
    AttachmentMeta,
    Message,
    Ticket,
    proves_its_author,
    takes_follow_ups,
)
from helpdesk.ports import DeliveryCounter, SuppressionList
from helpdesk.post_input import require_media_type
from helpdesk.services.form_intake import (
    NAME_MAX,
    SUBJECT_MAX,
    FieldRefused,
    _text_field,
    writable_address,
)
from helpdesk.services.rate_limits import WindowCounter, client_key, limit_client, limit_rate
from helpdesk.services.self_service import suggester
from helpdesk.services.tickets import (
    NewRequest,
    NoLongerTakesFollowUps,
    customer_follow_up,
    open_ticket,
)
from helpdesk.unit_of_work import (
    AlreadyClaimed,
    Claim,
    TicketChange,
    change_ticket,
    retry_on_conflict,
)

if TYPE_CHECKING:
    from helpdesk.config import ChannelSection, Config
    from helpdesk.knowledge import KnowledgeBase
    from helpdesk.ports import MailStore, TicketUnitOfWork

# The request's headers (lower case, as API Gateway's payload 2.0 gives them).
CHANNEL_HEADER = "x-helpdesk-channel"
TIMESTAMP_HEADER = "x-helpdesk-timestamp"
SIGNATURE_HEADER = "x-helpdesk-signature"
# The scheme a 401 names in its challenge (RFC 9110 section 11.6.1).
SIGNATURE_SCHEME = "Helpdesk-HMAC-SHA256"
SIGNATURE_VERSION = "v1"
# How far a request's timestamp may be from the desk's clock, either way: Slack's and
# Stripe's five minutes. A replay inside the window repeats a message id, which changes
# nothing; a changed body fails the signature.
MAX_CLOCK_SKEW_SECONDS = 300
# A secret shorter than this is a configuration mistake (HMAC-SHA256 wants a key of at
# least its output's length, RFC 2104 section 3): the channel is refused, loudly.
SECRET_MIN_BYTES = 32
# A channel's own identifiers: a message id, a conversation id.
IDENTIFIER_MAX = 128
PHONE_MAX = 32
HANDLE_MAX = 128
FILENAME_MAX = 255
# Of a text without a subject, the subject a new ticket gets: its first line, this long.
SUBJECT_FROM_TEXT = 80
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_PHONE = re.compile(r"\+?[0-9]{3,20}")

KNOWN_FIELDS = frozenset(
    {
        "channel",
        "id",
        "conversation",
        "from",
        "text",
        "language",
        "timezone",
        "subject",
        "attachments",
        "client",
    }
)
FROM_FIELDS = frozenset({"email", "name", "phone", "handle"})
ATTACHMENT_FIELDS = frozenset({"filename", "content_type", "content"})


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (Unix seconds):
    ``v1=`` and the hex HMAC-SHA256 of ``v1:<timestamp>:<body>`` under ``secret``."""
    signed = f"{SIGNATURE_VERSION}:{timestamp}:".encode("ascii") + body
    return f"{SIGNATURE_VERSION}=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def signed_headers(channel: str, secret: bytes, body: bytes, now: datetime) -> dict[str, str]:
    """The headers that prove ``body`` comes from ``channel`` (its secret) at ``now``."""
    timestamp = str(int(now.timestamp()))
    return {
        "content-type": "application/json",
        CHANNEL_HEADER: channel,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


class ChannelMisconfigured(RuntimeError):
    """A channel's secret parameter holds no usable secret: a deployment mistake, not the
    caller's (a 500 and the function errors alarm; the value is never logged)."""


@dataclass
class ChannelSecrets:
    """Each channel's secrets, read through ``read`` (the SSM adapter) the first time a
    request names the channel, then kept for the container's life.

    The parameter holds one secret, or several separated by white space while one is being
    replaced: a request signed with any of them is accepted (docs/CHANNELS.md, rotation).
    """

    read: Callable[[str], bytes]
    # The SSM path the function may read below (template ChannelSecretsPath): a secret kept
    # elsewhere is named as the mistake it is, rather than met with AccessDenied.
    path: str = "/"
    _known: dict[str, tuple[bytes, ...]] = field(default_factory=dict)
    # A parameter that could not be used (missing, unreadable, too short), when
    # (time.monotonic) and why: for NotSetUp.retry_after_seconds nobody's request reads it
    # again, so unsigned requests naming a channel whose secret is not usable cannot turn
    # into one SSM read and one decryption each (SSM's shared read rate; attack 9, F3).
    _failed: dict[str, tuple[float, Exception]] = field(default_factory=dict)

    def __call__(self, parameter: str) -> tuple[bytes, ...]:
        if not parameter.startswith(self.path.rstrip("/") + "/"):
            raise ChannelMisconfigured(
                f"the channel secret {parameter} is not below {self.path}, the SSM path the"
                " function may read (template parameter ChannelSecretsPath)"
            )
        if parameter not in self._known:
            failed = self._failed.get(parameter)
            if failed is not None and time.monotonic() - failed[0] < NotSetUp.retry_after_seconds:
                # The same error again, its old traceback dropped so that it does not grow.
                raise failed[1].with_traceback(None)
            try:
                self._known[parameter] = self._usable(parameter)
            except (NotSetUp, ChannelMisconfigured, PermissionError) as unusable:
                # What a retry cannot mend (missing, too short, not readable). A throttled
                # or timed-out read is not kept: the next request reads again (review8).
                self._failed[parameter] = (time.monotonic(), unusable)
                raise
            self._failed.pop(parameter, None)
        return self._known[parameter]

    def _usable(self, parameter: str) -> tuple[bytes, ...]:
        """The secrets ``parameter`` holds; ChannelMisconfigured when one is too short."""
        secrets = tuple(self.read(parameter).split())
        if not secrets or any(len(secret) < SECRET_MIN_BYTES for secret in secrets):
            raise ChannelMisconfigured(
                f"the SSM parameter {parameter} must hold secrets of at least"
                f" {SECRET_MIN_BYTES} bytes each (docs/CHANNELS.md)"
            )
        return secrets


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    config: Config,
    secrets: Callable[[str], Sequence[bytes]],
    now: datetime,
) -> ChannelSection:
    """The channel that signed this request; :class:`Unauthenticated` naming the header at
    fault otherwise. Every signature given is compared with every secret in constant time
    (``hmac.compare_digest``), so the answer's timing tells nothing about a secret."""

    def refused(header: str, reason: str) -> Unauthenticated:
        return Unauthenticated(header, reason, scheme=SIGNATURE_SCHEME)

    name = headers.get(CHANNEL_HEADER, "").strip()
    if not name:
        raise refused(CHANNEL_HEADER, "is required: the name of the channel sending")
    channel = config.channel(name)
    if channel is None:
        raise refused(CHANNEL_HEADER, "is not a channel of this desk")
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    if not timestamp:
        raise refused(TIMESTAMP_HEADER, "is required: the time of sending, in Unix seconds")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise refused(TIMESTAMP_HEADER, "must be the time of sending in Unix seconds")
    if abs(int(now.timestamp()) - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise refused(
            TIMESTAMP_HEADER,
            f"is more than {MAX_CLOCK_SKEW_SECONDS} seconds from the desk's clock"
            " (a stale or replayed request, or a clock to set right)",
        )
    given = [
        part.strip()
        for part in headers.get(SIGNATURE_HEADER, "").split(",")
        if part.strip().startswith(f"{SIGNATURE_VERSION}=")
    ]
    if not given:
        raise refused(SIGNATURE_HEADER, f"is required: {SIGNATURE_VERSION}=<hex HMAC-SHA256>")
    matched = False
    for secret in secrets(channel.secret):
        expected = sign(secret, timestamp, body).encode("ascii")
        for signature in given[:4]:  # a sender rolling its secret sends two
            matched |= hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
    if not matched:
        raise refused(SIGNATURE_HEADER, "does not match the body under the channel's secret")
    return channel


@dataclass(frozen=True)
class ChannelMessage:
    """A validated message of a channel: every field safe to store and to show."""

    channel: str
    id: str
    conversation: str
    email: str | None
    name: str
    phone: str | None
    handle: str | None
    text: str
    subject: str
    language: str | None = None
    timezone: str | None = None
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    # The end user's device or network as the bridge knows it (a widget visitor's IP
    # address, a device id), as counted (``_client``): per hour, as the form counts its
    # client, because a widget's visitor can be a new handle and conversation with every
    # message.
    client: str | None = None

    @property
    def contact(self) -> str:
        """Who the contact is: their address when the channel knows it, else the channel's
        own name for them, by kind: ``chat:phone:+4930123456`` or ``chat:handle:ann``, so a
        handle that reads like a phone number is never that phone's owner (attack 18,
        A18-9). No mail can reach either, so the desk answers them in the channel's
        response. Handles are compared without case, as contacts are everywhere (and as
        Telegram's usernames are): a bridge whose platform tells users apart by case passes
        its stable user id instead (docs/CHANNELS.md)."""
        if self.email:
            return self.email.lower()
        if self.phone:
            return f"{self.channel}:phone:{self.phone}"
        return f"{self.channel}:handle:{(self.handle or '').lower()}"

    @property
    def claim(self) -> Claim:
        """The message taken in once: its id within its conversation. Messengers number
        messages per chat (Telegram's ``message_id`` is unique only within a chat, a Twilio
        conversation's message ``index`` starts at 0 in each), so an id alone would make the
        first message of a second chat a repeat of the first chat's (attack 18, A18-2).
        The pair is hashed as JSON so that no ``#`` in an id can make two pairs one key."""
        pair = json.dumps([self.conversation, self.id], ensure_ascii=False)
        digest = hashlib.sha256(pair.encode("utf-8")).hexdigest()[:40]
        return Claim("channel_message", f"{self.channel}#{digest}")

    @property
    def conversation_key(self) -> str:
        return f"{self.channel}#{self.conversation}"


def _identifier(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a numeric id (many messengers number their messages)
    text = _text_field({name: value}, name, required=True, max_len=IDENTIFIER_MAX).strip()
    if CONTROL_CHARACTERS.search(text) or "\n" in text or "\r" in text or "\t" in text:
        raise FieldRefused(name, "characters", "must not contain control characters")
    return text


def _client(given: str) -> str:
    """The client a bridge names, as it is counted: an IP address, bare or as
    ``ip:<address>``, as the form's client is (an IPv6 address by its /64, one
    subscriber's); anything else as given, without case. At most IDENTIFIER_MAX
    characters (``_identifier``), so it keys a counter as it is."""
    return client_key(given[3:] if given[:3].lower() == "ip:" else given)


def validate_message(body: Any, channel: str, config: Config) -> ChannelMessage:
    """Check a channel's message; :class:`InvalidInput` names the first bad field and why
    (:class:`TooLarge` for a text or file over its limit)."""
    if not isinstance(body, Mapping):
        raise MalformedInput("body", "must be a JSON object")
    unknown = sorted(k for k in body if k not in KNOWN_FIELDS)
    if unknown:
        raise FieldRefused(str(unknown[0]), "unknown", "is not a field of a channel message")
    named = body.get("channel")
    if named is not None and named != channel:
        raise FieldRefused("channel", "choice", f"names another channel than {CHANNEL_HEADER}")
    message_id = _identifier(body, "id")
    conversation = _identifier(body, "conversation")
    sender = body.get("from")
    if not isinstance(sender, Mapping):
        raise FieldRefused("from", "required", "must be an object with email, phone or handle")
    unknown = sorted(k for k in sender if k not in FROM_FIELDS)
    if unknown:
        raise FieldRefused(f"from.{unknown[0]}", "unknown", "is not a field of from")
    email = one_line(_text_field(sender, "email", required=False, max_len=EMAIL_MAX)).strip()
    if email and not writable_address(email):
        raise FieldRefused("from.email", "email", "is not a valid email address")
    name = one_line(_text_field(sender, "name", required=False, max_len=NAME_MAX))
    phone = one_line(_text_field(sender, "phone", required=False, max_len=PHONE_MAX))
    phone = _PHONE_PUNCTUATION.sub("", phone)
    if phone and not _PHONE.fullmatch(phone):
        raise FieldRefused("from.phone", "characters", "is not a phone number")
    handle = one_line(_text_field(sender, "handle", required=False, max_len=HANDLE_MAX))
    if not (email or phone or handle):
        raise FieldRefused("from", "required", "needs an email, a phone or a handle")
    text_limit = config.limits.channel_message_max_chars
    raw_text = body.get("text")
    if isinstance(raw_text, str) and len(raw_text) > text_limit:
        raise TooLarge("text", f"is too long (at most {text_limit} characters)")
    text = typed_text(_text_field(body, "text", required=True, max_len=text_limit))
    subject = one_line(_text_field(body, "subject", required=False, max_len=SUBJECT_MAX))
    if not subject:
        first_line = one_line(text.strip().split("\n", 1)[0])
        cut = len(first_line) > SUBJECT_FROM_TEXT
        subject = first_line[:SUBJECT_FROM_TEXT].rstrip() + ("…" if cut else "")
    language = one_line(_text_field(body, "language", required=False, max_len=8)).lower() or None
    if language is not None and language not in config.helpdesk.languages:
        language = None  # a language the desk does not serve falls back, as on the form
    from helpdesk.render import known_timezone

    return ChannelMessage(
        channel=channel,
        id=message_id,
        conversation=conversation,
        email=email or None,
        name=name or handle or phone,
        phone=phone or None,
        handle=handle or None,
        text=text,
        subject=subject or "(no subject)",
        language=language,
        timezone=known_timezone(body.get("timezone")),
        attachments=_attachments(body.get("attachments"), config),
        client=None if body.get("client") is None else _client(_identifier(body, "client")),
    )


def _attachments(value: Any, config: Config) -> tuple[tuple[str, str, bytes], ...]:
    """``[{filename, content_type?, content (base64)}]``: each within the desk's attachment
    limits (RFC 4648 section 4 base64)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldRefused("attachments", "text", "must be a list of files")
    limits = config.limits
    if len(value) > limits.attachments_max_count:
        raise FieldRefused(
            "attachments",
            "too_long",
            f"has too many files (at most {limits.attachments_max_count})",
        )
    files = []
    for index, item in enumerate(value):
        where = f"attachments[{index}]"
        if not isinstance(item, Mapping):
            raise FieldRefused(where, "text", "must be an object with filename and content")
        unknown = sorted(k for k in item if k not in ATTACHMENT_FIELDS)
        if unknown:
            raise FieldRefused(f"{where}.{unknown[0]}", "unknown", "is not a field of a file")
        filename = clean_filename(
            _text_field(item, "filename", required=True, max_len=FILENAME_MAX),
            fallback=f"attachment-{index + 1}",
        )
        declared = _text_field(item, "content_type", required=False, max_len=255).strip()
        content_type = file_media_type(declared)
        if declared and content_type is None:
            raise FieldRefused(f"{where}.content_type", "characters", "is not a media type")
        # Its size is bounded by the body's (channel_body_max_bytes), checked before.
        content = _text_field(item, "content", required=True, max_len=limits.channel_body_max_bytes)
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise FieldRefused(f"{where}.content", "characters", "is not base64") from None
        if len(data) > limits.attachment_max_bytes:
            raise TooLarge(
                f"{where}.content", f"is too large (at most {limits.attachment_max_bytes} bytes)"
            )
        guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        files.append((filename, content_type or guessed, data))
    return tuple(files)


class ChannelRecords(SuppressionList, DeliveryCounter, WindowCounter, Protocol):
    """What the channels' route keeps beside the tickets: the channel's and the contact's
    rate limits, the acknowledgement caps, and the listing of unanswered messages."""


@dataclass(frozen=True)
class MessageDesk:
    """The channels' route: a signed request from its raw body to a ticket's message."""

    uow: TicketUnitOfWork
    repo: ChannelRecords
    config: Config
    store: MailStore
    # The secrets of a channel's parameter (:class:`ChannelSecrets` over the SSM adapter).
    secrets: Callable[[str], Sequence[bytes]]
    # The knowledge base, loaded on the first new ticket: a new conversation is offered
    # articles like a mail or the form (the acknowledgement, and the answer's ``articles``).
    knowledge: Callable[[], KnowledgeBase] | None = None

    def post(
        self,
        *,
        body: str | None,
        is_base64_encoded: bool | None,
        headers: Mapping[str, str],
        now: datetime,
    ) -> dict[str, Any]:
        """Prove, validate and take in one POST; errors are :class:`Unauthenticated` (401),
        :class:`InvalidInput` and its kinds (400, 413, 415, 422) or RateLimited (429)."""
        headers = {name.lower(): value for name, value in headers.items()}
        require_media_type(headers.get("content-type", ""), "application/json")
        from helpdesk.post_input import request_bytes

        raw = request_bytes(body, is_base64_encoded=is_base64_encoded)
        limit = self.config.limits.channel_body_max_bytes
        if len(raw) > limit:
            raise TooLarge("body", f"is too large (at most {limit} bytes)")
        # The signature first, on the bytes as sent: an unproven request costs no write.
        channel = verify(headers, raw, config=self.config, secrets=self.secrets, now=now)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedInput("body", "is not UTF-8 text") from None
        message = validate_message(json_object(text, max_bytes=limit), channel.name, self.config)
        return self.take_in(message, now=now)

    def take_in(self, message: ChannelMessage, *, now: datetime) -> dict[str, Any]:
        """The message on its conversation's ticket (or a new one); the same message id
        again changes nothing and answers with the same ticket."""
        taken = self.uow.claimed([message.claim])
        if taken is not None:
            return self.answer(self.uow.load(taken), message)
        limits = self.config.limits
        # The narrow caps first, the channel's last: a message refused by its client's or
        # contact's cap must not spend the channel's hour, which all its customers share
        # (a hit is counted whenever the count is under the limit; review 10, #1).
        if message.client is not None:
            limit_client(
                self.repo,
                message.client,
                scope=f"CHANNEL-CLIENT#{message.channel}",
                network_scope=f"CHANNEL-NET#{message.channel}",
                limit=limits.channel_per_client_per_hour,
                per_network=self.config.limits.clients_per_network,
                what="client",
                now=now,
            )
        # The contact's cap keeps one customer (or one forged sender) from flooding a team.
        contact = mailbox_key(message.email) if message.email else message.contact
        limit_rate(
            self.repo,
            f"CHANNEL-CONTACT#{message.channel}#{contact}",
            limit=limits.channel_per_contact_per_hour,
            what="contact",
            now=now,
        )
        # A channel posts for all its customers: its own cap is the client's.
        limit_rate(
            self.repo,
            f"CHANNEL#{message.channel}",
            limit=limits.channel_messages_per_hour,
            what="channel",
            now=now,
        )
        stored = self._store_attachments(message)

        def attempt() -> Ticket:
            try:
                return self._deliver(message, stored, now)
            except AlreadyClaimed:
                first = self.uow.claimed([message.claim])
                if first is not None:  # the same message, taken in meanwhile
                    return self.uow.load(first)
                raise  # the conversation moved on meanwhile: look again

        ticket = retry_on_conflict(
            attempt, retry=(AlreadyClaimed, NoLongerTakesFollowUps), what=message.conversation_key
        )
        if "spoofed" in ticket.flags:
            # Listed for the ops view as a spoofed mail is (one entry per message).
            self._list_suppressed(message, ticket.ref, "spoofed", now)
        return self.answer(ticket, message)

    # ------------------------------------------------------------------ the ticket
    def _deliver(
        self, message: ChannelMessage, attachments: tuple[AttachmentMeta, ...], now: datetime
    ) -> Ticket:
        flags: tuple[str, ...] = ()
        linked_to: str | None = None
        claims = [message.claim]
        if self._spoofed(message):
            # A staff address is never a customer's, whatever the channel vouches for: one
            # of the desk's or its staff's is treated as an unauthenticated mail from it
            # (email_intake: flag spoofed, nobody acknowledged, no SLA clock, not routed),
            # and it joins no conversation.
            flags = ("spoofed",)
        else:
            pointer = message.conversation_key
            current = self.uow.claimed([Claim("conversation", pointer)])
            ticket = self.uow.find(current) if current is not None else None
            # A conversation that goes on after its ticket closed, or once it holds its
            # most messages (helpdesk.model.takes_follow_ups): a new ticket, linked.
            linked_to = current
            if ticket is not None and not ticket.involves(message.contact):
                # The conversation belongs to its ticket's contact. Another sender in it (a
                # group chat, a guessed or replayed conversation id) is an outsider, as a
                # mail naming a ticket its sender takes no part in (email_intake._thread):
                # their messages go on in a ticket of their own, linked, never into hers.
                flags, linked_to = ("outsider",), ticket.ref
                pointer = f"{message.conversation_key}#{message.contact}"
                current = self.uow.claimed([Claim("conversation", pointer)])
                ticket = self.uow.find(current) if current is not None else None
                if ticket is not None and not ticket.involves(message.contact):
                    ticket = None  # only ever their own ticket
            # In the share the message counts in, by the rule customer_follow_up applies.
            proven = proves_its_author(self._message(message, attachments, now))
            if ticket is not None and takes_follow_ups(ticket, proven=proven):
                return self._append(ticket.ref, message, attachments, now)
            claims.append(Claim("conversation", pointer, current or ""))
        # The usual acknowledgement goes to an address; without one the answer to this
        # request carries the reference and the promise. Mail intake's hourly caps per
        # mailbox and domain hold here too (attack 3, F3); a message past them is listed
        # as a mail past them is (loop_limit).
        answerable = message.email is not None and "spoofed" not in flags
        notify = answerable and self._within_ack_limit(message, now)
        opened = open_ticket(
            NewRequest(
                channel=message.channel,
                subject=message.subject,
                text=message.text,
                contact_email=message.contact,
                contact_name=message.name,
                language=message.language,
                # Nothing a forged staff sender says is stored for that address.
                timezone=None if "spoofed" in flags else message.timezone,
                linked_to=linked_to,
                flags=flags,
            ),
            uow=self.uow,
            config=self.config,
            now=now,
            first_message=self._message(message, attachments, now),
            claims=claims,
            notify=notify,
            acknowledgement_counted=notify,
            suggest=suggester(self.knowledge, self.config),
        )
        if answerable and not notify:
            self._list_suppressed(message, opened.ref, "loop_limit", now)
        return opened

    def _within_ack_limit(self, message: ChannelMessage, now: datetime) -> bool:
        from helpdesk.services.acknowledgement_caps import within_ack_limit

        # A channel proves no address unless its users signed in with it (verifies_email):
        # otherwise the bridge passes on what its visitor typed.
        return within_ack_limit(
            self.repo,
            self.config,
            message.contact,
            _message_key(message),
            now,
            kind="channel",
            authenticated=not self._typed_address_flags(message),
        )

    def _list_suppressed(
        self, message: ChannelMessage, ref: str, reason: str, now: datetime
    ) -> None:
        """List the message among the suppressed for the ops view, as a mail is (one
        entry per message: its key, not a raw mail)."""
        self.repo.record_suppressed(
            at=now,
            reason=reason,
            sender=message.contact,
            subject=message.subject,
            raw_key=None,
            ref=ref,
            message_id=_message_key(message),
        )

    def _spoofed(self, message: ChannelMessage) -> bool:
        from helpdesk.mail.robots import claims_internal

        return message.email is not None and claims_internal(
            message.email,
            own_domain=self.config.helpdesk.mail_domain,
            agent_emails=self.config.staff_emails,
        )

    def _append(
        self,
        ref: str,
        message: ChannelMessage,
        attachments: tuple[AttachmentMeta, ...],
        now: datetime,
    ) -> Ticket:
        """A customer's message on the conversation's open ticket, as a mail reply: it
        reopens a solved ticket, restarts the next-response clock, reaches the assignee."""
        item = self._message(message, attachments, now, ref=ref)

        def follow_up(current: Ticket) -> TicketChange:
            # The one path a mail reply and a reply from the customer's page take too; closed
            # or filled meanwhile, it refuses, and the message is delivered again (_deliver
            # then opens the conversation's next ticket).
            return customer_follow_up(
                current, item, now=now, config=self.config, claims=[message.claim]
            )

        return change_ticket(self.uow, ref, follow_up)

    def _message(
        self,
        message: ChannelMessage,
        attachments: tuple[AttachmentMeta, ...],
        now: datetime,
        *,
        ref: str = "",
    ) -> Message:
        return Message(
            id=_message_key(message),
            ticket=ref,
            direction="in",
            author=message.contact,
            author_name=message.name,
            at=now,
            text=message.text,
            subject=message.subject,
            attachments=attachments,
            # Nothing scanned the channel's files (SES scans a mail's): the relay to the
            # agent lists them, kept with the ticket, and attaches none (docs/SECURITY.md).
            flags=(("unscanned",) if attachments else ()) + self._typed_address_flags(message),
            channel=message.channel,
        )

    def _typed_address_flags(self, message: ChannelMessage) -> tuple[str, ...]:
        """The flag of an address the channel's visitor typed (model.TYPED_ADDRESS_FLAG);
        a handle is the channel's own to vouch for, in its own namespace."""
        channel = self.config.channel(message.channel)
        verified = channel is not None and channel.verifies_email
        return (TYPED_ADDRESS_FLAG,) if message.email is not None and not verified else ()

    def _store_attachments(self, message: ChannelMessage) -> tuple[AttachmentMeta, ...]:
        """Each file in S3 under the message's key (known before the ticket's reference, as
        email intake keeps a mail's files; a retried request writes the same objects)."""
        key = _message_key(message)
        return tuple(
            AttachmentMeta(
                filename=filename,
                content_type=content_type,
                size=len(data),
                key=self.store.write(f"attachments/{key}/{number}-{filename}", data, content_type),
            )
            for number, (filename, content_type, data) in enumerate(message.attachments, start=1)
        )

    # ------------------------------------------------------------------ the answer
    def answer(self, ticket: Ticket, message: ChannelMessage) -> dict[str, Any]:
        """What the channel shows its customer: the reference and the promise, as an ISO
        time and as a sentence in the ticket's language and the request's zone (else the
        desk's), and whether the desk also answers them by mail."""
        from helpdesk.notices import audience
        from helpdesk.render import format_local_datetime, language_words

        due_at = ticket.sla.next_answer_due() if ticket.sla else None
        due = due_at.isoformat() if due_at is not None else None
        language = audience.customer_language(ticket.language, self.config)
        words = language_words(
            "channel_intake", language, fallback_language=self.config.default_language
        )
        if due_at is not None:
            # The request's own zone, else the desk's: never the zone stored for the
            # contact, which would tell anyone typing an address into a chat whether it is
            # a customer's and where she lives (attack 18, A18-4).
            zone = message.timezone or audience.ticket_timezone(ticket.policy, self.config)
            promised = format_local_datetime(due_at, zone, language)
            promise = str(words["promised"]).format(ref=ticket.ref, promised_by=promised)
        else:
            promise = str(words["soon"]).format(ref=ticket.ref)
        return {
            "ref": ticket.ref,
            "status": ticket.status,
            "priority": ticket.priority,
            "language": ticket.language,
            "promised_by": due,
            "promise": promise,
            # A spoofed staff address is never mailed (the desk's own mail domain).
            "by_email": not audience.unreachable_channel(ticket) and "spoofed" not in ticket.flags,
            "articles": self._articles(ticket),
        }

    def _articles(self, ticket: Ticket) -> list[dict[str, str]]:
        """The articles the new ticket was offered, for the channel to show its caller:
        slug, title in the ticket's language, and the help centre's page when one is
        published (docs/KNOWLEDGE.md)."""
        if not ticket.suggested or self.knowledge is None:
            return []
        knowledge = self.knowledge()
        shown: list[dict[str, str]] = []
        for slug in ticket.suggested:
            article = knowledge.article(slug, ticket.language)
            if article is None:
                continue
            entry = {"slug": slug, "title": article.title}
            page = self.config.knowledge.help_centre_page(ticket.language, slug)
            if page is not None:
                entry["url"] = page
            shown.append(entry)
        return shown


def _message_key(message: ChannelMessage) -> str:
    # Deterministic: a retried request writes the same message item and the same files.
    return "chan-" + hashlib.sha256(message.claim.key.encode("utf-8")).hexdigest()[:20]


__all__ = [
    "CHANNEL_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ChannelMessage",
    "ChannelMisconfigured",
    "ChannelSecrets",
    "MessageDesk",
    "sign",
    "signed_headers",
    "validate_message",
    "verify",
]
