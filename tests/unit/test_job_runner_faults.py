"""The worker's side of jobs when the database, the engine or the disk fail it
(tests/fault proves the same against the real services)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scripter.domain.jobs import JobStatus, exit_reason
from scripter.domain.ports import UnitOfWork
from scripter.services.job_runner import JobRunner, RunnerSettings
from tests.unit.fakes import FakeStore
from tests.unit.test_job_runner import WAIT, World, make_world


class DatabaseDown(ConnectionError):
    pass


class Flaky:
    """A unit-of-work factory whose database can be switched off."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.down = False
        self.refused = 0

    def __call__(self, **kwargs: Any) -> UnitOfWork:
        if self.down:
            self.refused += 1
            raise DatabaseDown("Can't connect to MySQL server")
        return self.store.uow(**kwargs)


async def flaky_world(**settings: Any) -> tuple[World, Flaky]:
    """``make_world``, with a runner on a database that can go down."""
    w = await make_world()
    await w.runner.stop()
    database = Flaky(w.store)
    w.runner = JobRunner(
        uow=database,
        files=w.files,
        runtime=w.runtime,
        clock=w.clock,
        settings=RunnerSettings(
            poll_seconds=0.005,
            slow_check_seconds=3600.0,
            name_race_seconds=0.05,
            retry_seconds=0.01,
            retry_max_seconds=0.02,
            **settings,
        ),
    )
    await w.runner.recover()
    return w, database


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[World, Flaky]]:
    w, database = await flaky_world()
    yield w, database
    await w.runner.stop()


async def until_refused(database: Flaky, more_than: int) -> None:
    async with asyncio.timeout(WAIT):
        while database.refused <= more_than:
            await asyncio.sleep(0.005)


async def test_an_end_is_recorded_once_the_database_is_back(flaky: tuple[World, Flaky]):
    w, database = flaky
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    database.down = True
    w.runtime.exit(w.container(request.job_id).id, 3)
    await until_refused(database, 2)  # tried, failed, tried again
    assert (await w.job(request.job_id)).status == JobStatus.RUNNING
    database.down = False
    job = await w.until(request.job_id, JobStatus.FAILED)
    assert (job.exit_code, job.error) == (3, "exit code 3")
    async with asyncio.timeout(WAIT):
        while w.runtime.containers:  # removed once recorded
            await asyncio.sleep(0.005)


async def test_an_end_is_recorded_once_the_engine_answers_again(flaky: tuple[World, Flaky]):
    w, _ = flaky
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    container = w.container(request.job_id)
    w.runtime.down = True  # the engine stops, and ends its containers (SIGTERM)
    w.runtime.exit(container.id, 143)
    await asyncio.sleep(0.1)
    assert (await w.job(request.job_id)).status == JobStatus.RUNNING
    w.runtime.down = False
    job = await w.until(request.job_id, JobStatus.FAILED)
    assert (job.exit_code, job.error) == (143, "exit code 143: killed by SIGTERM")


async def test_a_container_gone_while_supervised_is_lost_with_the_reason(w: World):
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    await w.runtime.remove_container(w.container(request.job_id).id)
    job = await w.until(request.job_id, JobStatus.LOST)
    assert job.error == "its container vanished"


async def test_a_start_is_recorded_once_the_database_is_back():
    w, database = await flaky_world()
    try:
        request = await w.queue()
        original = w.runtime.run

        async def run_then_lose_the_database(spec: Any) -> str:
            container_id = await original(spec)
            database.down = True  # between starting the container and recording it
            return container_id

        w.runtime.run = run_then_lose_the_database  # type: ignore[method-assign]
        handled = asyncio.create_task(w.runner.handle_job_requested(request))
        await until_refused(database, 2)
        database.down = False
        await handled
        job = await w.job(request.job_id)
        assert job.status == JobStatus.RUNNING
        assert job.container_id == w.container(request.job_id).id
    finally:
        await w.runner.stop()


async def test_a_start_never_recorded_stops_its_container_and_goes_back_to_the_queue():
    w, database = await flaky_world(start_record_patience_seconds=0.05)
    try:
        request = await w.queue()
        original = w.runtime.run

        async def run_then_lose_the_database(spec: Any) -> str:
            container_id = await original(spec)
            database.down = True
            return container_id

        w.runtime.run = run_then_lose_the_database  # type: ignore[method-assign]
        with pytest.raises(DatabaseDown):
            await w.runner.handle_job_requested(request)  # the bus redelivers it
        database.down = False
        assert w.runtime.containers == {}  # not left running beside a fresh start
        assert (await w.job(request.job_id)).status == JobStatus.QUEUED
    finally:
        await w.runner.stop()


@pytest.fixture
async def w() -> AsyncIterator[World]:
    world = await make_world()
    yield world
    await world.runner.stop()


async def test_a_job_failing_on_a_full_disk_says_so(w: World):
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    w.files.free = 4096  # the job's prints failed with ENOSPC
    w.runtime.exit(w.container(request.job_id).id, 1)
    job = await w.until(request.job_id, JobStatus.FAILED)
    assert job.error == (
        "the disk holding its log is full (4096 bytes free), so its output could not all "
        "be written; exit code 1"
    )


async def test_a_job_that_succeeds_on_a_full_disk_is_not_blamed_on_it(w: World):
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    w.files.free = 0
    w.runtime.exit(w.container(request.job_id).id, 0)
    job = await w.until(request.job_id, JobStatus.SUCCEEDED)
    assert job.error is None


async def test_a_job_whose_files_cannot_be_written_fails_with_the_reason(w: World):
    w.files.free = 0
    request = await w.queue()
    await w.runner.handle_job_requested(request)  # not raised: no redelivery loop
    job = await w.job(request.job_id)
    assert job.status == JobStatus.FAILED and w.runtime.containers == {}
    assert job.error is not None
    assert job.error.startswith("its files could not be written to the data directory")
    assert "No space left on device" in job.error


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (1, "exit code 1"),
        (137, "exit code 137: killed by SIGKILL"),
        (143, "exit code 143: killed by SIGTERM"),
        (200, "exit code 200"),
    ],
)
def test_exit_reasons_name_the_signal(code: int, reason: str):
    assert exit_reason(code) == reason
