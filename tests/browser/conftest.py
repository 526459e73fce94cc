"""What every browser test shares: Debian's Chromium (``/usr/bin/chromium``, which .ci/run
installs) driven through Playwright's Python package, one headless browser per test
process. Without Chromium the tests are skipped, never failed.

One browser for the session, not one per module: a launch (Playwright's driver and a
Chromium) costs seconds of CPU, and each test already opens its own context (its own
cookies, storage, locale and time zone), which is what keeps the tests apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that reaches out on its own (updates, sync, QUIC probes): a test
# talks to the local desk only.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package 'chromium'; .ci/run adds it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
