"""PNG plots of results.json (matplotlib, the ``bench`` extra): per benchmark, the
distribution of every metric against its baseline (empirical CDFs), and its
timelines (throughput over time)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench.results import BenchmarkResult, Metric, Results, Timeline

MIN_SAMPLES_FOR_DISTRIBUTION = 5


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _ticker() -> Any:
    from matplotlib import ticker

    return ticker


def _ecdf(values: list[float]) -> tuple[list[float], list[float]]:
    ordered = sorted(values)
    n = len(ordered)
    return ordered, [(i + 1) / n for i in range(n)]


def distribution_metrics(result: BenchmarkResult) -> list[Metric]:
    return [m for m in result.metrics if m.measured.summary.n >= MIN_SAMPLES_FOR_DISTRIBUTION]


def plot_distributions(result: BenchmarkResult, path: Path) -> bool:
    """One panel per metric: the CDF of what was measured and of its baseline, the
    targets as vertical lines. False (no file) when no metric has enough samples."""
    metrics = distribution_metrics(result)
    if not metrics:
        return False
    plt, ticker = _pyplot(), _ticker()
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    drew_target = False
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows), squeeze=False)
    for index, metric in enumerate(metrics):
        ax = axes[index // columns][index % columns]
        everything: list[float] = []
        for series, style in ((metric.measured, "-"), (metric.baseline, "--")):
            if series is None or not series.samples:
                continue
            x, y = _ecdf(series.samples)
            ax.step(x, y, style, where="post", label=f"{series.label} (n={series.summary.n})")
            everything += series.samples
        for target in metric.targets:
            if target.stat in ("p50", "median", "p90", "p99", "max") and metric.unit:
                ax.axvline(target.value, color="red", linewidth=0.8, linestyle=":")
                drew_target = True
        positive = [v for v in everything if v > 0]
        if positive and max(positive) / min(positive) > 30:
            ax.set_xscale("log")
            # Ticks at 1, 2, 5 x 10^n, written as plain numbers.
            plain = ticker.FuncFormatter(lambda value, _position: f"{value:g}")
            ax.xaxis.set_major_formatter(plain)
            ax.xaxis.set_minor_locator(ticker.LogLocator(subs=(2.0, 5.0)))
            ax.xaxis.set_minor_formatter(plain)
            ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_title(metric.name, fontsize=9)
        ax.set_xlabel(metric.unit or "value")
        ax.set_ylabel("fraction <= x")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for index in range(len(metrics), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    legend = " (dotted red: target)" if drew_target else ""
    figure.suptitle(f"{result.title}: distributions{legend}", fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True


def plot_timeline(result: BenchmarkResult, timeline: Timeline, path: Path) -> bool:
    if not any(line.x for line in timeline.lines):
        return False
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(8, 4))
    for line in timeline.lines:
        marker = "." if len(line.x) <= 100 else None  # few points: show each
        ax.plot(line.x, line.y, label=line.label, linewidth=1.2, marker=marker)
    ax.set_title(f"{result.title}: {timeline.title}", fontsize=10)
    ax.set_xlabel(timeline.x_label)
    ax.set_ylabel(timeline.y_label)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True


def render_plots(results: Results, assets_dir: Path) -> dict[str, list[str]]:
    """Every plot of every benchmark; the file names (relative to ``assets_dir``) by
    benchmark. Stale plots of a benchmark are removed first."""
    made: dict[str, list[str]] = {}
    for result in results.benchmarks:
        for stale in assets_dir.glob(f"{result.name}-*.png"):
            stale.unlink()
        names: list[str] = []
        name = f"{result.name}-distributions.png"
        if plot_distributions(result, assets_dir / name):
            names.append(name)
        for timeline in result.timelines:
            name = f"{result.name}-{timeline.name}.png"
            if plot_timeline(result, timeline, assets_dir / name):
                names.append(name)
        made[result.name] = names
    return made
