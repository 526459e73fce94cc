"""Agents hear their customers: a customer's message (and a colleague's note) reaches whoever
works on the ticket by mail, with its text, the ticket's status and deadline, and the
customer's files, once; read here as the agent's mail client reads the mail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from html import unescape
from typing import Any

import pytest
from pydantic import ValidationError
from test_notices import NOW, text

import fakes
from fakes import CONFIG, mail_kind, with_limits
from helpdesk.config import Config
from helpdesk.model import TYPED_ADDRESS_FLAG, AttachmentMeta, Message
from helpdesk.notices import NOTICES, Notifier
from helpdesk.notices.conversation import customer_message_recipients

ANNA = "anna@example.com"
WEI = "wei@support.example"
LENA = "lena@support.example"
MARIA = "maria@support.example"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
OPENED = fakes.MONDAY_MORNING


class RelayDesk(fakes.NoticeDesk):
    """The notices with the raw-mail store (the acknowledge function reads attachments)."""

    store: fakes.FakeMailStore

    def __init__(self, config: Config = CONFIG) -> None:
        super().__init__(config=config, at=NOW)
        self.store = fakes.FakeMailStore()

    @property
    def notifier(self) -> Notifier:
        return replace(super().notifier, mail_store=self.store)

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [mail for mail, to in self.mailer.parsed if to == [address]]


def annas_ticket(**changes: Any) -> Any:
    """Anna's open ticket, Lena's, its first response due 13:55 in Berlin."""
    held = {"ref": "HD-AAAAAA", "status": "open", "assignee": LENA}
    return fakes.ticket(**(held | {"sla": fakes.started_clocks(CONFIG, OPENED)} | changes))


def annas_reply(*attachments: AttachmentMeta, text: str = "The lid is cracked too.") -> Message:
    return Message(
        id="m2",
        ticket="HD-AAAAAA",
        direction="in",
        author=ANNA,
        author_name="Anna Schmidt",
        at=NOW - timedelta(minutes=1),
        text=text,
        message_id="reply-2@example.com",
        raw_key="inbound/reply-2",
        attachments=attachments,
    )


def replied(message: str = "m2", **changes: Any) -> dict[str, Any]:
    return {
        "ref": "HD-AAAAAA",
        "from": ANNA,
        "text": "The lid is cracked too.",
        "status": "open",
        "previous_status": "pending",
        "message": message,
    } | changes


def photo(name: str = "lid.png", size: int = len(PHOTO), **changes: Any) -> AttachmentMeta:
    stored = {"key": f"attachments/m2/1-{name}"}
    return AttachmentMeta(filename=name, content_type="image/png", size=size, **(stored | changes))


def relayed_with(file: AttachmentMeta, data: bytes) -> EmailMessage:
    """The relay to Lena of Anna's reply carrying ``file``, kept with ``data``."""
    desk = RelayDesk()
    desk.add(annas_ticket(), annas_reply(file))
    desk.store.objects[file.key or ""] = data

    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    return mail


def attached(mail: EmailMessage) -> list[tuple[str, str, bytes]]:
    return [
        (str(part.get_filename()), part.get_content_type(), decoded(part))
        for part in mail.iter_attachments()
    ]


def decoded(part: EmailMessage) -> bytes:
    """The bytes a single (not multipart) part carries, its transfer encoding undone."""
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes), part.get_content_type()
    return payload


# ---------------------------------------------------------------------- the customer's message
def test_the_assignee_reads_the_customers_new_message_with_status_deadline_and_file() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(), annas_reply(photo()))
    desk.store.objects["attachments/m2/1-lid.png"] = PHOTO

    desk.on("CustomerReplied", **replied())

    [(mail, to)] = desk.mailer.parsed
    assert to == [LENA]
    assert mail_kind(mail) == "relay"
    # The headers name her by address (the name in a From is anyone's to choose).
    assert mail["Subject"] == "[#HD-AAAAAA] anna@example.com wrote: Where is my order?"
    body = text(mail)
    assert "Anna Schmidt <anna@example.com> wrote on HD-AAAAAA:" in body
    # The new text first, then what the ticket needs: its status and the promise in Berlin.
    assert body.index("> The lid is cracked too.") < body.index("Status:")
    assert "Status:       open" in body
    assert "Next answer:  due Monday, 23 November 2026, 13:55 Berlin time" in body
    assert "lid.png (208 bytes): attached" in body
    assert attached(mail) == [("lid.png", "image/png", PHOTO)]
    # Answering it answers the customer: the reply goes to the ticket's own address.
    assert mail["Reply-To"] == "support+hd-aaaaaa@support.example"
    assert str(mail["From"].addresses[0].display_name) == "anna@example.com via Example Support"


def assignment_of(request: Message, **ticket: Any) -> EmailMessage:
    """The mail that tells Lena Anna's ticket (with ``ticket``'s changes) is hers, whose
    request is ``request``; each of its files kept in the bucket."""
    desk = RelayDesk()
    desk.add(annas_ticket(**ticket), request)
    for file in request.attachments:
        desk.store.objects[file.key or ""] = PHOTO
    desk.on("TicketAssigned", ref="HD-AAAAAA", agent=LENA, by=MARIA, version=1)
    [mail] = desk.mails_to(LENA)
    assert mail_kind(mail) == "assignment"
    return mail


