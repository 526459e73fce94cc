"""Environment of a deployed function, read once by its composition root.

Handlers read variables only through :func:`require` and :func:`optional`, with literal
names, so that a test can check that template.yaml sets every variable a function reads.
"""

from __future__ import annotations

import os


class MissingSetting(RuntimeError):
    """A variable the template should have set is absent: a deployment bug, not user input."""


def require(name: str) -> str:
    """The value of environment variable ``name``; a clear error when it is missing."""
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(f"environment variable {name} is not set (see template.yaml)")
    return value


def optional(name: str, default: str) -> str:
    """The value of ``name`` or ``default`` when the template leaves it empty."""
    return os.environ.get(name) or default
