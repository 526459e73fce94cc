"""Which mailbox an address reaches, for counting: the caps on acknowledgements and form
submissions count mailboxes and domains, not the spellings of an address.

A cap keyed on the exact address is no cap against a sender that varies it: an
autoresponder answering from ``support+1001@vendor.example``, ``support+1002@...``, or a
form flood aimed at ``victim+1@``, ``victim+2@``, all reach one mailbox.
"""

from __future__ import annotations

__all__ = ["canonical_domain", "domain_of", "mailbox_key"]

# Domains of one provider at which a login's mail reaches the same inbox, each mapped to
# the provider's main domain. Merging more spellings only makes a cap stricter, so a
# domain is listed when its provider documents it as the same account's address:
# - Google: googlemail.com is gmail.com ("Dots don't matter in Gmail addresses",
#   support.google.com/mail/answer/7436150);
# - Apple: accounts that had @me.com or @mac.com have the same name at @icloud.com
#   ("About your @icloud.com, @me.com, and @mac.com email addresses", support.apple.com/118230);
# - Proton: @pm.me is the short form of a user's address, @protonmail.com and
#   @protonmail.ch the older ones ("Types of email addresses and aliases", proton.me/support);
# - Yandex: an address is the login at yandex.ru "or one of its domain aliases"
#   ("How to create an account in Yandex Mail", yandex.com/support/mail).
_ALIAS_DOMAINS = {
    "googlemail.com": "gmail.com",
    "me.com": "icloud.com",
    "mac.com": "icloud.com",
    "protonmail.com": "proton.me",
    "protonmail.ch": "proton.me",
    "pm.me": "proton.me",
    "ya.ru": "yandex.ru",
    "yandex.com": "yandex.ru",
    "yandex.by": "yandex.ru",
    "yandex.kz": "yandex.ru",
    "yandex.ua": "yandex.ru",
}
# Gmail ignores dots in the local part (the page above). Other providers treat a dot as a
# character of the name, so it is kept there.
_DOTLESS_DOMAINS = {"gmail.com"}
# Fastmail's subdomain addressing: anything@user.fastmail.com reaches user@fastmail.com,
# as user+anything@ would ("Plus addressing and subdomain addressing", fastmail.help
# article 360060591053). A desk cannot know which other domains do the same (Fastmail's
# custom domains, catch-alls): there each spelling stays a mailbox of its own, under its
# domain's cap.
_SUBDOMAIN_ADDRESSING = ("fastmail.com", "fastmail.fm")


def canonical_domain(domain: str) -> str:
    """``domain`` as its provider's main domain (``me.com`` is ``icloud.com``)."""
    domain = domain.strip().lower()
    return _ALIAS_DOMAINS.get(domain, domain)


def mailbox_key(address: str) -> str:
    """``address`` as the mailbox it reaches: lower case, without its subaddress, at its
    provider's main domain.

    The detail after ``+`` (RFC 5233 section 1, the ``user+detail`` convention of Gmail,
    Outlook.com, iCloud, Fastmail, Postfix and Exim) names the same mailbox. Case is
    dropped too: RFC 5321 section 2.4 lets a server tell local parts apart by case, but no
    mailbox provider does, and for a cap merging more spellings only makes it stricter.
    """
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    local = local.split("+", 1)[0] or local
    domain = canonical_domain(domain)
    user, dot, parent = domain.partition(".")
    if dot and user and parent in _SUBDOMAIN_ADDRESSING:
        local, domain = user, parent
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    """The domain an address's mailbox is at (after :func:`mailbox_key`)."""
    return mailbox_key(address).rpartition("@")[2]
