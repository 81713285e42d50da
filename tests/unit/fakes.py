"""In-memory fakes of the persistence ports, for unit tests of services.

They obey the same contracts as the SQL adapters (the contract suite in
``tests/integration/test_repository_contract.py`` runs against both):

- one ``FakeStore`` holds the committed state, shared by every ``FakeUnitOfWork``
  made from it (``store.uow()`` is a ``UnitOfWorkFactory``);
- a unit of work sees the committed state plus its own changes; nothing it does is
  visible to others before ``commit``, and leaving without ``commit`` drops it all;
- every read returns a fresh copy, every write stores one, so changing an object
  without ``update`` changes nothing stored;
- names are unique regardless of case, versions are checked on ``update`` (and
  again on ``commit``, where a real database would have made the second writer
  wait), deleting a script takes its revisions, jobs and schedules along.
"""

from __future__ import annotations

# Repositories have a method named ``list``: in their class bodies the builtin
# must be spelled ``builtins.list``.
import builtins
import copy
import dataclasses
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from scripter.adapters.db.unit_of_work import encode_chunk, outbox_chunks
from scripter.domain.clock import utc
from scripter.domain.errors import ConcurrentUpdate, Conflict, NotFound
from scripter.domain.events import DomainEvent, decode_events
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus
from scripter.domain.model import Aggregate
from scripter.domain.ports import (
    ImageRepository,
    JobRepository,
    OutboxMessage,
    ScheduleRepository,
    ScriptRepository,
)
from scripter.domain.schedules import ArmedFiring, FiringOutcome, Schedule, ScheduleFiring
from scripter.domain.scripts import Script, ScriptRevision

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = utc(now) if now is not None else datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = utc(now)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


def _copy(obj: T) -> T:
    """A deep copy; an aggregate's copy carries no events (stored rows have none)."""
    if isinstance(obj, Aggregate):
        return copy.deepcopy(dataclasses.replace(obj, events=[]))
    return copy.deepcopy(obj)


@dataclasses.dataclass
class _OutboxRow:
    event_id: str
    routing_key: str
    payload: bytes
    created_at: datetime
    published_at: datetime | None = None


@dataclasses.dataclass
class _Armed:
    """An armed firing and its job (the SQL adapter's rows stored as ``armed``),
    keyed by the firing's id; the job keeps its own id."""

    id: int
    firing: ScheduleFiring
    job: Job
    version: int = 1

    @property
    def script_id(self) -> int:
        return self.job.script_id

    def as_armed(self) -> ArmedFiring:
        return ArmedFiring(
            firing_id=self.id,
            schedule_id=self.firing.schedule_id,
            fire_time=self.firing.fire_time,
            job_id=self.job.require_id,
            script_id=self.job.script_id,
            revision=self.job.revision,
            image_id=self.job.image_id,
            image_tag=self.job.image_tag,
        )


_DELETED: Any = object()
TABLES = ("images", "scripts", "revisions", "jobs", "schedules", "firings", "armed")


class FakeStore:
    """The committed state: what a database would hold."""

    def __init__(self, clock: FixedClock | None = None) -> None:
        self.clock = clock
        self.tables: dict[str, dict[int, Any]] = {name: {} for name in TABLES}
        self.outbox: dict[int, _OutboxRow] = {}
        self.engine_heartbeats: dict[str, datetime] = {}
        self.commits = 0
        # Like AUTO_INCREMENT: ids are used up even by rolled-back inserts.
        self._ids = {name: itertools.count(1) for name in (*TABLES, "outbox")}

    def next_id(self, table: str) -> int:
        return next(self._ids[table])

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def uow(self, on_commit: Callable[[], None] | None = None) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, on_commit=on_commit)


