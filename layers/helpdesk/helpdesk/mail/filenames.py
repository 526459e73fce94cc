"""A file's name as the desk keeps and shows it, whoever sent the file: a mail's attachment
(helpdesk.mail.parse), a file posted on the customer's page (helpdesk.services.portal) or
by a channel (helpdesk.services.message_intake). One cleaning for all three, so that a name
no mail could bring cannot come in by another door. Kept apart from the MIME parser so the
pages and channels do not import it to clean a name."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_FILENAME_CHARS", "clean_filename"]

MAX_FILENAME_CHARS = 150
_LINE_BREAKS_AND_TABS = re.compile(r"[\r\n\t\v\f]+")
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
            name = f"{stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip()}.{extension}"
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip()
    return name or fallback
