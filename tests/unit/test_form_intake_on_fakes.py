"""Form intake (``take_in_form``) on the fakes: a valid submission becomes a ticket with
its promise, and the same submission again answers with the same ticket."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

import helpdesk.model
from fakes import CONFIG, MONDAY_MORNING, FakeRecords, FakeUnitOfWork, with_limits
from helpdesk.events import TicketOpened
from helpdesk.services.form_intake import FormDesk, FormSubmission, take_in_form, validate_form

NOW = MONDAY_MORNING  # 09:55 in Berlin: office hours
FORM = {
    "name": "Anna Schmidt",
    "email": "Anna@Example.com",
    "subject": "Refund for order 1234",
    "message": "I sent the parcel back a week ago.",
    "category": "billing",
    "order_id": "1234",
}
ANNA = "192.0.2.44"  # where Anna's browser posts from


def submitted(fields: dict[str, str]) -> FormSubmission:
    """``fields`` as the form route takes them in from Anna's browser at ``NOW``."""
    return validate_form(fields, CONFIG, client=ANNA, now=NOW)


def test_a_submission_becomes_a_ticket_whose_answer_states_the_promise() -> None:
    uow = FakeUnitOfWork(CONFIG)

    answer = take_in_form(submitted(FORM), uow=uow, config=CONFIG, now=NOW)

    ticket = uow.tickets[str(answer["ref"])]
    assert (answer["status"], answer["language"]) == ("new", "en")
    # Four business hours from 09:55 Berlin: 13:55 CET.
    assert answer["promised_by"] == "2026-11-23T12:55:00+00:00"
    assert (ticket.channel, ticket.team, ticket.category) == ("form", "billing", "billing")
    assert ticket.contact_email == "anna@example.com"
    assert ticket.form == {"category": "billing", "order_id": "1234"}
    [message] = uow.messages(ticket.ref)
    assert message.text.endswith("Order: 1234")
    # Where it came from, for the agents: a typed address proves no author (review 18, #4).
    assert (message.channel, message.flags) == ("form", ())
    assert ticket.opening_proven is False  # a typed address proves no author
    [opened] = uow.events()
    assert isinstance(opened, TicketOpened)
    assert (opened.ref, opened.channel, opened.notify) == (ticket.ref, "form", True)
    assert uow.contacts["anna@example.com"].ticket_count == 1


def test_the_same_submission_posted_twice_is_one_ticket_and_the_same_answer() -> None:
    uow = FakeUnitOfWork(CONFIG)
    submission = submitted(FORM)

    first = take_in_form(submission, uow=uow, config=CONFIG, now=NOW)
    again = take_in_form(submission, uow=uow, config=CONFIG, now=NOW + timedelta(seconds=2))

    assert again == first
    assert len(uow.tickets) == 1
    assert uow.bus.kinds() == ["TicketOpened"]
    assert uow.contacts["anna@example.com"].ticket_count == 1


def test_a_submission_posted_again_after_the_answer_promises_no_time_already_past() -> None:
    # The browser retried the post an hour later; Lena had answered meanwhile. The answer
    # stated the first response's due (13:55, an hour ago by then) as still promised.
    from helpdesk.services.commands import EVERY_TEAM, AgentAction, carry_out

    uow = FakeUnitOfWork(CONFIG)
    submission = submitted(FORM)
    first = take_in_form(submission, uow=uow, config=CONFIG, now=NOW)
    ref = str(first["ref"])
    answered = AgentAction(
        scope=EVERY_TEAM, agent="lena@support.example", agent_name="Lena", reply="Refunded."
    )
    carry_out(answered, ref, uow=uow, config=CONFIG, now=NOW + timedelta(minutes=30))

    again = take_in_form(submission, uow=uow, config=CONFIG, now=NOW + timedelta(hours=5))

    assert again["ref"] == ref
    assert first["promised_by"] == "2026-11-23T12:55:00+00:00"
    assert again["promised_by"] is None  # nothing owed: the ticket waits on nobody


def test_a_new_reference_is_drawn_while_the_one_drawn_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uow = FakeUnitOfWork(CONFIG)
    take_in_form(submitted(FORM), uow=uow, config=CONFIG, now=NOW)
    [taken] = uow.tickets.values()
    draws = iter([taken.ref, taken.ref, "HD-NEW234"])
    monkeypatch.setattr(helpdesk.model, "new_reference", lambda: next(draws))

    answer = take_in_form(
        submitted({**FORM, "subject": "Another question"}),
        uow=uow,
        config=CONFIG,
        now=NOW,
    )

    assert answer["ref"] == "HD-NEW234"
    assert uow.tickets[taken.ref].subject == "Refund for order 1234"
    assert len(uow.tickets) == 2