def html_of(mail: EmailMessage) -> str:
    return unescape(str(mail.get_body(preferencelist=("html",)).get_content()))  # type: ignore[union-attr]


# First-user run 16, #1: a chat customer known by a handle alone has no address, so the
# desk delivers no reply; the assignment told the agent "your text goes to the customer".
TOMS_HANDLE = "chat:handle:12345678"


def with_agent_language(address: str, language: str) -> Config:
    """The desk's config with the agent at ``address`` reading desk mail in ``language``."""
    agents = [
        agent.model_copy(update={"languages": [language]}) if agent.email == address else agent
        for agent in CONFIG.agents
    ]
    return CONFIG.model_copy(update={"agents": agents})


def toms_chat_message(**changes: Any) -> Message:
    return replace(
        annas_reply(text="My lamp arrived broken."), author=TOMS_HANDLE, channel="chat", **changes
    )


@pytest.mark.parametrize(
    ("language", "undelivered"),
    [
        ("en", "This customer has no email address: they wrote through chat."),
        ("zh", "该客户没有电子邮件地址：他们是通过 chat 联系我们的。"),
        ("ru", "У этого клиента нет адреса электронной почты: он написал через chat."),
    ],
)
def test_the_assignment_of_a_customer_without_an_address_says_no_reply_reaches_them(
    language: str, undelivered: str
) -> None:
    chat = {"channel": "chat", "contact_email": TOMS_HANDLE, "contact_name": "Tom"}
    desk = RelayDesk(with_agent_language(LENA, language))
    desk.add(annas_ticket(**chat), toms_chat_message())
    desk.on("TicketAssigned", ref="HD-AAAAAA", agent=LENA, by=MARIA, version=1)

    [mail] = desk.mails_to(LENA)
    assert undelivered in text(mail)
    assert undelivered in html_of(mail)
    assert "mailto:chat:" not in html_of(mail)  # a handle is no address to write to
    assert not any(
        rule in text(mail)
        for rule in ("your text goes to the customer", "您的文字将以您的名义发送给客户")
    )


def test_a_relay_of_a_customer_without_an_address_says_no_reply_reaches_them() -> None:
    chat = {"channel": "chat", "contact_email": TOMS_HANDLE, "contact_name": "Tom"}
    desk = RelayDesk()
    desk.add(annas_ticket(**chat), toms_chat_message())

    desk.on("CustomerReplied", **replied(**{"from": TOMS_HANDLE}))

    [mail] = desk.mails_to(LENA)
    undelivered = "This customer has no email address: they wrote through chat."
    assert undelivered in text(mail) and undelivered in html_of(mail)
    assert "your text goes to the customer" not in text(mail)


def handed_over(*later: Message, **ticket: Any) -> EmailMessage:
    """The mail that tells Lena that Maria gave her Anna's ticket, whose conversation is
    Anna's request, then ``later``."""
    desk = RelayDesk()
    opening = replace(annas_reply(text="The kettle arrived broken."), id="m1")
    desk.add(annas_ticket(**ticket), opening, *later)
    desk.on("TicketAssigned", ref="HD-AAAAAA", agent=LENA, by=MARIA, version=3)
    [mail] = desk.mails_to(LENA)
    return mail


def said(id: str, direction: str, author: str, text: str, minutes: int) -> Message:
    return Message(
        id=id,
        ticket="HD-AAAAAA",
        direction=direction,  # type: ignore[arg-type]
        author=author,
        at=OPENED + timedelta(minutes=minutes),
        text=text,
    )


def test_a_ticket_handed_over_carries_its_conversation_so_far() -> None:
    # First-user run 16, #2: Wei's mail showed Carla's first message alone, not Lena's
    # answer nor her note that the refund was done; a mail-only agent could refund twice.
    mail = handed_over(
        said("m2", "out", WEI, "We will refund you today.", 30),
        said("m3", "note", WEI, "Refund done at the bank, ref 4711.", 45),
        said("m4", "in", ANNA, "Thank you! When will I see it?", 60),
        status="open",
    )

    body = text(mail)
    assert "maria@support.example assigned this ticket to you." in body
    assert "Since then, oldest first:" in body
    positions = [body.index(t) for t in (
        "We will refund you today.", "Refund done at the bank, ref 4711.",
        "Thank you! When will I see it?",
    )]  # fmt: skip
    assert positions == sorted(positions)
    assert "Wei, internal note, " in body
    for words in ("maria@support.example assigned this ticket to you.", "Since then, oldest first:",
                  "Refund done at the bank, ref 4711.", "Wei, internal note, "):  # fmt: skip
        assert words in html_of(mail)


@pytest.mark.parametrize(
    ("language", "handed", "since", "noted"),
    [
        ("zh", "maria@support.example 把这个工单分配给了您。",
         "此后的对话（按时间先后）：", "Wei，内部备注，"),
        ("ru", "maria@support.example назначил(а) вам это обращение.",
         "С тех пор (от старых к новым):", "Wei, внутренняя заметка, "),
    ],
)  # fmt: skip
def test_the_conversation_so_far_is_told_in_the_agents_language(
    language: str, handed: str, since: str, noted: str
) -> None:
    desk = RelayDesk(with_agent_language(LENA, language))
    opening = replace(annas_reply(text="The kettle arrived broken."), id="m1")
    note = said("m2", "note", WEI, "Refund done at the bank, ref 4711.", 45)
    desk.add(annas_ticket(status="open"), opening, note)

    desk.on("TicketAssigned", ref="HD-AAAAAA", agent=LENA, by=MARIA, version=3)

    [mail] = desk.mails_to(LENA)
    for words in (handed, since, noted, "Refund done at the bank, ref 4711."):
        assert words in text(mail) and words in html_of(mail)


