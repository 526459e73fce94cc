"""Every real robot mail of tests/data/robots is recognised as a robot, and the real
person's mails that look a little like bounces are not (sources and licence in
tests/data/robots/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.mail.parse import parse_mail
from helpdesk.mail.robots import robot_reason

ROBOTS = Path(__file__).resolve().parents[1] / "data" / "robots"
OWN_DOMAIN = "support.example"


def _names(folder: str) -> list[str]:
    return sorted(path.name for path in (ROBOTS / folder).glob("*.eml"))


def test_the_robot_corpus_holds_the_real_mails_the_readme_names() -> None:
    assert len(_names("sisimai")) == 629
    assert len(_names("persons")) == 2
    assert len(_names("customers")) == 3


@pytest.mark.parametrize("name", _names("sisimai"))
def test_a_real_robot_mail_is_recognised_as_a_robot(name: str) -> None:
    mail = parse_mail((ROBOTS / "sisimai" / name).read_bytes())
    assert robot_reason(mail, own_domain=OWN_DOMAIN) is not None


@pytest.mark.parametrize("name", _names("persons"))
def test_a_real_person_mail_that_mentions_delivery_is_not_a_robot(name: str) -> None:
    mail = parse_mail((ROBOTS / "persons" / name).read_bytes())
    assert robot_reason(mail, own_domain=OWN_DOMAIN) is None


@pytest.mark.parametrize("name", _names("customers"))
def test_a_customer_complaining_of_non_delivery_in_a_bounces_words_is_not_a_robot(
    name: str,
) -> None:
    mail = parse_mail((ROBOTS / "customers" / name).read_bytes())
    assert robot_reason(mail, own_domain=OWN_DOMAIN) is None
