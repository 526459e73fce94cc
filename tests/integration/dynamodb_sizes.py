"""What DynamoDB would refuse, computed the way AWS documents it, for the items the local
stack holds (moto does not enforce every limit the way DynamoDB does).

- Item size: "Item sizes and formats", Amazon DynamoDB Developer Guide
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
  attribute names count with their values; strings are their UTF-8 bytes; a number is about
  one byte per two significant digits plus one; null and Boolean are one byte; a list or map
  costs 3 bytes plus one byte per element, a map's keys counting like attribute names.
- Limits: "Constraints in Amazon DynamoDB"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html):
  an item is at most 400 KB (409,600 bytes), a partition key value at most 2,048 bytes, a
  sort key value at most 1,024 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ITEM_MAX_BYTES = 400 * 1024
PARTITION_KEY_MAX_BYTES = 2048
SORT_KEY_MAX_BYTES = 1024
# The table's key attributes and those of its indexes (template.yaml): GSI1, TimerIndex and
# BacklogIndex (whose sort key is GSI1SK).
PARTITION_KEYS = ("PK", "GSI1PK", "TPK", "BPK")
SORT_KEYS = ("SK", "GSI1SK", "TSK")


def value_size(value: Any) -> int:
    """The documented size of one decoded attribute value."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, int | float):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if isinstance(value, Mapping):
        return 3 + sum(len(str(k).encode("utf-8")) + value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(value_size(v) + 1 for v in value)
    raise TypeError(type(value).__name__)


def item_size(item: Mapping[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def violations(items: list[dict[str, Any]]) -> list[str]:
    """Each item of ``items`` that DynamoDB would have refused, and why."""
    found = []
    for item in items:
        where = f"{str(item.get('PK'))[:60]}/{str(item.get('SK'))[:60]}"
        size = item_size(item)
        if size > ITEM_MAX_BYTES:
            found.append(f"{where}: item of {size} bytes")
        for name in PARTITION_KEYS:
            if name in item and len(str(item[name]).encode()) > PARTITION_KEY_MAX_BYTES:
                found.append(f"{where}: {name} of {len(str(item[name]).encode())} bytes")
        for name in SORT_KEYS:
            if name in item and len(str(item[name]).encode()) > SORT_KEY_MAX_BYTES:
                found.append(f"{where}: {name} of {len(str(item[name]).encode())} bytes")
    return found
