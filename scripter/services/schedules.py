"""Schedule use cases: define, change, delete, preview, and read the firing history.

Saving an enabled schedule computes its ``next_run_at`` from now; disabling clears
it. Every refusal happens before anything is written. After each committed change
``on_change`` wakes this process's scheduler (other processes' schedulers see the
change at their next re-check).

Secrets: a schedule's override of a variable its script marks secret is secret too.
Details name the script's secret variables (``ScheduleDetail.shown_env``: their
values read None), and an override given as None keeps the value the schedule
stores under that name, so a client can send back what it was shown.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from scripter.domain.clock import Clock, utc
from scripter.domain.cron import CronSchedule
from scripter.domain.errors import ConcurrentUpdate, InvalidInput, NotFound
from scripter.domain.ports import UnitOfWorkFactory
from scripter.domain.schedules import (
    Schedule,
    ScheduleFiring,
    parse_misfire_policy,
    parse_overlap_policy,
)
from scripter.domain.scripts import Script
from scripter.services.jobs import validate_run_input
from scripter.services.script_changes import KEEP, Keep

MAX_PREVIEW = 100
MAX_UPCOMING = 100
UPDATE_ATTEMPTS = 3


@dataclass(kw_only=True, frozen=True)
class ScheduleSettings:
    default_timezone: str = "UTC"
    """The timezone of a schedule that names none (config ``scheduler.timezone``)."""
    upcoming: int = 5
    """How many next fire times a schedule's detail shows."""


@dataclass(kw_only=True, frozen=True)
class ScheduleDetail:
    schedule: Schedule
    upcoming: list[datetime]
    """The next fire times (UTC), starting with ``next_run_at``; empty if disabled."""
    next_run_at: datetime | None
    """When it fires next: the stored ``next_run_at``, or the fire time the scheduler
    armed before it (arming moves the stored one past it)."""
    description: str | None
    secret_names: frozenset[str]
    """The variables the script marks secret now (not when the schedule was saved):
    the schedule's overrides of them are secret too. No default, so that no detail
    is made without them."""

    def shown_env(self) -> dict[str, str | None]:
        """The overrides as clients see them: None for the value of a secret."""
        return {
            name: None if name in self.secret_names else value
            for name, value in self.schedule.env.items()
        }


@dataclass(kw_only=True, frozen=True)
class UpcomingRun:
    """An enabled schedule's next fire time, with the name of the script it runs."""

    schedule: Schedule
    script_name: str
    next_run_at: datetime
    """As ``ScheduleDetail.next_run_at``."""


@dataclass(kw_only=True, frozen=True)
class Preview:
    cron: str
    """Normalised: single spaces, aliases expanded."""
    timezone: str
    fire_times: list[datetime]
    description: str | None


@dataclass(kw_only=True, frozen=True)
class SchedulePatch:
    """The settings to change; ``KEEP`` leaves one as it is. ``args=None`` means the
    script's own default arguments; ``env`` replaces the whole mapping, and a None
    value in it keeps the value stored under that name."""

    cron: str | Keep = KEEP
    timezone: str | Keep = KEEP
    enabled: bool | Keep = KEEP
    misfire_policy: str | Keep = KEEP
    overlap_policy: str | Keep = KEEP
    args: Sequence[str] | Keep | None = KEEP
    env: Mapping[str, str | None] | Keep = KEEP


