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

__all__ = ["RobotReason", "claims_internal", "is_spoofed", "robot_reason"]

RobotReason = Literal["auto_reply", "bounce", "list", "echo"]

_NO_REPLY_SENDER = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[-+_.].*)?$")
# The daemon mailboxes that MTAs write bounces from, as a local part or a display name:
# "MAILER-DAEMON" (sendmail, Postfix, DragonFly), "postmaster" (RFC 5321 section 4.5.1;
# "post_master" at Verizon), "Mail Delivery System"/"Subsystem" (Exim, sendmail, and the
# "Mail.Delivery.System@" mailbox of sisimai's lhost-x3 fixtures).
_DAEMON = re.compile(
    r"^(?:mailer[-_.]?daemon|post[-_.]?master|mail[-_. ]delivery[-_. ]sub)"
    r"|^mail[-_. ]delivery[-_. ]system$",
    re.IGNORECASE,
)
# Subjects that non-delivery notices start with (Postfix, Exim, sendmail, qmail, Exchange,
# Lotus Domino, Gmail, and their German, French, Chinese and Russian wordings). Anchored at
# the start, so "Re:" and "Fwd:" (a person forwarding a bounce) do not match. These are
# also a customer's own words about a parcel ("Non-delivery of my parcel", "Не доставлен
# заказ", "未送达的包裹"): a subject alone never makes a bounce (see _bounce_subject).
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undelivered mail returned to sender|undeliverable\b|undelivered message"
    r"|mail delivery failed|returned mail\b|delivery status notification"
    r"|delivery (?:has )?failure|failure notice|mail system error - returned mail"
    r"|non[- ]?deliver(?:y|able)|delivery notification: delivery has failed"
    r"|warning: could not send message|message delivery failure"
    r"|unzustellbar|nicht zustellbar|non remis|échec de (?:la )?remise"
    r"|退信|未送达|邮件(?:发送|投递)失败|не ?доставлен|недоставленное сообщение)",
    re.IGNORECASE,
)
# Outlook.com's junk-mail reporting program (JMRP) writes its complaint from a mailbox, with
# no report structure, under a subject naming the sending IP address (sisimai's arf-22..24).
# The address literal is what no customer writes.
_COMPLAINT_SUBJECT = re.compile(
    r"^\s*complaint about message from (?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]+)\s*$",
    re.IGNORECASE,
)
# Out-of-office subjects, for responders that set no header at all (Lotus Notes writes
# "AUTO: <name> is out of the office", older Exchange "Out of Office AutoReply:", Outlook
# "Automatic reply:", Apple Mail "Auto reply:"), in English and the desk's languages. Each
# is a prefix ending in a colon (ASCII or full-width), as responders put it before the
# original subject, so that a customer asking "Autoreply not working?" is still a person.
_OUT_OF_OFFICE_SUBJECT = re.compile(
    r"^\s*(?:auto:\s[^\r\n]*\b(?:out of (?:the )?office|abwesend|außer haus|absent)"
    r"|(?:(?:auto(?:matic)?[- ]?repl(?:y|ied)|auto[- ]?respons\w*|out of (?:the )?office"
    r"(?: auto[- ]?reply)?|automatische antwort|abwesenheitsnotiz|réponse automatique"
    r"|risposta automatica|respuesta automática|自动回复|自動回覆|自動応答|автоответ"
    r"|автоматический ответ)\s*[:：])"
    r")",
    re.IGNORECASE,
)


def robot_reason(mail: ParsedMail, *, own_domain: str) -> RobotReason | None:
    """Return why ``mail`` was written by a machine, or None when a person wrote it.

    ``own_domain`` is the helpdesk's own mail domain, used to recognise echoes of the mail
    the helpdesk itself sent.
    """
    for check in _CHECKS:
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


