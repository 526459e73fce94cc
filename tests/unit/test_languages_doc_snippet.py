"""docs/LANGUAGES.md, "See it": the snippet a translator runs to see a new language's
acknowledgement renders, here for English (newuser 12, #5: it had failed on the untouched
English folder once the acknowledgement named the suggested articles)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_see_it_snippet_of_the_languages_guide_prints_the_acknowledgement() -> None:
    guide = (REPO_ROOT / "docs" / "LANGUAGES.md").read_text()
    section = guide[guide.index("## 5. See it") :]
    [code] = re.findall(r"python -c '(.*?)'\n", section, flags=re.DOTALL)

    shown = subprocess.run(
        [sys.executable, "-c", code.replace('"de"', '"en"')],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )

    assert shown.returncode == 0, shown.stderr
    assert "HD-7K3M9Q" in shown.stdout and "Drucker" in shown.stdout
