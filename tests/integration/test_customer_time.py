"""The customer's own time and long subjects, on the local stack (issue 16's acceptance):
tests/scenarios/customer_time_and_long_subjects.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desk_support import played as play_scenario

SCENARIO = (
    Path(__file__).resolve().parents[1] / "scenarios" / "customer_time_and_long_subjects.yaml"
)
CHINESE_SUBJECT = "API 接口 返回 500 错误，订单 12345 无法支付，请尽快帮我们看看 API 接口 的问题"
RUSSIAN_SUBJECT = (
    "Оплата не прошла по заказу 12345, деньги списаны дважды, а заказ так и не оформлен"
)


def words_of(text: str) -> str:
    """Text with every run of whitespace as one space (Babel joins "2026 г." with a
    no-break space, and mail wraps lines)."""
    return " ".join(text.split())


def played() -> dict[str, Any]:
    state = play_scenario(SCENARIO)
    assert state["dead_letters"] == []
    return state


def test_the_promise_is_in_the_customers_zone_and_long_subjects_come_back_whole() -> None:
    state = played()
    form_ticket, email_ticket, olga_ticket = state["tickets"]
    acks = {m["ticket"]: m for m in state["outbox"] if m["kind"] == "acknowledgement"}

    # The form: Chinese, Beijing time (08:55 UTC + 4 business hours in Berlin = 12:55 UTC).
    assert form_ticket["subject"] == CHINESE_SUBJECT
    form_ack = acks[form_ticket["ref"]]
    assert form_ack["subject"] == f"[#{form_ticket['ref']}] 我们已收到您的请求：{CHINESE_SUBJECT}"
    assert "2026年11月23日星期一 20:55 北京时间" in words_of(form_ack["text"])
    assert "2026年11月23日星期一 20:55 北京时间" in words_of(form_ack["html"] or "")

    # Her email half an hour later carries no zone: the contact's zone still holds.
    assert email_ticket["contact"]["email"] == form_ticket["contact"]["email"]
    assert email_ticket["subject"] == RUSSIAN_SUBJECT
    email_ack = acks[email_ticket["ref"]]
    assert (
        email_ack["subject"]
        == f"[#{email_ticket['ref']}] Мы получили ваше обращение: {RUSSIAN_SUBJECT}"
    )
    assert "понедельник, 23 ноября 2026 г., 21:25 (часовой пояс: Шанхай)" in words_of(
        email_ack["text"]
    )

    # Olga's browser told us nothing: the calendar's zone, named by its place.
    olga_ack = acks[olga_ticket["ref"]]
    assert "понедельник, 23 ноября 2026 г., 14:25 (часовой пояс: Берлин)" in words_of(
        olga_ack["text"]
    )
    assert "CET" not in olga_ack["text"]
