"""Recognising mail written by machines, which the helpdesk must never answer.

Answering an auto-reply with an auto-acknowledgement is how mail loops start (RFC 3834
section 1); answering a bounce or a mailing list is noise at best.  Each check below is a
small function for one signal, citing where the signal is defined; ``robot_reason`` returns
the first that fires, most specific first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Literal

from helpdesk.mail.parse import ParsedMail

__all__ = ["RobotReason", "is_spoofed", "robot_reason"]

RobotReason = Literal["auto_reply", "bounce", "list", "echo"]

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_NO_REPLY_SENDER = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[-+_.].*)?$")


def robot_reason(mail: ParsedMail, *, own_domain: str) -> RobotReason | None:
    """Return why ``mail`` was written by a machine, or None when a person wrote it.

    ``own_domain`` is the helpdesk's own mail domain, used to recognise echoes of the mail
    the helpdesk itself sent.
    """
    checks: tuple[Callable[[ParsedMail, str], RobotReason | None], ...] = (
        _echo_of_own_message,
        _delivery_status_notification,
        _bounce_sender,
        _auto_submitted,
        _read_receipt,
        _vendor_auto_reply_headers,
        _precedence,
        _list_headers,
        _null_return_path,
        _no_reply_sender,
    )
    for check in checks:
        reason = check(mail, own_domain)
        if reason is not None:
            return reason
    return None


def _topmost(mail: ParsedMail, name: str) -> str | None:
    values = mail.headers.get(name)
    return values[0].strip() if values else None


def _echo_of_own_message(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # The helpdesk's outbound Message-IDs are "hd.<anything>@<own_domain>"; one coming back
    # in (an agent Cc'ing the support address, a forwarding loop) is our own mail.
    message_id = (mail.message_id or "").lower()
    if message_id.startswith("hd.") and message_id.endswith(f"@{own_domain.lower()}"):
        return "echo"
    return None


def _delivery_status_notification(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 3464: multipart/report; report-type=delivery-status is a DSN, i.e. a bounce or a
    # delay warning about mail we sent.
    return "bounce" if mail.report is not None else None


def _bounce_sender(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # MTAs send non-standard bounces from MAILER-DAEMON; RFC 5321 section 4.5.1 reserves
    # "postmaster" for the mail administrator, whom MTAs also use as the bounce author.
    local_part = mail.sender.key.rpartition("@")[0] if mail.sender else ""
    return "bounce" if local_part in _BOUNCE_SENDERS else None


def _auto_submitted(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 3834 section 5: any Auto-Submitted value other than "no" (auto-replied,
    # auto-generated, auto-notified, extensions) marks automatic mail; parameters follow ";".
    value = _topmost(mail, "auto-submitted")
    if value is None:
        return None
    keyword = value.split(";", 1)[0].strip().lower()
    return "auto_reply" if keyword and keyword != "no" else None


def _read_receipt(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 8098: read receipts are multipart/report; report-type=disposition-notification.
    content_type = (_topmost(mail, "content-type") or "").lower()
    if content_type.startswith("multipart/report") and "disposition-notification" in content_type:
        return "auto_reply"
    return None


def _vendor_auto_reply_headers(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # Not standardised but widely sent: X-Autoreply (Yahoo, Zimbra), X-Autorespond
    # (cPanel/Exim vacation), X-Auto-Response-Suppress (Exchange marks its own automatic
    # mail so that others do not answer it), and SES/WorkMail's X-Amazon-Mail-Relay-Type.
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        if _topmost(mail, name):
            return "auto_reply"
    if (_topmost(mail, "x-amazon-mail-relay-type") or "").upper() == "NOTIFICATION":
        return "auto_reply"
    return None


def _precedence(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 3834 section 3.1.8 and RFC 2076 section 3.9: Precedence bulk/junk/list marks mass
    # mail; "auto_reply" is what some responders (Exchange, vacation) put there instead.
    value = (_topmost(mail, "precedence") or "").lower()
    if value in ("bulk", "junk", "list"):
        return "list"
    if value in ("auto_reply", "auto-reply"):
        return "auto_reply"
    return None


def _list_headers(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 2919 (List-Id) and RFC 2369 (List-Unsubscribe): the mail came through a list or
    # a bulk sender.
    if _topmost(mail, "list-id") or _topmost(mail, "list-unsubscribe"):
        return "list"
    return None


def _null_return_path(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 5321 section 4.5.5: notifications are sent with the null reverse-path "<>" so
    # that nobody answers them; with a report it is a bounce, otherwise an automatic notice.
    if mail.return_path != "":
        return None
    content_type = (_topmost(mail, "content-type") or "").lower()
    return "bounce" if content_type.startswith("multipart/report") else "auto_reply"


def _no_reply_sender(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # Convention, not a standard: "no-reply@", "noreply@", "do-not-reply@" senders discard
    # answers, so a reply would only bounce.
    local_part = mail.sender.key.rpartition("@")[0] if mail.sender else ""
    return "auto_reply" if _NO_REPLY_SENDER.match(local_part) else None


def is_spoofed(mail: ParsedMail, *, own_domain: str, agent_emails: Collection[str]) -> bool:
    """Whether ``mail`` claims to come from the helpdesk's domain or an agent but its
    authentication does not prove that From domain: no DMARC pass for it, and no SPF or
    DKIM pass for a domain aligned with it (RFC 7489 section 3.1; see
    :meth:`AuthResults.authenticates`). A pass for the sender's own server's domain proves
    nothing about ours.

    Mail that claims no internal sender is never "spoofed" here; outsiders are customers.
    """
    if mail.sender is None:
        return False
    domain = mail.sender.key.rpartition("@")[2]
    own = own_domain.lower()
    agents = {address.lower() for address in agent_emails}
    claims_internal = domain == own or domain.endswith(f".{own}") or mail.sender.key in agents
    return claims_internal and not mail.auth.authenticates(mail.sender.key)
