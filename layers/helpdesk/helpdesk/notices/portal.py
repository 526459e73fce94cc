"""The customer's page: the mail with fresh links to a contact's tickets, asked for on the
page (helpdesk.services.portal.PortalDesk.resend) and sent from here, after the page has
answered, so that the answer tells nobody whether the address is a contact's (attack
A18-7)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.mail.mailbox import mailbox_key
from helpdesk.notices import audience
from helpdesk.notices.outbound import hourly_quota

if TYPE_CHECKING:
    from helpdesk.events import PageLinksRequested
    from helpdesk.notices.desk import Notifier
    from helpdesk.notices.outbound import SendResult

logger = logging.getLogger(__name__)


def page_links(notifier: Notifier, event: PageLinksRequested, now: datetime) -> SendResult | None:
    """PageLinksRequested: mail a fresh link to each of the contact's recent tickets, in the
    language of the newest; nothing for an address that is no contact's. The mails an
    address gets an hour stay bounded whoever asks, from however many clients
    (``portal.resend_per_address_per_hour``, counted with the mail's claim)."""
    from helpdesk.services.portal import page_token, page_url

    config = notifier.config
    tickets = notifier.repo.contact_tickets(event.email, limit=max(1, config.portal.other_tickets))
    if not tickets:
        return None
    newest = tickets[0]
    # Links are valid from when they were asked for, whenever the mail goes out.
    asked = datetime.fromisoformat(event.at) if event.at else now
    base_url = link_base(event.base_url, notifier.public_url)
    if base_url is None:
        logger.warning("fresh page links not mailed: no address of the desk's to link to")
        return None
    # Her name as the contact record keeps it, which only an opening that showed she wrote
    # it gives: the newest listed ticket may be a form or a chat typed in her name, and its
    # name the lure above working links (attack 19, F1).
    contact = notifier.repo.get_contact(newest.contact_email)
    rendered = notifier.render(
        "page_links",
        audience.customer_language(newest.language, config),
        {
            "ref": newest.ref,
            "customer_name": contact.name if contact is not None else "",
            "helpdesk_name": config.helpdesk.name,
            "tickets": [
                {
                    "ref": t.ref,
                    "subject": t.subject,
                    "url": page_url(
                        base_url,
                        page_token(t.ref, now=asked, config=config, key=notifier.signing_key),
                    ),
                }
                for t in tickets
            ],
        },
    )
    # Filed under the newest request: a reply to this mail joins it.
    mail = notifier.mail("links", newest.ref, (newest.contact_email,), rendered)
    # Once per address and minute of the request: a second request in the same minute
    # (the limits allow a few an hour) is the same mail, sent once. Past the address's
    # hourly count (taken with the mail's claim) nothing is sent.
    per_address = hourly_quota(
        f"PORTAL-RESEND-MAIL#{mailbox_key(event.email)}",
        now,
        config.portal.resend_per_address_per_hour,
        "links_limit",
    )
    sent = notifier.send(
        mail, key=f"{mailbox_key(event.email)}#{asked:%Y%m%d%H%M}", now=now, quotas=[per_address]
    )
    if sent.reason == "links_limit":
        logger.warning("fresh page links not mailed: the address's hourly count is spent")
    return sent


def link_base(asked: str, public_url: str | None) -> str | None:
    """Where the mailed links point. The page names where the request came in (its
    PUBLIC_URL, else API Gateway's domain: helpdesk.portal_web.request_link_base), but
    an event is only as good as whoever put it in a queue: a letter planted in a failure
    queue and redriven, or one left in the previous release's queue, could name an
    attacker's host, and the mail would carry genuine, signed links to it (re-attack 3,
    N3). So the page's address is taken only when it is the desk's own (the host of this
    function's PUBLIC_URL: the PublicUrl parameter or the API's domain) or this machine;
    any other becomes the desk's own address."""
    from urllib.parse import urlsplit

    from helpdesk.links import LOOPBACK_HOSTS

    own = urlsplit(public_url).hostname if public_url else None
    given = urlsplit(asked) if asked else None
    host = given.hostname if given is not None else None
    if given is None or given.username is not None:  # no one's name in a link of ours
        return public_url or None
    if host in LOOPBACK_HOSTS or (host == own and given.scheme == "https"):
        return asked
    return public_url or None
