"""How many acknowledgements one mailbox and one domain get in an hour, whatever the
intake that opened the tickets (mail, a channel): one count, one rule.

An acknowledgement is mail the desk sends, under its own domain, to an address someone
else typed or forged. Its caps keep two autoresponders from ping-ponging, and keep a
stranger from turning the desk into a mailer at one inbox or one company (attack 3, F3:
a chat widget takes any address, and "+tags" gave one inbox 60 an hour).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.clock import hour_window
from helpdesk.mail.mailbox import mailbox_key, sender_organization

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.ports import DeliveryCounter

# Hex characters of a message's digest in the desk-wide ceiling's set: 32 bits, so two of
# an hour's messages share one with a chance of about n / 4e9 each (one more slot, no
# harm), and 200 of them are 1.6 KB, two write units.
CEILING_MEMBER_CHARS = 8


def within_ack_limit(
    repo: DeliveryCounter,
    config: Config,
    sender: str,
    message: str,
    now: datetime,
    *,
    kind: str,
    authenticated: bool,
) -> bool:
    """One more acknowledgement to ``sender`` for ``message`` of intake ``kind`` within the
    hour's caps. ``message`` is what the intake knows the message by, as its claim does, so
    that one member of the count is one ticket: ``mail``, the sender and the Message-ID;
    ``raw``, a raw mail's key; ``form``, a submission's id (whatever address it gives);
    ``channel``, a channel message's key. At most N per sender's mailbox, and M
    per domain, counted atomically, so that two autoresponders that slipped past the robot
    checks can never ping-pong, not even one that varies its address (support+1001@,
    support+1002@: one mailbox; anything@vendor.example: one domain). The free-mail domains
    and the desk's own are capped per mailbox only: their users are strangers to each
    other. The same message again (a retried delivery) is the same member of the count,
    never a second one.

    A ``sender`` nobody ``authenticated`` (mail SES could not authenticate for its From
    domain; every address typed into the form or given by a channel) then counts in the
    desk's hourly ceiling, ``unauthenticated_acknowledgements_per_hour``, all domains and
    intakes together: the caps above are per mailbox and domain, and whoever writes the
    address picks both. Spread over domains without DMARC, or over a /48's clients on the
    form, a stranger had the desk repeat his name and subject, under its own signed
    domain, to 30 addresses an hour at each domain, or to any number of gmail.com ones
    (attack 10, F1; attack 11, F2). Authenticated mail never counts there, so a flood
    withholds no acknowledgement of it. Only what the caps above let through spends the
    ceiling, and a message counts there once however often it comes (a redelivered mail,
    a reposted form): its member is the first :data:`CEILING_MEMBER_CHARS` characters of
    the same digest, so that the set of an hour at the most configurable ceiling stays a
    few KB, and each update's write units with it (review 12, #1)."""
    limits = config.limits
    window = hour_window(now)
    expires_at = int(now.timestamp()) + 7200
    # Hashed: a member's size is bounded whatever the Message-ID's. The intake's kind
    # first: a mail whose Message-ID spells a form's id ("form:<id>") or a channel
    # message's key is another message, never the same member again (attack 4, F1).
    member = hashlib.sha256(f"{kind}\n{message}".encode()).hexdigest()
    mailbox = mailbox_key(sender)
    per_sender = limits.acknowledgements_per_sender_per_hour
    within: tuple[str, int] | None = None
    organization = sender_organization(
        sender, free_mail=limits.free_mail_domains, own_domain=config.helpdesk.mail_domain
    )
    if organization is None:
        counter, limit = f"ACK#{mailbox}", per_sender
    else:
        # The domain's count and its mailbox's, on one item: one request per mail, not two.
        counter, limit = (
            f"ACK-DOMAIN#{organization}",
            limits.acknowledgements_per_domain_per_hour,
        )
        within = (mailbox, per_sender)
    if not repo.count_once_in_window(
        counter, window, member[:32], limit=limit, expires_at=expires_at, within=within
    ):
        return False
    return authenticated or repo.count_once_in_window(
        "ACK-UNAUTHENTICATED",
        window,
        member[:CEILING_MEMBER_CHARS],
        limit=limits.unauthenticated_acknowledgements_per_hour,
        expires_at=expires_at,
    )
