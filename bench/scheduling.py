"""Scheduling: 10,000 schedules due in the same second, fired by 1 and by 3
schedulers; lateness (p50, p99), duplicates, misses.

For each count of schedulers: a throwaway database (MariaDB and RabbitMQ by default:
the deployment where several schedulers make sense), migrated, with a built image,
a script and N schedules (one through the app's repository, the rest copied with
``INSERT ... SELECT``), none due yet. Then that many ``scripter scheduler``
processes start (the command line, the way they are deployed), and once each says
it started, one UPDATE makes every schedule due at the same whole second T, 15 s
ahead (as for schedules saved well before their time: more than the schedulers'
``arm_ahead_seconds``, so they arm the firings before T and flip them at T), with a
daily expression for that time of day (so each fires once). The bench counts the
firings of T as they are recorded (every 10 ms around T), until all N are or none
came for a while, then stops the schedulers and reads the database:

- lateness: ``recorded_at - fire_time`` of every firing of T (when the job was
  created, as the schedule's history reports it; stamped before the commit);
- visible: when each firing was first counted by the polling reader (committed,
  so a worker or the API can see the job), an upper bound within 10 ms;
- duplicates: firings or jobs beyond one per schedule for T;
- misses: schedules without a fired firing of T (skipped ones, and armed ones never
  flipped, count as missed).

    python -m bench scheduling [--schedules 10000] [--schedulers 1,3] [--repeats 2]
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench.framework import Benchmark, Context, Outcome, Param, at_most, metric, timeline
from bench.live_support import cpu_seconds
from bench.seeding import T0, multiply_rows, seed_scripts
from bench.services import mariadb_database, migrate, rabbitmq_names, require, run_async
from tests.child_env import scripter_child_env

PARAMS = (
    Param("schedules", 10_000, 500, "schedules due in the same second"),
    Param("schedulers", "1,3", "1,3", "scheduler processes, one run per count, comma-separated"),
    Param("repeats", 2, 1, "runs of each count, interleaved (1 3 1 3)"),
    Param(
        "lead_seconds",
        15.0,
        15.0,
        "from making them due to the fire time (more than scheduler.arm_ahead_seconds,"
        " as for schedules saved well before their time)",
    ),
)
FAR = datetime(2099, 1, 1, tzinfo=UTC)
POLL_MS = 10
"""How often the firings are counted around the fire time."""

DESCRIPTION = (
    "N schedules made due at the same whole second T (15 s ahead, so the schedulers arm"
    " them before T) while 1 or 3 `scripter scheduler` processes run on a throwaway"
    " database; lateness of every firing (`recorded_at - fire_time`, as the history"
    " reports it), when each became visible to a reader polling every 10 ms (committed),"
    " duplicate firings or jobs, and schedules left without a firing. No baseline: the"
    " targets are absolute."
)


def visible_ms(progress: list[tuple[float, int]]) -> list[float]:
    """When each firing became visible to a reader, from the polled counts: the
    firings first counted at a poll were committed by then (an upper bound, within
    one poll interval). Unlike ``recorded_at``, stamped before the commit, this is
    when the job exists for a worker or the API."""
    seen, times = 0, []
    for after, count in progress:
        times.extend([after * 1000] * (count - seen))
        seen = max(seen, count)
    return times


@dataclass
class Burst:
    schedulers: int
    lateness_ms: list[float]
    fired: int
    skipped: int
    duplicates: int
    misses: int
    progress: list[tuple[float, int]]
    """(seconds after T, firings of T recorded by then)."""
    scheduler_cpu_seconds: float
    all_fired_after: float | None


@contextlib.contextmanager
def database(stack: str, folder: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(URL, scheduler settings) of a new, migrated database."""
    if stack == "mariadb":
        with mariadb_database("scripter_bench_sched") as url, rabbitmq_names() as broker:
            migrate(url)
            yield url, {"SCRIPTER_DATABASE_URL": url, **broker}
    else:
        url = f"sqlite+aiosqlite:///{folder / 'data' / 'scripter.db'}"
        migrate(url)
        yield url, {}


async def seed(url: str, count: int) -> None:
    """``count`` schedules of one script, far from due."""
    from scripter.adapters.db.engine import SqlDatabase, create_engine
    from scripter.adapters.db.unit_of_work import SqlUnitOfWork
    from scripter.domain.schedules import Schedule

    db = SqlDatabase(create_engine(url))
    try:
        seeded = await seed_scripts(db, 1)
        async with SqlUnitOfWork(db.session_factory) as uow:
            await uow.schedules.add(
                Schedule(
                    script_id=seeded.script_ids[0],
                    cron="0 0 1 1 *",
                    next_run_at=FAR,
                    created_at=T0,
                    updated_at=T0,
                )
            )
            await uow.commit()
        await multiply_rows(db.engine, "schedules", count)
    finally:
        await db.dispose()


