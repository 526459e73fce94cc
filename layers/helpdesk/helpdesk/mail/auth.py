"""Reading the sender-authentication verdicts that the receiving server (SES) stamped on a mail.

Only the topmost ``Authentication-Results`` and ``Received-SPF`` headers count: SES prepends
its own above everything the sender wrote, and a sender can write any number of forged
"spf=pass" headers further down (RFC 8601 section 5 tells receivers to ignore those they did
not add themselves; the topmost is the one our receiving server added).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["AuthResults", "parse_auth"]


@dataclass(frozen=True)
class AuthResults:
    """SPF, DKIM and DMARC results as lower-case words ("pass", "fail", "softfail", ...)."""

    spf: str | None
    dkim: str | None
    dmarc: str | None

    @property
    def passed(self) -> bool:
        """Whether the mail authenticated: SPF or DKIM passed and DMARC did not fail."""
        return (self.spf == "pass" or self.dkim == "pass") and self.dmarc != "fail"


_MAX_HEADER_CHARS = 8192
_MAX_COMMENT_DEPTH = 8
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
# RFC 8601 section 2.2: resinfo = method [ "/" version ] "=" result
_RESULT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:/\s*\d+)?\s*=\s*([A-Za-z0-9_-]+)")
_RESULT_WORD = re.compile(r"^\s*([A-Za-z0-9_-]+)")


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
    stamps this header, so a topmost one from anyone else was written by the sender.
    """
    topmost = _topmost(headers, "authentication-results")
    if trusted_authserv_id is not None and (
        topmost is None or _authserv_id(topmost) != trusted_authserv_id.lower()
    ):
        return AuthResults(spf=None, dkim=None, dmarc=None)
    results = _authentication_results(topmost)
    spf = results.get("spf")
    if spf is None:
        spf = _received_spf(_topmost(headers, "received-spf"))
    return AuthResults(spf=spf, dkim=results.get("dkim"), dmarc=results.get("dmarc"))


def _topmost(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _authserv_id(value: str) -> str:
    # RFC 8601 section 2.2: authserv-id [ CFWS authres-version ] before the first ";".
    head = _strip_comments(value).split(";", 1)[0].split()
    return head[0].lower() if head else ""


def _authentication_results(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    without_comments = _strip_comments(value)
    found: dict[str, str] = {}
    # The first ";"-separated element is the authserv-id (and optional version).
    for resinfo in without_comments.split(";")[1:]:
        match = _RESULT.match(resinfo)
        if match is None:
            continue
        method, result = match.group(1).lower(), match.group(2).lower()
        # A message may carry several DKIM signatures (the author's and a relay's); one
        # that verifies authenticates the mail, so a pass outranks earlier failures.
        if method not in found or (method == "dkim" and result == "pass"):
            found[method] = result
    return found


def _received_spf(value: str | None) -> str | None:
    if not value:
        return None
    match = _RESULT_WORD.match(_strip_comments(value))
    return match.group(1).lower() if match else None


def _strip_comments(value: str) -> str:
    # RFC 5322 comments nest; peel innermost first.  Real headers nest two or three deep,
    # so the bounds only stop a hostile header from costing quadratic time.
    value = value[:_MAX_HEADER_CHARS]
    for _ in range(_MAX_COMMENT_DEPTH):
        stripped = _COMMENT.sub(" ", value)
        if stripped == value:
            break
        value = stripped
    return value
