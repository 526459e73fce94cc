"""The example desk's staff as the agent API knows them after their token is checked
(``caller_of``), for the agent API's unit tests."""

from __future__ import annotations

from fakes import CONFIG
from helpdesk.services.agent_api import Caller, caller_of

LENA_EMAIL = "lena@support.example"


def staff(email: str) -> Caller:
    """The caller ``email`` is in the example config (an agent or a lead)."""
    caller = caller_of(email, CONFIG)
    assert caller is not None
    return caller


LENA = staff(LENA_EMAIL)  # general and billing
WEI = staff("wei@support.example")  # general
MARIA = staff("maria@support.example")  # leads general and billing, not an agent
OMAR = staff("omar@support.example")  # tier2, and its lead
