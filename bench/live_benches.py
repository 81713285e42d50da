"""The live-log benchmarks of issue 6 (``bench.log_latency``, ``bench.log_throughput``,
``bench.sse_fanout``, still runnable alone) through the runner: same measurements,
results as metrics against the issue's targets."""

from __future__ import annotations

from typing import Any

from bench import log_latency, log_throughput, sse_fanout
from bench.framework import Benchmark, Context, Outcome, Param, at_least, at_most, metric, timeline
from bench.live_support import BASE_IMAGE
from bench.services import require, stack_env

# --- log latency ----------------------------------------------------------------------

LATENCY_PARAMS = (
    Param("lines", 1000, 100, "lines the job prints"),
    Param("rate", 50.0, 50.0, "lines per second"),
)


async def run_latency(ctx: Context) -> Outcome:
    require(ctx.stack, docker_image=BASE_IMAGE)
    samples: dict[str, list[int]] = {}
    with stack_env(ctx.stack) as env:
        result = await log_latency.measure(
            int(ctx.params["lines"]), float(ctx.params["rate"]), env=env, samples=samples
        )
    return Outcome(
        metrics=[
            metric(
                "print in a container -> SSE client",
                "ms",
                [ns / 1e6 for ns in samples["sse"]],
                label="SSE /api/jobs/{id}/log/stream",
                baseline=[ns / 1e6 for ns in samples["docker_logs"]],
                baseline_label="docker logs -f",
                targets=[at_most(10, "p50"), at_most(50, "p99")],
            )
        ],
        details={"raw": _without(result, "machine")},
    )


# --- log throughput -------------------------------------------------------------------

THROUGHPUT_PARAMS = (
    Param("megabytes", 1024, 64, "MiB the job writes"),
    Param("transfers", 2, 1, "rounds of the finished-log transfers (SSE, GET, SSE counted)"),
)


async def run_throughput(ctx: Context) -> Outcome:
    require(ctx.stack, docker_image=BASE_IMAGE)
    with stack_env(ctx.stack) as env:
        result = await log_throughput.measure(
            int(ctx.params["megabytes"]), int(ctx.params["transfers"]), env=env
        )
    finished: list[dict[str, Any]] = result["finished"]
    live: dict[str, Any] = result["live"]

    def of(kind: str, key: str) -> list[float]:
        return [float(t[key]) for t in finished if t["kind"] == kind]

    checked = all(t["every_byte_in_order"] in (True, None) for t in finished)
    notes = [
        f"Live, while the job wrote (writer {live['writer_mb_per_s']} MB/s): the client got"
        f" {live['client_mb_per_s']} MB/s, every byte in order: {live['every_byte_in_order']},"
        f" server RSS +{live['rss_growth_mb']} MB.",
        f"Every byte in order in every checked transfer: {checked}. SSE counted without"
        f" parsing: {', '.join(str(v) for v in of('sse, received without parsing', 'mb_per_s'))}"
        " MB/s.",
    ]
    lines = {"live SSE": _xy(live["progress"])}
    for index, transfer in enumerate(finished):
        if transfer["kind"] in ("sse", "get"):
            lines[f"{transfer['kind']} #{index // 3 + 1}"] = _xy(transfer["progress"])
    return Outcome(
        metrics=[
            metric(
                f"{ctx.params['megabytes']} MiB log over SSE",
                "MB/s",
                of("sse", "mb_per_s"),
                label="SSE, every byte checked",
                baseline=of("get", "mb_per_s"),
                baseline_label="plain GET /log",
                targets=[at_least(200)],
                higher_is_better=True,
                paired=True,
            ),
            metric(
                "server RSS growth during a transfer",
                "MB",
                [*of("sse", "rss_growth_mb"), float(live["rss_growth_mb"])],
                label="SSE (finished and live)",
                baseline=of("get", "rss_growth_mb"),
                baseline_label="plain GET /log",
                targets=[at_most(50, "max")],
            ),
        ],
        timelines=[
            timeline(
                "throughput",
                "MiB received over time",
                "seconds from the request",
                "MiB received",
                lines,
            )
        ],
        details={"raw": _without_progress(result), "notes": notes},
    )


def _without_progress(result: dict[str, Any]) -> dict[str, Any]:
    """The raw result less the machine and the progress points (in the timeline)."""
    raw = _without(result, "machine")
    raw["live"] = _without(raw["live"], "progress")
    raw["finished"] = [_without(t, "progress") for t in raw["finished"]]
    return raw


def _xy(points: list[list[float]] | list[tuple[float, float]]) -> tuple[list[float], ...]:
    return [float(p[0]) for p in points], [float(p[1]) for p in points]


# --- fan-out --------------------------------------------------------------------------

FANOUT_PARAMS = (
    Param("clients", 1000, 100, "SSE clients on one job"),
    Param("seconds", 30.0, 5.0, "seconds the job prints"),
    Param("line_rate", 10.0, 10.0, "lines per second"),
    Param("connect_seconds", 20.0, 5.0, "the job's sleep before its first line (clients connect)"),
)


async def run_fanout(ctx: Context) -> Outcome:
    require(ctx.stack, docker_image=BASE_IMAGE)
    latencies: list[int] = []
    with stack_env(ctx.stack) as env:
        result = await sse_fanout.measure(
            int(ctx.params["clients"]),
            float(ctx.params["seconds"]),
            float(ctx.params["line_rate"]),
            float(ctx.params["connect_seconds"]),
            env=env,
            latencies=latencies,
        )
    notes = [
        f"All {result['clients']} clients got identical bytes, equal to the log:"
        f" {result['all_identical_and_equal_to_the_log']}; `end` received by"
        f" {result['clients_with_end_event']}. Server CPU while streaming"
        f" {result['server_cpu_cores_while_streaming']} cores, client"
        f" {result['client_cpu_cores_while_streaming']}.",
    ]
    return Outcome(
        metrics=[
            metric(
                f"line -> each of {result['clients']} clients",
                "ms",
                [ns / 1e6 for ns in latencies],
                label="SSE, every client, every line",
                targets=[at_most(200, "p99")],
            )
        ],
        details={"raw": _without(result, "machine"), "notes": notes},
    )


def _without(result: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in keys}


BENCHMARKS = (
    Benchmark(
        name="log_latency",
        title="Log latency",
        params=LATENCY_PARAMS,
        run=run_latency,
        description=(
            "A job prints timestamped lines to its log (what Scripter follows) and to the"
            " container's stdout (what `docker logs -f` follows); one client follows both"
            " at once. Latency: print inside the container to arrival at the client."
        ),
    ),
    Benchmark(
        name="log_throughput",
        title="Log throughput",
        params=THROUGHPUT_PARAMS,
        run=run_throughput,
        description=(
            "A job writes the log; then, on the finished log, interleaved: SSE with every"
            " byte checked against the file, and the same file over a plain GET. The"
            " server's RSS is sampled every 20 ms during each transfer."
        ),
    ),
    Benchmark(
        name="sse_fanout",
        title="SSE fan-out",
        params=FANOUT_PARAMS,
        run=run_fanout,
        description=(
            "Clients (one asyncio process, raw sockets) follow one job that prints"
            " timestamped lines; latency of every line to every client. No baseline."
        ),
    ),
)
