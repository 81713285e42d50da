"""What every benchmark module provides to the runner (``python -m bench``): its
name, its size parameters (a full default and a ``--quick`` one), and an async
``run(context)`` that measures and returns metrics, timelines and details."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import stats
from bench.results import Line, Metric, Series, Summary, Target, Timeline

SAMPLES_KEPT = 1000
"""Samples kept per series in results.json (the summaries use all of them)."""
DIGITS = 4
"""Significant digits of kept samples and plotted points (the plots need no more)."""


@dataclass(frozen=True)
class Param:
    name: str
    """Also the command-line flag: ``--<name with - for _>``."""
    default: int | float | str
    quick: int | float | str
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass
class Context:
    """What a benchmark gets: its sizes, the stack to run on, and a few services of
    the runner (progress messages, profiling of the processes it starts)."""

    name: str
    params: dict[str, Any]
    quick: bool = False
    stack: str = "mariadb"
    """``mariadb``: MariaDB and RabbitMQ (the scaled-out deployment); ``sqlite``:
    SQLite and the in-process bus (``scripter serve`` alone)."""
    profile_dir: Path | None = None
    """Set with ``--profile``: py-spy records every process passed to ``watch``."""
    watchers: list[Any] = field(default_factory=list)

    def log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} [{self.name}] {message}", file=sys.stderr, flush=True)

    def watch(self, pid: int, label: str) -> None:
        """Profile the process ``pid`` from now on, if profiling was asked for."""
        if self.profile_dir is None:
            return
        from bench.profiling import PySpy

        self.watchers.append(PySpy.start(pid, self.profile_dir / f"{self.name}-{label}.txt"))

    def stop_watching(self) -> list[dict[str, Any]]:
        """Stop every profiler; a summary of each profile."""
        summaries = [watcher.stop() for watcher in self.watchers]
        self.watchers.clear()
        return summaries


@dataclass
class Outcome:
    metrics: list[Metric] = field(default_factory=list)
    timelines: list[Timeline] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    params: tuple[Param, ...]
    run: Callable[[Context], Coroutine[Any, Any, Outcome]]
    description: str = ""
    """One paragraph for the report: what is measured against what."""

    def sizes(self, quick: bool, overrides: dict[str, Any]) -> dict[str, Any]:
        values = {p.name: (p.quick if quick else p.default) for p in self.params}
        values.update({k: v for k, v in overrides.items() if k in values and v is not None})
        return values


def series(label: str, samples: Sequence[float], keep: int = SAMPLES_KEPT) -> Series:
    kept = stats.downsample(samples, keep)
    return Series(
        label=label,
        summary=stats.summarize(samples),
        samples=[stats.significant(v, DIGITS) for v in kept],
        downsampled=len(kept) < len(samples),
    )


def metric(
    name: str,
    unit: str,
    samples: Sequence[float],
    *,
    label: str,
    baseline: Sequence[float] | None = None,
    baseline_label: str = "",
    targets: Sequence[Target] = (),
    higher_is_better: bool = False,
    paired: bool = False,
    note: str = "",
) -> Metric:
    """A metric from raw samples; ``paired``: sample i and baseline i were measured
    as one interleaved pair, so their ratios are summarised too."""
    pairs: Summary | None = None
    if paired and baseline is not None:
        pairs = stats.summarize(stats.pair_ratios(samples, baseline))
    return Metric(
        name=name,
        unit=unit,
        measured=series(label, samples),
        baseline=None if baseline is None else series(baseline_label, baseline),
        targets=list(targets),
        higher_is_better=higher_is_better,
        pair_ratios=pairs,
        note=note,
    )


def timeline(
    name: str, title: str, x_label: str, y_label: str, lines: dict[str, tuple[list[float], ...]]
) -> Timeline:
    return Timeline(
        name=name,
        title=title,
        x_label=x_label,
        y_label=y_label,
        lines=[
            Line(
                label=label,
                x=[stats.significant(v, DIGITS) for v in xy[0]],
                y=[stats.significant(v, DIGITS) for v in xy[1]],
            )
            for label, xy in lines.items()
        ],
    )


def at_most(target: float, stat: str = "p99") -> Target:
    return Target(stat=stat, op="<=", value=target)


def at_least(target: float, stat: str = "median") -> Target:
    return Target(stat=stat, op=">=", value=target)
