"""Reading the sender-authentication verdicts that the receiving server (SES) stamped on a
mail, and deciding whether they authenticate the address in its From header.

Only the topmost ``Authentication-Results`` and ``Received-SPF`` headers count: SES prepends
its own above everything the sender wrote, and a sender can write any number of forged
"spf=pass" headers further down (RFC 8601 section 5 tells receivers to ignore those they did
not add themselves; the topmost is the one our receiving server added).

The header is read by its grammar (RFC 8601 section 2.2, with RFC 5322 section 3.2.2 CFWS:
quoted strings and nested comments), in one linear pass over at most
``MAX_HEADER_CHARS`` characters, never by splitting on ";": an envelope address may be a
quoted string holding ";" and "=" (RFC 5321 section 4.1.2), and SES copies it into the
header.

SES writes its block like this (AWS SES Developer Guide, "Sample incoming email event",
https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-lambda-event.html, and
"Examples of notifications for Amazon SES email receiving")::

    amazonses.com; spf=pass (spfCheck: domain of example.com designates 203.0.113.0 as
    permitted sender) client-ip=203.0.113.0; envelope-from=prvs=144d0cba42=sender@example.com;
    helo=smtp.example.com; dkim=pass header.i=@example.com; dmarc=none header.from=example.com;

so the SPF identity is the ``envelope-from=`` element that follows ``spf=`` (other servers
write ``smtp.mailfrom=`` as RFC 8601 section 2.7.2 says; both are read), DKIM names the
signing identity ``header.i`` (or ``header.d``), DMARC the ``header.from`` it evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

__all__ = ["AuthResults", "DkimResult", "organizational_domain", "parse_auth"]

# Real SES blocks are under 600 characters; a longer one is not trusted at all rather than
# read in part (a cut could drop the "dmarc=fail" that vetoes the rest).
MAX_HEADER_CHARS = 8192
_MAX_ELEMENTS = 64
_MAX_TOKENS = 512  # SES's block has about 30
_KEYWORD = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DOMAIN = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]+")
_SPECIALS = frozenset(' \t\r\n();="')
# DMARC results under which the owner's policy is unknown or was not met: nothing else
# can then grant power (a strict aspf/adkim policy shows up as dmarc=fail at SES).
_DMARC_ALLOWS_ALIGNMENT = frozenset({"none"})


@dataclass(frozen=True)
class DkimResult:
    """One DKIM verdict and the signing domain it names (``header.d``, else the domain of
    ``header.i``, which RFC 6376 section 3.5 requires to be d= or a subdomain of it)."""

    result: str
    domain: str | None


@dataclass(frozen=True)
class AuthResults:
    """SPF, DKIM and DMARC results as lower-case words ("pass", "fail", "softfail", ...),
    with the domains each one authenticated."""

    spf: str | None
    dkim: str | None
    dmarc: str | None
    # The domain SPF checked: MAIL FROM's, or HELO's when MAIL FROM was null (RFC 7208
    # section 2.4; RFC 7489 section 3.1.2 aligns with it).
    spf_domain: str | None = None
    dkim_signatures: tuple[DkimResult, ...] = ()
    # The From domain the DMARC verdict is about (header.from).
    dmarc_from: str | None = None

    def authenticates(self, address: str) -> bool:
        """Whether these verdicts prove the mail comes from ``address``'s domain: DMARC
        passed for that very From domain, or (when the domain publishes no DMARC policy)
        SPF or a DKIM signature passed for a domain aligned with it (RFC 7489 section 3.1,
        relaxed alignment: the same organizational domain).

        Any other DMARC result (fail, temperror, permerror) vetoes: the owner's policy,
        strict alignment included, was applied by SES and not met, or could not be read.
        """
        from_domain = _address_domain(address)
        if from_domain is None:
            return False
        if self.dmarc == "pass" and self.dmarc_from == from_domain:
            return True
        if self.dmarc is not None and self.dmarc not in _DMARC_ALLOWS_ALIGNMENT:
            return False
        if self.spf == "pass" and aligned(self.spf_domain, from_domain):
            return True
        return any(
            signature.result == "pass" and aligned(signature.domain, from_domain)
            for signature in self.dkim_signatures
        )

    def disproves(self, address: str) -> bool:
        """Whether these verdicts prove the mail does not come from ``address``'s domain:
        DMARC failed for that very From domain, whose owner publishes a policy (RFC 7489
        section 6.6.2: neither an aligned SPF nor an aligned DKIM pass). A forwarder that
        rewrites mail can fail it too; nothing else does."""
        from_domain = _address_domain(address)
        return from_domain is not None and self.dmarc == "fail" and self.dmarc_from == from_domain


NO_RESULTS = AuthResults(spf=None, dkim=None, dmarc=None)


def aligned(authenticated: str | None, from_domain: str) -> bool:
    """RFC 7489 section 3.1 relaxed alignment: equal domains, or the same organizational
    domain (section 3.2). ``a.co.uk`` and ``b.co.uk`` are not aligned: ``co.uk`` is a
    public suffix, so each is its own organization."""
    if authenticated is None:
        return False
    if authenticated == from_domain:
        return True
    # An organizational domain has at least two labels and both domains end with it: when
    # their last two labels differ, the list need not be read.
    if authenticated.split(".")[-2:] != from_domain.split(".")[-2:]:
        return False
    organization = organizational_domain(from_domain)
    return organization is not None and organization == organizational_domain(authenticated)


def organizational_domain(domain: str) -> str | None:
    """The registered domain under its public suffix (RFC 7489 section 3.2), from the
    Public Suffix List that ``publicsuffixlist`` bundles (read from the package, never
    fetched). None for a public suffix itself."""
    result = _public_suffix_list().privatesuffix(domain)
    return result if isinstance(result, str) else None


@cache
def _public_suffix_list() -> PublicSuffixList:
    # Built once per process and only when two different domains must be compared
    # (about 85 ms): agents' own mail aligns exactly and never pays for it.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def parse_auth(
    headers: Mapping[str, Sequence[str]], *, trusted_authserv_id: str | None = None
) -> AuthResults:
    """Return the SPF/DKIM/DMARC results from the topmost authentication headers only.

    ``headers`` maps lower-case header names to their values in message order (topmost
    first).  ``Authentication-Results`` (RFC 8601) supplies all three; ``Received-SPF``
    (RFC 7208 section 9.1) supplies SPF when the former does not mention it.

    With ``trusted_authserv_id``, the topmost ``Authentication-Results`` must have been
    written by that server (its authserv-id, RFC 8601 section 2.2), otherwise nothing is
    trusted and every result is None: a receiving server that stamps its verdicts always
    stamps this header, so a topmost one from anyone else was written by the sender. A
    block that cannot be read by the grammar, or names SPF or DMARC twice, is not trusted
    either.
    """
    topmost = _topmost(headers, "authentication-results")
    block = _elements(topmost) if topmost is not None else None
    if trusted_authserv_id is not None and (
        block is None or _authserv_id(block[0]) != trusted_authserv_id.lower()
    ):
        return NO_RESULTS
    results = _results(block[1] if block is not None else [])
    if results is None:
        return NO_RESULTS
    if results.spf is None:
        spf, spf_domain = _received_spf(_topmost(headers, "received-spf"))
        return replace(results, spf=spf, spf_domain=spf_domain)
    return results


def _topmost(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


# ---------------------------------------------------------------------- the grammar
class _Token(NamedTuple):
    text: str  # ";" or "=" for those specials; a word (atom or quoted string) otherwise
    special: bool
    spaced: bool  # CFWS came before it


_Pairs = list[tuple[str, str]]


def _tokens(value: str) -> list[_Token] | None:
    """Words, ";" and "=" of a header value, CFWS dropped (RFC 5322 section 3.2.2: comments
    nest and hold quoted-pairs; quoted strings hold any of the specials). One pass; None
    when a comment or quoted string is left open, a ")" has no "(", or there are more
    parts or tokens than any real block has: the header is then not read at all."""
    tokens: list[_Token] = []
    word: list[str] = []
    word_spaced = spaced = True
    index, length, separators = 0, len(value), 0
    while index < length:
        if len(tokens) > _MAX_TOKENS:
            return None
        char = value[index]
        if char in " \t\r\n()=;":
            if word:
                tokens.append(_Token("".join(word), special=False, spaced=word_spaced))
                word = []
            if char == ")":
                return None
            if char in "=;":
                if char == ";":
                    separators += 1
                    if separators >= _MAX_ELEMENTS:
                        return None
                tokens.append(_Token(char, special=True, spaced=spaced))
                spaced = False
                index += 1
                continue
            spaced = True
            if char == "(":
                index = _after_comment(value, index)
                if index < 0:
                    return None
                continue
            index += 1
            continue
        if not word:
            word_spaced = spaced
        spaced = False
        start = index
        if char == '"':
            index += 1
            while index < length and value[index] != '"':
                index += 2 if value[index] == "\\" else 1
            if index >= length:
                return None
            index += 1
        else:
            while index < length and value[index] not in _SPECIALS:
                index += 1
        word.append(value[start:index])
    if word:
        tokens.append(_Token("".join(word), special=False, spaced=word_spaced))
    return tokens


def _after_comment(value: str, index: int) -> int:
    """The index after the comment opening at ``index`` (comments nest), or -1."""
    depth, length = 0, len(value)
    while index < length:
        char = value[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return -1


def _elements(value: str) -> tuple[list[str], list[_Pairs]] | None:
    """The header split into its ";"-separated parts by the grammar: first the authserv-id
    part (its words), then each resinfo as ``(name, value)`` pairs, method=result first."""
    if len(value) > MAX_HEADER_CHARS:
        return None
    tokens = _tokens(value)
    if tokens is None:
        return None
    parts: list[list[_Token]] = [[]]
    for token in tokens:
        if token.special and token.text == ";":
            parts.append([])
        else:
            parts[-1].append(token)
    head = [token.text for token in parts[0] if not token.special]
    return head, [_pairs(part) for part in parts[1:]]


def _pairs(part: list[_Token]) -> _Pairs:
    """``name = value`` pairs of one resinfo (RFC 8601: methodspec, reasonspec, propspec).
    A value runs over the words and "=" that touch it with no CFWS between: SES writes
    ``envelope-from=prvs=144d0cba42=sender@example.com``, a quoted local part touches its
    ``@domain``. Words that are not ``name=value`` (junk) are skipped."""
    pairs: _Pairs = []
    index, length = 0, len(part)
    while index < length:
        token = part[index]
        is_name = not token.special and index + 1 < length
        if not (is_name and part[index + 1].special):
            index += 1
            continue
        index += 2
        value: list[str] = []
        if index < length and not (part[index].special and part[index].spaced):
            value.append(part[index].text)
            index += 1
            while index < length and not part[index].spaced:
                value.append(part[index].text)
                index += 1
        pairs.append((token.text.lower(), "".join(value)))
    return pairs


def _authserv_id(head: list[str]) -> str:
    # RFC 8601 section 2.2: authserv-id [ CFWS authres-version ] before the first ";";
    # the id is a token or a quoted string.
    return head[0].strip('"').lower() if head else ""


def _results(resinfos: Sequence[_Pairs]) -> AuthResults | None:
    spf: str | None = None
    spf_identity: dict[str, str] = {}
    dmarc: str | None = None
    dmarc_from: str | None = None
    signatures: list[DkimResult] = []
    current: str | None = None
    for pairs in resinfos:
        if not pairs:
            continue
        method, result = pairs[0]
        method = method.partition("/")[0].strip()
        result = result.lower()
        properties = dict(reversed(pairs[1:]))  # the first of each name wins
        if method in ("spf", "dkim", "dmarc") and not _KEYWORD.fullmatch(result):
            return None
        if method in ("spf", "dkim", "dmarc") and dmarc is not None:
            # SES writes spf, dkim, dmarc in that order, dmarc last: a verdict after it is
            # the sender's own header line folded into SES's block.
            return None
        if method == "spf":
            if spf is not None:
                return None  # SES writes one; two means one was smuggled in
            spf, current = result, "spf"
            spf_identity.update(properties)
        elif method == "dmarc":
            if dmarc is not None:
                return None
            dmarc, current = result, "dmarc"
            dmarc_from = _normal_domain(properties.get("header.from", ""))
        elif method == "dkim":
            current = "dkim"
            signing = properties.get("header.d") or properties.get("header.i", "")
            signatures.append(DkimResult(result, _address_domain(signing)))
        elif current == "spf" and method in ("envelope-from", "helo", "smtp.mailfrom"):
            # SES's own layout: the SPF identity follows as elements of its own.
            spf_identity.setdefault(method, result)
        else:
            current = None
    mail_from = spf_identity.get("smtp.mailfrom", spf_identity.get("envelope-from"))
    helo = spf_identity.get("smtp.helo", spf_identity.get("helo"))
    return AuthResults(
        spf=spf,
        dkim=_dkim_summary(signatures),
        dmarc=dmarc,
        spf_domain=_spf_domain(mail_from, helo),
        dkim_signatures=tuple(signatures),
        dmarc_from=dmarc_from,
    )


def _dkim_summary(signatures: Sequence[DkimResult]) -> str | None:
    # A message may carry several DKIM signatures (the author's and a relay's); one that
    # verifies is the summary, otherwise the first verdict.
    if not signatures:
        return None
    if any(signature.result == "pass" for signature in signatures):
        return "pass"
    return signatures[0].result


def _spf_domain(mail_from: str | None, helo: str | None) -> str | None:
    if mail_from is not None and mail_from.strip("<>"):
        return _address_domain(mail_from.strip("<>"))
    return _normal_domain(helo) if helo else None


def _received_spf(value: str | None) -> tuple[str | None, str | None]:
    """RFC 7208 section 9.1: ``result [comment] [key-value-list]`` with ``envelope-from``
    and ``helo`` among the keys."""
    tokens = _tokens(value[:MAX_HEADER_CHARS]) if value else None
    if not tokens or tokens[0].special:
        return None, None
    result = tokens[0].text.lower()
    if not _KEYWORD.fullmatch(result):
        return None, None
    identity: dict[str, str] = {}
    part: list[_Token] = []
    for token in [*tokens[1:], _Token(";", special=True, spaced=True)]:
        if token.special and token.text == ";":
            for name, found in _pairs(part):
                identity.setdefault(name, found)
            part = []
        else:
            part.append(token)
    return result, _spf_domain(identity.get("envelope-from"), identity.get("helo"))


def _address_domain(value: str) -> str | None:
    # The domain follows the last "@": a quoted local part may hold "@", a domain never.
    return _normal_domain(value.rpartition("@")[2])


def _normal_domain(value: str) -> str | None:
    """A domain as DNS compares it: lower case, A-labels, no trailing dot; None for
    anything that is not a domain name (quotes, brackets, an address literal)."""
    domain = value.strip().rstrip(".").lower()
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        return None
    return domain
