"""The small interfaces between the domain services and the AWS adapters.

Unit tests pass fakes that implement these; the composition root of each handler passes
the real adapters from ``helpdesk.aws``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class MailStore(Protocol):
    def read(self, key: str) -> bytes: ...

    def write(self, key: str, data: bytes, content_type: str) -> str: ...


class Mailer(Protocol):
    def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> str: ...


class Publisher(Protocol):
    def publish(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None: ...
