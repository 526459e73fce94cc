"""The mail with fresh page links (helpdesk.notices.portal): it links to the desk's own
address whatever the event names, since an event can be planted in a failure queue and
redriven, or left in the previous release's queue (re-attack 3, N3: a planted request
mailed Anna genuine, signed links on an attacker's host). And the page's half of the rule
(helpdesk.portal_web.request_link_base): the address the page asks links for is https
whatever the client claims (I-2), unless the request came in on this machine."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from fakes import CONFIG, MONDAY_MORNING, FakeRecords, FakeUnitOfWork, fake_notifier, ticket
from helpdesk.events import PageLinksRequested
from helpdesk.notices.portal import link_base, page_links
from helpdesk.portal_web import request_link_base

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


API = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"


def asked_for(
    domain_name: str = API,
    stage: str = "$default",
    forwarded_proto: str | None = "https",
    public_url: str | None = None,
) -> str:
    return request_link_base(
        public_url, domain_name=domain_name, stage=stage, forwarded_proto=forwarded_proto
    )


def test_the_page_asks_links_for_the_desks_public_url_when_it_has_one() -> None:
    asked = asked_for("evil.example", "prod", "http", public_url=" https://help.example/ ")
    assert asked == "https://help.example"


def test_without_a_public_url_the_page_asks_links_for_where_the_request_came_in() -> None:
    assert asked_for() == f"https://{API}"
    assert asked_for(stage="") == f"https://{API}"


def test_a_named_stage_is_the_first_part_of_the_links_path() -> None:
    assert asked_for(stage="prod") == f"https://{API}/prod"


@pytest.mark.parametrize("claimed", ["http", "https", "javascript", "", None])
def test_links_the_page_asks_for_are_https_whatever_the_client_claims(
    claimed: str | None,
) -> None:
    # I-2 (link poisoning): an http link would carry the page's token in clear.
    assert asked_for(forwarded_proto=claimed) == f"https://{API}"
    assert asked_for("support.example.com", forwarded_proto=claimed).startswith("https://")


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"])
def test_only_a_request_on_this_machine_keeps_the_plain_http_it_names(host: str) -> None:
    # helpdesk local serves plain http and says so in X-Forwarded-Proto.
    assert asked_for(host, forwarded_proto="http") == f"http://{host}"
    assert asked_for(host, forwarded_proto="gopher") == f"https://{host}"
    assert asked_for(host, forwarded_proto=None) == f"https://{host}"


def test_what_the_page_asks_for_at_the_desks_own_address_the_mail_keeps() -> None:
    own = f"https://{API}"
    assert link_base(asked_for(stage="prod", forwarded_proto="http"), own) == own + "/prod"
    assert link_base(asked_for("127.0.0.1:8080", forwarded_proto="http"), own) == (
        "http://127.0.0.1:8080"
    )