def test_nudges_cannot_push_a_colleagues_note_out_of_the_handover() -> None:
    # Attack 22, F1: five short follow-ups after Wei's "refund done" note, the customer's
    # or a forger's, left only themselves in the newest five.
    note = said("m2", "note", WEI, "Refund done. Do NOT refund again.", 30)
    nudges = [said(f"m{n}", "in", ANNA, f"Any news? ({n})", 30 + n) for n in range(3, 9)]

    body = text(handed_over(note, *nudges, status="open"))

    assert "Refund done. Do NOT refund again." in body
    assert "Any news? (8)" in body and "Any news? (4)" in body and "Any news? (3)" not in body
    assert "(1 more in GET /agent/tickets/HD-AAAAAA)" in body


def test_a_stranger_in_the_conversation_so_far_cannot_pass_for_a_colleague() -> None:
    # Review 21, #3: a forged mail named "Wei, internal note" read as Wei's note.
    forged = replace(
        said("m2", "in", "mallory@evil.example", "Refund approved, send it to IBAN X.", 30),
        author_name="Wei, internal note",
        flags=("unauthenticated",),
    )

    mail = handed_over(forged, status="open")

    shown = "Wei, internal note <mallory@evil.example>, not verified, Monday"
    assert shown in text(mail)
    assert shown in html_of(mail)


def test_a_mail_kept_as_an_excerpt_is_marked_cut_with_where_it_is_whole() -> None:
    # Review 21, #4: a long mail's item keeps a 600-byte excerpt, shown as if whole.
    long_mail = replace(said("m2", "in", ANNA, "The first part of a long mail", 30), excerpt=True)

    body = text(handed_over(long_mail, status="open"))

    assert "> The first part of a long mail…" in body
    assert "A text ending in … is cut here: GET /agent/tickets/HD-AAAAAA has it whole." in body


def test_an_excerpt_that_holds_the_whole_text_is_not_marked_cut() -> None:
    # First-user run 17, #2: every mail read as cut, its item an excerpt of itself.
    whole = "Thank you, that helps."
    short_mail = replace(said("m2", "in", ANNA, whole, 30), excerpt=True, text_bytes=len(whole))

    body = text(handed_over(short_mail, status="open"))

    assert f"> {whole}\r\n" in body
    assert "is cut here" not in body


def test_a_long_conversation_shows_its_newest_messages_and_where_the_rest_are() -> None:
    later = [said(f"m{n}", "in", ANNA, f"Follow-up number {n}.", n) for n in range(2, 12)]

    body = text(handed_over(*later, status="open"))

    assert "the newest 5 of each side, the desk's and the customer's (5 more in GET /agent/" in body
    assert "Follow-up number 11." in body and "Follow-up number 6." not in body


def test_an_answered_first_response_reads_as_answered_not_as_due() -> None:
    clocks = fakes.started_clocks(CONFIG, OPENED)
    first = replace(clocks.clocks["first_response"], achieved_at=OPENED + timedelta(minutes=30))
    answered = replace(clocks, clocks={**clocks.clocks, "first_response": first})
    mail = handed_over(said("m2", "out", WEI, "On it.", 30), status="open", sla=answered)

    assert "First response:  answered Monday" in text(mail)
    assert "Berlin time\r\nResolution:      due " in text(mail)  # each on its own line


def test_the_assignment_carries_the_files_of_the_customers_request_as_a_relay_does() -> None:
    # First-user run 14, #3: the assignment listed the first mail's receipt by name only,
    # and the agent had no way to open it; a later mail's files came attached. Review 20,
    # #3: its HTML part named them without saying which.
    mail = assignment_of(annas_reply(photo(), photo("run.js")))

    assert attached(mail) == [("lid.png", "image/png", PHOTO)]
    # The commands it lists name #reply too, as the error mail does (newuser 15, #7).
    assert "#reply <saved reply>" in text(mail)
    # One line each (newuser 15, #3: the text part ran them together).
    assert "- lid.png (208 bytes): attached\n- run.js" in text(mail).replace("\r\n", "\n")
    for part in (text(mail), html_of(mail)):
        assert "lid.png (208 bytes): attached" in part
        assert "run.js (208 bytes): not attached (not safe to open from mail)" in part
        assert "download them from the agent API" in part


@pytest.mark.parametrize(
    ("flags", "ticket_flags"),
    [
        (("unauthenticated",), []),
        # Attack 20, F5: SES called it spam, but the spammer's own domain signed it and the
        # scan passed: handed to an agent to look at, its files came attached.
        ((), ["spam"]),
    ],
)
def test_the_assignment_holds_back_the_files_of_a_request_nobody_vouched_for(
    flags: tuple[str, ...], ticket_flags: list[str]
) -> None:
    mail = assignment_of(replace(annas_reply(photo()), flags=flags), flags=ticket_flags)

    assert attached(mail) == []
    assert "lid.png (208 bytes): not attached (not safe to open from mail)" in text(mail)


