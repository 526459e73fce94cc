"""Email intake: every inbound message ends as a ticket, a message on a ticket, or a
``suppressed`` entry with its reason, and no robot ever gets an answer.

The raw message is already in S3 (SES stored it there before anything else ran), so a
message that cannot be parsed still becomes a ticket flagged ``unparsed`` with the raw
mail kept for a human.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Protocol

from helpdesk.files import file_media_type
from helpdesk.mail.auth import parse_auth
from helpdesk.mail.compose import own_message_kind, valid_address
from helpdesk.mail.mailbox import mailbox_key
from helpdesk.mail.parse import Address, Attachment, ParsedMail, parse_mail
from helpdesk.mail.robots import is_spoofed, robot_reason
from helpdesk.model import (
    REPLIES_TO_DESK_FLAG,
    AttachmentMeta,
    Message,
    Ticket,
    has_room,
    is_reference,
    takes_follow_ups,
)
from helpdesk.ports import DeliveryCounter, DeskMail, SuppressionList, TicketFinder
from helpdesk.services import message_bodies
from helpdesk.services.self_service import suggester
from helpdesk.services.tickets import (
    NewRequest,
    NoLongerTakesFollowUps,
    customer_follow_up,
    open_ticket,
)
from helpdesk.sizes import bounded_identifier, cut_utf8, utf8_size
from helpdesk.unit_of_work import AlreadyClaimed, Claim, TicketChange, change_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.knowledge import KnowledgeBase
    from helpdesk.model import Contact
    from helpdesk.ports import MailStore, TicketUnitOfWork

_SUBJECT_TOKEN = re.compile(r"\[#\s*(HD-[0-9A-Za-z]{6})\s*\]")
# How many attachments a message item lists (metadata only; the bytes of at most
# ``limits.attachments_max_count`` of them are kept in S3): a mail of 10,000 parts would
# otherwise need an item of megabytes. The raw mail in S3 keeps every part.
LISTED_ATTACHMENTS_MAX = 100
# RFC 5321 section 4.5.3.1.3: a path is at most 256 octets with its angle brackets. A longer
# "address" reaches nobody, and would make contact and marker keys too long for DynamoDB.
ADDRESS_MAX_BYTES = 254
NAME_MAX_BYTES = 256
SUBJECT_MAX_BYTES = 2048
# To and Cc addresses kept (they become a new ticket's participants, on its item).
RECIPIENTS_MAX = 50
# Of those, the ones a new ticket keeps as participants (Cc'd on agents' answers).
PARTICIPANTS_MAX = 10
# Trust only the authentication block SES adds on top. SES
# prepends its Authentication-Results with this authserv-id to every message it receives,
# so a topmost block naming anyone else was written by the sender.
SES_AUTHSERV_ID = "amazonses.com"
# Where SES's S3 action stores inbound mail (template.yaml: the receipt rule's
# ObjectKeyPrefix and the bucket notification's prefix filter, which a test compares).
INBOUND_PREFIX = "inbound/"
# The object SES writes under the S3 action's prefix when the receipt rule is created, to
# show it can write there: a notice from AWS, not a customer's mail.
SES_SETUP_NOTIFICATION = "AMAZON_SES_SETUP_NOTIFICATION"


def is_mail_object(key: str, size: int | None = None) -> bool:
    """Whether the object at ``key`` is a mail SES stored: under the inbound prefix, not the
    setup notification, not a folder marker (a key ending in "/", or no bytes at all)."""
    name = key.removeprefix(INBOUND_PREFIX)
    return (
        key.startswith(INBOUND_PREFIX)
        and bool(name)
        and not name.endswith("/")
        and name.rsplit("/", 1)[-1] != SES_SETUP_NOTIFICATION
        and size != 0
    )


# Message-IDs of In-Reply-To and References looked up per mail (the nearest first).
THREAD_LOOKUPS = 10
# Continuations of a full ticket followed per mail (each a read): a continuation that
# fills up in turn names its own.
CONTINUATION_HOPS = 3


@dataclass
class IntakeResult:
    """What became of one inbound message (for logs and tests)."""

    # "opened" | "appended" | "duplicate" | "suppressed" | "skipped", and for an agent's
    # mail "rejected" (a wrong command) | "unchanged" (the agent is told why)
    outcome: str
    ref: str | None = None
    suppressed: list[str] = field(default_factory=list)


class MailRecords(TicketFinder, SuppressionList, DeliveryCounter, Protocol):
    """What the email intake keeps and reads beside the unit of work: thread lookups,
    the acknowledgement caps, suppressed mail, and the contact an agent's saved reply
    writes to (helpdesk.services.agent_mail)."""

    def ticket_for_message_id(self, message_id: str) -> str | None:
        """The ticket a Message-ID belongs to: the desk's own mail, else the first
        ticket that carried it."""
        ...

    def get_contact(self, email: str) -> Contact | None: ...

    def desk_mail(self, message_id: str) -> DeskMail | None:
        """The mail the desk sent under ``message_id``; None for any other Message-ID, a
        received mail's included, whatever its shape."""
        ...


