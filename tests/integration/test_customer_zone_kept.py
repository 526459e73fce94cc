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


def test_a_strangers_form_gives_no_zone_to_a_customer_who_only_wrote_by_mail() -> None:
    state = played("customer_zone_not_set_by_a_stranger.yaml")

    acknowledgements = [m for m in state["outbox"] if m["kind"] == "acknowledgement"]
    assert len(acknowledgements) == 3
    first, strangers, second = (" ".join(m["text"].split()) for m in acknowledgements)
    # Her mails carry +01:00: each is answered in it, before and after the stranger's form.
    assert "GMT+01:00" in first and "GMT+01:00" in second
    assert "Kiritimati" not in first + second
    # The stranger's own ticket is answered in the zone that form gave, and only it.
    assert "Kiritimati" in strangers
