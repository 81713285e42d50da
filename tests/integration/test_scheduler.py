"""Several schedulers on one real database (SQLite, MariaDB): every fire time gets
exactly one job, none missing, none duplicated, whether they tick the same instant
together or run their loops side by side in real time."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from scripter.adapters.db.engine import SqlDatabase, create_engine
from scripter.adapters.db.repositories.jobs import ARMED, VISIBLE
from scripter.adapters.db.tables import jobs, schedule_firings
from scripter.adapters.db.unit_of_work import SqlUnitOfWork
from scripter.bootstrap import SystemClock
from scripter.domain.clock import Clock
from scripter.domain.images import Image, ImageStatus
from scripter.domain.schedules import FiringOutcome, Schedule
from scripter.domain.scripts import Script, ScriptRevision
from scripter.services.scheduler import Scheduler, SchedulerSettings
from scripter.services.schedules import SchedulePatch, ScheduleService
from tests.integration.db_fixtures import (  # noqa: F401 (fixtures)
    empty_all_tables,
    mariadb_session_url_fixture,
    migrated_sqlite_url,
)
from tests.unit.fakes import FixedClock

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SCHEDULERS = 3


@dataclass
class Shared:
    """One database, and one engine per scheduler (as separate processes have)."""

    url: str
    databases: list[SqlDatabase]
    data: Path

    def scheduler(self, index: int, clock: Clock, **settings: float) -> Scheduler:
        database = self.databases[index]
        return Scheduler(
            uow=lambda: SqlUnitOfWork(database.session_factory),
            clock=clock,
            settings=SchedulerSettings(**settings),  # type: ignore[arg-type]
        )

    async def seed(self, crons: list[str], first: datetime) -> list[int]:
        """A built image, a script with a revision, and one schedule per expression."""
        async with SqlUnitOfWork(self.databases[0].session_factory) as uow:
            image = await uow.images.add(
                Image(
                    name="base",
                    status=ImageStatus.BUILT,
                    tag="base:1",
                    created_at=T0,
                    updated_at=T0,
                )
            )
            script = await uow.scripts.add(
                Script(
                    name="job",
                    image_id=image.require_id,
                    current_revision=1,
                    created_at=T0,
                    updated_at=T0,
                )
            )
            await uow.scripts.add_revision(
                ScriptRevision(
                    script_id=script.require_id,
                    number=1,
                    content_hash="x",
                    files={"main.py": base64.b64encode(b"print(1)\n").decode()},
                    settings={},
                    created_at=T0,
                )
            )
            ids = []
            for cron in crons:
                schedule = await uow.schedules.add(
                    Schedule(
                        script_id=script.require_id,
                        cron=cron,
                        next_run_at=first,
                        created_at=T0,
                        updated_at=T0,
                    )
                )
                ids.append(schedule.require_id)
            await uow.commit()
        return ids

    async def firings(self) -> list[tuple[int, datetime, str, int | None]]:
        async with self.databases[0].engine.connect() as connection:
            rows = await connection.execute(
                select(
                    schedule_firings.c.schedule_id,
                    schedule_firings.c.fire_time,
                    schedule_firings.c.outcome,
                    schedule_firings.c.job_id,
                ).order_by(schedule_firings.c.schedule_id, schedule_firings.c.fire_time)
            )
            return [(r.schedule_id, r.fire_time, r.outcome, r.job_id) for r in rows]

    async def jobs(self) -> list[tuple[int, int | None, str]]:
        async with self.databases[0].engine.connect() as connection:
            rows = await connection.execute(
                select(jobs.c.id, jobs.c.schedule_id, jobs.c.trigger)
                .where(VISIBLE)  # armed ones are not jobs yet: written ahead of their time
                .order_by(jobs.c.id)
            )
            return [(r.id, r.schedule_id, r.trigger) for r in rows]


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
async def shared(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Shared]:
    if request.param == "sqlite":
        url = await migrated_sqlite_url(tmp_path)
    else:
        url = request.getfixturevalue("mariadb_session_url")
    databases = [SqlDatabase(create_engine(url)) for _ in range(SCHEDULERS)]
    try:
        if request.param == "mariadb":
            await empty_all_tables(databases[0])
        yield Shared(url=url, databases=databases, data=tmp_path / "data")
    finally:
        for database in databases:
            await database.dispose()


def assert_one_job_per_fire_time(
    firings: list[tuple[int, datetime, str, int | None]],
    job_rows: list[tuple[int, int | None, str]],
) -> None:
    # Armed ones (written ahead of a fire time still to come) are not firings yet.
    firings = [f for f in firings if f[2] != ARMED]
    fired_jobs = [job_id for _, _, outcome, job_id in firings if outcome == "fired"]
    assert all(outcome == FiringOutcome.FIRED for _, _, outcome, _ in firings)
    assert len(fired_jobs) == len(set(fired_jobs)) == len(job_rows)  # no job twice, none extra
    assert set(fired_jobs) == {job_id for job_id, _, _ in job_rows}
    assert {trigger for _, _, trigger in job_rows} == {"schedule"}
    by_job = {job_id: schedule_id for job_id, schedule_id, _ in job_rows}
    assert all(by_job[job] == schedule for schedule, _, _, job in firings if job is not None)


async def test_schedulers_ticking_the_same_instants_together_fire_each_once(shared: Shared):
    ids = await shared.seed(["* * * * *"] * 4, first=T0)
    clock = FixedClock(T0)
    # Several transactions at once in each scheduler, too: more ways to collide.
    schedulers = [shared.scheduler(i, clock, concurrency=4) for i in range(SCHEDULERS)]
    for minute in range(4):
        clock.set(T0 + timedelta(minutes=minute))
        # Each tick twice, all at once: a redelivered tick is just another tick.
        reports = await asyncio.gather(*(s.tick() for s in schedulers + schedulers))
        assert sum(r.fired for r in reports) == len(ids)
        assert sum(r.failed for r in reports) == 0

    firings = await shared.firings()
    expected = [T0 + timedelta(minutes=m) for m in range(4)]
    for schedule_id in ids:
        assert [t for s, t, _, _ in firings if s == schedule_id] == expected
    job_rows = await shared.jobs()
    assert len(job_rows) == len(ids) * 4
    assert_one_job_per_fire_time(firings, job_rows)


async def test_scheduler_loops_side_by_side_in_real_time_miss_and_repeat_nothing(
    shared: Shared,
):
    """Three scheduler loops, every-second schedules, a bounded time: the fire times
    of each schedule are consecutive seconds, each with exactly one job."""
    clock = SystemClock()
    start = clock.now().replace(microsecond=0) + timedelta(seconds=1)
    ids = await shared.seed(["* * * * * *"] * 3, first=start)
    schedulers = [shared.scheduler(i, clock, recheck_seconds=0.5) for i in range(SCHEDULERS)]
    loops = [asyncio.create_task(s.run()) for s in schedulers]
    try:
        await asyncio.sleep((start - clock.now()).total_seconds() + 4.5)
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        await asyncio.wait_for(asyncio.gather(*loops), timeout=30)
    stopped = clock.now()

    firings = await shared.firings()
    for schedule_id in ids:
        # Fired, then (armed ahead) still to come: consecutive seconds either way.
        times = [t for s, t, _, _ in firings if s == schedule_id]
        assert len([t for t in times if t <= stopped - timedelta(seconds=1)]) >= 4, times
        assert times == [start + timedelta(seconds=n) for n in range(len(times))]
        outcomes = [o for s, _, o, _ in firings if s == schedule_id]
        assert outcomes == sorted(outcomes, key=lambda o: o == ARMED)  # armed ones last
    # Nothing was left armed that came due while the loops ran.
    assert all(t > stopped - timedelta(seconds=1) for _, t, o, _ in firings if o == ARMED)
    assert_one_job_per_fire_time(firings, await shared.jobs())


async def test_armed_firings_flip_at_their_time_and_changes_disarm_them(shared: Shared):
    """Arming on the real database, through the services: a burst armed ahead flips
    at its time; a disabled schedule's armed firing never fires, an edited one's
    fires with the new arguments."""
    fire_at = T0 + timedelta(seconds=5)
    ids = await shared.seed(["5 0 12 * * *"] * 4, first=fire_at)
    plain, disabled, edited, _ = ids
    clock = FixedClock(T0)
    scheduler = shared.scheduler(0, clock)
    while (await scheduler.tick()).armed:
        pass
    uow = lambda: SqlUnitOfWork(shared.databases[0].session_factory)  # noqa: E731
    service = ScheduleService(uow=uow, clock=clock)
    assert (await service.get(plain)).next_run_at == fire_at
    assert await shared.jobs() == []  # armed: not jobs yet
    await service.update(disabled, SchedulePatch(enabled=False))
    await service.update(edited, SchedulePatch(args=["--edited"]))
    while (await scheduler.tick()).armed:  # the edited one is armed again
        pass

    clock.set(fire_at + timedelta(milliseconds=3))
    report = await scheduler.tick()

    assert (report.fired, report.flipped) == (3, 3)
    firings = await shared.firings()
    assert {(s, t, o) for s, t, o, _ in firings} == {
        (i, fire_at, "fired") for i in ids if i != disabled
    }
    assert_one_job_per_fire_time(firings, await shared.jobs())
    async with uow() as unit:
        (job,) = [j for j in await unit.jobs.list(limit=10) if j.schedule_id == edited]
        assert job.args == ["--edited"]
        assert job.created_at == fire_at + timedelta(milliseconds=3)
        assert await unit.schedules.next_armed_time() is None
