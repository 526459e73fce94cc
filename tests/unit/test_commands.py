"""Agent commands: what the first lines of an agent's mail do, and what they refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.config import Config, load_config
from helpdesk.errors import InvalidInput
from helpdesk.services.commands import (
    TicketEdit,
    edit_from_commands,
    split_commands,
    valid_assignee,
    valid_tag,
)

CONFIG_PATH = Path(__file__).resolve().parents[2] / "infra" / "helpdesk.yaml"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG_PATH)


def test_commands_on_the_first_lines_are_taken_off_and_the_rest_is_the_reply() -> None:
    text = split_commands("#status pending\n\n#tag late-shipper\nHello Anna,\n#not a command\n")
    assert [(c.name, c.argument) for c in text.commands] == [
        ("status", "pending"),
        ("tag", "late-shipper"),
    ]
    assert text.reply == "Hello Anna,\n#not a command"
    assert text.note is None


def test_a_mail_of_commands_only_has_nothing_to_relay() -> None:
    text = split_commands("#priority urgent\n#assign Wei\n")
    assert len(text.commands) == 2
    assert text.reply == ""


def test_note_makes_the_rest_of_the_mail_an_internal_note_never_a_reply() -> None:
    text = split_commands("#status open\n#note called the shipper\nThey confirm a delay.\n")
    assert [c.name for c in text.commands] == ["status", "note"]
    assert text.reply == ""
    assert text.note == "called the shipper\nThey confirm a delay."


def test_a_hash_followed_by_a_number_is_prose_not_a_command() -> None:
    text = split_commands("#1 priority for us is your order.")
    assert text.commands == ()
    assert text.reply == "#1 priority for us is your order."


def test_every_valid_command_becomes_part_of_one_edit(config: Config) -> None:
    text = split_commands(
        "#status Solved\n#priority HIGH\n#assign wei\n#team Billing\n#tag payment-error\n"
        "#tag late-shipper\n"
    )
    edit, problems = edit_from_commands(text.commands, config)
    assert problems == []
    assert edit == TicketEdit(
        status="solved",
        priority="high",
        assignee="wei@support.example",
        team="billing",
        tags=("payment-error", "late-shipper"),
    )


def test_each_bad_command_is_named_with_the_choices_and_nothing_is_kept(config: Config) -> None:
    text = split_commands(
        "#status closed\n#priority whenever\n#assign Bob\n#team space\n#tag !!\n#frobnicate\n"
    )
    edit, problems = edit_from_commands(text.commands, config)
    assert problems == [
        "#status closed: 'closed' is not a status: use new, open, pending or solved",
        "#priority whenever: 'whenever' is not a priority: use low, normal, high or urgent",
        "#assign Bob: 'Bob' is not an agent: use one of Lena, Wei or Omar",
        "#team space: 'space' is not a team: use general, billing or tier2",
        "#tag !!: '!!' is not a tag: one word of letters, digits and - _ . such as late-shipper",
        "#frobnicate: unknown command; the commands are #status, #priority, #assign, #team,"
        " #tag, #note, #reply",
    ]
    assert edit.is_empty


def test_one_status_given_twice_with_different_values_is_refused(config: Config) -> None:
    _, problems = edit_from_commands(
        split_commands("#status open\n#status solved").commands, config
    )
    assert problems == ["#status solved: #status is given twice, with different values"]


def test_an_agent_is_found_by_address_or_by_name_in_any_case(config: Config) -> None:
    assert valid_assignee("OMAR@support.example", config) == "omar@support.example"
    assert valid_assignee("<lena@support.example>", config) == "lena@support.example"
    assert valid_assignee("lena", config) == "lena@support.example"


def test_a_tag_is_one_lower_case_word() -> None:
    assert valid_tag(" Late-Shipper ") == "late-shipper"
    with pytest.raises(InvalidInput) as refused:
        valid_tag("late shipper")
    assert refused.value.field == "tag"
