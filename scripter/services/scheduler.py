"""The scheduler: fires due schedules, exactly once per fire time.

The loop sleeps until the earliest ``next_run_at`` of any enabled schedule (one
indexed query), not on a fixed tick, then fires what is due. A schedule saved in
this process wakes it at once (``wake``, after the commit); one saved by another
process (``scripter api`` beside ``scripter scheduler``) is not announced to it,
so with several processes the loop also looks again at least every
``recheck_seconds``. A firing is one transaction that

1. claims the schedule with a conditional UPDATE on the ``next_run_at`` it saw,
   moving it to its next fire time,
2. records the firing, unique per (schedule, fire time), and
3. queues the job and the events ``ScheduleFired`` / ``ScheduleSkipped`` (outbox),

then commits. Several schedulers on one database, a crash anywhere, or a tick run
twice for the same instant can therefore never create a second job for a fire
time: of two claims on the same ``next_run_at`` the database lets one through, and
a crash before commit leaves nothing behind (the schedule is still due, and fires
when a scheduler runs again).

Two paths share those rules. The plain firings of a tick (a job to start, overlap
``allow``, the image built) go **together**, set-based: one transaction locks the
due rows (MariaDB skips rows another scheduler holds, so schedulers take disjoint
batches), claims them with one UPDATE per (seen, next) pair, inserts their jobs,
firings and events with one statement each, and commits. Thousands of schedules
due in one second then cost a handful of statements instead of thousands of
transactions. Everything else (skips, overlap ``skip``/``replace``, a broken
schedule), and any batch whose set-based claim fails, goes **one by one**, each
fire time in a transaction of its own, which records exactly why.

**Arming ahead.** Even set-based, writing thousands of jobs and firings takes
longer than a second on a small machine, and it used to start only at the fire
time. So the plain firings of schedules due within ``arm_ahead_seconds`` are
carried out *before* their time, the same way (claim, job, firing, one
transaction), except that the job and the firing are stored **armed**: nothing
reads them (job lists, the history, workers) and no event is sent. At the fire time
a scheduler flips them, a few UPDATEs for thousands of rows, and sends
``ScheduleFired`` and ``JobRequested``; the job's creation and the firing's record
carry the flip's time, so lateness is measured from there. An armed firing that can
no longer run as armed (its script got a new revision, its image was destroyed or
rebuilt under another tag, or its fire time passed while no scheduler watched) is
disarmed instead: its rows go, its schedule moves back to that fire time, and the
ordinary path above fires it (or records why not) in the same pass. A change to the
schedule itself disarms it in the change's own transaction
(``SchedulesService``), so disabling or deleting stops it at once. Arming keeps the
guarantees: the claim and the unique (schedule, fire time) key are the same, a
crash leaves armed rows that the next scheduler flips or disarms, and a flip
changes only rows still armed, all or nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from scripter.domain.clock import Clock
from scripter.domain.cron import CronSchedule
from scripter.domain.errors import ConcurrentUpdate, Conflict, InvalidInput
from scripter.domain.jobs import Job, JobTrigger
from scripter.domain.ports import UnitOfWork, UnitOfWorkFactory
from scripter.domain.schedules import (
    ArmedFiring,
    FiringOutcome,
    FiringPlan,
    OverlapPolicy,
    Schedule,
    ScheduleFiring,
    plan_firing,
)
from scripter.services.jobs import enqueue_job, is_runnable, new_job

log = logging.getLogger(__name__)

Wait = Callable[[asyncio.Event, float], Awaitable[None]]
"""Wait until the event is set or ``seconds`` have passed (tests pass their own)."""

Exclusive = Callable[[], AbstractAsyncContextManager[bool]]
"""A lock one scheduler process holds at a time; yields whether this one got it
(at once, without waiting). The database's named lock where there is one."""

FLIP_BUSY_SECONDS = 0.02
"""How soon to look again when another scheduler is flipping armed firings."""

