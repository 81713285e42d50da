"""A worker whose Docker engine lacks a job's image (a worker on another host than the
one that built it) builds the image there from its definition, then runs the job; the
image's record is left as it is. With in-memory fakes; the real engine in
tests/integration/test_jobs_api.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from scripter.domain.events import DomainEvent, ImageBuildRequested
from scripter.domain.images import ImageStatus
from scripter.domain.jobs import JobStatus
from scripter.domain.ports import ContainerRuntime, FileStore, UnitOfWorkFactory
from scripter.services.images import ImageService, ImageSettings
from scripter.services.job_runner import JobRunner, RunnerSettings
from tests.unit.fake_runtime import BuildScript
from tests.unit.test_job_runner import World, make_world

HERE_NOTE = "is not on this worker's Docker engine: building it here"


@dataclass
class Elsewhere:
    """A world whose script runs on an image built on another engine: the record says
    built, this worker's engine has no such image."""

    w: World
    images: ImageService
    runner: JobRunner
    image_id: int
    tag: str
    docker_image_id: str

    def log_of(self, job_log_path: str | None) -> str:
        return bytes(self.w.files.logs[self.w.files.root / str(job_log_path)]).decode()


@pytest.fixture
async def elsewhere() -> AsyncIterator[Elsewhere]:
    w = await make_world()
    uow: UnitOfWorkFactory = w.store.uow
    files: FileStore = w.files
    runtime: ContainerRuntime = w.runtime
    images = ImageService(
        uow=uow, files=files, runtime=runtime, clock=w.clock, settings=ImageSettings()
    )
    created = await images.create(name="etl", requirements="httpx\n")
    image_id = created.image.require_id
    await images.request_build(image_id)
    async for event in _pending_builds(w):
        await images.handle_build_requested(event)
    async with w.store.uow() as u:
        image = await u.images.get(image_id)
        assert image.status == ImageStatus.BUILT and image.tag
        script = await u.scripts.get(1)
        script.image_id = image_id
        await u.scripts.update(script)
        await u.commit()
    w.runtime.images.clear()  # another engine: none of its images are here
    builds_before = len(w.runtime.builds)
    runner = JobRunner(
        uow=uow,
        files=files,
        runtime=runtime,
        clock=w.clock,
        settings=RunnerSettings(poll_seconds=0.005, slow_check_seconds=3600.0),
        ensure_image=images.ensure_built_here,
    )
    await runner.recover()
    world = Elsewhere(w, images, runner, image_id, image.tag, str(image.docker_image_id))
    assert len(w.runtime.builds) == builds_before
    yield world
    await runner.stop()
    await w.runner.stop()


async def _pending_builds(w: World) -> AsyncIterator[DomainEvent]:
    for event in await w.events():
        if isinstance(event, ImageBuildRequested):
            yield event


async def test_the_missing_image_is_built_here_then_the_job_runs(elsewhere: Elsewhere):
    e = elsewhere
    builds = len(e.w.runtime.builds)
    request = await e.w.queue()
    await e.runner.handle_job_requested(request)
    job = await e.w.job(request.job_id)
    assert job.status == JobStatus.RUNNING, job.error
    assert [b.tag for b in e.w.runtime.builds[builds:]] == [e.tag]
    assert e.w.runtime.builds[-1].files is not None
    assert "requirements.txt" in e.w.runtime.builds[-1].files  # the image's own definition
    assert e.w.container(job.require_id).spec.image == e.tag
    log = e.log_of(job.log_path)
    assert log.startswith(f"[scripter] image {e.tag} {HERE_NOTE}\n[scripter] built {e.tag} (")
    async with e.w.store.uow() as uow:  # the record still names the first build
        image = await uow.images.get(e.image_id)
    assert (image.status, image.tag, image.docker_image_id) == (
        ImageStatus.BUILT,
        e.tag,
        e.docker_image_id,
    )


async def test_jobs_that_need_the_same_missing_image_wait_for_one_build(elsewhere: Elsewhere):
    e = elsewhere
    builds = len(e.w.runtime.builds)
    requests = [await e.w.queue() for _ in range(3)]
    await asyncio.gather(*(e.runner.handle_job_requested(r) for r in requests))
    assert [b.tag for b in e.w.runtime.builds[builds:]] == [e.tag]
    for request in requests:
        assert (await e.w.job(request.job_id)).status == JobStatus.RUNNING


async def test_a_build_that_fails_here_fails_the_job_with_why(elsewhere: Elsewhere):
    e = elsewhere
    e.w.runtime.next_build = BuildScript(fail="pip could not reach the index")
    request = await e.w.queue()
    await e.runner.handle_job_requested(request)
    job = await e.w.job(request.job_id)
    assert job.status == JobStatus.FAILED and job.exit_code is None
    assert job.error == (
        f"its image {e.tag} is not on this worker's Docker engine and could not be built"
        " here: pip could not reach the index"
    )
    assert e.log_of(job.log_path) == f"[scripter] image {e.tag} {HERE_NOTE}\n"
    assert e.w.runtime.containers == {}


async def test_an_image_rebuilt_under_another_tag_meanwhile_is_not_built_here(
    elsewhere: Elsewhere,
):
    e = elsewhere
    request = await e.w.queue()  # names the current tag
    async with e.w.store.uow() as uow:  # then the image moves on (say, renamed and rebuilt)
        image = await uow.images.get(e.image_id)
        image.tag = e.tag + "-new"
        await uow.images.update(image)
        await uow.commit()
    builds = len(e.w.runtime.builds)
    await e.runner.handle_job_requested(request)
    job = await e.w.job(request.job_id)
    assert job.status == JobStatus.FAILED
    assert f"is built as {e.tag}-new, not {e.tag}: rebuild it" in str(job.error)
    assert len(e.w.runtime.builds) == builds


async def test_without_a_builder_a_missing_image_fails_the_start_as_before():
    w = await make_world()
    try:
        w.runtime.images.clear()
        request = await w.queue()
        await w.runner.handle_job_requested(request)
        job = await w.job(request.job_id)
        assert job.status == JobStatus.FAILED
        assert "the container could not start" in str(job.error)
        assert w.runtime.builds == []
    finally:
        await w.runner.stop()