@dataclass(frozen=True)
class EmailIntake:
    """The email intake use case with its ports."""

    # Ticket changes go through the unit of work; the repository keeps the intake's own
    # records (acknowledgement counters, suppressed mail, thread lookups).
    uow: TicketUnitOfWork
    repo: MailRecords
    store: MailStore
    config: Config
    # The saved replies an agent's "#reply <slug>" names and the articles a new ticket's
    # acknowledgement offers, loaded when first needed.
    knowledge: Callable[[], KnowledgeBase] | None = None

    def take_in(self, raw_key: str, *, now: datetime) -> IntakeResult:
        """Take in the raw message SES stored at ``raw_key``.

        A redelivered object, or the same message resent under another key (same
        Message-ID, same sender), is a duplicate: its claim was made by the commit that took
        it in, and that commit's events were published from the outbox. Only the
        suppressed entries are listed again (idempotently), in case the first try stopped
        before it listed them. Objects that are not mail (see :func:`is_mail_object`) are
        skipped.
        """
        if not is_mail_object(raw_key):
            return IntakeResult("skipped")
        mail = self._parse(raw_key)
        return self._route(mail, raw_key, now)

    def _parse(self, raw_key: str) -> ParsedMail:
        limits = self.config.limits
        # The raw bytes are referenced by the call alone, so they are freed as soon as the
        # parse returns: a 25 MB message is never held next to its parsed parts for longer.
        raw = self.store.read(raw_key)
        raw_size = len(raw)
        mail = parse_mail(
            raw,
            attachment_max_bytes=limits.attachment_max_bytes,
            attachments_max_count=limits.attachments_max_count,
        )
        del raw
        report = mail.report
        if report is not None and report.original_message_id:
            report = replace(report, original_message_id=_storable(report.original_message_id))
        return replace(
            mail,
            raw_size=raw_size,
            auth=parse_auth(mail.headers, trusted_authserv_id=SES_AUTHSERV_ID),
            message_id=_storable(mail.message_id) if mail.message_id else None,
            in_reply_to=tuple(_storable(i) for i in mail.in_reply_to),
            references=tuple(_storable(i) for i in mail.references),
            report=report,
            sender=_storable_address(mail.sender),
            to=_storable_addresses(mail.to),
            cc=_storable_addresses(mail.cc),
            subject=cut_utf8(mail.subject, SUBJECT_MAX_BYTES),
        )

    # ------------------------------------------------------------------ decisions
    def _route(self, mail: ParsedMail, raw_key: str, now: datetime) -> IntakeResult:
        config = self.config
        own_domain = config.helpdesk.mail_domain
        sender = mail.sender.email.lower() if mail.sender else ""
        flags: list[str] = []
        suppress: list[str] = []
        if mail.unparsed:
            flags.append("unparsed")
            suppress.append("unparsed")  # no sender could be read: nobody to answer
        robot = robot_reason(mail, own_domain=own_domain)
        if robot is not None:
            flags.append("bounce" if robot == "bounce" else "auto_reply")
            # Our own mail coming back is automatic mail (the public reasons have no "echo").
            suppress.append("auto_reply" if robot == "echo" else robot)
        if is_spoofed(mail, own_domain=own_domain, agent_emails=config.staff_emails):
            flags.append("spoofed")
            suppress.append("spoofed")
        if (mail.virus_verdict or "").upper() == "FAIL":
            flags.append("virus")
            suppress.append("virus")
        if (mail.spam_verdict or "").upper() == "FAIL":
            flags.append("spam")
            suppress.append("spam")
        if not sender and not mail.unparsed:
            suppress.append("no_sender")
        elif sender and not valid_address(sender):
            # A From that no mail could reach ("jane@localhost", non-ASCII): the ticket is
            # kept for a human, and no acknowledgement is attempted that could only fail.
            suppress.append("invalid_sender")

        existing, named = (None, None) if "spoofed" in flags else self._thread(mail, sender)
        if robot is not None and "spoofed" not in flags:
            existing = self._bounced_ticket(mail) or existing
            if existing is not None and has_room(existing, proven=False):
                taken = self._append(
                    existing, mail, raw_key, now=now, flags=flags, suppress=suppress,
                    from_robot=True,
                )  # fmt: skip
                if isinstance(taken, IntakeResult):
                    return taken
                existing = taken
        if existing is not None and self.config.is_staff(sender) and not suppress:
            from helpdesk.services.agent_mail import has_agent_power, take_agent_reply

            # Not spoofed (above), so already authenticated for the agent's domain; asked
            # again here so that agent power never rests on the spoofing check alone.
            if has_agent_power(mail, config):
                return take_agent_reply(self, existing, mail, raw_key, now)
        # The share of the thread it would take: what _message records decides it again
        # inside the commit (a robot's mail, past its share above, is never proven).
        proven = robot is None and _authenticated(mail)
        # A follow-up's own flags: answering the desk's mail proves a follow-up's author,
        # never a new ticket's (it stays off the flags _open gives the ticket).
        follow_up_flags = flags
        if existing is not None and robot is None and not proven:
            proven = self._replies_to_desk(mail, existing, sender)
            if proven:
                follow_up_flags = [*flags, REPLIES_TO_DESK_FLAG]
        if existing is not None and takes_follow_ups(existing, proven=proven):
            taken = self._append(
                existing, mail, raw_key, now=now, flags=follow_up_flags, suppress=suppress
            )
            if isinstance(taken, IntakeResult):
                return taken
            existing = taken  # closed or filled meanwhile: a new ticket, linked
        # The ticket a continuation is recorded on: the last full one of the chain.
        chain_end = existing
        if existing is not None and existing.status != "closed" and proven:
            # Full: mail that proves its author goes on where the contact's earlier mail
            # past it went (review 17, #1b). Unproven mail never does: a forger's would
            # lead her own mail into the ticket he opened.
            continuation, chain_end = self._continuation(existing, sender)
            if continuation is not None:
                taken = self._append(
                    continuation, mail, raw_key, now=now, flags=follow_up_flags, suppress=suppress
                )
                if isinstance(taken, IntakeResult):
                    return taken
                chain_end = taken

        if existing is None and named is not None:
            # The mail names a ticket its sender takes no part in: it becomes a ticket of
            # the sender's own, linked for the agent to see, and never joins the other.
            flags.append("outsider")
        if sender and "spoofed" not in flags and mail.auth.disproves(sender):
            # Proven forged for its From domain: the ticket is kept (a forwarder can break
            # DMARC too) and answered by a person, but no acknowledgement goes out (a
            # message on a ticket is still relayed to its agent, flagged unverified): it
            # would carry the forger's name and subject, from the desk's own signed
            # domain, to whoever he named, a phishing relay (attack 10, F1; RFC 3834
            # section 2: respond only where it can be useful).
            flags.append("forged")
            suppress.append("forged")
        if suppress == [] and not self._within_ack_limit(sender, mail, raw_key, now):
            suppress.append("loop_limit")
        opened = self._open(mail, raw_key, now, flags, suppress, linked_to=existing or named)
        if (
            chain_end is not None
            and chain_end.status != "closed"
            and proven
            and sender == chain_end.contact_email.lower()
            # A retried delivery finds its ticket opened ("duplicate") and records it still.
            and opened.outcome in ("opened", "duplicate")
        ):
            self._record_continuation(chain_end.ref, opened.ref, now)
        return opened

    def _thread(self, mail: ParsedMail, sender: str) -> tuple[Ticket | None, Ticket | None]:
        """The ticket this message continues, and else the first ticket it names.

        In-Reply-To/References first (RFC 5322 §3.6.4): they name Message-IDs we sent or
        received. Then the plus-address (support+REF@) and the ``[#REF]`` subject token.
        Every one of them only attaches the mail when its sender takes part in the ticket
        (:meth:`_takes_part`): a Message-ID or a reference is known to whoever saw one mail
        of the conversation (a forward, a reply-all, a guess), and knowing it must never
        put anyone into another customer's conversation. A ticket named by a sender who
        takes no part in it comes back second, for the new ticket to link to.
        """
        named: Ticket | None = None
        for ticket in self._named_tickets(mail):
            if self._takes_part(ticket, sender):
                return ticket, None
            named = named or ticket
        return None, named

    def _named_tickets(self, mail: ParsedMail) -> Iterator[Ticket]:
        """The tickets a mail's threading headers and tokens name, nearest first.

        At most :data:`THREAD_LOOKUPS` Message-IDs are looked up: In-Reply-To, then the
        last of References, which RFC 5322 §3.6.4 orders from the root to the parent, so
        the last are the nearest. A mail listing thousands of guessed IDs costs no more
        than a real reply.
        """
        for message_id in islice(_cited_message_ids(mail), THREAD_LOOKUPS):
            ref = self.repo.ticket_for_message_id(message_id)
            ticket = self.repo.find_ticket(ref) if ref is not None else None
            if ticket is not None:
                yield ticket
        # A subject can carry any number of tokens: the same bound holds for them.
        for ref in islice(self._token_refs(mail), THREAD_LOOKUPS):
            ticket = self.repo.find_ticket(ref)
            if ticket is not None:
                yield ticket

    def _replies_to_desk(self, mail: ParsedMail, ticket: Ticket, sender: str) -> bool:
        """Whether ``mail`` answers a mail the desk sent ``sender`` alone about ``ticket``:
        its In-Reply-To or References name its Message-ID (model.REPLIES_TO_DESK_FLAG).
        The desk's own shape is no proof: a mail may carry any Message-ID, and intake keeps
        a pointer for each it takes in, so only the desk's record of a sent mail counts;
        and a mail copied to others proves nothing, since each of them knows its ID and
        may write in her name (attack 18, F4), nor does a record that does not say."""
        domain = self.config.helpdesk.mail_domain
        ours = [
            message_id
            for message_id in _cited_message_ids(mail)
            if own_message_kind(message_id, domain) is not None
        ]
        mailbox = mailbox_key(sender)
        for message_id in ours[:THREAD_LOOKUPS]:
            sent = self.repo.desk_mail(message_id)
            if (
                sent is not None
                and sent.ticket == ticket.ref
                and sent.cc == ()
                and {mailbox_key(to) for to in sent.to} == {mailbox}
            ):
                return True
        return False

    def _continuation(self, full: Ticket, sender: str) -> tuple[Ticket | None, Ticket]:
        """Where proven mail of ``sender``'s that names the ``full`` ticket goes on: the
        ticket its ``continued_in`` names, followed at most :data:`CONTINUATION_HOPS`
        times, while that one takes proven mail and ``sender`` takes part in it; and the
        last full ticket of the chain, on which a new continuation is recorded, so that a
        continuation that fills up in turn names its own."""
        last = full
        ref = full.continued_in
        for _ in range(CONTINUATION_HOPS):
            ticket = self.repo.find_ticket(ref) if ref else None
            if ticket is None or ticket.status == "closed" or not self._takes_part(ticket, sender):
                return None, last
            if takes_follow_ups(ticket, proven=True):
                return ticket, last
            last, ref = ticket, ticket.continued_in
        return None, last

    def _record_continuation(self, full: str, ref: str | None, now: datetime) -> None:
        """Name ``ref``, the ticket the contact's proven mail past the ``full`` one opened,
        as its continuation, unless one is named already (the first stays)."""
        if ref is None or ref == full:
            return

        def continue_in(current: Ticket) -> TicketChange | None:
            if current.continued_in:
                return None
            after = replace(current, continued_in=ref)
            return TicketChange(before=current, after=after, at=now)

        change_ticket(self.uow, full, continue_in)

    def _takes_part(self, ticket: Ticket, sender: str) -> bool:
        """The sender is the ticket's contact, one of its participants (the addresses the
        contact's opening mail was sent to or copied to), an agent or a team's lead."""
        return bool(sender) and (ticket.involves(sender) or self.config.is_staff(sender))

    def _bounced_ticket(self, mail: ParsedMail) -> Ticket | None:
        """The ticket whose mail a delivery status notification reports on: RFC 3464
        section 2 returns the original's headers, and its Message-ID is one we sent."""
        if mail.report is None or not mail.report.original_message_id:
            return None
        original = mail.report.original_message_id
        # Only our own mail bounces back to us: a "report" naming a customer's Message-ID
        # (known to anyone who saw her mail) would file a stranger's text on her ticket.
        if own_message_kind(original, self.config.helpdesk.mail_domain) is None:
            return None
        ref = self.repo.ticket_for_message_id(original)
        return self.repo.find_ticket(ref) if ref else None

    def _token_refs(self, mail: ParsedMail) -> list[str]:
        local, _, domain = self.config.helpdesk.address.partition("@")
        refs = []
        for address in mail.delivered_to:
            addr_local, _, addr_domain = address.partition("@")
            base, plus, tag = addr_local.partition("+")
            if plus and base == local and addr_domain == domain and is_reference(tag):
                refs.append(tag.upper())
        refs.extend(match.upper() for match in _SUBJECT_TOKEN.findall(mail.subject))
        return [r for r in dict.fromkeys(refs) if is_reference(r)]

    def _within_ack_limit(self, sender: str, mail: ParsedMail, raw_key: str, now: datetime) -> bool:
        """Within the hour's acknowledgement caps of the sender's mailbox and domain, the
        same for every intake, and for mail SES could not authenticate within the desk's
        ceiling for such mail (helpdesk.services.acknowledgement_caps)."""
        from helpdesk.services.acknowledgement_caps import within_ack_limit

        if mail.message_id:
            # Per sender, as its claim is (_claims): another sender's copy is another ticket.
            message, kind = f"{_sender(mail)}\n{mail.message_id}", "mail"
        else:
            message, kind = raw_key, "raw"
        return within_ack_limit(
            self.repo,
            self.config,
            sender,
            message,
            now,
            kind=kind,
            authenticated=_authenticated(mail),
        )

    # ------------------------------------------------------------------ writes
    def _message(
        self, mail: ParsedMail, raw_key: str, now: datetime, ref: str, flags: list[str]
    ) -> Message:
        message_key = hashlib.sha256(raw_key.encode()).hexdigest()[:20]
        listed = mail.attachments[:LISTED_ATTACHMENTS_MAX]
        attachments = self._store_attachments(message_key, listed, flags)
        # The item keeps an excerpt; the whole text and the HTML are read from the raw mail.
        whole_text = mail.text or mail.full_text
        text, excerpt = message_bodies.mail_excerpt(
            message_bodies.Bodies(
                text=whole_text,
                full_text=mail.full_text if mail.full_text != mail.text else None,
                html=mail.html or None,
            )
        )
        return Message(
            id=message_key,
            ticket=ref,
            direction="in",
            author=mail.sender.email.lower() if mail.sender else "",
            author_name=mail.sender.name if mail.sender else "",
            at=now,
            text=text,
            subject=mail.subject,
            message_id=mail.message_id,
            raw_key=raw_key,
            attachments=attachments,
            flags=(*flags, *_unvouched(mail)),
            attachments_total=(
                len(mail.attachments) if len(mail.attachments) > len(listed) else None
            ),
            excerpt=excerpt,
            raw_size=mail.raw_size or None,
            # How long the whole text is, so that a view knows whether the excerpt is all
            # of it (a short text with HTML: no raw mail read again) or, for a raw mail too
            # large to read again, how much more there was.
            text_bytes=utf8_size(whole_text) if excerpt else None,
        )

    def _store_attachments(
        self, message_key: str, attachments: tuple[Attachment, ...], flags: list[str]
    ) -> tuple[AttachmentMeta, ...]:
        """Keep each attachment in S3 under the message's key (known before the ticket's
        reference is drawn, so a new ticket needs no second write)."""
        stored = []
        for number, attachment in enumerate(attachments, start=1):
            dropped = attachment.dropped
            if "virus" in flags:
                dropped = "virus"  # keep the ticket, never the infected files
            key = None
            if dropped is None and attachment.data:
                key = self.store.write(
                    f"attachments/{message_key}/{number}-{attachment.filename}",
                    attachment.data,
                    # S3 takes a media type (the parser gives one; the channel and the page
                    # write theirs the same way).
                    file_media_type(attachment.content_type) or "application/octet-stream",
                )
            stored.append(
                AttachmentMeta(
                    filename=attachment.filename,
                    # RFC 6838 section 4.2: type and subtype names are at most 127
                    # characters each; anything longer is not a media type.
                    content_type=cut_utf8(attachment.content_type, 255),
                    size=attachment.size,
                    key=key,
                    inline=attachment.inline,
                    content_id=(
                        bounded_identifier(attachment.content_id) if attachment.content_id else None
                    ),
                    dropped=dropped,
                )
            )
        return tuple(stored)

    def _claims(self, mail: ParsedMail, raw_key: str) -> list[Claim]:
        """The marker that makes this message a ticket or a message once.

        The same Message-ID from the same sender is the same message delivered twice (a
        redelivery, a resend, a second recipient address of ours): one ticket, one answer.
        From another sender it is another message (a reused or forged ID), so the marker
        is per sender; it also points replies that name the ID at the ticket
        (``ticket_for_message_id``). A mail without a Message-ID is claimed by its delivery.
        """
        if mail.message_id:
            return [Claim("message", mail.message_id, _sender(mail))]
        return [Claim("delivery", raw_key)]

    def _open(
        self,
        mail: ParsedMail,
        raw_key: str,
        now: datetime,
        flags: list[str],
        suppress: list[str],
        *,
        linked_to: Ticket | None,
    ) -> IntakeResult:
        sender = mail.sender
        # The people the customer copied follow the conversation (agents' answers are Cc'd
        # to them), but only when the mail is authenticated for its From domain: anyone can
        # write a customer's address in From, and a forged opening mail Cc'ing the forger
        # would otherwise have every answer about that customer copied to them. A bounded
        # number, so that agents' answers stay within SES's 50 recipients per message.
        participants = (
            [
                a.email.lower()
                for a in (*mail.to, *mail.cc)
                if a.email.lower() != self.config.helpdesk.address
                and not a.email.lower().endswith("@" + self.config.helpdesk.mail_domain)
            ][:PARTICIPANTS_MAX]
            if sender is not None and mail.auth.authenticates(sender.email)
            else []
        )
        request = NewRequest(
            channel="email",
            subject=mail.subject or "(no subject)",
            text=mail.text or mail.full_text,
            contact_email=(
                sender.email if sender else f"unknown@{self.config.helpdesk.mail_domain}"
            ),
            contact_name=sender.name if sender else "",
            flags=flags,
            participants=participants,
            linked_to=linked_to.ref if linked_to else None,
            zone_hint=zone_of_date(mail.date),
        )
        message = self._message(mail, raw_key, now, "", flags)
        try:
            ticket = open_ticket(
                request,
                uow=self.uow,
                config=self.config,
                now=now,
                first_message=message,
                claims=self._claims(mail, raw_key),
                notify=not suppress,
                # Nothing suppressed: the caps were asked (_within_ack_limit) and counted it.
                acknowledgement_counted=not suppress,
                suggest=suggester(self.knowledge, self.config),
            )
            outcome = "opened"
        except AlreadyClaimed as taken:
            # Taken in before (this delivery again, or the same message resent): its commit
            # published what followed; the suppressed entries are listed again below.
            if taken.ref is None:
                return IntakeResult("duplicate", None)
            ref, outcome = taken.ref, "duplicate"
        else:
            ref = ticket.ref
        self._list_suppressed(
            suppress,
            sender=mail.sender.email if mail.sender else "",
            mail=mail,
            raw_key=raw_key,
            now=now,
            ref=ref,
        )
        return IntakeResult(outcome, ref, suppress)

    def _list_suppressed(
        self,
        suppress: list[str],
        *,
        sender: str,
        mail: ParsedMail,
        raw_key: str,
        now: datetime,
        ref: str,
    ) -> None:
        """One ``suppressed`` entry per reason this mail got no automatic answer
        (idempotent per delivery, so a retry repeats them harmlessly)."""
        for reason in suppress:
            self.repo.record_suppressed(
                at=now,
                reason=reason,
                sender=sender,
                subject=mail.subject,
                raw_key=raw_key,
                ref=ref,
            )

    def _append(
        self,
        ticket: Ticket,
        mail: ParsedMail,
        raw_key: str,
        *,
        now: datetime,
        flags: list[str],
        suppress: list[str],
        from_robot: bool = False,
    ) -> IntakeResult | Ticket:
        """A follow-up on an open ticket, or a robot's mail about it; or, when the ticket
        no longer takes it (closed or full since it was read), the ticket as committed
        meanwhile, for the caller to go where the mail would have gone a moment later.

        Only mail from someone who takes part reaches here (:meth:`_thread`), so writing
        never makes anyone a participant. A robot's mail (a bounce, an auto-reply, an echo)
        is kept on the ticket it is about, and nobody is told: an out-of-office notice is not
        the customer answering, so it neither reopens the ticket nor moves its clocks.
        The same mail again changes nothing; its suppressed entries are listed again
        (idempotently), in case the first try stopped before it listed them.
        """
        message = self._message(mail, raw_key, now, ticket.ref, flags)
        sender = message.author

        def follow_up(current: Ticket) -> TicketChange:
            # Decided again on the ticket as it is committed (review 17, #4): the thread's
            # last place taken meanwhile sends the mail to a new ticket (a person's mail:
            # customer_follow_up decides it, a close included).
            if from_robot and not has_room(current, proven=False):
                raise NoLongerTakesFollowUps(current)
            if not from_robot:
                # The path a reply from the customer's page takes too (services.tickets).
                return customer_follow_up(
                    current,
                    message,
                    now=now,
                    config=self.config,
                    claims=self._claims(mail, raw_key),
                    notify=not suppress,
                )
            # A robot's mail always carries its suppression reason (_route), so nobody is
            # told: it is kept on the ticket, and that is all.
            return TicketChange(
                before=current,
                after=replace(current, updated_at=now),
                at=now,
                messages=[message],
                claims=self._claims(mail, raw_key),
                history=[("robot_mail", {"from": sender, "reasons": suppress})],
            )

        outcome = "appended"
        try:
            change_ticket(self.uow, ticket.ref, follow_up)
        except NoLongerTakesFollowUps as meanwhile:
            return meanwhile.ticket
        except AlreadyClaimed:
            outcome = "duplicate"
        self._list_suppressed(
            suppress, sender=sender, mail=mail, raw_key=raw_key, now=now, ref=ticket.ref
        )
        return IntakeResult(outcome, ticket.ref, suppress)


