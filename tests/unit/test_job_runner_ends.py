"""How a job's end is recorded, on every path that ends one: the log limit, a stop
that a script resists, an end recorded only after a restart, containers of other
workers, and jobs whose worker never comes back. With in-memory fakes; the real
engine runs the same cases in tests/integration/test_jobs.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from scripter.domain.events import JobCancelRequested
from scripter.domain.jobs import Job, JobStatus
from scripter.services.job_runner import JobRunner, RunnerSettings
from tests.unit.fake_runtime import FakeContainerRuntime
from tests.unit.test_job_runner import WAIT, World, make_world

LIMIT = 10
NOTICE = f"\n[scripter] output cut: the log reached its limit of {LIMIT} bytes.\n"
TIMEOUT = 60
"""The test script's timeout (tests.unit.test_job_runner.add_script)."""


def ignore_sigterm(runtime: FakeContainerRuntime) -> None:
    """From now on the engine's containers ignore SIGTERM: ``stop`` ends one only with
    the SIGKILL at the end of the grace (or when something else ends it first)."""

    async def stop(container_id: str, grace_seconds: float = 10) -> None:
        container = runtime.containers.get(container_id)
        if container is None:
            return
        try:
            await asyncio.wait_for(container.stopped.wait(), grace_seconds)
        except TimeoutError:
            runtime.exit(container_id, 137)

    runtime.stop = stop  # type: ignore[method-assign]


def another_worker(w: World, **settings: Any) -> JobRunner:
    """A second worker process on the same database, engine and data directory."""
    return JobRunner(
        uow=w.store.uow,
        files=w.files,
        runtime=w.runtime,
        clock=w.clock,
        settings=RunnerSettings(
            **{"poll_seconds": 0.005, "slow_check_seconds": 3600.0, "log_limit_bytes": LIMIT}
            | settings
        ),
    )


async def started(w: World) -> Job:
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    return await w.job(request.job_id)


def log_of(w: World, job: Job) -> bytearray:
    return w.files.logs[w.files.root / str(job.log_path)]


async def no_containers(w: World) -> None:
    async with asyncio.timeout(WAIT):
        while w.runtime.containers:
            await asyncio.sleep(0.005)


@pytest.fixture
async def w() -> AsyncIterator[World]:
    world = await make_world(log_limit_bytes=LIMIT)
    yield world
    await world.runner.stop()


# --- G1: the log limit holds on every path -----------------------------------------


async def test_a_log_past_the_limit_when_the_job_exits_at_once_is_cut(w: World):
    job = await started(w)
    # Written and exited before the supervisor looks again: it sees the exit first.
    log_of(w, job).extend(b"x" * 10 * LIMIT)
    w.runtime.exit(w.container(job.require_id).id, 0)
    ended = await w.until(job.require_id, *(s for s in JobStatus if s.is_final))
    assert (ended.status, ended.exit_code, ended.log_truncated) == (JobStatus.FAILED, 0, True)
    assert ended.error == f"output passed the log limit of {LIMIT} bytes"
    assert log_of(w, job) == b"x" * LIMIT + NOTICE.encode()
    await no_containers(w)


async def test_a_log_past_the_limit_found_after_a_restart_is_cut(w: World):
    job = await started(w)
    await w.runner.stop()  # the worker dies; the job writes on and exits 3
    log_of(w, job).extend(b"y" * 10 * LIMIT)
    w.runtime.exit(w.container(job.require_id).id, 3)
    fresh = another_worker(w)
    await fresh.recover()
    ended = await w.job(job.require_id)
    assert (ended.status, ended.exit_code, ended.log_truncated) == (JobStatus.FAILED, 3, True)
    assert ended.error == f"output passed the log limit of {LIMIT} bytes; exit code 3"
    assert log_of(w, job) == b"y" * LIMIT + NOTICE.encode()
    assert w.runtime.containers == {}
    await fresh.stop()


async def test_a_log_within_the_limit_is_left_alone(w: World):
    job = await started(w)
    log_of(w, job).extend(b"z" * LIMIT)
    w.runtime.exit(w.container(job.require_id).id, 0)
    ended = await w.until(job.require_id, JobStatus.SUCCEEDED)
    assert not ended.log_truncated and log_of(w, job) == b"z" * LIMIT


