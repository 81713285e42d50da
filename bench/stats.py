"""Statistics of the benchmark runner: percentiles, summaries, ratios against a
baseline, targets, and the interleaved order of runs. Pure functions, no I/O."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence

from bench.results import Metric, Summary, Target, Verdict


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), interpolated linearly between the two nearest
    ranks (numpy's default "linear" method); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0.0, min(100.0, p)) / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        nan = math.nan
        return Summary(n=0, median=nan, p90=nan, p99=nan, min=nan, max=nan, mean=nan)
    return Summary(
        n=len(values),
        median=percentile(values, 50),
        p90=percentile(values, 90),
        p99=percentile(values, 99),
        min=min(values),
        max=max(values),
        mean=statistics.fmean(values),
    )


def downsample(values: Sequence[float], keep: int) -> list[float]:
    """At most ``keep`` values that keep the distribution's shape: the sorted values
    at evenly spaced ranks (min and max included). Fewer values stay as they are,
    in their order (which may be the order they were measured in)."""
    if len(values) <= keep:
        return list(values)
    ordered = sorted(values)
    last = len(ordered) - 1
    return [ordered[round(i * last / (keep - 1))] for i in range(keep)]


def significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def ratio(measured: float, baseline: float) -> float:
    """measured / baseline; NaN when the baseline is 0 or either is NaN."""
    if baseline == 0 or math.isnan(baseline) or math.isnan(measured):
        return math.nan
    return measured / baseline


def pair_ratios(measured: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """measured[i] / baseline[i] for runs measured as interleaved pairs."""
    return [ratio(a, b) for a, b in zip(measured, baseline, strict=False)]


def stat_of(metric: Metric, stat: str) -> float:
    """One figure of a metric: ``median``, ``p50``, ``p90``, ``p99``, ``min``,
    ``max``, ``mean`` of what was measured, or ``ratio``: its median over the
    baseline's median."""
    summary = metric.measured.summary
    if stat == "ratio":
        if metric.baseline is None:
            return math.nan
        return ratio(_number(summary.median), _number(metric.baseline.summary.median))
    if stat == "p50":
        return _number(summary.median)
    if stat in ("median", "p90", "p99", "min", "max", "mean"):
        return _number(getattr(summary, stat))
    raise ValueError(f"unknown statistic {stat!r}")


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def evaluate(metric: Metric, target: Target) -> Verdict:
    """Whether the metric meets the target, with the figure that was compared."""
    figure = stat_of(metric, target.stat)
    if math.isnan(figure):
        return Verdict(target=target, figure=figure, met=False)
    if target.op == "<=":
        met = figure <= target.value
    elif target.op == ">=":
        met = figure >= target.value
    else:
        raise ValueError(f"unknown comparison {target.op!r}")
    return Verdict(target=target, figure=figure, met=met)


def interleave(kinds: Sequence[str], rounds: int) -> Iterator[tuple[int, str]]:
    """(round, kind) in the order A B A B ...: every round runs each kind once, in
    the same order, so slow drifts of the machine's load hit all kinds alike."""
    for round_index in range(rounds):
        for kind in kinds:
            yield round_index, kind


def cumulative(times: Sequence[float]) -> tuple[list[float], list[float]]:
    """A step line of events done by each time: (sorted times, 1..n)."""
    ordered = sorted(times)
    return ordered, [float(i + 1) for i in range(len(ordered))]
