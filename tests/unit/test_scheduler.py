"""The scheduler on in-memory fakes with a clock that moves only when told to: claims,
misfires, overlap, idempotency, the sleep until the next fire time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scripter.domain.errors import ConcurrentUpdate, NotFound
from scripter.domain.events import (
    DomainEvent,
    JobCancelRequested,
    JobRequested,
    ScheduleFired,
    ScheduleSkipped,
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
from scripter.domain.scripts import Script
from scripter.services.scheduler import ClaimResult, Scheduler, SchedulerSettings, TickReport
from scripter.services.schedules import SchedulePatch, ScheduleService
from tests.unit.fake_files import FakeFileStore
from tests.unit.fakes import (
    FakeJobRepository,
    FakeOutbox,
    FakeScheduleRepository,
    FakeStore,
    FixedClock,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class World:
    clock: FixedClock
    store: FakeStore
    files: FakeFileStore
    settings: SchedulerSettings = field(default_factory=SchedulerSettings)

    def scheduler(self, **kwargs: Any) -> Scheduler:
        return Scheduler(
            uow=self.store.uow,
            clock=self.clock,
            settings=kwargs.pop("settings", self.settings),
            **kwargs,
        )

    async def add_script(self, *, image_status: ImageStatus = ImageStatus.BUILT) -> int:
        async with self.store.uow() as uow:
            image = await uow.images.add(
                Image(
                    name=f"img{len(self.store.tables['images'])}",
                    status=image_status,
                    tag="base:1" if image_status == ImageStatus.BUILT else None,
                    created_at=T0,
                    updated_at=T0,
                )
            )
            script = await uow.scripts.add(
                Script(
                    name=f"s{len(self.store.tables['scripts'])}",
                    image_id=image.require_id,
                    args=["--default"],
                    current_revision=1,
                    created_at=T0,
                    updated_at=T0,
                )
            )
            await uow.commit()
        return script.require_id

    async def add_schedule(self, script_id: int, **values: Any) -> int:
        values = {
            "cron": "* * * * *",
            "next_run_at": T0,
            "created_at": T0,
            "updated_at": T0,
            **values,
        }
        async with self.store.uow() as uow:
            schedule = await uow.schedules.add(Schedule(script_id=script_id, **values))
            await uow.commit()
        return schedule.require_id

    async def schedule(self, schedule_id: int) -> Schedule:
        async with self.store.uow() as uow:
            return await uow.schedules.get(schedule_id)

    async def firings(self, schedule_id: int) -> list[ScheduleFiring]:
        async with self.store.uow() as uow:
            return list(reversed(await uow.schedules.list_firings(schedule_id, limit=1000)))

    async def jobs(self) -> list[Job]:
        async with self.store.uow() as uow:
            return list(reversed(await uow.jobs.list(limit=1000)))

    async def events(self) -> list[DomainEvent]:
        return [m.event for m in await FakeOutbox(self.store).pending(limit=1000)]


@pytest.fixture
def world() -> World:
    clock = FixedClock(T0)
    return World(clock=clock, store=FakeStore(clock), files=FakeFileStore(clock=clock))


# --- firing ------------------------------------------------------------------------------


async def test_a_due_schedule_fires_once_and_moves_to_its_next_time(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, args=["--x"], env={"MODE": "cron"})
    world.clock.advance(seconds=0.2)

    report = await world.scheduler().tick()

    assert (report.fired, report.skipped) == (1, 0)
    (job,) = await world.jobs()
    assert job.trigger == JobTrigger.SCHEDULE and job.schedule_id == schedule_id
    assert (job.args, job.env, job.status) == (["--x"], {"MODE": "cron"}, JobStatus.QUEUED)
    assert job.created_at == T0 + timedelta(seconds=0.2)
    (firing,) = await world.firings(schedule_id)
    assert (firing.fire_time, firing.outcome, firing.job_id) == (T0, FiringOutcome.FIRED, job.id)
    assert firing.lateness_seconds == pytest.approx(0.2)
    assert (await world.schedule(schedule_id)).next_run_at == T0 + timedelta(minutes=1)
    fired = [e for e in await world.events() if isinstance(e, ScheduleFired)]
    assert [(e.schedule_id, e.fire_time, e.job_id) for e in fired] == [(schedule_id, T0, job.id)]
    assert any(isinstance(e, JobRequested) and e.job_id == job.id for e in await world.events())


async def test_args_null_runs_the_scripts_default_arguments(world: World):
    script_id = await world.add_script()
    await world.add_schedule(script_id, args=None)
    await world.scheduler().tick()
    (job,) = await world.jobs()
    assert job.args == ["--default"]


async def test_nothing_fires_before_its_time_or_when_disabled(world: World):
    script_id = await world.add_script()
    await world.add_schedule(script_id, next_run_at=T0 + timedelta(seconds=1))
    await world.add_schedule(script_id, enabled=False, next_run_at=T0 - timedelta(seconds=5))
    report = await world.scheduler().tick()
    assert (report.fired, report.skipped, report.flipped) == (0, 0, 0)
    assert report.armed == 1  # the enabled one, due in a second: written ahead, unseen
    assert await world.jobs() == []
    assert await world.events() == []


async def test_a_tick_run_twice_for_the_same_instant_creates_one_job(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id)
    scheduler = world.scheduler()
    await scheduler.tick()
    await scheduler.tick()
    await world.scheduler().tick()  # another scheduler, same instant
    assert len(await world.jobs()) == 1
    assert len(await world.firings(schedule_id)) == 1


async def test_a_stale_read_loses_the_claim(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id)
    stale = await world.schedule(schedule_id)
    assert (await world.scheduler().tick()).fired == 1
    # A redelivered tick, or a scheduler that read the row before the first committed.
    assert await world.scheduler().fire(stale) == ClaimResult.LOST
    assert len(await world.jobs()) == 1


async def test_concurrent_schedulers_fire_each_fire_time_once(world: World):
    script_id = await world.add_script()
    ids = [await world.add_schedule(script_id) for _ in range(5)]
    schedulers = [world.scheduler() for _ in range(3)]
    for _ in range(3):
        reports = await asyncio.gather(*(s.tick() for s in schedulers))
        assert sum(r.fired for r in reports) == 5
        world.clock.advance(minutes=1)
    jobs = await world.jobs()
    assert len(jobs) == 15
    for schedule_id in ids:
        times = [f.fire_time for f in await world.firings(schedule_id)]
        assert times == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]


async def test_one_scheduler_can_fire_several_schedules_at_once(world: World):
    script_id = await world.add_script()
    ids = [await world.add_schedule(script_id) for _ in range(10)]
    scheduler = world.scheduler(settings=SchedulerSettings(concurrency=4))
    assert (await scheduler.tick()).fired == 10
    assert (await scheduler.tick()).attempted == 0
    jobs = await world.jobs()
    assert sorted(j.schedule_id for j in jobs if j.schedule_id is not None) == ids


async def test_plain_firings_go_together_in_one_transaction(world: World):
    script_id = await world.add_script()
    ids = [await world.add_schedule(script_id, env={"N": str(n)}) for n in range(50)]
    commits = world.store.commits

    report = await world.scheduler().tick()

    assert report.fired == 50
    assert world.store.commits == commits + 1
    jobs = await world.jobs()
    assert sorted((j.schedule_id, j.env["N"]) for j in jobs) == sorted(
        (schedule_id, str(n)) for n, schedule_id in enumerate(ids)
    )
    assert all(j.args == ["--default"] and j.status == JobStatus.QUEUED for j in jobs)
    for schedule_id in ids:
        (firing,) = await world.firings(schedule_id)
        assert firing.fire_time == T0 and firing.outcome == FiringOutcome.FIRED
        assert firing.job_id == next(j.id for j in jobs if j.schedule_id == schedule_id)
        assert (await world.schedule(schedule_id)).next_run_at == T0 + timedelta(minutes=1)
    events = await world.events()
    fired = {(e.schedule_id, e.job_id) for e in events if isinstance(e, ScheduleFired)}
    assert fired == {(j.schedule_id, j.id) for j in jobs}
    assert {e.job_id for e in events if isinstance(e, JobRequested)} == {j.id for j in jobs}
    assert (await world.scheduler().tick()).attempted == 0


async def test_a_mixed_batch_fires_the_plain_together_and_the_rest_one_by_one(world: World):
    script_id = await world.add_script()
    unbuilt = await world.add_script(image_status=ImageStatus.DORMANT)
    plain = [await world.add_schedule(script_id) for _ in range(3)]
    no_image = await world.add_schedule(unbuilt)
    careful = await world.add_schedule(script_id, overlap_policy=OverlapPolicy.SKIP)
    commits = world.store.commits

    report = await world.scheduler().tick()

    assert (report.fired, report.skipped) == (4, 1)
    assert world.store.commits == commits + 3  # the plain three together, two alone
    for schedule_id in [*plain, careful]:
        (firing,) = await world.firings(schedule_id)
        assert firing.outcome == FiringOutcome.FIRED
    (skipped,) = await world.firings(no_image)
    assert skipped.outcome == FiringOutcome.SKIPPED
    assert skipped.reason is not None and "no job started" in skipped.reason


async def test_a_batch_whose_claim_fails_fires_one_by_one_each_once(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    script_id = await world.add_script()
    ids = [await world.add_schedule(script_id) for _ in range(5)]

    async def changed_meanwhile(*_args: Any) -> bool:
        return False

    monkeypatch.setattr(FakeScheduleRepository, "claim_many", changed_meanwhile)
    assert (await world.scheduler().tick()).fired == 5
    assert sorted(j.schedule_id or 0 for j in await world.jobs()) == ids
    for schedule_id in ids:
        assert [f.fire_time for f in await world.firings(schedule_id)] == [T0]


async def test_a_batch_that_fails_midway_leaves_nothing_and_fires_one_by_one(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    script_id = await world.add_script()
    ids = [await world.add_schedule(script_id) for _ in range(5)]
    # The jobs are inserted, then recording the firings fails: all of it rolls back.
    monkeypatch.setattr(FakeScheduleRepository, "add_firings", broken)
    assert (await world.scheduler().tick()).fired == 5
    jobs = await world.jobs()
    assert sorted(j.schedule_id or 0 for j in jobs) == ids
    events = await world.events()
    assert len([e for e in events if isinstance(e, JobRequested)]) == 5
    assert len([e for e in events if isinstance(e, ScheduleFired)]) == 5


async def test_a_fire_time_already_recorded_is_not_fired_again(world: World):
    # E.g. a schedule disabled and enabled again within its fire second.
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id)
    async with world.store.uow() as uow:
        await uow.schedules.add_firing(
            ScheduleFiring(
                schedule_id=schedule_id,
                fire_time=T0,
                outcome=FiringOutcome.FIRED,
                recorded_at=T0,
            )
        )
        await uow.commit()
    report = await world.scheduler().tick()
    assert report.lost == 1
    assert await world.jobs() == []
    assert (await world.schedule(schedule_id)).next_run_at == T0  # rolled back whole


async def test_each_due_fire_time_of_a_late_scheduler_fires_in_order(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, cron="* * * * * *")
    world.clock.advance(seconds=3)  # within the misfire grace: late, not missed
    scheduler = world.scheduler(settings=SchedulerSettings(arm_ahead_seconds=0))
    while (await scheduler.tick()).attempted:
        pass
    times = [f.fire_time for f in await world.firings(schedule_id)]
    assert times == [T0 + timedelta(seconds=s) for s in range(4)]
    assert len(await world.jobs()) == 4
    assert (await world.schedule(schedule_id)).next_run_at == T0 + timedelta(seconds=4)


# --- misfires ---------------------------------------------------------------------------


async def test_misfire_skip_records_one_summary_and_moves_to_the_future(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(
        script_id, cron="* * * * *", misfire_policy=MisfirePolicy.SKIP
    )
    world.clock.set(T0 + timedelta(days=1, seconds=30))  # a day without a scheduler
    scheduler = world.scheduler()
    while (await scheduler.tick()).attempted:
        pass

    firings = await world.firings(schedule_id)
    skipped, *fired = firings
    assert skipped.outcome == FiringOutcome.SKIPPED and skipped.fire_time == T0
    assert skipped.reason is not None
    assert "missed more than 1,000 fire times" not in skipped.reason
    # Every minute up to a minute before now (the grace is 60 s) is missed.
    assert "missed 1,440 fire times from 2030-01-01 12:00:00 UTC to 2030-01-02 11:59:00 UTC" in (
        skipped.reason
    )
    assert "misfire policy skip" in skipped.reason
    # The one fire time inside the grace (12:00 today, 30 s ago) still fires.
    assert [(f.fire_time, f.outcome) for f in fired] == [
        (T0 + timedelta(days=1), FiringOutcome.FIRED)
    ]
    assert len(await world.jobs()) == 1
    assert (await world.schedule(schedule_id)).next_run_at == T0 + timedelta(days=1, minutes=1)
    skips = [e for e in await world.events() if isinstance(e, ScheduleSkipped)]
    assert [(e.fire_time, e.reason) for e in skips] == [(T0, skipped.reason)]


async def test_misfire_skip_caps_the_count_of_a_very_frequent_schedule(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, cron="* * * * * *")
    world.clock.set(T0 + timedelta(days=30))
    await world.scheduler().tick()
    (skipped,) = await world.firings(schedule_id)
    assert skipped.reason is not None and "missed more than 10,000 fire times" in skipped.reason


async def test_misfire_run_once_runs_once_for_everything_missed(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(
        script_id, cron="*/15 * * * *", misfire_policy=MisfirePolicy.RUN_ONCE
    )
    world.clock.set(T0 + timedelta(hours=5, minutes=7))
    now = world.clock.now()
    scheduler = world.scheduler()
    while (await scheduler.tick()).attempted:
        pass
    (firing,) = await world.firings(schedule_id)
    assert firing.outcome == FiringOutcome.FIRED
    assert firing.fire_time == T0 + timedelta(hours=5)  # the latest one due
    assert firing.reason is not None and "ran once for 21 fire times" in firing.reason
    (job,) = await world.jobs()
    assert firing.job_id == job.id and job.created_at == now
    assert (await world.schedule(schedule_id)).next_run_at == T0 + timedelta(hours=5, minutes=15)


# --- overlap ----------------------------------------------------------------------------


async def start(world: World, job_id: int) -> None:
    async with world.store.uow() as uow:
        job = await uow.jobs.get(job_id)
        job.start(world.clock.now(), container_id="c1")
        await uow.jobs.update(job)
        await uow.commit()


async def test_overlap_skip_records_a_skipped_firing_while_the_last_job_runs(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, overlap_policy=OverlapPolicy.SKIP)
    scheduler = world.scheduler()
    await scheduler.tick()
    (first,) = await world.jobs()
    await start(world, first.require_id)
    world.clock.advance(minutes=1)

    assert (await scheduler.tick()).skipped == 1

    assert [j.id for j in await world.jobs()] == [first.id]
    skipped = (await world.firings(schedule_id))[-1]
    assert skipped.outcome == FiringOutcome.SKIPPED
    assert skipped.reason == (
        f"the last run is not finished: job {first.id} (running) (overlap policy skip)"
    )
    assert any(
        isinstance(e, ScheduleSkipped) and e.reason == skipped.reason for e in await world.events()
    )
    # Once it ended, the next fire time runs again.
    async with world.store.uow() as uow:
        job = await uow.jobs.get(first.require_id)
        job.finish(world.clock.now(), JobStatus.SUCCEEDED, exit_code=0)
        await uow.jobs.update(job)
        await uow.commit()
    world.clock.advance(minutes=1)
    assert (await scheduler.tick()).fired == 1


async def test_overlap_replace_cancels_the_running_job_and_starts_the_new_one(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, overlap_policy=OverlapPolicy.REPLACE)
    scheduler = world.scheduler()
    await scheduler.tick()
    (first,) = await world.jobs()
    await start(world, first.require_id)
    world.clock.advance(minutes=1)

    assert (await scheduler.tick()).fired == 1

    old, new = await world.jobs()
    assert old.cancel_requested and old.status == JobStatus.RUNNING  # the worker stops it
    assert new.status == JobStatus.QUEUED
    firing = (await world.firings(schedule_id))[-1]
    assert firing.job_id == new.id
    assert firing.reason == f"replaced job {old.id} (overlap policy replace)"
    assert any(
        isinstance(e, JobCancelRequested) and e.job_id == old.id for e in await world.events()
    )


async def test_overlap_replace_cancels_a_queued_job_at_once(world: World):
    script_id = await world.add_script()
    await world.add_schedule(script_id, overlap_policy=OverlapPolicy.REPLACE)
    scheduler = world.scheduler()
    await scheduler.tick()
    world.clock.advance(minutes=1)
    await scheduler.tick()
    old, new = await world.jobs()
    assert old.status == JobStatus.CANCELLED and new.status == JobStatus.QUEUED


async def test_overlap_allow_runs_next_to_the_running_job(world: World):
    script_id = await world.add_script()
    await world.add_schedule(script_id, overlap_policy=OverlapPolicy.ALLOW)
    scheduler = world.scheduler()
    await scheduler.tick()
    await start(world, (await world.jobs())[0].require_id)
    world.clock.advance(minutes=1)
    await scheduler.tick()
    assert [j.status for j in await world.jobs()] == [JobStatus.RUNNING, JobStatus.QUEUED]


async def test_overlap_looks_only_at_the_schedules_own_jobs(world: World):
    script_id = await world.add_script()
    mine = await world.add_schedule(script_id, overlap_policy=OverlapPolicy.SKIP)
    other = await world.add_schedule(script_id, next_run_at=T0 - timedelta(seconds=1))
    scheduler = world.scheduler()
    await scheduler.tick()
    assert len(await world.firings(mine)) == len(await world.firings(other)) == 1
    assert len(await world.jobs()) == 2


# --- refusals become skipped firings ------------------------------------------------------


async def test_an_image_not_built_is_a_skipped_firing_with_the_reason(world: World):
    script_id = await world.add_script(image_status=ImageStatus.DORMANT)
    schedule_id = await world.add_schedule(script_id)
    assert (await world.scheduler().tick()).skipped == 1
    (firing,) = await world.firings(schedule_id)
    assert firing.outcome == FiringOutcome.SKIPPED
    assert firing.reason is not None
    assert firing.reason.startswith("no job started: image 'img0' is dormant: build it")
    assert await world.jobs() == []
    assert (await world.schedule(schedule_id)).next_run_at == T0 + timedelta(minutes=1)


async def test_a_timezone_that_became_invalid_stops_the_schedule_with_a_reason(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, timezone="Atlantis/Capital")
    await world.scheduler().tick()
    (firing,) = await world.firings(schedule_id)
    assert firing.outcome == FiringOutcome.SKIPPED
    assert firing.reason is not None and "unknown timezone 'Atlantis/Capital'" in firing.reason
    assert (await world.schedule(schedule_id)).next_run_at is None


async def broken(*_args: Any) -> None:
    raise RuntimeError("the database went away")


async def test_an_unexpected_error_is_retried_later_not_in_a_hot_loop(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id)
    scheduler = world.scheduler(settings=SchedulerSettings(recheck_seconds=30, retry_seconds=5))
    with monkeypatch.context() as patched:
        # Inserting a job breaks, together and one by one.
        patched.setattr(FakeJobRepository, "add", broken)
        patched.setattr(FakeJobRepository, "add_many", broken)
        assert (await scheduler.tick()).failed == 1
        assert await world.jobs() == []  # rolled back
        again = await scheduler.tick()
        assert again.attempted == 0  # it waits for its retry...
        assert scheduler.seconds_to_sleep(T0, again) == 5.0  # ... and sleeps until then
        world.clock.advance(seconds=5)
        assert (await scheduler.tick()).failed == 1  # failed again: waits twice as long
        assert scheduler.seconds_to_sleep(T0, await scheduler.tick()) == 10.0
    world.clock.advance(seconds=10)
    assert (await scheduler.tick()).fired == 1
    assert len(await world.firings(schedule_id)) == 1


async def run_on_a_moving_clock(world: World, *, waits: int, **settings: Any) -> list[float]:
    """``run`` with a wait that moves the clock by the time asked for instead of
    sleeping, until it has waited ``waits`` times; the times it asked for."""
    asked: list[float] = []

    async def moving_clock(event: asyncio.Event, seconds: float) -> None:
        asked.append(round(seconds, 6))
        world.clock.advance(seconds=seconds)
        if len(asked) == waits:
            scheduler.stop()

    scheduler = world.scheduler(settings=SchedulerSettings(**settings), wait=moving_clock)
    await asyncio.wait_for(scheduler.run(), timeout=5)
    return asked


# --- arming ahead ----------------------------------------------------------------------------


async def armed_rows(world: World) -> int:
    """Armed firings stored (committed), which no read of jobs or firings shows."""
    return len(world.store.tables["armed"])


def armed_firings(world: World) -> list[ScheduleFiring]:
    return [armed.firing for armed in world.store.tables["armed"].values()]


async def armed_in_5_seconds(world: World) -> tuple[Scheduler, int, int]:
    """A script with a schedule due at T0 + 5 s, armed by the scheduler returned;
    (scheduler, script id, schedule id)."""
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, next_run_at=T0 + timedelta(seconds=5))
    scheduler = world.scheduler()
    assert (await scheduler.tick()).armed == 1
    return scheduler, script_id, schedule_id


async def test_a_schedule_due_soon_is_armed_unseen_and_fires_at_its_time(world: World):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    schedule_id = await world.add_schedule(script_id, args=["--x"], next_run_at=fire_at)
    scheduler = world.scheduler()

    report = await scheduler.tick()

    assert (report.armed, report.fired) == (1, 0)
    assert await armed_rows(world) == 1
    # Nothing of it shows before its time: no job, no firing, no event.
    assert await world.jobs() == [] and await world.firings(schedule_id) == []
    assert await world.events() == []
    (armed,) = world.store.tables["armed"].values()
    async with world.store.uow() as uow:
        with pytest.raises(NotFound):
            await uow.jobs.get(armed.job.require_id)
    # The claim moved the schedule on, as a firing does.
    assert (await world.schedule(schedule_id)).next_run_at == T0 + timedelta(minutes=1)
    assert (await scheduler.tick()).attempted == 0  # armed once, not again

    world.clock.set(fire_at + timedelta(seconds=0.01))
    report = await scheduler.tick()

    assert (report.fired, report.flipped) == (1, 1)
    (job,) = await world.jobs()
    assert (job.status, job.args, job.schedule_id) == (JobStatus.QUEUED, ["--x"], schedule_id)
    assert job.created_at == fire_at + timedelta(seconds=0.01)  # the flip's time
    (firing,) = await world.firings(schedule_id)
    assert (firing.fire_time, firing.outcome, firing.job_id) == (
        fire_at,
        FiringOutcome.FIRED,
        job.id,
    )
    assert firing.lateness_seconds == pytest.approx(0.01)
    events = await world.events()
    assert [(type(e), getattr(e, "job_id", None)) for e in events] == [
        (ScheduleFired, job.id),
        (JobRequested, job.id),
    ]
    assert await armed_rows(world) == 0


async def test_an_armed_firing_fires_once_whatever_the_schedulers_or_ticks(world: World):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    schedule_id = await world.add_schedule(script_id, next_run_at=fire_at)
    await world.scheduler().tick()  # this scheduler arms, then "crashes"
    world.clock.set(fire_at)
    first, second = world.scheduler(), world.scheduler()

    reports = await asyncio.gather(first.tick(), second.tick(), first.tick())

    assert sum(r.fired for r in reports) == 1
    (firing,) = await world.firings(schedule_id)
    assert firing.fire_time == fire_at and len(await world.jobs()) == 1


async def test_disabling_an_armed_schedule_stops_it_at_once(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, next_run_at=T0 + timedelta(seconds=5))
    scheduler = world.scheduler()
    await scheduler.tick()
    service = ScheduleService(uow=world.store.uow, clock=world.clock)

    await service.update(schedule_id, SchedulePatch(enabled=False))

    assert await armed_rows(world) == 0
    assert (await world.schedule(schedule_id)).next_run_at is None
    world.clock.advance(seconds=5)
    assert (await scheduler.tick()).attempted == 0
    assert await world.jobs() == [] and await world.firings(schedule_id) == []


async def test_changing_an_armed_schedule_fires_the_new_settings_at_the_same_time(world: World):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    schedule_id = await world.add_schedule(script_id, args=["--old"], next_run_at=fire_at)
    scheduler = world.scheduler()
    await scheduler.tick()
    service = ScheduleService(uow=world.store.uow, clock=world.clock)

    await service.update(schedule_id, SchedulePatch(args=["--new"]))

    # Back to the armed time (a change of args keeps the next run), re-armed later.
    assert (await world.schedule(schedule_id)).next_run_at == fire_at
    assert (await scheduler.tick()).armed == 1
    world.clock.set(fire_at)
    assert (await scheduler.tick()).flipped == 1
    (job,) = await world.jobs()
    assert job.args == ["--new"]


async def test_deleting_an_armed_schedule_leaves_no_armed_job(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(script_id, next_run_at=T0 + timedelta(seconds=5))
    await world.scheduler().tick()
    await ScheduleService(uow=world.store.uow, clock=world.clock).delete(schedule_id)
    assert await armed_rows(world) == 0
    world.clock.advance(seconds=5)
    assert (await world.scheduler().tick()).attempted == 0


async def test_a_new_revision_after_arming_runs_the_new_revision(world: World):
    scheduler, script_id, schedule_id = await armed_in_5_seconds(world)
    fire_at = T0 + timedelta(seconds=5)
    async with world.store.uow() as uow:  # a save of the script in between
        script = await uow.scripts.get(script_id)
        script.current_revision = 2
        await uow.scripts.update(script)
        await uow.commit()
    world.clock.set(fire_at + timedelta(seconds=0.1))

    report = await scheduler.tick()

    # Disarmed and fired the ordinary way in the same pass, once.
    assert (report.flipped, report.fired) == (0, 1)
    (job,) = await world.jobs()
    assert job.revision == 2
    (firing,) = await world.firings(schedule_id)
    assert (firing.fire_time, firing.job_id) == (fire_at, job.id)
    assert await armed_rows(world) == 0


async def test_an_image_destroyed_after_arming_is_a_skipped_firing_with_the_reason(world: World):
    scheduler, script_id, schedule_id = await armed_in_5_seconds(world)
    fire_at = T0 + timedelta(seconds=5)
    async with world.store.uow() as uow:
        script = await uow.scripts.get(script_id)
        image = await uow.images.get(script.image_id)
        image.status, image.tag = ImageStatus.DORMANT, None
        await uow.images.update(image)
        await uow.commit()
    world.clock.set(fire_at)

    assert (await scheduler.tick()).skipped == 1

    (firing,) = await world.firings(schedule_id)
    assert firing.outcome == FiringOutcome.SKIPPED
    assert firing.reason is not None and firing.reason.startswith("no job started: image")
    assert await world.jobs() == [] and await armed_rows(world) == 0


@pytest.mark.parametrize("policy", [MisfirePolicy.SKIP, MisfirePolicy.RUN_ONCE])
async def test_armed_firings_missed_while_no_scheduler_ran_follow_the_misfire_policy(
    world: World, policy: MisfirePolicy
):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    schedule_id = await world.add_schedule(
        script_id, cron="* * * * * *", misfire_policy=policy, next_run_at=fire_at
    )
    while (await world.scheduler().tick()).armed:  # armed up to 10 s ahead
        pass
    assert await armed_rows(world) == 6
    world.clock.set(T0 + timedelta(hours=1))  # every scheduler was down meanwhile

    scheduler = world.scheduler()
    while (await scheduler.tick()).attempted:
        pass

    firings = await world.firings(schedule_id)
    if policy == MisfirePolicy.SKIP:
        # One summary for the missed ones; then, as ever, those within the grace.
        summary, *in_grace = firings
        assert (summary.fire_time, summary.outcome) == (fire_at, FiringOutcome.SKIPPED)
        assert summary.reason is not None and "(misfire policy skip)" in summary.reason
        grace_start = T0 + timedelta(hours=1) - timedelta(seconds=60)
        assert all(f.fire_time >= grace_start for f in in_grace)
    else:
        assert [f.outcome for f in firings] == [FiringOutcome.FIRED]
        assert firings[0].fire_time == T0 + timedelta(hours=1)
        assert len(await world.jobs()) == 1
    assert all(f.fire_time > T0 + timedelta(hours=1) for f in armed_firings(world))


async def test_an_armed_schedule_shows_its_armed_time_as_its_next_run(world: World):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    armed_id = await world.add_schedule(script_id, cron="* * * * * *", next_run_at=fire_at)
    later_id = await world.add_schedule(script_id, next_run_at=T0 + timedelta(minutes=3))
    while (await world.scheduler().tick()).armed:
        pass
    # Arming moved the stored next run past every armed time ...
    assert (await world.schedule(armed_id)).next_run_at == T0 + timedelta(seconds=11)
    service = ScheduleService(uow=world.store.uow, clock=world.clock)

    # ... but what a client sees is the real next run, and the ones after it.
    detail = await service.get(armed_id)
    assert detail.next_run_at == fire_at
    assert detail.upcoming == [fire_at + timedelta(seconds=n) for n in range(5)]
    (listed, _) = await service.list_for_script(script_id)
    assert listed.next_run_at == fire_at
    upcoming = await service.upcoming(limit=10)
    assert [(r.schedule.require_id, r.next_run_at) for r in upcoming] == [
        (armed_id, fire_at),
        (later_id, T0 + timedelta(minutes=3)),
    ]
    assert [r.schedule.require_id for r in await service.upcoming(limit=1)] == [armed_id]


async def test_the_loop_wakes_exactly_at_the_fire_time_of_what_cannot_be_armed(world: World):
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(
        script_id,
        cron="5 0 12 * * *",
        overlap_policy=OverlapPolicy.SKIP,  # decided at the fire time: never armed
        next_run_at=T0 + timedelta(seconds=5),
    )
    waits = await run_on_a_moving_clock(world, waits=2, recheck_seconds=3600)

    assert waits == [5.0, 3600.0]
    (firing,) = await world.firings(schedule_id)
    assert (firing.outcome, firing.lateness_seconds) == (FiringOutcome.FIRED, 0.0)


async def test_a_full_batch_of_schedules_that_cannot_be_armed_does_not_spin_the_loop(
    world: World,
):
    script_id = await world.add_script()
    for _ in range(3):
        await world.add_schedule(
            script_id, overlap_policy=OverlapPolicy.SKIP, next_run_at=T0 + timedelta(seconds=5)
        )
    report = await world.scheduler(settings=SchedulerSettings(batch=3)).tick()
    assert (report.armed, report.full) == (0, False)


async def test_while_another_scheduler_flips_this_one_looks_again_shortly(world: World):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    await world.add_schedule(script_id, next_run_at=fire_at)
    await world.scheduler().tick()
    world.clock.set(fire_at)
    held = True

    @contextlib.asynccontextmanager
    async def flip_lock() -> AsyncIterator[bool]:
        yield not held

    scheduler = world.scheduler(flip_lock=flip_lock)
    busy = await scheduler.tick()

    assert (busy.flip_busy, busy.fired) == (True, 0)
    assert scheduler.seconds_to_sleep(fire_at + timedelta(minutes=1), busy) == 0.02
    held = False
    assert (await scheduler.tick()).flipped == 1


async def test_a_flip_that_found_its_firings_changed_is_read_again_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    await world.add_schedule(script_id, next_run_at=fire_at)
    await world.scheduler().tick()
    world.clock.set(fire_at)
    scheduler = world.scheduler()
    real_fire_armed = FakeScheduleRepository.fire_armed

    async def changed_meanwhile(*_args: Any) -> None:
        raise ConcurrentUpdate("armed firings changed since they were read")

    monkeypatch.setattr(FakeScheduleRepository, "fire_armed", changed_meanwhile)
    interrupted = await scheduler.tick()
    assert (interrupted.flipped, interrupted.full) == (0, True)  # no sleep: again now
    monkeypatch.setattr(FakeScheduleRepository, "fire_armed", real_fire_armed)
    assert (await scheduler.tick()).flipped == 1


async def test_what_changed_after_the_prefetch_is_read_again_at_the_fire_time(world: World):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=5)
    kept = await world.add_schedule(script_id, next_run_at=fire_at)
    disabled = await world.add_schedule(script_id, next_run_at=fire_at)
    scheduler = world.scheduler()
    assert (await scheduler.tick()).armed == 2
    world.clock.set(fire_at - timedelta(seconds=0.4))
    await scheduler.tick()  # reads the two armed firings, shortly before their time
    service = ScheduleService(uow=world.store.uow, clock=world.clock)
    await service.update(disabled, SchedulePatch(enabled=False))  # disarms one of them
    late = await world.add_schedule(script_id, next_run_at=fire_at)  # armed after the read
    assert (await scheduler.tick()).armed == 1
    world.clock.set(fire_at)

    reports = [await scheduler.tick()]
    while reports[-1].full:
        reports.append(await scheduler.tick())

    assert sum(r.flipped for r in reports) == 2
    assert {j.schedule_id for j in await world.jobs()} == {kept, late}
    assert await world.firings(disabled) == []
    assert await armed_rows(world) == 0


async def test_overlap_policies_other_than_allow_are_never_armed(world: World):
    script_id = await world.add_script()
    await world.add_schedule(
        script_id, overlap_policy=OverlapPolicy.SKIP, next_run_at=T0 + timedelta(seconds=5)
    )
    assert (await world.scheduler().tick()).armed == 0


async def test_arming_ahead_can_be_turned_off(world: World):
    script_id = await world.add_script()
    await world.add_schedule(script_id, next_run_at=T0 + timedelta(seconds=5))
    off = SchedulerSettings(arm_ahead_seconds=0)
    assert (await world.scheduler(settings=off).tick()).armed == 0
    assert await armed_rows(world) == 0


async def test_the_loop_wakes_to_arm_ahead_and_again_exactly_at_the_fire_time(world: World):
    script_id = await world.add_script()
    fire_at = T0 + timedelta(seconds=30)
    schedule_id = await world.add_schedule(script_id, cron="30 0 12 * * *", next_run_at=fire_at)
    waits = await run_on_a_moving_clock(world, waits=4, recheck_seconds=3600)

    # Until 10 s before, when it arms; until half a second before, when it reads what
    # it armed; then the fire time; then (nothing left) the longest.
    assert waits == [20.0, 9.5, 0.5, 3600.0]
    (firing,) = await world.firings(schedule_id)
    assert (firing.fire_time, firing.lateness_seconds) == (fire_at, 0.0)


# --- sleeping and waking -------------------------------------------------------------------


def test_sleeps_until_the_next_fire_time_but_at_most_the_recheck(world: World):
    scheduler = world.scheduler(settings=SchedulerSettings(recheck_seconds=5.0))
    idle = TickReport(now=T0)
    assert scheduler.seconds_to_sleep(None, idle) == 5.0
    assert scheduler.seconds_to_sleep(T0 + timedelta(seconds=1.25), idle) == 1.25
    assert scheduler.seconds_to_sleep(T0 + timedelta(hours=1), idle) == 5.0
    # Due again right after a tick that fired something: no sleep at all.
    assert scheduler.seconds_to_sleep(T0, TickReport(now=T0, fired=1)) == 0.0
    # Became due after the tick looked: no sleep either.
    world.clock.advance(seconds=0.5)
    assert scheduler.seconds_to_sleep(T0 + timedelta(seconds=0.1), idle) == 0.0


@pytest.mark.parametrize(
    ("arm_ahead_seconds", "expected_waits"),
    [
        (0, [1.5, 2.0, 2.0, 2.0]),
        # Armed: until half a second before each fire time (to read what it armed
        # for it), then until the fire time.
        (10, [1.0, 0.5, 1.5, 0.5, 1.5, 0.5, 1.5]),
    ],
)
async def test_the_loop_sleeps_exactly_until_each_fire_time(
    world: World, arm_ahead_seconds: float, expected_waits: list[float]
):
    """``run`` with a wait that moves the clock by the time asked for, instead of
    sleeping: it must ask to sleep exactly until each fire time."""
    script_id = await world.add_script()
    schedule_id = await world.add_schedule(
        script_id, cron="*/2 * * * * *", next_run_at=T0 + timedelta(seconds=2)
    )
    world.clock.advance(seconds=0.5)

    waits = await run_on_a_moving_clock(
        world,
        waits=len(expected_waits),
        recheck_seconds=10,
        arm_ahead_seconds=arm_ahead_seconds,
    )

    firings = await world.firings(schedule_id)
    assert [f.fire_time for f in firings] == [T0 + timedelta(seconds=s) for s in (2, 4, 6)]
    assert [f.lateness_seconds for f in firings] == [0.0, 0.0, 0.0]
    assert waits == expected_waits


async def test_a_backlog_while_watching_is_late_not_missed(world: World):
    """Fire times that come due while the loop runs fire however late (a slow
    database, thousands due at once); only what was due before it started watching
    (minus the grace) is a misfire."""
    script_id = await world.add_script()
    missed = await world.add_schedule(
        script_id, cron="0 * * * *", next_run_at=T0 - timedelta(hours=2)
    )
    backlog = await world.add_schedule(
        script_id, cron="0 * * * *", next_run_at=T0 + timedelta(seconds=1)
    )
    waits: list[float] = []

    async def stalled(event: asyncio.Event, seconds: float) -> None:
        waits.append(seconds)
        world.clock.advance(minutes=10)  # the loop comes back 10 minutes later
        if len(waits) == 2:
            scheduler.stop()

    scheduler = world.scheduler(wait=stalled)
    await asyncio.wait_for(scheduler.run(), timeout=5)

    skipped, on_time = await world.firings(missed)
    assert skipped.outcome == FiringOutcome.SKIPPED
    assert skipped.reason is not None
    assert "missed 2 fire times from 2030-01-01 10:00:00 UTC to 2030-01-01 11:00:00 UTC" in (
        skipped.reason
    )
    assert (on_time.fire_time, on_time.outcome) == (T0, FiringOutcome.FIRED)
    (late,) = await world.firings(backlog)
    assert late.outcome == FiringOutcome.FIRED
    assert late.lateness_seconds == 599.0


async def test_a_schedule_change_wakes_the_sleeping_loop(world: World):
    script_id = await world.add_script()
    waits: list[float] = []

    async def until_woken(event: asyncio.Event, seconds: float) -> None:
        waits.append(round(seconds, 6))
        await event.wait()  # only a wake ends this sleep: no time passes

    scheduler = world.scheduler(settings=SchedulerSettings(recheck_seconds=3600), wait=until_woken)
    service = ScheduleService(uow=world.store.uow, clock=world.clock, on_change=scheduler.wake)
    loop = asyncio.create_task(scheduler.run())
    try:
        await until(lambda: waits == [3600.0])  # nothing scheduled: the longest sleep
        detail = await service.create(script_id, cron="* * * * * *")
        # Woken: until half a second before its first time (to read what it armed).
        await until(lambda: waits == [3600.0, 0.5])
        world.clock.advance(seconds=1)
        scheduler.wake()
        await until(lambda: len(waits) == 3)
        assert [f.fire_time for f in await world.firings(detail.schedule.require_id)] == [
            T0 + timedelta(seconds=1)
        ]
        await service.update(detail.schedule.require_id, SchedulePatch(enabled=False))
        await until(lambda: len(waits) == 4)
        assert waits[-1] == 3600.0  # disabled: nothing left to wait for
    finally:
        scheduler.stop()
        await asyncio.wait_for(loop, timeout=5)


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition`` holds (bounded; no clock time passes)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")
