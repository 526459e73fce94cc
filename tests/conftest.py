"""Shared fixtures: the local stack (moto built from template.yaml) on a fixed clock.

Also what makes the suite fast enough to run on every change (README, "Tests"): each test
that needs a local stack starts its own, and the work of a start that does not depend on
the test is done once per process instead (see :func:`pytest_configure`).
"""

from __future__ import annotations

import functools
import gc
import os
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Fake credentials before anything can create a client: no test may ever reach real AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# Property tests have no deadline: Hypothesis's default (200 ms per example) is a timing
# assertion, and a slow turn on a loaded CI machine is no failure (cost is measured in
# `helpdesk bench`, never timed in a test). Their search stays random: a new example
# that fails is a real bug, kept with @example once fixed.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("helpdesk", deadline=None)
_hypothesis_settings.load_profile("helpdesk")

# Monday 23 November 2026, 08:55 UTC = 09:55 in Berlin: inside office hours.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)

# Allocations between two young-generation collections (CPython's default is 700). A local
# stack allocates a few hundred thousand long-lived objects (botocore's service models,
# moto's backends), and with the default each stack paid for scanning them again and
# again: the collector took about half of a stack's start. Garbage is still collected;
# only less often.
GC_THRESHOLDS = (50_000, 20, 20)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    _share_botocore_data_loader()
    _share_parsed_templates()


def _share_botocore_data_loader() -> None:
    """One botocore data loader for every session of the process.

    Every local stack makes new boto3 sessions (its own, and the functions' default session,
    as a new Lambda container would), and each new session's loader parses the services'
    JSON models and endpoint rules again. The loader only reads files botocore ships and
    caches what it read, so sharing it changes nothing but the time: clients, their event
    hooks and their credentials stay per session.
    """
    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def _share_parsed_templates() -> None:
    """Each :class:`LocalStack` reads template.yaml; the YAML parse (pure Python, for the
    CloudFormation tags) is done once per file version and each stack gets its own copy,
    so that a stack can never see another's changes to the dict."""
    from helpdesk_local import stack as stack_module
    from helpdesk_local.cfn import load_template

    parsed: dict[tuple[str, int, int], bytes] = {}

    def load_template_once(path: Path) -> dict[str, Any]:
        status = path.stat()
        version = (str(path.resolve()), status.st_mtime_ns, status.st_size)
        if version not in parsed:
            parsed[version] = pickle.dumps(load_template(path))
        template: dict[str, Any] = pickle.loads(parsed[version])
        return template

    # The name stack.py imported from cfn, replaced where stack.py looks it up; mypy sees a
    # name the module does not re-export.
    stack_module.load_template = load_template_once  # type: ignore[attr-defined]


@pytest.fixture
def stack() -> Iterator[object]:
    from helpdesk_local.stack import LocalStack

    with LocalStack(start=MONDAY_MORNING) as local:
        yield local