async def make_due(url: str, fire_time: datetime) -> None:
    """Every schedule due at ``fire_time``, daily at its time of day (UTC)."""
    from scripter.adapters.db.engine import create_engine
    from scripter.adapters.db.tables import schedules

    cron = f"{fire_time.second} {fire_time.minute} {fire_time.hour} * * *"
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(schedules).values(next_run_at=fire_time, cron=cron, timezone="UTC")
            )
    finally:
        await engine.dispose()


async def count_firings(url: str, fire_time: datetime, until: float, expected: int) -> list[Any]:
    """Poll the firings of ``fire_time`` until ``expected`` or ``until`` (monotonic),
    or until none came for 30 s; (seconds after T, count) pairs."""
    from scripter.adapters.db.engine import create_engine
    from scripter.adapters.db.tables import schedule_firings

    engine = create_engine(url)
    progress: list[tuple[float, int]] = []
    last_change = time.monotonic()
    try:
        while time.monotonic() < until:
            async with engine.connect() as connection:
                count = int(
                    (
                        await connection.execute(
                            # Equalities on the (outcome, fire_time) index: polled
                            # every 10 ms, a scan would load the database it measures.
                            select(func.count()).where(
                                schedule_firings.c.outcome.in_(("fired", "skipped")),
                                schedule_firings.c.fire_time == fire_time,
                            )
                        )
                    ).scalar_one()
                )
            now = datetime.now(UTC)
            if not progress or count != progress[-1][1]:
                last_change = time.monotonic()
            progress.append(((now - fire_time).total_seconds(), count))
            if count >= expected:
                break
            if now > fire_time and time.monotonic() - last_change > 30:
                break
            # Often around the fire time: when all are visible is a figure reported.
            near = abs((now - fire_time).total_seconds()) < 5
            await asyncio.sleep(POLL_MS / 1000 if near else 0.2)
    finally:
        await engine.dispose()
    return progress


async def outcome(url: str, fire_time: datetime, count: int) -> dict[str, Any]:
    from scripter.adapters.db.engine import create_engine
    from scripter.adapters.db.tables import jobs, schedule_firings

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            firings = (
                await connection.execute(
                    select(
                        schedule_firings.c.schedule_id,
                        schedule_firings.c.outcome,
                        schedule_firings.c.recorded_at,
                        schedule_firings.c.fire_time,
                    ).where(schedule_firings.c.fire_time == fire_time)
                )
            ).all()
            job_rows = (
                await connection.execute(
                    select(jobs.c.schedule_id, func.count())
                    .where(jobs.c.schedule_id.is_not(None), ~jobs.c.armed)
                    .group_by(jobs.c.schedule_id)
                )
            ).all()
    finally:
        await engine.dispose()
    per_schedule: dict[int, int] = {}
    fired: set[int] = set()
    lateness = []
    skipped = 0
    for row in firings:
        per_schedule[row.schedule_id] = per_schedule.get(row.schedule_id, 0) + 1
        if row.outcome == "fired":
            fired.add(row.schedule_id)
            lateness.append((row.recorded_at - row.fire_time).total_seconds() * 1000)
        elif row.outcome == "skipped":
            skipped += 1
        # "armed": written ahead and never flipped, a miss
    duplicates = sum(n - 1 for n in per_schedule.values() if n > 1)
    duplicates += sum(int(n) - 1 for _, n in job_rows if int(n) > 1)
    return {
        "lateness_ms": lateness,
        "fired": len(fired),
        "skipped": skipped,
        "duplicates": duplicates,
        "misses": count - len(fired),
    }


def start_scheduler(env: dict[str, str], folder: Path, index: int) -> subprocess.Popen[bytes]:
    log = folder / f"scheduler-{index}.log"
    return subprocess.Popen(
        [sys.executable, "-m", "scripter", "scheduler"],
        cwd=folder,
        # Without the test suite's SCRIPTER_TEST_* knobs: the scheduler would refuse them.
        env=scripter_child_env(
            {
                "SCRIPTER_DATA_DIRECTORY": str(folder / "data"),
                "SCRIPTER_LOGGING_LEVEL": "INFO",
                **env,
            },
            inherit_settings=True,
        ),
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),
        start_new_session=True,
    )


