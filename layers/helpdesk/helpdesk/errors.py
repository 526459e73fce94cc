"""Domain errors. Adapters turn AWS errors into these (``raise ... from``); only HTTP
handlers turn them into status codes."""

from __future__ import annotations


class HelpdeskError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(HelpdeskError):
    """The ticket, contact or item asked for does not exist."""


class Conflict(HelpdeskError):
    """A conditional write lost a race (or found its work already done)."""


class AlreadyDone(Conflict):
    """An idempotent step found its record: the work was done by an earlier delivery."""


class InvalidInput(HelpdeskError):
    """Input from outside (a form, an API call, a command) is not acceptable.

    ``field`` names what is wrong, ``reason`` says why, in words a user understands.
    """

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


class RateLimited(HelpdeskError):
    """Too many requests from one address or client in the current window."""

    def __init__(self, what: str, retry_after_seconds: int) -> None:
        super().__init__(f"too many requests from this {what}")
        self.what = what
        self.retry_after_seconds = retry_after_seconds


class TransientError(HelpdeskError):
    """AWS throttled or failed after the SDK's own retries; the delivery should be retried."""
