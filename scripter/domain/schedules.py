"""Cron schedules of a script, and the record of each firing (fired or skipped).

``plan_firing`` decides what one claim of a due schedule does (fire it, or record a
misfire); the scheduler service carries the plan out in one transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from scripter.domain.cron import CronSchedule
from scripter.domain.errors import InvalidInput
from scripter.domain.events import JobRequested, ScheduleFired, ScheduleSkipped
from scripter.domain.model import Aggregate


class MisfirePolicy(enum.StrEnum):
    """What to do with fire times missed while nothing was running."""

    SKIP = "skip"
    """Record the missed times as skipped (one summary entry) and wait for the next
    future one."""
    RUN_ONCE = "run_once"
    """Run once now for all the missed times together."""


class OverlapPolicy(enum.StrEnum):
    """What to do when a fire time comes while the last job still runs."""

    ALLOW = "allow"
    """Start another job next to it."""
    SKIP = "skip"
    """Record the fire time as skipped."""
    REPLACE = "replace"
    """Cancel the running job and start the new one."""


class FiringOutcome(enum.StrEnum):
    FIRED = "fired"
    SKIPPED = "skipped"


def parse_misfire_policy(value: str) -> MisfirePolicy:
    try:
        return MisfirePolicy(value)
    except ValueError:
        choices = " or ".join(p.value for p in MisfirePolicy)
        raise InvalidInput(
            f"misfire_policy must be {choices}, not {value!r}", field="misfire_policy"
        ) from None


def parse_overlap_policy(value: str) -> OverlapPolicy:
    try:
        return OverlapPolicy(value)
    except ValueError:
        choices = ", ".join(p.value for p in OverlapPolicy)
        raise InvalidInput(
            f"overlap_policy must be one of {choices}, not {value!r}", field="overlap_policy"
        ) from None


@dataclass(kw_only=True, eq=False)
class Schedule(Aggregate):
    script_id: int
    cron: str
    timezone: str = "UTC"
    enabled: bool = True
    misfire_policy: MisfirePolicy = MisfirePolicy.SKIP
    overlap_policy: OverlapPolicy = OverlapPolicy.ALLOW
    args: list[str] | None = None
    """Arguments of its jobs; None runs the script's own default arguments."""
    env: dict[str, str] = field(default_factory=dict)
    """Added to (or replacing) the script's environment in its jobs."""
    next_run_at: datetime | None = None
    """The next fire time (UTC); None while disabled or when it never fires again."""
    created_at: datetime
    updated_at: datetime

    def cron_schedule(self) -> CronSchedule:
        """The expression in the schedule's timezone (``InvalidInput`` if either broke)."""
        return CronSchedule(self.cron, self.timezone)


@dataclass(kw_only=True, eq=False)
class ScheduleFiring:
    """One fire time of a schedule; (schedule_id, fire_time) is unique."""

    id: int | None = None
    schedule_id: int
    fire_time: datetime
    outcome: FiringOutcome
    job_id: int | None = None
    reason: str | None = None
    """Why it was skipped; for a fired one, a note (e.g. the misfires it ran for)."""
    recorded_at: datetime
    """When the scheduler acted on it (the job, if any, was created at this moment)."""

    @property
    def lateness_seconds(self) -> float:
        """How long after its fire time the scheduler acted on it."""
        return (self.recorded_at - self.fire_time).total_seconds()

    def event(self) -> ScheduleFired | ScheduleSkipped:
        """What the firing announces: the job it started, or why none."""
        if self.outcome == FiringOutcome.FIRED:
            assert self.job_id is not None
            return ScheduleFired(
                schedule_id=self.schedule_id, fire_time=self.fire_time, job_id=self.job_id
            )
        return ScheduleSkipped(
            schedule_id=self.schedule_id,
            fire_time=self.fire_time,
            reason=self.reason or "skipped",
        )