# --- G2: past the limit, the job is killed, not given the SIGTERM grace -------------


async def test_the_log_limit_kills_at_once_a_script_that_ignores_sigterm():
    # A stop would wait the whole (huge) grace; only a kill ends it within the test.
    w = await make_world(log_limit_bytes=LIMIT, stop_grace_seconds=3600.0)
    ignore_sigterm(w.runtime)
    try:
        job = await started(w)
        log_of(w, job).extend(b"x" * 3 * LIMIT)
        ended = await w.until(job.require_id, JobStatus.FAILED)
        assert (ended.exit_code, ended.log_truncated) == (137, True)
        assert ended.error == (
            f"output passed the log limit of {LIMIT} bytes; exit code 137: killed by SIGKILL"
        )
        assert log_of(w, job) == b"x" * LIMIT + NOTICE.encode()
        await no_containers(w)
    finally:
        await w.runner.stop()


@pytest.mark.parametrize("reason", ["cancel", "timeout"])
async def test_a_script_writing_past_the_limit_during_the_stop_grace_is_killed(reason: str):
    w = await make_world(log_limit_bytes=LIMIT, stop_grace_seconds=3600.0)
    ignore_sigterm(w.runtime)
    try:
        job = await started(w)
        if reason == "cancel":
            await w.jobs.cancel(job.require_id)
            await w.runner.handle_cancel_requested(JobCancelRequested(job_id=job.require_id))
        else:
            w.clock.advance(seconds=TIMEOUT + 1)
        await asyncio.sleep(0.05)  # the stop was sent; the script writes on in its grace
        assert (await w.job(job.require_id)).status == JobStatus.RUNNING
        log_of(w, job).extend(b"w" * 5 * LIMIT)
        status = JobStatus.CANCELLED if reason == "cancel" else JobStatus.TIMED_OUT
        ended = await w.until(job.require_id, status)
        assert (ended.exit_code, ended.log_truncated) == (137, True)
        assert ended.error is not None
        assert ended.error.endswith(
            f"; output passed the log limit of {LIMIT} bytes; exit code 137: killed by SIGKILL"
        )
        assert log_of(w, job) == b"w" * LIMIT + NOTICE.encode()
        await no_containers(w)
    finally:
        await w.runner.stop()


# --- G3: a stop whose worker died before recording it ------------------------------


async def test_a_cancel_stopped_before_a_restart_is_recorded_cancelled(w: World):
    job = await started(w)
    await w.runner.stop()  # the worker dies ...
    await w.jobs.cancel(job.require_id)
    w.runtime.exit(w.container(job.require_id).id, 143)  # ... after stopping it
    fresh = another_worker(w)
    await fresh.recover()
    ended = await w.job(job.require_id)
    assert (ended.status, ended.exit_code) == (JobStatus.CANCELLED, 143)
    assert ended.error == "cancelled on request"
    await fresh.stop()


async def test_a_timeout_stopped_before_a_restart_is_recorded_timed_out(w: World):
    job = await started(w)
    await w.runner.stop()
    deadline = w.clock.advance(seconds=TIMEOUT)
    container = w.container(job.require_id)
    w.runtime.exit(container.id, 143)
    container.finished_at = deadline + timedelta(seconds=1)
    w.clock.advance(seconds=30)
    fresh = another_worker(w)
    await fresh.recover()
    ended = await w.job(job.require_id)
    assert (ended.status, ended.exit_code) == (JobStatus.TIMED_OUT, 143)
    assert ended.error == f"ran past its timeout of {TIMEOUT} s"
    await fresh.stop()


async def test_an_exit_before_the_deadline_recorded_after_it_keeps_its_exit_code(w: World):
    job = await started(w)
    await w.runner.stop()
    container = w.container(job.require_id)
    w.runtime.exit(container.id, 5)
    container.finished_at = w.clock.advance(seconds=TIMEOUT - 1)
    w.clock.advance(seconds=3600)  # the next worker starts long after the deadline
    fresh = another_worker(w)
    await fresh.recover()
    ended = await w.job(job.require_id)
    assert (ended.status, ended.exit_code, ended.error) == (JobStatus.FAILED, 5, "exit code 5")
    await fresh.stop()