def _report_structure(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 6522: multipart/report is only ever written by software. A read receipt (RFC 8098
    # disposition-notification) is an automatic notice; a delivery report without a
    # parsable delivery-status part (sisimai's lhost-x3 fixtures), an abuse feedback report
    # (RFC 5965 feedback-report, sisimai's arf fixtures) or any other report concerns mail
    # that was sent, and answering it helps nobody.
    content_type = (_topmost(mail, "content-type") or "").lower()
    if not content_type.startswith("multipart/report"):
        return None
    return "auto_reply" if "disposition-notification" in content_type else "bounce"


def _bounce_return_path(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # The envelope sender of a bounce is the daemon whatever the From says (sisimai's
    # lhost-x3: "Return-Path: <MAILER-DAEMON@...>", "From: Mail Delivery System <...>").
    local_part = (mail.return_path or "").rpartition("@")[0] or (mail.return_path or "")
    return "bounce" if _DAEMON.match(local_part) else None


def _bounce_sender(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # MTAs send non-standard bounces from MAILER-DAEMON; RFC 5321 section 4.5.1 reserves
    # "postmaster" for the mail administrator, whom MTAs also use as the bounce author. The
    # raw From counts too: "MAILER-DAEMON <>" (DragonFly) and "<MAILER-DAEMON>" (sendmail)
    # carry no address a parser keeps.
    if mail.sender is not None:
        local_part = mail.sender.key.rpartition("@")[0]
        if _DAEMON.match(local_part) or _DAEMON.match(mail.sender.name.strip()):
            return "bounce"
    raw_from = (_topmost(mail, "from") or "")[:_MAX_FROM_CHARS].strip()
    if raw_from == "<>":
        # The null reverse-path written into From: only MTAs do that (McAfee Email
        # Gateway's "Delivery Status", sisimai's lhost-mcafee-04).
        return "bounce"
    return "bounce" if _DAEMON.match(raw_from.strip('"<>')) else None


def _bounce_subject(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # Vendors' non-standard bounces (qmail's "failure notice", Domino's "DELIVERY FAILURE")
    # carry no report, but RFC 5321 section 4.5.5 has every MTA send its non-delivery
    # notification with the null reverse-path, which the server making final delivery (SES
    # here) writes at the top as Return-Path: "<>" (RFC 5321 section 4.4). With it, the
    # subject says the notice is a bounce rather than some other automatic mail. Without
    # it (and without the daemon sender or the multipart/report that the checks before
    # this one catch), the same words are a customer's ("Non-delivery of my parcel"): a
    # subject alone never makes a bounce.
    if mail.return_path != "" or not _BOUNCE_SUBJECT.match(mail.subject):
        return None
    return "bounce"


def _complaint_subject(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    return "bounce" if _COMPLAINT_SUBJECT.match(mail.subject) else None


def _out_of_office_subject(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # Responders without RFC 3834 headers (Lotus Notes, older Exchange, Apple's vacation
    # reply in sisimai's rfc3834-03) still say what they are in the subject.
    return "auto_reply" if _OUT_OF_OFFICE_SUBJECT.match(mail.subject) else None


def _auto_submitted(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # RFC 3834 section 5: any Auto-Submitted value other than "no" (auto-replied,
    # auto-generated, auto-notified, extensions) marks automatic mail; parameters follow ";".
    value = _topmost(mail, "auto-submitted")
    if value is None:
        return None
    keyword = value.split(";", 1)[0].strip().lower()
    return "auto_reply" if keyword and keyword != "no" else None


def _vendor_auto_reply_headers(mail: ParsedMail, own_domain: str) -> RobotReason | None:
    # Not standardised but widely sent: X-Autoreply (Yahoo, Zimbra), X-Autorespond
    # (cPanel/Exim vacation), X-Auto-Response-Suppress (Exchange marks its own automatic
    # mail so that others do not answer it), and SES/WorkMail's X-Amazon-Mail-Relay-Type.
    # Also X-Autogenerated (Reply), X-AutoReply-From, X-Mail-Autoreply and X-Autoresponder
    # (qmail/vpopmail and hosting panels), and Apple iCloud's X-Apple-Action: VACATION.
    for name in _AUTO_REPLY_HEADERS:
        if _topmost(mail, name):
            return "auto_reply"
    if (_topmost(mail, "x-amazon-mail-relay-type") or "").upper() == "NOTIFICATION":
        return "auto_reply"
    if (_topmost(mail, "x-apple-action") or "").upper() == "VACATION":
        return "auto_reply"
    if "autoresponder" in (_topmost(mail, "x-post-messageclass") or "").lower():
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
    # Older list managers name themselves instead: fml's X-MLServer and X-ML-Name (sisimai's
    # lhost-fml fixtures), ezmlm's Mailing-List, Mailman's X-Mailman-Version.
    for name in _LIST_HEADERS:
        if _topmost(mail, name):
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


_MAX_FROM_CHARS = 256
_AUTO_REPLY_HEADERS = (
    "x-autoreply", "x-autorespond", "x-auto-response-suppress", "x-autogenerated",
    "x-autoreply-from", "x-mail-autoreply", "x-autoresponder",
)  # fmt: skip
_LIST_HEADERS = (
    "list-id", "list-unsubscribe", "x-mlserver", "x-ml-name", "mailing-list",
    "x-mailman-version",
)  # fmt: skip

# Most specific first: the first check that fires names the reason.
_CHECKS: tuple[Callable[[ParsedMail, str], RobotReason | None], ...] = (
    _echo_of_own_message,
    _delivery_status_notification,
    _report_structure,
    _bounce_return_path,
    _bounce_sender,
    _auto_submitted,
    _vendor_auto_reply_headers,
    _precedence,
    _list_headers,
    _bounce_subject,
    _null_return_path,
    _complaint_subject,
    _out_of_office_subject,
    _no_reply_sender,
)


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
    return claims_internal(
        mail.sender.key, own_domain=own_domain, agent_emails=agent_emails
    ) and not mail.auth.authenticates(mail.sender.key)


def claims_internal(address: str, *, own_domain: str, agent_emails: Collection[str]) -> bool:
    """Whether ``address`` is the desk's own (its mail domain or a subdomain of it) or
    one of its staff's (``agent_emails``: Config.staff_emails). Mail from such an address
    must prove it (:func:`is_spoofed`); the form and the channels prove no address at all,
    so there it always counts as spoofed (attack 18, A18-10)."""
    key = address.strip().lower()
    domain = key.rpartition("@")[2]
    own = own_domain.lower()
    agents = {staff.lower() for staff in agent_emails}
    return domain == own or domain.endswith(f".{own}") or key in agents