class ArmedFiring(NamedTuple):
    """A fire time written ahead of time: its firing and its job exist, armed, and
    nothing reads them (job lists, the history, workers) until a scheduler fires
    them at the fire time by flipping both rows, or disarms them (the schedule
    changed, or its script or image did). Arming moves the heavy writes of a burst
    of schedules before the fire time; see ``Scheduler``. (A tuple: thousands are
    read at the fire time, where every millisecond counts.)"""

    firing_id: int
    schedule_id: int
    fire_time: datetime
    job_id: int
    script_id: int
    revision: int
    """The script revision the job was armed with (fired only if still current)."""
    image_id: int
    image_tag: str | None
    """The image and tag it was armed with (fired only if the image is still built
    under that tag)."""

    def events(self) -> tuple[ScheduleFired, JobRequested]:
        """What firing it announces: the firing, and the job for a worker."""
        return (
            ScheduleFired(
                schedule_id=self.schedule_id, fire_time=self.fire_time, job_id=self.job_id
            ),
            JobRequested(job_id=self.job_id, script_id=self.script_id),
        )


@dataclass(kw_only=True, frozen=True)
class FiringPlan:
    """What one claim of a due schedule does."""

    fire_time: datetime
    """The key of the firing to record (unique per schedule)."""
    next_run_at: datetime | None
    """Where the claim moves the schedule."""
    run: bool
    """Start a job (subject to the overlap policy); False records a skipped firing."""
    note: str | None = None
    """The reason of a skipped firing, or a note on a fired one."""


def _when(instant: datetime, cron: CronSchedule) -> str:
    local = instant.astimezone(cron.zone)
    return f"{local:%Y-%m-%d %H:%M:%S %Z}"


def _times(count: int, capped: bool) -> str:
    number = f"more than {count:,}" if capped else f"{count:,}"
    return f"{number} fire time{'' if count == 1 and not capped else 's'}"


def plan_firing(
    schedule: Schedule,
    now: datetime,
    *,
    misfire_before: datetime,
    cron: CronSchedule | None = None,
) -> FiringPlan:
    """The plan for a schedule whose ``next_run_at`` is due at ``now``.

    Fire times before ``misfire_before`` are misfires: they came and went while no
    scheduler could fire them (the scheduler computes it as "when I started
    watching, minus the grace"). Any other fire time fires, however late, and the
    schedule moves to the fire time after it (which may be due already: it fires
    next). Misfires are handled together by the misfire policy: ``skip`` records one
    skipped firing for all of them (at the first one) and moves on to the first fire
    time that is not a misfire; ``run_once`` fires once (at the latest due fire
    time) for everything due, and moves on to the first future fire time.
    """
    first = schedule.next_run_at
    if first is None:
        raise ValueError(f"schedule {schedule.id} has no next run")
    cron = cron or schedule.cron_schedule()
    if first >= misfire_before:
        return FiringPlan(fire_time=first, next_run_at=cron.next_after(first), run=True)
    if schedule.misfire_policy == MisfirePolicy.SKIP:
        last_missed = cron.last_at_or_before(misfire_before - _JUST_BEFORE) or first
        count, capped = cron.count_between(first, last_missed)
        return FiringPlan(
            fire_time=first,
            next_run_at=cron.next_after(misfire_before - _JUST_BEFORE),
            run=False,
            note=(
                f"missed {_times(count, capped)} from {_when(first, cron)} to "
                f"{_when(last_missed, cron)} while no scheduler was running "
                "(misfire policy skip)"
            ),
        )
    last_due = cron.last_at_or_before(now) or first
    count, capped = cron.count_between(first, last_due)
    return FiringPlan(
        fire_time=max(first, last_due),
        next_run_at=cron.next_after(now),
        run=True,
        note=(
            f"ran once for {_times(count, capped)} from {_when(first, cron)} to "
            f"{_when(last_due, cron)} while no scheduler was running (misfire policy "
            "run_once)"
        ),
    )


_JUST_BEFORE = timedelta(microseconds=1)
