"""The desk's voice: what every notice needs to write a mail and send it once.

:class:`Notifier` holds the tickets (to read), the mailer, the records of sent mail, the
config and the signing key. The composition root (helpdesk.composition) builds it once; a
service that mails is given one. :meth:`Notifier.mail` is the one place a mail from the desk
is put together (sender, reply-to plus-address, threading headers, the ticket's token in the
subject) and :meth:`Notifier.send` the one way it leaves
(:func:`helpdesk.notices.outbound.send_once`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.mail.compose import MAIL_KINDS, OutboundMail, subject_with_token
from helpdesk.notices.outbound import (
    Quota,
    SendResult,
    SentMail,
    message_id_of,
    outsider_quotas,
    recipient_quotas,
    send_once,
    ticket_quota,
)

# The mails to a customer about one of their tickets: each carries the link to the
# ticket's page (Notifier.render). A new notice to the customer adds its template here.
CUSTOMER_TEMPLATES = frozenset(
    {"acknowledgement", "reply", "progress_pending", "progress_solved", "survey"}
)

# A contact the desk has known at least this long (and surveyed) counts as served in what
# outsiders may raise to a lead (Notifier._served).
SERVED_AFTER = timedelta(days=7)

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.events import EventContact
    from helpdesk.knowledge import KnowledgeBase
    from helpdesk.model import Contact, Message, Ticket
    from helpdesk.ports import Mailer, MailStore
    from helpdesk.render import RenderedMail


class TicketReader(Protocol):
    """What notices read of tickets (the DynamoDB repository in AWS)."""

    def get_ticket(self, ref: str) -> Ticket: ...

    def messages(self, ref: str) -> list[Message]: ...

    def message(self, ref: str, message_id: str) -> Message | None:
        """One message of the ticket, by its id, without reading the thread whole."""
        ...

    def get_contact(self, email: str) -> Contact | None: ...

    def contact_tickets(self, email: str, *, limit: int = 6) -> list[Ticket]: ...


@dataclass(frozen=True)
class Notifier:
    repo: TicketReader
    mailer: Mailer
    config: Config
    # The desk's signing key (SSM): it keys the Message-IDs of the mail sent.
    signing_key: bytes
    # Where sent mail is recorded (helpdesk.aws.sent_mail in AWS, built by the composition
    # root): the claim that sends each mail once, its hourly counts, the Message-IDs replies
    # thread to.
    sent_mail: SentMail
    # Where the raw mail is kept: a message item keeps an excerpt of a long mail, and the
    # notices that show the whole message (the agent's assignment) read the rest there.
    mail_store: MailStore | None = None
    # Where the desk's pages are served (PUBLIC_URL): every mail to a customer about a
    # ticket carries the signed link to the ticket's page (helpdesk.services.portal), and the
    # acknowledgement's "this answered my question" links point there. None where a
    # function mails no customer.
    public_url: str | None = None
    # The knowledge base, loaded on first use: the titles of the articles offered in the
    # acknowledgement, and the agent's assistant in the assignment and the relayed customer
    # message (helpdesk.notices.assistant). None: nothing to suggest.
    knowledge: Callable[[], KnowledgeBase] | None = None

    def whole(self, message: Message) -> Message:
        """``message`` with its whole text (helpdesk.services.message_bodies.whole)."""
        if self.mail_store is None:
            return message
        from helpdesk.services.message_bodies import whole

        return whole(message, self.mail_store.read)

    @property
    def domain(self) -> str:
        return self.config.helpdesk.mail_domain

    def plus_address(self, ref: str) -> str:
        """The ticket's own address: a reply to it lands on the ticket whatever its subject."""
        local, _, domain = self.config.helpdesk.address.partition("@")
        return f"{local}+{ref.lower()}@{domain}"

    def render(self, template: str, language: str, context: Mapping[str, Any]) -> RenderedMail:
        """The mail ``template`` in ``language``; a mail to the customer about a ticket
        (:data:`CUSTOMER_TEMPLATES`) with the link to the ticket's page added, in the HTML
        (the mail layout shows ``page_link``) and as the text's last line: added here, once,
        so no notice can forget it."""
        from helpdesk.render import render

        link = self._page_link(template, language, context)
        if link is not None:
            context = {**context, "page_link": link}
        rendered = render(
            template, language, context, fallback_language=self.config.default_language
        )
        if link is None:
            return rendered
        return replace(rendered, text=f"{rendered.text.rstrip()}\n\n{link['line']}\n")

    def _page_link(
        self, template: str, language: str, context: Mapping[str, Any]
    ) -> dict[str, str] | None:
        ref = context.get("ref")
        if not self.public_url or template not in CUSTOMER_TEMPLATES or not ref:
            return None
        from helpdesk import clock
        from helpdesk.services.portal import page_link_words

        return page_link_words(
            str(ref), language, public_url=self.public_url, config=self.config,
            key=self.signing_key, now=clock.now(),
        )  # fmt: skip

    def mail(
        self,
        kind: str,
        ref: str | None,
        to: Sequence[str],
        rendered: RenderedMail,
        *,
        cc: Sequence[str] = (),
        sender_name: str | None = None,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
        automatic: bool = True,
    ) -> OutboundMail:
        """A mail from the desk. Mail about a ticket carries its token in the subject and
        the ticket's plus-address as Reply-To, so that the answer finds the ticket. A
        ``kind`` that compose would refuse at send time is refused here, where every
        notice builds its mail, on the fakes as in AWS."""
        if kind not in MAIL_KINDS:
            raise ValueError(f"{kind!r} is not a mail kind (mail/compose.py, MAIL_KINDS)")
        return OutboundMail(
            kind=kind,
            ticket=ref,
            sender=self.config.helpdesk.address,
            sender_name=sender_name or self.config.helpdesk.name,
            to=tuple(to),
            cc=tuple(cc),
            subject=subject_with_token(rendered.subject, ref) if ref else rendered.subject,
            text=rendered.text,
            html=rendered.html,
            reply_to=self.plus_address(ref) if ref else None,
            in_reply_to=in_reply_to,
            references=tuple(references),
            automatic=automatic,
        )

    def send(
        self,
        mail: OutboundMail,
        *,
        key: str,
        now: datetime,
        ticket_limit: bool = False,
        quotas: Sequence[Quota] = (),
        recipient_limit: bool = True,
    ) -> SendResult:
        """Send once per (ticket, kind, key), within the per-recipient hourly limit (and,
        with ``ticket_limit``, the ticket's, and any ``quotas`` of the notice's own: a
        count already among them is counted once); replies thread back by the Message-ID.
        ``recipient_limit=False``: a mail bounded by its key alone (once per reader and
        period: the reports), which must not wait on a count others can spend, or by the
        ``quotas`` of its own (:meth:`send_raised_by`)."""
        limits = self.config.limits
        # The limit stops loops with outside mailboxes; mail to the desk's own agents only
        # (assignments, alerts) is addressed by the desk to itself and needs no counter.
        # Mail to a lead who is no agent is counted, on her own count unless the notice
        # counts it apart (send_raised_by), so that an outsider never mails her unbounded
        # (review 18, #1).
        counted = (
            []
            if self._to_agents_only(mail) or not recipient_limit
            else recipient_quotas(mail, now, limits.counted_outbound_per_recipient_per_hour)
        )
        if ticket_limit and mail.ticket:
            counted.append(ticket_quota(mail.ticket, now, limits.outbound_per_ticket_per_hour))
        # One write per counter: a transaction may not name the same item twice.
        counted += [q for q in quotas if q.scope not in {c.scope for c in counted}]
        return send_once(
            mail,
            key=key,
            sent_mail=self.sent_mail,
            mailer=self.mailer,
            domain=self.domain,
            now=now,
            message_id_key=self.signing_key,
            quotas=counted,
        )

    def send_raised_by(
        self,
        mail: OutboundMail,
        contact: EventContact,
        *,
        key: str,
        now: datetime,
        complaint: bool = False,
    ) -> SendResult:
        """Send ``mail`` to the desk's leads about a ticket of ``contact``'s, from outside (a
        complaint, a low score's alert, its clocks' warnings and escalations): within what
        her organization may raise to a lead in an hour and what all outsiders may
        (outbound.outsider_quotas), apart from her own count, so that one stranger's
        tickets spend neither other customers' mail to her nor the rest of the desk's.
        Mail to agents only is uncounted as :meth:`send` says, except a ``complaint``:
        it carries the words of whoever opened a ticket to every lead, an agent or not."""
        from helpdesk.mail.mailbox import mailbox_key, sender_organization

        if self._to_agents_only(mail) and not complaint:
            return self.send(mail, key=key, now=now)
        config = self.config
        organization = sender_organization(
            contact.email, free_mail=config.limits.free_mail_domains, own_domain=self.domain
        ) or mailbox_key(contact.email)
        scope, per_organization, per_reader = (
            ("OUT-COMPLAINTS", config.complaints.lead_mails_per_sender_per_hour,
             config.complaints.lead_mails_per_hour)
            if complaint
            else ("OUT-NOTICES", config.limits.lead_notices_per_sender_per_hour,
                  config.limits.lead_notices_per_hour)
        )  # fmt: skip
        quotas = outsider_quotas(
            mail,
            organization,
            now,
            scope=scope,
            per_organization=per_organization,
            per_reader=per_reader,
            known=self._served(contact, now),
        )
        return self.send(mail, key=key, now=now, quotas=quotas, recipient_limit=False)

    def _served(self, contact: EventContact, now: datetime) -> bool:
        """Whether the ticket is of a customer the desk has served, and shows it is hers:
        its opening proved its author (``contact.shown``), and her contact is a week old
        and was surveyed on a solved ticket. A record's age alone was had
        for one form post a week ahead (attack 17, F3); forms or forged mail typed in a
        served customer's name spent her share (attack 18, F3)."""
        if not contact.shown:
            return False
        known = self.repo.get_contact(contact.email)
        return (
            known is not None
            and known.last_survey_at is not None
            and known.created_at <= now - SERVED_AFTER
        )

    def _to_agents_only(self, mail: OutboundMail) -> bool:
        return bool(mail.to) and all(self.config.agent(a) is not None for a in (*mail.to, *mail.cc))

    def sent_message_id(self, ref: str | None, kind: str, key: str) -> str | None:
        """The Message-ID of the mail of ``kind`` for ``key``, if it was sent (or is being)."""
        message_id = message_id_of(
            ref, kind, key, domain=self.domain, message_id_key=self.signing_key
        )
        return message_id if self.sent_mail.record(message_id) is not None else None

    def was_sent(self, ref: str | None, kind: str, key: str) -> bool:
        message_id = message_id_of(
            ref, kind, key, domain=self.domain, message_id_key=self.signing_key
        )
        record = self.sent_mail.record(message_id)
        return record is not None and record.state == "sent"