class _View:
    """The committed tables overlaid with one unit of work's uncommitted changes."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.changes: dict[str, dict[int, Any]] = {name: {} for name in TABLES}
        self.expected_versions: dict[tuple[str, int], int] = {}
        """Stored version each changed aggregate was based on; checked on commit."""

    def get(self, table: str, row_id: int) -> Any | None:
        row = self.changes[table].get(row_id, self.store.tables[table].get(row_id))
        return None if row is _DELETED else row

    def rows(self, table: str) -> Iterator[Any]:
        ids = sorted(self.store.tables[table].keys() | self.changes[table].keys())
        for row_id in ids:
            row = self.get(table, row_id)
            if row is not None:
                yield row

    def put(self, table: str, row_id: int, row: Any) -> None:
        self.changes[table][row_id] = _copy(row)

    def remove(self, table: str, row_id: int) -> None:
        self.changes[table][row_id] = _DELETED

    def expect_unchanged(self, table: str, row_id: int) -> None:
        """Remember the committed version our first change builds on (none for a row
        this unit of work inserted); commit fails if someone committed another since."""
        committed = self.store.tables[table].get(row_id)
        if committed is not None and row_id not in self.changes[table]:
            self.expected_versions[(table, row_id)] = committed.version


class _FakeRepository:
    def __init__(self, view: _View, track: Callable[[Aggregate], None]) -> None:
        self._view = view
        self._track = track

    def _seen(self, aggregate: A) -> A:
        self._track(aggregate)
        return aggregate

    def _require(self, table: str, noun: str, row_id: int) -> Any:
        row = self._view.get(table, row_id)
        if row is None:
            raise NotFound(f"{noun} {row_id} not found")
        return row

    def _add(self, table: str, aggregate: A) -> A:
        aggregate.id = self._view.store.next_id(table)
        aggregate.version = 1
        self._view.put(table, aggregate.id, aggregate)
        return self._seen(aggregate)

    def _update(self, table: str, noun: str, aggregate: Aggregate) -> None:
        row_id = aggregate.require_id
        current = self._require(table, noun, row_id)
        self._track(aggregate)
        if current.version != aggregate.version:
            raise ConcurrentUpdate(
                f"{noun} {row_id} was changed by someone else; reload it and try again"
            )
        self._view.expect_unchanged(table, row_id)
        aggregate.version += 1
        self._view.put(table, row_id, aggregate)

    def _name_taken(self, table: str, name: str, row_id: int | None) -> bool:
        return any(
            row.name.lower() == name.lower() and row.id != row_id for row in self._view.rows(table)
        )


class FakeImageRepository(_FakeRepository):
    async def add(self, image: Image) -> Image:
        self._check_name(image)
        return self._add("images", image)

    async def get(self, image_id: int) -> Image:
        return self._seen(_copy(self._require("images", "image", image_id)))

    async def get_many(self, image_ids: Iterable[int]) -> dict[int, Image]:
        return _get_many(self, "images", image_ids)

    async def get_by_name(self, name: str) -> Image | None:
        found = [i for i in self._view.rows("images") if i.name.lower() == name.lower()]
        return self._seen(_copy(found[0])) if found else None

    async def list(self) -> builtins.list[Image]:
        return [self._seen(_copy(i)) for i in self._view.rows("images")]

    async def list_by_status(self, status: str) -> builtins.list[Image]:
        rows = self._view.rows("images")
        return [self._seen(_copy(i)) for i in rows if i.status == str(status)]

    async def update(self, image: Image) -> None:
        self._check_name(image)
        self._update("images", "image", image)

    async def delete(self, image_id: int) -> None:
        self._require("images", "image", image_id)
        if any(s.image_id == image_id for s in self._view.rows("scripts")):
            raise Conflict(f"image {image_id} is used by at least one script")
        self._view.remove("images", image_id)

    def _check_name(self, image: Image) -> None:
        if self._name_taken("images", image.name, image.id):
            raise Conflict(f"an image named {image.name!r} already exists", field="name")


class FakeScriptRepository(_FakeRepository):
    async def add(self, script: Script) -> Script:
        self._check(script)
        return self._add("scripts", script)

    async def get(self, script_id: int) -> Script:
        return self._seen(_copy(self._require("scripts", "script", script_id)))

    async def get_many(self, script_ids: Iterable[int]) -> dict[int, Script]:
        return _get_many(self, "scripts", script_ids)

    async def list(self) -> builtins.list[Script]:
        return [self._seen(_copy(s)) for s in self._view.rows("scripts")]

    async def list_by_image(self, image_id: int) -> builtins.list[Script]:
        rows = self._view.rows("scripts")
        return [self._seen(_copy(s)) for s in rows if s.image_id == image_id]

    async def update(self, script: Script) -> None:
        self._check(script)
        self._update("scripts", "script", script)

    async def delete(self, script_id: int) -> None:
        self._require("scripts", "script", script_id)
        view = self._view
        view.remove("scripts", script_id)
        for table in ("revisions", "jobs", "schedules", "armed"):
            for row in list(view.rows(table)):
                if row.script_id == script_id:
                    view.remove(table, row.id)
        _drop_orphan_firings(view)

    async def add_revision(self, revision: ScriptRevision) -> ScriptRevision:
        _require_parent(self._view, "scripts", "script", revision.script_id)
        if any(
            r.script_id == revision.script_id and r.number == revision.number
            for r in self._view.rows("revisions")
        ):
            raise Conflict(
                f"script {revision.script_id} already has a revision {revision.number}",
                field="number",
            )
        revision.id = self._view.store.next_id("revisions")
        self._view.put("revisions", revision.id, revision)
        return revision

    async def get_revision(self, script_id: int, number: int) -> ScriptRevision:
        for r in self._view.rows("revisions"):
            if r.script_id == script_id and r.number == number:
                return _copy(r)
        raise NotFound(f"script {script_id} has no revision {number}")

    async def list_revisions(self, script_id: int) -> builtins.list[ScriptRevision]:
        found = [_copy(r) for r in self._view.rows("revisions") if r.script_id == script_id]
        return sorted(found, key=lambda r: r.number, reverse=True)

    def _check(self, script: Script) -> None:
        if self._name_taken("scripts", script.name, script.id):
            raise Conflict(f"a script named {script.name!r} already exists", field="name")
        _require_parent(self._view, "images", "image", script.image_id)


class FakeJobRepository(_FakeRepository):
    async def add(self, job: Job) -> Job:
        _require_parent(self._view, "scripts", "script", job.script_id)
        return self._add("jobs", job)

    async def add_many(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            await self.add(job)

    async def get(self, job_id: int) -> Job:
        return self._seen(_copy(self._require("jobs", "job", job_id)))

    async def update(self, job: Job) -> None:
        self._update("jobs", "job", job)

    async def list(
        self,
        *,
        script_id: int | None = None,
        status: JobStatus | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> builtins.list[Job]:
        found = [
            j
            for j in reversed(list(self._view.rows("jobs")))
            if (script_id is None or j.script_id == script_id)
            and (status is None or j.status == status)
            and (before_id is None or j.id < before_id)
        ]
        return [self._seen(_copy(j)) for j in found[:limit]]

    async def list_unfinished(self) -> builtins.list[Job]:
        rows = self._view.rows("jobs")
        return [self._seen(_copy(j)) for j in rows if not j.status.is_final]

    async def has_unfinished(self, script_id: int) -> bool:
        rows = self._view.rows("jobs")
        return any(j.script_id == script_id and not j.status.is_final for j in rows)

    async def unfinished_of_schedule(self, schedule_id: int) -> builtins.list[Job]:
        rows = self._view.rows("jobs")
        return [
            self._seen(_copy(j))
            for j in rows
            if j.schedule_id == schedule_id and not j.status.is_final
        ]

    async def prunable(
        self, script_id: int, *, keep_last: int | None, older_than: datetime | None
    ) -> builtins.list[Job]:
        finished = [
            j
            for j in reversed(list(self._view.rows("jobs")))
            if j.script_id == script_id and j.status.is_final
        ]
        beyond = {j.id for j in finished[keep_last:]} if keep_last is not None else set()
        old = {j.id for j in finished if older_than is not None and j.created_at < older_than}
        return [self._seen(_copy(j)) for j in finished if j.id in beyond | old]

    async def delete(self, job_id: int) -> None:
        self._require("jobs", "job", job_id)
        self._view.remove("jobs", job_id)

    async def existing_ids(self, job_ids: Iterable[int]) -> set[int]:
        return {i for i in job_ids if self._view.get("jobs", i) is not None}

    async def engine_seen(self, engine_id: str, at: datetime) -> None:
        # Not transactional in the fake: a heartbeat is a fact, never rolled back.
        seen = self._view.store.engine_heartbeats
        seen[engine_id] = max(at, seen.get(engine_id, at))

    async def engines_seen_since(self, since: datetime) -> set[str]:
        return {e for e, at in self._view.store.engine_heartbeats.items() if at >= since}


class FakeScheduleRepository(_FakeRepository):
    async def add(self, schedule: Schedule) -> Schedule:
        _require_parent(self._view, "scripts", "script", schedule.script_id)
        return self._add("schedules", schedule)

    async def get(self, schedule_id: int) -> Schedule:
        return self._seen(_copy(self._require("schedules", "schedule", schedule_id)))

    async def list_by_script(self, script_id: int) -> builtins.list[Schedule]:
        rows = self._view.rows("schedules")
        return [self._seen(_copy(s)) for s in rows if s.script_id == script_id]

    async def update(self, schedule: Schedule) -> None:
        self._update("schedules", "schedule", schedule)

    async def delete(self, schedule_id: int) -> None:
        self._require("schedules", "schedule", schedule_id)
        self._view.remove("schedules", schedule_id)
        _drop_orphan_firings(self._view)

    async def due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        found = [
            s
            for s in self._view.rows("schedules")
            if s.enabled and s.next_run_at is not None and s.next_run_at <= now
        ]
        found.sort(key=lambda s: (s.next_run_at, s.id))
        return [self._seen(_copy(s)) for s in found[:limit]]

    async def lock_due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        # No row locks in memory: claim_many (checked again on commit) decides.
        return await self.due(now, limit)

    async def next_due_time(self) -> datetime | None:
        times = [
            s.next_run_at
            for s in self._view.rows("schedules")
            if s.enabled and s.next_run_at is not None
        ]
        return min(times, default=None)

    async def upcoming(self, limit: int = 10) -> builtins.list[Schedule]:
        found = [s for s in self._view.rows("schedules") if s.enabled and s.next_run_at is not None]
        found.sort(key=lambda s: (s.next_run_at, s.id))
        return [self._seen(_copy(s)) for s in found[:limit]]

    async def claim(self, schedule: Schedule, seen_next_run_at: datetime) -> bool:
        row_id = schedule.require_id
        current = self._view.get("schedules", row_id)
        if current is None or current.next_run_at != seen_next_run_at:
            return False
        # Checked again on commit: a database would have made the loser wait here.
        self._view.expect_unchanged("schedules", row_id)
        claimed = _copy(current)
        claimed.next_run_at = schedule.next_run_at
        claimed.version += 1
        self._view.put("schedules", row_id, claimed)
        schedule.version = claimed.version
        self._track(schedule)
        return True

    async def claim_many(self, claims: Sequence[tuple[Schedule, datetime | None]]) -> bool:
        for schedule, _ in claims:
            current = self._view.get("schedules", schedule.require_id)
            if (
                current is None
                or current.next_run_at != schedule.next_run_at
                or current.version != schedule.version
            ):
                return False
        for schedule, next_run_at in claims:
            self._view.expect_unchanged("schedules", schedule.require_id)
            schedule.next_run_at = next_run_at
            schedule.version += 1
            self._view.put("schedules", schedule.require_id, schedule)
            self._track(schedule)
        return True

    def _taken(self) -> set[tuple[int, datetime]]:
        """The (schedule, fire time) keys recorded, armed ones included."""
        firings = itertools.chain(
            self._view.rows("firings"), (a.firing for a in self._view.rows("armed"))
        )
        return {(f.schedule_id, f.fire_time) for f in firings}

    async def add_firings(self, firings: Sequence[ScheduleFiring]) -> None:
        new = [(f.schedule_id, f.fire_time) for f in firings]
        if len(set(new)) != len(new) or self._taken() & set(new):
            raise Conflict("one of these fire times was recorded already", field="fire_time")
        for firing in firings:
            await self.add_firing(firing)

    async def add_firing(self, firing: ScheduleFiring) -> ScheduleFiring:
        _require_parent(self._view, "schedules", "schedule", firing.schedule_id)
        if (firing.schedule_id, firing.fire_time) in self._taken():
            raise Conflict(
                f"schedule {firing.schedule_id} already fired at {firing.fire_time.isoformat()}",
                field="fire_time",
            )
        firing.id = self._view.store.next_id("firings")
        self._view.put("firings", firing.id, firing)
        return firing

    async def list_firings(
        self, schedule_id: int, limit: int = 100, before: datetime | None = None
    ) -> builtins.list[ScheduleFiring]:
        found = [
            f
            for f in self._view.rows("firings")
            if f.schedule_id == schedule_id and (before is None or f.fire_time < before)
        ]
        found.sort(key=lambda f: (f.fire_time, f.id), reverse=True)
        return [_copy(f) for f in found[:limit]]

    # --- arming ahead -----------------------------------------------------------------

    async def arm(self, firings: Sequence[tuple[ScheduleFiring, Job]]) -> None:
        new = [(f.schedule_id, f.fire_time) for f, _ in firings]
        if len(set(new)) != len(new) or self._taken() & set(new):
            raise Conflict("one of these fire times was recorded already", field="fire_time")
        for firing, job in firings:
            _require_parent(self._view, "schedules", "schedule", firing.schedule_id)
            _require_parent(self._view, "scripts", "script", job.script_id)
            job.id, job.version = self._view.store.next_id("jobs"), 1
            firing.id, firing.job_id = self._view.store.next_id("firings"), job.id
            self._view.put("armed", firing.id, _Armed(id=firing.id, firing=firing, job=job))

    async def due_armed(self, now: datetime, limit: int) -> builtins.list[ArmedFiring]:
        due = [a for a in self._view.rows("armed") if a.firing.fire_time <= now]
        due.sort(key=lambda a: (a.firing.fire_time, a.id))
        return [a.as_armed() for a in due[:limit]]

    async def fire_armed(
        self, armed: Sequence[ArmedFiring], now: datetime
    ) -> builtins.list[ArmedFiring]:
        fired = []
        for seen in armed:
            row: _Armed | None = self._view.get("armed", seen.firing_id)
            if row is None:
                raise ConcurrentUpdate("armed firings changed since they were read")
            script = self._view.get("scripts", row.job.script_id)
            image = self._view.get("images", script.image_id) if script is not None else None
            if (
                script is None
                or image is None
                or (script.current_revision, image.id, image.status, image.tag)
                != (seen.revision, seen.image_id, ImageStatus.BUILT, seen.image_tag)
                or image.tag is None
            ):
                continue
            # Checked again on commit: a database would have made the loser wait here.
            self._view.expect_unchanged("armed", row.id)
            self._view.remove("armed", row.id)
            job, firing = _copy(row.job), _copy(row.firing)
            job.status, job.created_at = JobStatus.QUEUED, now
            firing.outcome, firing.recorded_at = FiringOutcome.FIRED, now
            self._view.put("jobs", job.require_id, job)
            self._view.put("firings", row.id, firing)
            fired.append(seen)
        return fired

    async def disarm(self, schedule_ids: Iterable[int]) -> dict[int, datetime]:
        wanted = set(schedule_ids)
        earliest: dict[int, datetime] = {}
        for row in list(self._view.rows("armed")):
            schedule_id = row.firing.schedule_id
            if schedule_id in wanted:
                self._view.expect_unchanged("armed", row.id)
                self._view.remove("armed", row.id)
                fire_time = row.firing.fire_time
                earliest[schedule_id] = min(fire_time, earliest.get(schedule_id, fire_time))
        for schedule_id, fire_time in earliest.items():
            schedule = self._view.get("schedules", schedule_id)
            if schedule is None or not schedule.enabled:
                continue
            if schedule.next_run_at is None or schedule.next_run_at > fire_time:
                self._view.expect_unchanged("schedules", schedule_id)
                moved = _copy(schedule)
                moved.next_run_at, moved.version = fire_time, schedule.version + 1
                self._view.put("schedules", schedule_id, moved)
        return earliest

    async def armed_times(
        self, schedule_ids: Iterable[int] | None = None, *, limit: int | None = None
    ) -> dict[int, datetime]:
        wanted = None if schedule_ids is None else set(schedule_ids)
        earliest: dict[int, datetime] = {}
        for armed in self._view.rows("armed"):
            schedule_id, fire_time = armed.firing.schedule_id, armed.firing.fire_time
            if wanted is None or schedule_id in wanted:
                earliest[schedule_id] = min(fire_time, earliest.get(schedule_id, fire_time))
        soonest = sorted(earliest.items(), key=lambda item: (item[1], item[0]))
        return dict(soonest[:limit] if limit is not None else soonest)

    async def next_armed_time(self) -> datetime | None:
        return min((a.firing.fire_time for a in self._view.rows("armed")), default=None)


def _get_many(repository: _FakeRepository, table: str, row_ids: Iterable[int]) -> dict[int, Any]:
    found = (repository._view.get(table, row_id) for row_id in set(row_ids))
    return {row.id: repository._seen(_copy(row)) for row in found if row is not None}


def _require_parent(view: _View, table: str, noun: str, row_id: int) -> None:
    """What a foreign key does: refuse a reference to a row that is not there."""
    if view.get(table, row_id) is None:
        raise NotFound(f"{noun} {row_id} not found", field=f"{noun}_id")


def _drop_orphan_firings(view: _View) -> None:
    for firing in list(view.rows("firings")):
        if view.get("schedules", firing.schedule_id) is None:
            view.remove("firings", firing.id)
    for armed in list(view.rows("armed")):  # and their armed jobs, which nothing reads
        if view.get("schedules", armed.firing.schedule_id) is None:
            view.remove("armed", armed.id)


class FakeUnitOfWork:
    """The ``UnitOfWork`` port in memory, with the SQL one's commit and rollback rules."""

    # Typed as the ports: a Protocol's attributes are invariant.
    images: ImageRepository
    scripts: ScriptRepository
    jobs: JobRepository
    schedules: ScheduleRepository

    def __init__(
        self, store: FakeStore | None = None, *, on_commit: Callable[[], None] | None = None
    ) -> None:
        self.store = store if store is not None else FakeStore()
        self.committed = False
        self._on_commit = on_commit
        self._aggregates: dict[int, Aggregate] = {}
        self._emitted: list[DomainEvent] = []
        self._new_view()

    def _new_view(self) -> None:
        self._view = _View(self.store)
        self.images = FakeImageRepository(self._view, self._track)
        self.scripts = FakeScriptRepository(self._view, self._track)
        self.jobs = FakeJobRepository(self._view, self._track)
        self.schedules = FakeScheduleRepository(self._view, self._track)

    def _track(self, aggregate: Aggregate) -> None:
        self._aggregates.setdefault(id(aggregate), aggregate)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    def emit(self, event: DomainEvent) -> None:
        self._emitted.append(event)

    async def commit(self) -> None:
        store, view = self.store, self._view
        for (table, row_id), expected in view.expected_versions.items():
            stored = store.tables[table].get(row_id)
            if stored is None or stored.version != expected:
                raise ConcurrentUpdate(f"{table} {row_id} was changed by someone else")
        for table, changes in view.changes.items():
            for row_id, row in changes.items():
                if row is _DELETED:
                    store.tables[table].pop(row_id, None)
                else:
                    store.tables[table][row_id] = row
        raised = [e for a in self._aggregates.values() for e in a.events]
        # One row per event even if the same event was raised and emitted.
        events = list({e.event_id: e for e in raised + self._emitted}.values())
        now = store.now()
        for chunk in outbox_chunks(events):  # stored as the SQL outbox stores them
            store.outbox[store.next_id("outbox")] = _OutboxRow(
                event_id=chunk[0].event_id,
                routing_key=chunk[0].key(),
                payload=encode_chunk(chunk),
                created_at=now,
            )
        store.commits += 1
        for aggregate in self._aggregates.values():
            aggregate.events.clear()
        self._emitted.clear()
        self._new_view()
        self.committed = True
        if events and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        for aggregate in self._aggregates.values():
            aggregate.events.clear()
        self._aggregates.clear()
        self._emitted.clear()
        self._new_view()


