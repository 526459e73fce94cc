"""Which spellings of an address count as one mailbox for the caps."""

from __future__ import annotations

import pytest

from helpdesk.mail.mailbox import domain_of, mailbox_key


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("support+1001@vendor.example", "support@vendor.example"),
        ("Support+1002@Vendor.Example", "support@vendor.example"),
        ("victim+a+b@example.com", "victim@example.com"),
        ("  Anna@Example.COM ", "anna@example.com"),
        ("J.Smith+x@GoogleMail.com", "jsmith@gmail.com"),
        ("j.s.m.i.t.h@gmail.com", "jsmith@gmail.com"),
    ],
)
def test_spellings_of_one_mailbox_count_as_that_mailbox(address: str, mailbox: str) -> None:
    assert mailbox_key(address) == mailbox


def test_dots_name_another_mailbox_outside_gmail() -> None:
    assert mailbox_key("j.smith@example.com") != mailbox_key("jsmith@example.com")


def test_an_address_that_is_only_a_tag_keeps_its_local_part() -> None:
    assert mailbox_key("+tag@example.com") == "+tag@example.com"


def test_the_domain_of_a_googlemail_address_is_gmail() -> None:
    assert domain_of("someone+x@googlemail.com") == "gmail.com"
    assert domain_of("support+7@Vendor.Example") == "vendor.example"
