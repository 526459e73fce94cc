"""Mail that brings the conversation to the agent: a customer's message, a colleague's note.

Agents work from their mailbox, so every customer message on a ticket reaches whoever works
on it: the assignee, or, while nobody holds the ticket, the team as its config says
(``teams[].notify_unassigned``: the lead(s) by default, or every member who is not away).
An internal note reaches the assignee when a colleague wrote it (nobody needs their own
note mailed back).

The mail shows the new text on top (the quoted history is already cut off by the intake),
the ticket's status, what is due and when, and the customer's attachments: attached while
they fit ``limits.relay_attachment_max_bytes`` together, listed beyond it (they stay with
the ticket; docs/SECURITY.md says why no download link is mailed). It is the desk's mail,
sent once per message and reader through :meth:`Notifier.send`, so its Message-ID is the
desk's own: the agent's answer threads onto the ticket by it (and by the Reply-To
plus-address) and goes the agent-mail way to the customer, commands and all. A note's
mail is of its own kind (``note``): an answer to it stays an internal note
(:func:`answers_a_note`), never a mail to the customer.

What a relay may carry is decided here, one rule each (docs/SECURITY.md, "A customer's
message relayed to the agent"): files are attached only from a mail SES authenticated for
its From domain and scanned clean, and never a type that runs code when opened; headers
name the customer by address, never by the name they gave; each reader hears at most
``limits.outbound_per_ticket_per_hour`` messages of one ticket,
``limits.counted_outbound_per_recipient_per_hour`` of one customer and
``limits.relays_per_reader_per_hour`` in all per hour (the rest stay on the ticket).

A customer's message also shows the agent's assistant (:mod:`helpdesk.notices.assistant`):
the articles and saved replies that may answer it, with the ``#reply`` line to type.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from helpdesk.clock import parse_iso
from helpdesk.errors import NotFound
from helpdesk.model import proves_its_author, reads_unverified
from helpdesk.notices import audience
from helpdesk.notices.outbound import relay_quotas, ticket_quota

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from helpdesk.config import Config
    from helpdesk.events import CustomerReplied, NoteAdded
    from helpdesk.mail.compose import OutboundMail
    from helpdesk.model import AttachmentMeta, Direction, Message, Ticket
    from helpdesk.notices.desk import Notifier
    from helpdesk.notices.outbound import Quota, SendResult

# The mail kinds (the Message-ID's and X-Helpdesk-Kind's): the desk relays a customer's
# words to an agent, or a colleague's note (whose answers stay internal).
RELAY = "relay"
NOTE_RELAY = "note"
# What the intake records on a message that SES did not vouch for (email_intake._unvouched):
# its files are listed, never attached.
UNVOUCHED_FLAGS = frozenset({"unauthenticated", "unscanned"})
# Relays of one ticket to one reader in an hour that carry files (each up to
# limits.relay_attachment_max_bytes); later ones list them, kept with the ticket.
RELAYS_WITH_FILES_PER_HOUR = 3
FILES_LIMIT = "relay_files_limit"
# File types that run code (or script), or make Windows reach out, when opened from a mail:
# never attached, whatever the verdicts; listed, kept with the ticket. The one list, used by
# the relay and by the customer's page (services/portal._downloadable). Microsoft's
# "Blocked attachments in Outlook" list (support.microsoft.com, article 434752e1; checked
# against it in December 2026, with the types Outlook on the web and Exchange Online added
# since: .appx/.appxbundle/.msixbundle packages, the .search-ms/.searchconnector-ms/
# .library-ms/.settingcontent-ms shell files, .cdxml/.pssc PowerShell, .udl data links),
# plus the macro-enabled Office formats, HTML (scripts run in the browser, and it is the
# usual phishing page), disk images that mount with one click, App Installer files, and
# the theme packs (.themepack, .deskthemepack: a .theme in a cab; a .theme opened leaks the
# user's NTLM hash, CVE-2024-21320). Attack 20 added Excel's other macro carriers (.xlsb,
# .xla, Excel 4 .xlm, SYLK .slk), the .iqy web query, the .rdp connection file (spear
# phishing in 2024 handed out a remote desktop to an attacker's server this way), and the
# installers and launchers of macOS (.dmg, .pkg, .command) and Linux desktops (.desktop).
# Legacy .doc/.xls/.ppt and archives stay attached: Office opens mail's files in Protected
# View, and customers send them daily. Attack 21: .shtml/.shtm (HTML), .accde (Access
# macros), .onepkg (OneNote, as .one), and a mail inside the mail (.eml, .msg,
# message/rfc822), whose own files the list never sees: held whole, the agent downloads
# it from the agent API. Attack 22: Office add-ins (.vsto, .wll, .ppa), Access databases
# (.accdb, .accdr), macOS shortcuts and terminal files (.terminal, .fileloc, .webloc,
# .inetloc), Citrix .ica, .appcontent-ms, compressed SVG, and .mobileconfig profiles. Not
# .xml: e-invoices are XML. A blocklist falls behind: docs/SECURITY.md says so.
RISKY_EXTENSIONS = frozenset(
    {
        "ade", "adp", "app", "appinstaller", "appref-ms", "application", "appx",
        "appxbundle", "asp", "aspx", "asx", "bas", "bat", "bgi", "cab", "cdxml", "cer",
        "chm", "cmd", "cnt", "com", "cpl", "crt", "csh", "der", "deskthemepack",
        "desktopthemepackfile", "diagcab", "dll", "docm", "dotm", "exe", "fxp", "gadget",
        "grp", "hlp", "hpj", "hta", "htc", "htm", "html", "img", "inf", "ins", "iso", "isp",
        "its", "jar", "jnlp", "js", "jse", "ksh", "library-ms", "lnk", "mad", "maf", "mag",
        "mam", "maq", "mar", "mas", "mat", "mau", "mav", "maw", "mcf", "mda", "mdb", "mde",
        "mdt", "mdw", "mdz", "mht", "mhtml", "msc", "msh", "msh1", "msh1xml", "msh2",
        "msh2xml", "mshxml", "msi", "msix", "msixbundle", "msp", "mst", "msu", "ocx", "one",
        "ops", "osd", "pcd", "pif", "pl", "plg", "potm", "ppam", "ppsm", "pptm", "prf", "prg",
        "printerexport", "ps1", "ps1xml", "ps2", "ps2xml", "psc1", "psc2", "psd1", "psdm1",
        "pssc", "pst", "py", "pyc", "pyo", "pyw", "pyz", "pyzw", "reg", "scf", "scr", "sct",
        "search-ms", "searchconnector-ms", "settingcontent-ms", "sh", "shb", "shs", "sldm",
        "svg", "sys", "theme", "themepack", "tmp", "udl", "url", "vb", "vbe", "vbp", "vbs",
        "vhd", "vhdx", "vsmacros", "vsw", "webpnp", "website", "ws", "wsb", "wsc", "wsf",
        "wsh", "xbap", "xht", "xhtml", "xlam", "xll", "xlsm", "xltm", "xnk",
        "xlsb", "xla", "xlm", "slk", "iqy", "rdp", "dmg", "pkg", "command", "desktop",
        "shtml", "shtm", "accde", "onepkg", "eml", "msg", "u8msg",
        "vsto", "wll", "ppa", "terminal", "fileloc", "webloc", "inetloc", "ica", "accdb",
        "accdr", "appcontent-ms", "svgz", "mobileconfig",
    }
)  # fmt: skip
RISKY_CONTENT_TYPES = frozenset(
    {
        "application/hta", "application/java-archive", "application/javascript",
        "application/x-javascript", "application/x-msdownload", "application/x-msdos-program",
        "application/x-ms-installer", "application/x-msi", "application/x-sh",
        "application/xhtml+xml", "image/svg+xml", "text/html", "text/javascript",
        "application/vnd.ms-outlook",
    }
)  # fmt: skip
TEMPLATE = "customer_message"
NO_DUE = "-"


@dataclass(frozen=True)
class RelayedFile:
    """An attachment as the relay mail names it: ``state`` is ``attached``, ``kept`` (with
    the ticket, over the relay's limit), ``held`` (with the ticket, not safe to attach) or
    ``dropped`` (never kept: the intake's reason)."""

    filename: str
    content_type: str
    size: int
    state: str
    data: bytes = b""


# ``held``: kept with the ticket, never attached: from a mail SES did not vouch for, or of a
# type that runs code when opened.
HELD = "held"


def customer_message(notifier: Notifier, event: CustomerReplied, now: datetime) -> None:
    """CustomerReplied: whoever works on the ticket reads the customer's new message."""
    ticket = notifier.repo.get_ticket(event.ref)
    message = _message(notifier, event, "in", now)
    recipients = customer_message_recipients(ticket, notifier.config)
    _relay(notifier, ticket, message, recipients, now=now)


def colleague_note(notifier: Notifier, event: NoteAdded, now: datetime) -> None:
    """NoteAdded: the assignee reads a note a colleague left on their ticket."""
    ticket = notifier.repo.get_ticket(event.ref)
    if not ticket.assignee or ticket.assignee.lower() == event.sender.lower():
        return  # nobody holds it, or the assignee wrote it: nobody to tell
    message = _message(notifier, event, "note", now)
    _relay(notifier, ticket, message, (ticket.assignee.lower(),), now=now)


def customer_message_recipients(ticket: Ticket, config: Config) -> tuple[str, ...]:
    """Who reads a customer's message: the assignee; while nobody holds the ticket, the
    team's lead(s), or with ``notify_unassigned: members`` every member not away (the
    leads when none is in); a ticket of a team no longer in the config reaches every lead.

    One accountable reader is the default: a message mailed to a whole team is a message
    each member may assume another answers, and the lead is who assigns it.
    """
    if ticket.assignee:
        return (ticket.assignee.lower(),)
    try:
        team = config.team(ticket.team)
    except KeyError:
        return audience.every_lead(config)
    if team.notify_unassigned == "members":
        members = tuple(a.email for a in config.agents_of(team.name) if not a.away)
        if members:
            return members
    return team.leads or audience.every_lead(config)


# ---------------------------------------------------------------------- the mail
def _relay(
    notifier: Notifier,
    ticket: Ticket,
    message: Message,
    recipients: tuple[str, ...],
    *,
    now: datetime,
) -> None:
    if not recipients:
        return
    from helpdesk.notices.assistant import assistant
    from helpdesk.render import language_words

    config = notifier.config
    limits = config.limits
    whole = notifier.whole(message)
    note = message.direction == "note"
    unvouched = UNVOUCHED_FLAGS & set(message.flags)
    files = relayed_files(
        notifier, message, limits.relay_attachment_max_bytes, hold=bool(unvouched)
    )
    author = audience.agent_name(message.author, config) if note else writer(message, ticket)
    # Headers are what a mail client shows as "who wrote": the colleague's name from the
    # config, the customer's address. The name in a customer's From is theirs to choose
    # ("Lena Agent (your colleague)"), so only the body shows it, next to the address.
    named = author if note else message.author
    # The articles and saved replies that may answer the customer's new words (a
    # colleague's note asks nothing of the knowledge base).
    shown = [] if note else assistant(notifier, ticket, whole.text)

    def relayed(recipient: str, files: list[RelayedFile]) -> OutboundMail:
        language = audience.reader_language(recipient, config)
        due_reply, due_resolution = _due(ticket, config, language)
        rendered = notifier.render(
            TEMPLATE,
            language,
            {
                "ref": ticket.ref,
                "subject": ticket.subject,
                "note": note,
                "author": author,
                "author_email": message.author,
                "named": named,
                # Mail SES did not authenticate, or an address a chat's visitor typed.
                "unverified": reads_unverified(message),
                # Only mail passes SES's virus scan: a file from the customer's page or a
                # channel was never scanned, which is not a failed scan (first-user F6).
                "unscanned": "unscanned" in unvouched and message.channel is None,
                "unscanned_upload": "unscanned" in unvouched and message.channel == "portal",
                "unscanned_channel": message.channel
                if "unscanned" in unvouched and message.channel not in (None, "portal")
                else None,
                "message_text": whole.text,
                "status": ticket.status,
                "due_reply": due_reply,
                "due_resolution": due_resolution,
                "attachments": [
                    {"filename": f.filename, "size": f.size, "state": f.state} for f in files
                ],
                "attachment_limit": limits.relay_attachment_max_bytes,
                "unreachable_channel": audience.unreachable_channel(ticket),
                "helpdesk_name": config.helpdesk.name,
                "assistant": shown,
                "assistant_words": language_words(
                    "assistant", language, fallback_language=config.default_language
                ),
            },
        )
        mail = notifier.mail(
            NOTE_RELAY if note else RELAY,
            ticket.ref,
            (recipient,),
            rendered,
            sender_name=f"{named} via {config.helpdesk.name}",
        )
        return with_attachments(mail, files)

    for recipient in recipients:
        # One mail per message and reader: a redelivered event finds it sent. Counted per
        # reader and ticket (its own counter, apart from the customer's progress notices)
        # and per reader and customer, so that mail forged in a customer's name cannot bury
        # an agent, nor one customer's flood mute the others' messages (attack 10, F3);
        # past a limit the message stays on the ticket, unmailed for that hour.
        mail = relayed(recipient, files)
        counted = [
            *relay_quotas(
                mail,
                message.author or ticket.contact_email,
                now,
                # Counted as hers only when it proves she wrote it: mail SES did not
                # authenticate, or an address a chat's visitor typed, is counted apart
                # (review 11, #4; attack 20, F1).
                authenticated=proves_its_author(message),
                per_customer=limits.counted_outbound_per_recipient_per_hour,
                per_reader=limits.relays_per_reader_per_hour,
            ),
            ticket_quota(f"{ticket.ref}:{recipient}", now, limits.outbound_per_ticket_per_hour),
        ]
        send_carrying_files(
            notifier,
            partial(relayed, recipient),
            files,
            ticket=ticket.ref,
            reader=recipient,
            key=f"{message.id}:{recipient}",
            now=now,
            quotas=counted,
            recipient_limit=False,
        )


def send_carrying_files(
    notifier: Notifier,
    build: Callable[[list[RelayedFile]], OutboundMail],
    files: list[RelayedFile],
    *,
    ticket: str,
    reader: str,
    key: str,
    now: datetime,
    quotas: Sequence[Quota] = (),
    recipient_limit: bool = True,
) -> SendResult:
    """Send the mail ``build`` makes of ``files`` to ``reader`` (a relay, an assignment):
    only the first :data:`RELAYS_WITH_FILES_PER_HOUR` mails of a ticket to a reader in an
    hour carry files, the rest list them as kept, so that no sender, authenticated or not,
    fills a mailbox with them (nor do reassignments, attack 20, F4)."""
    mail = build(files)
    if mail.attachments:
        carrying = replace(
            ticket_quota(f"{ticket}:{reader}:files", now, RELAYS_WITH_FILES_PER_HOUR),
            reason=FILES_LIMIT,
        )
        sent = notifier.send(
            mail, key=key, now=now, quotas=[*quotas, carrying], recipient_limit=recipient_limit
        )
        if sent.reason != FILES_LIMIT:
            return sent
        mail = build(_unattached(files))
    return notifier.send(mail, key=key, now=now, quotas=quotas, recipient_limit=recipient_limit)


def _unattached(files: list[RelayedFile]) -> list[RelayedFile]:
    return [replace(f, state="kept", data=b"") if f.state == "attached" else f for f in files]


def answers_a_note(in_reply_to: Sequence[str], config: Config) -> bool:
    """Whether a mail answers the desk's mail of a colleague's note: its nearest parent
    (In-Reply-To) is a Message-ID of ours of kind ``note``
    (:func:`helpdesk.mail.compose.make_message_id`: ``hd.<ticket>.<kind>.<digest>@<domain>``).
    Such an answer is an internal note, never a reply to the customer. The digest is not
    checked: a forged ID can only turn an agent's own reply into a note."""
    from helpdesk.mail.compose import own_message_kind

    if not in_reply_to:
        return False
    return own_message_kind(in_reply_to[0], config.helpdesk.mail_domain) == NOTE_RELAY


def writer(message: Message, ticket: Ticket) -> str:
    """How the mail names the customer who wrote: their name in the mail, else the
    contact's name when the contact wrote (a participant on Cc is not the contact)."""
    if message.author_name:
        return message.author_name
    if message.author.lower() == ticket.contact_email.lower() and ticket.contact_name:
        return ticket.contact_name
    return message.author


def with_attachments(mail: OutboundMail, files: list[RelayedFile]) -> OutboundMail:
    attached = tuple((f.filename, f.content_type, f.data) for f in files if f.state == "attached")
    return replace(mail, attachments=attached)


def _message(
    notifier: Notifier, event: CustomerReplied | NoteAdded, direction: Direction, now: datetime
) -> Message:
    """The message the event is about, as the ticket keeps it; from the event alone when
    the ticket no longer lists it (or the event predates its ``message``)."""
    from helpdesk.model import Message

    if event.message:
        found = notifier.repo.message(event.ref, event.message)
        if found is not None:
            return found
    # Keyed by its text: the same event again is the same mail again.
    key = event.message or hashlib.sha256(f"{event.sender}\n{event.text}".encode()).hexdigest()[:20]
    return Message(
        id=key,
        ticket=event.ref,
        direction=direction,
        author=event.sender.lower(),
        at=now,
        text=event.text,
    )


def relayed_files(
    notifier: Notifier, message: Message, limit: int, *, hold: bool
) -> list[RelayedFile]:
    """The message's attachments (inline images aside: they belong to the HTML, which the
    relay does not carry), attached in the customer's order while they fit ``limit``;
    every one held with ``hold``."""
    files: list[RelayedFile] = []
    budget = limit
    for attachment in message.attachments:
        if attachment.inline:
            continue
        files.append(_file(notifier, attachment, budget, hold=hold or runs_code(attachment)))
        if files[-1].state == "attached":
            budget -= attachment.size
    return files


def runs_code(attachment: AttachmentMeta) -> bool:
    """Whether the file is of a type that runs code when opened (:data:`RISKY_EXTENSIONS`,
    :data:`RISKY_CONTENT_TYPES`), by its last extension as the agent's system reads it: the
    last path component (as mail/compose.py sends it), trailing dots and spaces dropped
    (Windows drops them: "run.js." opens as "run.js")."""
    name = attachment.filename.replace("\\", "/").rsplit("/", 1)[-1].rstrip(". ")
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    content_type = attachment.content_type.partition(";")[0].strip().lower()
    # Any mail inside the mail (message/rfc822, message/global, ...): its own files never
    # met this list (attack 21, F3; review 21, #5).
    return (
        extension in RISKY_EXTENSIONS
        or content_type in RISKY_CONTENT_TYPES
        or content_type.startswith("message/")
    )


def _file(
    notifier: Notifier, attachment: AttachmentMeta, budget: int, *, hold: bool
) -> RelayedFile:
    def named(state: str, data: bytes = b"") -> RelayedFile:
        return RelayedFile(
            attachment.filename, attachment.content_type, attachment.size, state, data
        )

    if attachment.dropped is not None or attachment.key is None:
        return named("dropped")
    if hold:
        return named(HELD)
    if attachment.size > budget or notifier.mail_store is None:
        return named("kept")
    try:
        data = notifier.mail_store.read(attachment.key)
    except NotFound:
        return named("dropped")  # removed from the store since: nothing to attach or fetch
    # The size the intake recorded is what the budget counted; the bytes are what is sent.
    return RelayedFile(attachment.filename, attachment.content_type, len(data), "attached", data)


def _due(ticket: Ticket, config: Config, language: str) -> tuple[str, str]:
    """When the next answer and the resolution are due, as the agent's other mails say it
    ("-" when the clock does not run: achieved, or paused while the ticket is pending)."""
    from helpdesk.render import format_local_datetime

    sla = ticket.sla.public_view() if ticket.sla else {}
    timezone = audience.ticket_timezone(ticket.policy, config)

    def shown(value: object) -> str:
        return format_local_datetime(parse_iso(str(value)), timezone, language) if value else NO_DUE

    reply = ticket.sla.next_answer_due() if ticket.sla else None
    return shown(reply.isoformat() if reply else None), shown(sla.get("resolution_due"))