PREFETCH_SECONDS = 0.5
"""How long before an armed fire time its firings are read, so that only their
flip is left for the fire time itself (reading 10,000 took about 50 ms)."""


@contextlib.asynccontextmanager
async def always_got() -> AsyncIterator[bool]:
    """The ``Exclusive`` of a scheduler with no other to exclude."""
    yield True


async def wait_for_event(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)


@dataclass(kw_only=True, frozen=True)
class SchedulerSettings:
    misfire_grace_seconds: float = 60.0
    """A fire time that was due more than this long before the scheduler started
    watching (started, or got its database back) is a misfire, handled by the
    schedule's misfire policy. Fire times that come due while it watches are never
    misfires, however long its backlog: they fire, late."""
    recheck_seconds: float = 1.0
    """Longest sleep. A schedule saved in this process wakes the scheduler at once;
    one saved by another process (an ``api`` next to this ``scheduler``) is only
    seen at the next re-check, so this bounds how late such a change can be."""
    batch: int = 500
    """Due schedules read (and fired together) at a time."""
    retry_seconds: float = 1.0
    """A schedule whose firing failed unexpectedly (a deadlock, a lost connection) is
    retried after this long, doubling with each further failure up to a minute."""
    concurrency: int = 1
    """Fire times carried out one by one at once, each in its own transaction (the
    firings that go together are one transaction anyway)."""
    arm_ahead_seconds: float = 10.0
    """Plain firings due within this many seconds are written ahead, armed, and
    flipped at their fire time (0: never; everything is written at the fire time).
    A burst larger than one scheduler arms in this time fires partly unarmed,
    later."""
    flip_batch: int = 20_000
    """Armed firings flipped in one transaction."""


class ClaimResult(enum.StrEnum):
    FIRED = "fired"
    SKIPPED = "skipped"
    LOST = "lost"
    """Another scheduler claimed it first (or the schedule changed meanwhile)."""
    FAILED = "failed"


@dataclass(kw_only=True)
class TickReport:
    now: datetime
    """The instant the tick looked for due schedules at."""
    fired: int = 0
    skipped: int = 0
    lost: int = 0
    failed: int = 0
    armed: int = 0
    """Firings of later fire times written ahead (see the module's notes)."""
    flipped: int = 0
    """Of ``fired``, those armed earlier and flipped in this pass."""

    full: bool = False
    """Some step took all it could at once: more may be waiting right now."""
    flip_busy: bool = False
    """Armed firings were due but another scheduler was flipping them."""

    @property
    def attempted(self) -> int:
        return self.fired + self.skipped + self.lost + self.failed + self.armed


