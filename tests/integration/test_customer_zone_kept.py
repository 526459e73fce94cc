"""The contact's stored time zone is kept (security review F7), through the DynamoDB
adapter on the local stack: a later form naming another zone changes no promise."""

from __future__ import annotations

from desk_support import played


def test_a_strangers_form_in_a_customers_name_moves_none_of_her_promised_times() -> None:
    state = played("customer_zone_kept.yaml")

    acknowledgements = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert len(acknowledgements) == 3
    for mail in acknowledgements:
        assert "New York time" in " ".join(mail["text"].split())
        assert "Kiritimati" not in mail["text"]