@pytest.mark.parametrize("address", ["maria@support.example", "support@support.example"])
def test_a_staff_or_desk_address_on_the_form_is_flagged_spoofed_and_unanswered(
    address: str,
) -> None:
    # Anyone can type a lead's or the desk's own address into the form: treated as an
    # unauthenticated mail from it (flag spoofed, no acknowledgement, not routed), so the
    # desk never acknowledges to itself (attack 18, A18-10).
    uow = FakeUnitOfWork(CONFIG)
    records = FakeRecords(uow)

    answer = take_in_form(
        submitted({**FORM, "email": address}),
        uow=uow,
        config=CONFIG,
        now=NOW,
        repo=records,
    )

    ticket = uow.tickets[str(answer["ref"])]
    assert (ticket.flags, ticket.sla) == (["spoofed"], None)
    [opened] = uow.events()
    assert isinstance(opened, TicketOpened) and opened.notify is False
    assert answer["promised_by"] is None
    # Listed for the ops view like a spoofed mail.
    assert [(e["reason"], e["from"], e["ref"]) for e in records.suppressed.values()] == [
        ("spoofed", address, ticket.ref)
    ]


# ---------------------------------------------------------------- posted without an id
STRANGER = "198.51.100.7"


def form_post(
    uow: FakeUnitOfWork, fields: dict[str, str], *, source_ip: str, at: datetime
) -> dict[str, Any]:
    """``fields`` posted to the form route from ``source_ip`` at ``at``, with no
    ``submission_id`` (a script's post: the form page always sends one)."""
    desk = FormDesk(uow=uow, repo=FakeRecords(uow), config=CONFIG)
    return desk.submit(
        body=json.dumps(fields), content_type="application/json", source_ip=source_ip, now=at
    )


def test_a_form_without_an_id_posted_twice_by_its_client_at_once_is_one_ticket() -> None:
    uow = FakeUnitOfWork(CONFIG)

    first = form_post(uow, FORM, source_ip=ANNA, at=NOW)
    again = form_post(uow, FORM, source_ip=ANNA, at=NOW + timedelta(seconds=20))

    assert again == first
    assert len(uow.tickets) == 1


def test_the_same_form_without_an_id_from_another_client_is_a_ticket_of_its_own() -> None:
    # Attack 8, F4: the derived id was the content's digest alone and its claim global, so
    # whoever posted the same address, subject and message learnt Anna's reference (what a
    # forged mail needs to join her ticket), status and promise.
    uow = FakeUnitOfWork(CONFIG)
    anna = form_post(uow, FORM, source_ip=ANNA, at=NOW)

    at_once = form_post(uow, FORM, source_ip=STRANGER, at=NOW + timedelta(seconds=20))
    later = form_post(uow, FORM, source_ip=STRANGER, at=NOW + timedelta(hours=2))

    refs = {anna["ref"], at_once["ref"], later["ref"]}
    assert len(refs) == 3 and len(uow.tickets) == 3


def test_the_same_form_without_an_id_from_its_client_after_the_window_is_a_new_ticket() -> None:
    uow = FakeUnitOfWork(CONFIG)
    first = form_post(uow, FORM, source_ip=ANNA, at=NOW)

    again = form_post(uow, FORM, source_ip=ANNA, at=NOW + timedelta(minutes=30))

    assert again["ref"] != first["ref"]


def test_a_form_with_its_own_id_is_one_ticket_from_any_client_at_any_time() -> None:
    # The form page's random submission_id: a retry through another network is the same
    # submission, as before.
    uow = FakeUnitOfWork(CONFIG)
    form = {**FORM, "submission_id": "3f1c2a9e-0b7d-4c55-9a57-7d2f5e0c1b11"}
    first = form_post(uow, form, source_ip=ANNA, at=NOW)

    again = form_post(uow, form, source_ip=STRANGER, at=NOW + timedelta(hours=2))

    assert again["ref"] == first["ref"] and len(uow.tickets) == 1


SHALOM = "\u05e9\u05dc\u05d5\u05dd\u200f"  # Hebrew, with the right-to-left mark it keeps


def test_directional_overrides_are_taken_out_of_what_the_form_stores() -> None:
    # U+202E in a name reverses the address printed after it in the agent's mail, and in a
    # text makes an IBAN read otherwise than it copies ("Trojan Source", CVE-2021-42574;
    # attack 9, F4). The implicit marks U+200E/U+200F stay: right-to-left text needs them.
    form = submitted(
        {
            **FORM,
            "name": "Ann\u202eevil\u2066",
            "subject": "Refund \u202e0001$\u202c now",
            "message": "Pay to IBAN \u202e1234 5678 ED\u202c please. " + SHALOM,
        }
    )

    assert form.name == "Annevil"
    assert form.subject == "Refund 0001$ now"
    assert form.message == "Pay to IBAN 1234 5678 ED please. " + SHALOM


