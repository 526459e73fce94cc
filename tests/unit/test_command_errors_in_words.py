"""An agent's error mail says what was wrong in the agent's language (first-user review S9:
a Chinese agent read "'done' is not a status: use ..." inside a Chinese mail). The English
text stays what the ticket's history and the agent API keep."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from test_agent_mail_scope import agents_mail
from test_email_intake_on_fakes import NOW, Desk

from fakes import CONFIG, FakeRecords, fake_notifier
from helpdesk import notices
from helpdesk.events import CommandRejected
from helpdesk.mail.compose import OutboundMail
from helpdesk.model import Ticket


def error_mail(body: str, agent: str = "Wei") -> tuple[CommandRejected, OutboundMail, Ticket]:
    """The error mail to ``agent`` (Wei writes Chinese, Lena English) for a reply of
    ``body`` on the ticket of team general they hold; the ticket as it was before."""
    address = f"{agent.lower()}@support.example"
    desk = Desk()
    opened = desk.opened()
    ticket = replace(opened, assignee=address, status="open")
    desk.uow.tickets[opened.ref] = ticket
    desk.deliver(
        "m2",
        agents_mail(ticket, f"{agent} <{address}>", body, f"<{agent.lower()}-9@support.example>"),
        at=NOW + timedelta(minutes=20),
    )
    rejected = desk.uow.events()[-1]
    assert isinstance(rejected, CommandRejected)
    notifier = fake_notifier(FakeRecords(desk.uow), CONFIG)
    notices.handle(rejected, notifier, now=NOW + timedelta(minutes=21))
    [mail] = notifier.mails()
    return rejected, mail, desk.uow.tickets[ticket.ref]


def error_mail_to_wei(body: str) -> tuple[CommandRejected, str]:
    rejected, mail, _ = error_mail(body)
    return rejected, mail.text


def test_a_chinese_agents_error_mail_names_each_problem_in_chinese() -> None:
    rejected, text = error_mail_to_wei("#status done\n#team space\n#frobnicate\nHello")

    assert "'done' 不是有效的状态，请使用其中之一：new, open, pending, solved" in text
    assert "'space' 不是团队" in text
    assert "#frobnicate：未知命令" in text
    assert "is not a status" not in text and "unknown command" not in text
    # The event and the ticket's history keep the English text.
    assert (
        rejected.errors[0]
        == "#status done: 'done' is not a status: use new, open, pending or solved"
    )


def test_an_error_of_an_event_without_words_is_shown_as_written() -> None:
    # An event the previous version wrote has no ``said``: its English text is shown.
    rejected, _ = error_mail_to_wei("#status done\nHello")
    desk = Desk()
    notifier = fake_notifier(FakeRecords(desk.uow), CONFIG)
    notices.handle(replace(rejected, said=[]), notifier, now=NOW)
    [mail] = notifier.mails()
    assert "'done' is not a status: use new, open, pending or solved" in mail.text


def test_an_assignee_outside_the_team_is_refused_in_the_agents_language() -> None:
    # Attack 9, F1: the refusal decided on the ticket committed has its words too.
    rejected, text = error_mail_to_wei("#assign Omar\nOmar knows this one.")

    assert "#assign Omar：omar@support.example 不在 general 团队" in text
    assert "lena@support.example, wei@support.example" in text
    assert "does not work in team" not in text
    assert rejected.errors[0].startswith("#assign Omar: omar@support.example does not work")


def test_the_error_mail_says_nothing_was_done_or_sent_and_suggests_the_command_meant() -> None:
    # First-user run 14, #2: "Some commands ... were not carried out" read as if the rest,
    # the valid commands and the answer to the customer, had gone through; none had.
    body = "#priority high\n#stauts open\nDear Anna, I am sorry."

    _, mail, after = error_mail(body, agent="Lena")

    assert "Nothing in your reply" in mail.text
    assert "was not sent to the customer" in mail.text
    # The HTML part, which most mail clients show, too (review 20, #2).
    assert mail.html is not None
    assert "Nothing in your reply" in mail.html and "Some commands" not in mail.html
    assert "#stauts open: unknown command (did you mean #status?)" in mail.text
    assert "not carried out or sent" in mail.subject
    assert after.priority == "normal"  # the valid #priority high was not carried out either
