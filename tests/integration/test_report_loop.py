"""What the lead reads about self-service, complaints and channels in the report mail, on
the local stack: the tickets come in through the web form (real intake) and, for those
offered articles, through the unit of work as intake commits them once the knowledge base
suggests (a chat channel's tickets); the customer's self-service and complaint are the
changes those services commit. The report function then runs on its hourly schedule.

By hand, Monday 23 November (Berlin), default config (Maria leads general and billing; the
config below makes Wei, who reads Chinese first, a desk-wide reader):
  form, no article offered: "Can I pay with PayPal?", "Paying by PayPal possible?",
    "Gift wrapping" (general), "Invoice address is wrong" (billing: the keyword rule);
  chat, articles offered: "I forgot my password" [reset-password] (solved by the customer
    from the article), "Where is my parcel?" x3 [order-status] (never confirmed);
  complaint: the customer of "Invoice address is wrong".
  -> new tickets by channel: form 4 (50%), chat 4 (50%); self-service rate 1 of 4 = 25%;
     order-status offered 3 times, confirmed 0: not helpful; writing list: PayPal (2),
     then Invoice address and Gift wrapping (1 each); complaints 1 (billing).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from committing import ticket_store

from helpdesk.aws.ticket_store import DynamoTicketStore
from helpdesk.config import default_config_path, load_config
from helpdesk.model import Message, Ticket
from helpdesk.services.clocks import Change, apply
from helpdesk.services.tickets import NewRequest, open_ticket
from helpdesk.unit_of_work import TicketChange, change_ticket
from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

pytestmark = pytest.mark.slow

MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)  # 09:55 in Berlin
MARIA, WEI = "maria@support.example", "wei@support.example"


class OfferingStore(DynamoTicketStore):
    """The unit of work on the stack's table, committing a new ticket with the articles
    its acknowledgement offers (``offers``: subject -> slugs), as intake does once the
    knowledge base suggests (issue 17)."""

    offers: dict[str, list[str]]

    def commit(self, change: TicketChange) -> Ticket:
        slugs = self.offers.get(change.after.subject) if change.before is None else None
        if slugs:
            change = replace(change, after=replace(change.after, suggested=list(slugs)))
        return super().commit(change)


def chat_ticket(stack: LocalStack, store: OfferingStore, n: int, subject: str) -> Ticket:
    now = stack.clock.read()
    email = f"chat{n}@example.com"
    message = Message(
        id=f"chat-m-{n}",
        ticket="",
        direction="in",
        author=email,
        author_name=f"Chat {n}",
        at=now,
        text=subject,
        subject=subject,
    )
    return open_ticket(
        NewRequest(
            channel="chat",
            subject=subject,
            text=subject,
            contact_email=email,
            contact_name=f"Chat {n}",
        ),
        uow=store,
        config=store.config,
        now=now,
        first_message=message,
    )


def form(stack: LocalStack, subject: str, n: int) -> None:
    answer = stack.post_form(
        {
            "name": f"Form {n}",
            "email": f"form{n}@example.com",
            "subject": subject,
            "message": f"{subject} Thanks.",
        }
    )
    assert answer.status == 201, answer.body


def customer_solves_from_article(stack: LocalStack, ref: str) -> None:
    """What the "this answered my question" page commits: solved, flagged self_served."""
    store = ticket_store(stack)
    now = stack.clock.read()

    def change(ticket: Ticket) -> TicketChange:
        solved = apply(ticket, Change(status="solved"), at=now, config=store.config)
        return TicketChange(
            before=ticket,
            after=replace(solved, flags=[*solved.flags, "self_served"]),
            at=now,
            history=[("self_served", {"article": "reset-password"})],
        )

    change_ticket(store, ref, change)


def customer_complains(stack: LocalStack, ref: str) -> None:
    """What a complaint from the customer's page commits: the ticket flagged complaint."""
    store = ticket_store(stack)
    now = stack.clock.read()

    def change(ticket: Ticket) -> TicketChange:
        return TicketChange(
            before=ticket,
            after=replace(ticket, flags=[*ticket.flags, "complaint"], updated_at=now),
            at=now,
            history=[("complaint", {})],
        )

    change_ticket(store, ref, change)


