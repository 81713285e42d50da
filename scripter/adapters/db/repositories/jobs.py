"""Jobs in SQL."""

from __future__ import annotations

# Repositories have a method named ``list``: in their class bodies the builtin
# must be spelled ``builtins.list``.
import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, false, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scripter.adapters.db.repositories._base import SqlRepository, translate
from scripter.adapters.db.tables import engine_heartbeats, jobs
from scripter.domain.errors import Conflict, NotFound
from scripter.domain.jobs import Job, JobStatus, JobTrigger

VISIBLE = jobs.c.armed == false()
"""Every read of jobs asks for this. A job the scheduler wrote ahead of its fire
time (``ArmedFiring``) is stored ``queued`` with ``armed`` set, and no read returns
it until the flip at the fire time clears ``armed``. A flag, not a status of its
own: the flip then changes no indexed column (a status change rewrote two indexes
per job and took most of the flip of a burst)."""
ARMED = "armed"
"""The stored outcome of an armed firing (see ``VISIBLE``)."""


def _values(job: Job) -> dict[str, Any]:
    return {
        "script_id": job.script_id,
        "revision": job.revision,
        "image_id": job.image_id,
        "image_tag": job.image_tag,
        "trigger": job.trigger.value,
        "schedule_id": job.schedule_id,
        "status": job.status.value,
        "args": list(job.args),
        "env": dict(job.env),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "exit_code": job.exit_code,
        "container_id": job.container_id,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "oom_killed": job.oom_killed,
        "log_truncated": job.log_truncated,
        "engine_id": job.engine_id,
        "docker_image_id": job.docker_image_id,
    }


