"""Telling machine-written mail from mail a person wrote, and spotting spoofed insiders."""

from __future__ import annotations

import pytest

from helpdesk.mail.parse import ParsedMail, parse_mail
from helpdesk.mail.robots import is_spoofed, robot_reason

OWN = "support.example"


def mail(*header_lines: str, sender: str = "Jane <jane@customer.example>") -> ParsedMail:
    head = "\n".join((f"From: {sender}", "To: support@support.example", *header_lines))
    return parse_mail(f"{head}\nSubject: Hi\n\nHello\n".encode())


def test_a_plain_customer_mail_is_not_a_robot() -> None:
    assert robot_reason(mail(), own_domain=OWN) is None


@pytest.mark.parametrize(
    "header",
    ["Auto-Submitted: auto-replied", "Auto-Submitted: Auto-Notified", "Auto-Submitted: x-custom"],
)
def test_any_auto_submitted_value_but_no_is_an_auto_reply(header: str) -> None:
    assert robot_reason(mail(header), own_domain=OWN) == "auto_reply"


def test_auto_submitted_no_is_a_person() -> None:
    assert robot_reason(mail("Auto-Submitted: No"), own_domain=OWN) is None


def test_an_empty_vendor_auto_reply_header_is_not_a_signal() -> None:
    assert robot_reason(mail("X-Auto-Response-Suppress:"), own_domain=OWN) is None


def test_a_dsn_is_a_bounce_even_when_it_also_says_auto_submitted() -> None:
    dsn = parse_mail(
        b"From: MAILER-DAEMON@mx.example\nAuto-Submitted: auto-replied\nReturn-Path: <>\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nfailed\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        b"Final-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.0.0\n--b--\n"
    )
    assert robot_reason(dsn, own_domain=OWN) == "bounce"
    assert dsn.report is not None
    assert dsn.report.recipients == ("x@y.example",)


def test_our_own_message_id_coming_back_is_an_echo_whatever_its_case() -> None:
    echo = mail("Message-ID: <HD.01ABC.7@Support.Example>")
    assert robot_reason(echo, own_domain=OWN) == "echo"


def test_a_similar_message_id_from_another_domain_is_not_an_echo() -> None:
    other = mail("Message-ID: <hd.01ABC.7@support.example.attacker.example>")
    assert robot_reason(other, own_domain=OWN) is None


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("Mailer-Daemon@mx.example", "bounce"),
        ("postmaster@customer.example", "bounce"),
        ("noreply@shop.example", "auto_reply"),
        ("No_Reply@shop.example", "auto_reply"),
        ("donotreply@shop.example", "auto_reply"),
        ("noreply-orders@shop.example", "auto_reply"),
        ("noreplyjohn@customer.example", None),
        ('"noreply" <john@customer.example>', None),
    ],
)
def test_system_senders_are_recognised_by_their_local_part(sender: str, reason: str | None) -> None:
    assert robot_reason(mail(sender=sender), own_domain=OWN) == reason


def test_a_null_return_path_on_a_report_is_a_bounce() -> None:
    report = mail(
        "Return-Path: <>",
        "Content-Type: multipart/report; report-type=disposition-notification; boundary=z",
    )
    assert robot_reason(report, own_domain=OWN) == "auto_reply"
    dsn_like = mail("Return-Path: <>", "Content-Type: multipart/report; boundary=z")
    assert robot_reason(dsn_like, own_domain=OWN) == "bounce"


def authenticated(sender: str, results: str) -> ParsedMail:
    return mail(f"Authentication-Results: amazonses.com; {results}", sender=sender)


SPOOFED = [
    pytest.param(
        "boss@support.example",
        "spf=pass; dkim=pass; dmarc=fail",
        (),
        id="our domain failing dmarc",
    ),
    pytest.param(
        "Alice <ALICE@agents.example>",
        "spf=softfail; dkim=none",
        ["alice@agents.example"],
        id="an agent address without spf or dkim pass",
    ),
    pytest.param(
        "alice@support.example",
        "spf=pass smtp.mailfrom=x@attacker.example; dkim=pass header.d=attacker.example;"
        " dmarc=none header.from=support.example",
        ["alice@support.example"],
        id="an agent address passing for the sender's own domain",
    ),
    pytest.param(
        "it@eu.support.example",
        "spf=fail; dkim=fail",
        (),
        id="a subdomain of our domain, which counts as ours",
    ),
]
NOT_SPOOFED = [
    pytest.param(
        "alice@support.example",
        "spf=pass; dkim=none; dmarc=pass header.from=support.example",
        ["alice@support.example"],
        id="an authenticated agent",
    ),
    pytest.param(
        "alice@agents.example",
        "spf=none; dkim=pass header.i=@mail.agents.example; dmarc=none",
        ["alice@agents.example"],
        id="an agent address with a dkim pass aligned with its domain",
    ),
    pytest.param(
        "jane@customer.example",
        "spf=fail; dkim=fail; dmarc=fail",
        ["alice@support.example"],
        id="a customer failing authentication",
    ),
]


@pytest.mark.parametrize(("sender", "results", "agent_emails"), SPOOFED)
def test_mail_claiming_our_domain_or_an_agent_without_authenticating_so_is_spoofed(
    sender: str, results: str, agent_emails: list[str]
) -> None:
    forged = authenticated(sender, results)
    assert is_spoofed(forged, own_domain=OWN, agent_emails=agent_emails)


@pytest.mark.parametrize(("sender", "results", "agent_emails"), NOT_SPOOFED)
def test_authenticated_agents_and_customers_failing_authentication_are_not_called_spoofed(
    sender: str, results: str, agent_emails: list[str]
) -> None:
    real = authenticated(sender, results)
    assert not is_spoofed(real, own_domain=OWN, agent_emails=agent_emails)


