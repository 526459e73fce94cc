"""What a route reads of a POST before its own fields: its body as API Gateway passed it
(:func:`request_bytes`, :func:`request_text`), its media type (:func:`require_media_type`:
the form and the channels take JSON, the pages their forms), and a page's urlencoded form
fields (:func:`form_fields`), with their size and number checked first.

Every way a post can be wrong here is a domain error the HTTP edge answers (415 naming
``content-type``, 413 naming ``body``), never a ValueError from the parser further on;
JSON bodies are then read by helpdesk.json_input.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs

from helpdesk.errors import MalformedInput, TooLarge, UnsupportedMediaType

FORM_URLENCODED = "application/x-www-form-urlencoded"
# More fields than any page's form holds (the customer's page has the most, a handful).
FORM_MAX_FIELDS = 16


def media_type(content_type: str) -> str:
    """The media type of a Content-Type header, without its parameters, in lower case
    (RFC 9110 §8.3.1: type and subtype are case-insensitive)."""
    return content_type.split(";", 1)[0].strip().lower()


def require_media_type(content_type: str, *taken: str) -> str:
    """The media type of ``content_type`` when it is one of ``taken``;
    :class:`UnsupportedMediaType` naming ``content-type`` otherwise."""
    posted = media_type(content_type)
    if posted not in taken:
        raise UnsupportedMediaType("content-type", f"must be {' or '.join(taken)}")
    return posted


def form_fields(
    body: str,
    content_type: str,
    *,
    max_bytes: int | None = None,
    max_fields: int = FORM_MAX_FIELDS,
) -> dict[str, str]:
    """The fields of a urlencoded form post (the last value of a name given twice, as a
    browser sends a form once); :class:`UnsupportedMediaType` on ``content-type`` for
    another media type, :class:`TooLarge` on ``body`` past ``max_bytes`` (UTF-8) or
    ``max_fields``. Parsed as the WHATWG URL Standard's "application/x-www-form-urlencoded
    parser" reads a body (``+`` is a space, percent-escapes are UTF-8)."""
    require_media_type(content_type, FORM_URLENCODED)
    if max_bytes is not None and len(body.encode("utf-8", "surrogatepass")) > max_bytes:
        raise TooLarge("body", f"is too large (at most {max_bytes} bytes)")
    try:
        parsed = parse_qs(body, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        # parse_qs refuses a body of more fields than max_num_fields this way.
        raise TooLarge("body", f"has too many fields (at most {max_fields})") from None
    return {name: values[-1] for name, values in parsed.items()}


def request_bytes(body: str | None, *, is_base64_encoded: bool | None) -> bytes:
    """The body of an HTTP API (payload 2.0) request as the client sent its bytes: API
    Gateway passes a text body as text and anything else base64-encoded
    (``isBase64Encoded``); broken base64 is :class:`MalformedInput` naming the body."""
    if not body:
        return b""
    if not is_base64_encoded:
        # "surrogatepass": the bytes as they came, even a text API Gateway could not
        # decode (what a channel signed must be checked against exactly that).
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedInput("body", "is not valid base64") from None


def request_text(body: str | None, *, is_base64_encoded: bool | None) -> str:
    """The body of an HTTP API (payload 2.0) request as text.

    API Gateway base64-encodes a body it does not take for text (``isBase64Encoded``, e.g.
    a form post or a body that is not UTF-8); JSON and form fields must be UTF-8 (RFC 8259
    §8.1, WHATWG URL §5.1), so anything else is :class:`MalformedInput` naming the body (a
    400, never a 500).
    """
    if not body:
        return ""
    if not is_base64_encoded:
        return body
    raw = request_bytes(body, is_base64_encoded=True)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInput("body", "is not UTF-8 text") from None
