"""Signed links for customers: a token that names what it opens, expires, and cannot be
forged, altered or used for another purpose.

A token is ``base64url(payload).base64url(HMAC-SHA256)`` with ``payload`` =
``{subject}.{expiry as Unix seconds}``, signed under the desk's key (SSM Parameter Store)
for one ``purpose`` (helpdesk.signing: domain separation, so a survey link never opens a
customer's page nor the other way round). The subject is what the link opens: a ticket
reference, or a reference and an article slug. Links go by mail, so they are short and use
only URL-safe characters (RFC 4648 §5, without padding).

Following a link records nothing: mail security scanners open every link in a mail, so
only a page's POST ever changes a ticket.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from helpdesk.errors import Forbidden
from helpdesk.signing import keyed_digest

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Ticket
    from helpdesk.ports import TicketFinder, TicketUnitOfWork

__all__ = [
    "LinkDesk",
    "LinkKind",
    "LinkRefused",
    "make_link_token",
    "read_link_token",
    "reference",
    "verify_link_token",
]

# What a link names: a ticket reference, or a reference and an article slug.
Subject = TypeVar("Subject")


# Hosts that are this machine: `helpdesk local` serves the pages there, over plain HTTP, so
# its links keep http and its host (functions/customer_page/app.py, notices/portal.py).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class LinkRefused(Forbidden):
    """A link that must not be honoured; ``reason`` is forged, malformed or expired.
    ``ref`` is the ticket an expired link names; ``ticket`` that ticket, when a page
    looked it up (to answer in its language)."""

    def __init__(self, reason: str, ref: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ref = ref
        self.ticket: Ticket | None = None


def b64url(data: bytes) -> str:
    """``data`` in base64url without padding (RFC 4648 section 5): safe in a URL's path and
    query as it is."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """The bytes :func:`b64url` wrote; ValueError (binascii.Error) for what it cannot."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _purpose(purpose: str) -> bytes:
    # helpdesk.signing: a purpose ends in a byte no purpose contains elsewhere.
    return f"helpdesk-{purpose}-link".encode("ascii") + b"\x00"


def make_link_token(purpose: str, subject: str, expires: datetime, key: bytes) -> str:
    """A token for ``purpose`` naming ``subject`` (ASCII) that verifies until ``expires``."""
    payload = f"{subject}.{int(expires.timestamp())}".encode("ascii")
    return f"{b64url(payload)}.{b64url(keyed_digest(key, _purpose(purpose), payload))}"


def verify_link_token(purpose: str, token: str, key: bytes, *, now: datetime) -> str:
    """The subject of a genuine, unexpired token for ``purpose``; :class:`LinkRefused`
    otherwise (``expired`` carries the subject's ticket reference, its first 9 characters).
    """
    return read_link_token(purpose, token, key, now=now)[0]


def read_link_token(purpose: str, token: str, key: bytes, *, now: datetime) -> tuple[str, datetime]:
    """The subject of a genuine, unexpired token for ``purpose`` and when the token
    expires; :class:`LinkRefused` otherwise (as :func:`verify_link_token`). A page that
    hands out further links gives them no later expiry than this one: a link must never
    buy a longer-lived one (links would then renew each other for ever).

    The signature is compared in constant time (``hmac.compare_digest``) so that timing
    does not reveal how much of a guessed signature was right.
    """
    encoded_payload, dot, encoded_signature = token.partition(".")
    try:
        payload = unb64url(encoded_payload)
        signature = unb64url(encoded_signature)
    except (binascii.Error, ValueError):
        raise LinkRefused("malformed") from None
    if b64url(payload) != encoded_payload or b64url(signature) != encoded_signature:
        # base64 ignores the spare low bits of a last character: without this, an altered
        # link could still decode to the genuine bytes.
        raise LinkRefused("malformed")
    expected = keyed_digest(key, _purpose(purpose), payload)
    if not dot or not hmac.compare_digest(signature, expected):
        raise LinkRefused("forged")
    subject, _, expiry = payload.decode("ascii", "replace").rpartition(".")
    if not subject or not expiry.isdigit():
        raise LinkRefused("malformed")
    expires = datetime.fromtimestamp(int(expiry), UTC)
    if now >= expires:
        raise LinkRefused("expired", subject[:9])
    return subject, expires


@dataclass(frozen=True)
class LinkKind(Generic[Subject]):
    """One kind of customer link (the ticket's page, a survey, an answer link): the
    ``purpose`` its tokens are signed for, how its subject reads (``parse``: what the
    subject names, None for a malformed one) and which ticket that is (``ref_of``).

    Expired, its subject is not read further; its first 9 characters still name the
    ticket (every subject begins with the reference)."""

    purpose: str
    parse: Callable[[str], Subject | None]
    ref_of: Callable[[Subject], str]

    def make(self, subject: str, expires: datetime, key: bytes) -> str:
        """A token naming ``subject`` that verifies until ``expires``."""
        return make_link_token(self.purpose, subject, expires, key)

    def read(self, token: str, key: bytes, *, now: datetime) -> tuple[Subject, datetime]:
        """What a genuine, unexpired token names and when it expires; :class:`LinkRefused`
        otherwise (:func:`read_link_token`, and ``malformed`` for a subject that does not
        read)."""
        text, expires = read_link_token(self.purpose, token, key, now=now)
        subject = self.parse(text)
        if subject is None:
            raise LinkRefused("malformed")
        return subject, expires

    def ticket(
        self,
        token: str,
        key: bytes,
        *,
        now: datetime,
        find_ticket: Callable[[str], Ticket | None],
    ) -> tuple[Ticket, Subject]:
        """The ticket behind a token and what the token names, for every page behind a
        link. An expired link still names its ticket, which the refusal carries so that
        its page speaks the ticket's language. A genuine link whose ticket no longer
        exists is refused as forged."""
        from helpdesk.model import is_reference

        try:
            subject, _ = self.read(token, key, now=now)
        except LinkRefused as refused:
            if refused.ref is not None and is_reference(refused.ref):
                refused.ticket = find_ticket(refused.ref)
            raise
        ticket = find_ticket(self.ref_of(subject))
        if ticket is None:
            raise LinkRefused("forged")
        return ticket, subject


def reference(subject: str) -> str | None:
    """A subject that is a ticket reference alone (the page's and the survey's links)."""
    from helpdesk.model import is_reference

    return subject if is_reference(subject) else None


@dataclass(frozen=True)
class LinkDesk:
    """What every page behind a customer's link holds (the ticket's page, the survey, the
    answer page): the tickets, the configuration, and the key its links are signed with;
    :meth:`_opened` is the one check of a link such a page opens."""

    uow: TicketUnitOfWork
    repo: TicketFinder
    config: Config
    signing_key: bytes

    def _opened(self, kind: LinkKind[Subject], token: str, now: datetime) -> tuple[Ticket, Subject]:
        """The ticket behind ``token`` and what it names; :class:`LinkRefused` otherwise."""
        return kind.ticket(token, self.signing_key, now=now, find_ticket=self.repo.find_ticket)