class ScheduleService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        settings: ScheduleSettings | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._settings = settings or ScheduleSettings()
        self._on_change = on_change

    # --- reading ------------------------------------------------------------------

    async def list_for_script(self, script_id: int) -> builtins.list[ScheduleDetail]:
        """The script's schedules, oldest first; ``NotFound`` if the script is not."""
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            schedules = await uow.schedules.list_by_script(script_id)
            armed = await uow.schedules.armed_times([s.require_id for s in schedules])
        return [self._detail(s, script, armed.get(s.require_id)) for s in schedules]

    async def get(self, schedule_id: int) -> ScheduleDetail:
        async with self._uow() as uow:
            schedule = await uow.schedules.get(schedule_id)
            script = await uow.scripts.get(schedule.script_id)
            armed = await uow.schedules.armed_times([schedule_id])
        return self._detail(schedule, script, armed.get(schedule_id))

    async def upcoming(self, limit: int = 10) -> builtins.list[UpcomingRun]:
        """The next ``limit`` runs over all scripts, soonest first: one query on the
        ``next_run_at`` index, one on the armed firings (whose schedules' stored next
        run is already past them), one for the scripts' names, and a read of each
        armed schedule not listed yet (at most ``limit``)."""
        if not 1 <= limit <= MAX_UPCOMING:
            raise InvalidInput(f"limit must be 1 to {MAX_UPCOMING}", field="limit")
        async with self._uow() as uow:
            listed = {s.require_id: s for s in await uow.schedules.upcoming(limit)}
            # Those armed (due within seconds) fire before their stored next run.
            armed = await uow.schedules.armed_times(limit=limit)
            for schedule_id in armed.keys() - listed.keys():
                with contextlib.suppress(NotFound):  # deleted in between
                    listed[schedule_id] = await uow.schedules.get(schedule_id)
            scripts = await uow.scripts.get_many({s.script_id for s in listed.values()})
        runs = [
            UpcomingRun(
                schedule=s,
                script_name=scripts[s.script_id].name,
                next_run_at=min(t for t in (armed.get(i), s.next_run_at) if t is not None),
            )
            for i, s in listed.items()
            # A schedule goes with its script (ON DELETE CASCADE); the check only keeps
            # a deletion between the two reads from failing the whole list.
            if s.script_id in scripts and (i in armed or s.next_run_at is not None)
        ]
        runs.sort(key=lambda r: (r.next_run_at, r.schedule.require_id))
        return runs[:limit]

    async def history(
        self, schedule_id: int, *, before: datetime | None = None, limit: int = 50
    ) -> tuple[builtins.list[ScheduleFiring], datetime | None]:
        """Fired and skipped fire times, newest first, and the cursor of the next
        page (the last fire time of this one; None at the end)."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1", field="limit")
        async with self._uow() as uow:
            await uow.schedules.get(schedule_id)
            page = await uow.schedules.list_firings(
                schedule_id, limit=limit + 1, before=None if before is None else utc(before)
            )
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1].fire_time if more and page else None)

    def preview(
        self,
        cron: str,
        timezone: str | None = None,
        *,
        count: int = 5,
        after: datetime | None = None,
    ) -> Preview:
        """The next ``count`` fire times after ``after`` (default now); saves nothing."""
        if not 1 <= count <= MAX_PREVIEW:
            raise InvalidInput(f"count must be 1 to {MAX_PREVIEW}", field="count")
        # None (omitted) is the default; "" is a timezone that does not exist.
        zone = self._settings.default_timezone if timezone is None else timezone
        schedule = CronSchedule(cron, zone)
        start = self._clock.now() if after is None else utc(after)
        return Preview(
            cron=schedule.cron,
            timezone=schedule.timezone,
            fire_times=schedule.upcoming(start, count),
            description=schedule.describe(),
        )

    # --- changing -----------------------------------------------------------------

    async def create(
        self,
        script_id: int,
        *,
        cron: str,
        timezone: str | None = None,
        enabled: bool = True,
        misfire_policy: str = "skip",
        overlap_policy: str = "allow",
        args: Sequence[str] | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> ScheduleDetail:
        """``env``: a None value is refused (there is no stored value to keep yet)."""
        now = self._clock.now()
        checked_args, overrides = validate_run_input(args, _resolve_env(env or {}, stored={}))
        schedule = Schedule(
            script_id=script_id,
            cron=cron,
            timezone=self._settings.default_timezone if timezone is None else timezone,
            enabled=enabled,
            misfire_policy=parse_misfire_policy(misfire_policy),
            overlap_policy=parse_overlap_policy(overlap_policy),
            args=checked_args,
            env=overrides,
            created_at=now,
            updated_at=now,
        )
        self._check_and_plan(schedule, now)
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            await uow.schedules.add(schedule)
            await uow.commit()
        self._changed()
        return self._detail(schedule, script)

    async def update(self, schedule_id: int, patch: SchedulePatch) -> ScheduleDetail:
        """Change what ``patch`` names. A new expression or timezone, or enabling,
        computes ``next_run_at`` from now; disabling clears it; other changes keep
        it. Changing nothing commits nothing."""
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                return await self._update(schedule_id, patch)
            except ConcurrentUpdate:
                # The scheduler claimed the schedule between our read and our write
                # (that moves next_run_at): read it again and re-apply the patch.
                if attempt == UPDATE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _update(self, schedule_id: int, patch: SchedulePatch) -> ScheduleDetail:
        async with self._uow() as uow:
            # Firings the scheduler armed ahead were made from the settings before
            # this change: remove them first (which moves the schedule back to the
            # earliest of them), so nothing fires from stale settings and a disable
            # stops at once. Rolled back with the rest if nothing changes.
            await uow.schedules.disarm([schedule_id])
            schedule = await uow.schedules.get(schedule_id)
            script = await uow.scripts.get(schedule.script_id)
            before = _settings_of(schedule)
            _apply(schedule, patch)
            after = _settings_of(schedule)
            if after == before:
                return self._detail(schedule, script)
            now = self._clock.now()
            timing = ("cron", "timezone", "enabled")
            if any(before[k] != after[k] for k in timing):
                self._check_and_plan(schedule, now)
            schedule.updated_at = now
            await uow.schedules.update(schedule)
            await uow.commit()
        self._changed()
        return self._detail(schedule, script)

    async def delete(self, schedule_id: int) -> None:
        """Remove the schedule and its firing history; its jobs stay."""
        async with self._uow() as uow:
            await uow.schedules.delete(schedule_id)
            await uow.commit()
        self._changed()

    # --- helpers ------------------------------------------------------------------

    def _check_and_plan(self, schedule: Schedule, now: datetime) -> None:
        """Validate the expression and timezone; set ``next_run_at`` from ``now``."""
        cron = schedule.cron_schedule()
        schedule.cron = cron.cron
        first = cron.next_after(now)
        if first is None:
            raise InvalidInput(f"cron {cron.cron!r} never fires", field="cron")
        schedule.next_run_at = first if schedule.enabled else None

    def _detail(
        self, schedule: Schedule, script: Script, armed: datetime | None = None
    ) -> ScheduleDetail:
        """``armed``: the earliest fire time the scheduler armed, if any."""
        upcoming: builtins.list[datetime] = []
        first = min((t for t in (armed, schedule.next_run_at) if t is not None), default=None)
        description = None
        try:
            cron = schedule.cron_schedule()
        except InvalidInput:
            cron = None
        if cron is not None:
            description = cron.describe()
            if first is not None:
                upcoming = [first, *cron.upcoming(first, self._settings.upcoming - 1)]
        return ScheduleDetail(
            schedule=schedule,
            upcoming=upcoming,
            next_run_at=first,
            description=description,
            secret_names=frozenset(v.name for v in script.env if v.secret),
        )

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def _settings_of(schedule: Schedule) -> dict[str, object]:
    return {
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "misfire_policy": schedule.misfire_policy,
        "overlap_policy": schedule.overlap_policy,
        "args": None if schedule.args is None else builtins.list(schedule.args),
        "env": dict(schedule.env),
    }


def _apply(schedule: Schedule, patch: SchedulePatch) -> None:
    """Change ``schedule`` as ``patch`` says; refuses bad values (nothing is saved
    yet). The expression and timezone are checked by ``_check_and_plan``."""
    if not isinstance(patch.cron, Keep):
        schedule.cron = patch.cron
    if not isinstance(patch.timezone, Keep):
        schedule.timezone = patch.timezone
    if not isinstance(patch.enabled, Keep):
        schedule.enabled = patch.enabled
    if not isinstance(patch.misfire_policy, Keep):
        schedule.misfire_policy = parse_misfire_policy(patch.misfire_policy)
    if not isinstance(patch.overlap_policy, Keep):
        schedule.overlap_policy = parse_overlap_policy(patch.overlap_policy)
    if not isinstance(patch.args, Keep) or not isinstance(patch.env, Keep):
        args = schedule.args if isinstance(patch.args, Keep) else patch.args
        env = (
            schedule.env
            if isinstance(patch.env, Keep)
            else _resolve_env(patch.env, stored=schedule.env)
        )
        schedule.args, schedule.env = validate_run_input(args, env)


def _resolve_env(given: Mapping[str, str | None], *, stored: Mapping[str, str]) -> dict[str, str]:
    """The overrides to store: a None value keeps the one stored under its name.

    Clients are shown None for overrides of secret variables (``shown_env``); taking
    None back as "keep" lets them send an unchanged mapping without the secrets."""
    resolved: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            if name not in stored:
                raise InvalidInput(
                    f"null keeps the value the schedule stores for {name}, and it stores "
                    "none: give a value",
                    field=f"env.{name}",
                )
            value = stored[name]
        resolved[name] = value
    return resolved
