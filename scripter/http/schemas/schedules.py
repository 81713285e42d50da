"""Bodies of /api/schedules and /api/scripts/{id}/schedules, and their conversions.

Secrets: a schedule's ``env`` goes out through ``ScheduleDetail.shown_env``, which
sends null for an override of a variable the script marks secret; a null sent back
keeps the stored value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from msgspec import UNSET, UnsetType

from scripter.domain.schedules import FiringOutcome, MisfirePolicy, OverlapPolicy, ScheduleFiring
from scripter.services.schedules import Preview, ScheduleDetail, SchedulePatch, UpcomingRun
from scripter.services.script_changes import KEEP

MisfirePolicyText = Annotated[
    str,
    msgspec.Meta(
        description="skip: record the fire times missed while no scheduler ran as one "
        "skipped entry and wait for the next; run_once: run once for all of them",
        examples=["skip", "run_once"],
    ),
]
OverlapPolicyText = Annotated[
    str,
    msgspec.Meta(
        description="when a fire time comes while the schedule's last job is still queued "
        "or running: allow (run another), skip (record it skipped) or replace (cancel "
        "the old job, start the new one)",
        examples=["allow", "skip", "replace"],
    ),
]
ScheduleEnv = Annotated[
    dict[str, str | None],
    msgspec.Meta(
        description="Added to (or replacing) the script's environment variables. "
        "null: the value of a secret variable of the script: set, never shown. "
        "In a request, null keeps the value the schedule stores under that name "
        "(422 where it stores none).",
        examples=[{"MODE": "fast"}],
    ),
]
CronText = Annotated[
    str,
    msgspec.Meta(
        description="5 fields (minute hour day-of-month month day-of-week), or 6 with "
        "a seconds field first; @hourly, @daily, @weekly, @monthly, @yearly",
        examples=["30 2 * * *", "*/10 * * * * *"],
    ),
]

# --- responses --------------------------------------------------------------------------


class FireTime(msgspec.Struct):
    utc: datetime
    local: datetime
    """The same instant in the schedule's timezone (with its UTC offset)."""


class Schedule(msgspec.Struct):
    id: int
    script_id: int
    cron: str
    timezone: str
    enabled: bool
    misfire_policy: MisfirePolicy
    overlap_policy: OverlapPolicy
    args: list[str] | None
    """None: the script's own default arguments."""
    env: ScheduleEnv
    next_run_at: datetime | None
    """None while disabled."""
    next_runs: list[FireTime]
    """The next few fire times, starting with next_run_at."""
    description: str | None
    """The expression in words."""
    created_at: datetime
    updated_at: datetime


class Firing(msgspec.Struct):
    id: int
    schedule_id: int
    fire_time: datetime
    outcome: FiringOutcome
    job_id: int | None
    reason: str | None
    """Why it was skipped; for a fired one, a note (misfires it ran for, a replaced job)."""
    recorded_at: datetime
    lateness_seconds: float
    """How long after its fire time the scheduler acted on it."""


class FiringPage(msgspec.Struct):
    items: list[Firing]
    next_cursor: datetime | None
    """Pass as ``before`` for the next (older) page; null at the end."""


class UpcomingScheduledRun(msgspec.Struct):
    """The next run of one enabled schedule, for lists across scripts (the dashboard)."""

    schedule_id: int
    script_id: int
    script_name: str
    next_run_at: datetime
    cron: str
    timezone: str


class PreviewResult(msgspec.Struct):
    cron: str
    timezone: str
    description: str | None
    fire_times: list[FireTime]


# --- requests ---------------------------------------------------------------------------


class ScheduleCreate(msgspec.Struct, forbid_unknown_fields=True):
    cron: CronText
    timezone: str | None = None
    """IANA name; omit for the configured default (scheduler.timezone)."""
    enabled: bool = True
    misfire_policy: MisfirePolicyText = "skip"
    overlap_policy: OverlapPolicyText = "allow"
    args: list[str] | None = None
    """Omit or null for the script's own default arguments."""
    env: ScheduleEnv = msgspec.field(default_factory=dict)
    """Added to (or replacing) the script's environment variables; no null here
    (there is no stored value to keep yet)."""


class ScheduleUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields given change; ``env`` replaces the whole mapping."""

    cron: CronText | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    misfire_policy: MisfirePolicyText | UnsetType = UNSET
    overlap_policy: OverlapPolicyText | UnsetType = UNSET
    args: list[str] | UnsetType | None = UNSET
    env: ScheduleEnv | UnsetType = UNSET
    """Replaces the whole mapping; null keeps the value stored under that name."""


class PreviewRequest(msgspec.Struct, forbid_unknown_fields=True):
    cron: CronText
    timezone: str | None = None
    """IANA name; omit for the configured default."""
    count: int = 5
    """1 to 100."""
    after: datetime | None = None
    """Fire times after this instant; omit for now. Without an offset it is UTC."""


# --- conversions ------------------------------------------------------------------------


def fire_times(times: Sequence[datetime], timezone: str) -> list[FireTime]:
    try:
        zone = ZoneInfo(timezone)
    except Exception:
        zone = None
    return [FireTime(utc=t, local=t.astimezone(zone) if zone else t) for t in times]


def schedule_out(detail: ScheduleDetail) -> Schedule:
    s = detail.schedule
    return Schedule(
        id=s.require_id,
        script_id=s.script_id,
        cron=s.cron,
        timezone=s.timezone,
        enabled=s.enabled,
        misfire_policy=s.misfire_policy,
        overlap_policy=s.overlap_policy,
        args=None if s.args is None else list(s.args),
        env=detail.shown_env(),
        next_run_at=detail.next_run_at,
        next_runs=fire_times(detail.upcoming, s.timezone),
        description=detail.description,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


def upcoming_out(run: UpcomingRun) -> UpcomingScheduledRun:
    s = run.schedule
    return UpcomingScheduledRun(
        schedule_id=s.require_id,
        script_id=s.script_id,
        script_name=run.script_name,
        next_run_at=run.next_run_at,
        cron=s.cron,
        timezone=s.timezone,
    )


def firing_out(firing: ScheduleFiring) -> Firing:
    return Firing(
        id=firing.id or 0,
        schedule_id=firing.schedule_id,
        fire_time=firing.fire_time,
        outcome=firing.outcome,
        job_id=firing.job_id,
        reason=firing.reason,
        recorded_at=firing.recorded_at,
        lateness_seconds=firing.lateness_seconds,
    )


def preview_out(preview: Preview) -> PreviewResult:
    return PreviewResult(
        cron=preview.cron,
        timezone=preview.timezone,
        description=preview.description,
        fire_times=fire_times(preview.fire_times, preview.timezone),
    )


def patch_in(data: ScheduleUpdate) -> SchedulePatch:
    return SchedulePatch(
        cron=KEEP if isinstance(data.cron, UnsetType) else data.cron,
        timezone=KEEP if isinstance(data.timezone, UnsetType) else data.timezone,
        enabled=KEEP if isinstance(data.enabled, UnsetType) else data.enabled,
        misfire_policy=KEEP if isinstance(data.misfire_policy, UnsetType) else data.misfire_policy,
        overlap_policy=KEEP if isinstance(data.overlap_policy, UnsetType) else data.overlap_policy,
        args=KEEP if isinstance(data.args, UnsetType) else data.args,
        env=KEEP if isinstance(data.env, UnsetType) else data.env,
    )
