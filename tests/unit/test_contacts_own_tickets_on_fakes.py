"""Which tickets are a contact's own: those her page lists as her other requests and the
fresh-links mail links to. A ticket opened by mail the desk leaves unanswered because it
does not show who wrote it (proven forged, spoofed, a robot's, spam, a virus) is not hers:
listing it would mail her the forger's words and name, with working links, from the desk's
own domain (attack 15, F1; attack 10, F1 stopped the acknowledgement for the same reason)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from mail_desk import MailDesk

from fakes import CONFIG, MONDAY_MORNING, FakeMailStore, fake_notifier
from helpdesk.events import PageLinksRequested, TicketOpened
from helpdesk.mail.compose import OutboundMail
from helpdesk.notices.portal import page_links
from helpdesk.services.commands import EVERY_TEAM, AgentAction, carry_out
from helpdesk.services.portal import PortalDesk, page_token

NOW = MONDAY_MORNING
KEY = b"unit-test-signing-key"
DESK = "https://support.example.com"
LURE = "Refund approved: confirm your card at https://evil.example/r"
FORGER = "Anna, your account is locked: call +1 555 0100"
# What SES stamps on a mail whose From domain publishes DMARC and which fails it.
DMARC_FAIL = (
    "Authentication-Results: amazonses.com;\r\n spf=fail (spfCheck: 203.0.113.9 is not"
    " permitted) client-ip=203.0.113.9; envelope-from=x@attacker.example;\r\n"
    " dkim=none;\r\n dmarc=fail header.from=example.com;\r\n"
)


DMARC_PASS = (
    "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=anna@example.com;"
    " dkim=pass header.i=@example.com; dmarc=pass header.from=example.com\r\n"
)


def mail(subject: str, message_id: str, *, name: str = "Anna Schmidt", extra: str = "") -> bytes:
    return (
        f'{extra}From: "{name}" <anna@example.com>\r\nTo: support@support.example\r\n'
        f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
        "Date: Mon, 23 Nov 2026 09:50:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{subject}\r\n"
    ).encode()


def annas_desk() -> MailDesk:
    """Anna's one real request, then a forger's mails in her name: two proven forged, two
    marked as auto-replies (which any domain can send)."""
    desk = MailDesk(CONFIG, NOW)
    real = mail("Where is my order?", "real@example.com", extra=DMARC_PASS)
    assert desk.deliver("real", real).outcome == "opened"
    for n in range(2):
        for kind, extra in (("forged", DMARC_FAIL), ("robot", "Auto-Submitted: auto-replied\r\n")):
            at = NOW + timedelta(minutes=1 + n)
            opened = desk.deliver(
                f"{kind}{n}", mail(LURE, f"{kind}{n}@x", name=FORGER, extra=extra), at=at
            )
            assert opened.outcome == "opened"
    return desk


def page(desk: MailDesk) -> PortalDesk:
    return PortalDesk(
        uow=desk.uow, repo=desk.records, store=FakeMailStore(), config=CONFIG, signing_key=KEY
    )


def links_mail(desk: MailDesk) -> OutboundMail:
    """The mail of fresh links that anyone's request for Anna's (on the page) has sent her."""
    page(desk).resend(
        "email=anna%40example.com",
        "application/x-www-form-urlencoded",
        source_ip="198.51.100.7",
        base_url=DESK,
        now=NOW + timedelta(minutes=5),
    )
    [asked] = [e for e in desk.uow.bus.events if isinstance(e, PageLinksRequested)]
    notifier = replace(fake_notifier(desk.records, CONFIG), public_url=DESK, signing_key=KEY)
    page_links(notifier, asked, NOW + timedelta(minutes=5))
    [links] = notifier.mails()
    return links


def test_the_fresh_links_mail_lists_only_the_tickets_the_contact_wrote() -> None:
    desk = annas_desk()
    links = links_mail(desk)
    assert links.to == ("anna@example.com",)
    assert "Where is my order?" in links.text and "Anna Schmidt" in links.text
    assert LURE not in links.text and FORGER not in links.text
    assert links.text.count(f"{DESK}/ticket/") == 1


def test_her_page_lists_none_of_the_forgers_tickets_as_her_other_requests() -> None:
    desk = annas_desk()
    real = next(t for t in desk.uow.tickets.values() if t.subject == "Where is my order?")
    later = desk.deliver("real2", mail("The lid is cracked", "real2@example.com"))
    assert later.outcome == "opened"

    view = page(desk).view(page_token(real.ref, now=NOW, config=CONFIG, key=KEY), now=NOW)

    assert [other.subject for other in view.others] == ["The lid is cracked"]


def test_a_ticket_mistaken_for_a_robots_is_listed_as_hers_once_a_person_takes_it_up() -> None:
    # Review 17, #2: its entry was decided at the opening only, so it stayed off her list
    # after the robot's flags went (model.flags_once_a_person_wrote).
    desk = MailDesk(CONFIG, NOW)
    opened = desk.deliver(
        "r", mail("Where is my order?", "r@example.com", extra="Auto-Submitted: auto-replied\r\n")
    )
    assert desk.records.contact_tickets("anna@example.com") == []
    lena = AgentAction(scope=EVERY_TEAM, agent="lena@support.example", reply="It left today.")

    carry_out(lena, str(opened.ref), uow=desk.uow, config=CONFIG, now=NOW + timedelta(minutes=5))

    assert [t.ref for t in desk.records.contact_tickets("anna@example.com")] == [opened.ref]


def test_a_forged_ticket_stays_off_her_list_whoever_answers_on_it() -> None:
    # Attacks 17 F4 and 18 F1: lifting "forged" when an agent answered it, or when she
    # replied on it, listed the forger's lure and greeted her with his name in the links
    # mail; her reply shows she takes part, not that she wrote its opening.
    desk = MailDesk(CONFIG, NOW)
    forged = desk.deliver("f", mail(LURE, "f@x", name=FORGER, extra=DMARC_FAIL))
    lena = AgentAction(scope=EVERY_TEAM, agent="lena@support.example")
    later = NOW + timedelta(minutes=5)
    carry_out(
        replace(lena, reply="We have no such request from you."),
        str(forged.ref), uow=desk.uow, config=CONFIG, now=later,
    )  # fmt: skip
    hers = mail(f"Re: [#{forged.ref}] {LURE}", "r@example.com", extra=DMARC_PASS)
    assert desk.deliver("r", hers, at=later + timedelta(minutes=1)).outcome == "appended"

    assert "forged" in desk.uow.tickets[str(forged.ref)].flags
    assert desk.records.contact_tickets("anna@example.com") == []


def test_a_forgery_that_comes_first_does_not_name_her_on_her_own_later_tickets() -> None:
    # Attack 18, F1's second half: the contact's first opening wrote her name, and a
    # ticket whose mail gives none is greeted by it. A forged first mail made the lure her
    # name in the acknowledgement of her own next request.
    desk = MailDesk(CONFIG, NOW)
    assert desk.deliver("f", mail(LURE, "f@x", name=FORGER, extra=DMARC_FAIL)).outcome == "opened"
    later = NOW + timedelta(minutes=5)

    hers = desk.deliver(
        "r", mail("Where is my order?", "r@example.com", name="", extra=DMARC_PASS), at=later
    )

    ticket = desk.uow.tickets[str(hers.ref)]
    [opened] = [e for e in desk.uow.events() if getattr(e, "ref", None) == hers.ref]
    assert isinstance(opened, TicketOpened)
    assert ticket.contact_name == "" and opened.contact.name == ""
    contact = desk.records.get_contact("anna@example.com")
    assert contact is not None and contact.name == ""


def test_her_first_proven_mail_names_her_after_a_forgery() -> None:
    desk = MailDesk(CONFIG, NOW)
    desk.deliver("f", mail(LURE, "f@x", name=FORGER, extra=DMARC_FAIL))
    later = NOW + timedelta(minutes=5)
    desk.deliver("r", mail("Where is my order?", "r@example.com", extra=DMARC_PASS), at=later)

    nameless = desk.deliver(
        "n", mail("The lid is cracked", "n@example.com", name="", extra=DMARC_PASS), at=later
    )

    assert desk.uow.tickets[str(nameless.ref)].contact_name == "Anna Schmidt"


def test_the_links_mail_greets_her_by_her_own_name_not_the_newest_tickets() -> None:
    # Attack 19, F1(b): the newest listed ticket may be one typed in her name (a form, a
    # chat), and the greeting was its name: the lure, above working links.
    from helpdesk.services.form_intake import FormDesk

    desk = annas_desk()
    typed = {"name": FORGER, "email": "anna@example.com", "subject": LURE, "message": LURE}
    FormDesk(uow=desk.uow, repo=desk.records, config=CONFIG).submit(
        body=json.dumps(typed),
        content_type="application/json",
        source_ip="203.0.113.9",
        now=NOW + timedelta(minutes=3),
    )
    links = links_mail(desk)
    assert links.text.startswith("Hello Anna Schmidt,")
    assert FORGER not in links.text
