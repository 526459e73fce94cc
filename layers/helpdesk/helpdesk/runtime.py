"""What the handlers share at run time: the config loaded once, how a sweep ends, and the
desk's own metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from helpdesk.errors import SweepIncomplete

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from helpdesk.config import Config


@cache
def load_config_once(path: str) -> Config:
    """The ops config at ``path``, validated (a broken file fails the cold start loudly)."""
    from helpdesk.config import load_config

    return load_config(path)


def end_sweep(
    logger: Logger,
    what: str,
    summary: Mapping[str, Any],
    *,
    due: int,
    failed: Sequence[tuple[str, BaseException]],
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Record what a sweep did, then fail the invocation if any due ticket failed.

    Every sweep ends this way: each failure is logged with its traceback and the summary
    with its counts, so the logs say what was done before the error that the alarm and the
    on-failure destination see (:class:`SweepIncomplete`). ``summary`` (counts) is logged
    and returned; ``details`` (the tickets' references) only logged.
    """
    for ref, error in failed:
        # Its timer stays due: Lambda's retry, or the next sweep, tries it again.
        logger.error("ticket not swept", extra={"ticket": ref}, exc_info=error)
    counts = {**summary, "due": due, "failed": len(failed)}
    logger.info(f"{what} done", extra={**counts, **(details or {})})
    if failed:
        raise SweepIncomplete(f"{len(failed)} of {due} due tickets not swept")
    return counts


def count_metric(name: str, value: int = 1) -> None:
    """Add ``value`` to the desk's metric ``name`` (namespace Helpdesk, dimension
    service=helpdesk, the template's alarms and dashboard read them): one CloudWatch
    embedded-metric-format line, flushed at once. powertools is imported on first use, so
    a cold start that counts nothing does not pay for it."""
    from aws_lambda_powertools.metrics import MetricUnit

    _emit(name, MetricUnit.Count, [value])


def measure_metric(name: str, values: Sequence[float]) -> None:
    """Each of ``values`` as a data point of its own of the desk's metric ``name`` (no unit),
    never a sum: CloudWatch computes the dashboard's percentiles from raw data points only,
    and none when a value is negative (GetMetricStatistics, Amazon CloudWatch API
    Reference). One embedded-metric-format line each, as ``count_metric`` writes them (a
    batch of the relay holds at most a few first answers)."""
    from aws_lambda_powertools.metrics import MetricUnit

    _emit(name, MetricUnit.NoUnit, values)


def _emit(name: str, unit: Any, values: Sequence[float]) -> None:
    from aws_lambda_powertools.metrics import single_metric

    for value in values:
        with single_metric(name=name, unit=unit, value=value):
            pass
