"""A job records the Docker image its container ran, by id: the tag it was started by
moves to the next build of its image. Fakes only; the real engine's id is checked in
tests/integration/test_jobs_api.py."""

from __future__ import annotations

from scripter.domain.jobs import JobStatus
from tests.unit.test_job_runner import TAG, make_world


async def test_a_started_job_keeps_the_id_of_the_image_it_ran_after_a_rebuild():
    w = await make_world()
    try:
        first = await w.queue()
        assert (await w.job(first.job_id)).docker_image_id is None  # queued: not known yet
        await w.runner.handle_job_requested(first)
        running = await w.until(first.job_id, JobStatus.RUNNING)
        assert running.docker_image_id == "sha256:base"

        # A rebuild: the tag now names another image.
        w.runtime.images["sha256:base"].discard(TAG)
        w.runtime.add_image("sha256:rebuilt", TAG)
        w.runtime.exit(w.container(first.job_id).id, 0)
        done = await w.until(first.job_id, JobStatus.SUCCEEDED)
        assert (done.image_tag, done.docker_image_id) == (TAG, "sha256:base")

        second = await w.queue()
        await w.runner.handle_job_requested(second)
        assert (await w.until(second.job_id, JobStatus.RUNNING)).docker_image_id == "sha256:rebuilt"
        assert (await w.jobs.get(first.job_id)).docker_image_id == "sha256:base"
    finally:
        await w.runner.stop()
