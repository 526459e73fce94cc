"""The services' unit tests run on the fakes alone: nothing they import reaches for AWS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_fakes_and_every_service_they_drive_import_neither_moto_nor_boto3() -> None:
    program = (
        "import sys\n"
        "import fakes\n"
        "import helpdesk.services.commands, helpdesk.services.email_intake\n"
        "import helpdesk.services.form_intake, helpdesk.services.routing\n"
        "import helpdesk.services.sla_sweep, helpdesk.services.surveys\n"
        "import helpdesk.services.reports, helpdesk.services.stats\n"
        "aws = ('moto', 'boto3', 'botocore')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in aws))\n"
    )
    path = [str(ROOT / "layers" / "helpdesk"), str(ROOT / "infra" / "local"), str(ROOT / "tests")]

    found = subprocess.run(
        [sys.executable, "-c", program],
        env={"PYTHONPATH": ":".join(path)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert found.stdout.strip() == "[]"
