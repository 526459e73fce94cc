"""The customer's page service on the fakes: what the page shows and leaves out, what its
posts change, and which links open it."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fakes import (
    CONFIG,
    FakeMailer,
    FakeMailStore,
    FakeRecords,
    FakeSentMail,
    FakeUnitOfWork,
    ticket,
    with_limits,
)
from helpdesk.events import CustomerReplied, StatusChanged
from helpdesk.http import FormPost
from helpdesk.links import LinkRefused
from helpdesk.model import MESSAGES_IN_MAX, Message
from helpdesk.notices.desk import CUSTOMER_TEMPLATES, Notifier
from helpdesk.services.portal import (
    PortalDesk,
    PostRefused,
    page_token,
    verify_page_token,
)
from helpdesk.services.surveys import make_token as survey_token
from helpdesk_local.scenario import multipart_body

KEY = b"unit-test-signing-key"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def desk(uow: FakeUnitOfWork, store: FakeMailStore | None = None) -> PortalDesk:
    return PortalDesk(
        uow=uow,
        repo=FakeRecords(uow),
        store=store or FakeMailStore(),
        config=CONFIG,
        signing_key=KEY,
    )


def message(id: str, direction: str, text: str, author: str = "anna@example.com") -> Message:
    return Message(
        id=id,
        ticket="HD-7K3M9Q",
        direction=direction,  # type: ignore[arg-type]
        author=author,
        at=NOW - timedelta(hours=5),
        text=text,
    )


def anna(**changes: object) -> FakeUnitOfWork:
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket(status="pending", assignee="lena@support.example", **changes))
    uow.conversation["HD-7K3M9Q"] = [
        message("m1", "in", "Where is my kettle?"),
        message("m2", "out", "It left today.", author="lena@support.example"),
        message("m3", "note", "Customer called twice", author="lena@support.example"),
    ]
    return uow


def token(ref: str = "HD-7K3M9Q") -> str:
    return page_token(ref, now=NOW, config=CONFIG, key=KEY)


def test_the_page_shows_the_conversation_without_internal_notes() -> None:
    view = desk(anna()).view(token(), now=NOW)

    assert [(m.author, m.text, m.mine) for m in view.messages] == [
        ("anna@example.com", "Where is my kettle?", True),  # the page says "You"
        ("Lena", "It left today.", False),
    ]


def test_opening_the_page_commits_nothing() -> None:
    uow = anna()

    desk(uow).view(token(), now=NOW)

    assert uow.commits == 0


def test_a_reply_is_a_customer_message_on_the_portal_channel_that_reopens_the_ticket() -> None:
    uow = anna()
    body, content_type = multipart_body(
        {"action": "reply", "submission": "s" * 32, "text": "Still not here."},
        (("photo.txt", "text/plain", b"a photo"),),
    )

    action, view = desk(uow).act(token(), body, content_type, source_ip="192.0.2.1", now=NOW)

    assert (action, view.notice, view.ticket.status) == ("reply", "reply", "open")
    reply = uow.conversation["HD-7K3M9Q"][-1]
    assert (reply.direction, reply.channel, reply.text) == ("in", "portal", "Still not here.")
    assert [a.filename for a in reply.attachments] == ["photo.txt"]
    # Nobody scanned the file: the relay lists it without attaching it.
    assert reply.flags == ("unscanned",)
    kinds = [type(event) for event in uow.events()]
    assert CustomerReplied in kinds and StatusChanged in kinds


def test_a_reply_loses_its_directional_overrides_as_a_form_message_does() -> None:
    # U+202E reads what follows reversed in the agent's mail ("Trojan Source",
    # CVE-2021-42574): the page takes what the form takes (attack 9, F4; review 8, #3).
    uow = anna()
    text = "Refund \u202e0001$\u202c now \u2066please\u2069"
    body, content_type = multipart_body(
        {"action": "reply", "submission": "s" * 32, "text": text}, ()
    )

    desk(uow).act(token(), body, content_type, source_ip="192.0.2.1", now=NOW)

    assert uow.conversation["HD-7K3M9Q"][-1].text == "Refund 0001$ now please"


def test_solved_solves_the_ticket_without_a_progress_mail() -> None:
    uow = anna()

    desk(uow).act(token(), b"action=solved&submission=" + b"s" * 32, FORM,
                  source_ip="192.0.2.1", now=NOW)  # fmt: skip

    assert uow.tickets["HD-7K3M9Q"].status == "solved"
    [changed] = [e for e in uow.events() if isinstance(e, StatusChanged)]
    assert (changed.status, changed.in_reply) == ("solved", True)


def test_a_closed_ticket_takes_no_reply_and_says_so() -> None:
    uow = anna()
    uow.tickets["HD-7K3M9Q"] = replace(uow.tickets["HD-7K3M9Q"], status="closed")

    with pytest.raises(PostRefused) as refused:
        desk(uow).act(token(), b"action=reply&text=hi&submission=" + b"s" * 32, FORM,
                      source_ip="192.0.2.1", now=NOW)  # fmt: skip

    assert refused.value.problem.rule == "closed"
    assert uow.commits == 0


def test_a_reply_that_raced_a_close_is_refused_as_on_a_closed_ticket() -> None:
    # Review 17, #4: the page checked the ticket as read, and the reply joined it closed.
    uow = anna()
    uow.interleaved.append(replace(uow.tickets["HD-7K3M9Q"], status="closed"))

    with pytest.raises(PostRefused) as refused:
        desk(uow).act(token(), b"action=reply&text=hi&submission=" + b"s" * 32, FORM,
                      source_ip="192.0.2.1", now=NOW)  # fmt: skip

    assert refused.value.problem.rule == "closed"
    assert [m.text for m in uow.conversation["HD-7K3M9Q"]][-1] != "hi"


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "write to us by email to go on"),
        ("zh", "请给我们发邮件继续"),
        ("ru", "напишите нам по электронной почте, чтобы продолжить"),
    ],
)
def test_a_ticket_holding_its_most_messages_takes_no_reply_from_the_page(
    language: str, words: str
) -> None:
    # Attack 12, F2: a thread had no bound (helpdesk.model.MESSAGES_IN_MAX). A mail still
    # goes on, in a new ticket linked to this one; "solved" and a complaint still work.
    from helpdesk.portal_web import action_response, ticket_page

    uow = anna()
    full = replace(uow.tickets["HD-7K3M9Q"], messages_in=MESSAGES_IN_MAX, language=language)
    uow.tickets["HD-7K3M9Q"] = full
    reply = posted(b"action=reply&text=hi&submission=" + b"s" * 32, FORM)

    answer = action_response(desk(uow), token(), reply, now=NOW, lang=None)
    page = ticket_page(CONFIG, desk(uow).view(token(), now=NOW), language=language)

    assert answer.status_code == 409 and words in str(answer.body)
    assert uow.commits == 0
    assert 'value="reply"' not in page and 'value="solved"' in page
    assert page.count('value="complain"') == 1


def test_a_survey_link_or_an_altered_page_link_opens_nothing() -> None:
    survey = survey_token("HD-7K3M9Q", NOW + timedelta(days=1), KEY)
    payload, _, signature = token().partition(".")

    for refused in (survey, f"{payload}.{signature[:-2]}AA", "nonsense"):
        with pytest.raises(LinkRefused):
            verify_page_token(refused, KEY, now=NOW)


def test_a_page_link_expires_after_the_configured_time() -> None:
    assert verify_page_token(token(), KEY, now=NOW + CONFIG.portal.link_ttl - timedelta(seconds=1))
    with pytest.raises(LinkRefused) as expired:
        verify_page_token(token(), KEY, now=NOW + CONFIG.portal.link_ttl)
    assert expired.value.reason == "expired"


def test_the_other_tickets_are_the_contacts_own_and_hidden_when_others_were_copied() -> None:
    uow = anna()
    uow.add(ticket(ref="HD-22222A", created_at=NOW - timedelta(days=3)))
    uow.add(ticket(ref="HD-33333B", contact_email="bob@example.com"))

    listed = desk(uow).view(token(), now=NOW).others
    assert [other.ref for other in listed] == ["HD-22222A"]
    assert verify_page_token(listed[0].token, KEY, now=NOW) == "HD-22222A"

    copied = replace(uow.tickets["HD-7K3M9Q"], participants=["carol@example.com"])
    uow.tickets["HD-7K3M9Q"] = copied
    assert desk(uow).view(token(), now=NOW).others == []


def with_file(
    uow: FakeUnitOfWork, index: int, name: str, content_type: str, data: bytes, key: str
) -> FakeMailStore:
    """Message ``index`` of Anna's conversation carries one file, ``data`` stored at ``key``;
    the store that holds it."""
    from helpdesk.model import AttachmentMeta

    conversation = uow.conversation["HD-7K3M9Q"]
    file = AttachmentMeta(name, content_type, len(data), key=key)
    conversation[index] = replace(conversation[index], attachments=(file,))
    return FakeMailStore({key: data})


def test_a_file_of_a_note_is_never_served() -> None:
    from helpdesk.errors import NotFound

    uow = anna()
    # m3 is Lena's internal note.
    store = with_file(uow, 2, "secret.txt", "text/plain", b"internal", "attachments/n/1-secret.txt")

    with pytest.raises(NotFound):
        desk(uow, store).download(token(), "m3-1", now=NOW)


def test_a_file_name_from_a_browser_loses_its_path_and_control_characters() -> None:
    uow = anna()
    store = FakeMailStore()
    body, content_type = multipart_body(
        {"action": "reply", "submission": "t" * 32, "text": "see file"},
        (("../../etc/pass\x07wd", "text/plain", b"x"),),
    )

    desk(uow, store).act(token(), body, content_type, source_ip="192.0.2.1", now=NOW)

    [stored] = uow.conversation["HD-7K3M9Q"][-1].attachments
    assert stored.filename == "passwd"


def test_a_file_name_with_a_right_to_left_override_is_stored_and_listed_as_it_reads() -> None:
    # "invoice\u202Efdp.exe" displays as "invoiceexe.pdf": the override goes, as from a
    # mail's attachment (helpdesk.mail.parse).
    uow = anna()
    body, content_type = multipart_body(
        {"action": "reply", "submission": "t" * 32, "text": "the invoice"},
        (("invoice\u202efdp.exe", "application/octet-stream", b"MZ"),),
    )
    page = desk(uow, FakeMailStore())

    page.act(token(), body, content_type, source_ip="192.0.2.1", now=NOW)

    [stored] = uow.conversation["HD-7K3M9Q"][-1].attachments
    listed = [f.filename for m in page.view(token(), now=NOW).messages for f in m.files]
    assert stored.filename == "invoicefdp.exe"
    assert "invoicefdp.exe" in listed and not any("\u202e" in name for name in listed)


def test_only_mail_to_the_customer_about_a_ticket_carries_the_page_link() -> None:
    notifier = Notifier(
        repo=FakeRecords(anna()),
        mailer=FakeMailer(),
        config=CONFIG,
        signing_key=KEY,
        sent_mail=FakeSentMail(),
        public_url="https://support.example",
    )
    context = {"ref": "HD-7K3M9Q", "subject": "Kettle", "customer_name": "Anna",
               "agent_name": "Lena", "helpdesk_name": "Example Support"}  # fmt: skip

    solved = notifier.render("progress_solved", "ru", context)
    assert "https://support.example/ticket/" in solved.text
    assert 'href="https://support.example/ticket/' in solved.html
    assert "Ваше обращение на сайте" in solved.text
    assert "progress_solved" in CUSTOMER_TEMPLATES and "assignment" not in CUSTOMER_TEMPLATES
    unlinked = replace(notifier, public_url=None).render("progress_solved", "ru", context)
    assert "/ticket/" not in unlinked.text


def test_a_downloaded_files_name_cannot_inject_a_header() -> None:
    from helpdesk.portal_web import file_response

    uow = anna()
    name = 'a"\r\nSet-Cookie: x=1.pdf'
    store = with_file(uow, 1, name, "application/pdf", b"%PDF", "attachments/m2/1")

    response = file_response(desk(uow, store), token(), "m2-1", now=NOW, lang=None,
                             accept_language=None)  # fmt: skip

    disposition = response.headers["Content-Disposition"]
    assert isinstance(disposition, str)  # one header, not a list of them
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="a___Set-Cookie: x=1.pdf"; filename*=')
    assert response.body == b"%PDF"


def test_a_file_far_back_in_the_thread_is_not_looked_for_by_the_page() -> None:
    # Attack 20 F3b, attack 21 F4: a file number naming no message read the whole
    # conversation (some 1,200 messages), at will and unlimited. The page looks among the
    # newest DOWNLOAD_LOOKUP_MAX (the 50 of the customer's side it lists, notes between).
    from helpdesk.errors import NotFound
    from helpdesk.services.portal import DOWNLOAD_LOOKUP_MAX

    uow = anna()
    store = with_file(uow, 0, "receipt.pdf", "application/pdf", b"%PDF", "attachments/m1/1")
    uow.conversation["HD-7K3M9Q"] += [
        replace(message(f"later-{n}", "in", f"follow-up {n}"), at=NOW - timedelta(minutes=n))
        for n in range(DOWNLOAD_LOOKUP_MAX, 0, -1)
    ]
    page = desk(uow, store)
    assert "m1" not in {m.id for m in page.view(token(), now=NOW).messages}

    for number in ("m1-1", "unknown-1"):
        with pytest.raises(NotFound):
            page.download(token(), number, now=NOW)


def test_the_other_tickets_links_expire_no_later_than_the_link_that_opened_the_page() -> None:
    # A18-1: a page view must not mint links that outlive the one presented, or two
    # tickets' pages would renew each other's links for ever.
    uow = anna()
    uow.add(ticket(ref="HD-22222A", created_at=NOW - timedelta(days=3)))
    presented = token()  # expires at NOW + link_ttl
    later = NOW + CONFIG.portal.link_ttl - timedelta(days=1)

    [other] = desk(uow).view(presented, now=later).others

    assert verify_page_token(other.token, KEY, now=later) == "HD-22222A"
    with pytest.raises(LinkRefused) as expired:
        verify_page_token(other.token, KEY, now=NOW + CONFIG.portal.link_ttl)
    assert expired.value.reason == "expired"


def test_a_replayed_post_never_replaces_the_files_of_the_message_it_made() -> None:
    # A18-5: the same submission posted again later, with other bytes under the same name.
    uow = anna()
    store = FakeMailStore()
    fields = {"action": "reply", "submission": "r" * 32, "text": "my receipt"}
    first = multipart_body(fields, (("receipt.txt", "text/plain", b"paid 19.99 EUR"),))
    replay = multipart_body(fields, (("receipt.txt", "text/plain", b"paid 1999.00 EUR"),))
    desk(uow, store).act(token(), *first, source_ip="192.0.2.1", now=NOW)
    [message_id] = [m.id for m in uow.conversation["HD-7K3M9Q"] if m.text == "my receipt"]

    desk(uow, store).act(token(), *replay, source_ip="192.0.2.1", now=NOW + timedelta(hours=2))

    assert [m.text for m in uow.conversation["HD-7K3M9Q"]].count("my receipt") == 1
    download = desk(uow, store).download(token(), f"{message_id}-1", now=NOW)
    assert download.data == b"paid 19.99 EUR"
    assert b"paid 1999.00 EUR" not in store.objects.values()


def test_a_post_of_many_parts_is_refused_before_it_is_parsed() -> None:
    # A18-6: thousands of tiny parts cost seconds of CPU in the MIME parser; the page
    # counts the parts' delimiters first and refuses a post of more than it can take.
    fields = {"action": "reply", "submission": "p" * 32, "text": "hi"}
    fields.update({f"x{n}": "" for n in range(200)})
    body, content_type = multipart_body(fields, ())
    uow = anna()

    with pytest.raises(PostRefused) as refused:
        desk(uow).act(token(), body, content_type, source_ip="192.0.2.1", now=NOW)

    assert refused.value.problem.rule == "files_too_many"
    assert uow.conversation["HD-7K3M9Q"][-1].text != "hi"


def test_refused_posts_count_against_the_clients_hourly_limit() -> None:
    from helpdesk.errors import RateLimited

    uow = anna()
    # The ticket's own hourly limit (counted before the body too) set above the client's.
    roomy = CONFIG.portal.model_copy(update={"actions_per_contact_per_hour": 1000})
    page = replace(desk(uow), config=CONFIG.model_copy(update={"portal": roomy}))
    for _ in range(CONFIG.portal.actions_per_ip_per_hour):
        with pytest.raises(PostRefused):
            page.act(token(), b"action=nonsense", FORM, source_ip="192.0.2.1", now=NOW)

    with pytest.raises(RateLimited):
        page.act(token(), b"action=solved&submission=" + b"s" * 32, FORM,
                 source_ip="192.0.2.1", now=NOW)  # fmt: skip
    assert uow.tickets["HD-7K3M9Q"].status == "pending"


def test_the_64_networks_of_one_48_share_a_few_clients_worth_of_page_posts() -> None:
    # Review 11, #2: one IPv6 subscriber holds a /56 or a /48 (RFC 6177), 256 or 65,536
    # clients of a /64 each.
    from helpdesk.errors import RateLimited

    uow = anna()
    roomy = CONFIG.portal.model_copy(
        update={"actions_per_contact_per_hour": 1000, "actions_per_ip_per_hour": 1}
    )
    page = replace(desk(uow), config=CONFIG.model_copy(update={"portal": roomy}))
    for n in range(CONFIG.limits.clients_per_network):
        with pytest.raises(PostRefused):
            page.act(token(), b"action=nonsense", FORM, source_ip=f"2001:db8:5:{n:x}::1", now=NOW)

    with pytest.raises(RateLimited) as limited:
        page.act(token(), b"action=nonsense", FORM, source_ip="2001:db8:5:ff::1", now=NOW)

    assert limited.value.what == "network"
    with pytest.raises(PostRefused):  # another /48 is another network
        page.act(token(), b"action=nonsense", FORM, source_ip="2001:db8:6::1", now=NOW)


def test_the_64_networks_of_one_48_share_a_few_clients_worth_of_link_requests() -> None:
    from helpdesk.errors import RateLimited

    few = CONFIG.portal.model_copy(update={"resend_per_ip_per_hour": 1})
    page = replace(desk(anna()), config=CONFIG.model_copy(update={"portal": few}))

    def ask(n: int, source_ip: str) -> None:
        page.resend(f"email=v{n}%40example.org", FORM, source_ip=source_ip,
                    base_url="https://support.example", now=NOW)  # fmt: skip

    for n in range(CONFIG.limits.clients_per_network):
        ask(n, f"2001:db8:5:{n:x}::1")
    with pytest.raises(RateLimited) as limited:
        ask(99, "2001:db8:5:ff::1")

    assert limited.value.what == "network"


def test_the_page_lists_without_a_link_the_files_the_relay_would_hold_back() -> None:
    # A18-11: the relay never attaches a file that runs code, nor any file of a message
    # nobody vouched for (unscanned, unauthenticated); the page must not hand them out.
    from helpdesk.errors import NotFound
    from helpdesk.model import AttachmentMeta

    def file(name: str, content_type: str = "application/pdf") -> AttachmentMeta:
        return AttachmentMeta(name, content_type, 4, key=f"attachments/x/{name}")

    uow = anna()
    store = FakeMailStore(
        {
            f"attachments/x/{n}": b"data"
            for n in ("form.pdf", "Refund.pdf.exe", "forged.pdf", "own.pdf", "ok.pdf")
        }
    )
    chat = replace(
        message("c1", "in", "from a chat", author="mallory@evil.example"),
        attachments=(file("form.pdf"),),
        flags=("unscanned",),
        channel="chat",
    )
    exe = replace(message("c2", "in", "run me"), attachments=(file("Refund.pdf.exe"),))
    forged = replace(
        message("c3", "in", "forged mail"),
        attachments=(file("forged.pdf"),),
        flags=("unauthenticated",),
    )
    own = replace(
        message("c4", "in", "my upload"),
        attachments=(file("own.pdf"),),
        flags=("unscanned",),
        channel="portal",
    )
    fine = replace(message("c5", "in", "a scanned mail"), attachments=(file("ok.pdf"),))
    uow.conversation["HD-7K3M9Q"] += [chat, exe, forged, own, fine]  # fmt: skip

    page = desk(uow, store)
    links = {f.filename: f.number for m in page.view(token(), now=NOW).messages for f in m.files}

    assert links == {"form.pdf": None, "Refund.pdf.exe": None, "forged.pdf": None,
                     "own.pdf": 1, "ok.pdf": 1}  # fmt: skip
    held_back = {
        f.filename for m in page.view(token(), now=NOW).messages for f in m.files if f.held
    }
    assert held_back == {"form.pdf", "Refund.pdf.exe", "forged.pdf"}
    for held in ("c1-1", "c2-1", "c3-1"):
        with pytest.raises(NotFound):
            page.download(token(), held, now=NOW)
    assert page.download(token(), "c4-1", now=NOW).data == b"data"


def test_the_contacts_unscanned_upload_is_not_served_when_others_hold_a_link_too() -> None:
    # Attack 21, F2: the people she copied in get every answer and its page link; her own
    # upload, which nothing scanned, went to them from the desk's domain as her own file.
    from helpdesk.errors import NotFound
    from helpdesk.model import AttachmentMeta

    uow = anna(participants=["cfo@victim.example"])
    upload = AttachmentMeta("Invoice-0931.zip", "application/zip", 4, key="attachments/x/i.zip")
    uow.conversation["HD-7K3M9Q"].append(
        replace(
            message("c4", "in", "the invoice"),
            attachments=(upload,),
            flags=("unscanned",),
            channel="portal",
        )
    )
    page = desk(uow, FakeMailStore({"attachments/x/i.zip": b"PK"}))

    [listed] = [f for m in page.view(token(), now=NOW).messages for f in m.files]
    assert (listed.number, listed.held) == (None, True)
    with pytest.raises(NotFound):
        page.download(token(), "c4-1", now=NOW)


def test_a_message_from_the_customers_side_never_reads_as_the_desks_answer() -> None:
    # A18-3: whoever wrote in the conversation names themselves; only the desk's replies
    # (direction "out") are shown as the desk's, under the agent's name.
    uow = anna()
    impostor = replace(
        message("c1", "in", "Confirm your card at https://evil.example/refund",
                author="mallory@evil.example"),
        author_name="Example Support Team",
        channel="chat",
    )  # fmt: skip
    uow.conversation["HD-7K3M9Q"].append(impostor)

    shown = {m.id: m for m in desk(uow).view(token(), now=NOW).messages}

    assert (shown["c1"].author, shown["c1"].from_desk) == ("mallory@evil.example", False)
    assert (shown["m2"].author, shown["m2"].from_desk) == ("Lena", True)
    assert (shown["m1"].mine, shown["m1"].from_desk) == (True, False)


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("en", "Attach files (at most 5, 4 MB in all)"),
        ("zh", "添加附件（最多 5 个，总共不超过 4 MB）"),
        ("ru", "Приложить файлы (не больше 5, всего до 4 МБ)"),
    ],
)
def test_the_reply_form_states_the_limit_of_the_files_together(language: str, label: str) -> None:
    # First-user run 14, #1: the label said "4 MB each", the page takes 4 MB in all, and
    # two 2.5 MB photos were refused (past Lambda's 6 MB, with a bare error).
    from helpdesk.portal_web import ticket_page

    html = ticket_page(CONFIG, desk(anna()).view(token(), now=NOW), language=language)

    assert f'<label for="reply-files">{label}</label>' in html


def test_the_page_names_the_desk_only_on_the_desks_answers() -> None:
    from helpdesk.portal_web import ticket_page

    uow = anna()
    impostor = replace(
        message("c1", "in", "Confirm your card", author="mallory@evil.example"),
        author_name="Example Support Team",
    )
    uow.conversation["HD-7K3M9Q"].append(impostor)
    view = desk(uow).view(token(), now=NOW)

    html = ticket_page(CONFIG, view, language="en")

    assert '<li class="desk">\n<p class="who">Lena (Example Support)' in html
    assert '<li class="customer">\n<p class="who">mallory@evil.example,' in html
    assert "Example Support Team" not in html


@pytest.mark.parametrize(
    ("language", "in_your_name"),
    [
        ("en", "Sent in your name, not verified"),
        ("zh", "以您的名义发送，未经验证"),
        ("ru", "Отправлено от вашего имени, не проверено"),
    ],
)
def test_a_message_in_her_name_that_nobody_verified_is_not_shown_as_hers(
    language: str, in_your_name: str
) -> None:
    # Attack 16, F2: a follow-up SES did not authenticate for her domain read as "You".
    from helpdesk.portal_web import ticket_page

    uow = anna(language=language)
    forged = replace(message("m4", "in", "I moved: 1 Evil Road."), flags=("unauthenticated",))
    uow.conversation["HD-7K3M9Q"].append(forged)
    view = desk(uow).view(token(), now=NOW)

    html = ticket_page(CONFIG, view, language=language)

    assert [(m.text, m.mine) for m in view.messages][-1] == ("I moved: 1 Evil Road.", False)
    assert html.count(in_your_name) == 1
    assert html.count('<li class="mine">') == 1  # "Where is my kettle?" only


@pytest.mark.parametrize(
    ("language", "unverified"),
    [
        ("en", "bob@example.com, not verified,"),
        ("zh", "bob@example.com（未经验证），"),
        ("ru", "bob@example.com, не проверено,"),
    ],
)
def test_a_message_in_a_participants_name_that_nobody_verified_says_so(
    language: str, unverified: str
) -> None:
    # Review 18, #4: a forged mail in the name of someone she copied in read as his.
    from helpdesk.portal_web import ticket_page

    uow = anna(language=language)
    forged = replace(
        message("m4", "in", "Send the refund to my new IBAN.", author="bob@example.com"),
        flags=("unauthenticated",),
    )
    his = message("m5", "in", "Thanks!", author="bob@example.com")
    uow.conversation["HD-7K3M9Q"] += [forged, his]
    view = desk(uow).view(token(), now=NOW)

    html = ticket_page(CONFIG, view, language=language)

    assert html.count(unverified) == 1
    assert html.count("bob@example.com") == 2


def test_strangers_asking_for_a_customers_links_cannot_lock_her_out() -> None:
    # A18-12: the per-address hourly count was spent by anyone, from any client, with
    # case and plus variants of the address; the customer's own request was then a 429.
    from urllib.parse import urlencode

    uow = anna()
    page = desk(uow)
    for variant in ("ANNA+x@example.com", "anna+y@example.com", "Anna@Example.com"):
        page.resend(urlencode({"email": variant}), FORM, source_ip="198.51.100.7",
                    base_url="https://support.example", now=NOW)  # fmt: skip

    # Her own request, from her own client, is taken (no 429).
    page.resend("email=anna@example.com", FORM, source_ip="192.0.2.44",
                base_url="https://support.example", now=NOW + timedelta(minutes=5))  # fmt: skip


def posted(body: bytes | str, content_type: str, *, base64_encoded: bool = True) -> FormPost:
    """A form post as API Gateway hands it over: a body it does not take for text (a form
    with files) base64-encoded (HTTP API payload format 2.0, ``isBase64Encoded``)."""
    text = base64.b64encode(body).decode("ascii") if isinstance(body, bytes) else body
    return FormPost(text, base64_encoded, content_type, "en", "192.0.2.1")


def test_a_reply_with_a_file_posted_base64_is_taken_and_the_browser_sent_back_to_the_page() -> None:
    from helpdesk.portal_web import action_response

    uow = anna()
    body, content_type = multipart_body(
        {"action": "reply", "submission": "b" * 32, "text": "The receipt."},
        (("receipt.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 not text"),),
    )

    answer = action_response(desk(uow), token(), posted(body, content_type), now=NOW, lang=None)

    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{token()}?done=reply"
    reply = uow.conversation["HD-7K3M9Q"][-1]
    assert reply.text == "The receipt."
    assert [a.filename for a in reply.attachments] == ["receipt.jpg"]


def test_a_post_with_broken_base64_gets_the_page_again_saying_reload_and_changes_nothing() -> None:
    from helpdesk.portal_web import action_response

    uow = anna()
    broken = posted("not*base64", "application/x-www-form-urlencoded", base64_encoded=True)

    answer = action_response(desk(uow), token(), broken, now=NOW, lang=None)

    assert answer.status_code == 415
    assert "the page is out of date: please reload it and try again." in str(answer.body)
    assert uow.commits == 0


def test_asking_for_links_with_broken_base64_gets_the_page_again_asking_for_the_address() -> None:
    from helpdesk.portal_web import resend_response

    uow = anna()
    broken = posted("not*base64", "application/x-www-form-urlencoded", base64_encoded=True)

    answer = resend_response(desk(uow), broken, base_url="https://x.example", now=NOW, lang=None)

    assert answer.status_code == 422
    assert "please enter a valid email address" in str(answer.body).lower()
    assert uow.commits == 0


@pytest.mark.parametrize(
    ("language", "cut_note", "older_note"),
    [
        ("en", "This message is longer than this page shows", "Older messages not shown here: "),
        ("zh", "此消息较长", "此处未显示的较早消息："),
        ("ru", "Это сообщение длиннее", "Более ранние сообщения, не показанные здесь: "),
    ],
)
def test_a_conversation_of_long_mails_fits_one_response_and_says_what_it_left_out(
    language: str, cut_note: str, older_note: str
) -> None:
    # Attack 8, F1: long mails (forged onto her ticket, or pasted logs) had put the page
    # over Lambda's 6 MB response. Quotes and control characters grow the most on the
    # way (5 bytes of HTML, 6 of JSON for 1).
    import json

    from helpdesk.portal_web import ticket_page

    uow = anna()
    uow.conversation["HD-7K3M9Q"] = [
        replace(message(f"c{n}", "in", '"\x01' * 200_000), at=NOW - timedelta(minutes=60 - n))
        for n in range(60)
    ]
    view = desk(uow).view(token(), now=NOW)

    html = ticket_page(CONFIG, view, language=language)

    size = len(json.dumps({"statusCode": 200, "body": html}).encode())
    assert size < 5_000_000
    assert view.messages[-1].id == "c59"
    assert all(m.cut for m in view.messages)
    assert view.older_messages == 60 - len(view.messages) > 0
    assert html.count(cut_note) == len(view.messages)
    assert f"{older_note}{view.older_messages}" in html


@pytest.mark.parametrize(
    ("language", "link_words"),
    [
        ("en", "you hold the link from our mail"),
        ("zh", "邮件"),
        ("ru", "ссылка из нашего письма"),
    ],
)
def test_only_a_ticket_page_speaks_of_the_link_its_reader_holds(
    language: str, link_words: str
) -> None:
    # Newuser 12, #15: /ticket, where anyone asks for fresh links without holding one, and
    # the page of a refused link said "you see this page because you hold the link from
    # our mail: do not share it".
    from helpdesk.links import LinkRefused
    from helpdesk.portal_web import ask_page, refused_page
    from helpdesk.render import language_words

    assert link_words in language_words("portal", language)["footer"]  # a ticket's page
    pages = [
        ask_page(CONFIG, language=language),
        refused_page(CONFIG, LinkRefused("expired"), language=language, ask_url="/ticket"),
    ]
    for page in pages:
        [footer] = re.findall(r"<footer>(.*?)</footer>", page, flags=re.DOTALL)
        assert footer.strip() == CONFIG.helpdesk.name


def test_a_smaller_limit_per_file_is_stated_beside_the_limit_of_them_together() -> None:
    from helpdesk.portal_web import ticket_page

    config = with_limits(attachment_max_bytes=1_000_000)

    html = ticket_page(config, desk(anna()).view(token(), now=NOW), language="en")

    assert "Attach files (at most 5, 1 MB each, 4 MB in all)" in html


def test_a_file_number_of_digits_int_refuses_is_no_file() -> None:
    # Attack 20, F3: "²" and "①" pass str.isdigit(), then int() raised: a 500.
    from helpdesk.errors import NotFound

    for number in ("c1-\u00b2", "c1-\u2460"):
        with pytest.raises(NotFound):
            desk(anna()).download(token(), number, now=NOW)