def _job(row: Any) -> Job:
    return Job(
        id=row["id"],
        version=row["version"],
        script_id=row["script_id"],
        revision=row["revision"],
        image_id=row["image_id"],
        image_tag=row["image_tag"],
        trigger=JobTrigger(row["trigger"]),
        schedule_id=row["schedule_id"],
        status=JobStatus(row["status"]),
        args=list(row["args"]),
        env=dict(row["env"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        exit_code=row["exit_code"],
        container_id=row["container_id"],
        error=row["error"],
        cancel_requested=bool(row["cancel_requested"]),
        oom_killed=bool(row["oom_killed"]),
        log_truncated=bool(row["log_truncated"]),
        engine_id=row["engine_id"],
        docker_image_id=row["docker_image_id"],
    )


async def insert_jobs(
    session: AsyncSession, new_jobs: Sequence[Job], *, armed: bool = False
) -> None:
    """Insert ``new_jobs`` in one statement (batched by SQLAlchemy), setting each
    one's id and version; ``armed``: stored as armed, whatever their status."""
    if not new_jobs:
        return
    statement = insert(jobs).returning(jobs.c.id, sort_by_parameter_order=True)
    rows = [{**_values(job), "version": 1, "armed": armed} for job in new_jobs]
    try:
        result = await session.execute(statement, rows)
    except IntegrityError as exc:
        missing = NotFound("a script of these jobs was not found", field="script_id")
        raise translate(exc, foreign_key=missing) from exc
    for job, (job_id,) in zip(new_jobs, result.all(), strict=True):
        job.id = int(job_id)
        job.version = 1


def _no_script(script_id: int) -> NotFound:
    return NotFound(f"script {script_id} not found", field="script_id")


class SqlJobRepository(SqlRepository):
    table = jobs
    noun = "job"

    async def add(self, job: Job) -> Job:
        await self._insert_aggregate(job, _values(job), foreign_key=_no_script(job.script_id))
        return job

    async def add_many(self, new_jobs: Sequence[Job]) -> None:
        """Insert them all in one statement (batched by SQLAlchemy); each gets its id."""
        await insert_jobs(self._session, new_jobs)
        for job in new_jobs:
            self._track(job)

    async def get(self, job_id: int) -> Job:
        row = await self._fetch_one(select(jobs).where(jobs.c.id == job_id, VISIBLE))
        if row is None:
            raise self._not_found(job_id)
        return self._seen(_job(row))

    async def update(self, job: Job) -> None:
        await self._update_aggregate(job, _values(job), foreign_key=_no_script(job.script_id))

    async def list(
        self,
        *,
        script_id: int | None = None,
        status: JobStatus | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> builtins.list[Job]:
        statement = select(jobs).where(VISIBLE).order_by(jobs.c.id.desc()).limit(limit)
        if script_id is not None:
            statement = statement.where(jobs.c.script_id == script_id)
        if status is not None:
            statement = statement.where(jobs.c.status == JobStatus(status).value)
        if before_id is not None:
            statement = statement.where(jobs.c.id < before_id)
        return self._all(await self._fetch_all(statement))

    async def list_unfinished(self) -> builtins.list[Job]:
        unfinished = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
        statement = select(jobs).where(jobs.c.status.in_(unfinished), VISIBLE).order_by(jobs.c.id)
        return self._all(await self._fetch_all(statement))

    async def has_unfinished(self, script_id: int) -> bool:
        unfinished = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
        statement = select(
            exists().where(jobs.c.script_id == script_id, jobs.c.status.in_(unfinished), VISIBLE)
        )
        return bool(await self._session.scalar(statement))

    async def unfinished_of_schedule(self, schedule_id: int) -> builtins.list[Job]:
        # Few jobs are unfinished: the status index finds them.
        unfinished = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
        statement = (
            select(jobs)
            .where(jobs.c.status.in_(unfinished), jobs.c.schedule_id == schedule_id, VISIBLE)
            .order_by(jobs.c.id)
        )
        return self._all(await self._fetch_all(statement))

    async def prunable(
        self, script_id: int, *, keep_last: int | None, older_than: datetime | None
    ) -> builtins.list[Job]:
        finished = [s.value for s in JobStatus if s.is_final]
        base = (
            select(jobs)
            .where(jobs.c.script_id == script_id, jobs.c.status.in_(finished), VISIBLE)
            .order_by(jobs.c.id.desc())
        )
        rows: dict[int, Any] = {}
        if keep_last is not None:
            # MariaDB and SQLite both want a LIMIT with an OFFSET.
            for row in await self._fetch_all(base.offset(keep_last).limit(2**62)):
                rows[row["id"]] = row
        if older_than is not None:
            for row in await self._fetch_all(base.where(jobs.c.created_at < older_than)):
                rows[row["id"]] = row
        return self._all([rows[i] for i in sorted(rows, reverse=True)])

    async def delete(self, job_id: int) -> None:
        await self._delete(job_id)

    async def existing_ids(self, job_ids: Iterable[int]) -> set[int]:
        ids = sorted(set(job_ids))
        if not ids:
            return set()
        found = await self._session.scalars(select(jobs.c.id).where(jobs.c.id.in_(ids)))
        return {int(i) for i in found}

    async def engine_seen(self, engine_id: str, at: datetime) -> None:
        # Update, else insert. Never moves the time back. Two workers of one engine
        # inserting its first row at once: the second gets Conflict (its beat is lost,
        # the next one updates).
        statement = (
            update(engine_heartbeats)
            .where(engine_heartbeats.c.engine_id == engine_id, engine_heartbeats.c.seen_at < at)
            .values(seen_at=at)
        )
        if (await self._execute(statement)).rowcount:
            return
        known = select(engine_heartbeats.c.engine_id).where(
            engine_heartbeats.c.engine_id == engine_id
        )
        if await self._session.scalar(known) is not None:
            return  # seen at ``at`` or later already
        try:
            await self._session.execute(
                insert(engine_heartbeats).values(engine_id=engine_id, seen_at=at)
            )
        except IntegrityError as exc:
            raise Conflict(f"engine {engine_id} was just reported by another worker") from exc

    async def engines_seen_since(self, since: datetime) -> set[str]:
        found = await self._session.scalars(
            select(engine_heartbeats.c.engine_id).where(engine_heartbeats.c.seen_at >= since)
        )
        return {str(e) for e in found}

    def _all(self, rows: builtins.list[Any]) -> builtins.list[Job]:
        return [self._seen(_job(row)) for row in rows]