def raw(text: str) -> ParsedMail:
    return parse_mail(text.encode())


def test_a_daemon_return_path_is_a_bounce_whatever_the_from_says() -> None:
    bounce = mail(
        "Return-Path: <MAILER-DAEMON@mx44.example.com>",
        sender="Mail Delivery System <notices@mx44.example.com>",
    )
    assert robot_reason(bounce, own_domain=OWN) == "bounce"


@pytest.mark.parametrize(
    "sender",
    [
        "Mail Delivery System <Mail.Delivery.System@mx.example>",
        "Mail Delivery Subsystem <MAILER-DAEMON>",
        "MAILER-DAEMON <>",
        "post_master@vtext.example.com",
        "<>",
    ],
)
def test_a_daemon_sender_is_a_bounce_even_without_a_usable_address(sender: str) -> None:
    assert robot_reason(mail(sender=sender), own_domain=OWN) == "bounce"


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(
            "From: Jane <jane@customer.example>\nSubject: Delivery status notification\n"
            "Content-Type: multipart/report; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
            "Delivery to the following recipients failed permanently\n--b--\n",
            id="a report without its delivery status part",
        ),
        pytest.param(
            "From: abuse@isp.example\nSubject: FW: hello\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
            "--b\nContent-Type: text/plain\n\nThis is an abuse report\n--b--\n",
            id="an abuse feedback report",
        ),
    ],
)
def test_any_multipart_report_is_a_bounce(report: str) -> None:
    assert robot_reason(raw(report), own_domain=OWN) == "bounce"


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "failure notice",
        "DELIVERY FAILURE: User kijitora not listed in Domino Directory",
        "Returned mail: see transcript for details",
        "Unzustellbar: Rechnung",
        "Недоставленное сообщение",
    ],
)
def test_a_vendor_bounce_is_recognised_by_its_subject_on_a_null_return_path(subject: str) -> None:
    # RFC 5321 section 4.5.5: an MTA sends its non-delivery notice with the null
    # reverse-path, which SES writes into Return-Path; the subject says what kind it is.
    bounce = mail("Return-Path: <>", f"Subject: {subject}")
    assert robot_reason(bounce, own_domain=OWN) == "bounce"


@pytest.mark.parametrize(
    "subject",
    [
        "Non-delivery of my parcel",
        "Не доставлен заказ 4711",
        "未送达的包裹",
        "Undeliverable address on my invoice",
        "Delivery failure again, third time",
        "Complaint about message from 1 of your agents",
    ],
)
def test_a_customer_whose_subject_reads_like_a_bounce_is_a_person(subject: str) -> None:
    # The words of a non-delivery notice are also a customer's words about a parcel: without
    # an MTA's null reverse-path, a daemon sender or a report, the subject proves nothing.
    customer = mail("Return-Path: <bob@customer.example>", f"Subject: {subject}")
    assert robot_reason(customer, own_domain=OWN) is None
    assert robot_reason(mail(f"Subject: {subject}"), own_domain=OWN) is None


def test_outlooks_complaint_report_is_known_by_the_ip_address_its_subject_names() -> None:
    # Outlook.com's junk-mail reporting program (sisimai's arf-22 to arf-24) writes from a
    # person's mailbox with no report structure; only its subject names a sending IP.
    complaint = mail("Subject: complaint about message from 192.0.2.222")
    assert robot_reason(complaint, own_domain=OWN) == "bounce"


@pytest.mark.parametrize(
    "subject",
    [
        "AUTO: Lena Weber is out of the office (returning 05.01.2027)",
        "Out of Office AutoReply: your order",
        "Automatic reply: Where is my order?",
        "Auto reply: Nyaan",
        "Abwesenheitsnotiz: Rechnung",
        "自动回复: 发票",
        "Автоответ: заказ",
        "Автоматический ответ: Оплата",
    ],
)
def test_an_out_of_office_reply_without_robot_headers_is_known_by_its_subject(
    subject: str,
) -> None:
    assert robot_reason(mail(f"Subject: {subject}"), own_domain=OWN) == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Undelivered Mail Returned to Sender",
        "Fwd: Returned mail: see transcript for details",
        "Auto: Rechnung für meine Werkstatt",
        "My parcel was undelivered",
        "When will you be out of the office?",
        "Where is my automatic reply setting?",
    ],
)
def test_a_person_writing_about_delivery_or_offices_is_not_a_robot(subject: str) -> None:
    # mail() adds its own Subject after the header lines; the first Subject is the one read.
    assert robot_reason(mail(f"Subject: {subject}"), own_domain=OWN) is None


@pytest.mark.parametrize(
    "header",
    [
        "X-Autogenerated: Reply",
        "X-AutoReply-From: kijitora@example.jp",
        "X-Mail-Autoreply: vacation",
        "X-Autoresponder: yes",
        "X-Apple-Action: VACATION",
        "X-POST-MessageClass: 9; Autoresponder",
    ],
)
def test_vendor_auto_reply_headers_mark_an_auto_reply(header: str) -> None:
    assert robot_reason(mail(header), own_domain=OWN) == "auto_reply"


@pytest.mark.parametrize(
    "header", ["X-MLServer: fml [fml 4.0.3]", "X-ML-Name: neko", "Mailing-List: contact x@y"]
)
def test_older_list_managers_mark_list_mail(header: str) -> None:
    assert robot_reason(mail(header), own_domain=OWN) == "list"


@pytest.mark.parametrize(
    "subject",
    ["Autoreply not working in my account", "Out of office hours support?", "Auto: Bremsen"],
)
def test_a_customer_asking_about_auto_replies_is_a_person(subject: str) -> None:
    assert robot_reason(mail(f"Subject: {subject}"), own_domain=OWN) is None