# --- G4: other workers' containers, and workers that never come back ---------------


async def test_a_restarted_worker_takes_no_slots_for_containers_it_re_attaches_to():
    w = await make_world(concurrency=3, log_limit_bytes=LIMIT)
    try:
        # Another worker (w.runner, alive) runs three jobs on the shared engine.
        others = [await started(w) for _ in range(3)]
        fresh = another_worker(w, concurrency=1)
        await asyncio.wait_for(fresh.recover(), WAIT)  # waited for a slot before
        mine = await w.queue()
        await asyncio.wait_for(fresh.handle_job_requested(mine), WAIT)
        assert (await w.job(mine.job_id)).status == JobStatus.RUNNING
        # It follows the others' jobs too: their ends are recorded once.
        for job in others:
            w.runtime.exit(w.container(job.require_id).id, 0)
        for job in others:
            assert (await w.until(job.require_id, JobStatus.SUCCEEDED)).exit_code == 0
        # Its one slot was its own job's: it is still taken, and freed at its end.
        second = await w.queue()
        waiting = asyncio.create_task(fresh.handle_job_requested(second))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        w.runtime.exit(w.container(mine.job_id).id, 0)
        await asyncio.wait_for(waiting, WAIT)
        assert (await w.job(second.job_id)).status == JobStatus.RUNNING
        await fresh.stop()
    finally:
        await w.runner.stop()


async def test_a_sweep_records_jobs_of_a_worker_gone_for_good(w: World):
    ended, vanished, running = [await started(w) for _ in range(3)]
    gone = w.runner
    await gone.stop()  # scaled down: it never starts again
    w.runtime.exit(w.container(ended.require_id).id, 4)
    del w.runtime.containers[w.container(vanished.require_id).id]
    survivor = another_worker(w)
    await survivor.sweep_orphans()
    assert (await w.job(ended.require_id)).exit_code == 4
    lost = await w.job(vanished.require_id)
    assert lost.status == JobStatus.LOST and lost.error == "its container vanished"
    # A container still running within its timeout is its (possibly live) worker's.
    assert (await w.job(running.require_id)).status == JobStatus.RUNNING
    assert [c.status for c in w.runtime.containers.values()] == ["running"]
    # Past its timeout and stop grace, nobody stopped it: the sweep follows it, which
    # stops it.
    w.clock.advance(seconds=TIMEOUT + 11)
    await survivor.sweep_orphans()
    timed_out = await w.until(running.require_id, JobStatus.TIMED_OUT)
    assert timed_out.exit_code == 143
    await no_containers(w)
    await survivor.stop()


async def test_a_sweep_stops_a_cancelled_job_nobody_follows(w: World):
    job = await started(w)
    await w.runner.stop()
    await w.jobs.cancel(job.require_id)  # heard by no worker
    survivor = another_worker(w)
    await survivor.sweep_orphans()
    ended = await w.until(job.require_id, JobStatus.CANCELLED)
    assert ended.exit_code == 143
    await no_containers(w)
    await survivor.stop()


async def set_engine(w: World, job_id: int, engine: str) -> None:
    async with w.store.uow() as uow:
        job = await uow.jobs.get(job_id)
        job.engine_id = engine
        await uow.jobs.update(job)
        await uow.commit()


async def engine_alive(w: World, engine: str) -> None:
    """A worker of ``engine`` (elsewhere) reports alive now."""
    async with w.store.uow() as uow:
        await uow.jobs.engine_seen(engine, w.clock.now())
        await uow.commit()