def _cited_message_ids(mail: ParsedMail) -> list[str]:
    """The Message-IDs ``mail`` answers, nearest first and each once: In-Reply-To, then
    References from the last, which RFC 5322 §3.6.4 orders from the root to the parent."""
    return list(dict.fromkeys((*mail.in_reply_to, *reversed(mail.references))))


def _unvouched(mail: ParsedMail) -> tuple[str, ...]:
    """What SES did not vouch for, kept on the message (not the ticket) for the relay to the
    agent, which attaches a customer's files only when neither is said (docs/SECURITY.md):
    ``unauthenticated`` when the mail is not authenticated for its From domain (anyone can
    write a customer's address there), ``unscanned`` when the virus verdict is not PASS
    (GRAY, PROCESSING_FAILED, or none: the receipt's virusVerdict, which SES also writes
    as the topmost X-SES-Virus-Verdict header, Amazon SES Developer Guide, "Contents of
    notifications for Amazon SES email receiving"; FAIL also drops the files themselves)."""
    unvouched = []
    if not _authenticated(mail):
        unvouched.append("unauthenticated")
    if (mail.virus_verdict or "").upper() != "PASS":
        unvouched.append("unscanned")
    return tuple(unvouched)


def _authenticated(mail: ParsedMail) -> bool:
    """Whether SES authenticated the mail for its From domain (AuthResults.authenticates)."""
    return mail.sender is not None and mail.auth.authenticates(mail.sender.email)


