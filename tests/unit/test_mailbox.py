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


@pytest.mark.parametrize(
    ("spellings", "mailbox"),
    [
        # Apple: an account that had @me.com or @mac.com has the same name at @icloud.com.
        (["anna@icloud.com", "Anna@me.com", "anna+shop@mac.com"], "anna@icloud.com"),
        # Proton: the short @pm.me and the older domains are the same account's addresses.
        # ... whose usernames ignore ".", "_" and "-" ("How to change your username").
        (
            ["liwei@proton.me", "li.wei@protonmail.com", "li_wei@protonmail.ch", "l-i.wei@pm.me"],
            "liwei@proton.me",
        ),
        # Yandex: a login's address at the domain or one of its domain aliases.
        (
            ["ivan@yandex.ru", "ivan@ya.ru", "ivan@yandex.com", "ivan@yandex.by"],
            "ivan@yandex.ru",
        ),
        # Fastmail: anything@user.fastmail.com is user+anything@fastmail.com.
        (
            ["shop@jo.fastmail.com", "jo+news@fastmail.com", "Bank@JO.fastmail.com"],
            "jo@fastmail.com",
        ),
        # ... where "-" in the subdomain stands for the "_" a host name cannot have.
        (["shop@joe-citizen.fastmail.fm", "joe_citizen@fastmail.fm"], "joe_citizen@fastmail.fm"),
    ],
)
def test_a_providers_alias_domains_reach_one_mailbox(spellings: list[str], mailbox: str) -> None:
    """Attack 4, F4: each alias domain had its own three acknowledgements an hour."""
    assert {mailbox_key(address) for address in spellings} == {mailbox}
    assert {domain_of(address) for address in spellings} == {mailbox.rpartition("@")[2]}


def test_dots_name_another_mailbox_outside_gmail() -> None:
    assert mailbox_key("j.smith@example.com") != mailbox_key("jsmith@example.com")


def test_an_address_that_is_only_a_tag_keeps_its_local_part() -> None:
    assert mailbox_key("+tag@example.com") == "+tag@example.com"


def test_the_domain_of_a_googlemail_address_is_gmail() -> None:
    assert domain_of("someone+x@googlemail.com") == "gmail.com"
    assert domain_of("support+7@Vendor.Example") == "vendor.example"
