"""The environment a deployed function runs in: every variable template.yaml may set, read
once per container into one typed model.

Globals give every function ``TABLE_NAME``, ``TIMER_SHARDS`` and ``HELPDESK_CONFIG``; the
rest are set only for the functions that need them. :meth:`Environment.from_os` reads all
of them once; a variable the function was not given is remembered as absent, and reading
that field raises :class:`MissingSetting` naming it, so a template that forgot a variable
fails at the first use with a clear message, never with a ``None`` further on.

Which variables a function reads follows from the composition builders its handler uses
(helpdesk.composition): the local checks read that statically (``helpdesk_local.checks``)
to prove that template.yaml sets every variable a function reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class MissingSetting(RuntimeError):
    """A variable the template should have set is absent or unusable: a deployment bug,
    not user input."""


@dataclass(frozen=True)
class _Absent:
    variable: str


def _variable(name: str) -> Any:
    return field(metadata={"variable": name})


@dataclass(frozen=True, eq=False)
class Environment:
    """The function's settings, typed. Reading a field the template did not set raises
    :class:`MissingSetting`."""

    table_name: str = _variable("TABLE_NAME")
    # Shards of the timer index (helpdesk.timers): the writers and the sweeps must agree.
    timer_shards: int = _variable("TIMER_SHARDS")
    config_path: str = _variable("HELPDESK_CONFIG")
    raw_bucket: str = _variable("RAW_BUCKET")
    event_bus_name: str = _variable("EVENT_BUS_NAME")
    # The SSM parameter holding the key that signs survey links and keys Message-IDs.
    signing_key_parameter: str = _variable("SIGNING_KEY_PARAMETER")
    public_url: str = _variable("PUBLIC_URL")
    # The knowledge bundle (helpdesk.knowledge): saved replies and articles.
    knowledge_path: str = _variable("HELPDESK_KNOWLEDGE")
    # The SSM path below which the channels' secrets are (template ChannelSecretsPath).
    channel_secrets_path: str = _variable("CHANNEL_SECRETS_PATH")
    # The stack's MailDomain and HelpdeskAddress parameters: the senders' IAM grants and
    # SES receiving are built on them, the mail itself on the config's helpdesk.address;
    # :meth:`disagreement` tells when the two were deployed apart.
    mail_domain: str = _variable("MAIL_DOMAIN")
    helpdesk_address: str = _variable("HELPDESK_ADDRESS")

    @classmethod
    def from_os(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """Read every variable once (``os.environ`` unless ``environ`` is given)."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in fields(cls):
            name = setting.metadata["variable"]
            text = source.get(name) or ""
            if not text:
                values[setting.name] = _Absent(name)
            elif setting.name == "timer_shards":
                values[setting.name] = _whole_number(name, text)
            else:
                values[setting.name] = text
        return cls(**values)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each field's variable name (for the checks that read handlers statically)."""
        return {setting.name: setting.metadata["variable"] for setting in fields(cls)}

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if isinstance(value, _Absent):
            raise MissingSetting(
                f"environment variable {value.variable} is not set (see template.yaml)"
            )
        return value

    def given(self, name: str) -> str | None:
        """The setting ``name`` (a field's name) as text, or None when the template did not
        set it: for the settings a function may run without (PUBLIC_URL)."""
        value = object.__getattribute__(self, name)
        return None if isinstance(value, _Absent) else str(value)

    def disagreement(self, address: str) -> str | None:
        """Why the stack's parameters and the config's ``helpdesk.address`` disagree, if
        they do. A desk deployed with MailDomain=support.example.com and the shipped
        config would send from support@support.example, which its grants do not cover:
        every mail would fail into a dead-letter queue (first-user review, B1). A variable
        the function was not given is not compared."""
        problems = []
        given = self.given("helpdesk_address")
        if given is not None and given.lower() != address.lower():
            problems.append(f"HELPDESK_ADDRESS (the HelpdeskAddress parameter) is {given}")
        domain = self.given("mail_domain")
        if domain is not None and domain.lower() != address.rpartition("@")[2].lower():
            problems.append(f"MAIL_DOMAIN (the MailDomain parameter) is {domain}")
        if not problems:
            return None
        return (
            f"{' and '.join(problems)}, but the config's helpdesk.address is {address}: deploy"
            " with parameters that match the config, or change the config and rebuild"
            " (docs/DEPLOY.md, section 2)"
        )

    def __repr__(self) -> str:
        present = [
            setting.metadata["variable"]
            for setting in fields(self)
            if not isinstance(object.__getattribute__(self, setting.name), _Absent)
        ]
        return f"Environment(set: {', '.join(present)})"


def _whole_number(name: str, text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise MissingSetting(f"environment variable {name} must be a whole number >= 1: {text!r}")
    return number
