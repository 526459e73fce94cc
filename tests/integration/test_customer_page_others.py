"""The contact's other tickets on the page, fresh links by mail, and bad input
(tests/scenarios/portal_other_tickets.yaml)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from customer_page_support import (
    LINK,
    ask_for_links,
    assert_refused,
    assert_unchanged,
    link_of,
    played_fixture,
    reply_post,
    state,
    text_of,
)

pytestmark = pytest.mark.slow


others = played_fixture("portal_other_tickets.yaml")


# ---------------------------------------------------------------------- the other tickets
def test_the_other_tickets_list_shows_only_the_contacts_own(others: Any) -> None:
    stack, _ = others
    anna_old, bob, _ = state(stack)["tickets"]
    page = stack.http("GET", link_of(stack, 3))
    listed = re.findall(r"(HD-[A-Z0-9]{6}): ", text_of(page))
    assert listed == [anna_old["ref"]]
    assert bob["ref"] not in page.body and "Invoice address" not in page.body
    other = re.search(r'<nav.*?<a href="([^"]+)"', page.body, re.DOTALL)
    assert other is not None
    opened = stack.http("GET", "/ticket/" + other[1])
    assert opened.status == 200
    assert "Where is my order?" in text_of(opened)


# ---------------------------------------------------------------------- fresh links by mail
def test_asking_for_links_mails_them_to_a_known_address_and_answers_alike(others: Any) -> None:
    stack, _ = others
    ask = stack.http("GET", "/ticket")
    assert ask.status == 200 and 'name="email"' in ask.body
    before = len(state(stack)["outbox"])
    known = ask_for_links(stack, "anna@example.com", "203.0.113.9")
    unknown = ask_for_links(stack, "nobody@example.com", "203.0.113.9")
    assert known.status == unknown.status == 200
    assert known.body.replace("anna@example.com", "X") == unknown.body.replace(
        "nobody@example.com", "X"
    )
    sent = state(stack)["outbox"][before:]
    assert [(m["kind"], m["to"]) for m in sent] == [("links", ["anna@example.com"])]
    anna = [
        t["ref"] for t in state(stack)["tickets"] if t["contact"]["email"] == "anna@example.com"
    ]
    links = LINK.findall(sent[0]["text"])
    assert len(links) == 2
    for link in links:
        page = stack.http("GET", "/ticket/" + link.rsplit("/", 1)[1])
        assert page.status == 200
        shown = re.search(r"HD-[A-Z0-9]{6}", page.body)
        assert shown is not None and shown[0] in anna


def test_asking_for_links_is_rate_limited_per_address_and_per_client(others: Any) -> None:
    stack, _ = others
    statuses = [ask_for_links(stack, "carol@example.com", "198.51.100.20").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    by_client = [
        ask_for_links(stack, f"p{n}@example.com", "198.51.100.21").status for n in range(11)
    ]
    assert by_client[:10] == [200] * 10 and by_client[10] == 429


def test_asking_for_links_without_an_address_names_the_field(others: Any) -> None:
    stack, _ = others
    page = ask_for_links(stack, "not an address", "198.51.100.30")
    assert_refused(page, 422, "please enter a valid email address")


# ---------------------------------------------------------------------- bad input
def test_a_reply_too_long_is_refused_naming_the_message_and_kept(others: Any) -> None:
    stack, _ = others
    path = link_of(stack, 3)
    body, headers = reply_post(stack, path, "x" * 20_001)
    page = stack.http("POST", path, body=body, headers=headers)
    assert_refused(page, 413, "your message is too long (at most 20000 characters)")


def test_an_empty_reply_and_too_many_files_are_refused_naming_the_field(others: Any) -> None:
    stack, _ = others
    path = link_of(stack, 3)
    empty, headers = reply_post(stack, path, "  ")
    page = stack.http("POST", path, body=empty, headers=headers)
    assert_refused(page, 422, "please write your message.")
    files = tuple((f"f{n}.txt", "text/plain", b"x") for n in range(6))
    many, headers = reply_post(stack, path, "six files", files)
    page = stack.http("POST", path, body=many, headers=headers)
    assert_refused(page, 413, "too many files (at most 5).")
    odd = stack.http("POST", path, body="{}", headers={"content-type": "application/json"})
    assert odd.status == 415


def test_a_form_part_that_is_itself_multipart_is_refused_unread(others: Any) -> None:
    # Attack 3, F1: the parser read every inner part of a nested multipart (3.5 MB: 34 s of
    # CPU); RFC 7578 section 4.3 has a form send one part per file.
    stack, _ = others
    path = link_of(stack, 3)
    body, headers = reply_post(stack, path, "nested files")
    boundary = headers["content-type"].split("boundary=", 1)[1]
    inner = "--X\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 3
    nested = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"\r\n'
        f"Content-Type: multipart/mixed; boundary=X\r\n\r\n{inner}--X--\r\n\r\n"
    ).encode()
    close = f"--{boundary}--\r\n".encode()
    before = state(stack)
    page = stack.http("POST", path, body=body.replace(close, nested + close), headers=headers)
    assert page.status == 422
    assert "the page is out of date: please reload it and try again." in text_of(page)
    assert_unchanged(stack, before)


def test_links_in_a_resent_mail_are_https_whatever_the_request_claims(others: Any) -> None:
    # I-2 (link poisoning): the scheme came from the client's X-Forwarded-Proto.
    stack, _ = others
    bob = state(stack)["tickets"][1]["contact"]["email"]
    before = len(state(stack)["outbox"])
    answer = ask_for_links(
        stack,
        bob,
        "198.51.100.40",
        headers={"x-forwarded-proto": "http"},
        host="support.example",
    )
    assert answer.status == 200
    [mail] = [m for m in state(stack)["outbox"][before:] if m["kind"] == "links"]
    links = re.findall(r"\bhttps?://\S+/ticket/\S+", mail["text"])
    assert links and all(link.startswith("https://") for link in links)