class FakeOutbox:
    """The ``Outbox`` port over a ``FakeStore``."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def pending(self, limit: int = 100) -> builtins.list[OutboxMessage]:
        rows = sorted(self.store.outbox.items())
        unpublished = [(i, row) for i, row in rows if row.published_at is None][:limit]
        return [
            OutboxMessage(id=message_id, event=event)
            for message_id, row in unpublished
            for event in decode_events(row.payload)
        ]

    async def mark_published(self, message_ids: Sequence[int]) -> None:
        now = self.store.now()
        for message_id in message_ids:
            row = self.store.outbox.get(message_id)
            if row is not None and row.published_at is None:
                row.published_at = now

    @asynccontextmanager
    async def relay_lock(self) -> AsyncIterator[bool]:
        yield True  # one process: nothing to exclude

    async def purge_published(self, older_than: datetime) -> int:
        old = [
            message_id
            for message_id, row in self.store.outbox.items()
            if row.published_at is not None and row.published_at < older_than
        ]
        for message_id in old:
            del self.store.outbox[message_id]
        return len(old)

    @property
    def published(self) -> builtins.list[DomainEvent]:
        """Every event marked published so far, for assertions."""
        rows = sorted(self.store.outbox.items())
        return [e for _, r in rows if r.published_at is not None for e in decode_events(r.payload)]
