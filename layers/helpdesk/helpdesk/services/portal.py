"""The customer's page: one ticket seen and answered by its contact, through a signed link.

Every mail to a customer about a ticket carries ``{public_url}/ticket/{token}``
(helpdesk.notices.desk.Notifier.render): the token names the ticket's reference, expires
after ``portal.link_ttl`` and is signed under the desk's key for the purpose ``ticket``
(helpdesk.links), so it opens that ticket's page and nothing else. Holding the link is
holding the ticket, as holding the mailbox is: the page acts as the ticket's contact.

What the page shows and takes (docs/SECURITY.md, "The customer's page"):

- a GET shows, and changes nothing (mail scanners open every link in a mail): the status
  in words, what was promised and by when in the customer's zone, the conversation
  without internal notes, the files (downloaded through the page's own link, read from
  S3 by the function: no object is ever public), and the contact's other tickets, each
  with a link of its own;
- a POST acts, as the contact: ``reply`` is a customer message exactly as by email
  (helpdesk.services.tickets.customer_follow_up: it reopens, relays to the assignee and
  restarts the clocks), with ``channel: "portal"``; ``solved`` solves the ticket;
  ``complain`` hands the customer's words to the complaint desk;
- ``/ticket`` (no token) mails a fresh link for each of a contact's recent tickets to
  the address given, and answers the same page whether the address is known or not.

A forged, altered or expired link gets :class:`~helpdesk.links.LinkRefused` (a 403 page)
before anything is read or counted.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from functools import partial
from typing import TYPE_CHECKING, Protocol

from helpdesk.characters import typed_text
from helpdesk.errors import (
    HelpdeskError,
    InvalidInput,
    MalformedInput,
    NotFound,
    StateConflict,
    TooLarge,
    UnsupportedMediaType,
)
from helpdesk.events import PageLinksRequested, status_changes
from helpdesk.files import (
    DownloadedFile,
    attachment_numbered,
    clean_filename,
    file_media_type,
    servable,
)
from helpdesk.links import LinkDesk, LinkKind, reference
from helpdesk.mail.compose import valid_address
from helpdesk.mail.mailbox import mailbox_key
from helpdesk.model import (
    ACTIVE_STATUSES,
    EMAIL_MAX,
    AttachmentMeta,
    Message,
    reads_unverified,
    takes_follow_ups,
)
from helpdesk.ports import ThreadTail, TicketFinder
from helpdesk.post_input import FORM_URLENCODED, form_fields, require_media_type
from helpdesk.services.clocks import Change, apply
from helpdesk.services.rate_limits import WindowCounter, client_key, limit_client, limit_rate
from helpdesk.services.tickets import NoLongerTakesFollowUps, customer_follow_up, page_message
from helpdesk.unit_of_work import AlreadyClaimed, Claim, TicketChange, change_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Contact, Ticket
    from helpdesk.ports import MailStore

logger = logging.getLogger(__name__)

# The purpose a page token is signed for (helpdesk.links): it never opens a survey.
PAGE_LINK = "ticket"
PAGE: LinkKind[str] = LinkKind(PAGE_LINK, reference, str)
ACTIONS = ("reply", "solved", "complain")
SUBMISSION_MAX = 64
# The parts of the page's form besides its files (action, submission, text, an empty file
# input, and room for what a browser adds): a post of more parts is refused unparsed.
FORM_FIELDS_MAX = 8
_SUBMISSION = re.compile(rf"[A-Za-z0-9_-]{{8,{SUBMISSION_MAX}}}")


# ---------------------------------------------------------------------- links
def page_token(
    ref: str, *, now: datetime, config: Config, key: bytes, not_after: datetime | None = None
) -> str:
    """A page token for ``ref`` that verifies for ``portal.link_ttl`` from ``now``, and
    not past ``not_after`` (the expiry of the link a page was opened with)."""
    expires = now + config.portal.link_ttl
    return PAGE.make(ref, min(expires, not_after or expires), key)


def page_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/ticket/{token}"


def verify_page_token(token: str, key: bytes, *, now: datetime) -> str:
    """The ticket reference of a genuine, unexpired page token; :class:`LinkRefused`
    otherwise."""
    return read_page_token(token, key, now=now)[0]


def read_page_token(token: str, key: bytes, *, now: datetime) -> tuple[str, datetime]:
    """The ticket reference of a genuine, unexpired page token and when it expires;
    :class:`LinkRefused` otherwise."""
    return PAGE.read(token, key, now=now)


def page_link_words(
    ref: str, language: str, *, public_url: str, config: Config, key: bytes, now: datetime
) -> dict[str, str]:
    """The link to ``ref``'s page as a mail shows it: ``url``, the HTML ``label`` and the
    text's ``line``, in ``language`` (``[portal]`` of its words)."""
    from helpdesk.render import language_words

    url = page_url(public_url, page_token(ref, now=now, config=config, key=key))
    words = language_words("portal", language, fallback_language=config.default_language)
    return {
        "url": url,
        "label": str(words["mail_link"]),
        "line": str(words["mail_link_line"]).replace("{url}", url),
    }


