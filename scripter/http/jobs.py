"""/api/jobs and /api/scripts/{id}/runs: run now, follow, cancel, read logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_202_ACCEPTED

from scripter.domain.jobs import Job as JobEntity
from scripter.domain.jobs import JobStatus, JobTrigger
from scripter.http.params import Cursor, Id, LogLimit, LogOffset, OptionalId
from scripter.services.jobs import JobService


class Job(msgspec.Struct):
    id: int
    script_id: int
    revision: int
    image_id: int
    image_tag: str | None
    """The tag the job was started by; a later rebuild moves it to another image."""
    docker_image_id: str | None
    """The Docker image the job's container ran (``sha256:...``); null until it starts."""
    trigger: JobTrigger
    schedule_id: int | None
    status: JobStatus
    args: list[str]
    env: dict[str, str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    exit_code: int | None
    oom_killed: bool
    log_truncated: bool
    cancel_requested: bool
    error: str | None
    log_path: str | None


class JobPage(msgspec.Struct):
    items: list[Job]
    next_cursor: int | None


class RunRequest(msgspec.Struct, forbid_unknown_fields=True):
    args: list[str] | None = None
    """Arguments for this run; omit to use the script's default arguments."""
    env: dict[str, str] = msgspec.field(default_factory=dict)
    """Environment variables added to (or replacing) the script's for this run."""
    trigger: Literal["manual", "api"] = "api"
    """Who asks: the browser UI says manual; integrations leave the default."""


def job_view(job: JobEntity) -> Job:
    return Job(
        id=job.require_id,
        script_id=job.script_id,
        revision=job.revision,
        image_id=job.image_id,
        image_tag=job.image_tag,
        docker_image_id=job.docker_image_id,
        trigger=job.trigger,
        schedule_id=job.schedule_id,
        status=job.status,
        args=job.args,
        env=job.env,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        duration_seconds=job.duration_seconds,
        exit_code=job.exit_code,
        oom_killed=job.oom_killed,
        log_truncated=job.log_truncated,
        cancel_requested=job.cancel_requested,
        error=job.error,
        log_path=job.log_path,
    )


class RunController(Controller):
    path = "/api/scripts"
    tags = ["jobs"]

    @post(
        "/{script_id:int}/runs",
        status_code=HTTP_202_ACCEPTED,
        summary="Run the script now: queues a job of its current revision",
    )
    async def run_script(
        self,
        jobs: NamedDependency[JobService],
        script_id: Id,
        data: JSONBody[RunRequest | None] = None,
    ) -> Job:
        request = data or RunRequest()
        job = await jobs.run_now(
            script_id, args=request.args, env=request.env, trigger=JobTrigger(request.trigger)
        )
        return job_view(job)


class JobController(Controller):
    path = "/api/jobs"
    tags = ["jobs"]

    @get("/", summary="List jobs, newest first")
    async def list_jobs(
        self,
        jobs: NamedDependency[JobService],
        script_id: OptionalId = None,
        status: FromQuery[JobStatus | None] = None,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> JobPage:
        page, next_cursor = await jobs.list(
            script_id=script_id, status=status, before_id=cursor, limit=limit
        )
        return JobPage(items=[job_view(j) for j in page], next_cursor=next_cursor)

    @get("/{job_id:int}", summary="One job: status, exit code, duration, revision, trigger")
    async def get_job(self, jobs: NamedDependency[JobService], job_id: Id) -> Job:
        return job_view(await jobs.get(job_id))

    @post(
        "/{job_id:int}/cancel",
        status_code=HTTP_202_ACCEPTED,
        summary="Cancel: a queued job never starts; a running one is stopped",
    )
    async def cancel_job(self, jobs: NamedDependency[JobService], job_id: Id) -> Job:
        return job_view(await jobs.cancel(job_id))

    @get(
        "/{job_id:int}/log",
        media_type="text/plain; charset=utf-8",
        summary="The job's output, whole or from a byte offset",
    )
    async def job_log(
        self,
        jobs: NamedDependency[JobService],
        job_id: Id,
        offset: LogOffset = 0,
        limit: LogLimit = None,
        download: Annotated[bool, QueryParameter(description="as an attachment")] = False,
    ) -> Response[bytes] | Stream:
        if limit is None:
            # The whole rest of the log: streamed in chunks, so a 1 GB log costs no
            # more memory than a small one.
            log, chunks = await jobs.log_chunks(job_id, offset)
            body: bytes | AsyncIterator[bytes] = chunks
        else:
            log = await jobs.read_log(job_id, offset, limit)
            body = log.content
        headers = {"X-Next-Offset": str(log.next_offset), "X-Log-Size": str(log.size)}
        if download and log.file_name:
            headers["Content-Disposition"] = f'attachment; filename="{log.file_name}"'
        if isinstance(body, bytes):
            return Response(body, headers=headers)
        return Stream(body, headers=headers, media_type="text/plain; charset=utf-8")
