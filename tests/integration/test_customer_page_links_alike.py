"""Asking for fresh links answers alike for a known and an unknown address, in what it says
AND in the work it does before answering: a request that mailed a known address inside
the request took 91 ms against 29 ms for a stranger's address (attack A18-7), so timing
told who is a customer. The mail now goes out after the answer, from the bus.

(tests/scenarios/portal_other_tickets.yaml: anna@example.com has two tickets.)"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from customer_page_support import LINK, ask_for_links, played_fixture, state

from helpdesk_local.bench import logged_invocations, metered

pytestmark = pytest.mark.slow

others = played_fixture("portal_other_tickets.yaml")


def requests_of(by_function: Counter[str], function: str) -> Counter[str]:
    """The AWS requests ``function`` made (``service:Operation`` -> how many)."""
    prefix = function + " "
    made = {key[len(prefix) :]: n for key, n in by_function.items() if key.startswith(prefix)}
    return Counter(made)


def test_the_page_does_the_same_aws_work_for_a_known_and_an_unknown_address(others: Any) -> None:
    stack, _ = others
    page_function = next(route.function for route in stack.routes if route.path == "/ticket")
    before = len(state(stack)["outbox"])
    with metered(stack, detailed=True) as (meter, _), logged_invocations(stack, meter):
        # A first request starts the function afresh (the meter's clients): its cold start
        # (the signing key from SSM) is the same for any address, and not what is compared.
        ask_for_links(stack, "someone@example.org", "203.0.113.49")
        meter.reset()
        known = ask_for_links(stack, "anna@example.com", "203.0.113.50")
        known_work = requests_of(meter.by_function, page_function)
        meter.reset()
        unknown = ask_for_links(stack, "nobody@example.com", "203.0.113.51")
        unknown_work = requests_of(meter.by_function, page_function)

    assert known.status == unknown.status == 200
    assert known_work == unknown_work
    assert not any(call.startswith("ses:") for call in known_work)
    # ...and the known address still gets its links, once, after the answer.
    sent = [m for m in state(stack)["outbox"][before:] if m["kind"] == "links"]
    assert [m["to"] for m in sent] == [["anna@example.com"]]
    assert len(LINK.findall(sent[0]["text"])) == 2
