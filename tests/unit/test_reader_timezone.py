"""People read a ticket's times in their own zone: an agent's configured one, else the
office's; a 24x7 UTC calendar is nobody's day, so its tickets are shown in the desk's zone."""

from __future__ import annotations

from helpdesk.config import Config, default_config_path, load_config
from helpdesk.notices import audience


def a_desk_where_wei_sits_in_shanghai() -> Config:
    config = load_config(default_config_path())
    agents = [
        agent.model_copy(update={"timezone": "Asia/Shanghai"})
        if agent.email == "wei@support.example"
        else agent
        for agent in config.agents
    ]
    return config.model_copy(update={"agents": agents})


def test_an_agent_with_a_zone_reads_the_tickets_times_in_it() -> None:
    config = a_desk_where_wei_sits_in_shanghai()

    assert audience.reader_timezone("wei@support.example", "standard", config) == "Asia/Shanghai"


def test_an_agent_without_a_zone_reads_them_in_the_offices_zone() -> None:
    config = a_desk_where_wei_sits_in_shanghai()

    assert audience.reader_timezone("lena@support.example", "standard", config) == "Europe/Berlin"


def test_a_ticket_under_a_24x7_utc_policy_is_shown_in_the_desks_own_zone() -> None:
    config = load_config(default_config_path())

    assert config.calendar(config.policy("vip").calendar).timezone == "UTC"
    assert audience.ticket_timezone("vip", config) == "Europe/Berlin"
    assert audience.reader_timezone("omar@support.example", "vip", config) == "Europe/Berlin"


def test_a_ticket_whose_policy_is_gone_is_shown_in_the_desks_zone() -> None:
    config = load_config(default_config_path())

    assert audience.ticket_timezone("retired", config) == "Europe/Berlin"
