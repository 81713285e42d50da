"""Schedules and their firings in SQL."""

from __future__ import annotations

# Repositories have a method named ``list``: in their class bodies the builtin
# must be spelled ``builtins.list``.
import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from scripter.adapters.db.repositories._base import SqlRepository, translate
from scripter.adapters.db.repositories.jobs import ARMED, insert_jobs
from scripter.adapters.db.tables import images, jobs, schedule_firings, schedules, scripts
from scripter.domain.errors import ConcurrentUpdate, Conflict, NotFound
from scripter.domain.images import ImageStatus
from scripter.domain.jobs import Job
from scripter.domain.schedules import (
    ArmedFiring,
    FiringOutcome,
    MisfirePolicy,
    OverlapPolicy,
    Schedule,
    ScheduleFiring,
)


def _values(schedule: Schedule) -> dict[str, Any]:
    return {
        "script_id": schedule.script_id,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "misfire_policy": schedule.misfire_policy.value,
        "overlap_policy": schedule.overlap_policy.value,
        # JSON null: the script's own arguments.
        "args": None if schedule.args is None else list(schedule.args),
        "env": dict(schedule.env),
        "next_run_at": schedule.next_run_at,
        "created_at": schedule.created_at,
        "updated_at": schedule.updated_at,
    }


