"""The mail with fresh page links (helpdesk.notices.portal): it links to the desk's own
address whatever the event names, since an event can be planted in a failure queue and
redriven, or left in the previous release's queue (re-attack 3, N3: a planted request
mailed Anna genuine, signed links on an attacker's host)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from fakes import CONFIG, MONDAY_MORNING, FakeRecords, FakeUnitOfWork, fake_notifier, ticket
from helpdesk.events import PageLinksRequested
from helpdesk.notices.portal import link_base, page_links

DESK = "https://support.example.com"


def links_mailed(base_url: str, public_url: str | None = DESK) -> list[str]:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket())
    notifier = replace(fake_notifier(FakeRecords(uow), CONFIG), public_url=public_url)
    event = PageLinksRequested(
        ref="", email="anna@example.com", base_url=base_url, at=MONDAY_MORNING.isoformat()
    )
    page_links(notifier, event, MONDAY_MORNING)
    return [link for mail in notifier.mails() for link in re.findall(r"https?://\S+", mail.text)]


def test_a_request_naming_another_host_gets_links_to_the_desks_own_address() -> None:
    links = links_mailed("https://helpdesk-support.evil.example")
    assert links and all(link.startswith(DESK + "/ticket/") for link in links)


def test_a_request_that_came_in_at_the_desks_address_keeps_it() -> None:
    links = links_mailed(DESK + "/prod")
    assert links and all(link.startswith(DESK + "/prod/ticket/") for link in links)


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("http://support.example.com", DESK),  # the desk's host, downgraded: its own https
        ("https://support.example.com.evil.example", DESK),
        ("https://evil.example@support.example.com", DESK),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),  # helpdesk local, plain http
        ("", DESK),
    ],
)
def test_only_the_desks_own_host_or_this_machine_is_linked_to(asked: str, kept: str) -> None:
    assert link_base(asked, DESK) == kept


def test_without_an_address_of_its_own_the_desk_mails_no_links_to_a_foreign_host() -> None:
    assert links_mailed("https://helpdesk-support.evil.example", public_url=None) == []
