"""`helpdesk report --table NAME [--region REGION]`: the figures of a deployed stack's table,
asked in the stack's region, and one line (never a traceback) when the region is missing or
AWS refuses (docs/DEPLOY.md, section 11: the restore drill reads the report of both tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.aws import clients
from helpdesk_local.cli import main
from helpdesk_local.stack import REGION, LocalStack

ONE_DAY = Path(__file__).resolve().parents[1] / "scenarios" / "report_one_day.yaml"


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An operator's shell with no AWS region anywhere."""
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.mark.usefixtures("no_region")
def test_reading_a_table_without_a_region_says_what_is_missing_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", "--table", "helpdesk-DomainTable-1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: no AWS region: give --region REGION or set AWS_REGION"
        " (the region the table helpdesk-DomainTable-1 is in)\n"
    )


def test_the_report_of_a_table_is_read_in_the_region_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with LocalStack() as stack:
        table = stack.resolver.ref("DomainTable") if stack.resolver else ""
        # Another region in the shell: --region wins, as for redrive and backfill-backlog.
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        clients.reset()
        assert main(["report", "--table", table, "--region", REGION]) == 0
        shown = capsys.readouterr().out
        assert shown.startswith("Example Support: daily report for ")
        assert "\nThe whole desk.\n" in shown

        clients.reset()
        assert main(["report", "--table", table, "--region", "eu-west-1"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
        assert f"(table {table} in eu-west-1)" in captured.err


@pytest.mark.parametrize("days", ["0", "-3", "3661", "1000000"])
def test_a_report_of_no_days_or_past_ten_years_is_refused_naming_the_flag(
    days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # First-user run 14, #5: --days 0 printed a report whose period ran backwards, exit 0.
    with pytest.raises(SystemExit) as refused:
        main(["report", "--scenario", str(ONE_DAY), "--days", days])

    assert refused.value.code == 2
    refusal = f"argument --days: {days} is not a whole number of days from 1 to 3660"
    assert refusal in capsys.readouterr().err