def _schedule(row: Any) -> Schedule:
    return Schedule(
        id=row["id"],
        version=row["version"],
        script_id=row["script_id"],
        cron=row["cron"],
        timezone=row["timezone"],
        enabled=bool(row["enabled"]),
        misfire_policy=MisfirePolicy(row["misfire_policy"]),
        overlap_policy=OverlapPolicy(row["overlap_policy"]),
        args=None if row["args"] is None else list(row["args"]),
        env=dict(row["env"]),
        next_run_at=row["next_run_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _firing(row: Any) -> ScheduleFiring:
    return ScheduleFiring(
        id=row["id"],
        schedule_id=row["schedule_id"],
        fire_time=row["fire_time"],
        outcome=FiringOutcome(row["outcome"]),
        job_id=row["job_id"],
        reason=row["reason"],
        recorded_at=row["recorded_at"],
    )


def _firing_values(firing: ScheduleFiring) -> dict[str, Any]:
    return {
        "schedule_id": firing.schedule_id,
        "fire_time": firing.fire_time,
        "outcome": firing.outcome.value,
        "job_id": firing.job_id,
        "reason": firing.reason,
        "recorded_at": firing.recorded_at,
    }


_SLICE = 5000
"""Ids in one ``IN (...)`` (SQLite caps the parameters of a statement)."""


def _among(column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (ids)`` with the ids written into the statement: thousands of
    bound parameters cost the flip of a burst more time than its UPDATEs (they are
    ints, so nothing needs escaping)."""
    listed = ",".join(str(int(i)) for i in ids)
    return column.op("IN")(literal_column(f"({listed})")).self_group()


def _no_script(script_id: int) -> NotFound:
    return NotFound(f"script {script_id} not found", field="script_id")


class SqlScheduleRepository(SqlRepository):
    table = schedules
    noun = "schedule"

    async def add(self, schedule: Schedule) -> Schedule:
        await self._insert_aggregate(
            schedule, _values(schedule), foreign_key=_no_script(schedule.script_id)
        )
        return schedule

    async def get(self, schedule_id: int) -> Schedule:
        return self._seen(_schedule(await self._get_row(schedule_id)))

    async def list_by_script(self, script_id: int) -> builtins.list[Schedule]:
        statement = (
            select(schedules).where(schedules.c.script_id == script_id).order_by(schedules.c.id)
        )
        return self._all(await self._fetch_all(statement))

    async def update(self, schedule: Schedule) -> None:
        await self._update_aggregate(
            schedule, _values(schedule), foreign_key=_no_script(schedule.script_id)
        )

    async def delete(self, schedule_id: int) -> None:
        # Its firings go with it (ON DELETE CASCADE); its jobs stay, as history,
        # except armed ones, which are not history yet.
        await self.disarm([schedule_id])
        await self._delete(schedule_id)

    async def due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        statement = (
            select(schedules)
            .where(schedules.c.enabled == true(), schedules.c.next_run_at <= now)
            .order_by(schedules.c.next_run_at, schedules.c.id)
            .limit(limit)
        )
        return self._all(await self._fetch_all(statement))

    async def lock_due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        # MariaDB locks the rows until the unit of work ends, and skips rows another
        # transaction holds: schedulers side by side take disjoint batches instead of
        # queueing on the same rows. SQLite has no row locks (and one writer): there
        # ``claim_many`` alone decides.
        statement = (
            select(schedules)
            .where(schedules.c.enabled == true(), schedules.c.next_run_at <= now)
            .order_by(schedules.c.next_run_at, schedules.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self._all(await self._fetch_all(statement))

    async def next_due_time(self) -> datetime | None:
        statement = select(func.min(schedules.c.next_run_at)).where(schedules.c.enabled == true())
        earliest: datetime | None = await self._session.scalar(statement)
        return earliest

    async def upcoming(self, limit: int = 10) -> builtins.list[Schedule]:
        # Same shape as ``due`` without the upper bound: the (enabled, next_run_at)
        # index yields the rows in order, so the LIMIT stops the scan early.
        statement = (
            select(schedules)
            .where(schedules.c.enabled == true(), schedules.c.next_run_at.is_not(None))
            .order_by(schedules.c.next_run_at, schedules.c.id)
            .limit(limit)
        )
        return self._all(await self._fetch_all(statement))

    async def claim(self, schedule: Schedule, seen_next_run_at: datetime) -> bool:
        # One conditional UPDATE: of several schedulers that read the same
        # next_run_at, the database lets exactly one move it on.
        row_id = schedule.require_id
        statement = (
            update(schedules)
            .where(schedules.c.id == row_id, schedules.c.next_run_at == seen_next_run_at)
            .values(next_run_at=schedule.next_run_at, version=schedules.c.version + 1)
        )
        if (await self._execute(statement)).rowcount != 1:
            return False
        # The claim does not check the version, so read back the one it wrote.
        version = await self._session.scalar(
            select(schedules.c.version).where(schedules.c.id == row_id)
        )
        schedule.version = int(version or 0)
        self._track(schedule)
        return True

    async def claim_many(self, claims: Sequence[tuple[Schedule, datetime | None]]) -> bool:
        # One UPDATE per (seen, next) pair: schedules of one cron and timezone due at
        # the same time move on together. All or nothing: the caller rolls back when
        # any schedule was moved or changed by someone else since it was read.
        groups: dict[tuple[datetime, datetime | None], builtins.list[int]] = {}
        for schedule, next_run_at in claims:
            if schedule.next_run_at is None:
                return False
            groups.setdefault((schedule.next_run_at, next_run_at), []).append(schedule.require_id)
        moved = 0
        for (seen, next_run_at), ids in groups.items():
            statement = (
                update(schedules)
                .where(schedules.c.id.in_(ids), schedules.c.next_run_at == seen)
                .values(next_run_at=next_run_at, version=schedules.c.version + 1)
            )
            moved += (await self._execute(statement)).rowcount
        if moved != len(claims):
            return False
        # A change that kept next_run_at (args, env, policies) moved the version: then
        # what was read is stale.
        ids = [schedule.require_id for schedule, _ in claims]
        found = await self._execute(
            select(schedules.c.id, schedules.c.version).where(schedules.c.id.in_(ids))
        )
        versions: dict[int, int] = {row.id: row.version for row in found}
        if any(versions.get(s.require_id) != s.version + 1 for s, _ in claims):
            return False
        for schedule, next_run_at in claims:
            schedule.next_run_at = next_run_at
            schedule.version += 1
            self._track(schedule)
        return True

    async def add_firings(self, firings: Sequence[ScheduleFiring]) -> None:
        if not firings:
            return
        rows = [_firing_values(firing) for firing in firings]
        try:
            await self._session.execute(insert(schedule_firings), rows)
        except IntegrityError as exc:
            taken = Conflict("one of these fire times was recorded already", field="fire_time")
            missing = NotFound("a schedule of these firings was not found", field="schedule_id")
            raise translate(exc, unique=taken, foreign_key=missing) from exc

    async def add_firing(self, firing: ScheduleFiring) -> ScheduleFiring:
        values = _firing_values(firing)
        taken = Conflict(
            f"schedule {firing.schedule_id} already fired at {firing.fire_time.isoformat()}",
            field="fire_time",
        )
        no_schedule = NotFound(f"schedule {firing.schedule_id} not found", field="schedule_id")
        firing.id = await self._insert_into(
            schedule_firings, values, unique=taken, foreign_key=no_schedule
        )
        return firing

    async def list_firings(
        self, schedule_id: int, limit: int = 100, before: datetime | None = None
    ) -> builtins.list[ScheduleFiring]:
        statement = (
            select(schedule_firings)
            .where(schedule_firings.c.schedule_id == schedule_id)
            .order_by(schedule_firings.c.fire_time.desc(), schedule_firings.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            statement = statement.where(schedule_firings.c.fire_time < before)
        statement = statement.where(schedule_firings.c.outcome != ARMED)
        return [_firing(row) for row in await self._fetch_all(statement)]

    # --- arming ahead -----------------------------------------------------------------

    async def arm(self, firings: Sequence[tuple[ScheduleFiring, Job]]) -> None:
        if not firings:
            return
        await insert_jobs(self._session, [job for _, job in firings], armed=True)
        rows = []
        for firing, job in firings:
            firing.job_id = job.require_id
            rows.append({**_firing_values(firing), "outcome": ARMED})
        statement = insert(schedule_firings).returning(
            schedule_firings.c.id, sort_by_parameter_order=True
        )
        try:
            result = await self._session.execute(statement, rows)
        except IntegrityError as exc:
            taken = Conflict("one of these fire times was recorded already", field="fire_time")
            missing = NotFound("a schedule of these firings was not found", field="schedule_id")
            raise translate(exc, unique=taken, foreign_key=missing) from exc
        for (firing, _), (firing_id,) in zip(firings, result.all(), strict=True):
            firing.id = int(firing_id)

    async def due_armed(self, now: datetime, limit: int) -> builtins.list[ArmedFiring]:
        # The (outcome, fire_time) index finds the few armed rows. No row locks:
        # locking 10,000 firings and their jobs took longer than flipping them, and
        # ``fire_armed`` changes only rows still armed, all or nothing.
        f, j = schedule_firings, jobs
        statement = (
            select(
                f.c.id,
                f.c.schedule_id,
                f.c.fire_time,
                f.c.job_id,
                j.c.script_id,
                j.c.revision,
                j.c.image_id,
                j.c.image_tag,
            )
            .join(j, j.c.id == f.c.job_id)
            .where(f.c.outcome == ARMED, f.c.fire_time <= now)
            .order_by(f.c.fire_time, f.c.id)
            .limit(limit)
        )
        rows = (await self._execute(statement)).all()
        return [ArmedFiring._make(row) for row in rows]

    async def fire_armed(
        self, armed: Sequence[ArmedFiring], now: datetime
    ) -> builtins.list[ArmedFiring]:
        fireable = await self._still_fireable(armed)
        fired: builtins.list[ArmedFiring] = []
        # In slices: SQLite caps the parameters of one statement.
        for start in range(0, len(fireable), _SLICE):
            part = fireable[start : start + _SLICE]
            moved = await self._execute(
                update(jobs)
                .where(_among(jobs.c.id, [a.job_id for a in part]), jobs.c.armed == true())
                .values(armed=False, created_at=now)
            )
            marked = await self._execute(
                update(schedule_firings)
                .where(
                    _among(schedule_firings.c.id, [a.firing_id for a in part]),
                    schedule_firings.c.outcome == ARMED,
                )
                .values(outcome=FiringOutcome.FIRED.value, recorded_at=now)
            )
            if moved.rowcount != len(part) or marked.rowcount != len(part):
                # Another scheduler flipped, or a change disarmed, some of them since
                # they were read: the caller rolls back and reads again.
                raise ConcurrentUpdate("armed firings changed since they were read")
            fired.extend(part)
        return fired

    async def _still_fireable(self, armed: Sequence[ArmedFiring]) -> builtins.list[ArmedFiring]:
        """Those of ``armed`` whose script is at the armed revision and whose image
        is still built under the armed tag (one read per script)."""
        script_ids = {a.script_id for a in armed}
        if not script_ids:
            return []
        current = {
            row.id: (row.current_revision, row.image_id, row.status, row.tag)
            for row in await self._execute(
                select(
                    scripts.c.id,
                    scripts.c.current_revision,
                    images.c.id.label("image_id"),
                    images.c.status,
                    images.c.tag,
                )
                .join(images, images.c.id == scripts.c.image_id)
                .where(scripts.c.id.in_(script_ids))
            )
        }
        built = ImageStatus.BUILT.value
        return [
            a
            for a in armed
            if current.get(a.script_id) == (a.revision, a.image_id, built, a.image_tag)
            and a.image_tag is not None
        ]

    async def disarm(self, schedule_ids: Iterable[int]) -> dict[int, datetime]:
        ids = sorted(set(schedule_ids))
        if not ids:
            return {}
        f = schedule_firings
        rows = await self._fetch_all(
            select(f.c.id, f.c.schedule_id, f.c.fire_time, f.c.job_id).where(
                _among(f.c.schedule_id, ids), f.c.outcome == ARMED
            )
        )
        if not rows:
            return {}
        earliest: dict[int, datetime] = {}
        for row in rows:
            seen = earliest.get(row["schedule_id"])
            if seen is None or row["fire_time"] < seen:
                earliest[row["schedule_id"]] = row["fire_time"]
        await self._execute(delete(f).where(_among(f.c.id, [row["id"] for row in rows])))
        await self._execute(
            delete(jobs).where(
                _among(jobs.c.id, [row["job_id"] for row in rows]), jobs.c.armed == true()
            )
        )
        # Back to the armed time (the claim that armed it moved it past), one UPDATE
        # per fire time: a burst disarmed at its time (its image destroyed) shares one.
        by_time: dict[datetime, builtins.list[int]] = {}
        for schedule_id, fire_time in earliest.items():
            by_time.setdefault(fire_time, []).append(schedule_id)
        for fire_time, moved in by_time.items():
            await self._execute(
                update(schedules)
                .where(
                    _among(schedules.c.id, moved),
                    schedules.c.enabled == true(),
                    or_(schedules.c.next_run_at.is_(None), schedules.c.next_run_at > fire_time),
                )
                .values(next_run_at=fire_time, version=schedules.c.version + 1)
            )
        return earliest

    async def armed_times(
        self, schedule_ids: Iterable[int] | None = None, *, limit: int | None = None
    ) -> dict[int, datetime]:
        f = schedule_firings
        earliest = func.min(f.c.fire_time)
        statement = (
            select(f.c.schedule_id, earliest.label("fire_time"))
            .where(f.c.outcome == ARMED)
            .group_by(f.c.schedule_id)
            .order_by(earliest, f.c.schedule_id)
        )
        if schedule_ids is not None:
            ids = sorted(set(schedule_ids))
            if not ids:
                return {}
            statement = statement.where(f.c.schedule_id.in_(ids))
        if limit is not None:
            statement = statement.limit(limit)
        rows = await self._execute(statement)
        return {row.schedule_id: row.fire_time for row in rows}

    async def next_armed_time(self) -> datetime | None:
        statement = select(func.min(schedule_firings.c.fire_time)).where(
            schedule_firings.c.outcome == ARMED
        )
        earliest: datetime | None = await self._session.scalar(statement)
        return earliest

    def _all(self, rows: builtins.list[Any]) -> builtins.list[Schedule]:
        return [self._seen(_schedule(row)) for row in rows]