@pytest.fixture(scope="module")
def monday(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config_path = Path(tmp_path_factory.mktemp("config")) / "helpdesk.yaml"
    text = default_config_path().read_text(encoding="utf-8")
    assert "  desk_wide_to: []" in text
    config_path.write_text(
        text.replace("  desk_wide_to: []", f"  desk_wide_to: [{WEI}]"), encoding="utf-8"
    )
    with LocalStack(config_path=config_path, start=MONDAY_MORNING) as stack:
        base = ticket_store(stack)
        store = OfferingStore(
            base.table, config=load_config(config_path), timer_shards=base.timer_shards
        )
        store.offers = {
            "I forgot my password": ["reset-password"],
            "Where is my parcel?": ["order-status"],
        }
        for n, subject in enumerate(
            ["Can I pay with PayPal?", "Paying by PayPal possible?", "Gift wrapping"], start=1
        ):
            form(stack, subject, n)
            stack.advance(timedelta(minutes=1))  # the latest question is each group's example
        form(stack, "Invoice address is wrong", 4)
        password = chat_ticket(stack, store, 1, "I forgot my password")
        for n in (2, 3, 4):
            chat_ticket(stack, store, n, "Where is my parcel?")
        stack.drain()
        stack.advance(timedelta(hours=1))
        customer_solves_from_article(stack, password.ref)
        state = build_state(stack)
        [invoice] = [t for t in state["tickets"] if t["subject"] == "Invoice address is wrong"]
        customer_complains(stack, invoice["ref"])
        stack.drain()
        stack.advance(timedelta(hours=21, minutes=10))  # Tuesday 08:05 in Berlin
        state = build_state(stack)
        assert stack.invocation_errors == []
    state["invoice"] = invoice
    return state


def report_to(state: dict[str, Any], reader: str) -> dict[str, Any]:
    report: dict[str, Any]
    [report] = [m for m in state["outbox"] if m["kind"] == "report" and m["to"] == [reader]]
    return report


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines()]


def test_monday_went_as_scripted(monday: dict[str, Any]) -> None:
    tickets = {t["subject"]: t for t in monday["tickets"]}
    assert tickets["I forgot my password"]["status"] == "solved"
    assert "self_served" in tickets["I forgot my password"]["flags"]
    assert tickets["I forgot my password"]["suggested"] == ["reset-password"]
    assert "complaint" in tickets["Invoice address is wrong"]["flags"]
    assert tickets["Invoice address is wrong"]["team"] == "billing"
    assert tickets["Gift wrapping"]["suggested"] == []
    assert [tickets["Where is my parcel?"]["channel"], tickets["Gift wrapping"]["channel"]] == [
        "chat",
        "form",
    ]


def test_the_lead_reads_channels_self_service_the_writing_list_and_complaints(
    monday: dict[str, Any],
) -> None:
    report = report_to(monday, MARIA)
    text = lines(report["text"])

    assert "daily report Mon 23 Nov 2026 (general, billing)" in report["subject"]
    for expected in [
        "NEW TICKETS BY CHANNEL: chat 4 (50%), form 4 (50%)",
        "COMPLAINTS: 1 (made in this period)",
        "  billing: 1",
        "  Self-service rate: 25% (1 ticket(s) solved by the customer from a suggested article"
        " / 4 ticket(s) opened in this period that were offered articles)",
        "    order-status               0 confirmed of 3 offered (0%)",
        "  Questions no article answers yet: 4 ticket(s) opened with no confident article."
        " The writing list for next week:",
        "     2  Paying by PayPal possible?",
        "     1  Invoice address is wrong",
        "     1  Gift wrapping",
    ]:
        assert expected in text, expected
    html = report["html"] or ""
    assert "New tickets by channel" in html and "Paying by PayPal possible?" in html
    assert "order-status" in html and "25%" in html


def test_a_reader_of_chinese_gets_the_same_figures_in_chinese(monday: dict[str, Any]) -> None:
    report = report_to(monday, WEI)
    text = lines(report["text"])

    for expected in [
        "整个服务台。",
        "按渠道的新工单：chat 4 (50%)，网页表单 4 (50%)",
        "投诉：1（本期提出）",
        "  billing：1",
        "  自助解决率：25%（客户通过推荐文章自行解决的工单 1 个"
        " / 本期新建且获得文章推荐的工单 4 个）",
        "    order-status             推荐 3 次，确认解决 0 次（0%）",
        "     1  Gift wrapping",
    ]:
        assert expected in text, expected
    assert "自助服务（知识库）" in (report["html"] or "")
