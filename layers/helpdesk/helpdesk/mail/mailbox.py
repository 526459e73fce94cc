"""Which mailbox an address reaches, for counting: the caps on acknowledgements and form
submissions count mailboxes and domains, not the spellings of an address.

A cap keyed on the exact address is no cap against a sender that varies it: an
autoresponder answering from ``support+1001@vendor.example``, ``support+1002@...``, or a
form flood aimed at ``victim+1@``, ``victim+2@``, all reach one mailbox.
"""

from __future__ import annotations

__all__ = ["domain_of", "mailbox_key"]

# Gmail ignores dots in the local part and serves googlemail.com as gmail.com ("Dots don't
# matter in Gmail addresses", support.google.com/mail/answer/7436150). Other providers
# treat a dot as a character of the name, so it is kept there.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox_key(address: str) -> str:
    """``address`` as the mailbox it reaches: lower case, without its subaddress.

    The detail after ``+`` (RFC 5233 section 1, the ``user+detail`` convention of Gmail,
    Outlook.com, iCloud, Fastmail, Postfix and Exim) names the same mailbox. Case is
    dropped too: RFC 5321 section 2.4 lets a server tell local parts apart by case, but no
    mailbox provider does, and for a cap merging more spellings only makes it stricter.
    """
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    local = local.split("+", 1)[0] or local
    canonical = _DOTLESS_DOMAINS.get(domain)
    if canonical is not None:
        local, domain = local.replace(".", "") or local, canonical
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    """The domain an address's mailbox is at (after :func:`mailbox_key`)."""
    return mailbox_key(address).rpartition("@")[2]
