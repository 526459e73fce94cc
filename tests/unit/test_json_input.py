"""Request bodies read as JSON (helpdesk.json_input): what every JSON route refuses."""

from __future__ import annotations

import pytest

from helpdesk.errors import MalformedInput
from helpdesk.json_input import json_object


def test_a_name_given_twice_in_one_object_is_refused_naming_it() -> None:
    # RFC 8259 §4: names SHOULD be unique, and parsers disagree on which of two wins. A
    # bridge that checks the first "from" while the desk takes the last would be fooled
    # (attack 9, I1).
    body = '{"from": {"email": "lena@support.example"}, "from": {"email": "x@example.com"}}'

    with pytest.raises(MalformedInput) as refused:
        json_object(body)

    assert refused.value.field == "body"
    assert "'from' appears twice" in str(refused.value)


def test_the_same_name_in_two_objects_is_no_repeat() -> None:
    assert json_object('{"a": {"id": 1}, "b": {"id": 2}}') == {"a": {"id": 1}, "b": {"id": 2}}
