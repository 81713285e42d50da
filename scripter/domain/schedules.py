"""Cron schedules of a script, and the record of each firing (fired or skipped)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from scripter.domain.model import Aggregate


class MisfirePolicy(enum.StrEnum):
    """What to do with fire times missed while nothing was running."""

    SKIP = "skip"
    """Record the missed times as skipped and wait for the next future one."""
    RUN_ONCE = "run_once"
    """Run once now for all the missed times together."""


class OverlapPolicy(enum.StrEnum):
    """What to do when a fire time comes while the last job still runs."""

    ALLOW = "allow"
    SKIP = "skip"
    REPLACE = "replace"


class FiringOutcome(enum.StrEnum):
    FIRED = "fired"
    SKIPPED = "skipped"


@dataclass(kw_only=True, eq=False)
class Schedule(Aggregate):
    script_id: int
    cron: str
    timezone: str = "UTC"
    enabled: bool = True
    misfire_policy: MisfirePolicy = MisfirePolicy.SKIP
    overlap_policy: OverlapPolicy = OverlapPolicy.ALLOW
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    next_run_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, eq=False)
class ScheduleFiring:
    """One fire time of a schedule; (schedule_id, fire_time) is unique."""

    id: int | None = None
    schedule_id: int
    fire_time: datetime
    outcome: FiringOutcome
    job_id: int | None = None
    reason: str | None = None
    recorded_at: datetime
