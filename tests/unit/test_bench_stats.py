"""The benchmark runner's statistics: percentiles, summaries, ratios, targets, the
interleaved order, downsampling. Pure functions on made-up numbers; nothing is timed."""

from __future__ import annotations

import math

import pytest

from bench import stats
from bench.framework import Benchmark, Outcome, Param, metric
from bench.results import Summary, Target


def test_percentiles_interpolate_between_ranks():
    values = [4.0, 1.0, 3.0, 2.0, 5.0]
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 50) == 3.0
    assert stats.percentile(values, 100) == 5.0
    assert stats.percentile(values, 25) == 2.0
    assert stats.percentile([1.0, 2.0], 50) == 1.5
    assert stats.percentile(list(range(101)), 99) == pytest.approx(99.0)
    assert math.isnan(stats.percentile([], 50))


def test_summary_of_samples_and_of_none():
    summary = stats.summarize([10.0, 30.0, 20.0])
    assert (summary.n, summary.median, summary.min, summary.max) == (3, 20.0, 10.0, 30.0)
    assert summary.mean == pytest.approx(20.0)
    empty = stats.summarize([])
    assert empty.n == 0
    assert empty.median is None and empty.p99 is None  # no NaN: JSON could not hold it


def test_downsampling_keeps_the_extremes_and_the_shape():
    values = [float(v) for v in range(10_000)]
    kept = stats.downsample(values, 101)
    assert len(kept) == 101
    assert kept[0] == 0.0 and kept[-1] == 9999.0
    assert stats.percentile(kept, 50) == pytest.approx(stats.percentile(values, 50), abs=60)
    assert stats.downsample([3.0, 1.0, 2.0], 10) == [3.0, 1.0, 2.0]  # small: untouched, in order


def test_significant_digits():
    assert stats.significant(123456.0, 4) == 123500.0
    assert stats.significant(2.345678, 4) == 2.346
    assert stats.significant(0.00123456, 2) == 0.0012
    assert stats.significant(0.0, 4) == 0.0
    assert stats.significant(-98.76, 2) == -99.0


def test_ratio_and_pair_ratios():
    assert stats.ratio(110.0, 100.0) == pytest.approx(1.1)
    assert math.isnan(stats.ratio(1.0, 0.0))
    assert stats.pair_ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]


def test_a_metric_summarises_its_pairs_and_keeps_its_baseline():
    m = metric(
        "run",
        "ms",
        [110.0, 120.0, 130.0],
        label="scripter",
        baseline=[100.0, 100.0, 100.0],
        baseline_label="docker run --rm",
        paired=True,
    )
    assert m.pair_ratios is not None
    assert (m.pair_ratios.min, m.pair_ratios.max) == pytest.approx((1.1, 1.3))
    assert m.baseline is not None and m.baseline.label == "docker run --rm"
    assert stats.stat_of(m, "ratio") == pytest.approx(1.2)
    assert stats.stat_of(m, "p50") == 120.0


@pytest.mark.parametrize(
    ("target", "met", "figure"),
    [
        (Target(stat="ratio", op="<=", value=1.05), False, 1.2),
        (Target(stat="ratio", op="<=", value=1.25), True, 1.2),
        (Target(stat="p99", op="<=", value=200), True, None),
        (Target(stat="median", op=">=", value=121), False, 120.0),
        (Target(stat="max", op="<=", value=130), True, 130.0),
    ],
)
def test_targets_are_met_or_missed_with_the_figure(target, met, figure):
    m = metric("run", "ms", [110.0, 120.0, 130.0], label="a", baseline=[100.0] * 3)
    verdict = stats.evaluate(m, target)
    assert verdict.met is met
    if figure is not None:
        assert verdict.figure == pytest.approx(figure)


def test_a_target_without_its_figure_is_missed():
    m = metric("run", "ms", [1.0], label="a")  # no baseline: no ratio
    verdict = stats.evaluate(m, Target(stat="ratio", op="<=", value=2))
    assert not verdict.met and math.isnan(verdict.figure)
    with pytest.raises(ValueError, match="unknown statistic"):
        stats.stat_of(m, "p42")


def test_runs_interleave_a_b_a_b():
    order = list(stats.interleave(("scripter", "docker"), 3))
    assert [kind for _, kind in order] == ["scripter", "docker"] * 3
    assert [r for r, _ in order] == [0, 0, 1, 1, 2, 2]


def test_cumulative_counts_events_in_time_order():
    assert stats.cumulative([3.0, 1.0, 2.0]) == ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])


def test_sizes_are_full_quick_or_overridden():
    async def run(_ctx):
        return Outcome()

    bench = Benchmark(
        name="b",
        title="B",
        params=(Param("runs", 20, 4, "pairs"), Param("rate", 50.0, 10.0, "lines/s")),
        run=run,
    )
    assert bench.sizes(False, {}) == {"runs": 20, "rate": 50.0}
    assert bench.sizes(True, {}) == {"runs": 4, "rate": 10.0}
    assert bench.sizes(True, {"runs": 7, "rate": None, "other": 1}) == {"runs": 7, "rate": 10.0}
    assert Param("warmup_runs", 2, 1, "").flag == "--warmup-runs"


def test_summary_nan_becomes_none():
    summary = Summary(n=1, median=math.nan, p90=1.0, p99=1.0, min=1.0, max=1.0, mean=float("nan"))
    assert summary.median is None and summary.mean is None and summary.p90 == 1.0


def test_visible_times_come_from_the_poll_that_first_counted_each_firing():
    from bench.scheduling import visible_ms

    # Polls at -0.5 s (none yet), 0.05 s (3 committed), 0.06 s (same), 0.2 s (all 5).
    progress = [(-0.5, 0), (0.05, 3), (0.06, 3), (0.2, 5)]
    assert visible_ms(progress) == [50.0, 50.0, 50.0, 200.0, 200.0]
    assert visible_ms([]) == []