# ---------------------------------------------------------------------- views
@dataclass(frozen=True)
class FileLink:
    """A file of a message as the page lists it: ``number`` (from 1) names it in the
    download path, None when it cannot be downloaded here (dropped, or too large; or
    ``held``: a file the relay would not attach either, kept with the ticket)."""

    filename: str
    size: int
    number: int | None
    held: bool = False


@dataclass(frozen=True)
class ShownMessage:
    """One message of the conversation as the customer sees it."""

    id: str
    mine: bool  # written by the contact
    author: str  # who wrote it, as the page names them
    at: datetime
    text: str
    files: tuple[FileLink, ...]
    # The desk's answer (direction "out"), shown as the desk's; nothing that came in is.
    from_desk: bool = False
    # The text is the start of a longer one (the whole is in the mail).
    cut: bool = False
    # In the contact's name, but SES did not authenticate it for her domain: anyone could
    # have written it, so it is not shown as hers (attack 16, F2).
    in_your_name: bool = False
    # A message from the customer's side in another's name that SES did not authenticate.
    unverified: bool = False


@dataclass(frozen=True)
class OtherTicket:
    ref: str
    subject: str
    status: str
    created_at: datetime
    token: str


@dataclass(frozen=True)
class PortalView:
    """What the page of one ticket shows."""

    ticket: Ticket
    token: str
    messages: list[ShownMessage]
    others: list[OtherTicket]
    # The customer's zone: their browser's (kept on the contact), else the promise's.
    timezone: str
    # The next answer or the resolution the desk promised, and by when (None: no clock).
    promise: tuple[str, datetime] | None
    # The page's form submissions are claimed once: a browser's second post changes nothing.
    submission: str
    notice: str | None = None
    # The older messages of the conversation the page leaves out (beyond
    # message_bodies.THREAD_MESSAGES_MAX, or beyond the text one response can carry).
    older_messages: int = 0

    @property
    def open_to_actions(self) -> bool:
        """A reply, "solved" and a complaint are taken while the ticket is not closed."""
        return self.ticket.status != "closed"

    @property
    def open_to_replies(self) -> bool:
        """A reply is taken while the ticket takes follow-ups (not closed, not holding its
        most messages: helpdesk.model.MESSAGES_IN_MAX)."""
        return takes_follow_ups(self.ticket)


def _refuse_a_reply_unless_taken(ticket: Ticket) -> None:
    """FormProblem unless ``ticket`` takes a reply from the page: not closed, and with room
    in its thread (a mail goes on in a new ticket linked to it: email_intake)."""
    if ticket.status == "closed":
        raise FormProblem(StateConflict("this request is closed"), "closed")
    if not takes_follow_ups(ticket):
        raise FormProblem(StateConflict("this request holds its most messages"), "full")


class Complaints(Protocol):
    """The complaint desk (helpdesk.services.complaints)."""

    def complain(self, ref: str, text: str, *, now: datetime, source: str) -> Ticket: ...


@dataclass(frozen=True)
class Posted:
    """A parsed form post of the page."""

    action: str
    text: str
    submission: str
    files: list[tuple[str, str, bytes]] = field(default_factory=list)


