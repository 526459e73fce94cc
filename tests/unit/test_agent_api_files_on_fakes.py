"""An agent downloads a customer's file from the agent API (GET
/agent/tickets/{ref}/files/{number}) on the fakes: every file the desk kept of a ticket in
the caller's teams, the ones no mail carries too (first-user run 14, #3: the relay and the
assignment named files "kept with the ticket", and no agent could open them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from agent_callers import LENA, OMAR

from fakes import CONFIG, MONDAY_MORNING, FakeMailStore, FakeRecords, FakeUnitOfWork, ticket
from helpdesk.errors import NotFound
from helpdesk.model import AttachmentMeta, Message
from helpdesk.services.agent_api import AgentDesk
from helpdesk.services.commands import TicketOutOfScope

RECEIPT = b"%PDF-1.7 receipt of order 1234"
SCRIPT = b"WScript.Echo('hello')"


def attachment(name: str, data: bytes, **changes: object) -> AttachmentMeta:
    meta = {"filename": name, "content_type": "application/octet-stream", "size": len(data)}
    return AttachmentMeta(**(meta | {"key": f"attachments/m1/{name}"} | changes))  # type: ignore[arg-type]


def desk(*attachments: AttachmentMeta, flags: tuple[str, ...] = ()) -> AgentDesk:
    """Anna's ticket of team general, her first mail carrying ``attachments``."""
    uow = FakeUnitOfWork(CONFIG)
    uow.add(ticket())
    uow.conversation["HD-7K3M9Q"] = [
        Message(
            id="m1",
            ticket="HD-7K3M9Q",
            direction="in",
            author="anna@example.com",
            at=MONDAY_MORNING + timedelta(minutes=1),
            text="My receipt.",
            attachments=attachments,
            flags=flags,
        )
    ]
    store = FakeMailStore()
    for meta in attachments:
        if meta.key is not None:
            store.objects[meta.key] = {"receipt.pdf": RECEIPT, "run.js": SCRIPT}.get(
                meta.filename, b"x" * meta.size
            )
    return AgentDesk(uow=uow, repo=FakeRecords(uow), config=CONFIG, store=store)


def test_an_agent_downloads_a_file_of_a_ticket_in_her_team_as_the_ticket_lists_it() -> None:
    agents = desk(attachment("receipt.pdf", RECEIPT, content_type="application/pdf"))
    assert LENA is not None

    [listed] = agents.ticket(LENA, "HD-7K3M9Q")["messages"][0]["attachments"]
    found = agents.download(LENA, "HD-7K3M9Q", listed["download"].rsplit("/", 1)[1])

    assert listed["download"] == "/agent/tickets/HD-7K3M9Q/files/m1-1"
    assert (found.filename, found.content_type, found.data) == (
        "receipt.pdf",
        "application/pdf",
        RECEIPT,
    )


def test_the_files_no_mail_carries_are_hers_to_download_deliberately() -> None:
    # Unauthenticated mail's files and files that run code are held from every mail; the
    # agent fetches them here, knowing what they are (the ticket lists the flags).
    agents = desk(attachment("run.js", SCRIPT), flags=("unauthenticated",))
    assert LENA is not None

    assert agents.download(LENA, "HD-7K3M9Q", "m1-1").data == SCRIPT


def test_another_teams_agent_gets_403_and_nothing_is_read() -> None:
    agents = desk(attachment("receipt.pdf", RECEIPT))
    assert OMAR is not None  # tier2 only
    assert isinstance(agents.store, FakeMailStore)
    agents.store.objects.clear()  # a read would raise NotStored, not TicketOutOfScope

    with pytest.raises(TicketOutOfScope):
        agents.download(OMAR, "HD-7K3M9Q", "m1-1")


def test_the_numbers_count_an_inline_image_the_listing_leaves_out() -> None:
    # Review 20, #10: the listing skips inline images of the HTML, the numbers do not, as
    # the customer's page numbers them.
    logo = attachment("logo.png", b"PNG", inline=True, content_id="logo@x")
    agents = desk(logo, attachment("receipt.pdf", RECEIPT))
    assert LENA is not None

    [listed] = agents.ticket(LENA, "HD-7K3M9Q")["messages"][0]["attachments"]
    found = agents.download(LENA, "HD-7K3M9Q", listed["download"].rsplit("/", 1)[1])

    assert (listed["filename"], listed["download"]) == (
        "receipt.pdf",
        "/agent/tickets/HD-7K3M9Q/files/m1-2",
    )
    assert found.data == RECEIPT


@pytest.mark.parametrize(
    "number",
    # The last three are digits to str.isdigit() that int() refuses (attack 20, F3: a 500,
    # and the errors alarm, for anyone holding a link).
    ["m1-2", "m1-0", "m1-x", "m9-1", "m1", "-1", "", "m1-\u00b2", "m1-\u2460", "m1-" + "9" * 5000],
)
def test_what_is_no_file_of_the_ticket_is_404(number: str) -> None:
    agents = desk(attachment("receipt.pdf", RECEIPT))
    assert LENA is not None

    with pytest.raises(NotFound):
        agents.download(LENA, "HD-7K3M9Q", number)


@pytest.mark.parametrize(
    ("meta", "why"),
    [
        (attachment("virus.exe", b"MZ", key=None, dropped="virus"), "never kept"),
        (attachment("video.mp4", b"", size=9_000_000), "larger than one response carries"),
    ],
)
def test_a_file_the_api_cannot_hand_out_is_listed_without_a_download(
    meta: AttachmentMeta, why: str
) -> None:
    agents = desk(meta)
    assert LENA is not None

    [listed] = agents.ticket(LENA, "HD-7K3M9Q")["messages"][0]["attachments"]

    assert listed["download"] is None, why
    with pytest.raises(NotFound):
        agents.download(LENA, "HD-7K3M9Q", "m1-1")