class Scheduler:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        settings: SchedulerSettings | None = None,
        wait: Wait = wait_for_event,
        flip_lock: Exclusive = always_got,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._settings = settings or SchedulerSettings()
        self._wait = wait
        self._flip_lock = flip_lock
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._retry_at: dict[int, datetime] = {}
        """Schedules whose firing failed, and when to try them again."""
        self._failures: dict[int, int] = {}
        """Failures in a row, per schedule (for the retry's back-off)."""
        self._random = random.Random()
        self._watching_since: datetime | None = None
        """Since when the loop has been firing without interruption (None: not in
        the loop, or its last pass failed)."""
        self._prefetched: tuple[datetime, list[ArmedFiring]] | None = None
        """The armed firings of the next armed fire time, read shortly before it."""

    # --- the loop -------------------------------------------------------------------

    def wake(self) -> None:
        """A schedule changed: look again at what is due and when (called after the
        commit of every schedule change made in this process)."""
        self._wakeup.set()

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        """Fire schedules until ``stop``. Errors (a database outage) are logged and
        retried with a growing delay; they never end the loop."""
        self._stopping = False
        self._watching_since = None
        delay_after_error = 0.5
        while not self._stopping:
            # Cleared before looking, so a change committed while we look wakes us.
            self._wakeup.clear()
            if self._watching_since is None:
                self._watching_since = self._clock.now()
            try:
                report = await self.tick()
                if report.full:
                    continue  # more may be due (or to arm) right now
                next_due = await self._next_due_time()
            except Exception as exc:
                # What comes due until we are back was not watched: misfires.
                self._watching_since = None
                log.warning("scheduler: %s; retrying in %.1f s", exc, delay_after_error)
                await self._wait(self._wakeup, delay_after_error)
                delay_after_error = min(delay_after_error * 2, 30.0)
                continue
            delay_after_error = 0.5
            delay = self.seconds_to_sleep(next_due, report)
            if delay > 0:
                await self._wait(self._wakeup, delay)

    def seconds_to_sleep(self, next_due: datetime | None, last_tick: TickReport) -> float:
        """Until the next fire time, but at most ``recheck_seconds``: with several
        processes, a schedule saved by another one (an ``api`` beside this
        ``scheduler``) does not wake this one, so it looks again that often.
        A fire time the last tick saw due but could not fire waits for its retry."""
        now = self._clock.now()
        recheck = self._settings.recheck_seconds
        if last_tick.flip_busy:
            return min(FLIP_BUSY_SECONDS, recheck)
        if next_due is None:
            return recheck
        if next_due <= last_tick.now and last_tick.attempted == 0:
            retries = [(t - now).total_seconds() for t in self._retry_at.values()]
            return max(min([recheck, *retries]), 0.05)
        return max(min(recheck, (next_due - now).total_seconds()), 0.0)

    async def _next_due_time(self) -> datetime | None:
        """When there is something to do next: armed firings to flip, or a schedule
        to arm (its fire time minus ``arm_ahead_seconds``) or, once that moment has
        passed and it is still not armed (it cannot be: overlap ``skip``, an image
        not built), to fire at its fire time."""
        async with self._uow() as uow:
            due = await uow.schedules.next_due_time()
            ahead = timedelta(seconds=self._settings.arm_ahead_seconds)
            if not ahead:
                return due
            armed = await uow.schedules.next_armed_time()
        now = self._clock.now()
        if due is not None and due - ahead > now:
            due -= ahead
        if armed is not None and not self._has_prefetched(armed):
            # Shortly before it first, to read its firings (if there is still time).
            armed = max(armed - timedelta(seconds=PREFETCH_SECONDS), min(armed, now))
        return min((t for t in (due, armed) if t is not None), default=None)

    def _has_prefetched(self, fire_time: datetime) -> bool:
        return self._prefetched is not None and self._prefetched[0] == fire_time

    # --- one pass -------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """Fire every schedule due now (up to ``batch`` of them): the plain ones
        together in one transaction, the rest one by one. Safe to run at the same
        time in several processes and to run twice for the same instant."""
        now = self._clock.now()
        report = TickReport(now=now)
        arming = self._settings.arm_ahead_seconds > 0
        if arming:
            report.flipped = await self._fire_armed(now, report)
            report.fired += report.flipped
        self._retry_at = {k: t for k, t in self._retry_at.items() if t > now}
        async with self._uow() as uow:
            due = await uow.schedules.lock_due(
                now, limit=self._settings.batch + len(self._retry_at)
            )
            ready = [s for s in due if s.require_id not in self._retry_at]
            # A full batch attempted: more may be due (those waiting for a retry
            # do not count, or they would spin the loop until their retry).
            if len(ready) >= self._settings.batch:
                report.full = True
            fired = await self._fire_together(uow, ready, now)
        report.fired += len(fired)
        ready = [s for s in ready if s.require_id not in fired]
        # One by one, earliest first; schedules due at the same time in a random
        # order, so that several schedulers mostly claim different ones instead of
        # queueing on the same rows (each transaction locks one schedule row).
        ready.sort(key=lambda s: (s.next_run_at or now, self._random.random()))
        if self._settings.concurrency <= 1:
            results = [await self.fire(schedule) for schedule in ready]
        else:
            slots = asyncio.Semaphore(self._settings.concurrency)

            async def fire_in_slot(schedule: Schedule) -> ClaimResult:
                async with slots:
                    return await self.fire(schedule)

            results = list(await asyncio.gather(*(fire_in_slot(s) for s in ready)))
        for result in results:
            if result == ClaimResult.FIRED:
                report.fired += 1
            elif result == ClaimResult.SKIPPED:
                report.skipped += 1
            elif result == ClaimResult.LOST:
                report.lost += 1
            else:
                report.failed += 1
        if arming and not report.full:
            report.armed = await self._arm(now, report)
        return report

    # --- arming ahead ---------------------------------------------------------------

    async def _fire_armed(self, now: datetime, report: TickReport) -> int:
        """Flip the armed firings due at ``now``, up to ``flip_batch``: read them, then
        flip them in two transactions at once where ``concurrency`` allows (split by
        schedule), so that the database works on one while this process prepares the
        other's events. The number flipped.

        One scheduler process flips at a time (``flip_lock``): three processes
        flipping the same burst at once contended on the same index pages and took
        longer than one. The others look again shortly, and take over if the
        flipping one dies (its lock goes with its connection). Exactly once does not
        rest on that lock: a flip changes only rows still armed, all or nothing."""
        async with self._uow() as uow:
            earliest = await uow.schedules.next_armed_time()
        if earliest is None:
            self._prefetched = None
            return 0
        if earliest > now:
            await self._prefetch(earliest, now)
            return 0
        async with self._flip_lock() as got:
            if not got:
                report.flip_busy = True
                return 0
            prefetched, self._prefetched = self._prefetched, None
            if prefetched is not None and prefetched[0] <= now:
                # Read shortly before the fire time; what was armed since, or what
                # changed meanwhile, the next pass (right away) reads again.
                armed = prefetched[1]
                report.full = True
            else:
                async with self._uow() as uow:
                    armed = await uow.schedules.due_armed(now, limit=self._settings.flip_batch)
            if len(armed) >= self._settings.flip_batch:
                report.full = True
            ways = max(1, min(self._settings.concurrency, 2))
            shares = [[a for a in armed if a.schedule_id % ways == way] for way in range(ways)]
            flips = (self._flip(now, share, report) for share in shares if share)
            return sum(await asyncio.gather(*flips))

    async def _prefetch(self, fire_time: datetime, now: datetime) -> None:
        """Read the firings armed for ``fire_time`` if it is close, once."""
        if self._has_prefetched(fire_time) or fire_time - now > timedelta(seconds=PREFETCH_SECONDS):
            return
        async with self._uow() as uow:
            armed = await uow.schedules.due_armed(fire_time, limit=self._settings.flip_batch)
        self._prefetched = (fire_time, armed)

    async def _flip(self, now: datetime, armed: list[ArmedFiring], report: TickReport) -> int:
        """Flip ``armed`` (due at ``now``) in one transaction; disarm those that cannot
        fire as armed, which leaves their schedules due for the ordinary path. The
        number flipped; 0 if some changed since they were read (a change disarmed
        one, another scheduler flipped them): then the next pass reads them again
        at once."""
        misfire_before = self._misfire_before(now)
        async with self._uow() as uow:
            # Due while no scheduler watched: the misfire policy decides, one by one.
            on_time = [a for a in armed if a.fire_time >= misfire_before]
            try:
                # Stamped as late as it can be: the rows become visible at the commit.
                fired = await uow.schedules.fire_armed(on_time, self._clock.now())
            except ConcurrentUpdate:
                report.full = True
                return 0
            flipped = {a.firing_id for a in fired}
            stale = {a.schedule_id for a in armed if a.firing_id not in flipped}
            await uow.schedules.disarm(stale)
            for firing in fired:
                for event in firing.events():
                    uow.emit(event)
            await uow.commit()
        if stale:
            log.info(
                "scheduler: %d armed firings could not fire as armed (script or image "
                "changed, or missed); firing them the ordinary way",
                len(stale),
            )
        return len(fired)

    async def _arm(self, now: datetime, report: TickReport) -> int:
        """Arm the plain firings of schedules due after ``now`` and within
        ``arm_ahead_seconds`` (up to ``batch``), in one transaction. The number
        armed; 0 when the batch could not be claimed as read (it is tried again)."""
        until = now + timedelta(seconds=self._settings.arm_ahead_seconds)
        async with self._uow() as uow:
            soon = await uow.schedules.lock_due(until, limit=self._settings.batch)
            coming = [
                s
                for s in soon
                if s.next_run_at is not None
                and s.next_run_at > now
                and s.require_id not in self._retry_at
            ]
            plain = self._plain(coming, misfire_before=None)
            if not plain:
                return 0
            try:
                armed = await self._carry_out_together(uow, plain, armed=True)
                if armed:
                    await uow.commit()
            except Exception as exc:
                if not isinstance(exc, ConcurrentUpdate):
                    log.warning("scheduler: arming %d firings failed (%s)", len(plain), exc)
                return 0
        # More may wait behind a full batch; only when this one made progress, or
        # schedules that cannot be armed (overlap skip, ...) would spin the loop.
        if armed and len(soon) >= self._settings.batch:
            report.full = True
        return len(armed)

    async def _fire_together(self, uow: UnitOfWork, due: list[Schedule], now: datetime) -> set[int]:
        """Fire the plain ones of ``due`` (read in ``uow``) in ``uow``, set-based, and
        commit; the ids of those fired. Nothing is fired (an empty set, the batch
        rolled back) when anything about the batch is unexpected: the one-by-one
        path then takes each schedule and says exactly what happened to it."""
        plain = self._plain(due, misfire_before=self._misfire_before(now), now=now)
        if not plain:
            return set()
        as_read = [(s, s.next_run_at, s.version) for s, _ in plain]
        try:
            fired = await self._carry_out_together(uow, plain)
            if fired:
                await uow.commit()
        except Exception as exc:
            if not isinstance(exc, ConcurrentUpdate):  # that one is expected, on SQLite
                log.warning(
                    "scheduler: firing %d schedules together failed (%s); firing them one by one",
                    len(plain),
                    exc,
                )
            fired = []
        if not fired:
            await uow.rollback()
            # The one-by-one path claims each from what was read, not half a claim.
            for schedule, next_run_at, version in as_read:
                schedule.next_run_at, schedule.version = next_run_at, version
            return set()
        for schedule, firing in fired:
            self._log(schedule, firing)
        return {schedule.require_id for schedule, _ in fired}

    @staticmethod
    def _plain(
        due: list[Schedule], *, misfire_before: datetime | None, now: datetime | None = None
    ) -> list[tuple[Schedule, FiringPlan]]:
        """The schedules of ``due`` whose firing is plain (a job to start, overlap
        ``allow``), with their plans at ``now``; ``now`` None: each at its own
        ``next_run_at`` (arming ahead: no misfire either)."""
        plain: list[tuple[Schedule, FiringPlan]] = []
        # Parsed once per expression and timezone in this pass, which also shares the
        # next fire time among the schedules due together (most of the CPU otherwise).
        crons: dict[tuple[str, str], CronSchedule] = {}
        for schedule in due:
            if schedule.overlap_policy != OverlapPolicy.ALLOW or schedule.next_run_at is None:
                continue  # needs the schedule's unfinished jobs: one by one
            at = now or schedule.next_run_at
            try:
                key = (schedule.cron, schedule.timezone)
                cron = crons.get(key) or crons.setdefault(key, schedule.cron_schedule())
                plan = plan_firing(
                    schedule, at, misfire_before=misfire_before or schedule.next_run_at, cron=cron
                )
            except InvalidInput:
                continue  # no longer valid: one by one records why it stops
            if plan.run:
                plain.append((schedule, plan))
        return plain

    async def _carry_out_together(
        self, uow: UnitOfWork, plain: list[tuple[Schedule, FiringPlan]], *, armed: bool = False
    ) -> list[tuple[Schedule, ScheduleFiring]]:
        scripts = await uow.scripts.get_many({s.script_id for s, _ in plain})
        images = await uow.images.get_many({s.image_id for s in scripts.values()})
        # When the jobs are made: their creation time and the firings' (the lateness
        # a history shows is the job's creation minus its fire time).
        acted_at = self._clock.now()
        runnable: list[tuple[Schedule, FiringPlan, Job]] = []
        for schedule, plan in plain:
            script = scripts.get(schedule.script_id)
            image = images.get(script.image_id) if script is not None else None
            if script is None or image is None or not is_runnable(script, image):
                continue  # one by one records why no job started
            job = new_job(
                script,
                image,
                now=acted_at,
                trigger=JobTrigger.SCHEDULE,
                args=schedule.args,
                env=schedule.env,
                schedule_id=schedule.require_id,
            )
            runnable.append((schedule, plan, job))
        if not runnable:
            return []
        claims = [(schedule, plan.next_run_at) for schedule, plan, _ in runnable]
        if not await uow.schedules.claim_many(claims):
            raise ConcurrentUpdate("a due schedule changed since it was read")
        jobs = [job for _, _, job in runnable]
        if not armed:
            await uow.jobs.add_many(jobs)
        firings = [
            ScheduleFiring(
                schedule_id=schedule.require_id,
                fire_time=plan.fire_time,
                outcome=FiringOutcome.FIRED,
                job_id=job.id,  # armed: set by ``arm``, which inserts the job
                reason=plan.note,
                recorded_at=acted_at,
            )
            for schedule, plan, job in runnable
        ]
        if armed:
            # Outcome, time and events come with the flip at the fire time.
            await uow.schedules.arm(list(zip(firings, jobs, strict=True)))
        else:
            await uow.schedules.add_firings(firings)
            for job, firing in zip(jobs, firings, strict=True):
                job.queued()
                uow.emit(firing.event())
        return [
            (schedule, firing) for (schedule, _, _), firing in zip(runnable, firings, strict=True)
        ]

    async def fire(self, seen: Schedule) -> ClaimResult:
        """Claim ``seen`` (as read, with its ``next_run_at``) and carry out its plan."""
        schedule_id = seen.require_id
        try:
            result = await self._fire(seen)
        except ConcurrentUpdate:
            # Someone committed a change to the schedule or its job in between: it is
            # read again on the next pass.
            result = ClaimResult.LOST
        except Exception:
            failures = self._failures[schedule_id] = self._failures.get(schedule_id, 0) + 1
            delay = min(self._settings.retry_seconds * 2 ** (failures - 1), 60.0)
            self._retry_at[schedule_id] = self._clock.now() + timedelta(seconds=delay)
            log.exception(
                "scheduler: firing schedule %s failed; retrying in %.0f s", schedule_id, delay
            )
            return ClaimResult.FAILED
        self._failures.pop(schedule_id, None)
        return result

    def _misfire_before(self, now: datetime) -> datetime:
        """Fire times before this were missed: due more than the grace before this
        scheduler started watching (a tick outside the loop watches from now)."""
        since = self._watching_since or now
        return min(since, now) - timedelta(seconds=self._settings.misfire_grace_seconds)

    async def _fire(self, seen: Schedule) -> ClaimResult:
        seen_time = seen.next_run_at
        if seen_time is None:
            return ClaimResult.LOST
        now = self._clock.now()
        try:
            plan = plan_firing(seen, now, misfire_before=self._misfire_before(now))
        except InvalidInput as exc:
            # Saved valid, invalid now (e.g. a timezone gone from the IANA database):
            # stop it, and say why in its history.
            plan = FiringPlan(
                fire_time=seen_time,
                next_run_at=None,
                run=False,
                note=f"{exc.message}; the schedule stops until it is saved again",
            )
        async with self._uow() as uow:
            seen.next_run_at = plan.next_run_at
            claimed = await uow.schedules.claim(seen, seen_time)
            seen.next_run_at = seen_time
            if not claimed:
                return ClaimResult.LOST
            # The claim may have waited for another scheduler's transaction.
            now = self._clock.now()
            # Read back after the claim: args, env or the overlap policy may have been
            # changed since we read it (a change of those keeps next_run_at).
            schedule = await uow.schedules.get(seen.require_id)
            firing = await self._carry_out(uow, schedule, plan, now)
            try:
                await uow.schedules.add_firing(firing)
            except Conflict:
                # This fire time was recorded already: another scheduler fired it.
                await uow.rollback()
                return ClaimResult.LOST
            uow.emit(firing.event())
            await uow.commit()
        self._log(schedule, firing)
        return ClaimResult.FIRED if firing.outcome == FiringOutcome.FIRED else ClaimResult.SKIPPED

    async def _carry_out(
        self, uow: UnitOfWork, schedule: Schedule, plan: FiringPlan, now: datetime
    ) -> ScheduleFiring:
        """Queue the job the plan asks for (or decide not to); the firing to record."""
        schedule_id = schedule.require_id
        if not plan.run:
            return self._firing(schedule_id, plan.fire_time, now, reason=plan.note)
        notes = [plan.note] if plan.note else []
        running = (
            await uow.jobs.unfinished_of_schedule(schedule_id)
            if schedule.overlap_policy != OverlapPolicy.ALLOW
            else []
        )
        if running and schedule.overlap_policy == OverlapPolicy.SKIP:
            jobs = ", ".join(f"job {j.id} ({j.status})" for j in running)
            reason = f"the last run is not finished: {jobs} (overlap policy skip)"
            return self._firing(schedule_id, plan.fire_time, now, reason=reason)
        script = await uow.scripts.get(schedule.script_id)
        try:
            # Refused before it writes anything when the image is not built.
            job = await enqueue_job(
                uow,
                script,
                now=now,
                trigger=JobTrigger.SCHEDULE,
                args=schedule.args,
                env=schedule.env,
                schedule_id=schedule_id,
            )
        except Conflict as exc:
            return self._firing(
                schedule_id, plan.fire_time, now, reason=f"no job started: {exc.message}"
            )
        for old in running:  # overlap policy replace
            old.request_cancel(now)
            await uow.jobs.update(old)
            notes.append(f"replaced job {old.id} (overlap policy replace)")
        return ScheduleFiring(
            schedule_id=schedule_id,
            fire_time=plan.fire_time,
            outcome=FiringOutcome.FIRED,
            job_id=job.require_id,
            reason="; ".join(notes) or None,
            recorded_at=now,
        )

    @staticmethod
    def _firing(
        schedule_id: int, fire_time: datetime, now: datetime, *, reason: str | None
    ) -> ScheduleFiring:
        return ScheduleFiring(
            schedule_id=schedule_id,
            fire_time=fire_time,
            outcome=FiringOutcome.SKIPPED,
            reason=reason or "skipped",
            recorded_at=now,
        )

    @staticmethod
    def _log(schedule: Schedule, firing: ScheduleFiring) -> None:
        if firing.outcome == FiringOutcome.FIRED:
            log.debug(
                "schedule %s fired for %s: job %s (%.3f s late)",
                schedule.id,
                firing.fire_time.isoformat(),
                firing.job_id,
                firing.lateness_seconds,
            )
        else:
            log.info(
                "schedule %s skipped %s: %s",
                schedule.id,
                firing.fire_time.isoformat(),
                firing.reason,
            )


__all__ = [
    "ClaimResult",
    "Scheduler",
    "SchedulerSettings",
    "TickReport",
    "wait_for_event",
]
