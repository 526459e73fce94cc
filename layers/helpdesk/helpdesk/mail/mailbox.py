"""Which mailbox an address reaches, for counting: the caps on acknowledgements and form
submissions count mailboxes and domains, not the spellings of an address.

A cap keyed on the exact address is no cap against a sender that varies it: an
autoresponder answering from ``support+1001@vendor.example``, ``support+1002@...``, or a
form flood aimed at ``victim+1@``, ``victim+2@``, all reach one mailbox.
"""

from __future__ import annotations

from functools import cache

__all__ = [
    "canonical_domain",
    "domain_of",
    "mailbox_key",
    "registered_domain",
    "sender_organization",
]

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
# The characters a provider ignores in a local part: Gmail its dots (the page above);
# Proton ".", "_" and "-", which it treats "as transparent: username is the same as
# user_name and user.name" ("How to change your username", proton.me/support). Other
# providers treat them as characters of the name, so they are kept there.
_IGNORED_IN_LOCAL_PART = {"gmail.com": ".", "proton.me": "._-"}
# Fastmail's subdomain addressing: anything@user.fastmail.com reaches user@fastmail.com,
# as user+anything@ would, and "-" in the subdomain stands for a "_" of the name, which a
# host name cannot hold ("Plus addressing and subdomain addressing", fastmail.help article
# 360060591053; fastmail.com/blog/two-address-resolving-additions). Fastmail's other
# shared domains, its customers' own domains and catch-alls cannot be told apart here:
# their subdomains count under their registered domain's cap (:func:`registered_domain`).
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
        local, domain = user.replace("-", "_"), parent
    ignored = _IGNORED_IN_LOCAL_PART.get(domain)
    if ignored:
        local = local.translate({ord(char): None for char in ignored}) or local
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    """The domain an address's mailbox is at (after :func:`mailbox_key`)."""
    return mailbox_key(address).rpartition("@")[2]


def registered_domain(domain: str) -> str:
    """The domain ``domain`` was registered as, under its public suffix (RFC 7489 section
    3.2's organizational domain): ``mail.bigcorp.example`` is ``bigcorp.example``'s, and
    ``shop.co.uk`` is a company of its own. A per-domain count keyed by it cannot be
    escaped by changing subdomains (a catch-all answers them all: attack 5, F2).

    A domain of two labels is its own: the Public Suffix List is read (built once per
    process, about 85 ms) only for longer names. A public suffix itself stays as it is,
    and so do the customers' domains of :data:`_TENANT_PARENTS`, which the list lacks."""
    domain = domain.strip().lower().rstrip(".")
    if domain.count(".") < 2:
        return domain
    for parent in _TENANT_PARENTS:
        if domain.endswith("." + parent):
            tenant = domain[: -len(parent) - 1].rpartition(".")[2]
            return f"{tenant}.{parent}"
    from helpdesk.mail.auth import organizational_domain

    return organizational_domain(domain) or domain


# Services that give each customer a subdomain to mail from, unrelated customers all, that
# the Public Suffix List does not name (attack 5, N2): Microsoft 365's initial domains
# (contoso.onmicrosoft.com, contoso.mail.onmicrosoft.com) and the help desks that answer
# from support@<customer>.zendesk.com or .freshdesk.com. The longer parent first.
_TENANT_PARENTS = (
    "mail.onmicrosoft.com",
    "onmicrosoft.com",
    "zendesk.com",
    "freshdesk.com",
)


def sender_organization(sender: str, *, free_mail: tuple[str, ...], own_domain: str) -> str | None:
    """The organization whose senders a cap counts together (its registered domain), or
    None for a sender counted alone: one at a free-mail provider (``free_mail``, the
    config's ``limits.free_mail_domains``) or at the desk's ``own_domain``. Per registered
    domain: a catch-all's subdomains are one company (attack 5, F2). A host under a
    free-mail domain (x@s.gmail.com) is counted alone: its registered domain's users are
    strangers to each other (attack 5, N3)."""
    domain = domain_of(mailbox_key(sender))
    free = _free_mail(free_mail)
    if domain in free or domain == canonical_domain(own_domain):
        return None
    organization = registered_domain(domain)
    return domain if organization in free else organization


@cache
def _free_mail(names: tuple[str, ...]) -> frozenset[str]:
    """The free-mail domains by provider: the list may name one by any of its domains
    (pm.me is proton.me). Worked out once per config, not per message."""
    return frozenset(canonical_domain(name) for name in names)
