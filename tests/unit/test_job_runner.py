"""The worker's side of jobs with in-memory fakes: what it starts, how it supervises,
how it recovers. The real engine is exercised in tests/integration/test_jobs.py."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from scripter.domain.events import DomainEvent, JobCancelRequested, JobRequested
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus, JobTrigger
from scripter.domain.ports import ContainerRuntime, FileStore, UnitOfWorkFactory
from scripter.domain.scripts import EnvVar, ResourceLimits, Script, ScriptRevision
from scripter.services.job_runner import JobRunner, RunnerSettings
from scripter.services.jobs import JobService
from tests.unit.fake_files import FakeFileStore
from tests.unit.fake_runtime import FakeContainerRuntime
from tests.unit.fakes import FakeOutbox, FakeStore, FixedClock

TAG = "scripter/base:1"
WAIT = 5.0


@dataclass
class World:
    clock: FixedClock
    store: FakeStore
    files: FakeFileStore
    runtime: FakeContainerRuntime
    runner: JobRunner
    jobs: JobService

    async def job(self, job_id: int) -> Job:
        async with self.store.uow() as uow:
            return await uow.jobs.get(job_id)

    async def events(self) -> list[DomainEvent]:
        return [m.event for m in await FakeOutbox(self.store).pending(limit=1000)]

    async def queue(self, script_id: int = 1, **kwargs: Any) -> JobRequested:
        job = await self.jobs.run_now(script_id, **kwargs)
        return JobRequested(job_id=job.require_id, script_id=script_id)

    async def until(self, job_id: int, *statuses: JobStatus) -> Job:
        async with asyncio.timeout(WAIT):
            while (job := await self.job(job_id)).status not in statuses:
                await asyncio.sleep(0.005)
        return job

    def container(self, job_id: int) -> Any:
        found = [
            c
            for c in self.runtime.containers.values()
            if c.spec.labels["scripter.job_id"] == str(job_id)
        ]
        assert len(found) == 1, found
        return found[0]


async def make_world(**settings: Any) -> World:
    clock = FixedClock()
    store = FakeStore(clock)
    files = FakeFileStore(clock=clock)
    runtime = FakeContainerRuntime(files)
    runtime.add_image("sha256:base", TAG)
    uow: UnitOfWorkFactory = store.uow
    file_port: FileStore = files
    runtime_port: ContainerRuntime = runtime
    runner = JobRunner(
        uow=uow,
        files=file_port,
        runtime=runtime_port,
        clock=clock,
        settings=RunnerSettings(
            **{
                "poll_seconds": 0.005,
                "slow_check_seconds": 3600.0,
                "name_race_seconds": 0.05,
                **settings,
            }
        ),
    )
    world = World(
        clock, store, files, runtime, runner, JobService(uow=uow, files=files, clock=clock)
    )
    await add_script(world)
    await runner.recover()
    return world


async def add_script(w: World, **fields: Any) -> None:
    now = w.clock.now()
    async with w.store.uow() as uow:
        image = await uow.images.add(
            Image(
                name="base",
                status=ImageStatus.BUILT,
                tag=TAG,
                docker_image_id="sha256:base",
                created_at=now,
                updated_at=now,
            )
        )
        script = Script(
            name="job",
            image_id=image.require_id,
            current_revision=1,
            env=[EnvVar(name="A", value="1"), EnvVar(name="TOKEN", value="t", secret=True)],
            args=["x"],
            limits=ResourceLimits(memory_mb=64, cpus=0.5, pids=32),
            timeout_seconds=60,
            created_at=now,
            updated_at=now,
            **fields,
        )
        script = await uow.scripts.add(script)
        await uow.scripts.add_revision(
            ScriptRevision(
                script_id=script.require_id,
                number=1,
                content_hash="h",
                files={"main.py": base64.b64encode(b"print(1)").decode()},
                settings=script.revision_settings().to_json(),
                created_at=now,
            )
        )
        await uow.commit()


@pytest.fixture
async def w() -> AsyncIterator[World]:
    world = await make_world()
    yield world
    await world.runner.stop()


async def test_starts_a_hardened_container_of_the_revision(w: World):
    request = await w.queue(args=["a", "b"], env={"A": "2"})
    await w.runner.handle_job_requested(request)
    job = await w.job(request.job_id)
    assert job.status == JobStatus.RUNNING and job.engine_id == "fake-engine"
    spec = w.container(job.require_id).spec
    assert spec.image == TAG
    assert list(spec.command[-4:]) == ["python3", "main.py", "a", "b"]
    assert spec.env == {"A": "2", "TOKEN": "t", "PYTHONUNBUFFERED": "1"}
    assert spec.labels["scripter.script_id"] == "1"
    source, log = spec.mounts
    assert source.read_only and source.source == w.files.revision_dir(1, 1)
    assert not log.read_only and log.source == w.files.root / str(job.log_path)
    assert w.files.folders[source.source] == {"main.py": b"print(1)"}
    assert (spec.memory_bytes, spec.nano_cpus, spec.pids_limit) == (64 * 2**20, 500_000_000, 32)
    assert spec.drop_all_capabilities and spec.no_new_privileges and spec.init
    assert spec.network_mode == "none"


@pytest.mark.parametrize(
    ("configured", "per_script", "read_only"),
    [(True, None, True), (False, None, False), (True, False, False), (False, True, True)],
)
async def test_the_script_chooses_the_read_only_root_and_tmp_is_always_writable(
    configured: bool, per_script: bool | None, read_only: bool
):
    w = await make_world(read_only_root=configured, tmp_size_mb=64)
    try:
        async with w.store.uow() as uow:  # revision 2 of the script says so
            script = await uow.scripts.get(1)
            script.read_only_root = per_script
            revision = script.revise(await uow.scripts.get_revision(1, 1), w.clock.now(), None)
            await uow.scripts.update(script)
            if revision is not None:
                await uow.scripts.add_revision(revision)
            await uow.commit()
        request = await w.queue()
        await w.runner.handle_job_requested(request)
        spec = w.container(request.job_id).spec
        assert spec.read_only_rootfs is read_only
        assert spec.tmpfs == {"/tmp": "rw,nosuid,nodev,size=64m"}
    finally:
        await w.runner.stop()


async def test_a_second_delivery_starts_nothing_more(w: World):
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    await w.runner.handle_job_requested(request)
    assert len(w.runtime.containers) == 1


@pytest.mark.parametrize(
    ("code", "oom", "status", "error"),
    [
        (0, False, JobStatus.SUCCEEDED, None),
        (3, False, JobStatus.FAILED, "exit code 3"),
        (137, True, JobStatus.FAILED, "killed by the kernel: out of memory (limit of 64 MB)"),
    ],
)
async def test_the_exit_decides_the_status_and_the_container_goes(
    w: World, code: int, oom: bool, status: JobStatus, error: str | None
):
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    container = w.container(request.job_id)
    container.oom_killed = oom
    w.runtime.exit(container.id, code)
    job = await w.until(request.job_id, status)
    assert (job.exit_code, job.error, job.oom_killed) == (code, error, oom)
    async with asyncio.timeout(WAIT):
        while w.runtime.containers:
            await asyncio.sleep(0.005)


async def test_cancel_stops_the_running_container(w: World):
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    await w.jobs.cancel(request.job_id)
    cancel = [e for e in await w.events() if isinstance(e, JobCancelRequested)][-1]
    await w.runner.handle_cancel_requested(cancel)
    job = await w.until(request.job_id, JobStatus.CANCELLED)
    assert job.error == "cancelled on request" and job.exit_code == 143


async def test_a_job_cancelled_while_queued_is_never_started(w: World):
    request = await w.queue()
    await w.jobs.cancel(request.job_id)
    await w.runner.handle_job_requested(request)
    assert w.runtime.containers == {}
    assert (await w.job(request.job_id)).status == JobStatus.CANCELLED


async def test_timeout_stops_the_job(w: World):
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    w.clock.advance(seconds=61)
    job = await w.until(request.job_id, JobStatus.TIMED_OUT)
    assert job.error == "ran past its timeout of 60 s"


async def test_output_past_the_limit_is_cut_and_the_job_stopped():
    w = await make_world(log_limit_bytes=10)
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    job = await w.job(request.job_id)
    path = w.files.root / str(job.log_path)
    w.files.logs[path].extend(b"0123456789abcdef")
    job = await w.until(request.job_id, JobStatus.FAILED)
    assert job.log_truncated
    assert w.files.log_text(path).startswith("0123456789\n[scripter] output cut")
    await w.runner.stop()


async def test_a_container_that_cannot_start_fails_the_job(w: World):
    w.runtime.images.clear()
    request = await w.queue()
    await w.runner.handle_job_requested(request)
    job = await w.job(request.job_id)
    assert job.status == JobStatus.FAILED and "could not start" in (job.error or "")


async def test_one_slot_runs_jobs_one_after_the_other():
    w = await make_world(concurrency=1)
    first, second = await w.queue(), await w.queue()
    await w.runner.handle_job_requested(first)
    waiting = asyncio.create_task(w.runner.handle_job_requested(second))
    await asyncio.sleep(0.05)
    assert not waiting.done() and (await w.job(second.job_id)).status == JobStatus.QUEUED
    w.runtime.exit(w.container(first.job_id).id, 0)
    await asyncio.wait_for(waiting, WAIT)
    assert (await w.job(second.job_id)).status == JobStatus.RUNNING
    await w.runner.stop()


async def test_recovery_reattaches_records_and_loses(w: World):
    running, ended, vanished, waiting = [await w.queue() for _ in range(4)]
    for request in (running, ended, vanished):
        await w.runner.handle_job_requested(request)
    await w.runner.stop()  # the worker dies; its containers live on
    w.runtime.exit(w.container(ended.job_id).id, 4)
    del w.runtime.containers[w.container(vanished.job_id).id]
    restart = w.clock.advance(seconds=1)
    fresh = JobRunner(
        uow=w.store.uow,
        files=w.files,
        runtime=w.runtime,
        clock=w.clock,
        settings=RunnerSettings(poll_seconds=0.005),
    )
    await fresh.recover(requeue_before=restart)
    assert (await w.job(ended.job_id)).exit_code == 4
    lost = await w.job(vanished.job_id)
    assert lost.status == JobStatus.LOST and "vanished" in (lost.error or "")
    requeued = [e for e in await w.events() if isinstance(e, JobRequested)]
    assert [e.job_id for e in requeued].count(waiting.job_id) == 2
    w.runtime.exit(w.container(running.job_id).id, 0)  # re-attached: its end is seen
    assert (await w.until(running.job_id, JobStatus.SUCCEEDED)).exit_code == 0
    await fresh.stop()


async def test_retention_prunes_old_jobs_and_their_logs():
    w = await make_world(keep_last=1, keep_days=None)
    ids = []
    for _ in range(3):
        request = await w.queue()
        await w.runner.handle_job_requested(request)
        w.runtime.exit(w.container(request.job_id).id, 0)
        await w.until(request.job_id, JobStatus.SUCCEEDED)
        ids.append(request.job_id)
    async with asyncio.timeout(WAIT):
        while len((await w.jobs.list())[0]) > 1:
            await asyncio.sleep(0.005)
    assert [j.require_id for j in (await w.jobs.list())[0]] == [ids[-1]]
    await w.runner.stop()


async def test_run_now_records_what_the_job_will_run(w: World):
    job = await w.jobs.run_now(1, trigger=JobTrigger.MANUAL)
    assert (job.revision, job.image_tag, job.args, job.trigger) == (
        1,
        TAG,
        ["x"],
        JobTrigger.MANUAL,
    )
    assert job.log_path == f"scripts/1/logs/{w.clock.now():%Y-%m-%dT%H-%M-%S}__{job.id}.log"
    assert isinstance((await w.events())[-1], JobRequested)


async def test_run_now_is_refused_while_the_image_is_not_built(w: World):
    async with w.store.uow() as uow:
        image = await uow.images.get(1)
        image.status = ImageStatus.FAILED
        await uow.images.update(image)
        await uow.commit()
    with pytest.raises(Exception, match="build it before running") as caught:
        await w.jobs.run_now(1)
    assert getattr(caught.value, "field", None) == "image_id"


async def test_list_pages_newest_first(w: World):
    ids = [(await w.jobs.run_now(1)).require_id for _ in range(5)]
    page, cursor = await w.jobs.list(limit=2)
    assert [j.require_id for j in page] == ids[:-3:-1] and cursor == ids[3]
    page, cursor = await w.jobs.list(limit=2, before_id=ids[1])
    assert [j.require_id for j in page] == [ids[0]] and cursor is None


async def test_old_queued_jobs_only_are_requested_again(w: World):
    before = await w.queue()
    restart = w.clock.advance(timedelta(seconds=5))
    after = await w.queue()
    fresh = JobRunner(
        uow=w.store.uow, files=w.files, runtime=w.runtime, clock=w.clock, settings=RunnerSettings()
    )
    await fresh.recover(requeue_before=restart)
    requested = [e.job_id for e in await w.events() if isinstance(e, JobRequested)]
    assert requested.count(before.job_id) == 2 and requested.count(after.job_id) == 1


async def test_an_end_recorded_meanwhile_by_another_worker_is_left_alone(
    w: World, caplog: pytest.LogCaptureFixture
):
    """Two workers can follow one container (a restarted worker re-attaches to every
    running container of its namespace, also to one another live worker follows):
    both see it exit and record the end. The slower one's write conflicts; it reads
    the job again, finds it ended, and removes the container instead of failing."""
    request = await w.queue()
    armed = False

    async def the_other_worker_records_the_end() -> None:
        async with w.store.uow() as uow:
            job = await uow.jobs.get(request.job_id)
            job.finish_from_exit(w.clock.now(), 0, oom_killed=False, memory_mb=None)
            await uow.jobs.update(job)
            await uow.commit()

    def racing_uow() -> Any:
        uow = w.store.uow()
        jobs = uow.jobs

        class Jobs:
            def __getattr__(self, name: str) -> Any:
                return getattr(jobs, name)

            async def get(self, job_id: int) -> Job:
                nonlocal armed
                job = await jobs.get(job_id)
                if armed:  # between this read and the write, someone else writes
                    armed = False
                    await the_other_worker_records_the_end()
                return job

        uow.jobs = Jobs()
        return uow

    worker = JobRunner(
        uow=racing_uow,
        files=w.files,
        runtime=w.runtime,
        clock=w.clock,
        settings=RunnerSettings(poll_seconds=0.005, slow_check_seconds=3600.0),
    )
    await worker.recover()
    await worker.handle_job_requested(request)
    await asyncio.sleep(0.05)  # its supervisor has read the job and waits for the exit
    armed = True
    w.runtime.exit(w.container(request.job_id).id, 0)
    async with asyncio.timeout(WAIT):
        while w.runtime.containers:  # removed: the end was handled, not abandoned
            await asyncio.sleep(0.005)
    job = await w.job(request.job_id)
    assert (job.status, job.exit_code) == (JobStatus.SUCCEEDED, 0)
    assert not armed
    assert "failed" not in caplog.text
    await worker.stop()
