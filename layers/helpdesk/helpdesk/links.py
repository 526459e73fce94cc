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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from helpdesk.errors import Forbidden
from helpdesk.signing import keyed_digest

if TYPE_CHECKING:
    from helpdesk.model import Ticket

__all__ = [
    "LinkRefused",
    "make_link_token",
    "read_link_token",
    "ticket_of_link",
    "verify_link_token",
]

# What a link names: a ticket reference, or a reference and an article slug.
Subject = TypeVar("Subject")


class LinkRefused(Forbidden):
    """A link that must not be honoured; ``reason`` is forged, malformed or expired.
    ``ref`` is the ticket an expired link names; ``ticket`` that ticket, when a page
    looked it up (to answer in its language)."""

    def __init__(self, reason: str, ref: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ref = ref
        self.ticket: Ticket | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _purpose(purpose: str) -> bytes:
    # helpdesk.signing: a purpose ends in a byte no purpose contains elsewhere.
    return f"helpdesk-{purpose}-link".encode("ascii") + b"\x00"


def make_link_token(purpose: str, subject: str, expires: datetime, key: bytes) -> str:
    """A token for ``purpose`` naming ``subject`` (ASCII) that verifies until ``expires``."""
    payload = f"{subject}.{int(expires.timestamp())}".encode("ascii")
    return f"{_b64(payload)}.{_b64(keyed_digest(key, _purpose(purpose), payload))}"


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
        payload = _unb64(encoded_payload)
        signature = _unb64(encoded_signature)
    except (binascii.Error, ValueError):
        raise LinkRefused("malformed") from None
    if _b64(payload) != encoded_payload or _b64(signature) != encoded_signature:
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


def ticket_of_link(
    verify: Callable[[], Subject],
    ref_of: Callable[[Subject], str],
    find_ticket: Callable[[str], Ticket | None],
) -> tuple[Ticket, Subject]:
    """The ticket behind a customer's link and what the link names, for every page behind
    one (the survey, the ticket's page, the "this answered my question" page).

    ``verify`` checks the token (:class:`LinkRefused` otherwise); an expired link still
    names its ticket, which the refusal carries so that its page speaks the ticket's
    language. A genuine link whose ticket no longer exists is refused as forged.
    """
    from helpdesk.model import is_reference

    try:
        subject = verify()
    except LinkRefused as refused:
        if refused.ref is not None and is_reference(refused.ref):
            refused.ticket = find_ticket(refused.ref)
        raise
    ticket = find_ticket(ref_of(subject))
    if ticket is None:
        raise LinkRefused("forged")
    return ticket, subject
