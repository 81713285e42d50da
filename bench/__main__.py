"""``python -m bench``: every benchmark of issue 10 against its baseline, then
docs/benchmarks.md, docs/bench/*.png and docs/bench/results.json.

    python -m bench                       # the whole set at full size (about 7 minutes)
    python -m bench --quick               # a small smoke of every benchmark
    python -m bench job_overhead --runs 20
    python -m bench --render              # the report again from results.json
    python -m bench --list                # benchmarks, their sizes and flags

A benchmark run alone replaces its own entry in results.json and keeps the others.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import api_jobs, job_overhead, job_throughput, live_benches, scheduling
from bench.framework import Benchmark, Context
from bench.live_support import REPO, exit_cleanly_on_sigterm
from bench.machine import load_average, this_machine
from bench.results import BenchmarkResult, Results, load, save
from bench.services import STACKS

BENCHMARKS: tuple[Benchmark, ...] = (
    job_overhead.BENCHMARK,
    job_throughput.BENCHMARK,
    *live_benches.BENCHMARKS,
    scheduling.BENCHMARK,
    api_jobs.BENCHMARK,
)
BY_NAME = {b.name: b for b in BENCHMARKS}
DOCS = REPO / "docs"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="benchmarks: " + ", ".join(BY_NAME),
    )
    parser.add_argument("benchmarks", nargs="*", metavar="BENCHMARK", help="default: all")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--stack",
        choices=STACKS,
        default="mariadb",
        help="mariadb: MariaDB and RabbitMQ (default); sqlite: SQLite and the in-process bus",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DOCS,
        help="folder of benchmarks.md and bench/ (default: docs/ of this checkout)",
    )
    parser.add_argument("--render", action="store_true", help="only render results.json again")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results first")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy records the server processes (slower)"
    )
    parser.add_argument("--list", action="store_true", help="list benchmarks and sizes")
    sizes = parser.add_argument_group("sizes (each applies to the benchmark that has it)")
    for benchmark in BENCHMARKS:
        for param in benchmark.params:
            sizes.add_argument(
                param.flag,
                dest=param.name,
                type=type(param.default),
                default=None,
                help=f"{benchmark.name}: {param.help} (default {param.default},"
                f" --quick {param.quick})",
            )
    return parser


def describe() -> str:
    lines = []
    for benchmark in BENCHMARKS:
        lines.append(f"{benchmark.name}: {benchmark.title}")
        for p in benchmark.params:
            lines.append(f"    {p.flag} {p.default} (quick: {p.quick})  {p.help}")
    return "\n".join(lines)


def render(results: Results, out: Path) -> Path:
    from bench.plots import render_plots
    from bench.report import render as render_report
    from bench.report import update_report

    assets, report = out / "bench", out / "benchmarks.md"
    order = {name: index for index, name in enumerate(BY_NAME)}
    results.benchmarks.sort(key=lambda b: order.get(b.name, len(order)))
    try:
        plots = render_plots(results, assets)
    except ImportError as exc:  # the bench extra is not installed
        print(f"no plots ({exc}): pip install -e '.[bench]'", file=sys.stderr)
        plots = {}
    update_report(report, render_report(results, report, assets, plots))
    return report


def run_one(benchmark: Benchmark, args: argparse.Namespace) -> BenchmarkResult:
    overrides = {p.name: getattr(args, p.name) for p in benchmark.params}
    params = benchmark.sizes(args.quick, overrides)
    ctx = Context(
        name=benchmark.name,
        params=params,
        quick=args.quick,
        stack=args.stack,
        profile_dir=(args.out / "bench" / "profiles") if args.profile else None,
    )
    ctx.log(f"start ({', '.join(f'{k}={v}' for k, v in params.items())})")
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = load_average()
    wall = time.monotonic()
    error = None
    details: dict[str, Any] = {}
    try:
        outcome = asyncio.run(benchmark.run(ctx))
        metrics, timelines, details = outcome.metrics, outcome.timelines, outcome.details
    except Exception:
        error = traceback.format_exc()
        ctx.log(f"failed:\n{error}")
        metrics, timelines = [], []
    finally:
        profiles = ctx.stop_watching()
    if profiles:
        details["profiles"] = profiles
    details.setdefault("description", benchmark.description)
    if args.stack != "mariadb":
        details.setdefault("notes", []).append(f"Stack: {args.stack}.")
    seconds = time.monotonic() - wall
    ctx.log(f"done in {seconds:.0f} s")
    return BenchmarkResult(
        name=benchmark.name,
        title=benchmark.title,
        quick=args.quick,
        params={**params, "stack": args.stack},
        started_at=started_at,
        seconds=round(seconds, 1),
        load_before=load_before,
        load_after=load_average(),
        metrics=metrics,
        timelines=timelines,
        details=details,
        error=error,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        print(describe())
        return 0
    unknown = [name for name in args.benchmarks if name not in BY_NAME]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
        return 2
    results_path = args.out / "bench" / "results.json"
    if args.render:
        stored = load(results_path)
        if stored is None:
            print(f"no results at {results_path}")
            return 1
        print(f"wrote {render(stored, args.out)}")
        return 0
    exit_cleanly_on_sigterm()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    results = (None if args.fresh else load(results_path)) or Results(
        machine=this_machine(), updated_at=""
    )
    results.machine = this_machine()
    selected = [BY_NAME[name] for name in args.benchmarks] or list(BENCHMARKS)
    failed = False
    for benchmark in selected:
        result = run_one(benchmark, args)
        failed = failed or result.error is not None
        results.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        results.put(result)
        save(results, results_path)  # a later failure keeps what was measured
    report = render(results, args.out)
    print(f"wrote {report}, {results_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
