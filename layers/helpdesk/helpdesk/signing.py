"""Keyed digests under the desk's signing key (SSM Parameter Store, read once per
container by the composition roots): survey links and outbound Message-IDs.

One key signs several kinds of thing, so each names its purpose in what it signs (domain
separation): a digest made for one purpose never verifies as another.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["keyed_digest"]


def keyed_digest(key: bytes, purpose: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``payload`` for ``purpose`` under ``key``.

    ``purpose`` must end in a byte that no purpose contains elsewhere (``\\x00``), so that
    no purpose is a prefix of another's signed text. An empty key is refused: a missing
    secret must fail loudly, never make digests anyone can compute.
    """
    if not key:
        raise ValueError("the signing key is empty")
    return hmac.new(key, purpose + payload, hashlib.sha256).digest()
