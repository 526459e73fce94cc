"""The DynamoDB adapter's item codec: what a domain mapping becomes on the wire and back."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.aws.dynamodb import _from_attr, _to_attr, decode, encode

_SCALARS = st.one_of(
    # Floats as the domain stores them (warn_at 0.8): a whole float reads back as an int.
    st.text(max_size=20),
    st.integers(),
    st.booleans(),
    st.sampled_from([0.5, 0.8, 1.25]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(item=st.dictionaries(st.text(max_size=8), st.one_of(st.none(), _VALUES), max_size=8))
def test_an_item_is_written_attribute_by_attribute_and_read_back_as_it_was(
    item: dict[str, Any],
) -> None:
    """encode writes a string in place (the common case) and every other value through
    the codec; decode reads a string attribute in place: both the same as the codec
    applied to each attribute, and a round trip gives the item back without its Nones."""
    stored = encode(item)

    assert stored == {k: _to_attr(v) for k, v in item.items() if v is not None}
    assert decode(stored) == {k: _from_attr(v) for k, v in stored.items()}
    assert decode(stored) == {k: v for k, v in item.items() if v is not None}


@settings(max_examples=300, deadline=None)
@given(number=st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{1,6})?(E[+-]?[0-9])?", fullmatch=True))
def test_a_number_is_read_as_the_int_or_float_its_decimal_value_is(number: str) -> None:
    """A whole number is read with int() directly; the same value and type as reading
    every number through Decimal."""
    from decimal import Decimal

    exact = Decimal(number)
    expected = int(exact) if exact == exact.to_integral_value() else float(exact)

    read = _from_attr({"N": number})

    assert (read, type(read)) == (expected, type(expected))