async def test_a_job_on_an_engine_whose_worker_does_not_report_it_is_lost_after_its_timeout(
    w: World,
):
    """Its engine still reports alive (a worker there is stuck, or lost track of it):
    past its timeout, stop grace and ``lost_after_seconds``, the job is lost."""
    job = await started(w)
    await w.runner.stop()
    await set_engine(w, job.require_id, "engine-of-a-retired-host")
    survivor = another_worker(w, lost_after_seconds=300.0, stop_grace_seconds=10.0)
    w.clock.advance(seconds=TIMEOUT + 10 + 299)
    await engine_alive(w, "engine-of-a-retired-host")
    await survivor.sweep_orphans()
    assert (await w.job(job.require_id)).status == JobStatus.RUNNING
    w.clock.advance(seconds=1)
    await engine_alive(w, "engine-of-a-retired-host")
    await survivor.sweep_orphans()
    lost = await w.job(job.require_id)
    assert lost.status == JobStatus.LOST and lost.exit_code is None
    assert lost.error == (
        "its worker on engine engine-of-a-retired-host did not report back 300 s after its timeout"
    )
    await survivor.stop()


async def test_a_job_without_a_timeout_is_lost_once_its_engine_stops_reporting(w: World):
    async with w.store.uow() as uow:
        script = await uow.scripts.get(1)
        script.timeout_seconds = None
        revision = script.revise(await uow.scripts.get_revision(1, 1), w.clock.now(), None)
        assert revision is not None
        await uow.scripts.add_revision(revision)
        await uow.scripts.update(script)
        await uow.commit()
    job = await started(w)
    await w.runner.stop()
    await set_engine(w, job.require_id, "engine-of-a-retired-host")
    survivor = another_worker(w, lost_after_seconds=600.0)
    # Days (fewer than retention's 30, which would delete it once it ends).
    w.clock.advance(timedelta(days=3))
    await engine_alive(w, "engine-of-a-retired-host")  # its workers live: not judged
    await survivor.sweep_orphans()
    assert (await w.job(job.require_id)).status == JobStatus.RUNNING
    w.clock.advance(seconds=600)  # then they go, for good (silent for 600 s: not yet)
    await survivor.sweep_orphans()
    assert (await w.job(job.require_id)).status == JobStatus.RUNNING
    w.clock.advance(seconds=1)
    await survivor.sweep_orphans()
    lost = await w.job(job.require_id)
    assert lost.status == JobStatus.LOST and lost.exit_code is None
    assert lost.error == (
        "no worker of engine engine-of-a-retired-host has reported for 600 s (its workers are gone)"
    )
    await survivor.stop()


async def test_a_job_just_started_on_an_engine_not_reported_yet_is_left_alone(w: World):
    """A worker reports its engine when its sweep starts; a job it started before that
    is not lost for the missing report until it has run ``lost_after_seconds``."""
    job = await started(w)
    await w.runner.stop()
    await set_engine(w, job.require_id, "engine-new")
    survivor = another_worker(w, lost_after_seconds=600.0)
    w.clock.advance(seconds=599)
    await survivor.sweep_orphans()
    assert (await w.job(job.require_id)).status == JobStatus.RUNNING
    await survivor.stop()


async def test_a_worker_reports_its_engine_alive(w: World):
    survivor = another_worker(w, orphan_sweep_seconds=3600.0)
    await survivor.recover()  # starts the sweep loop, which reports first
    async with asyncio.timeout(WAIT):
        while "fake-engine" not in w.store.engine_heartbeats:
            await asyncio.sleep(0.005)
    assert w.store.engine_heartbeats["fake-engine"] == w.clock.now()
    w.clock.advance(seconds=5)
    await survivor.report_alive()
    assert w.store.engine_heartbeats["fake-engine"] == w.clock.now()
    await survivor.stop()


async def test_the_sweep_runs_by_itself_after_recovery(w: World):
    survivor = another_worker(w, orphan_sweep_seconds=0.01)
    await survivor.recover()  # nothing runs yet; from now on it sweeps
    job = await started(w)  # another worker starts a job ...
    await w.runner.stop()  # ... and goes away for good
    w.runtime.exit(w.container(job.require_id).id, 6)
    ended = await w.until(job.require_id, JobStatus.FAILED)
    assert (ended.exit_code, ended.error) == (6, "exit code 6")
    await no_containers(w)
    await survivor.stop()
