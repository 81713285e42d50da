"""Live logs and live status as Server-Sent Events (wire format in ``sse.py``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from scripter.http.params import MAX_OFFSET, Id
from scripter.http.sse import (
    EVENT_STREAM,
    LOG_STREAM_DESCRIPTION,
    event_stream,
    log_stream,
    resume_offset,
)
from scripter.services.live_events import EventFeed
from scripter.services.live_logs import LiveLogs

LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        description="Sent by a reconnecting EventSource: the id of the last event it got.",
    ),
]
Offset = Annotated[
    int | None,
    QueryParameter(
        ge=0, le=MAX_OFFSET, description="Byte offset to start at (Last-Event-ID wins)."
    ),
]

EVENTS_DESCRIPTION = """\
Server-Sent Events (`text/event-stream`): every domain event from now on, as it
happens (image status changes, job queued/started/finished, schedule fired or
skipped, ...). Each is `event: <type>` (e.g. `job.finished`), `id: <event_id>` and
`data:` the event as JSON (with its `type` tag, as on RabbitMQ).

Not durable: events are not replayed. `event: resync` says events were lost for
this client (it fell more than 1,000 events behind, or it reconnected, which it
shows by sending `Last-Event-ID`): reload what you show. `: ping` comment lines
every 15 s keep idle connections open. The stream closes when the server stops.
"""


class LiveController(Controller):
    path = "/api"

    @get(
        "/jobs/{job_id:int}/log/stream",
        tags=["jobs"],
        media_type=EVENT_STREAM,
        summary="Follow the job's output live (SSE), until the job ends",
        description=LOG_STREAM_DESCRIPTION
        + "\nThe `end` data: `status`, `exit_code`, `duration_seconds`, `error`"
        + " (`status` is `deleted` if the job was deleted meanwhile).",
    )
    async def job_log_stream(
        self,
        live_logs: NamedDependency[LiveLogs],
        job_id: Id,
        last_event_id: LastEventId = None,
        offset: Offset = None,
    ) -> Stream:
        start = resume_offset(last_event_id, offset)
        return log_stream(await live_logs.job_log(job_id, start))

    @get(
        "/images/{image_id:int}/build-log/stream",
        tags=["images"],
        media_type=EVENT_STREAM,
        summary="Follow the build log live (SSE), until the build ends",
        description=LOG_STREAM_DESCRIPTION
        + "\nThe `end` data: `status` (`built`, `failed`, `dormant`, or `deleted`) and"
        + " `error`. An image that is not building sends its last build log and `end`.",
    )
    async def build_log_stream(
        self,
        live_logs: NamedDependency[LiveLogs],
        image_id: Id,
        last_event_id: LastEventId = None,
        offset: Offset = None,
    ) -> Stream:
        start = resume_offset(last_event_id, offset)
        return log_stream(await live_logs.build_log(image_id, start))

    @get(
        "/events/stream",
        tags=["events"],
        media_type=EVENT_STREAM,
        summary="Domain events live (SSE), so a client updates without polling",
        description=EVENTS_DESCRIPTION,
    )
    async def event_stream(
        self, live_feed: NamedDependency[EventFeed], last_event_id: LastEventId = None
    ) -> Stream:
        return event_stream(live_feed.stream(resumed=bool(last_event_id)))
