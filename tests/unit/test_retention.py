"""The retention sweep with in-memory fakes and a clock that moves only when told:
old finished jobs go with their logs even when no job of their script ends, running
and queued jobs stay, and log files left without a job are removed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scripter.config import ConfigError, load_config
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus, log_file_name
from scripter.domain.ports import UnitOfWork
from scripter.domain.scripts import Script
from scripter.services.retention import RetentionSettings, RetentionSweeper
from tests.unit.fake_files import FakeFileStore
from tests.unit.fakes import FakeStore, FixedClock

WAIT = 5.0
DAY = timedelta(days=1)


@dataclass
class World:
    clock: FixedClock
    store: FakeStore
    files: FakeFileStore
    image_id: int = 0

    def sweeper(
        self, uow: Callable[[], UnitOfWork] | None = None, **settings: Any
    ) -> RetentionSweeper:
        return RetentionSweeper(
            uow=uow or self.store.uow,
            files=self.files,
            clock=self.clock,
            settings=RetentionSettings(**{"keep_last": None, "keep_days": 30, **settings}),
        )

    async def script(self, name: str, **fields: Any) -> int:
        now = self.clock.now()
        async with self.store.uow() as uow:
            if not self.image_id:
                image = Image(
                    name="base", status=ImageStatus.BUILT, tag="t", created_at=now, updated_at=now
                )
                self.image_id = (await uow.images.add(image)).require_id
            script = Script(
                name=name, image_id=self.image_id, created_at=now, updated_at=now, **fields
            )
            await uow.scripts.add(script)
            await uow.commit()
        return script.require_id

    async def job(self, script_id: int, status: JobStatus, *, age: timedelta = timedelta(0)) -> Job:
        """A job created ``age`` ago, in ``status``, with a log file when it started."""
        created = self.clock.now() - age
        async with self.store.uow() as uow:
            job = await uow.jobs.add(
                Job(script_id=script_id, revision=1, image_id=self.image_id, created_at=created)
            )
            if status != JobStatus.QUEUED:
                job.start(created, container_id=f"c{job.require_id}")
            if status.is_final:
                job.finish(created + timedelta(seconds=1), status, exit_code=0)
            await uow.jobs.update(job)
            await uow.commit()
        if status != JobStatus.QUEUED:
            await self.files.create_empty(self.log(job))
        return job

    def log(self, job: Job) -> Path:
        return self.files.root / str(job.log_path)

    async def job_ids(self) -> list[int]:
        async with self.store.uow() as uow:
            return [j.require_id for j in await uow.jobs.list(limit=1000)]


@pytest.fixture
def w() -> World:
    clock = FixedClock()
    return World(clock=clock, store=FakeStore(clock), files=FakeFileStore(clock=clock))


async def test_old_finished_jobs_go_with_their_logs_though_no_job_ends(w: World):
    idle = await w.script("idle")
    old = await w.job(idle, JobStatus.SUCCEEDED, age=40 * DAY)
    old_failed = await w.job(idle, JobStatus.FAILED, age=31 * DAY)
    young = await w.job(idle, JobStatus.SUCCEEDED, age=29 * DAY)
    running = await w.job(idle, JobStatus.RUNNING, age=90 * DAY)
    queued = await w.job(idle, JobStatus.QUEUED, age=90 * DAY)

    report = await w.sweeper().sweep()

    assert (report.scripts, report.jobs_deleted, report.failed_scripts) == (1, 2, 0)
    assert await w.job_ids() == [queued.id, running.id, young.id]
    assert w.log(old) not in w.files.logs and w.log(old_failed) not in w.files.logs
    assert w.log(young) in w.files.logs and w.log(running) in w.files.logs


async def test_time_alone_makes_a_job_old_enough(w: World):
    script_id = await w.script("idle")
    job = await w.job(script_id, JobStatus.SUCCEEDED)
    sweeper = w.sweeper()
    assert (await sweeper.sweep()).jobs_deleted == 0
    w.clock.advance(days=30, seconds=1)
    assert (await sweeper.sweep()).jobs_deleted == 1
    assert await w.job_ids() == [] and w.log(job) not in w.files.logs


async def test_a_scripts_own_limits_win_over_the_defaults(w: World):
    strict = await w.script("strict", keep_last=1, keep_days=2)
    default = await w.script("default")
    strict_jobs = [
        await w.job(strict, JobStatus.SUCCEEDED, age=d * timedelta(hours=1)) for d in (3, 2, 1)
    ]
    default_jobs = [await w.job(default, JobStatus.SUCCEEDED, age=d * DAY) for d in (3, 2, 1)]
    running = await w.job(strict, JobStatus.RUNNING, age=9 * DAY)

    report = await w.sweeper(keep_last=2, keep_days=30).sweep()

    # strict keeps its newest finished one; default keeps its newest two.
    assert report.jobs_deleted == 3
    kept = {strict_jobs[-1].id, default_jobs[1].id, default_jobs[2].id, running.id}
    assert set(await w.job_ids()) == kept


async def test_log_files_without_a_job_row_are_removed(w: World):
    script_id = await w.script("s")
    kept = await w.job(script_id, JobStatus.SUCCEEDED)
    running = await w.job(script_id, JobStatus.RUNNING)
    gone = await w.job(script_id, JobStatus.SUCCEEDED)
    # A crash between the row's delete and its file's: the file stays behind.
    async with w.store.uow() as uow:
        await uow.jobs.delete(gone.require_id)
        await uow.commit()
    now = w.clock.now()
    deleted_script_log = w.files.job_log(999, log_file_name(now, 4242))
    stranger = w.files.job_log(script_id, "notes.log")
    build_log = w.files.build_log(1)
    for path in (deleted_script_log, stranger, build_log):
        await w.files.create_empty(path)

    report = await w.sweeper().sweep()

    assert report.orphan_logs_deleted == 2
    assert w.log(gone) not in w.files.logs and deleted_script_log not in w.files.logs
    # Logs of jobs that exist, and files that are no job's log, stay.
    for path in (w.log(kept), w.log(running), stranger, build_log):
        assert path in w.files.logs


async def test_a_job_deleted_by_another_sweeper_meanwhile_is_skipped(w: World):
    script_id = await w.script("s")
    first = await w.job(script_id, JobStatus.SUCCEEDED, age=40 * DAY)
    second = await w.job(script_id, JobStatus.SUCCEEDED, age=40 * DAY)

    class RacedJobs:
        """The jobs port of a unit of work, where another sweeper deletes ``second``
        right after this one found it prunable."""

        def __init__(self, uow: UnitOfWork) -> None:
            self._jobs = uow.jobs

        def __getattr__(self, name: str) -> Any:
            return getattr(self._jobs, name)

        async def prunable(self, *args: Any, **kwargs: Any) -> list[Job]:
            found = await self._jobs.prunable(*args, **kwargs)
            async with w.store.uow() as other:
                await other.jobs.delete(second.require_id)
                await other.commit()
            return found

    def raced_uow() -> UnitOfWork:
        uow = w.store.uow()
        uow.jobs = RacedJobs(uow)
        return uow

    report = await w.sweeper(uow=raced_uow).sweep()

    assert (report.jobs_deleted, report.failed_scripts) == (1, 0)  # only its own delete counts
    assert await w.job_ids() == []
    assert w.log(first) not in w.files.logs and w.log(second) not in w.files.logs


async def test_large_prunes_are_committed_in_batches(w: World):
    script_id = await w.script("s")
    for _ in range(7):
        await w.job(script_id, JobStatus.SUCCEEDED, age=40 * DAY)
    keep = await w.job(script_id, JobStatus.SUCCEEDED)
    commits = w.store.commits
    assert (await w.sweeper(batch=3).sweep()).jobs_deleted == 7
    assert w.store.commits - commits == 3  # 3 + 3 + 1
    assert await w.job_ids() == [keep.id]


async def test_run_sweeps_at_start_and_then_every_interval_until_stopped(w: World):
    script_id = await w.script("idle")
    old = await w.job(script_id, JobStatus.SUCCEEDED, age=31 * DAY)
    later = await w.job(script_id, JobStatus.CANCELLED, age=29 * DAY)
    sweeper = w.sweeper(sweep_seconds=0.01)
    running = asyncio.create_task(sweeper.run())
    try:
        async with asyncio.timeout(WAIT):
            while old.id in await w.job_ids():
                await asyncio.sleep(0.005)
            assert later.id in await w.job_ids()
            w.clock.advance(days=2)  # no job ends: only the next sweep can see it aged
            while later.id in await w.job_ids():
                await asyncio.sleep(0.005)
        assert w.log(later) not in w.files.logs
    finally:
        sweeper.stop()
        async with asyncio.timeout(WAIT):
            await running


async def test_a_failing_sweep_does_not_end_the_loop(w: World):
    script_id = await w.script("s")
    old = await w.job(script_id, JobStatus.SUCCEEDED, age=31 * DAY)
    broken = True

    def flaky_uow() -> UnitOfWork:
        if broken:
            raise ConnectionError("database unreachable")
        return w.store.uow()

    sweeper = w.sweeper(uow=flaky_uow, sweep_seconds=0.01)
    running = asyncio.create_task(sweeper.run())
    try:
        await asyncio.sleep(0.05)  # some sweeps fail meanwhile
        assert old.id in await w.job_ids()
        broken = False
        async with asyncio.timeout(WAIT):
            while old.id in await w.job_ids():
                await asyncio.sleep(0.005)
    finally:
        sweeper.stop()
        async with asyncio.timeout(WAIT):
            await running


@pytest.mark.parametrize("value", ["0", "-5", "inf", "nan"])
def test_the_sweep_interval_must_be_a_positive_number(value: str):
    with pytest.raises(ConfigError, match=r"jobs\.retention_sweep_seconds"):
        load_config(env={"SCRIPTER_JOBS_RETENTION_SWEEP_SECONDS": value})


def test_the_sweep_interval_is_configurable():
    config = load_config(env={"SCRIPTER_JOBS_RETENTION_SWEEP_SECONDS": "90"})
    assert config.jobs.retention_sweep_seconds == 90.0
