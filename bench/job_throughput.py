"""Job throughput: 200 trivial jobs at concurrency 20 against 200 ``docker run --rm``
at concurrency 20, batches interleaved (A B A B ...).

Scripter (``worker.concurrency`` = 20): 20 clients post the 200 runs as fast as the
API answers; the batch ends with the last ``job.finished`` event. Baseline: 20
workers each start the next ``docker run --rm`` (the CLI, same image and command)
when their last one ended. jobs/s = 200 / (last end - first request). A few jobs of
each kind run first, not counted; between batches the bench waits until every
container is gone.

    python -m bench job_throughput [--jobs 200] [--concurrency 20] [--rounds 2]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from bench import stats
from bench.framework import Benchmark, Context, Outcome, Param, metric, timeline
from bench.jobs_support import JobSetup, job_setup
from bench.results import Target

PARAMS = (
    Param("jobs", 200, 40, "jobs per batch"),
    Param("concurrency", 20, 20, "jobs at once (worker.concurrency; docker runs at once)"),
    Param("rounds", 2, 1, "batches of each kind, interleaved"),
)
WARMUP_JOBS = 4

DESCRIPTION = (
    "A batch of trivial jobs (`print(1)`) posted by as many clients as the concurrency,"
    " with `worker.concurrency` set to it, to the last `job.finished` event; against the"
    " same number of `docker run --rm` (CLI, same image and command), that many at once."
    " Batches interleaved (A B A B); a few jobs of each kind warm up first."
)


async def _pool(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> list[float]:
    """Run ``one(index)`` ``count`` times, ``concurrency`` at once; the end times
    (perf_counter) in the order they ended."""
    next_index = iter(range(count))
    ends: list[float] = []

    async def worker() -> None:
        for index in next_index:
            await one(index)
            ends.append(time.perf_counter())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ends


async def scripter_batch(
    setup: JobSetup, count: int, concurrency: int
) -> tuple[float, list[float]]:
    """(seconds, end times from the start) of ``count`` jobs."""
    job_ids: list[int] = []
    loop = asyncio.get_running_loop()
    path = f"/api/scripts/{setup.script_id}/runs"
    with ThreadPoolExecutor(concurrency) as clients:  # one thread per client
        started = time.perf_counter()

        async def post(_: int) -> None:
            job = await loop.run_in_executor(clients, setup.server.request, "POST", path)
            job_ids.append(int(job["id"]))

        await _pool(count, concurrency, post)
    arrivals = [await setup.events.finished(job_id, timeout=600) for job_id in job_ids]
    failed = [a.data for a in arrivals if a.data.get("status") != "succeeded"]
    if failed:
        raise RuntimeError(f"{len(failed)} jobs did not succeed, e.g. {failed[0]}")
    ends = sorted(a.perf - started for a in arrivals)
    await setup.wait_quiet(job_ids, timeout=120)
    return ends[-1], ends


async def docker_batch(setup: JobSetup, count: int, concurrency: int) -> tuple[float, list[float]]:
    started = time.perf_counter()

    async def one(_: int) -> None:
        await setup.docker_run()

    ends = sorted(t - started for t in await _pool(count, concurrency, one))
    return ends[-1], ends


async def run(ctx: Context) -> Outcome:
    count, concurrency = int(ctx.params["jobs"]), int(ctx.params["concurrency"])
    rounds = int(ctx.params["rounds"])
    rates: dict[str, list[float]] = {"scripter": [], "docker": []}
    lines: dict[str, tuple[list[float], ...]] = {}
    async with job_setup(ctx.stack, SCRIPTER_WORKER_CONCURRENCY=str(concurrency)) as setup:
        ctx.watch(setup.server.pid, "server")
        await scripter_batch(setup, WARMUP_JOBS, concurrency)
        await docker_batch(setup, WARMUP_JOBS, concurrency)
        for round_index, kind in stats.interleave(("scripter", "docker"), rounds):
            batch = scripter_batch if kind == "scripter" else docker_batch
            seconds, ends = await batch(setup, count, concurrency)
            rates[kind].append(count / seconds)
            lines[f"{kind} #{round_index + 1}"] = stats.cumulative(ends)
            ctx.log(f"{kind} batch {round_index + 1}/{rounds}: {count / seconds:.1f} jobs/s")
    return Outcome(
        metrics=[
            metric(
                f"{count} jobs at concurrency {concurrency}",
                "jobs/s",
                rates["scripter"],
                label="Scripter (run-now to job.finished)",
                baseline=rates["docker"],
                baseline_label="docker run --rm",
                targets=[Target(stat="ratio", op=">=", value=0.9)],
                higher_is_better=True,
                paired=True,
            )
        ],
        timelines=[
            timeline(
                "throughput",
                "jobs finished over time (the slope is the throughput)",
                "seconds from the batch's first request",
                "jobs finished",
                lines,
            )
        ],
    )


BENCHMARK = Benchmark(
    name="job_throughput",
    title="Job throughput",
    params=PARAMS,
    run=run,
    description=DESCRIPTION,
)
