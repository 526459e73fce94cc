"""Signed survey links: they name one ticket, expire, and cannot be forged or altered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.links import LinkRefused
from helpdesk.services.surveys import SURVEY, make_token, score_url

KEY = b"test-signing-key"


def verify_token(token: str, key: bytes, *, now: datetime) -> str:
    """The ticket a survey link names, read as the survey page reads it (SURVEY.read)."""
    return SURVEY.read(token, key, now=now)[0]


NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOKEN = make_token("HD-7K3M9Q", NOW + timedelta(days=14), KEY)


def test_a_genuine_link_names_its_ticket() -> None:
    assert verify_token(TOKEN, KEY, now=NOW) == "HD-7K3M9Q"


def test_a_link_is_refused_from_the_instant_it_expires() -> None:
    assert verify_token(TOKEN, KEY, now=NOW + timedelta(days=14, seconds=-1)) == "HD-7K3M9Q"
    with pytest.raises(LinkRefused) as refused:
        verify_token(TOKEN, KEY, now=NOW + timedelta(days=14))
    assert (refused.value.reason, refused.value.ref) == ("expired", "HD-7K3M9Q")


def test_a_link_signed_with_another_key_is_forged() -> None:
    with pytest.raises(LinkRefused, match="forged"):
        verify_token(make_token("HD-7K3M9Q", NOW + timedelta(days=1), b"guess"), KEY, now=NOW)


@pytest.mark.parametrize("token", ["", ".", "abc", "%%%.%%%", TOKEN.split(".")[0]])
def test_a_malformed_link_is_refused(token: str) -> None:
    with pytest.raises(LinkRefused):
        verify_token(token, KEY, now=NOW)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw-_0.9"))
def test_changing_any_character_of_a_link_makes_it_refused(position: int, replacement: str) -> None:
    index = position % len(TOKEN)
    altered = TOKEN[:index] + replacement + TOKEN[index + 1 :]
    if altered == TOKEN:
        return
    with pytest.raises(LinkRefused):
        verify_token(altered, KEY, now=NOW)


@pytest.mark.parametrize("index", [0, len(TOKEN.split(".")[0]) - 1, len(TOKEN) - 1])
def test_changing_the_last_character_of_either_part_is_refused_too(index: int) -> None:
    # The spare bits of a final base64 character would decode to the same bytes.
    for replacement in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
        altered = TOKEN[:index] + replacement + TOKEN[index + 1 :]
        if altered != TOKEN:
            with pytest.raises(LinkRefused):
                verify_token(altered, KEY, now=NOW)


def test_the_score_link_carries_the_token_and_the_score_for_the_scenario_player() -> None:
    url = score_url("https://help.example.com/", TOKEN, 4)

    assert url == f"https://help.example.com/survey/{TOKEN}?score=4"
