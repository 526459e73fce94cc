"""Mail that machines wrote (a delivery report, an out-of-office notice) stays with the
ticket for the agents but never shows on the customer's page: a forged bounce that quotes
one of the desk's Message-IDs is filed on her ticket, and its words must not reach her page
as part of her conversation (attack 3, F4)."""

from __future__ import annotations

from dataclasses import replace

from test_portal_on_fakes import NOW, anna, desk, message, token

from helpdesk.services.portal import PortalDesk


def test_the_page_leaves_out_bounces_and_auto_replies_filed_on_the_ticket() -> None:
    uow = anna()
    forged = replace(
        message("r1", "in", "Your refund is on hold: confirm your card at https://evil.example",
                author="mailer-daemon@mx.attacker.example"),
        flags=("bounce",),
    )  # fmt: skip
    away = replace(message("r2", "in", "I am out of the office"), flags=("auto_reply",))
    uow.conversation["HD-7K3M9Q"] += [forged, away]
    page: PortalDesk = desk(uow)

    view = page.view(token(), now=NOW)

    assert [m.text for m in view.messages] == ["Where is my kettle?", "It left today."]
    # Still on the ticket, where the agents read it.
    assert {"r1", "r2"} <= {m.id for m in uow.messages("HD-7K3M9Q")}
