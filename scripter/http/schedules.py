"""/api/scripts/{id}/schedules and /api/schedules: cron schedules, their history, the
next runs across all scripts and a preview of fire times. Bodies are in
``scripter.http.schemas.schedules``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from scripter.http.params import Id
from scripter.http.schemas.schedules import (
    FiringPage,
    PreviewRequest,
    PreviewResult,
    Schedule,
    ScheduleCreate,
    ScheduleUpdate,
    UpcomingScheduledRun,
    firing_out,
    patch_in,
    preview_out,
    schedule_out,
    upcoming_out,
)
from scripter.services.schedules import MAX_UPCOMING, ScheduleService


class ScriptScheduleController(Controller):
    path = "/api/scripts"
    tags = ["schedules"]

    @get("/{script_id:int}/schedules", summary="The script's schedules")
    async def list_schedules(
        self, schedules: NamedDependency[ScheduleService], script_id: Id
    ) -> list[Schedule]:
        return [schedule_out(d) for d in await schedules.list_for_script(script_id)]

    @post(
        "/{script_id:int}/schedules",
        status_code=HTTP_201_CREATED,
        summary="Add a schedule to the script",
        description="Invalid cron or unknown timezone: 422 naming the field. An enabled "
        "schedule gets its next_run_at from now.",
    )
    async def create_schedule(
        self,
        schedules: NamedDependency[ScheduleService],
        script_id: Id,
        data: JSONBody[ScheduleCreate],
    ) -> Schedule:
        detail = await schedules.create(
            script_id,
            cron=data.cron,
            timezone=data.timezone,
            enabled=data.enabled,
            misfire_policy=data.misfire_policy,
            overlap_policy=data.overlap_policy,
            args=data.args,
            env=data.env,
        )
        return schedule_out(detail)


class ScheduleController(Controller):
    path = "/api/schedules"
    tags = ["schedules"]

    @post(
        "/preview",
        status_code=HTTP_200_OK,
        summary="The next fire times of an expression in a timezone (nothing is saved)",
    )
    async def preview(
        self, schedules: NamedDependency[ScheduleService], data: JSONBody[PreviewRequest]
    ) -> PreviewResult:
        return preview_out(
            schedules.preview(data.cron, data.timezone, count=data.count, after=data.after)
        )

    @get(
        "/upcoming",
        summary="The next runs of all scripts' enabled schedules, soonest first",
        description="One entry per schedule (its next_run_at), with the script's name; "
        "a limit outside 1 to 100 is a 422 naming limit.",
    )
    async def upcoming(
        self,
        schedules: NamedDependency[ScheduleService],
        # Checked by the service (a 422 naming the field, like preview's count); the
        # bounds are stated in the document only.
        limit: Annotated[
            int,
            QueryParameter(
                description=f"1 to {MAX_UPCOMING}",
                schema_extra={"minimum": 1, "maximum": MAX_UPCOMING},
            ),
        ] = 10,
    ) -> list[UpcomingScheduledRun]:
        return [upcoming_out(run) for run in await schedules.upcoming(limit)]

    @get("/{schedule_id:int}", summary="One schedule with its next fire times")
    async def get_schedule(
        self, schedules: NamedDependency[ScheduleService], schedule_id: Id
    ) -> Schedule:
        return schedule_out(await schedules.get(schedule_id))

    @patch(
        "/{schedule_id:int}",
        summary="Change a schedule",
        description="Only the fields given change. A new cron or timezone, or enabling, "
        "computes next_run_at from now; disabling clears it (no further firings). "
        "env replaces the whole mapping; a null value in it keeps the value stored "
        "under that name (a secret's, shown as null), so the env a GET returned can "
        "be sent back unchanged.",
    )
    async def update_schedule(
        self,
        schedules: NamedDependency[ScheduleService],
        schedule_id: Id,
        data: JSONBody[ScheduleUpdate],
    ) -> Schedule:
        return schedule_out(await schedules.update(schedule_id, patch_in(data)))

    @delete(
        "/{schedule_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a schedule and its history (its jobs stay)",
    )
    async def delete_schedule(
        self, schedules: NamedDependency[ScheduleService], schedule_id: Id
    ) -> None:
        await schedules.delete(schedule_id)

    @get(
        "/{schedule_id:int}/history",
        summary="Fired and skipped fire times with reasons, newest first",
    )
    async def history(
        self,
        schedules: NamedDependency[ScheduleService],
        schedule_id: Id,
        before: Annotated[
            datetime | None,
            QueryParameter(description="the next_cursor of the last page (a fire time)"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> FiringPage:
        page, cursor = await schedules.history(schedule_id, before=before, limit=limit)
        return FiringPage(items=[firing_out(f) for f in page], next_cursor=cursor)