def _sender(mail: ParsedMail) -> str:
    return mail.sender.email.lower() if mail.sender else ""


def _storable(message_id: str) -> str:
    """A Message-ID as text that DynamoDB keys can hold.

    RFC 5322 section 3.6.4 allows only ASCII there, but the raw header bytes of a broken
    message reach us surrogate-escaped, and a lone surrogate cannot be encoded in a key.
    Replacing those characters keeps the ID stable, so duplicates and replies still match.
    An ID longer than a key may be (a partition key holds 2,048 bytes, a sort key 1,024)
    is replaced by a stable hash: every ID a mail names (its own, In-Reply-To, References,
    a bounce's original) passes through here, so an ID is written and looked up alike.
    """
    return bounded_identifier(message_id.encode("utf-8", "replace").decode("utf-8"))


def _storable_addresses(addresses: tuple[Address, ...]) -> tuple[Address, ...]:
    kept = (a for a in map(_storable_address, addresses) if a is not None)
    return tuple(kept)[:RECIPIENTS_MAX]


def _storable_address(address: Address | None) -> Address | None:
    """The address, unless it is longer than any deliverable one (RFC 5321 section
    4.5.3.1.3); its display name cut to a bound in bytes."""
    if address is None or utf8_size(address.email) > ADDRESS_MAX_BYTES:
        return None
    if utf8_size(address.name) <= NAME_MAX_BYTES:
        return address
    return replace(address, name=cut_utf8(address.name, NAME_MAX_BYTES))


def zone_of_date(sent: datetime | None) -> str | None:
    """The zone of a mail's Date header as an IANA fixed-offset zone (``Etc/GMT-8`` for
    +0800: the Etc names count the other way, as POSIX does), for the promised time in a
    first acknowledgement to a customer whose zone the desk does not know yet: mail clients
    write the sender's local offset (RFC 5322 §3.3). None for +0000 (also what servers
    and "-0000", zone unknown, give) and for offsets that are not whole hours, which no
    Etc zone names: the desk's own zone is shown then."""
    offset = sent.utcoffset() if sent is not None else None
    if offset is None or not offset or offset.total_seconds() % 3600:
        return None
    hours = int(offset.total_seconds() // 3600)
    if not -12 <= hours <= 14:
        return None
    return f"Etc/GMT{-hours:+d}"