@pytest.mark.parametrize(
    ("channel", "flag"), [(None, "unauthenticated"), ("chat", TYPED_ADDRESS_FLAG), ("form", None)]
)
def test_the_assignment_says_when_nothing_proves_who_wrote_the_request(
    channel: str | None, flag: str | None
) -> None:
    # Attack 20, F2; review 20, #5: a relay of the same message said "Sender not verified",
    # the assignment, the one mail of the opening, did not.
    request = replace(annas_reply(photo()), channel=channel, flags=(flag,) if flag else ())

    mail = assignment_of(request)

    for part in (text(mail), html_of(mail)):
        assert "Sender not verified: nothing proves this comes from anna@example.com" in part
    held = flag == "unauthenticated"
    assert bool(attached(mail)) is not held


def test_assignments_and_relays_of_a_ticket_carry_files_in_a_few_mails_an_hour() -> None:
    # Attack 20, F4: every reassignment mailed the files again, uncounted.
    from helpdesk.notices.conversation import RELAYS_WITH_FILES_PER_HOUR

    desk = RelayDesk()
    desk.add(annas_ticket(), annas_reply(photo()))
    desk.store.objects["attachments/m2/1-lid.png"] = PHOTO

    for version in range(1, 6):
        desk.on("TicketAssigned", ref="HD-AAAAAA", agent=LENA, by=MARIA, version=version)

    mails = desk.mails_to(LENA)
    assert len(mails) == 5
    assert [bool(attached(m)) for m in mails] == [True] * RELAYS_WITH_FILES_PER_HOUR + [False] * (
        5 - RELAYS_WITH_FILES_PER_HOUR
    )
    assert "lid.png (208 bytes): not attached, kept with the ticket" in text(mails[-1])


def test_a_redelivered_reply_event_mails_the_assignee_once() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(), annas_reply())
    desk.on("CustomerReplied", **replied())
    desk.on("CustomerReplied", **replied())

    assert len(desk.mailer.parsed) == 1


def test_the_assignee_reads_it_in_their_own_language() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(assignee=WEI), annas_reply())
    desk.on("CustomerReplied", **replied())

    [mail] = desk.mails_to(WEI)
    assert "来信" in mail["Subject"]
    assert "状态：        处理中" in text(mail)
    assert "2026年11月23日" in text(mail) and "13:55 柏林时间" in text(mail)


def test_while_nobody_holds_the_ticket_the_teams_lead_reads_the_message() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(assignee=None), annas_reply())
    desk.on("CustomerReplied", **replied())

    assert [to for _, to in desk.mailer.parsed] == [[MARIA]]


def members_config() -> Config:
    teams = tuple(
        team.model_copy(update={"notify_unassigned": "members"}) if team.name == "general" else team
        for team in CONFIG.teams
    )
    agents = tuple(
        agent.model_copy(update={"away": True}) if agent.email == WEI else agent
        for agent in CONFIG.agents
    )
    return CONFIG.model_copy(update={"teams": teams, "agents": agents})


def test_a_team_that_asks_for_it_hears_unassigned_messages_through_every_member_not_away() -> None:
    config = members_config()
    desk = RelayDesk(config)
    desk.add(annas_ticket(assignee=None), annas_reply())
    desk.on("CustomerReplied", **replied())

    # Wei is away; Lena is the one member at work (the lead is no member of general).
    assert [to for _, to in desk.mailer.parsed] == [[LENA]]


def test_who_hears_an_unassigned_message_falls_back_to_the_leads() -> None:
    config = members_config()
    nobody_at_work = config.model_copy(
        update={"agents": tuple(a.model_copy(update={"away": True}) for a in config.agents)}
    )
    assert customer_message_recipients(annas_ticket(assignee=None), nobody_at_work) == (MARIA,)
    gone = annas_ticket(assignee=None, team="gone")
    assert customer_message_recipients(gone, CONFIG) == (MARIA, "omar@support.example")


def test_files_beyond_the_relay_limit_are_listed_and_kept_not_mailed() -> None:
    desk = RelayDesk(with_limits(relay_attachment_max_bytes=1000))
    big = photo("scan.pdf", size=900)
    small = photo("lid.png")
    refused = photo("tool.exe", key=None, dropped="too_large")
    desk.add(annas_ticket(), annas_reply(big, small, refused))
    desk.store.objects[big.key or ""] = b"%PDF" + b"0" * 896
    desk.store.objects[small.key or ""] = PHOTO

    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    # In the customer's order while they fit: the scan (900) leaves no room for the photo.
    assert [name for name, _, _ in attached(mail)] == ["scan.pdf"]
    body = text(mail)
    assert "lid.png (208 bytes): not attached, kept with the ticket" in body
    assert "tool.exe (208 bytes): not kept (refused when the mail came in)" in body
    assert "download them from the agent API" in body
    assert "GET /agent/tickets/HD-AAAAAA" in body


def test_inline_images_of_the_html_are_not_relayed_as_files() -> None:
    desk = RelayDesk()
    logo = photo("logo.png", inline=True, content_id="logo@x")
    desk.add(annas_ticket(), annas_reply(logo))
    desk.store.objects[logo.key or ""] = PHOTO

    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    assert attached(mail) == []
    assert "logo.png" not in text(mail)


