"""Job use cases on the API side: run a script now, cancel, read jobs and their logs.

The worker's side (starting and supervising containers) is in ``job_runner.py``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scripter.domain.clock import Clock
from scripter.domain.errors import Conflict, InvalidInput
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus, JobTrigger
from scripter.domain.ports import FileStore, UnitOfWork, UnitOfWorkFactory
from scripter.domain.scripts import Script
from scripter.domain.secrets import SecretMask
from scripter.services.job_secrets import JobSecrets

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


def is_runnable(script: Script, image: Image) -> bool:
    """Whether a job of ``script`` can be queued now (``enqueue_job`` says why not)."""
    return image.status == ImageStatus.BUILT and bool(image.tag) and script.current_revision >= 1


def new_job(
    script: Script,
    image: Image,
    *,
    now: datetime,
    trigger: JobTrigger,
    args: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    schedule_id: int | None = None,
) -> Job:
    """A job of the script's current revision, not saved yet; ``args`` None: the
    script's own."""
    return Job(
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


async def enqueue_job(
    uow: UnitOfWork,
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
        new_job(
            script,
            image,
            now=now,
            trigger=trigger,
            args=args,
            env=env,
            schedule_id=schedule_id,
        )
    )
    job.queued()  # its event goes out with the commit (``add`` tracks the job)
    return job


class JobService:
    """Jobs as clients see them: the values that a job's environment overrides give
    to secret variables read ``****`` (``JobSecrets.shown``), and logs are served
    with the job's secrets masked."""

    def __init__(self, *, uow: UnitOfWorkFactory, files: FileStore, clock: Clock) -> None:
        self._uow = uow
        self._files = files
        self._clock = clock
        self._secrets = JobSecrets(uow)

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
                script,
                now=self._clock.now(),
                trigger=trigger,
                args=checked_args,
                env=overrides,
            )
            await uow.commit()
        return await self._secrets.shown(job)

    async def cancel(self, job_id: int) -> Job:
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
            job.request_cancel(self._clock.now())
            await uow.jobs.update(job)
            await uow.commit()
        return await self._secrets.shown(job)

    async def get(self, job_id: int) -> Job:
        return await self._secrets.shown(await self._load(job_id))

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
        page = [await self._secrets.shown(job) for job in page[:limit]]
        return page, (page[-1].require_id if more and page else None)

    async def log_chunks(
        self, job_id: int, offset: int = 0, chunk_bytes: int = 1 << 20
    ) -> tuple[JobLog, AsyncIterator[bytes]]:
        """The log from ``offset`` to its current end, read a chunk at a time (memory
        does not grow with the log), and its size and next offset. Secrets are masked
        (see ``read_log``)."""
        _check_offset(offset)
        job = await self._load(job_id)
        if job.log_path is None:
            return JobLog(content=b"", next_offset=offset, file_name=None), _nothing()
        path = self._files.root / job.log_path
        mask = await self._secrets.mask(job)
        size = await self._files.size(path)
        end = max(size, offset)
        if mask and not job.status.is_final:
            # Where the served part ends is in the headers, before the body: settle
            # now whether the log's last bytes must wait for the rest of a secret.
            _, end = await _masked_range(
                self._files, path, mask, max(offset, end - mask.lookaround), end, growing=True
            )

        async def chunks() -> AsyncIterator[bytes]:
            position = offset
            while position < end:
                stop = min(end, position + chunk_bytes)
                if mask:
                    data, stop = await _masked_range(
                        self._files, path, mask, position, stop, growing=False
                    )
                    if stop == position:
                        return  # the file was cut meanwhile
                else:
                    data = await self._files.read_range(path, position, stop - position)
                    if not data:
                        return
                    stop = position + len(data)
                position = stop
                yield data

        return JobLog(content=b"", next_offset=end, file_name=path.name, size=size), chunks()

    async def read_log(self, job_id: int, offset: int = 0, limit: int | None = None) -> JobLog:
        """``limit`` bytes of the log from ``offset`` (to its end when None).

        The secret values the job ran with read ``****`` (``scripter.domain.secrets``);
        offsets still count the raw file, so ``next_offset`` is where the next read
        starts. While the job runs, a last few bytes that may begin a secret are
        left for the next read (``next_offset`` stops before them).
        """
        _check_offset(offset)
        job = await self._load(job_id)
        if job.log_path is None:
            return JobLog(content=b"", next_offset=offset, file_name=None)
        path = self._files.root / job.log_path
        mask = await self._secrets.mask(job)  # status first, then the file: see below
        size = await self._files.size(path)
        if not mask:
            content = await self._files.read_range(path, offset, limit)
            return JobLog(
                content=content, next_offset=offset + len(content), file_name=path.name, size=size
            )
        end = size if limit is None else min(size, offset + limit)
        # A job recorded finished had written its whole log before: nothing follows.
        content, next_offset = await _masked_range(
            self._files, path, mask, offset, end, growing=not job.status.is_final
        )
        return JobLog(content=content, next_offset=next_offset, file_name=path.name, size=size)

    async def _load(self, job_id: int) -> Job:
        async with self._uow() as uow:
            return await uow.jobs.get(job_id)


def _check_offset(offset: int) -> None:
    if offset < 0:
        raise InvalidInput("offset must be 0 or more", field="offset")


async def _masked_range(
    files: FileStore, path: Path, mask: SecretMask, start: int, end: int, *, growing: bool
) -> tuple[bytes, int]:
    """The served bytes of the raw range ``[start, end)`` of a log, and the offset the
    next read starts at: ``end``, or before it when the log ``growing`` ends within a
    secret's length of ``end`` with bytes that may begin a secret (they wait for
    their rest), or at the file's end if it is shorter (cut meanwhile)."""
    if start >= end:
        return b"", start
    behind = min(start, mask.lookaround)
    window = await files.read_range(path, start - behind, behind + end - start + mask.lookaround)
    window_end = start - behind + len(window)
    stop = min(end, window_end)
    if growing and window_end < end + mask.lookaround:
        stop = min(stop, window_end - mask.hold(window))
    stop = max(stop, start)
    return mask.mask(window, start - behind, start, stop), stop


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing
