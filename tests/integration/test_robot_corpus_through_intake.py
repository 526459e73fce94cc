"""Real robot mail delivered as SES delivers it gets no answer from anybody: one mail per
sending software of tests/data/robots (bounces, reports, vacation replies, list notices)
through the pipeline (S3 -> queue -> email_intake -> events -> acknowledge, route).

Each ends as a ticket kept for review with a ``suppressed`` entry, and the outbox stays
empty: no acknowledgement to the robot, no assignment mail to an agent. The real persons'
mails of the corpus get exactly one acknowledgement.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

ROBOTS = Path(__file__).resolve().parents[1] / "data" / "robots"


def _one_per_sender_software() -> list[str]:
    """The first file of each family ("lhost-postfix", "rhost-google", "arf", ...)."""
    chosen: dict[str, str] = {}
    for path in sorted((ROBOTS / "sisimai").glob("*.eml")):
        chosen.setdefault(re.sub(r"-\d+$", "", path.stem), path.name)
    return sorted(chosen.values())


def state_after_delivering(desk: LocalStack, path: Path) -> dict[str, Any]:
    """The desk's state once the mail in ``path`` has gone through intake and its effects."""
    desk.deliver_email(path.read_bytes())
    desk.drain()
    return build_state(desk)


def test_the_pipeline_sample_covers_every_sending_software() -> None:
    assert len(_one_per_sender_software()) >= 75


@pytest.mark.parametrize("name", _one_per_sender_software())
def test_real_robot_mail_becomes_a_suppressed_ticket_and_nobody_is_answered(
    desk: LocalStack, name: str
) -> None:
    state = state_after_delivering(desk, ROBOTS / "sisimai" / name)

    assert state["dead_letters"] == []
    assert state["outbox"] == []
    [ticket] = state["tickets"]
    assert {"bounce", "auto_reply"} & set(ticket["flags"]) or "unparsed" in ticket["flags"]
    reasons = {entry["reason"] for entry in state["suppressed"]}
    assert reasons & {"bounce", "auto_reply", "list", "no_sender", "unparsed"}


@pytest.mark.parametrize(
    "path",
    sorted([*(ROBOTS / "persons").glob("*.eml"), *(ROBOTS / "customers").glob("*.eml")]),
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_a_real_person_whose_mail_mentions_delivery_is_acknowledged(
    desk: LocalStack, path: Path
) -> None:
    state = state_after_delivering(desk, path)

    [ticket] = state["tickets"]
    acknowledgements = [mail for mail in state["outbox"] if mail["kind"] == "acknowledgement"]
    assert [mail["to"] for mail in acknowledgements] == [[ticket["contact"]["email"]]]
    assert state["suppressed"] == []
    assert not {"bounce", "auto_reply"} & set(ticket["flags"])