def test_an_event_from_before_the_message_field_relays_its_own_text() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket())
    desk.on("CustomerReplied", **replied(message=""))
    desk.on("CustomerReplied", **replied(message=""))

    [(mail, to)] = desk.mailer.parsed
    assert to == [LENA] and "> The lid is cracked too." in text(mail)


def test_a_customers_html_reaches_the_agent_escaped() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(), annas_reply(text="<script>alert(1)</script> hello"))
    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    html = mail.get_body(("html",))
    assert html is not None
    content = str(html.get_content())
    assert "<script>" not in content and "&lt;script&gt;alert(1)&lt;/script&gt; hello" in content


# ---------------------------------------------------------------------- a colleague's note
def note(author: str, text: str = "Customer called: she wants a refund instead.") -> Message:
    return Message(
        id="n1-note", ticket="HD-AAAAAA", direction="note", author=author, at=NOW, text=text
    )


def noted(author: str) -> dict[str, Any]:
    return {"ref": "HD-AAAAAA", "from": author, "message": "n1-note", "text": "x"}


def test_a_colleagues_note_reaches_the_assignee() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(), note(WEI))
    desk.on("NoteAdded", **noted(WEI))

    [(mail, to)] = desk.mailer.parsed
    assert to == [LENA]
    assert mail["Subject"] == "[#HD-AAAAAA] Note from Wei: Where is my order?"
    assert "Wei left an internal note on HD-AAAAAA (the customer does not see it)" in text(mail)
    assert "> Customer called: she wants a refund instead." in text(mail)


@pytest.mark.parametrize("assignee", [LENA, None])
def test_the_assignees_own_note_and_a_note_on_an_unheld_ticket_mail_nobody(
    assignee: str | None,
) -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(assignee=assignee), note(LENA))
    desk.on("NoteAdded", **noted(LENA.upper()))

    assert desk.mailer.parsed == []


def test_both_events_are_heard_by_the_acknowledge_function() -> None:
    from helpdesk import events

    assert events.CustomerReplied in NOTICES and events.NoteAdded in NOTICES
    assert events.UNCONSUMED == {}


# ---------------------------------------------------------------------- the config
def test_the_relay_limit_cannot_exceed_what_one_ses_mail_carries() -> None:
    with pytest.raises(ValidationError, match="relay_attachment_max_bytes must be at most"):
        CONFIG.limits.model_validate(
            CONFIG.limits.model_dump() | {"relay_attachment_max_bytes": 8_000_000}
        )


def test_a_team_names_who_hears_unassigned_messages_as_lead_or_members() -> None:
    team = CONFIG.teams[0]
    with pytest.raises(ValidationError, match="notify_unassigned"):
        type(team).model_validate(
            team.model_dump(by_alias=True) | {"notify_unassigned": "everyone"}
        )
    assert team.notify_unassigned == "lead"


# ---------------------------------------------------------------------- the events' sources
def test_a_customers_follow_up_names_its_message_for_the_relay() -> None:
    from test_email_intake_on_fakes import Desk as IntakeDesk
    from test_email_intake_on_fakes import follow_up

    from helpdesk import events

    desk = IntakeDesk()
    ticket = desk.opened()
    desk.deliver("m2", follow_up("Any news?"), at=NOW + timedelta(hours=1))

    replied = desk.uow.events()[-1]
    assert isinstance(replied, events.CustomerReplied)
    [message] = [m for m in desk.uow.messages(ticket.ref) if m.text == "Any news?"]
    assert replied.message == message.id


def test_an_agents_note_is_told_with_its_message_and_its_author() -> None:
    from test_commands_on_fakes import carried_out
    from test_commands_on_fakes import desk as command_desk

    from helpdesk import events
    from helpdesk.services.commands import EVERY_TEAM, AgentAction

    uow, ticket = command_desk()
    carried_out(
        uow, ticket, AgentAction(scope=EVERY_TEAM, agent=WEI, note="She called: refund instead.")
    )

    [note] = [m for m in uow.messages(ticket.ref) if m.direction == "note"]
    [added] = [e for e in uow.events() if isinstance(e, events.NoteAdded)]
    assert (added.sender, added.message, added.text) == (
        WEI,
        note.id,
        "She called: refund instead.",
    )


def test_a_participant_without_a_name_is_named_by_address_not_as_the_contact() -> None:
    desk = RelayDesk()
    carls = replace(annas_reply(), author="carl@example.com", author_name="")
    desk.add(annas_ticket(participants=["carl@example.com"]), carls)
    desk.on("CustomerReplied", **replied(**{"from": "carl@example.com"}))

    [(mail, _)] = desk.mailer.parsed
    assert mail["Subject"] == "[#HD-AAAAAA] carl@example.com wrote: Where is my order?"
    # The address once (first-user run 14, #11: "carl@example.com <carl@example.com>").
    assert text(mail).startswith("carl@example.com wrote on HD-AAAAAA:")
    html = unescape(str(mail.get_body(preferencelist=("html",)).get_content()))  # type: ignore[union-attr]
    assert "carl@example.com <" not in html


