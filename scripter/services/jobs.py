"""Job use cases on the API side: run a script now, cancel, read jobs and their logs.

The worker's side (starting and supervising containers) is in ``job_runner.py``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from scripter.domain.clock import Clock
from scripter.domain.errors import Conflict, InvalidInput
from scripter.domain.images import ImageStatus
from scripter.domain.jobs import Job, JobStatus, JobTrigger, log_file_name
from scripter.domain.ports import FileStore, UnitOfWork, UnitOfWorkFactory
from scripter.domain.scripts import Script

MAX_ARGS = 200
MAX_ARG_CHARS = 10_000
MAX_ENV = 200
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(kw_only=True, frozen=True)
class JobLog:
    content: bytes
    next_offset: int
    file_name: str | None
    size: int = 0
    """The whole log's size now, so a client can ask for just its tail."""


def validate_run_input(
    args: Sequence[str] | None, env: Mapping[str, str] | None
) -> tuple[list[str] | None, dict[str, str]]:
    """Arguments and environment overrides of one run (from a user, or a schedule)."""
    if args is not None:
        if len(args) > MAX_ARGS:
            raise InvalidInput(f"at most {MAX_ARGS} arguments", field="args")
        for index, arg in enumerate(args):
            if "\x00" in arg or len(arg) > MAX_ARG_CHARS:
                raise InvalidInput(
                    f"argument {index} has a NUL byte or is over {MAX_ARG_CHARS} characters",
                    field=f"args[{index}]",
                )
    overrides = dict(env or {})
    if len(overrides) > MAX_ENV:
        raise InvalidInput(f"at most {MAX_ENV} variables", field="env")
    for name, value in overrides.items():
        if not _ENV_NAME.fullmatch(name):
            raise InvalidInput(
                f"{name!r} is not a variable name (letters, digits, '_', not starting "
                "with a digit)",
                field=f"env.{name}",
            )
        if "\x00" in value:
            raise InvalidInput("the value has a NUL byte", field=f"env.{name}")
    return (None if args is None else list(args)), overrides


async def enqueue_job(
    uow: UnitOfWork,
    files: FileStore,
    script: Script,
    *,
    now: datetime,
    trigger: JobTrigger,
    args: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    schedule_id: int | None = None,
) -> Job:
    """Queue a job of the script's current revision inside ``uow`` (the caller commits).
    Refused (409) when the image is not built. Shared by run-now and the scheduler,
    so a schedule's firing and its job are one transaction."""
    image = await uow.images.get(script.image_id)
    if image.status != ImageStatus.BUILT or not image.tag:
        raise Conflict(
            f"image {image.name!r} is {image.status}: build it before running {script.name!r}",
            field="image_id",
        )
    if script.current_revision < 1:
        raise Conflict(f"script {script.name!r} has no saved revision yet")
    job = await uow.jobs.add(
        Job(
            script_id=script.require_id,
            revision=script.current_revision,
            image_id=image.require_id,
            image_tag=image.tag,
            trigger=trigger,
            schedule_id=schedule_id,
            args=list(script.args if args is None else args),
            env=dict(env or {}),
            created_at=now,
        )
    )
    # The log's name needs the id; it is relative to the data directory.
    log = files.job_log(script.require_id, log_file_name(now, job.require_id))
    job.log_path = str(log.relative_to(files.root))
    job.queued()
    await uow.jobs.update(job)
    return job


class JobService:
    def __init__(self, *, uow: UnitOfWorkFactory, files: FileStore, clock: Clock) -> None:
        self._uow = uow
        self._files = files
        self._clock = clock

    async def run_now(
        self,
        script_id: int,
        *,
        args: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        trigger: JobTrigger = JobTrigger.MANUAL,
    ) -> Job:
        checked_args, overrides = validate_run_input(args, env)
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            job = await enqueue_job(
                uow,
                self._files,
                script,
                now=self._clock.now(),
                trigger=trigger,
                args=checked_args,
                env=overrides,
            )
            await uow.commit()
        return job

    async def cancel(self, job_id: int) -> Job:
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
            job.request_cancel(self._clock.now())
            await uow.jobs.update(job)
            await uow.commit()
        return job

    async def get(self, job_id: int) -> Job:
        async with self._uow() as uow:
            return await uow.jobs.get(job_id)

    async def list(
        self,
        *,
        script_id: int | None = None,
        status: JobStatus | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> tuple[list[Job], int | None]:
        """Newest first, and the cursor of the next page (None at the end)."""
        async with self._uow() as uow:
            page = await uow.jobs.list(
                script_id=script_id, status=status, before_id=before_id, limit=limit + 1
            )
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1].require_id if more and page else None)

    async def log_chunks(
        self, job_id: int, offset: int = 0, chunk_bytes: int = 1 << 20
    ) -> tuple[JobLog, AsyncIterator[bytes]]:
        """The log from ``offset`` to its current end, read a chunk at a time (memory
        does not grow with the log), and its size and next offset."""
        head = await self.read_log(job_id, offset, limit=0)
        if head.file_name is None:
            return head, _nothing()
        job = await self.get(job_id)
        path = self._files.root / (job.log_path or "")
        end = max(head.size, offset)

        async def chunks() -> AsyncIterator[bytes]:
            position = offset
            while position < end:
                data = await self._files.read_range(
                    path, position, min(chunk_bytes, end - position)
                )
                if not data:
                    return
                position += len(data)
                yield data

        return JobLog(
            content=b"", next_offset=end, file_name=head.file_name, size=head.size
        ), chunks()

    async def read_log(self, job_id: int, offset: int = 0, limit: int | None = None) -> JobLog:
        if offset < 0:
            raise InvalidInput("offset must be 0 or more", field="offset")
        job = await self.get(job_id)
        if job.log_path is None:
            return JobLog(content=b"", next_offset=offset, file_name=None)
        path = self._files.root / job.log_path
        size = await self._files.size(path)
        content = await self._files.read_range(path, offset, limit)
        return JobLog(
            content=content, next_offset=offset + len(content), file_name=path.name, size=size
        )


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing
