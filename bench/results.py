"""What a benchmark run produces, as typed structs that round-trip through JSON
(``docs/bench/results.json``): the report and the plots are rendered from it alone,
so they can be made again without measuring again."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import msgspec

RESULTS_VERSION = 1


class Summary(msgspec.Struct, kw_only=True):
    """Exact statistics of all the samples (computed before any downsampling).
    ``None`` stands for "no value" (no samples), which JSON cannot say with NaN."""

    n: int
    median: float | None
    p90: float | None
    p99: float | None
    min: float | None
    max: float | None
    mean: float | None

    def __post_init__(self) -> None:
        for name in ("median", "p90", "p99", "min", "max", "mean"):
            value = getattr(self, name)
            if value is not None and math.isnan(value):
                setattr(self, name, None)


class Series(msgspec.Struct, kw_only=True):
    label: str
    """What was measured, e.g. ``POST /runs -> job.finished event``."""
    summary: Summary
    samples: list[float]
    """For the plots: every sample, or (``downsampled``) the sorted samples at evenly
    spaced ranks, which keeps the distribution's shape."""
    downsampled: bool = False


class Target(msgspec.Struct, frozen=True):
    stat: str
    """``median``, ``p50``, ``p90``, ``p99``, ``min``, ``max``, ``mean`` of the
    measured samples, or ``ratio``: their median over the baseline's median."""
    op: str
    """``<=`` or ``>=``."""
    value: float

    def describe(self, unit: str = "") -> str:
        name = "median ratio" if self.stat == "ratio" else self.stat
        suffix = "x" if self.stat == "ratio" else (f" {unit}" if unit else "")
        return f"{name} {self.op} {format_number(self.value)}{suffix}"


class Verdict(msgspec.Struct, frozen=True):
    target: Target
    figure: float
    met: bool


class Metric(msgspec.Struct, kw_only=True):
    name: str
    unit: str
    measured: Series
    baseline: Series | None = None
    targets: list[Target] = msgspec.field(default_factory=list)
    higher_is_better: bool = False
    pair_ratios: Summary | None = None
    """measured/baseline of each interleaved pair (A B), when runs were paired."""
    note: str = ""


class Line(msgspec.Struct, kw_only=True):
    label: str
    x: list[float]
    y: list[float]


class Timeline(msgspec.Struct, kw_only=True):
    """A plot of something over time (throughput, completions)."""

    name: str
    """File-name friendly: the plot is ``<benchmark>-<name>.png``."""
    title: str
    x_label: str
    y_label: str
    lines: list[Line]


class BenchmarkResult(msgspec.Struct, kw_only=True):
    name: str
    title: str
    quick: bool
    params: dict[str, Any]
    started_at: str
    """ISO 8601, UTC."""
    seconds: float
    load_before: list[float]
    load_after: list[float]
    metrics: list[Metric] = msgspec.field(default_factory=list)
    timelines: list[Timeline] = msgspec.field(default_factory=list)
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    """Everything else the benchmark measured (breakdowns, checks, profiles)."""
    error: str | None = None
    """Why it stopped before producing its figures."""


class Machine(msgspec.Struct, kw_only=True):
    cpu_count: int
    cpu_model: str
    memory_gib: float
    kernel: str
    docker_version: str
    python: str
    architecture: str


class Results(msgspec.Struct, kw_only=True):
    version: int = RESULTS_VERSION
    machine: Machine
    updated_at: str
    benchmarks: list[BenchmarkResult] = msgspec.field(default_factory=list)

    def put(self, result: BenchmarkResult) -> None:
        """Add ``result``, replacing an earlier result of the same benchmark (a
        benchmark run alone updates its own entry and keeps the others)."""
        self.benchmarks = [b for b in self.benchmarks if b.name != result.name]
        self.benchmarks.append(result)


def format_number(value: float | None) -> str:
    """Figures for the report: three significant digits, thousands separated."""
    if value is None or math.isnan(value):
        return "-"
    magnitude = abs(value)
    if value == int(value) and magnitude < 1000:
        return str(int(value))  # counts, and round figures
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


_NUMBER_LIST = re.compile(rb"\[\s*(-?[0-9][0-9.eE+-]*(?:,\s*-?[0-9][0-9.eE+-]*)*)\s*\]")


def _one_line(match: re.Match[bytes]) -> bytes:
    return b"[" + re.sub(rb",\s+", b",", match[1]) + b"]"


def encode(results: Results) -> bytes:
    """Indented JSON, but each list of numbers (the samples) on one line."""
    builtins = _nan_to_none(msgspec.to_builtins(results))
    text = msgspec.json.format(msgspec.json.encode(builtins), indent=1)
    return _NUMBER_LIST.sub(_one_line, text) + b"\n"


def decode(data: bytes) -> Results:
    return msgspec.json.decode(data, type=Results)


def load(path: Path) -> Results | None:
    if not path.is_file():
        return None
    return decode(path.read_bytes())


def save(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(encode(results))
    temporary.replace(path)
