"""Sizes as storage counts them: bytes of UTF-8, not characters.

DynamoDB measures an item, and each key value, in UTF-8 bytes ("Constraints in Amazon
DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html:
items up to 400 KB including attribute names, partition keys up to 2,048 bytes, sort keys
up to 1,024 bytes); EventBridge measures an entry in bytes too. A limit written in
characters lets a Chinese text through at three times the size it was meant to allow.
"""

from __future__ import annotations

import hashlib

# A key part longer than this is replaced by a readable prefix and its hash: far below the
# 1,024 bytes of a sort key, so a prefix ("MSGID#", "from:") still fits around it.
IDENTIFIER_MAX_BYTES = 512
_KEPT_PREFIX_BYTES = 64
# The characters a person may type into one message by default (the form, a channel, the
# customer's page: helpdesk.config), and the bytes such a text takes at the most in UTF-8
# (four a character: an emoji).
TYPED_TEXT_MAX_CHARS = 20_000
TYPED_TEXT_MAX_BYTES = 4 * TYPED_TEXT_MAX_CHARS


def utf8_size(text: str) -> int:
    """The bytes ``text`` takes in UTF-8 (a lone surrogate, which UTF-8 cannot
    hold, counts as the 1 byte of the "?" that replaces it)."""
    return len(text.encode("utf-8", "replace"))


def cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` that takes at most ``max_bytes`` in UTF-8, never
    ending inside a character."""
    if len(text) * 4 <= max_bytes:
        return text  # even four bytes per character fit
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def bounded_identifier(text: str, max_bytes: int = IDENTIFIER_MAX_BYTES) -> str:
    """``text`` itself when it fits in ``max_bytes``; beyond, a stable stand-in: its first
    bytes, ``~sha256-`` and the hash of the whole. The same input always gives the same
    output, so an identifier written under this form is found again by the same call."""
    if utf8_size(text) <= max_bytes:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{cut_utf8(text, _KEPT_PREFIX_BYTES)}~sha256-{digest}"
