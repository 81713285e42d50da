"""Job overhead: run-now to finished, one trivial job at a time, against a plain
``docker run --rm`` of the same image and command, interleaved (A B A B ...).

Scripter: from just before ``POST /api/scripts/{id}/runs`` to the arrival of the
job's ``job.finished`` event on ``/api/events/stream`` (the moment the API tells a
client that the job finished; a client that polls learns it later). The script is
``print(1)`` with a new script's defaults. Baseline: ``docker run --rm --network
none -v DIR:/src:ro -w /src IMAGE python3 main.py`` through the docker CLI, to its
exit (the CLI returns once the container is removed). Between runs the bench waits
until the worker has removed the job's container, so no cleanup overlaps the next
measurement.

    python -m bench job_overhead [--runs 30] [--warmup-runs 2]
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from bench import stats
from bench.framework import Benchmark, Context, Outcome, Param, metric, timeline
from bench.jobs_support import breakdown, job_setup
from bench.results import Target

PARAMS = (
    Param("runs", 30, 4, "measured pairs (a Scripter job, a docker run), interleaved"),
    Param("warmup_runs", 2, 1, "pairs run first and not counted"),
)

DESCRIPTION = (
    "One trivial job (`print(1)`) at a time: `POST /api/scripts/{id}/runs` to the"
    " `job.finished` event on `/api/events/stream`, against `docker run --rm` of the"
    " same image and command through the docker CLI, interleaved (A B A B). The first"
    " pairs warm up and are not counted."
)


async def run(ctx: Context) -> Outcome:
    runs, warmup = int(ctx.params["runs"]), int(ctx.params["warmup_runs"])
    scripter_ms: list[float] = []
    docker_ms: list[float] = []
    parts: dict[str, list[float]] = {}
    async with job_setup(ctx.stack) as setup:
        ctx.watch(setup.server.pid, "server")
        for round_index, kind in stats.interleave(("scripter", "docker"), warmup + runs):
            counted = round_index >= warmup
            if kind == "scripter":
                seconds, job_id, posted = await setup.run_job()
                job: dict[str, Any] = await asyncio.to_thread(setup.server.job, job_id)
                event = setup.events.finished_jobs[job_id].wall
                await setup.wait_quiet([job_id])
                if counted:
                    scripter_ms.append(seconds * 1000)
                    for name, value in breakdown(job, posted, event).items():
                        parts.setdefault(name, []).append(value)
            else:
                seconds = await setup.docker_run()
                if counted:
                    docker_ms.append(seconds * 1000)
            if counted and kind == "docker":
                ctx.log(
                    f"pair {round_index - warmup + 1}/{runs}: scripter {scripter_ms[-1]:.0f} ms,"
                    f" docker run {docker_ms[-1]:.0f} ms"
                )
    medians = {name: statistics.median(values) for name, values in parts.items()}
    # The end as the database has it (a client polling without pause would see it then).
    recorded = [
        a + b + c
        for a, b, c in zip(
            parts["post_to_queued"],
            parts["queued_to_running"],
            parts["running_to_finished"],
            strict=True,
        )
    ]
    notes = [
        f"To the end as recorded in the database (`finished_at`, before the event goes"
        f" out): median {statistics.median(recorded):.0f} ms, ratio"
        f" {statistics.median(recorded) / statistics.median(docker_ms):.2f}x.",
        "Where Scripter's time goes (medians, ms, from the server's timestamps): "
        + ", ".join(f"{name.replace('_', ' ')} {value:.0f}" for name, value in medians.items())
        + ". `queued to running` includes creating and starting the container;"
        " `running to finished` the script, the exit event and recording the end.",
    ]
    return Outcome(
        metrics=[
            metric(
                "run-now to finished",
                "ms",
                scripter_ms,
                label="POST /runs -> job.finished event",
                baseline=docker_ms,
                baseline_label="docker run --rm",
                targets=[Target(stat="ratio", op="<=", value=1.05)],
                paired=True,
            )
        ],
        timelines=[
            timeline(
                "runs",
                "each run, in the order measured",
                "pair",
                "ms",
                {
                    "POST /runs -> job.finished event": _by_index(scripter_ms),
                    "docker run --rm": _by_index(docker_ms),
                },
            )
        ],
        details={"breakdown_ms": parts, "breakdown_median_ms": medians, "notes": notes},
    )


def _by_index(values: list[float]) -> tuple[list[float], list[float]]:
    return [float(i + 1) for i in range(len(values))], values


BENCHMARK = Benchmark(
    name="job_overhead",
    title="Job overhead",
    params=PARAMS,
    run=run,
    description=DESCRIPTION,
)