def test_the_form_acknowledges_typed_addresses_at_most_the_desks_hourly_ceiling() -> None:
    # Attack 11, F2: the form proves no address, and an IPv6 /48 holds 65,536 clients of a
    # /64 each: 300 posts had 300 gmail.com victims acknowledged within the hour, each
    # mail repeating the poster's "name" and subject from the desk's signed domain.
    config = with_limits(unauthenticated_acknowledgements_per_hour=3)
    uow = FakeUnitOfWork(config)
    desk = FormDesk(uow=uow, repo=FakeRecords(uow), config=config)

    for n in range(5):
        desk.submit(
            body=json.dumps({**FORM, "email": f"victim{n}@gmail.com"}),
            content_type="application/json",
            source_ip=f"2001:db8:77:{n:x}::1",
            now=NOW + timedelta(minutes=n),
        )

    opened = [e for e in uow.events() if isinstance(e, TicketOpened)]
    assert [e.notify for e in opened] == [True, True, True, False, False]
    assert len(uow.tickets) == 5  # every one a ticket, its page showing the promise


def test_a_submission_posted_again_spends_nothing_more_of_the_ceiling() -> None:
    # Review 12, #1: a plain count took a slot for each post of one submission, and with
    # the ceiling spent listed the acknowledged ticket as loop_limit.
    config = with_limits(unauthenticated_acknowledgements_per_hour=1)
    uow = FakeUnitOfWork(config)
    records = FakeRecords(uow)
    desk = FormDesk(uow=uow, repo=records, config=config)
    body = json.dumps({**FORM, "submission_id": "0123456789abcdef0123456789abcdef"})

    for n in range(2):  # the browser posts the same submission again
        desk.submit(
            body=body,
            content_type="application/json",
            source_ip=ANNA,
            now=NOW + timedelta(seconds=n),
        )

    [opened] = [e for e in uow.events() if isinstance(e, TicketOpened)]
    assert opened.notify
    assert records.suppressed_reasons(opened.ref) == []


def networked_forms(**limits: int) -> tuple[FakeUnitOfWork, Callable[[int, str], None]]:
    """The form desk with ``limits``, and how to post form ``n`` (its own address and
    subject) from ``source_ip``, ``n`` seconds after NOW."""
    config = with_limits(**limits)
    uow = FakeUnitOfWork(config)
    desk = FormDesk(uow=uow, repo=FakeRecords(uow), config=config)

    def post(n: int, source_ip: str) -> None:
        desk.submit(
            body=json.dumps({**FORM, "email": f"v{n}@example.org", "subject": f"Spam {n}"}),
            content_type="application/json",
            source_ip=source_ip,
            now=NOW + timedelta(seconds=n),
        )

    return uow, post


def test_the_64_networks_of_one_48_share_a_few_clients_worth_of_forms() -> None:
    # Review 11, #2: a household gets a /56 and a tunnel broker's user a /48 (RFC 6177),
    # 256 or 65,536 clients of a /64 each, so the count per /64 alone bounded nobody.
    from helpdesk.errors import RateLimited

    uow, post = networked_forms(form_per_ip_per_hour=2)

    posts = 2 * CONFIG.limits.clients_per_network
    for n in range(posts):  # two from each of its /64s
        post(n, f"2001:db8:77:{n // 2:x}::1")
    with pytest.raises(RateLimited) as limited:
        post(posts, f"2001:db8:77:{posts:x}::1")

    assert limited.value.what == "network"
    assert len(uow.tickets) == posts
    post(posts + 1, "2001:db8:78::1")  # another /48 is another network
    post(posts + 2, ANNA)  # an IPv4 address is one client, as before
    assert len(uow.tickets) == posts + 2


# Look-alikes of anna@example.com that read the same to an agent: a zero-width space, a
# word joiner, a soft hyphen, a Cyrillic "а". Amazon SES takes no SMTPUTF8 (RFC 6531), so
# the desk cannot write to any of them: taken in, the acknowledgement and every reply went
# nowhere without a word, while the ticket read as Anna's (attack 19, F2).
LOOKALIKES = ["anna\u200b@example.com", "an\u2060na@example.com", "an\u00adna@example.com",
              "\u0430nna@example.com"]  # fmt: skip


@pytest.mark.parametrize("address", LOOKALIKES)
def test_an_address_the_desk_cannot_write_to_is_refused_naming_the_field(address: str) -> None:
    from helpdesk.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        validate_form(FORM | {"email": address}, CONFIG, client=ANNA, now=NOW)

    assert refused.value.field == "email"


def test_an_operator_sets_how_many_clients_share_a_48() -> None:
    # Review 20, #14: a mobile carrier's /48 pools many subscribers, as IPv4 carrier NAT
    # does; limits.clients_per_network is the knob.
    from helpdesk.errors import RateLimited

    _, post = networked_forms(form_per_ip_per_hour=1, clients_per_network=1)

    post(1, "2001:db8:77:1::1")
    with pytest.raises(RateLimited) as limited:
        post(2, "2001:db8:77:2::1")

    assert limited.value.what == "network"
