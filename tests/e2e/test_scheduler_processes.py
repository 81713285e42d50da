"""Two ``scripter scheduler`` processes on one MariaDB fire every fire time exactly once.

A few schedules fire every second while both processes run side by side (with the
set-based firing, each locks the due rows it takes and skips the ones the other
holds). Afterwards each schedule's fire times are every second from its first to
the one before its ``next_run_at``: none missing, none twice, each with one job of
its own. And a scheduler SIGKILLed after arming a fire time leaves its armed rows
to the next one, which fires them. The processes only write to the database (no
worker runs), so no Docker image is needed: the image row says "built" with a tag
no container ever uses.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scripter.adapters.db.engine import SqlDatabase, create_engine
from scripter.adapters.db.tables import jobs, schedule_firings, schedules
from scripter.adapters.db.unit_of_work import SqlUnitOfWork
from scripter.domain.images import Image, ImageStatus
from scripter.domain.schedules import Schedule
from scripter.domain.scripts import Script
from tests.e2e.multiprocess import MIGRATE_TIMEOUT, Deployment, eventually, scale_out

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq]

SCHEDULES = 4
FIRE_TIMES = 6
"""Fire times each schedule must reach while both schedulers run."""


@pytest.fixture
async def deployment(tmp_path: Path) -> Any:
    async with scale_out(tmp_path) as deployed:
        yield deployed


async def seed(database: SqlDatabase, first: datetime, cron: str = "* * * * * *") -> list[int]:
    async with SqlUnitOfWork(database.session_factory) as uow:
        image = await uow.images.add(
            Image(
                name="never-run",
                status=ImageStatus.BUILT,
                tag="scripter-test/never-run:1",
                created_at=first,
                updated_at=first,
            )
        )
        script = await uow.scripts.add(
            Script(
                name="every-second",
                image_id=image.require_id,
                current_revision=1,
                created_at=first,
                updated_at=first,
            )
        )
        added = [
            await uow.schedules.add(
                Schedule(
                    script_id=script.require_id,
                    cron=cron,
                    next_run_at=first,
                    created_at=first,
                    updated_at=first,
                )
            )
            for _ in range(SCHEDULES)
        ]
        await uow.commit()
    return [schedule.require_id for schedule in added]


async def test_two_scheduler_processes_fire_each_fire_time_exactly_once(deployment: Deployment):
    await deployment.run("migrate", timeout=MIGRATE_TIMEOUT)
    database = SqlDatabase(create_engine(deployment.env["SCRIPTER_DATABASE_URL"]))
    try:
        first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        ids = await seed(database, first)
        schedulers = [await deployment.spawn("scheduler", "scheduler") for _ in range(2)]

        async def fired_enough() -> bool | None:
            deployment.check_alive(*schedulers)
            async with database.engine.connect() as connection:
                fired = select(schedule_firings.c.schedule_id).where(
                    schedule_firings.c.outcome == "fired"
                )
                counts = Counter((await connection.execute(fired)).scalars())
            return True if all(counts[i] >= FIRE_TIMES for i in ids) else None

        await eventually(fired_enough, f"{FIRE_TIMES} fire times per schedule", 60.0)
        await asyncio.gather(*(deployment.stop(s) for s in schedulers))

        async with database.engine.connect() as connection:
            firings = (
                await connection.execute(
                    select(
                        schedule_firings.c.schedule_id,
                        schedule_firings.c.fire_time,
                        schedule_firings.c.outcome,
                        schedule_firings.c.job_id,
                    )
                )
            ).all()
            job_rows = (
                await connection.execute(select(jobs.c.id, jobs.c.schedule_id, jobs.c.armed))
            ).all()
            next_runs = dict(
                (await connection.execute(select(schedules.c.id, schedules.c.next_run_at))).all()
            )
    finally:
        await database.dispose()

    # Fired, or armed ahead of a fire time still to come (the schedulers stopped
    # with the next seconds armed): a job each, armed with its firing.
    assert {f.outcome for f in firings} <= {"fired", "armed"}
    job_of = {row.id: row.schedule_id for row in job_rows}
    assert sorted(f.job_id for f in firings) == sorted(job_of), "one job per firing, no other"
    armed_jobs = {row.id for row in job_rows if row.armed}
    assert armed_jobs == {f.job_id for f in firings if f.outcome == "armed"}
    for schedule_id in ids:
        mine = sorted(
            (f for f in firings if f.schedule_id == schedule_id), key=lambda f: f.fire_time
        )
        times = [f.fire_time for f in mine]
        assert [f.outcome for f in mine] == sorted((f.outcome for f in mine), reverse=True)
        assert all(job_of[f.job_id] == schedule_id for f in mine)
        # Every second from the first fire time up to (not including) the next one.
        span = int((next_runs[schedule_id] - first).total_seconds())
        assert times == [first + timedelta(seconds=s) for s in range(span)]


async def test_what_a_killed_scheduler_armed_another_one_fires_once(deployment: Deployment):
    """Arming is crash-safe: a scheduler SIGKILLed after it armed a fire time leaves
    its armed jobs and firings; the next scheduler flips those same rows at the fire
    time (not a second job, not a disarm and a fresh one)."""
    await deployment.run("migrate", timeout=MIGRATE_TIMEOUT)
    database = SqlDatabase(create_engine(deployment.env["SCRIPTER_DATABASE_URL"]))
    try:
        # Within the default arm_ahead_seconds (10) of the start: armed at once.
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
        ids = await seed(database, at, cron=f"{at.second} {at.minute} {at.hour} * * *")

        async def firings(outcome: str) -> dict[int, int] | None:
            async with database.engine.connect() as connection:
                rows = await connection.execute(
                    select(schedule_firings.c.schedule_id, schedule_firings.c.job_id).where(
                        schedule_firings.c.outcome == outcome
                    )
                )
                found = {row.schedule_id: row.job_id for row in rows}
            return found if len(found) == len(ids) else None

        first = await deployment.spawn("scheduler", "scheduler")
        armed = await eventually(lambda: firings("armed"), "every schedule armed", 30.0)
        await deployment.kill(first)
        second = await deployment.spawn("scheduler", "scheduler")
        fired = await eventually(lambda: firings("fired"), "every armed firing fired", 60.0)
        await deployment.stop(second)

        async with database.engine.connect() as connection:
            job_rows = (
                await connection.execute(select(jobs.c.id, jobs.c.schedule_id, jobs.c.armed))
            ).all()
            left = (
                await connection.execute(
                    select(schedule_firings.c.id).where(schedule_firings.c.outcome == "armed")
                )
            ).all()
    finally:
        await database.dispose()

    assert fired == armed  # the same jobs, armed by one process and fired by the other
    assert sorted((row.id, row.schedule_id, row.armed) for row in job_rows) == sorted(
        (job_id, schedule_id, False) for schedule_id, job_id in fired.items()
    )
    assert left == []