class FormProblem(HelpdeskError):
    """Why the page's form was not taken: ``error`` (its class gives the HTTP status, its
    field and reason the English detail), ``rule`` (the key of the words that say it to the
    customer, ``[portal.errors]``) and the ``limit`` broken, if any."""

    def __init__(self, error: HelpdeskError, rule: str, limit: int | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.rule = rule
        self.limit = limit
        # The form it came from and what was written in it, once the post was read that far.
        self.action = ""
        self.text = ""


class PostRefused(HelpdeskError):
    """A post the page did not take: ``problem`` says why, ``view`` is the page to show
    again, ``action`` the form that was posted and ``text`` what was written in it."""

    def __init__(self, problem: FormProblem, view: PortalView, action: str, text: str) -> None:
        super().__init__(str(problem))
        self.problem = problem
        self.view = view
        self.action = action
        self.text = text


# ---------------------------------------------------------------------- the desk
# The newest messages a download looks among: the page lists the newest 50 of the
# customer's side (message_bodies.THREAD_MESSAGES_MAX), with the notes between them.
DOWNLOAD_LOOKUP_MAX = 200


class PortalRecords(TicketFinder, WindowCounter, Protocol):
    """What the customer's page reads beside the unit of work (the ticket's contact and
    conversation, the contact's other tickets), its hourly counters, and the requests for
    fresh page links."""

    def get_contact(self, email: str) -> Contact | None: ...

    def message(self, ref: str, message_id: str, *, newest: int | None = None) -> Message | None:
        """One message of the ticket, by its id, without reading the thread whole."""
        ...

    def thread_tail(
        self, ref: str, *, count: int, before: str | None = None, customer_side: bool = False
    ) -> ThreadTail | None:
        """The newest ``count`` messages (before ``before``) and how many older ones."""
        ...

    def contact_tickets(self, email: str, *, limit: int = 6) -> list[Ticket]: ...

    def request_page_links(self, event: PageLinksRequested, *, now: datetime) -> None:
        """Record a request for fresh page links; the bus carries it on (the outbox)."""
        ...


@dataclass(frozen=True)
class PortalDesk(LinkDesk):
    """The customer's page: a ticket's view, its actions, its files, and re-sent links."""

    repo: PortalRecords
    store: MailStore
    # The complaint desk, built only when a complaint comes (helpdesk.composition).
    complaints: Callable[[], Complaints] | None = None

    # ------------------------------------------------------------------ reading
    def view(self, token: str, *, now: datetime, notice: str | None = None) -> PortalView:
        """The page of a genuine link; reads only. :class:`LinkRefused` otherwise."""
        return self._view(self._ticket(token, now), token, now=now, notice=notice)

    def _view(
        self, ticket: Ticket, token: str, *, now: datetime, notice: str | None = None
    ) -> PortalView:
        from helpdesk.notices.audience import customer_timezone, ticket_timezone

        contact = self.repo.get_contact(ticket.contact_email)
        zone = customer_timezone(contact, ticket_timezone(ticket.policy, self.config))
        messages, older = self._conversation(ticket)
        return PortalView(
            ticket=ticket,
            token=token,
            messages=messages,
            older_messages=older,
            others=self._others(ticket, token, now),
            timezone=zone,
            promise=_promise(ticket),
            submission=hashlib.sha256(
                f"{token}:{ticket.version}:{now.isoformat()}".encode()
            ).hexdigest()[:32],
            notice=notice,
        )

    def _conversation(self, ticket: Ticket) -> tuple[list[ShownMessage], int]:
        """The newest messages the page shows (oldest first), each cut to
        message_bodies.SHOWN_TEXT_MAX_BYTES, within THREAD_TEXT_MAX_BYTES in all, and how
        many older ones it leaves out: a conversation of long mails, forged or pasted
        logs, had put the page over Lambda's 6 MB response (attack 8, F1)."""
        from helpdesk.notices.audience import agent_name
        from helpdesk.services.message_bodies import THREAD_MESSAGES_MAX, newest_shown

        # Internal notes never reach the page: only what went to or came from the customer.
        # Nor does mail machines wrote (bounces, auto-replies): whoever knows one of the
        # desk's Message-IDs can file a "bounce" on the ticket (attack 3, F4); the agents
        # still see it with the ticket.
        # Only the newest are read (attack 12, F2: some 3,000 forged follow-ups had made a
        # view read 37 MB); the older ones are counted where they are.
        tail = self.repo.thread_tail(ticket.ref, count=THREAD_MESSAGES_MAX, customer_side=True)
        assert tail is not None  # no message is named, so the thread is found
        thread = newest_shown(tail.messages, self.store.read)
        messages = []
        for shown in thread.messages:
            message = shown.message
            hers = message.direction == "in" and message.author == ticket.contact_email.lower()
            unproven = "unauthenticated" in message.flags
            if message.direction == "out":
                author = agent_name(message.author, self.config)
            else:
                # Anyone on the customer's side (a person copied in, a chat's other
                # member) is named by the address the message came from: the name they
                # gave is theirs to choose ("Example Support Team") and never shown as
                # the desk's (attack A18-3).
                author = message.author
            messages.append(
                ShownMessage(
                    id=message.id,
                    mine=hers and not unproven,
                    in_your_name=hers and unproven,
                    # In anyone else's name (a person she copied in): marked so too
                    # (review 18, #4).
                    unverified=reads_unverified(message) and not hers and message.direction == "in",
                    author=author,
                    at=message.at,
                    text=message.text,
                    files=tuple(_file_links(message, ticket)),
                    from_desk=message.direction == "out",
                    cut=shown.cut,
                )
            )
        return messages, tail.older + thread.older

    def _others(self, ticket: Ticket, token: str, now: datetime) -> list[OtherTicket]:
        """The contact's other tickets (newest first), each with its own link. Not
        on a ticket with participants: its mail went to people the contact copied in,
        who must not see the contact's other requests. Their links expire when the link
        of this page does, if sooner than ``portal.link_ttl``: else each view would mint
        fresh links, and two tickets' pages would renew each other's for ever (a leaked
        link would never expire)."""
        wanted = self.config.portal.other_tickets
        if not wanted or ticket.participants:
            return []
        # The token was verified when the page was opened; read again for its expiry.
        _, presented_expires = read_page_token(token, self.signing_key, now=now)
        found = self.repo.contact_tickets(ticket.contact_email, limit=wanted + 1)
        return [
            OtherTicket(
                ref=other.ref,
                subject=other.subject,
                status=other.status,
                created_at=other.created_at,
                token=page_token(
                    other.ref,
                    now=now,
                    config=self.config,
                    key=self.signing_key,
                    not_after=presented_expires,
                ),
            )
            for other in found
            # The index is the contact's own: a ticket of anyone else cannot appear, but
            # the check is cheap and says what the list is.
            if other.ref != ticket.ref
            and other.contact_email.lower() == ticket.contact_email.lower()
        ][:wanted]

    def download(self, token: str, number: str, *, now: datetime) -> DownloadedFile:
        """File ``number`` (``<message id>-<n>``) of the ticket's conversation, as the page
        lists it; :class:`NotFound` for anything else (a note's file is never served).
        Looked for among the newest DOWNLOAD_LOOKUP_MAX messages only, room for the
        THREAD_MESSAGES_MAX of the customer's side the page lists among notes: a number
        naming no message had read the whole conversation, some 1,200 messages, at will
        (attack 20 F3b, attack 21 F4)."""
        ticket = self._ticket(token, now)
        lookup = partial(self.repo.message, ticket.ref, newest=DOWNLOAD_LOOKUP_MAX)
        message, meta = attachment_numbered(number, lookup)
        if message.direction not in ("in", "out") or not _downloadable(meta, message, ticket):
            raise NotFound("file")
        assert meta.key is not None  # servable
        return DownloadedFile(meta.filename, meta.content_type, self.store.read(meta.key))

    # ------------------------------------------------------------------ acting
    def act(
        self, token: str, body: bytes, content_type: str, *, source_ip: str, now: datetime
    ) -> tuple[str, PortalView]:
        """:meth:`perform`, and the page after it."""
        action, done = self.perform(token, body, content_type, source_ip=source_ip, now=now)
        return action, self._view(done, token, now=now, notice=action)

    def perform(
        self, token: str, body: bytes, content_type: str, *, source_ip: str, now: datetime
    ) -> tuple[str, Ticket]:
        """Do what the page's form asked (its ``action``) as the ticket's contact; the
        action done and the ticket after it. The page itself is not built: the HTTP edge
        answers a done post with a redirect, and the browser's GET builds it (each build
        reads the conversation and its files). :class:`LinkRefused` (before anything
        else), :class:`PostRefused` (the page again, naming the field),
        :class:`RateLimited`."""
        ticket = self._ticket(token, now)
        # Counted before the body is read: a refused post costs the client its hit too, so
        # refusals (and their parsing) are no free way round the limit (attack A18-6). The
        # ticket's hit too: posts from many addresses, each refused, still use up its hour
        # (attack 3, F1).
        limit_client(
            self.repo,
            client_key(source_ip),
            scope="PORTAL-IP",
            network_scope="PORTAL-NET",
            limit=self.config.portal.actions_per_ip_per_hour,
            per_network=self.config.limits.clients_per_network,
            what="address",
            now=now,
        )
        self._limit(
            f"PORTAL#{mailbox_key(ticket.contact_email)}",
            self.config.portal.actions_per_contact_per_hour,
            "ticket",
            now,
        )
        try:
            posted = self._parse(body, content_type)
        except FormProblem as problem:
            view = self._view(ticket, token, now=now)
            raise PostRefused(problem, view, action=problem.action, text=problem.text) from None
        try:
            if posted.action == "reply":
                _refuse_a_reply_unless_taken(ticket)
                done = self._reply(ticket, posted, now)
            elif ticket.status == "closed" and posted.action != "complain":
                raise FormProblem(StateConflict("this request is closed"), "closed")
            elif posted.action == "solved":
                done = self._solve(ticket, now)
            else:
                done = self._complain(ticket, posted, now)
        except FormProblem as problem:
            view = self._view(ticket, token, now=now)
            raise PostRefused(problem, view, action=posted.action, text=posted.text) from None
        return posted.action, done

    def _reply(self, ticket: Ticket, posted: Posted, now: datetime) -> Ticket:
        if not posted.text and not posted.files:
            raise FormProblem(InvalidInput("text", "is required (or a file)"), "text_required")
        message_key = (
            "portal-"
            + hashlib.sha256(f"{ticket.ref}:{posted.submission}".encode()).hexdigest()[:20]
        )
        if self.repo.message(ticket.ref, message_key) is not None:
            # A form posted again (a retry, a replay of an old post): taken once, and its
            # files are never written again over the ones the message already names.
            return ticket
        stored = []
        for number, (filename, content_type, data) in enumerate(posted.files, start=1):
            # Keyed by the bytes too: two posts with one submission racing past the check
            # above write apart (the loser's objects are orphans), never over each other.
            digest = hashlib.sha256(data).hexdigest()[:16]
            key = self.store.write(
                f"attachments/{message_key}/{number}-{digest}-{filename}", data, content_type
            )
            stored.append(AttachmentMeta(filename, content_type, len(data), key=key))
        message = page_message(
            ticket,
            posted.text,
            id=message_key,
            at=now,
            channel="portal",
            attachments=tuple(stored),
        )
        claims = [Claim("submission", f"portal:{ticket.ref}:{posted.submission}")]

        def follow_up(current: Ticket) -> TicketChange:
            return customer_follow_up(current, message, now=now, config=self.config, claims=claims)

        try:
            return change_ticket(self.uow, ticket.ref, follow_up)
        except NoLongerTakesFollowUps as meanwhile:
            # Closed or filled since the page read it (review 17, #4): refused as it would
            # have been a moment later.
            _refuse_a_reply_unless_taken(meanwhile.ticket)
            raise
        except AlreadyClaimed:
            # The same form posted twice (a double tap, a retried request): done once.
            return self.uow.load(ticket.ref)

    def _solve(self, ticket: Ticket, now: datetime) -> Ticket:
        def solve(current: Ticket) -> TicketChange | None:
            if current.status not in ACTIVE_STATUSES:
                return None  # solved already (or closed since): nothing to do
            updated = apply(current, Change(status="solved"), at=now, config=self.config)
            return TicketChange(
                before=current,
                after=updated,
                at=now,
                # The customer said so on the page, which thanks them: no progress mail
                # tells them what they just did (the survey still follows).
                events=status_changes(current, updated, by=current.contact_email, in_reply=True),
                history=[("status_changed", {"status": "solved", "by": "customer",
                                             "channel": "portal"})],
            )  # fmt: skip

        return change_ticket(self.uow, ticket.ref, solve)

    def _complain(self, ticket: Ticket, posted: Posted, now: datetime) -> Ticket:
        """The complaint desk takes the words (helpdesk.services.complaints: it flags the
        ticket, starts its complaint clock and mails the lead); its refusals name the field
        of the page's complaint form. Past its hourly count, :class:`RateLimited`."""
        if self.complaints is None:
            raise FormProblem(StateConflict("complaints are not taken here"), "failed")
        try:
            self.complaints().complain(ticket.ref, posted.text, now=now, source="portal")
        except TooLarge as too_long:
            limit = self.config.complaints.text_max_chars
            raise FormProblem(too_long, "text_too_long", limit) from None
        except InvalidInput as invalid:
            raise FormProblem(invalid, "complaint_required") from None
        # A complaint about a closed ticket opens a new one linked to it: this page stays
        # the page of the ticket its link names.
        return self.uow.load(ticket.ref)

    # ------------------------------------------------------------------ re-sending links
    def resend(
        self, body: str, content_type: str, *, source_ip: str, base_url: str, now: datetime
    ) -> str:
        """Mail a fresh link for each of the contact's recent tickets to the address posted,
        if it is a contact's; the same outcome either way (nothing tells the caller whether
        the address is known). :class:`InvalidInput` for a post without a usable address,
        :class:`RateLimited` past the hourly limits (per client, then per address).
        ``base_url`` is where the request came in (the links point there). Returns the
        address as posted (the page names it in its answer)."""
        fields = form_fields(body, content_type, max_bytes=4096)
        email = (fields.get("email") or "").strip()
        if not email:
            raise InvalidInput("email", "is required")
        if len(email) > EMAIL_MAX or not valid_address(email):
            raise InvalidInput("email", "is not an email address")
        client = client_key(source_ip)
        limit_client(
            self.repo,
            client,
            scope="PORTAL-RESEND-IP",
            network_scope="PORTAL-RESEND-NET",
            limit=self.config.portal.resend_per_ip_per_hour,
            per_network=self.config.limits.clients_per_network,
            what="address",
            now=now,
        )
        # Per address AND client: a stranger asking for someone's links (in any case or
        # with a +detail, one mailbox: mail.mailbox) no longer spends the count of the
        # customer's own requests from her own client (attack A18-12).
        self._limit(
            f"PORTAL-RESEND#{mailbox_key(email)}#{client}",
            self.config.portal.resend_per_address_per_hour,
            "email address",
            now,
        )
        # The links are mailed after the answer, by the notice of this event
        # (helpdesk.notices.portal): whether the address is a contact's is not looked up
        # here, so that the answer and the work before it are the same for every address.
        self.repo.request_page_links(
            PageLinksRequested(ref="", email=email, base_url=base_url, at=now.isoformat()),
            now=now,
        )
        return email

    # ------------------------------------------------------------------ helpers
    def _ticket(self, token: str, now: datetime) -> Ticket:
        return self._opened(PAGE, token, now)[0]

    def _limit(self, scope: str, limit: int, what: str, now: datetime) -> None:
        """One more hit on an hourly counter of ``scope`` (helpdesk.services.rate_limits)."""
        limit_rate(self.repo, scope, limit=limit, what=what, now=now)

    def _parse(self, body: bytes, content_type: str) -> Posted:
        """The page's form: ``action``, ``text``, ``submission`` and, with a reply, ``files``
        (multipart/form-data, RFC 7578) or the same without files (urlencoded)."""
        limits = self.config.portal
        if len(body) > limits.body_max_bytes:
            too_large = TooLarge("body", f"is too large (at most {limits.body_max_bytes} bytes)")
            raise FormProblem(too_large, "body_too_large", limits.body_max_bytes)
        try:
            posted_type = require_media_type(content_type, "multipart/form-data", FORM_URLENCODED)
        except UnsupportedMediaType as unsupported:
            raise FormProblem(unsupported, "reload") from None
        files: list[tuple[str, str, bytes]] = []
        if posted_type == FORM_URLENCODED:
            try:
                fields = form_fields(body.decode("utf-8"), content_type)
            except UnicodeDecodeError:
                raise FormProblem(MalformedInput("body", "is not UTF-8 text"), "reload") from None
            except TooLarge as too_many_fields:
                raise FormProblem(too_many_fields, "reload") from None
        else:
            # The page's form has a few fields and at most attachments_max_count files;
            # the MIME parser costs about 0.6 ms a part, so a post of thousands of tiny
            # parts is refused by counting its delimiters, before it is parsed.
            try:
                boundary = _form_boundary(content_type)
            except UnsupportedMediaType as unsupported:
                raise FormProblem(unsupported, "reload") from None
            most_parts = limits.attachments_max_count + FORM_FIELDS_MAX
            if _part_count(body, boundary) > most_parts:
                count = limits.attachments_max_count
                too_many = TooLarge("files", f"are too many (at most {count})")
                raise _kept(FormProblem(too_many, "files_too_many", count), body, boundary)
            hostile = _hostile_part(body, boundary)
            if hostile is not None:
                raise _kept(hostile, body, boundary)
            try:
                fields, files = _multipart(body, content_type)
            except MalformedInput as malformed:
                raise FormProblem(malformed, "reload") from None
        try:
            return self._posted(fields, files)
        except FormProblem as problem:
            problem.action = fields.get("action", "")
            problem.text = fields.get("text", "")
            raise

    def _posted(self, fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> Posted:
        limits = self.config.portal
        action = fields.get("action", "")
        if action not in ACTIONS:
            invalid = InvalidInput("action", f"must be one of {', '.join(ACTIONS)}")
            raise FormProblem(invalid, "reload")
        submission = fields.get("submission", "")
        if not _SUBMISSION.fullmatch(submission):
            missing = InvalidInput("submission", "is missing: reload the page and try again")
            raise FormProblem(missing, "reload")
        text = typed_text(fields.get("text", "")).strip()
        if len(text) > limits.message_max_chars:
            limit = limits.message_max_chars
            too_long = TooLarge("text", f"is too long (at most {limit} characters)")
            raise FormProblem(too_long, "text_too_long", limit)
        if action != "reply" and files:
            raise FormProblem(InvalidInput("files", "go with a reply only"), "files_not_here")
        if len(files) > limits.attachments_max_count:
            count = limits.attachments_max_count
            too_many = TooLarge("files", f"are too many (at most {count})")
            raise FormProblem(too_many, "files_too_many", count)
        most = min(self.config.limits.attachment_max_bytes, limits.body_max_bytes)
        for filename, _, data in files:
            if len(data) > most:
                too_big = TooLarge("files", f"{filename} is too large (at most {most} bytes)")
                raise FormProblem(too_big, "file_too_large", most)
        return Posted(action=action, text=text, submission=submission, files=files)


def _multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    """The fields and files of a multipart/form-data body (RFC 7578: a MIME multipart, read
    by the standard library's MIME parser). A part without a filename is a field; a file
    input left empty (no filename, no bytes) is nothing."""
    from email import policy
    from email.parser import BytesParser

    if "\r" in content_type or "\n" in content_type or "boundary=" not in content_type.lower():
        raise MalformedInput("content-type", "needs a multipart boundary")
    head = f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n".encode("ascii", "replace")
    parsed = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not parsed.is_multipart():
        raise MalformedInput("body", "is not multipart/form-data")
    fields: dict[str, str] = {}
    files: list[tuple[str, str, bytes]] = []
    for part in parsed.iter_parts():
        assert isinstance(part, EmailMessage)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            try:
                fields[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedInput(name, "is not UTF-8 text") from None
            continue
        if name != "files" or (not filename and not data):
            continue
        kept_as = file_media_type(part.get_content_type()) or "application/octet-stream"
        files.append((_safe_filename(filename), kept_as, data))
    return fields, files


# The form's Content-Type as browsers write it (RFC 7578 section 4.1; the boundary of RFC
# 2046 section 5.1.1, 1-70 bchars): a boundary that the checks below and the parser
# (policy.HTTP, which drops comments and decodes quoted-pairs, RFC 2231 sections and
# encoded words, even inside quotes; a bare "'" starts an RFC 2231 charset) cannot read
# apart (re-attack 3, N1). Bare: token characters but "'"; quoted: bchars but the
# space, with no backslash and no "=?".
_FORM_DATA = re.compile(
    r"multipart/form-data[ \t]*;[ \t]*boundary="
    r"""(?:([0-9A-Za-z+_.-]{1,70})|"([0-9A-Za-z'()+_,./:=?-]{1,70})")[ \t]*""",
    re.IGNORECASE,
)


def _form_boundary(content_type: str) -> str:
    """The boundary of a form post's Content-Type written as _FORM_DATA takes it;
    :class:`UnsupportedMediaType` on ``content-type`` for any other form of it."""
    plain = _FORM_DATA.fullmatch(content_type)
    boundary = plain.group(1) or plain.group(2) if plain else None
    if boundary is None or "=?" in boundary:
        reason = "must be multipart/form-data; boundary=<boundary>, as a browser writes it"
        raise UnsupportedMediaType("content-type", reason)
    return boundary


def _part_count(body: bytes, boundary: str) -> int:
    """How many parts a multipart body can hold at most: the number of its delimiter lines
    ``--boundary`` (RFC 2046 §5.1.1), the close delimiter aside, of the form's boundary and
    of any boundary declared inside it (a nested multipart's parts are parsed too: attack
    3, F1). Counted in the raw bytes, without parsing, as mail intake bounds a mail."""
    from helpdesk.mail.parse import opening_delimiters

    outer = boundary.encode("ascii")
    return max(body.count(b"--" + outer) - 1, sum(1 for _ in opening_delimiters(body, outer)))


# The header lines of one part of the page's form: a Content-Disposition with a file's name
# (FILENAME_MAX characters, each up to 4 UTF-8 bytes as browsers send it) and a Content-Type.
PART_HEADERS_MAX_BYTES = 2048
# RFC 7578 section 4.2: a form's filename is sent as it is, without RFC 2231/5987 encoding;
# a client that splits a name anyway has no need of more sections than this.
PARAMETER_SECTIONS_MAX = 8
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")
# A part's Content-Type as browsers send it: a plain type/subtype (RFC 7231 tokens), and
# in its parameters, if any, no comment, quoted-pair, encoded word or RFC 2231 "*" form,
# which the parser (policy.HTTP) would read otherwise than the check below (re-attack 3).
_PLAIN_MEDIA_TYPE = re.compile(
    r"[ \t]*[!#$%&'+.^_`|~0-9A-Za-z-]+/[!#$%&'+.^_`|~0-9A-Za-z-]+[ \t]*(?:;.*)?", re.DOTALL
)
_NOT_PLAIN = re.compile(r"=\?|[(\\*]")
_FIELD_NAMES = frozenset({"action", "text", "submission", "files"})


def _hostile_part(body: bytes, boundary: str) -> FormProblem | None:
    """Why a part of a form post is refused before the MIME parser reads it, if it is:
    header lines longer than PART_HEADERS_MAX_BYTES, more than PARAMETER_SECTIONS_MAX RFC
    2231 continuations in a header (the standard library's parameter parse is quadratic in
    them), or a part that is itself multipart or a message (the parser would read all of
    it), or a Content-Type that is not a plain media type (_PLAIN_MEDIA_TYPE). RFC 7578
    section 4.3: a form part is not multipart; "multipart/mixed" for several files under
    one name is deprecated, and browsers send one part per file."""
    from helpdesk.mail.parse import header_parameters, opening_delimiters, parameter_sections

    for delimiter in opening_delimiters(body, boundary.encode("ascii")):
        block, complete = _part_headers(body, delimiter.end())
        text = block.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
        fields = [line.partition(":") for line in re.sub(r"\n(?=[ \t])", "", text).split("\n")]
        name = "body"  # the part's field, when it is one of the page's
        for header, _, value in fields:
            if header.strip().lower() == "content-disposition":
                given = header_parameters(value).get("name", "")
                name = given if given in _FIELD_NAMES else name
        if not complete:
            long_headers = TooLarge(name, f"has headers longer than {PART_HEADERS_MAX_BYTES} bytes")
            return FormProblem(long_headers, "reload")
        for header, _, value in fields:
            if parameter_sections(value) > PARAMETER_SECTIONS_MAX:
                sections = f"has more than {PARAMETER_SECTIONS_MAX} parameter sections"
                return FormProblem(TooLarge(name, sections), "reload")
            if header.strip().lower() != "content-type":
                continue
            if not _PLAIN_MEDIA_TYPE.fullmatch(value) or _NOT_PLAIN.search(value):
                unplain = InvalidInput(name, "has a Content-Type that is not a plain media type")
                return FormProblem(unplain, "reload")
            media_type = value.split(";", 1)[0].strip().lower()
            if media_type.startswith("message/"):
                # What a browser sends for a saved mail (.eml): the customer is told what
                # to do instead, not to reload the page.
                saved_mail = InvalidInput(name, "is a saved mail, which cannot be attached here")
                return FormProblem(saved_mail, "file_is_a_mail")
            if media_type.startswith("multipart/"):
                nested = InvalidInput(name, "must be one file or field, not a multipart")
                return FormProblem(nested, "reload")
    return None


def _kept(problem: FormProblem, body: bytes, boundary: str) -> FormProblem:
    """``problem`` with the form it came from and what was written in it, read plainly from
    a post refused before the MIME parser ran, so that the page shows her words again:
    the first ``action`` and ``text`` parts, each found by its name and ended by the next
    delimiter (a few linear searches; RFC 7578 section 4.2: a field's part has
    Content-Disposition form-data with its name)."""
    delimiter = b"\r\n--" + boundary.encode("ascii")

    def field(name: str) -> str:
        named = body.find(f'name="{name}"'.encode())
        start = body.find(b"\r\n\r\n", named) if named >= 0 else -1
        end = body.find(delimiter, start) if start >= 0 else -1
        if end < 0:
            return ""
        return body[start + 4 : end].decode("utf-8", "replace")

    action = field("action")
    problem.action = action if action in ACTIONS else ""
    problem.text = typed_text(field("text")).strip()
    return problem


def _part_headers(body: bytes, start: int) -> tuple[bytes, bool]:
    """The header lines of the part whose delimiter line ends at ``start`` (up to the first
    empty line), and whether they end within PART_HEADERS_MAX_BYTES (else the first of
    them, cut there)."""
    opened = _LINE.match(body, start)  # the rest of the delimiter line: its line break
    first = position = opened.end() if opened else start
    limit = first + PART_HEADERS_MAX_BYTES
    while True:
        line = _LINE.match(body, position, limit)
        if line is None:
            # The body ends inside the headers (the parser says so), or they are too long.
            return body[first:limit], limit >= len(body)
        if not line.group().strip(b"\r\n"):
            return body[first : line.start()], True
        position = line.end()


def _safe_filename(name: str) -> str:
    """A file's name as stored and shown, cleaned as a mail's attachment's is
    (helpdesk.files): browsers send just the name, but nothing stops a client."""
    # Browsers send a name's UTF-8 bytes as they are; the parser kept them as surrogates.
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean_filename(text, fallback="file")


def _downloadable(meta: AttachmentMeta, message: Message, ticket: Ticket) -> bool:
    """Whether the page hands the file out: kept, small enough, and one the relay to the
    agent would attach (helpdesk.notices.conversation): never a type that runs code, never
    a file of a message nobody vouched for (unscanned, unauthenticated), whoever wrote it.
    The one exception is the contact's own upload on this page (flagged ``unscanned``):
    it goes back to the link's holder, who could post it again anyway; not when she
    copied others in, who get the page's links with every answer (attack 21, F2: her
    unscanned file reached them from the desk's domain)."""
    from helpdesk.notices.conversation import UNVOUCHED_FLAGS, runs_code

    if not servable(meta) or runs_code(meta):
        return False
    own_upload = (
        message.channel == "portal"
        and message.direction == "in"
        and message.author.lower() == ticket.contact_email.lower()
        and set(message.flags) <= {"unscanned"}
        and not ticket.participants
    )
    return own_upload or not UNVOUCHED_FLAGS & set(message.flags)


def _file_links(message: Message, ticket: Ticket) -> list[FileLink]:
    """The message's files as the page lists them (inline images belong to its HTML);
    a file the page does not hand out is listed without a link (kept with the ticket)."""
    links = []
    for number, meta in enumerate(message.attachments, start=1):
        if meta.inline:
            continue
        if _downloadable(meta, message, ticket):
            links.append(FileLink(meta.filename, meta.size, number))
        else:
            links.append(FileLink(meta.filename, meta.size, None, held=servable(meta)))
    return links


def _promise(ticket: Ticket) -> tuple[str, datetime] | None:
    """What the desk owes the customer next and by when: the first or next answer while
    that clock runs, else the resolution (None when no clock runs)."""
    if not ticket.sla or ticket.status not in ACTIVE_STATUSES:
        return None
    return ticket.sla.next_promise()


__all__ = [
    "PAGE_LINK",
    "Complaints",
    "DownloadedFile",
    "FormProblem",
    "PortalDesk",
    "PortalView",
    "PostRefused",
    "page_link_words",
    "page_token",
    "page_url",
    "read_page_token",
    "verify_page_token",
]
