"""The persistence contract (``scripter.domain.ports``), once for every implementation:
the in-memory fakes, SQLite and MariaDB (``backend`` is parametrised)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from scripter.adapters.db.unit_of_work import EVENTS_PER_ROW, PACK_ABOVE
from scripter.domain.errors import ConcurrentUpdate, Conflict, NotFound
from scripter.domain.events import (
    ImageBuildRequested,
    ImageBuildStarted,
    JobRequested,
    ScheduleTick,
    decode_event,
    encode_event,
)
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus, JobTrigger
from scripter.domain.schedules import (
    FiringOutcome,
    MisfirePolicy,
    OverlapPolicy,
    Schedule,
    ScheduleFiring,
)
from scripter.domain.scripts import EnvVar, NetworkMode, ResourceLimits, Script, ScriptRevision
from tests.integration.db_fixtures import (  # noqa: F401 (fixtures)
    Backend,
    backend_fixture,
    mariadb_session_url_fixture,
)

T0 = datetime(2030, 5, 17, 8, 30, 15, 123456, tzinfo=UTC)
BIG_TEXT = "Traceback ünïcödé ✓\n" * 6000  # ~120 KB: more than a MariaDB TEXT holds


def fields(obj: Any) -> dict[str, Any]:
    """Every stored field of an entity (``events`` are not stored)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name != "events"}


def new_image(name: str = "py312", **overrides: Any) -> Image:
    return Image(**{"name": name, "created_at": T0, "updated_at": T0, **overrides})


def new_script(image_id: int, name: str = "hello", **overrides: Any) -> Script:
    values = {"name": name, "image_id": image_id, "created_at": T0, "updated_at": T0}
    return Script(**{**values, **overrides})


def new_job(script_id: int, **overrides: Any) -> Job:
    values = {"script_id": script_id, "revision": 1, "image_id": 1, "created_at": T0}
    return Job(**{**values, **overrides})


def fired_at_t0(schedule_id: int) -> ScheduleFiring:
    """A firing of ``schedule_id`` for T0, fired and recorded then."""
    return ScheduleFiring(
        schedule_id=schedule_id, fire_time=T0, outcome=FiringOutcome.FIRED, recorded_at=T0
    )


def new_schedule(script_id: int, **overrides: Any) -> Schedule:
    values = {"script_id": script_id, "cron": "*/5 * * * *", "created_at": T0, "updated_at": T0}
    return Schedule(**{**values, **overrides})


async def seed_script(backend: Backend, name: str = "hello") -> tuple[int, int]:
    """An image and a script on it, committed; returns (image_id, script_id)."""
    async with backend.uow() as uow:
        image = await uow.images.get_by_name("base") or await uow.images.add(new_image("base"))
        script = await uow.scripts.add(new_script(image.require_id, name))
        await uow.commit()
    return image.require_id, script.require_id


# --- images -------------------------------------------------------------------------


async def test_image_round_trips_every_field(backend: Backend) -> None:
    full = new_image(
        "Py312",
        description="Python 3.12 with requests",
        status=ImageStatus.FAILED,
        tag="scripter/py312:1",
        docker_image_id="sha256:" + "a" * 64,
        error=BIG_TEXT,
        build_started_at=T0 + timedelta(seconds=1),
        build_finished_at=T0 + timedelta(seconds=2, microseconds=1),
    )
    bare = new_image("bare")
    async with backend.uow() as uow:
        assert await uow.images.add(full) is full
        await uow.images.add(bare)
        await uow.commit()
    assert full.id is not None and full.version == 1 and bare.id != full.id

    async with backend.uow() as uow:
        loaded = await uow.images.get(full.require_id)
        assert fields(loaded) == fields(full)
        assert loaded.created_at.utcoffset() == timedelta(0)
        assert loaded.build_finished_at == T0 + timedelta(seconds=2, microseconds=1)
        assert fields(await uow.images.get(bare.require_id)) == fields(bare)
        by_name = await uow.images.get_by_name("py312")  # names ignore case
        assert by_name is not None and by_name.id == full.id
        assert await uow.images.get_by_name("nope") is None
        assert [i.id for i in await uow.images.list()] == [full.id, bare.id]
        assert [i.id for i in await uow.images.list_by_status("failed")] == [full.id]
        assert [i.id for i in await uow.images.list_by_status(ImageStatus.DORMANT)] == [bare.id]

        loaded.name, loaded.description, loaded.error = "py313", "", None
        loaded.status, loaded.tag, loaded.build_started_at = ImageStatus.DORMANT, None, None
        loaded.updated_at = T0.astimezone(timezone(timedelta(hours=2)))  # same instant
        await uow.images.update(loaded)
        assert loaded.version == 2
        await uow.commit()

    async with backend.uow() as uow:
        assert fields(await uow.images.get(full.require_id)) == fields(loaded)
        await uow.images.delete(bare.require_id)
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(NotFound, match=f"image {bare.id} not found"):
            await uow.images.get(bare.require_id)


async def test_missing_rows_raise_not_found(backend: Backend) -> None:
    async with backend.uow() as uow:
        with pytest.raises(NotFound, match="image 424242 not found"):
            await uow.images.get(424242)
        with pytest.raises(NotFound, match="script 424242 not found"):
            await uow.scripts.get(424242)
        with pytest.raises(NotFound, match="job 424242 not found"):
            await uow.jobs.get(424242)
        with pytest.raises(NotFound, match="schedule 424242 not found"):
            await uow.schedules.get(424242)
        with pytest.raises(NotFound):
            await uow.scripts.get_revision(424242, 1)
        with pytest.raises(NotFound):
            await uow.images.delete(424242)
        ghost = new_image("ghost", id=424242, version=1)
        with pytest.raises(NotFound):
            await uow.images.update(ghost)
        with pytest.raises(NotFound) as missing_image:
            await uow.scripts.add(new_script(424242))
        assert missing_image.value.field == "image_id"
        with pytest.raises(NotFound) as missing_script:
            await uow.jobs.add(new_job(424242))
        assert missing_script.value.field == "script_id"