# ---------------------------------------------------------------------- what a relay may carry
# (attack review of 2026-12-03, F2-F5; docs/SECURITY.md "A customer's message relayed to
# the agent")
def test_an_unverified_senders_files_are_listed_not_attached_and_the_mail_says_so() -> None:
    desk = RelayDesk()
    forged = replace(annas_reply(photo()), flags=("unauthenticated",))
    desk.add(annas_ticket(), forged)
    desk.store.objects["attachments/m2/1-lid.png"] = PHOTO

    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    assert attached(mail) == []
    body = text(mail)
    assert "Sender not verified" in body
    assert "lid.png (208 bytes): not attached (not safe to open from mail)" in body
    html = mail.get_body(("html",))
    assert html is not None and "Sender not verified" in str(html.get_content())


def test_the_relay_names_the_writer_by_address_never_by_the_name_they_gave() -> None:
    desk = RelayDesk()
    posing = replace(
        annas_reply(), author_name="Lena Agent <lena@support.example> (your colleague)"
    )
    desk.add(annas_ticket(contact_name="Lena Agent (your colleague)"), posing)

    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    assert mail["Subject"] == "[#HD-AAAAAA] anna@example.com wrote: Where is my order?"
    assert str(mail["From"].addresses[0].display_name) == "anna@example.com via Example Support"
    assert mail["From"].addresses[0].addr_spec == "support@support.example"


@pytest.mark.parametrize(
    "filename",
    ["invoice.pdf.exe", "Report.DOCM", "page.htm", "run.js.", "sheet.xlsm", "setup.msi", "a.lnk"],
)
def test_files_that_run_code_when_opened_are_never_attached(filename: str) -> None:
    mail = relayed_with(photo(filename), b"MZ")

    assert attached(mail) == []
    assert "not attached (not safe to open from mail), kept with the ticket" in text(mail)


# Review attack 3, F5: on Microsoft's "Blocked attachments in Outlook" list, yet attached to
# the agent's relay (.theme leaks the NTLM hash when opened, CVE-2024-21320; .website is an
# internet shortcut like .url; .pyz a Python program; .msu an update package ...), then
# the newer additions to that list, then the theme packs (a .theme inside a cab); attack
# 20: Excel's macro formats beyond the *m ones (.xlsb, the .xla add-in, Excel 4 .xlm
# macros, SYLK .slk), the .iqy web query, the .rdp connection file, and the installers
# and launchers of macOS and Linux desktops.
NEWLY_BLOCKED = (
    "asx", "bgi", "msh1xml", "msh2xml", "msu", "osd", "printerexport", "psd1", "psdm1",
    "pst", "pyc", "pyo", "pyz", "pyzw", "theme", "webpnp", "website",
    "appx", "appxbundle", "msixbundle", "appinstaller", "settingcontent-ms", "library-ms",
    "search-ms", "searchconnector-ms", "cdxml", "pssc", "udl",
    "themepack", "deskthemepack", "desktopthemepackfile",
    "xlsb", "xla", "xlm", "slk", "iqy", "rdp", "dmg", "pkg", "command", "desktop",
    # Attack 21, F3: server-side-include HTML, Access's compiled macros, OneNote's package,
    # and a mail inside the mail, whose own files the list never sees.
    "shtml", "shtm", "accde", "onepkg", "eml", "msg", "u8msg",
    # Attack 22, F2: Office add-ins, Access databases, macOS shortcuts and terminal files,
    # Citrix sessions, search connectors' kin, compressed SVG, device profiles.
    "vsto", "wll", "ppa", "terminal", "fileloc", "webloc", "inetloc", "ica", "accdb",
    "accdr", "appcontent-ms", "svgz", "mobileconfig",
)  # fmt: skip


@pytest.mark.parametrize("content_type", ["message/rfc822", "message/global"])
def test_a_forwarded_mail_is_held_whatever_its_name(content_type: str) -> None:
    # Attack 21, F3: "Invoice 0931" (message/rfc822, named by its subject) held a login page
    # and a .lnk that the list only looks for at the top level; review 21, #5: so may an
    # internationalised one (message/global, RFC 6532).
    forwarded = replace(photo("Invoice 0931"), content_type=content_type)

    mail = relayed_with(forwarded, b"Subject: Invoice 0931")

    assert attached(mail) == []
    assert "Invoice 0931 (208 bytes): not attached (not safe to open from mail)" in text(mail)


@pytest.mark.parametrize("extension", NEWLY_BLOCKED)
def test_every_type_on_outlooks_blocked_list_is_held_from_the_relay(extension: str) -> None:
    mail = relayed_with(photo(f"corporate.{extension}"), b"[Theme]")

    assert attached(mail) == []
    held = f"corporate.{extension} (208 bytes): not attached (not safe to open from mail)"
    assert held in text(mail)


@pytest.mark.parametrize("filename", ["report.doc", "figures.xls", "slides.ppt", "logs.zip"])
def test_everyday_office_files_and_archives_are_still_attached(filename: str) -> None:
    # Legacy Office files may hold macros, but Office opens mail's files in Protected View
    # with macros off, and customers send them every day: holding them would leave agents
    # without the customer's spreadsheet (docs/SECURITY.md, "Files").
    mail = relayed_with(photo(filename), b"\xd0\xcf\x11\xe0")

    assert [name for name, _, _ in attached(mail)] == [filename]


