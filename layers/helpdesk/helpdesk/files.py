"""What the desk keeps of a file anyone sent it: its name and its media type, whoever sent
it (a mail's attachment, helpdesk.mail.parse; a file posted on the customer's page,
helpdesk.services.portal; or by a channel, helpdesk.services.message_intake). One rule for
all three doors, so that a name or a type no mail could bring cannot come in by another.
Kept apart from the MIME parser so that the pages and channels do not import it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from helpdesk.errors import NotFound

if TYPE_CHECKING:
    from helpdesk.model import AttachmentMeta, Message

__all__ = [
    "DOWNLOAD_MAX_BYTES",
    "MAX_FILENAME_CHARS",
    "DownloadedFile",
    "attachment_numbered",
    "clean_filename",
    "file_media_type",
    "servable",
]

MAX_FILENAME_CHARS = 150
_LINE_BREAKS_AND_TABS = re.compile(r"[\r\n\t\v\f]+")
# A media type of restricted names (RFC 6838 section 4.2: at most 127 characters each).
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# Agents download on Windows, which refuses these characters in file names ("Naming Files,
# Paths, and Namespaces", Microsoft Learn).
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


def clean_filename(name: str, *, fallback: str) -> str:
    """``name`` as kept and shown: its last path part, without control, format or surrogate
    characters (the bidirectional overrides among them), without the characters Windows
    refuses, trimmed of dots and spaces, at most :data:`MAX_FILENAME_CHARS` characters
    (its extension kept); ``fallback`` when nothing is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _LINE_BREAKS_AND_TABS.sub(" ", name)
    # Control and format characters go too: U+202E (right-to-left override) is the classic
    # way to make "invoice\u202Efdp.exe" display as "invoiceexe.pdf".
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf", "Cs"))
    name = _WINDOWS_RESERVED.sub("_", name)
    name = " ".join(name.split()).lstrip(". ").rstrip(". ")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = f"{stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip('. ')}.{extension}"
        else:
            # Not ending in a dot either: Windows drops it, and "…exe." reads as "…exe".
            name = name[:MAX_FILENAME_CHARS].rstrip(". ")
    return name or fallback


def file_media_type(value: str) -> str | None:
    """The media type a file was sent as, in lower case (RFC 9110 section 8.3.1: type and
    subtype are case-insensitive), or None when ``value`` is not one (RFC 6838)."""
    value = value.strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else None


_POSITION = re.compile(r"[1-9][0-9]{0,3}")
# A file a function can hand out in one response: Lambda answers at most 6 MB, and API
# Gateway needs the bytes in base64, a third more ("Lambda quotas", AWS Lambda Developer
# Guide). A larger file is listed without a download (it came by mail).
DOWNLOAD_MAX_BYTES = 4_000_000


@dataclass(frozen=True)
class DownloadedFile:
    filename: str
    content_type: str
    data: bytes


def servable(meta: AttachmentMeta) -> bool:
    """Whether a function could hand the file out at all: kept, and small enough."""
    return meta.key is not None and meta.dropped is None and meta.size <= DOWNLOAD_MAX_BYTES


def attachment_numbered(
    number: str, message_of: Callable[[str], Message | None]
) -> tuple[Message, AttachmentMeta]:
    """The file ``number`` names, ``<message id>-<n>`` (its n-th attachment, from 1), as the
    customer's page and the agent API list them; :class:`NotFound` for anything else."""
    message_id, _, position = number.rpartition("-")
    # ASCII digits only, a few: str.isdigit() takes "²" and "①", which int() refuses, and
    # 5,000 digits are past int()'s limit (attack 20, F3: a 500 for anyone with a link).
    counted = _POSITION.fullmatch(position) is not None
    message = message_of(message_id) if message_id and counted else None
    index = int(position) - 1 if message is not None else -1
    if message is None or not 0 <= index < len(message.attachments):
        raise NotFound("file")
    return message, message.attachments[index]
