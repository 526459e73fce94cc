"""Request bodies read as JSON (RFC 8259), with their size and nesting bounded first.

The services that take JSON (the web form, the agents' API) read their bodies here: every
way a body can be wrong is a domain error on ``body`` that the HTTP edge answers (400 or
413), never a RecursionError or an encoding error further on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from helpdesk.errors import MalformedInput, TooLarge

# The deepest JSON any route accepts: the form and the agent API take flat objects (a list
# of tags is the deepest value), so 32 levels leave room without letting a body of nested
# brackets reach the parser's recursion limit (60 kB of "[" is a RecursionError there).
JSON_MAX_DEPTH = 32
# A body no route accepts more of, whatever its own limit says (the form's is 64 kB).
JSON_MAX_BYTES = 1_048_576
# The tokens that decide the nesting: brackets and braces outside strings, the quotes that
# open and close strings, and escapes (a backslash and the character it escapes). Outside a
# string a backslash is invalid JSON: the parser stops there, before any deeper nesting.
_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def json_body(
    text: str, *, max_bytes: int = JSON_MAX_BYTES, max_depth: int = JSON_MAX_DEPTH
) -> Any:
    """Parse a JSON request body (RFC 8259) with its size and nesting bounded first.

    Every way a body can be wrong is an error on ``body`` with a reason (:class:`TooLarge`,
    else :class:`MalformedInput`): never a RecursionError or an encoding error further on. The
    depth is checked in one pass over the text that stops at the first level too deep, so
    its cost is linear in the body and the parser never sees a body nested past
    ``max_depth``.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TooLarge("body", f"is too large (at most {max_bytes} bytes)")
    if not text.strip():
        raise MalformedInput("body", "is empty: send a JSON object")
    _check_depth(text, max_depth)
    try:
        data = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_names,
        )
    except (ValueError, RecursionError) as error:
        # ValueError covers JSONDecodeError and integers too long to convert (Python's
        # 4300-digit limit); the depth check above keeps RecursionError out, this is a guard.
        raise MalformedInput("body", f"is not valid JSON ({_why(error)})") from None
    try:
        # A "\ud800" escape parses into a lone surrogate, which no UTF-8 store accepts.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedInput(
            "body", "is not valid JSON (a \\u escape names half a character)"
        ) from None
    return data


def json_object(
    text: str, *, max_bytes: int = JSON_MAX_BYTES, max_depth: int = JSON_MAX_DEPTH
) -> dict[str, Any]:
    """:func:`json_body` that must be an object (what every route here takes)."""
    data = json_body(text, max_bytes=max_bytes, max_depth=max_depth)
    if not isinstance(data, dict):
        raise MalformedInput("body", "must be a JSON object")
    return data


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    in_string = False
    for match in _STRUCTURE.finditer(text):
        piece = match.group()
        if in_string:
            # An escape (two characters, or \uXXXX whose digits are not structure) stays
            # inside the string; only a bare quote ends it.
            in_string = piece != '"'
        elif piece == '"':
            in_string = True
        elif piece in "[{":
            depth += 1
            if depth > max_depth:
                raise MalformedInput(
                    "body", f"nests deeper than {max_depth} levels of arrays and objects"
                )
        elif piece in "]}":
            depth -= 1


def _no_constant(name: str) -> Any:
    # Python's parser takes NaN and Infinity, which RFC 8259 §6 does not allow.
    raise ValueError(f"{name} is not a JSON number")


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259 §4: the names of an object SHOULD be unique, and parsers disagree on which of
    # two wins; a sender that checked the first must not be answered for the last.
    data: dict[str, Any] = {}
    for name, value in pairs:
        if name in data:
            raise ValueError(f"the name {name!r} appears twice in one object")
        data[name] = value
    return data


def _finite_float(text: str) -> float:
    # 1e400 parses as infinity, which JSON cannot carry back out (RFC 8259 §6).
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large a number")
    return number


def _why(error: BaseException) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    return str(error).split(";", 1)[0] or type(error).__name__