def test_files_the_virus_scan_did_not_pass_are_listed_not_attached() -> None:
    desk = RelayDesk()
    unscanned = replace(annas_reply(photo("photos.zip")), flags=("unscanned",))
    desk.add(annas_ticket(), unscanned)
    desk.store.objects["attachments/m2/1-photos.zip"] = b"PK"

    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    assert attached(mail) == []
    assert "The virus scan did not pass this mail" in text(mail)
    assert "photos.zip (208 bytes): not attached (not safe to open from mail)" in text(mail)


def flood(desk: RelayDesk, ref: str, count: int, start: int = 0, author: str = ANNA) -> None:
    """``count`` messages of ``author`` (the ticket's contact) on ``ref`` within the hour."""
    messages = [
        Message(
            id=f"{ref}-m{n}", ticket=ref, direction="in", author=author, at=NOW, text=f"bomb {n}"
        )
        for n in range(start, start + count)
    ]
    desk.add(replace(annas_ticket(ref=ref), contact_email=author), *messages)
    for message in messages:
        desk.on("CustomerReplied", **replied(message.id, ref=ref, text=message.text))


def test_one_ticket_relays_at_most_its_hourly_limit_to_the_agent() -> None:
    desk = RelayDesk()
    per_ticket = CONFIG.limits.outbound_per_ticket_per_hour

    flood(desk, "HD-AAAAAA", per_ticket + 5)

    assert len(desk.mails_to(LENA)) == per_ticket
    # The next hour counts afresh: the messages are on the ticket, the agent hears new ones.
    desk.on("CustomerReplied", NOW + timedelta(hours=1), **replied("HD-AAAAAA-m0", text="bomb 0"))
    assert len(desk.mails_to(LENA)) == per_ticket  # the same message is never sent twice
    desk.uow.conversation["HD-AAAAAA"].append(
        Message(id="late", ticket="HD-AAAAAA", direction="in", author=ANNA, at=NOW, text="late")
    )
    desk.on("CustomerReplied", NOW + timedelta(hours=1), **replied("late", text="late"))
    assert len(desk.mails_to(LENA)) == per_ticket + 1


def test_an_agent_hears_at_most_the_recipient_limit_of_one_customers_relays_an_hour() -> None:
    desk = RelayDesk()
    per_recipient = CONFIG.limits.counted_outbound_per_recipient_per_hour

    for number in range(4):
        flood(desk, f"HD-AAAAA{number}", 8)

    assert len(desk.mails_to(LENA)) == per_recipient


def test_a_reader_hears_at_most_the_relay_ceiling_of_all_customers_an_hour() -> None:
    # Thirty forged senders, each with a ticket of their own, had a team's lead mailed 300
    # times in an hour once relays were counted per customer alone (review 11, #1): one
    # ceiling for all customers' relays to a reader holds the flood.
    desk = RelayDesk()

    for number in range(30):
        flood(desk, f"HD-FLOOD{number:02d}", 10, author=f"sender{number}@evil.example")

    assert len(desk.mails_to(LENA)) == CONFIG.limits.relays_per_reader_per_hour


@pytest.mark.parametrize(
    ("channel", "flag"), [(None, "unauthenticated"), ("chat", TYPED_ADDRESS_FLAG)]
)
def test_messages_forged_in_a_customers_name_never_spend_her_own_count(
    channel: str | None, flag: str
) -> None:
    # Mallory writes 17 mails as anna@ (unauthenticated) on tickets she takes part in:
    # counted as Anna's, her own replies then went unmailed (review 11, #4). A chat's
    # visitor typing her address did the same (attack 20, F1).
    desk = RelayDesk()
    forged = [
        Message(
            id=f"f{n}", ticket="HD-AAAAAA", direction="in", author=ANNA, at=NOW,
            text=f"forged {n}", flags=(flag,), channel=channel,
        )
        for n in range(CONFIG.limits.counted_outbound_per_recipient_per_hour)
    ]  # fmt: skip
    desk.add(
        replace(annas_ticket(), ref="HD-AAAAA1"),
        *[replace(m, ticket="HD-AAAAA1") for m in forged[:9]],
    )
    desk.add(
        replace(annas_ticket(), ref="HD-AAAAA2"),
        *[replace(m, ticket="HD-AAAAA2") for m in forged[9:]],
    )
    for m in forged[:9]:
        desk.on("CustomerReplied", **replied(m.id, ref="HD-AAAAA1", text=m.text))
    for m in forged[9:]:
        desk.on("CustomerReplied", **replied(m.id, ref="HD-AAAAA2", text=m.text))

    flood(desk, "HD-AAAAAA", 1)

    assert any("HD-AAAAAA" in str(mail["Subject"]) for mail in desk.mails_to(LENA))


def test_one_customer_who_spends_the_agents_hour_never_mutes_the_other_customers() -> None:
    # Mallory's follow-ups on two tickets of hers reach Lena's hourly count of relays:
    # counted per reader alone, Anna's reply then went unmailed for the hour (attack 10,
    # F3). Counted per reader and customer, Mallory is held back and Anna heard.
    desk = RelayDesk()
    mallory = "mallory@evil.example"
    flood(desk, "HD-MALLO1", 10, author=mallory)
    flood(desk, "HD-MALLO2", 10, author=mallory)

    flood(desk, "HD-AAAAAA", 1)

    to_lena = desk.mails_to(LENA)
    assert len(to_lena) == CONFIG.limits.counted_outbound_per_recipient_per_hour + 1
    assert any("HD-AAAAAA" in str(mail["Subject"]) for mail in to_lena)


