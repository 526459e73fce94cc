"""What `sam build` shows an operator whose config the layer build refuses
(infra/lambda_build.py): the config's own error, not only an exit status."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lambda_build() -> Any:
    spec = importlib.util.spec_from_file_location(
        "lambda_build", ROOT / "infra" / "lambda_build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_refused_config_shows_the_probes_own_error_with_the_runtimes_interpreter(
    tmp_path: Path,
) -> None:
    build = lambda_build()
    if not build.can_run_here():
        pytest.skip("the runtime's interpreter cannot run on this machine")
    site = tmp_path / "python"
    (site / "helpdesk").mkdir(parents=True)
    (site / "helpdesk" / "helpdesk.yaml").write_text("channels: [{name: survey}]\n")

    # The site holds no packages: the probe fails, as a refused config does, on stderr.
    with pytest.raises(SystemExit) as refused:
        build.validate_config(site, sys.executable)

    message = str(refused.value)
    assert "ModuleNotFoundError" in message  # what the probe printed
    assert "infra/helpdesk.yaml is refused" in message
