"""`make demo` shows a customer's reply reaching the agent (issue 16): the narration of the
bundled day names the relayed mail, its words and the file that came with it."""

from __future__ import annotations

import contextlib
import io

import pytest

from helpdesk_local.demo import run_demo

pytestmark = pytest.mark.slow


def test_the_demo_narrates_annas_answer_reaching_lenas_mailbox_with_her_receipt() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run_demo(fast=True) == 0
    lines = out.getvalue().splitlines()

    [relayed] = [i for i, line in enumerate(lines) if "relayed message to" in line]
    assert "lena@support.example" in lines[relayed]
    assert "anna@example.com wrote: Where is my order?" in lines[relayed]
    assert "“It is order 4711, the receipt is attached. Thank you!”" in lines[relayed + 1]
    assert "status open" in lines[relayed + 2]
    assert "attached: receipt-4711.txt" in lines[relayed + 2]
    # Lena answers that mail and Anna gets the answer.
    assert "agent's answer to anna@example.com" in "\n".join(lines[relayed + 3 : relayed + 6])


def test_the_demo_has_words_for_every_kind_of_mail_the_desk_sends() -> None:
    # A new mail kind (docs/ARCHITECTURE.md, "Add a notice") is narrated by its words here;
    # without them the demo printed the bare kind.
    from helpdesk.mail.compose import MAIL_KINDS
    from helpdesk_local.demo import KIND_WORDS

    assert set(KIND_WORDS) == MAIL_KINDS