def wait_started(process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a scheduler stopped at start:\n{log.read_text()[-3000:]}")
        if "started" in log.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(f"a scheduler did not say it started:\n{log.read_text()[-3000:]}")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def burst(ctx: Context, count: int, schedulers: int, lead: float) -> Burst:
    with (
        tempfile.TemporaryDirectory(prefix="scripter-bench-sched-") as tmp,
        database(ctx.stack, Path(tmp)) as (url, env),
    ):
        folder = Path(tmp)
        await asyncio.to_thread(run_async, lambda: seed(url, count))
        processes = [start_scheduler(env, folder, i) for i in range(schedulers)]
        try:
            for index, process in enumerate(processes):
                await asyncio.to_thread(wait_started, process, folder / f"scheduler-{index}.log")
                ctx.watch(process.pid, f"scheduler-{schedulers}-{index}")
            cpu = sum(cpu_seconds(p.pid) for p in processes)
            now = datetime.now(UTC)
            fire_time = now.replace(microsecond=0) + timedelta(seconds=math.ceil(lead))
            await asyncio.to_thread(run_async, lambda: make_due(url, fire_time))
            ctx.log(f"{schedulers} scheduler(s): {count:,} schedules due at {fire_time:%H:%M:%S}")
            limit = time.monotonic() + lead + max(120.0, count / 20)
            progress = await asyncio.to_thread(
                run_async, lambda: count_firings(url, fire_time, limit, count)
            )
            cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu
        finally:
            await asyncio.to_thread(stop, processes)
        result = await asyncio.to_thread(run_async, lambda: outcome(url, fire_time, count))
    done = next((t for t, n in progress if n >= count), None)
    return Burst(
        schedulers=schedulers,
        lateness_ms=result["lateness_ms"],
        fired=result["fired"],
        skipped=result["skipped"],
        duplicates=result["duplicates"],
        misses=result["misses"],
        progress=progress,
        scheduler_cpu_seconds=round(cpu, 2),
        all_fired_after=done,
    )


async def run(ctx: Context) -> Outcome:
    require(ctx.stack)
    count = int(ctx.params["schedules"])
    counts = [int(c) for c in str(ctx.params["schedulers"]).split(",") if c.strip()]
    lead = float(ctx.params["lead_seconds"])
    bursts: list[Burst] = []
    for _ in range(int(ctx.params["repeats"])):
        for schedulers in counts:
            result = await burst(ctx, count, schedulers, lead)
            bursts.append(result)
            ctx.log(
                f"{schedulers} scheduler(s): {result.fired:,} fired, {result.misses} missed,"
                f" {result.duplicates} duplicates, all after {result.all_fired_after} s"
            )
    metrics = []
    lines: dict[str, tuple[list[float], ...]] = {}
    notes = []
    for schedulers in counts:
        mine = [b for b in bursts if b.schedulers == schedulers]
        name = f"{schedulers} scheduler{'s' if schedulers > 1 else ''}"
        metrics.append(
            metric(
                f"lateness, {name}",
                "ms",
                [v for b in mine for v in b.lateness_ms],
                label=f"fire time -> job created, {count:,} due at once",
                targets=[at_most(250, "p99")],
            )
        )
        metrics.append(
            metric(
                f"visible, {name}",
                "ms",
                [v for b in mine for v in visible_ms(b.progress)],
                label=f"fire time -> committed (seen by a reader polling every {POLL_MS} ms)",
                targets=[at_most(250, "p99")],
            )
        )
        metrics.append(
            metric(
                f"duplicates, {name}",
                "",
                [float(b.duplicates) for b in mine],
                label="firings or jobs beyond one per fire time",
                targets=[at_most(0, "max")],
            )
        )
        metrics.append(
            metric(
                f"misses, {name}",
                "",
                [float(b.misses) for b in mine],
                label="schedules without a fired firing",
                targets=[at_most(0, "max")],
            )
        )
        for index, b in enumerate(mine):
            lines[f"{name} #{index + 1}"] = (
                [t for t, _ in b.progress],
                [float(n) for _, n in b.progress],
            )
            notes.append(
                f"{name}, run {index + 1}: {b.fired:,} of {count:,} fired"
                f" ({b.skipped} skipped), all of them"
                + (
                    f" {b.all_fired_after:.2f} s after T"
                    if b.all_fired_after is not None
                    else " never within the time limit"
                )
                + f"; the schedulers used {b.scheduler_cpu_seconds} s of CPU."
            )
    return Outcome(
        metrics=metrics,
        timelines=[
            timeline(
                "firings",
                "firings recorded after the fire time",
                "seconds after the fire time T",
                "firings of T recorded",
                lines,
            )
        ],
        details={
            "notes": notes,
            "bursts": [
                {k: v for k, v in b.__dict__.items() if k not in ("lateness_ms",)} for b in bursts
            ],
        },
    )


BENCHMARK = Benchmark(
    name="scheduling",
    title="Scheduling",
    params=PARAMS,
    run=run,
    description=DESCRIPTION,
)