# ---------------------------------------------------------------------- a note stays internal
def test_a_colleagues_note_mail_says_an_answer_stays_internal_and_is_its_own_kind() -> None:
    desk = RelayDesk()
    desk.add(annas_ticket(), note(WEI))
    desk.on("NoteAdded", **noted(WEI))

    [(mail, _)] = desk.mailer.parsed
    assert mail_kind(mail) == "note"
    assert "your text goes to the customer" not in text(mail)
    assert "becomes an internal note on HD-AAAAAA" in text(mail)


def test_an_answer_to_a_note_mail_is_known_by_its_parent_message_id() -> None:
    from helpdesk.notices.conversation import answers_a_note

    desk = RelayDesk()
    desk.add(annas_ticket(), note(WEI), annas_reply())
    desk.on("NoteAdded", **noted(WEI))
    desk.on("CustomerReplied", **replied())
    note_mail, relay_mail = (mail for mail, _ in desk.mailer.parsed)

    assert answers_a_note((str(note_mail["Message-ID"]),), CONFIG)
    assert not answers_a_note((str(relay_mail["Message-ID"]),), CONFIG)
    assert not answers_a_note(("<hd.hd-aaaaaa.note.0123@elsewhere.example>",), CONFIG)
    assert not answers_a_note((), CONFIG)


def test_only_the_first_relays_of_a_ticket_in_an_hour_carry_files() -> None:
    from helpdesk.notices.conversation import RELAYS_WITH_FILES_PER_HOUR

    desk = RelayDesk()
    messages = [replace(annas_reply(photo()), id=f"m{n}") for n in range(6)]
    desk.add(annas_ticket(), *messages)
    desk.store.objects["attachments/m2/1-lid.png"] = PHOTO

    for message in messages:
        desk.on("CustomerReplied", **replied(message.id))

    mails = desk.mails_to(LENA)
    assert len(mails) == 6  # every message is heard
    carrying = [mail for mail in mails if attached(mail)]
    assert len(carrying) == RELAYS_WITH_FILES_PER_HOUR
    assert "lid.png (208 bytes): not attached, kept with the ticket" in text(mails[-1])


def _reading(language: str) -> Config:
    """The desk with Lena reading her mail in ``language``."""
    agents = [
        a.model_copy(update={"languages": [language]}) if a.email == LENA else a
        for a in CONFIG.agents
    ]
    return CONFIG.model_copy(update={"agents": agents})


@pytest.mark.parametrize(
    "language, channel, said, not_said",
    [
        (
            "en",
            "portal",
            "uploaded on the customer's page and not virus-scanned",
            "virus scan did not pass",
        ),
        ("zh", "portal", "客户在其工单页面上传", "此邮件未通过病毒扫描"),
        (
            "ru",
            "portal",
            "загружены клиентом на странице обращения",
            "Антивирусная проверка этого письма",
        ),
        ("en", "chat", "sent by the channel chat and not virus-scanned", "virus scan did not pass"),
        ("zh", "chat", "由渠道 chat 发送", "此邮件未通过病毒扫描"),
        ("ru", "chat", "присланы каналом chat", "Антивирусная проверка этого письма"),
    ],
)
def test_an_unscanned_file_from_the_customers_page_or_a_channel_is_not_called_a_failed_mail_scan(
    language: str, channel: str, said: str, not_said: str
) -> None:
    desk = RelayDesk(_reading(language))
    uploaded = replace(
        annas_reply(photo("photo.zip")),
        flags=("unscanned",),
        channel=channel,
        message_id=None,
        raw_key=None,
    )
    desk.add(annas_ticket(), uploaded)
    desk.store.objects["attachments/m2/1-photo.zip"] = b"PK"

    desk.on("CustomerReplied", **replied())

    [(mail, _)] = desk.mailer.parsed
    html = mail.get_body(("html",))
    assert html is not None
    for shown in (text(mail), unescape(str(html.get_content()))):
        assert said in shown
        assert not_said not in shown
    assert attached(mail) == []


def test_the_relay_reads_the_message_it_relays_never_the_whole_thread() -> None:
    # Attack 12, F2: each relay read every message of the ticket to find its own, so a
    # thread of thousands of forged follow-ups cost each further one its whole length.
    desk = RelayDesk()
    desk.add(annas_ticket(), annas_reply())

    def whole_thread(ref: str) -> list[Message]:
        raise AssertionError(f"{ref}'s whole thread read for one message")

    desk.tickets.messages = whole_thread  # type: ignore[method-assign]
    desk.on("CustomerReplied", **replied())

    [mail] = desk.mails_to(LENA)
    assert "The lid is cracked too." in text(mail)


def test_people_copied_in_do_not_make_a_customer_without_an_address_reachable() -> None:
    # Review 21, #10: a reply to no contact address is mailed to nobody, Cc or not.
    from helpdesk.notices.audience import unreachable_channel

    chat = {"channel": "chat", "contact_email": TOMS_HANDLE, "participants": ["bob@example.com"]}

    assert unreachable_channel(annas_ticket(**chat)) == "chat"
    assert unreachable_channel(annas_ticket(participants=["bob@example.com"])) == ""
