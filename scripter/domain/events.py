"""Domain events: immutable facts (past tense) and commands (``...Requested``).

Every event travels on the bus as JSON, tagged with its ``type`` (also its routing
key on RabbitMQ, e.g. ``job.finished``), so integrators can bind queues by pattern.
"""

from __future__ import annotations

import base64
import os
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec


def _new_event_id() -> str:
    # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID
    # object (a burst of schedules raises tens of thousands of events at once).
    return os.urandom(16).hex()


def _now() -> datetime:
    return datetime.now(UTC)


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of all events. ``event_id`` makes redeliveries recognisable."""

    event_id: str = msgspec.field(default_factory=_new_event_id)
    occurred_at: datetime = msgspec.field(default_factory=_now)

    @classmethod
    def key(cls) -> str:
        """The event's type tag, which is also its RabbitMQ routing key."""
        return str(cls.__struct_config__.tag)


# --- images -------------------------------------------------------------------------


class ImageCreated(DomainEvent, frozen=True, kw_only=True, tag="image.created"):
    """A new image definition was saved (status dormant)."""

    image_id: int
    name: str


class ImageDeleted(DomainEvent, frozen=True, kw_only=True, tag="image.deleted"):
    """The image's definition, files and Docker image were removed."""

    image_id: int
    name: str


class ImageBuildRequested(DomainEvent, frozen=True, kw_only=True, tag="image.build_requested"):
    """A user asked for a build; a worker will build the image (command)."""

    image_id: int


class ImageBuildStarted(DomainEvent, frozen=True, kw_only=True, tag="image.build_started"):
    """A worker started building the image."""

    image_id: int


class ImageBuilt(DomainEvent, frozen=True, kw_only=True, tag="image.built"):
    """The build succeeded; the Docker image exists under ``tag``."""

    image_id: int
    docker_image_id: str
    tag: str


class ImageBuildFailed(DomainEvent, frozen=True, kw_only=True, tag="image.build_failed"):
    """The build failed; ``error`` is the line that says why."""

    image_id: int
    error: str


class ImageDestroyed(DomainEvent, frozen=True, kw_only=True, tag="image.destroyed"):
    """The Docker image was removed; the definition stays (status dormant)."""

    image_id: int


# --- scripts ------------------------------------------------------------------------


class ScriptSaved(DomainEvent, frozen=True, kw_only=True, tag="script.saved"):
    """A save changed the script's files or run settings: ``revision`` is the new
    current revision (1 when the script was created)."""

    script_id: int
    revision: int


class ScriptDeleted(DomainEvent, frozen=True, kw_only=True, tag="script.deleted"):
    """The script, its revisions, jobs, schedules, files and logs were removed."""

    script_id: int
    name: str


# --- jobs ---------------------------------------------------------------------------


class JobRequested(DomainEvent, frozen=True, kw_only=True, tag="job.requested"):
    """A job was queued; a worker will run it (command)."""

    job_id: int
    script_id: int


class JobStarted(DomainEvent, frozen=True, kw_only=True, tag="job.started"):
    """The job's container started."""

    job_id: int
    script_id: int


class JobFinished(DomainEvent, frozen=True, kw_only=True, tag="job.finished"):
    """The job ended: ``status`` is succeeded, failed, timed_out, cancelled or lost."""

    job_id: int
    script_id: int
    status: str
    exit_code: int | None
    duration_seconds: float | None


class JobCancelRequested(DomainEvent, frozen=True, kw_only=True, tag="job.cancel_requested"):
    """Someone asked to cancel the job (command)."""

    job_id: int


# --- schedules ----------------------------------------------------------------------


class ScheduleTick(DomainEvent, frozen=True, kw_only=True, tag="schedule.tick"):
    """A schedule is due at ``fire_time`` (command)."""

    schedule_id: int
    fire_time: datetime


class ScheduleFired(DomainEvent, frozen=True, kw_only=True, tag="schedule.fired"):
    """A schedule fired at ``fire_time`` and queued ``job_id``."""

    schedule_id: int
    fire_time: datetime
    job_id: int


class ScheduleSkipped(DomainEvent, frozen=True, kw_only=True, tag="schedule.skipped"):
    """A fire time was skipped; ``reason`` says why (misfire or overlap)."""

    schedule_id: int
    fire_time: datetime
    reason: str


AnyEvent = (
    ImageCreated
    | ImageDeleted
    | ImageBuildRequested
    | ImageBuildStarted
    | ImageBuilt
    | ImageBuildFailed
    | ImageDestroyed
    | ScriptSaved
    | ScriptDeleted
    | JobRequested
    | JobStarted
    | JobFinished
    | JobCancelRequested
    | ScheduleTick
    | ScheduleFired
    | ScheduleSkipped
)

ALL_EVENT_TYPES: tuple[type[DomainEvent], ...] = AnyEvent.__args__

_decoder = msgspec.json.Decoder(AnyEvent)
_encoder = msgspec.json.Encoder()


def encode_event(event: DomainEvent) -> bytes:
    """The wire form: JSON with a ``type`` tag."""
    return _encoder.encode(event)


def decode_event(data: bytes | str) -> DomainEvent:
    """Parse the wire form back; raises ``msgspec.ValidationError`` on unknown types."""
    event: DomainEvent = _decoder.decode(data)
    return event


_many_decoder = msgspec.json.Decoder(list[AnyEvent])


def encode_events(events: Sequence[DomainEvent]) -> bytes:
    """Several events as one JSON array of their wire forms."""
    return _encoder.encode(list(events))


_COMPRESSED = b"zlib:"


def compress_events(encoded: bytes) -> bytes:
    """``encode_events``'s output, deflated and in base64 (text-safe), marked so that
    ``decode_events`` knows it. Level 1: most of the gain for little CPU."""
    return _COMPRESSED + base64.b64encode(zlib.compress(encoded, 1))


def decode_events(data: bytes | str) -> list[DomainEvent]:
    """The events of ``encode_events`` (or of one ``encode_event``, or compressed by
    ``compress_events``) back, in order."""
    text = data.lstrip() if isinstance(data, bytes) else data.lstrip().encode()
    if text.startswith(_COMPRESSED):
        text = zlib.decompress(base64.b64decode(text[len(_COMPRESSED) :]))
    if text.startswith(b"["):
        return list(_many_decoder.decode(text))
    return [decode_event(text)]


class WorkQueue(msgspec.Struct, frozen=True):
    """A durable queue of commands that exactly one worker handles per message."""

    name: str
    routing_keys: tuple[str, ...]


BUILD_QUEUE = WorkQueue("scripter.build", (ImageBuildRequested.key(),))
RUN_QUEUE = WorkQueue("scripter.run", (JobRequested.key(),))
# JobCancelRequested is not a work item: every worker listens for it (fan-out), and
# the one whose container runs the job stops it.
WORK_QUEUES: tuple[WorkQueue, ...] = (BUILD_QUEUE, RUN_QUEUE)
