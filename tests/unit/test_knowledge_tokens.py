"""Retrieval's tokens: the split of a text into words, numbers and Han runs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.knowledge.tokens import _ASCII_TOKEN, _TOKEN, normalise


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_an_ascii_text_splits_into_the_same_tokens_by_the_ascii_pattern(text: str) -> None:
    """A case-folded ASCII text is split by a pattern of a-z and 0-9 runs; the tokens are
    those of the pattern with Unicode's classes that every other text goes through."""
    folded = normalise(text)

    assert _ASCII_TOKEN.findall(folded) == _TOKEN.findall(folded)
