"""The ticket's SLA clocks as stored on its item: one compact JSON string.

The ticket item is written at every change, in a transaction that bills every started KB
twice, and copied into GSI1 (projection ALL) each time. As a DynamoDB map the clocks took
about 520 bytes of a ~1 KB ticket, most of it repeated attribute names and ISO 8601
instants ("Item sizes and formats", DynamoDB developer guide: every name and value counts).
Stored as JSON with short names and instants written without separators they take about
half, which keeps an ordinary ticket, with its SLA timer keys, within one write unit.

The encoding is lossless for what :meth:`helpdesk.sla.SlaState.to_dict` produces and for
any other JSON-safe mapping: names it does not know are kept as they are (a known short
name used as a long one is refused), and only strings in the exact UTC form
``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`` are shortened; a string that begins with the
marker is escaped. Items written before this (a map) are read as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# Long name -> short name. Short names never equal a long one (checked at import).
_SHORT: dict[str, str] = {
    "policy": "p",
    "warn_at": "wa",
    "targets": "t",
    "clocks": "c",
    "history": "h",
    "name": "n",
    "started_at": "s",
    "target_seconds": "ts",
    "used_seconds": "u",
    "running_since": "r",
    "due": "d",
    "warning_at": "w",
    "achieved_at": "a",
    "warned": "W",
    "breached": "B",
    "first_response": "f",
    "next_response": "x",
    "resolution": "z",
    "complaint": "k",
}
_LONG = {short: long for long, short in _SHORT.items()}
assert len(_LONG) == len(_SHORT) and not set(_LONG) & set(_SHORT)

_MARK = "~"
_INSTANT = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{6}))?\+00:00")
_PACKED = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d{6})?")


def pack(sla: Mapping[str, Any]) -> str:
    """The stored form of a ticket's ``sla`` mapping."""
    return json.dumps(_pack(sla), separators=(",", ":"), ensure_ascii=False)


def unpack(stored: str | Mapping[str, Any]) -> dict[str, Any]:
    """The ``sla`` mapping :func:`pack` stored (a map, as stored before, as it is)."""
    if not isinstance(stored, str):
        return dict(stored)
    value = _unpack(json.loads(stored))
    assert isinstance(value, dict)
    return value


def _pack(value: Any) -> Any:
    # Tested by exact type first: strings and numbers are most of the values, and an ABC
    # isinstance test (Mapping) costs more than the rest of the work on them.
    kind = type(value)
    if kind is str:
        return _pack_text(value)
    if kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        packed = {}
        for key, item in value.items():
            if key in _LONG:
                raise ValueError(f"sla: the name {key!r} is a stored short name")
            packed[_SHORT.get(key, key)] = _pack(item)
        return packed
    if isinstance(value, list | tuple):
        return [_pack(item) for item in value]
    if isinstance(value, str):
        return _pack_text(value)
    if isinstance(value, Decimal):
        # Read back from a map-stored ticket: the number DynamoDB had.
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _pack_text(value: str) -> str:
    instant = _INSTANT.fullmatch(value)
    if instant:
        return _MARK + "".join(filter(None, instant.groups()))
    return _MARK + value if value.startswith(_MARK) else value


def _unpack(value: Any) -> Any:
    kind = type(value)  # what json.loads made: exactly str, dict, list or a number
    if kind is str:
        return _unpack_text(value) if value.startswith(_MARK) else value
    if kind is dict or isinstance(value, dict):
        return {_LONG.get(key, key): _unpack(item) for key, item in value.items()}
    if kind is list or isinstance(value, list):
        return [_unpack(item) for item in value]
    if isinstance(value, str) and value.startswith(_MARK):
        return _unpack_text(value)
    return value


def _unpack_text(value: str) -> str:
    """A marked string :func:`_pack_text` wrote: an instant, or an escaped "~"."""
    rest = value[1:]
    if rest.startswith(_MARK):
        return rest
    packed = _PACKED.fullmatch(rest)
    if packed is None:
        raise ValueError(f"sla: {value!r} is not a stored instant")
    year, month, day, hour, minute, second, micros = packed.groups()
    fraction = f".{micros}" if micros else ""
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}{fraction}+00:00"


__all__ = ["pack", "unpack"]
