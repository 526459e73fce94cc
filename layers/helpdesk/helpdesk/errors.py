"""Domain errors. Adapters turn AWS errors into these (``raise ... from``); only the HTTP
edge (helpdesk.http) turns them into status codes."""

from __future__ import annotations


class HelpdeskError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(HelpdeskError):
    """The ticket, contact or item asked for does not exist."""


class NotStored(NotFound):
    """The mail store holds nothing under the key asked for (S3's NoSuchKey)."""


class Conflict(HelpdeskError):
    """A conditional write lost a race (or found its work already done)."""


class AlreadyDone(Conflict):
    """An idempotent step found its record: the work was done by an earlier delivery."""


class StateConflict(HelpdeskError):
    """The ticket's state does not take this (a closed ticket takes no change): unlike a
    lost race (:class:`Conflict`), asking again will not help."""


class Forbidden(HelpdeskError):
    """The caller may not do this: not an agent of this desk, not one of their teams'
    tickets, a survey link that is forged or expired."""


class InvalidInput(HelpdeskError):
    """Input from outside (a form, an API call, a command) is not acceptable.

    ``field`` names what is wrong, ``reason`` says why, in words a user understands. The
    subclasses say how it is wrong; only the HTTP edge (helpdesk.http) turns that into a
    status code.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class MalformedInput(InvalidInput):
    """The input cannot be read at all: not base64, not UTF-8, not JSON, not an object."""


class TooLarge(InvalidInput):
    """The input, or one of its fields, is larger than the desk takes."""


class UnsupportedMediaType(InvalidInput):
    """The input comes in a format the route does not take (its Content-Type)."""


class Unauthenticated(InvalidInput):
    """The request does not prove who sent it (a channel's signature missing, stale or
    wrong): nothing is read further and nothing is stored. ``field`` names the header at
    fault, ``reason`` says why; ``scheme`` is the authentication scheme the answer's
    challenge names (RFC 9110 section 11.6.1)."""

    def __init__(self, field: str, reason: str, *, scheme: str) -> None:
        super().__init__(field, reason)
        self.scheme = scheme


class RateLimited(HelpdeskError):
    """Too many requests from one address or client in the current window."""

    def __init__(self, what: str, retry_after_seconds: int) -> None:
        super().__init__(f"too many requests from this {what}")
        self.what = what
        self.retry_after_seconds = retry_after_seconds


class NotSetUp(HelpdeskError):
    """Something the desk needs was never deployed (a channel's secret missing from SSM
    Parameter Store): an operator's step left out, not the caller's fault, and not one that
    retrying at once will mend (HTTP 503 with Retry-After, RFC 9110 section 15.6.4)."""

    retry_after_seconds = 300


class TransientError(HelpdeskError):
    """AWS throttled or failed after the SDK's own retries; the delivery should be retried."""


class SweepIncomplete(HelpdeskError):
    """A scheduled sweep could not handle some due tickets (each keeps its timer).

    Failing the invocation raises the function errors alarm; Lambda retries it (the sweeps
    are idempotent) and records it in the on-failure destination when every attempt failed
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
    """
