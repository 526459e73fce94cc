"""The acknowledgement in each shipped language, promising a local time the customer reads."""

from __future__ import annotations

from pathlib import Path

from desk_support import played

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "agent_acknowledgements.yaml"


def words_of(text: str) -> str:
    """Text with every run of whitespace as one space (Babel joins "2026 г." with a
    no-break space, and mail wraps lines with CRLF)."""
    return " ".join(text.split())


def test_each_customer_is_acknowledged_in_their_language_with_the_promised_local_time() -> None:
    state = played(SCENARIO)
    tickets = state["tickets"]
    assert [t["language"] for t in tickets] == ["en", "zh", "ru"]
    acks = {m["ticket"]: m for m in state["outbox"] if m["kind"] == "acknowledgement"}
    # Monday 09:55 in Berlin plus four business hours of the standard policy.
    promised = {
        "en": ("We received your request", "Monday, 23 November 2026, 13:55 Berlin time"),
        "zh": ("我们已收到您的请求", "2026年11月23日星期一 13:55 柏林时间"),
        "ru": (
            "Мы получили ваше обращение",
            "понедельник, 23 ноября 2026 г., 13:55 (часовой пояс: Берлин)",
        ),
    }
    for ticket in tickets:
        ack = acks[ticket["ref"]]
        words, when = promised[ticket["language"]]
        assert ack["to"] == [ticket["contact"]["email"]]
        assert ack["subject"].startswith(f"[#{ticket['ref']}] {words}")
        assert when in words_of(ack["text"])
        assert when in words_of(ack["html"] or "")
        assert ack["headers"]["Reply-To"] == f"support+{ticket['ref'].lower()}@support.example"
        assert ack["headers"]["Auto-Submitted"] == "auto-replied"
        assert ack["headers"]["X-Auto-Response-Suppress"] == "All"
    # The Chinese ticket's agent is the one who answers in Chinese.
    assert tickets[1]["assignee"] == "wei@support.example"
