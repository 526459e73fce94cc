"""Shared fixtures: the local stack (moto built from template.yaml) on a fixed clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Fake credentials before anything can create a client: no test may ever reach real AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# Monday 23 November 2026, 08:55 UTC = 09:55 in Berlin: inside office hours.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


@pytest.fixture
def stack() -> Iterator[object]:
    from helpdesk_local.stack import LocalStack

    with LocalStack(start=MONDAY_MORNING) as local:
        yield local