async def test_taken_names_conflict_on_field_name(backend: Backend) -> None:
    image_id, _ = await seed_script(backend, "report")
    async with backend.uow() as uow:
        with pytest.raises(Conflict) as image_conflict:
            await uow.images.add(new_image("BASE"))
        assert image_conflict.value.field == "name"
        with pytest.raises(Conflict) as script_conflict:
            await uow.scripts.add(new_script(image_id, "Report"))
        assert script_conflict.value.field == "name"
        other = await uow.scripts.add(new_script(image_id, "other"))
        other.name = "report"
        with pytest.raises(Conflict) as rename_conflict:
            await uow.scripts.update(other)
        assert rename_conflict.value.field == "name"
        # A refused statement leaves the transaction usable.
        other.name = "other-renamed"
        await uow.scripts.update(other)
        await uow.commit()
    async with backend.uow() as uow:
        assert sorted(s.name for s in await uow.scripts.list()) == ["other-renamed", "report"]


# --- scripts and revisions ----------------------------------------------------------


async def test_script_round_trips_every_field(backend: Backend) -> None:
    image_id, _ = await seed_script(backend, "seed")
    script = new_script(
        image_id,
        "etl",
        description="nightly ETL ✓",
        entry_file="jobs/etl.py",
        env=[EnvVar(name="TOKEN", value="s3cret", secret=True), EnvVar(name="MODE", value="")],
        args=["--since", "yesterday", ""],
        limits=ResourceLimits(memory_mb=None, cpus=2.0, pids=None),
        timeout_seconds=None,
        network_mode=NetworkMode.BRIDGE,
        current_revision=3,
    )
    async with backend.uow() as uow:
        await uow.scripts.add(script)
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await uow.scripts.get(script.require_id)
        assert fields(loaded) == fields(script)
        assert [s.id for s in await uow.scripts.list_by_image(image_id)][-1] == script.id
        assert await uow.scripts.list_by_image(424242) == []
        loaded.env, loaded.args, loaded.limits = [], [], ResourceLimits()
        loaded.timeout_seconds, loaded.network_mode = 60, NetworkMode.NONE
        await uow.scripts.update(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        assert fields(await uow.scripts.get(script.require_id)) == fields(loaded)


async def test_revisions_are_unique_per_script_and_listed_newest_first(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    files = {"main.py": "print('hé')\n", "lib/big.txt": BIG_TEXT}
    settings: dict[str, object] = {"args": ["-v"], "limits": {"cpus": 1.5}, "timeout": None}
    async with backend.uow() as uow:
        first = await uow.scripts.add_revision(
            ScriptRevision(
                script_id=script_id,
                number=1,
                content_hash="ab" * 32,
                files=files,
                settings=settings,
                created_at=T0,
            )
        )
        second = ScriptRevision(
            script_id=script_id, number=2, content_hash="cd", files={}, settings={}, created_at=T0
        )
        await uow.scripts.add_revision(second)
        with pytest.raises(Conflict) as taken:
            await uow.scripts.add_revision(dataclasses.replace(second, id=None))
        assert taken.value.field == "number"
        await uow.commit()
    assert first.id is not None and second.id is not None
    async with backend.uow() as uow:
        assert fields(await uow.scripts.get_revision(script_id, 1)) == fields(first)
        assert [r.number for r in await uow.scripts.list_revisions(script_id)] == [2, 1]
        assert await uow.scripts.list_revisions(424242) == []
        with pytest.raises(NotFound):
            await uow.scripts.get_revision(script_id, 3)


# --- jobs ---------------------------------------------------------------------------


async def test_job_round_trips_every_field(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    job = new_job(
        script_id,
        revision=7,
        image_id=9,
        image_tag="scripter/base:9",
        trigger=JobTrigger.SCHEDULE,
        schedule_id=424242,
        status=JobStatus.TIMED_OUT,
        args=["a b", "ü"],
        env={"A": "1", "EMPTY": ""},
        started_at=T0 + timedelta(microseconds=5),
        finished_at=T0 + timedelta(minutes=1, microseconds=999999),
        exit_code=-9,
        container_id="c" * 64,
        error=BIG_TEXT,
        cancel_requested=True,
        engine_id="engine-1",
        docker_image_id="sha256:" + "e" * 64,
    )
    bare = new_job(script_id)
    async with backend.uow() as uow:
        await uow.jobs.add(job)
        await uow.jobs.add(bare)
        await uow.commit()
    async with backend.uow() as uow:
        assert fields(await uow.jobs.get(job.require_id)) == fields(job)
        assert fields(await uow.jobs.get(bare.require_id)) == fields(bare)


async def test_redelivered_start_loses_to_the_first(backend: Backend) -> None:
    """Two workers handle the same JobRequested: only one may start the job."""
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        job_id = (await uow.jobs.add(new_job(script_id))).require_id
        await uow.commit()
    await backend.outbox.mark_published([m.id for m in await backend.outbox.pending()])

    async with backend.uow() as first, backend.uow() as second:
        mine, theirs = await first.jobs.get(job_id), await second.jobs.get(job_id)
        mine.start(T0, container_id="first")
        theirs.start(T0, container_id="second")
        await first.jobs.update(mine)
        await first.commit()
        with pytest.raises(ConcurrentUpdate):
            await second.jobs.update(theirs)
            await second.commit()

    async with backend.uow() as uow:
        stored = await uow.jobs.get(job_id)
    assert (stored.container_id, stored.status, stored.version) == ("first", "running", 2)
    assert [m.event.key() for m in await backend.outbox.pending()] == ["job.started"]


async def test_simultaneous_updates_let_exactly_one_win(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        job_id = (await uow.jobs.add(new_job(script_id))).require_id
        await uow.commit()

    both_loaded = asyncio.Barrier(2)

    async def start(container_id: str) -> bool:
        async with backend.uow() as uow:
            job = await uow.jobs.get(job_id)
            await both_loaded.wait()
            job.start(T0, container_id=container_id)
            try:
                await uow.jobs.update(job)
                await uow.commit()
            except ConcurrentUpdate:
                return False
            return True

    assert sorted(await asyncio.gather(start("a"), start("b"))) == [False, True]


async def test_job_list_filters_pages_newest_first(backend: Backend) -> None:
    _, script_a = await seed_script(backend, "a")
    _, script_b = await seed_script(backend, "b")
    plan = [
        (script_a, JobStatus.SUCCEEDED),
        (script_b, JobStatus.RUNNING),
        (script_a, JobStatus.QUEUED),
        (script_a, JobStatus.FAILED),
        (script_b, JobStatus.SUCCEEDED),
        (script_a, JobStatus.RUNNING),
    ]
    async with backend.uow() as uow:
        ids = [(await uow.jobs.add(new_job(s, status=st))).require_id for s, st in plan]
        await uow.commit()

    async with backend.uow() as uow:

        async def listed(**query: Any) -> list[int]:
            return [j.require_id for j in await uow.jobs.list(**query)]

        assert await listed() == ids[::-1]
        assert await listed(script_id=script_a) == [ids[5], ids[3], ids[2], ids[0]]
        assert await listed(status=JobStatus.SUCCEEDED) == [ids[4], ids[0]]
        assert await listed(script_id=script_b, status=JobStatus.RUNNING) == [ids[1]]
        assert await listed(limit=2) == [ids[5], ids[4]]
        assert await listed(before_id=ids[4], limit=2) == [ids[3], ids[2]]
        assert await listed(script_id=script_a, before_id=ids[2]) == [ids[0]]
        assert await listed(before_id=ids[0]) == []
        unfinished = await uow.jobs.list_unfinished()
        assert [j.id for j in unfinished] == [ids[1], ids[2], ids[5]]


async def test_prunable_takes_finished_jobs_beyond_the_newest_or_too_old(
    backend: Backend,
) -> None:
    _, script_id = await seed_script(backend, "a")
    _, other = await seed_script(backend, "b")
    ages = [40, 30, 20, 10, 5]  # days before T0, oldest job first
    async with backend.uow() as uow:
        ids = []
        for age in ages:
            job = await uow.jobs.add(
                new_job(script_id, status=JobStatus.SUCCEEDED, created_at=T0 - timedelta(days=age))
            )
            ids.append(job.require_id)
        running = await uow.jobs.add(
            new_job(script_id, status=JobStatus.RUNNING, created_at=T0 - timedelta(days=99))
        )
        await uow.jobs.add(
            new_job(other, status=JobStatus.FAILED, created_at=T0 - timedelta(days=99))
        )
        await uow.commit()

    async def prunable(keep_last: int | None, days: int | None) -> list[int]:
        older_than = None if days is None else T0 - timedelta(days=days)
        async with backend.uow() as uow:
            found = await uow.jobs.prunable(script_id, keep_last=keep_last, older_than=older_than)
        return [j.require_id for j in found]

    assert await prunable(None, None) == []
    assert await prunable(2, None) == ids[2::-1]  # beyond the newest two, newest first
    assert await prunable(None, 25) == ids[1::-1]  # older than 25 days
    assert await prunable(4, 25) == ids[1::-1]  # either rule lets a job go
    assert await prunable(1, 100) == ids[3::-1]
    assert running.require_id not in await prunable(0, 1)  # never an unfinished job
    async with backend.uow() as uow:
        await uow.jobs.delete(ids[0])
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(NotFound):
            await uow.jobs.get(ids[0])
        with pytest.raises(NotFound):
            await uow.jobs.delete(ids[0])


async def test_existing_ids_names_the_jobs_that_still_have_a_row(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        ids = [(await uow.jobs.add(new_job(script_id))).require_id for _ in range(3)]
        await uow.commit()
    async with backend.uow() as uow:
        await uow.jobs.delete(ids[1])
        await uow.commit()
    async with backend.uow() as uow:
        asked = [ids[2], ids[1], ids[0], ids[2], ids[2] + 1000]  # repeats, a never-made id
        assert await uow.jobs.existing_ids(asked) == {ids[0], ids[2]}
        assert await uow.jobs.existing_ids([]) == set()
        # Its own uncommitted delete counts: the unit of work sees its changes.
        await uow.jobs.delete(ids[0])
        assert await uow.jobs.existing_ids(ids) == {ids[2]}


async def test_engines_report_alive_and_the_time_only_moves_on(backend: Backend) -> None:
    async with backend.uow() as uow:
        assert await uow.jobs.engines_seen_since(T0 - timedelta(days=1)) == set()
        await uow.jobs.engine_seen("engine-a", T0)
        await uow.jobs.engine_seen("engine-b", T0 + timedelta(seconds=30))
        await uow.commit()
    async with backend.uow() as uow:
        await uow.jobs.engine_seen("engine-a", T0 + timedelta(seconds=60))
        await uow.jobs.engine_seen("engine-b", T0)  # older than what is known: kept
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.jobs.engines_seen_since(T0) == {"engine-a", "engine-b"}
        assert await uow.jobs.engines_seen_since(T0 + timedelta(seconds=30)) == {
            "engine-a",
            "engine-b",
        }
        assert await uow.jobs.engines_seen_since(T0 + timedelta(seconds=31)) == {"engine-a"}
        assert await uow.jobs.engines_seen_since(T0 + timedelta(seconds=61)) == set()


async def test_has_unfinished_sees_only_queued_and_running_jobs_of_the_script(
    backend: Backend,
) -> None:
    _, script_a = await seed_script(backend, "a")
    _, script_b = await seed_script(backend, "b")
    _, script_c = await seed_script(backend, "c")
    async with backend.uow() as uow:
        for status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.LOST):
            await uow.jobs.add(new_job(script_a, status=status))
        await uow.jobs.add(new_job(script_b, status=JobStatus.QUEUED))
        running = await uow.jobs.add(new_job(script_c, status=JobStatus.RUNNING))
        await uow.commit()
    async with backend.uow() as uow:
        assert not await uow.jobs.has_unfinished(script_a)
        assert await uow.jobs.has_unfinished(script_b)
        assert await uow.jobs.has_unfinished(script_c)
        assert not await uow.jobs.has_unfinished(424242)
        job = await uow.jobs.get(running.require_id)
        job.finish(T0, JobStatus.SUCCEEDED, exit_code=0)
        await uow.jobs.update(job)
        # The unit of work sees its own change before committing it.
        assert not await uow.jobs.has_unfinished(script_c)


async def test_unfinished_of_schedule_sees_only_that_schedules_queued_and_running_jobs(
    backend: Backend,
) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        queued = await uow.jobs.add(new_job(script_id, schedule_id=7))
        running = await uow.jobs.add(new_job(script_id, schedule_id=7, status=JobStatus.RUNNING))
        await uow.jobs.add(new_job(script_id, schedule_id=7, status=JobStatus.SUCCEEDED))
        await uow.jobs.add(new_job(script_id, schedule_id=8))
        await uow.jobs.add(new_job(script_id))
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.jobs.unfinished_of_schedule(7)
        assert [j.id for j in found] == [queued.id, running.id]
        assert await uow.jobs.unfinished_of_schedule(9) == []


# --- schedules ----------------------------------------------------------------------


async def test_schedule_round_trips_every_field(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    schedule = new_schedule(
        script_id,
        cron="0 30 1 * * *",
        timezone="Europe/Berlin",
        enabled=False,
        misfire_policy=MisfirePolicy.RUN_ONCE,
        overlap_policy=OverlapPolicy.REPLACE,
        args=["--full"],
        env={"K": "v"},
        next_run_at=T0,
    )
    async with backend.uow() as uow:
        await uow.schedules.add(schedule)
        bare = await uow.schedules.add(new_schedule(script_id))
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await uow.schedules.get(schedule.require_id)
        assert fields(loaded) == fields(schedule)
        assert fields(await uow.schedules.get(bare.require_id)) == fields(bare)
        listed = await uow.schedules.list_by_script(script_id)
        assert [s.id for s in listed] == [schedule.id, bare.id]
        assert loaded.args == ["--full"] and bare.args is None
        loaded.enabled, loaded.next_run_at, loaded.env, loaded.args = True, None, {}, None
        await uow.schedules.update(loaded)
        await uow.schedules.delete(bare.require_id)
        await uow.commit()
    async with backend.uow() as uow:
        assert fields(await uow.schedules.get(schedule.require_id)) == fields(loaded)
        assert [s.id for s in await uow.schedules.list_by_script(script_id)] == [schedule.id]


async def test_due_schedules_and_next_due_time(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        assert await uow.schedules.next_due_time() is None
        late = await uow.schedules.add(new_schedule(script_id, next_run_at=T0 + timedelta(days=1)))
        soon = await uow.schedules.add(new_schedule(script_id, next_run_at=T0))
        await uow.schedules.add(
            new_schedule(script_id, enabled=False, next_run_at=T0 - timedelta(days=1))
        )
        await uow.schedules.add(new_schedule(script_id, next_run_at=None))
        await uow.commit()
    async with backend.uow() as uow:
        due = uow.schedules.due
        assert await due(T0 - timedelta(microseconds=1)) == []
        assert [s.id for s in await due(T0)] == [soon.id]
        assert [s.id for s in await due(T0 + timedelta(days=2))] == [soon.id, late.id]
        assert [s.id for s in await due(T0 + timedelta(days=2), limit=1)] == [soon.id]
        assert await uow.schedules.next_due_time() == T0


async def test_upcoming_lists_enabled_schedules_of_all_scripts_soonest_first(
    backend: Backend,
) -> None:
    _, first_script = await seed_script(backend, "first")
    _, second_script = await seed_script(backend, "second")
    async with backend.uow() as uow:
        assert await uow.schedules.upcoming() == []
        late = await uow.schedules.add(new_schedule(first_script, next_run_at=T0 + timedelta(1)))
        tied_a = await uow.schedules.add(new_schedule(second_script, next_run_at=T0))
        tied_b = await uow.schedules.add(new_schedule(first_script, next_run_at=T0))
        overdue = await uow.schedules.add(
            new_schedule(second_script, next_run_at=T0 - timedelta(hours=1))
        )
        await uow.schedules.add(
            new_schedule(first_script, enabled=False, next_run_at=T0 - timedelta(days=1))
        )
        await uow.schedules.add(new_schedule(second_script, next_run_at=None))
        await uow.commit()
    async with backend.uow() as uow:
        listed = await uow.schedules.upcoming()
        assert [s.id for s in listed] == [overdue.id, tied_a.id, tied_b.id, late.id]
        assert [s.script_id for s in listed] == [
            second_script,
            second_script,
            first_script,
            first_script,
        ]
        assert fields(listed[-1]) == fields(late)
        assert [s.id for s in await uow.schedules.upcoming(limit=2)] == [overdue.id, tied_a.id]


async def test_claim_moves_next_run_only_from_the_seen_value(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        schedule = await uow.schedules.add(new_schedule(script_id, next_run_at=T0))
        await uow.commit()
    async with backend.uow() as uow:
        (loaded,) = await uow.schedules.due(T0)
        loaded.next_run_at = T0 + timedelta(minutes=5)
        assert await uow.schedules.claim(loaded, T0)
        assert loaded.version == 2
        loaded.next_run_at = T0 + timedelta(minutes=10)
        assert not await uow.schedules.claim(loaded, T0)  # T0 is no longer stored
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.schedules.get(schedule.require_id)
        assert (stored.next_run_at, stored.version) == (T0 + timedelta(minutes=5), 2)
        stored.enabled = False
        await uow.schedules.update(stored)  # the claim left a consistent version behind
        assert stored.version == 3
        await uow.commit()


async def test_simultaneous_claims_let_exactly_one_scheduler_fire(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        schedule_id = (await uow.schedules.add(new_schedule(script_id, next_run_at=T0))).id
        await uow.commit()

    both_read = asyncio.Barrier(2)

    async def tick() -> bool:
        async with backend.uow() as uow:
            (schedule,) = await uow.schedules.due(T0)
            await both_read.wait()
            schedule.next_run_at = T0 + timedelta(minutes=5)
            if not await uow.schedules.claim(schedule, T0):
                return False
            await uow.schedules.add_firing(fired_at_t0(schedule.require_id))
            await uow.commit()
            return True

    assert sorted(await asyncio.gather(tick(), tick())) == [False, True]
    async with backend.uow() as uow:
        assert schedule_id is not None
        assert len(await uow.schedules.list_firings(schedule_id)) == 1


async def test_claim_many_moves_all_or_nothing(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        for minute in (0, 0, 1):
            await uow.schedules.add(
                new_schedule(script_id, next_run_at=T0 + timedelta(minutes=minute))
            )
        await uow.commit()
    later = T0 + timedelta(minutes=5)
    async with backend.uow() as uow:
        due = await uow.schedules.lock_due(T0 + timedelta(minutes=1))
        assert await uow.schedules.claim_many([(s, later) for s in due])
        assert [(s.next_run_at, s.version) for s in due] == [(later, 2)] * 3
        await uow.commit()
    async with backend.uow() as uow:
        stored = [await uow.schedules.get(s.require_id) for s in due]
        assert [(s.next_run_at, s.version) for s in stored] == [(later, 2)] * 3
        # One of them changed by someone else (its version moved): none is claimed.
        stale = [dataclasses.replace(s) for s in stored]
        stored[1].enabled = True
        await uow.schedules.update(stored[1])
        await uow.commit()
    async with backend.uow() as uow:
        assert not await uow.schedules.claim_many(
            [(s, later + timedelta(minutes=5)) for s in stale]
        )
        await uow.rollback()
    async with backend.uow() as uow:
        assert [(await uow.schedules.get(s.require_id)).next_run_at for s in stale] == [later] * 3


async def test_simultaneous_bulk_claims_fire_each_schedule_once(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        for _ in range(20):
            await uow.schedules.add(new_schedule(script_id, next_run_at=T0))
        await uow.commit()
    both_read = asyncio.Barrier(2)

    async def tick() -> int:
        async with backend.uow() as uow:
            # MariaDB: the second skips the rows the first holds (no wait, no deadlock).
            due = await uow.schedules.lock_due(T0)
            await both_read.wait()
            if not due or not await uow.schedules.claim_many(
                [(s, T0 + timedelta(minutes=5)) for s in due]
            ):
                return 0
            await uow.schedules.add_firings([fired_at_t0(s.require_id) for s in due])
            await uow.commit()
            return len(due)

    assert sorted(await asyncio.gather(tick(), tick())) == [0, 20]


async def test_bulk_inserts_give_ids_and_refuse_taken_fire_times(backend: Backend) -> None:
    image_id, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        schedule = await uow.schedules.add(new_schedule(script_id, next_run_at=T0))
        jobs = [new_job(script_id, args=[str(n)]) for n in range(3)]
        await uow.jobs.add_many(jobs)
        ids = [j.require_id for j in jobs]
        assert ids == sorted(ids) and len(set(ids)) == 3
        for job in jobs:
            job.queued()  # tracked by add_many: its event goes out with the commit
        await uow.schedules.add_firings(
            [
                ScheduleFiring(
                    schedule_id=schedule.require_id,
                    fire_time=T0 + timedelta(minutes=n),
                    outcome=FiringOutcome.FIRED,
                    job_id=job.id,
                    recorded_at=T0,
                )
                for n, job in enumerate(jobs)
            ]
        )
        await uow.commit()
    pending = await backend.outbox.pending()
    assert [m.event.job_id for m in pending if isinstance(m.event, JobRequested)] == ids
    async with backend.uow() as uow:
        assert [(await uow.jobs.get(i)).args for i in ids] == [["0"], ["1"], ["2"]]
        assert sorted(await uow.scripts.get_many([script_id, 999999, script_id])) == [script_id]
        assert list(await uow.images.get_many([image_id])) == [image_id]
        assert await uow.images.get_many([]) == {}
        with pytest.raises(Conflict):
            await uow.schedules.add_firings(
                [
                    ScheduleFiring(
                        schedule_id=schedule.require_id,
                        fire_time=T0 + timedelta(minutes=n),
                        outcome=FiringOutcome.FIRED,
                        recorded_at=T0,
                    )
                    for n in (5, 2)  # 2 is taken
                ]
            )


async def test_firings_are_unique_per_fire_time_and_listed_newest_first(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        schedule_id = (await uow.schedules.add(new_schedule(script_id))).require_id
        fired = ScheduleFiring(
            schedule_id=schedule_id,
            fire_time=T0,
            outcome=FiringOutcome.FIRED,
            job_id=17,
            recorded_at=T0 + timedelta(microseconds=3),
        )
        skipped = ScheduleFiring(
            schedule_id=schedule_id,
            fire_time=T0 + timedelta(minutes=5),
            outcome=FiringOutcome.SKIPPED,
            reason="the last job still runs",
            recorded_at=T0,
        )
        await uow.schedules.add_firing(fired)
        await uow.schedules.add_firing(skipped)
        again = dataclasses.replace(fired, id=None, outcome=FiringOutcome.SKIPPED)
        with pytest.raises(Conflict) as duplicate:
            await uow.schedules.add_firing(again)
        assert duplicate.value.field == "fire_time"
        await uow.commit()
    assert fired.id is not None and skipped.id is not None
    async with backend.uow() as uow:
        firings = await uow.schedules.list_firings(schedule_id)
        assert [fields(f) for f in firings] == [fields(skipped), fields(fired)]
        assert [f.id for f in await uow.schedules.list_firings(schedule_id, limit=1)] == [
            skipped.id
        ]
        older = await uow.schedules.list_firings(schedule_id, before=skipped.fire_time)
        assert [f.id for f in older] == [fired.id]
        assert await uow.schedules.list_firings(schedule_id, before=fired.fire_time) == []


# --- arming ahead (ArmedFiring) ------------------------------------------------------


async def seed_armed(
    backend: Backend, count: int = 1, *, fire_time: datetime = T0
) -> tuple[int, list[Schedule], list[tuple[ScheduleFiring, Job]]]:
    """A built image, a script on it, ``count`` schedules and one armed firing of
    each at ``fire_time``, committed; returns (script_id, schedules, armed)."""
    async with backend.uow() as uow:
        image = await uow.images.add(
            new_image("built", status=ImageStatus.BUILT, tag="scripter/built:1")
        )
        script = await uow.scripts.add(new_script(image.require_id, "armed", current_revision=1))
        schedules = [
            await uow.schedules.add(
                new_schedule(script.require_id, next_run_at=fire_time + timedelta(minutes=5))
            )
            for _ in range(count)
        ]
        armed = [
            (
                ScheduleFiring(
                    schedule_id=s.require_id,
                    fire_time=fire_time,
                    outcome=FiringOutcome.FIRED,
                    recorded_at=T0 - timedelta(seconds=5),
                ),
                new_job(
                    script.require_id,
                    image_id=image.require_id,
                    image_tag=image.tag,
                    trigger=JobTrigger.SCHEDULE,
                    schedule_id=s.require_id,
                    created_at=T0 - timedelta(seconds=5),
                ),
            )
            for s in schedules
        ]
        await uow.schedules.arm(armed)
        await uow.commit()
    return script.require_id, schedules, armed


async def test_armed_firings_and_jobs_are_seen_by_no_read(backend: Backend) -> None:
    script_id, (schedule,), [(firing, job)] = await seed_armed(backend)
    assert firing.id is not None and job.id is not None and firing.job_id == job.id
    async with backend.uow() as uow:
        assert await uow.jobs.list() == []
        assert await uow.jobs.list(script_id=script_id) == []
        assert await uow.jobs.list_unfinished() == []
        assert not await uow.jobs.has_unfinished(script_id)
        assert await uow.jobs.unfinished_of_schedule(schedule.require_id) == []
        assert await uow.jobs.prunable(script_id, keep_last=0, older_than=None) == []
        with pytest.raises(NotFound):
            await uow.jobs.get(job.require_id)
        assert await uow.schedules.list_firings(schedule.require_id) == []
        assert await uow.schedules.next_armed_time() == T0
        assert await uow.schedules.armed_times([schedule.require_id, 424242]) == {
            schedule.require_id: T0
        }
        assert await uow.schedules.armed_times() == {schedule.require_id: T0}
        assert await uow.schedules.armed_times([]) == {}
        # Not due before its time; due at it.
        assert await uow.schedules.due_armed(T0 - timedelta(microseconds=1), limit=10) == []
        (armed,) = await uow.schedules.due_armed(T0, limit=10)
    assert (armed.firing_id, armed.schedule_id, armed.fire_time, armed.job_id) == (
        firing.id,
        schedule.require_id,
        T0,
        job.id,
    )
    assert (armed.script_id, armed.revision, armed.image_tag) == (script_id, 1, "scripter/built:1")


async def test_armed_times_are_each_schedules_earliest_soonest_first(
    backend: Backend,
) -> None:
    _, (late, early), _ = await seed_armed(backend, 2, fire_time=T0 + timedelta(minutes=1))
    async with backend.uow() as uow:
        job = new_job(late.script_id, trigger=JobTrigger.SCHEDULE, schedule_id=early.require_id)
        firing = fired_at_t0(early.require_id)
        await uow.schedules.arm([(firing, job)])
        await uow.commit()
    async with backend.uow() as uow:
        soonest = await uow.schedules.armed_times()
        assert list(soonest.items()) == [
            (early.require_id, T0),
            (late.require_id, T0 + timedelta(minutes=1)),
        ]
        assert await uow.schedules.armed_times(limit=1) == {early.require_id: T0}


async def test_an_armed_fire_time_is_taken(backend: Backend) -> None:
    _, (schedule,), _ = await seed_armed(backend)
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.schedules.add_firing(fired_at_t0(schedule.require_id))


async def test_fire_armed_flips_the_job_and_the_firing_at_the_time_given(backend: Backend) -> None:
    script_id, (schedule,), [(firing, job)] = await seed_armed(backend)
    flipped_at = T0 + timedelta(milliseconds=7)
    async with backend.uow() as uow:
        armed = await uow.schedules.due_armed(flipped_at, limit=10)
        assert await uow.schedules.fire_armed(armed, flipped_at) == armed
        await uow.commit()
    async with backend.uow() as uow:
        (queued,) = await uow.jobs.list(script_id=script_id)
        assert (queued.id, queued.status, queued.created_at) == (
            job.id,
            JobStatus.QUEUED,
            flipped_at,
        )
        assert queued.schedule_id == schedule.require_id
        (fired,) = await uow.schedules.list_firings(schedule.require_id)
        assert (fired.id, fired.outcome, fired.job_id) == (firing.id, FiringOutcome.FIRED, job.id)
        assert fired.recorded_at == flipped_at
        assert await uow.schedules.due_armed(flipped_at, limit=10) == []
        assert await uow.schedules.next_armed_time() is None


async def test_fire_armed_leaves_what_changed_since_it_was_armed(backend: Backend) -> None:
    script_id, _, _ = await seed_armed(backend, 2)
    async with backend.uow() as uow:
        armed = await uow.schedules.due_armed(T0, limit=10)
        script = await uow.scripts.get(script_id)
        script.current_revision = 2  # a save in between
        await uow.scripts.update(script)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.schedules.fire_armed(armed, T0) == []
    async with backend.uow() as uow:
        script = await uow.scripts.get(script_id)
        script.current_revision = 1
        await uow.scripts.update(script)
        image = await uow.images.get(script.image_id)
        image.tag = "scripter/built:2"  # rebuilt under another tag
        await uow.images.update(image)
        assert await uow.schedules.fire_armed(armed, T0) == []


async def test_disarm_removes_the_rows_and_moves_the_schedule_back(backend: Backend) -> None:
    _, (first, second), armed = await seed_armed(backend, 2)
    async with backend.uow() as uow:
        assert await uow.schedules.disarm([first.require_id, 424242]) == {first.require_id: T0}
        assert await uow.schedules.disarm([first.require_id]) == {}
        await uow.commit()
    async with backend.uow() as uow:
        moved = await uow.schedules.get(first.require_id)
        assert (moved.next_run_at, moved.version) == (T0, first.version + 1)
        assert (await uow.schedules.get(second.require_id)).next_run_at == second.next_run_at
        # The second's armed firing is untouched; the first's is gone, job and all,
        # and its fire time is free again.
        (left,) = await uow.schedules.due_armed(T0, limit=10)
        assert left.schedule_id == second.require_id
        await uow.schedules.add_firing(fired_at_t0(first.require_id))
        assert await uow.jobs.existing_ids([armed[0][1].require_id]) == set()


async def test_disarm_keeps_a_disabled_schedule_disabled(backend: Backend) -> None:
    _, (schedule,), _ = await seed_armed(backend)
    async with backend.uow() as uow:
        disabled = await uow.schedules.get(schedule.require_id)
        disabled.enabled, disabled.next_run_at = False, None
        await uow.schedules.update(disabled)
        assert await uow.schedules.disarm([schedule.require_id]) == {schedule.require_id: T0}
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.schedules.get(schedule.require_id)).next_run_at is None


async def test_deleting_a_schedule_removes_its_armed_job(backend: Backend) -> None:
    _, (schedule,), [(_, job)] = await seed_armed(backend)
    async with backend.uow() as uow:
        await uow.schedules.delete(schedule.require_id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.jobs.existing_ids([job.require_id]) == set()
        assert await uow.schedules.next_armed_time() is None


async def test_simultaneous_flips_fire_each_armed_firing_once(backend: Backend) -> None:
    await seed_armed(backend, 20)
    both_read = asyncio.Barrier(2)

    async def flip() -> int:
        async with backend.uow() as uow:
            # MariaDB: the second skips the rows the first holds.
            armed = await uow.schedules.due_armed(T0, limit=100)
            await both_read.wait()
            try:
                fired = await uow.schedules.fire_armed(armed, T0)
                await uow.commit()
            except ConcurrentUpdate:
                return 0
            return len(fired)

    assert sorted(await asyncio.gather(flip(), flip())) == [0, 20]
    async with backend.uow() as uow:
        assert len(await uow.jobs.list(limit=100)) == 20


async def test_deleting_a_script_takes_its_revisions_jobs_schedules_along(
    backend: Backend,
) -> None:
    image_id, script_id = await seed_script(backend)
    _, survivor_id = await seed_script(backend, "survivor")
    async with backend.uow() as uow:
        revision = ScriptRevision(
            script_id=script_id, number=1, content_hash="x", files={}, settings={}, created_at=T0
        )
        await uow.scripts.add_revision(revision)
        job_id = (await uow.jobs.add(new_job(script_id))).require_id
        survivor_job = (await uow.jobs.add(new_job(survivor_id))).require_id
        schedule_id = (await uow.schedules.add(new_schedule(script_id))).require_id
        await uow.schedules.add_firing(
            ScheduleFiring(
                schedule_id=schedule_id, fire_time=T0, outcome=FiringOutcome.FIRED, recorded_at=T0
            )
        )
        await uow.commit()

    async with backend.uow() as uow:
        with pytest.raises(Conflict):  # scripts still use it
            await uow.images.delete(image_id)
        await uow.scripts.delete(script_id)
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.scripts.list_revisions(script_id) == []
        assert await uow.schedules.list_by_script(script_id) == []
        assert await uow.schedules.list_firings(schedule_id) == []
        with pytest.raises(NotFound):
            await uow.jobs.get(job_id)
        assert (await uow.jobs.get(survivor_job)).script_id == survivor_id


# --- unit of work and outbox --------------------------------------------------------


async def test_commit_writes_raised_and_emitted_events_to_the_outbox_in_order(
    backend: Backend,
) -> None:
    woken: list[bool] = []
    async with backend.uow(on_commit=lambda: woken.append(True)) as uow:
        image = await uow.images.add(new_image())
        image.request_build(T0)
        image.start_build(T0)
        await uow.images.update(image)
        tick = ScheduleTick(schedule_id=5, fire_time=T0)
        uow.emit(tick)
        raised = list(image.events)
        assert await backend.outbox.pending() == []  # not before commit
        await uow.commit()
        assert uow.committed  # type: ignore[attr-defined]
        assert image.events == []

    assert woken == [True]
    pending = await backend.outbox.pending()
    assert [m.event for m in pending] == [*raised, tick]
    assert [type(m.event) for m in pending] == [
        ImageBuildRequested,
        ImageBuildStarted,
        ScheduleTick,
    ]
    assert await backend.routing_keys() == [
        "image.build_requested",
        "image.build_started",
        "schedule.tick",
    ]
    assert decode_event(encode_event(pending[0].event)) == raised[0]
    assert [m.id for m in pending] == sorted(m.id for m in pending)
    assert [m.id for m in await backend.outbox.pending(limit=2)] == [m.id for m in pending[:2]]


async def test_a_commit_of_many_events_packs_them_into_few_rows_in_order(
    backend: Backend,
) -> None:
    count = 2 * EVENTS_PER_ROW + 1  # more than PACK_ABOVE: rows of 500, 500 and 1
    assert count > PACK_ABOVE
    async with backend.uow() as uow:
        ticks = [ScheduleTick(schedule_id=n, fire_time=T0) for n in range(count)]
        for tick in ticks:
            uow.emit(tick)
        await uow.commit()
    pending = await backend.outbox.pending(limit=1000)
    assert [m.event for m in pending] == ticks
    row_ids = sorted({m.id for m in pending})
    assert [sum(m.id == i for m in pending) for i in row_ids] == [EVENTS_PER_ROW, EVENTS_PER_ROW, 1]
    assert [m.event for m in await backend.outbox.pending(limit=1)] == ticks[:EVENTS_PER_ROW]
    await backend.outbox.mark_published(row_ids[:1])  # marks all events of that row
    assert [m.event for m in await backend.outbox.pending(limit=1000)] == ticks[EVENTS_PER_ROW:]
    assert await backend.outbox.purge_published(datetime.now(UTC) + timedelta(hours=1)) == 1


async def test_events_raised_after_add_are_collected(backend: Backend) -> None:
    _, script_id = await seed_script(backend)
    async with backend.uow() as uow:
        job = await uow.jobs.add(new_job(script_id))
        job.queued()  # needs the id the insert gave it
        await uow.commit()
    (message,) = [m for m in await backend.outbox.pending() if isinstance(m.event, JobRequested)]
    assert message.event == JobRequested(
        event_id=message.event.event_id,
        occurred_at=message.event.occurred_at,
        job_id=job.require_id,
        script_id=script_id,
    )


async def test_rollback_and_errors_leave_no_rows_and_no_events(backend: Backend) -> None:
    async with backend.uow() as uow:
        image = await uow.images.add(new_image("kept"))
        await uow.commit()

    async with backend.uow() as uow:
        loaded = await uow.images.get(image.require_id)
        loaded.request_build(T0)
        await uow.images.update(loaded)
        await uow.images.add(new_image("rolled-back"))
        uow.emit(ScheduleTick(schedule_id=1, fire_time=T0))
        await uow.rollback()
        assert not uow.committed  # type: ignore[attr-defined]

    with pytest.raises(RuntimeError, match="boom"):
        async with backend.uow() as uow:
            loaded = await uow.images.get(image.require_id)
            loaded.request_build(T0)
            await uow.images.update(loaded)
            uow.emit(ScheduleTick(schedule_id=1, fire_time=T0))
            raise RuntimeError("boom")

    async with backend.uow() as uow:  # left without commit
        await uow.images.add(new_image("never-committed"))

    assert await backend.outbox.pending() == []
    async with backend.uow() as uow:
        assert [fields(i) for i in await uow.images.list()] == [fields(image)]


async def test_mark_published_and_purge(backend: Backend) -> None:
    async with backend.uow() as uow:
        for schedule_id in (1, 2, 3):
            uow.emit(ScheduleTick(schedule_id=schedule_id, fire_time=T0))
        await uow.commit()
    first, second, third = await backend.outbox.pending()
    await backend.outbox.mark_published([first.id, third.id])
    await backend.outbox.mark_published([])
    assert [m.id for m in await backend.outbox.pending()] == [second.id]

    assert await backend.outbox.purge_published(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert await backend.outbox.purge_published(datetime.now(UTC) + timedelta(hours=1)) == 2
    assert [m.id for m in await backend.outbox.pending()] == [second.id]
